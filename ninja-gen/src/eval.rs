//! Evaluating rule variables for an edge, with Ninja's lookup order.
//!
//! Rule bindings (`command`, `depfile`, …) are stored unevaluated and
//! evaluated per edge, lazily, after the whole manifest is parsed. So they
//! see the *final* value of file-level variables, not the value when the
//! `build` line was read. To look up `$name` for an edge, Ninja checks:
//!
//! 1. `in`, `in_newline`, `out`: the edge's explicit inputs or outputs,
//!    shell-escaped and joined by a space (`in_newline`: by a newline);
//! 2. the edge's *own* scope: its indented bindings if it has any;
//!    **if it has none, the variables of the file scope the statement is
//!    in** (Ninja only allocates a scope for edges with bindings, and an
//!    edge without one looks in the file scope first). So a top-level
//!    `description = x` overrides a rule's `description` for the edges
//!    without bindings of that file, but not for those with some;
//! 3. the rule's binding of that name, evaluated recursively by these same
//!    steps;
//! 4. the rest of the scope chain outwards to the top-level file.
//!
//! Rule variables that refer to each other in a loop are an error (Ninja
//! detects it the same way, one lookup late, hence the same message).

use crate::error::EvalError;
use crate::eval_string::{EvalPiece, EvalString};
use crate::graph::{Edge, EdgeId, Graph, NodeId, RuleKey};
use crate::intern::{Sym, SYM_IN, SYM_IN_NEWLINE, SYM_OUT};

/// Whether `$in` and `$out` are shell-quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// As in `command`: each path quoted for `/bin/sh` if it needs to be.
    Shell,
    /// As for `depfile`, `rspfile` and `dyndep`, which name files.
    None,
}

/// Appends `path` to `out`, quoted for a POSIX shell if it has any character
/// outside `[A-Za-z0-9_+./-]` (Ninja's rule: `'…'`, with `'` as `'\''`).
pub fn shell_escape_into(path: &str, out: &mut String) {
    let safe = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.' | b'/');
    if path.bytes().all(safe) {
        out.push_str(path);
        return;
    }
    out.push('\'');
    let mut rest = path;
    while let Some(i) = rest.find('\'') {
        out.push_str(&rest[..i]);
        out.push_str("'\\''");
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
    out.push('\'');
}

/// The evaluation environment of one edge (Ninja's `EdgeEnv`).
struct EdgeEnv<'g> {
    graph: &'g Graph,
    edge: &'g Edge,
    escape: Escape,
    /// Set after the first lookup: cycles are only looked for below it.
    recursive: bool,
    /// Rule variables being expanded, outermost first (never more than the
    /// eleven rule keys, since a repeat is a cycle).
    stack: Vec<Sym>,
}

