//! `__has_include` probes. A compile may depend on a header that does *not*
//! exist (`#if __has_include("extra.h")`): no depfile lists it, so a
//! direct-mode hit would not notice it appearing. For the inputs that use
//! `__has_include`/`__has_include_next`, the manifest records whether each
//! place the probed name could be found in exists, and a hit checks that
//! none changed (one `stat` per place, only for such compiles).
//!
//! The places are a superset of what the compiler searches: the probing
//! file's own folder, every `-iquote`, `-I`, `-isystem` and `-idirafter`
//! folder, the `CPATH`-style variables' folders and the default ones, in
//! any order, for both spellings and for `_next` alike. A change in one
//! the compiler would not have looked at only costs a miss.

use std::path::Path;

use crate::path::normalize;

/// A header name a file probes for.
#[derive(Debug, PartialEq, Eq)]
pub struct Probe {
    pub name: String,
}

/// Why the probes of a file cannot be known: the argument is not a
/// literal name (a macro), so where it looks is unknown.
#[derive(Debug, PartialEq, Eq)]
pub struct Unknown;

/// The header names `text` probes for with `__has_include` or
/// `__has_include_next`. Mentions that are not a probe (`#ifdef
/// __has_include`, `defined(__has_include)`, prose in a comment) are
/// skipped, as is a `#define` of the name (a fallback for old compilers).
pub fn probes(text: &[u8]) -> Result<Vec<Probe>, Unknown> {
    const WORD: &[u8] = b"__has_include";
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut found = Vec::new();
    for at in memchr::memmem::find_iter(text, WORD) {
        if at > 0 && ident(text[at - 1]) {
            continue;
        }
        let mut i = at + WORD.len();
        if text[i..].starts_with(b"_next") {
            i += "_next".len();
        }
        if text.get(i).is_some_and(|&b| ident(b)) {
            continue;
        }
        let skip_blanks = |mut i: usize| {
            while text.get(i).is_some_and(|&b| b == b' ' || b == b'\t') {
                i += 1;
            }
            i
        };
        i = skip_blanks(i);
        if text.get(i) != Some(&b'(') {
            continue;
        }
        i = skip_blanks(i + 1);
        let close = match text.get(i) {
            Some(b'"') => b'"',
            Some(b'<') => b'>',
            _ if in_define(text, at) => continue,
            _ => return Err(Unknown),
        };
        let rest = &text[i + 1..];
        let Some(len) = rest.iter().position(|&b| b == close || b == b'\n') else { return Err(Unknown) };
        if rest[len] != close {
            return Err(Unknown);
        }
        let name = String::from_utf8_lossy(&rest[..len]).into_owned();
        if !found.iter().any(|p: &Probe| p.name == name) {
            found.push(Probe { name });
        }
    }
    Ok(found)
}

/// Whether the line holding `at` is a `#define` directive.
fn in_define(text: &[u8], at: usize) -> bool {
    let start = text[..at].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let line = String::from_utf8_lossy(&text[start..at]);
    line.trim_start().strip_prefix('#').is_some_and(|d| d.trim_start().starts_with("define"))
}

/// Every place `probe`, made in the file at `file` (absolute), could be
/// found in, given the search folders (absolute): each `folder/name`,
/// resolved lexically as the compiler does.
pub fn candidates(probe: &Probe, file: &str, folders: &[String]) -> Vec<String> {
    if probe.name.starts_with('/') {
        return vec![normalize(&probe.name)];
    }
    let own = Path::new(file).parent().map_or_else(|| "/".to_string(), |p| p.to_string_lossy().into_owned());
    let mut out: Vec<String> = Vec::new();
    for dir in std::iter::once(&own).chain(folders) {
        let path = normalize(&format!("{dir}/{}", probe.name));
        if !out.contains(&path) {
            out.push(path);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        probes(text.as_bytes()).unwrap().into_iter().map(|p| p.name).collect()
    }

    #[test]
    fn quoted_and_angled_probes_and_their_next_forms_are_found_once_each() {
        let text = "#if __has_include(\"extra.h\")\n#elif __has_include (<sys/x.h>)\n\
                    #if __has_include_next(<sys/x.h>) && __has_include( \"a/b.h\" )\n";
        assert_eq!(names(text), ["extra.h", "sys/x.h", "a/b.h"]);
    }

    #[test]
    fn mentions_that_are_not_probes_are_skipped() {
        let text = "#ifdef __has_include\n#if defined(__has_include) && defined __has_include_next\n\
                    /* __has_include argument (GCC PR 80005) */\n#ifndef __has_include\n\
                    # define __has_include(x) 0\n#endif\nint my__has_include(int);\n";
        assert_eq!(names(text), Vec::<String>::new());
    }

    #[test]
    fn a_probe_through_a_macro_cannot_be_known() {
        assert_eq!(probes(b"#define H <x.h>\n#if __has_include(H)\n#endif\n"), Err(Unknown));
        assert_eq!(probes(b"#if __has_include(\"unterminated\n"), Err(Unknown));
    }

    #[test]
    fn candidates_are_the_probing_files_folder_then_every_search_folder_resolved() {
        let folders = vec!["/p/include".to_string(), "/p/src".to_string(), "/usr/include".to_string()];
        let probe = Probe { name: "../cfg.h".into() };
        assert_eq!(candidates(&probe, "/p/src/main.c", &folders), ["/p/cfg.h", "/usr/cfg.h"]);
        let probe = Probe { name: "extra.h".into() };
        assert_eq!(
            candidates(&probe, "/p/src/main.c", &folders),
            ["/p/src/extra.h", "/p/include/extra.h", "/usr/include/extra.h"]
        );
        assert_eq!(candidates(&Probe { name: "/abs/./x.h".into() }, "/p/m.c", &folders), ["/abs/x.h"]);
    }
}
