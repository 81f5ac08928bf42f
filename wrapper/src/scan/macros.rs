//! Computed includes (`#include MACRO`): every `#define` of every scanned
//! file and every `-D` make one multimap, name → all bodies (branches are
//! not evaluated, so any of them may be the one in force). An operand is
//! expanded through object-like macros, every alternative, until it is a
//! `"name"` or a `<name>`; anything else cannot be resolved.

use std::collections::HashMap;
use std::sync::Arc;

use super::directive::{Body, Spec};
use super::facts::Facts;

/// At most this many macro expansions per operand (chains and alternatives).
const BUDGET: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct Macros {
    bodies: HashMap<String, Vec<Body>>,
}

/// What an operand can expand to.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Expansion {
    /// Header names: quoted or angled.
    pub names: Vec<Spec>,
    /// Why some alternative could not be resolved, if one could not.
    pub unresolved: Option<String>,
}

impl Macros {
    fn add(&mut self, name: &str, body: Body) {
        let bodies = self.bodies.entry(name.to_string()).or_default();
        if !bodies.contains(&body) {
            bodies.push(body);
        }
    }

    /// Adds the command line's `-D`s (`-DX` is `1`, `-DX=v` is `v`).
    pub(crate) fn add_args(&mut self, args: &[String]) {
        for d in crate::args::option_values(args, &["-D"]) {
            let (head, body) = d.split_once('=').unwrap_or((&d, "1"));
            match head.split_once('(') {
                Some((name, _)) => self.add(name, Body::Function),
                None => self.add(head, Body::Object(body.trim().to_string())),
            }
        }
    }

    /// Adds the defines of a scanned file.
    pub(crate) fn add_file(&mut self, facts: &Arc<Facts>) {
        facts.parsed.for_each_define(|name, body| {
            let body = body.map_or(Body::Function, |text| Body::Object(text.to_string()));
            self.add(name, body);
        });
    }

    /// Whether `name` is defined by any define seen (or on the command line).
    pub(crate) fn is_defined(&self, name: &str) -> bool {
        self.bodies.contains_key(name)
    }

    /// Every header name `operand` can expand to.
    pub(crate) fn expand(&self, operand: &str) -> Expansion {
        let mut out = Expansion::default();
        let mut budget = BUDGET;
        let mut chain = Vec::new();
        self.expand_into(operand, &mut budget, &mut chain, &mut out);
        out
    }

    fn expand_into<'a>(&'a self, text: &'a str, budget: &mut usize, chain: &mut Vec<&'a str>, out: &mut Expansion) {
        let t = text.trim();
        let literal = |open: char, close: char| {
            let inner = t.strip_prefix(open)?.strip_suffix(close)?;
            (!inner.is_empty() && !inner.contains(close)).then(|| inner.to_string())
        };
        if let Some(name) = literal('"', '"') {
            push_once(&mut out.names, Spec::Quote(name));
            return;
        }
        if let Some(name) = literal('<', '>') {
            push_once(&mut out.names, Spec::Angle(name));
            return;
        }
        let ident = !t.is_empty()
            && !t.starts_with(|c: char| c.is_ascii_digit())
            && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !ident {
            out.unresolved.get_or_insert_with(|| format!("`{t}` is not a header name"));
            return;
        }
        if chain.contains(&t) {
            out.unresolved.get_or_insert_with(|| format!("`{t}` refers to itself"));
            return;
        }
        let Some(bodies) = self.bodies.get(t) else {
            out.unresolved.get_or_insert_with(|| format!("`{t}` is not defined"));
            return;
        };
        chain.push(t);
        for body in bodies {
            if *budget == 0 {
                out.unresolved.get_or_insert_with(|| "too many expansions".to_string());
                break;
            }
            *budget -= 1;
            match body {
                Body::Object(b) => self.expand_into(b, budget, chain, out),
                Body::Function => {
                    out.unresolved.get_or_insert_with(|| format!("`{t}` is a function-like macro"));
                }
            }
        }
        chain.pop();
    }
}

fn push_once(v: &mut Vec<Spec>, s: Spec) {
    if !v.contains(&s) {
        v.push(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn macros(defs: &[(&str, Body)]) -> Macros {
        let mut m = Macros::default();
        for (n, b) in defs {
            m.add(n, b.clone());
        }
        m
    }

    fn obj(s: &str) -> Body {
        Body::Object(s.into())
    }

    #[test]
    fn chains_and_every_alternative_are_expanded() {
        let m = macros(&[("A", obj("B")), ("B", obj("\"b.h\"")), ("B", obj("<sys/b.h>")), ("C", obj(" A "))]);
        let e = m.expand("C");
        assert_eq!(e.names, [Spec::Quote("b.h".into()), Spec::Angle("sys/b.h".into())]);
        assert_eq!(e.unresolved, None);
    }

    #[test]
    fn what_cannot_be_resolved_says_why() {
        let m = macros(&[
            ("F", Body::Function),
            ("S", obj("S")),
            ("P", obj("a ## b")),
            ("E", obj("")),
            ("G", obj("<g.h>")),
        ]);
        for (op, why) in [
            ("U", "`U` is not defined"),
            ("F", "function-like"),
            ("F(x)", "not a header name"),
            ("S", "refers to itself"),
            ("P", "not a header name"),
            ("E", "not a header name"),
        ] {
            let got = m.expand(op).unresolved.unwrap_or_default();
            assert!(got.contains(why), "{op}: {got}");
        }
        assert_eq!(m.expand("G").unresolved, None);
    }

    #[test]
    fn command_line_defines_count() {
        let mut m = Macros::default();
        let args: Vec<String> = ["-DCFG=\"cfg.h\"", "-D", "ON", "-DFN(x)=x"].iter().map(|s| s.to_string()).collect();
        m.add_args(&args);
        assert_eq!(m.expand("CFG").names, [Spec::Quote("cfg.h".into())]);
        assert!(m.expand("ON").unresolved.is_some(), "`1` is not a header name");
        assert!(m.expand("FN").unresolved.unwrap().contains("function-like"));
    }
}