impl EdgeEnv<'_> {
    fn lookup(&mut self, sym: Sym, out: &mut String) -> Result<(), EvalError> {
        if sym == SYM_IN || sym == SYM_IN_NEWLINE {
            let sep = if sym == SYM_IN { ' ' } else { '\n' };
            self.path_list(self.edge.explicit_inputs(), sep, out);
            return self.check_len(out);
        }
        if sym == SYM_OUT {
            self.path_list(self.edge.explicit_outputs(), ' ', out);
            return self.check_len(out);
        }
        let rule_value = self.graph.rules[self.edge.rule.index()].binding_sym(sym);
        if self.recursive {
            if let Some(i) = self.stack.iter().position(|&s| s == sym) {
                let mut chain = String::new();
                for &s in &self.stack[i..] {
                    chain.push_str(self.graph.syms.name(s));
                    chain.push_str(" -> ");
                }
                chain.push_str(self.graph.syms.name(sym));
                return Err(EvalError::Cycle(chain));
            }
        }
        let record = self.recursive && rule_value.is_some();
        if record {
            self.stack.push(sym);
        }
        self.recursive = true;
        let result = self.lookup_with_fallback(sym, rule_value, out);
        if record {
            self.stack.pop();
        }
        result
    }

    /// Steps 2–4 of the module documentation.
    fn lookup_with_fallback(
        &mut self,
        sym: Sym,
        rule_value: Option<&EvalString>,
        out: &mut String,
    ) -> Result<(), EvalError> {
        let edge = self.edge;
        let scope = &self.graph.scopes[edge.scope.index()];
        let own = if edge.bindings.is_empty() {
            scope.vars.get(&sym).map(|v| &**v)
        } else {
            edge.bindings.iter().find(|(s, _)| *s == sym).map(|(_, v)| &**v)
        };
        if let Some(v) = own {
            out.push_str(v);
            return self.check_len(out);
        }
        if let Some(value) = rule_value {
            for piece in &value.pieces {
                match piece {
                    EvalPiece::Lit(text) => {
                        out.push_str(text);
                        self.check_len(out)?;
                    }
                    EvalPiece::Var(s) => self.lookup(*s, out)?,
                }
            }
            return Ok(());
        }
        // The file scope itself was already searched if the edge has no scope of its own.
        let outer = if edge.bindings.is_empty() { scope.parent } else { Some(edge.scope) };
        if let Some(v) = self.graph.lookup_in_scope_chain(outer, sym) {
            out.push_str(v);
        }
        self.check_len(out)
    }

    /// Rule variables can grow exponentially (`command = $description$description`,
    /// `description = $depfile$depfile`, …): stop once past the limit, which
    /// one piece can pass by at most its own (bounded) length.
    fn check_len(&self, out: &str) -> Result<(), EvalError> {
        if out.len() > self.graph.max_value_len {
            return Err(EvalError::TooLong(self.graph.max_value_len));
        }
        Ok(())
    }

    fn path_list(&self, nodes: &[NodeId], sep: char, out: &mut String) {
        for (i, &n) in nodes.iter().enumerate() {
            if i > 0 {
                out.push(sep);
            }
            let path = self.graph.path(n);
            match self.escape {
                Escape::Shell => shell_escape_into(path, out),
                Escape::None => out.push_str(path),
            }
        }
    }
}

impl Graph {
    /// Appends the value of variable `name` for `edge` to `out`, as Ninja
    /// would evaluate it when running the edge (see the module documentation).
    /// An unknown variable is empty.
    pub fn edge_var_into(&self, edge: EdgeId, name: &str, escape: Escape, out: &mut String) -> Result<(), EvalError> {
        match self.syms.get(name) {
            Some(sym) => self.edge_sym_into(edge, sym, escape, out),
            None => Ok(()),
        }
    }

    pub(crate) fn edge_sym_into(
        &self,
        edge: EdgeId,
        sym: Sym,
        escape: Escape,
        out: &mut String,
    ) -> Result<(), EvalError> {
        let mut env =
            EdgeEnv { graph: self, edge: &self.edges[edge.index()], escape, recursive: false, stack: Vec::new() };
        env.lookup(sym, out)
    }

    /// The value of variable `name` for `edge`, with `$in`/`$out` shell-quoted.
    pub fn try_edge_var(&self, edge: EdgeId, name: &str) -> Result<String, EvalError> {
        let mut out = String::new();
        self.edge_var_into(edge, name, Escape::Shell, &mut out)?;
        Ok(out)
    }

    /// The value of variable `name` for `edge`, with `$in`/`$out` shell-quoted
    /// (e.g. `graph.edge_var(e, "command")`). A cycle among rule variables,
    /// which Ninja reports when it runs the edge, evaluates to the empty
    /// string here; use [`Graph::try_edge_var`] to see it.
    pub fn edge_var(&self, edge: EdgeId, name: &str) -> String {
        self.try_edge_var(edge, name).unwrap_or_default()
    }

    /// Like [`Graph::edge_var`], with `$in`/`$out` not quoted: for variables
    /// that name files (`depfile`, `rspfile`, `dyndep`).
    pub fn edge_var_unescaped(&self, edge: EdgeId, name: &str) -> String {
        let mut out = String::new();
        match self.edge_var_into(edge, name, Escape::None, &mut out) {
            Ok(()) => out,
            Err(_) => String::new(),
        }
    }

    fn key(&self, edge: EdgeId, key: RuleKey, escape: Escape) -> String {
        let mut out = String::new();
        let sym = Sym(crate::intern::FIRST_RULE_KEY + key as u32);
        match self.edge_sym_into(edge, sym, escape, &mut out) {
            Ok(()) => out,
            Err(_) => String::new(),
        }
    }

    /// The edge's `command` (empty for `phony`).
    pub fn command(&self, edge: EdgeId) -> String {
        self.key(edge, RuleKey::Command, Escape::Shell)
    }

    /// The edge's `description`.
    pub fn description(&self, edge: EdgeId) -> String {
        self.key(edge, RuleKey::Description, Escape::Shell)
    }

    /// The edge's `depfile`, unquoted.
    pub fn depfile(&self, edge: EdgeId) -> String {
        self.key(edge, RuleKey::Depfile, Escape::None)
    }

    /// The edge's `deps` (`gcc`, `msvc` or empty).
    pub fn deps(&self, edge: EdgeId) -> String {
        self.key(edge, RuleKey::Deps, Escape::Shell)
    }

    /// The edge's `msvc_deps_prefix`.
    pub fn msvc_deps_prefix(&self, edge: EdgeId) -> String {
        self.key(edge, RuleKey::MsvcDepsPrefix, Escape::Shell)
    }

    /// The edge's `rspfile`, unquoted.
    pub fn rspfile(&self, edge: EdgeId) -> String {
        self.key(edge, RuleKey::Rspfile, Escape::None)
    }

    /// The edge's `rspfile_content` (with `$in` quoted, as Ninja writes it).
    pub fn rspfile_content(&self, edge: EdgeId) -> String {
        self.key(edge, RuleKey::RspfileContent, Escape::Shell)
    }

    /// The command as Ninja hashes it into `.ninja_log`: the `command`, then
    /// `;rspfile=` and the response file's content if that is not empty.
    pub fn command_for_log(&self, edge: EdgeId) -> String {
        let mut command = self.command(edge);
        let content = self.rspfile_content(edge);
        if !content.is_empty() {
            command.push_str(";rspfile=");
            command.push_str(&content);
        }
        command
    }

    /// True if the edge's rule is `phony`.
    pub fn is_phony(&self, edge: EdgeId) -> bool {
        self.rules[self.edges[edge.index()].rule.index()].phony
    }

    /// True if the edge's `generator` is not empty.
    pub fn is_generator(&self, edge: EdgeId) -> bool {
        !self.key(edge, RuleKey::Generator, Escape::Shell).is_empty()
    }

    /// True if the edge's `restat` is not empty.
    pub fn is_restat(&self, edge: EdgeId) -> bool {
        !self.key(edge, RuleKey::Restat, Escape::Shell).is_empty()
    }

    /// The source text of a rule's binding, with references as `${name}`.
    pub fn unparse(&self, value: &EvalString) -> String {
        let mut out = String::new();
        for piece in &value.pieces {
            match piece {
                EvalPiece::Lit(text) => out.push_str(text),
                EvalPiece::Var(sym) => {
                    out.push_str("${");
                    out.push_str(self.syms.name(*sym));
                    out.push('}');
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str) -> String {
        let mut out = String::new();
        shell_escape_into(s, &mut out);
        out
    }

    #[test]
    fn safe_paths_are_not_quoted() {
        assert_eq!(esc("obj/a-b_c+d.o"), "obj/a-b_c+d.o");
    }

    #[test]
    fn paths_with_spaces_or_quotes_are_single_quoted() {
        assert_eq!(esc("a b"), "'a b'");
        assert_eq!(esc("'q'"), "''\\''q'\\'''");
        assert_eq!(esc("x$y"), "'x$y'");
        assert_eq!(esc(""), "");
    }
}
