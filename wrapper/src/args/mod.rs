//! Command lines: the option table, `@file` expansion, classification
//! and queries.

pub mod parse;
pub mod query;
pub mod table;

use std::path::Path;

pub use parse::{classify, classify_for, Classified, Compile, DepRequest, Lang, Mode};
pub use query::QUERY;

/// The values of the given options, joined (`-Idir`) or separate
/// (`-I dir`), in order.
pub fn option_values(args: &[String], opts: &[&str]) -> Vec<String> {
    let mut values = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        for opt in opts {
            if a == opt {
                if let Some(v) = it.next() {
                    values.push(v.clone());
                }
            } else if let Some(v) = a.strip_prefix(opt).filter(|v| !v.is_empty()) {
                values.push(v.to_string());
            }
        }
    }
    values
}

/// Expands `@file` arguments (recursively, as gcc does) with gcc's
/// quoting rules: whitespace separates, `'…'` and `"…"` group, `\` escapes.
/// An `@file` that cannot be read is kept as is (gcc treats it as a file
/// name), and the real compiler reports it.
pub fn expand_response_files(args: &[String], depth: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        match a.strip_prefix('@') {
            Some(path) if depth < 16 => match std::fs::read_to_string(Path::new(path)) {
                Ok(text) => out.extend(expand_response_files(&split_response(&text), depth + 1)),
                Err(_) => out.push(a.clone()),
            },
            _ => out.push(a.clone()),
        }
    }
    out
}

fn split_response(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_values_are_found_joined_and_separate() {
        let args: Vec<String> =
            ["-Ia", "-I", "b", "-isystem/c", "-iquote", "d", "-O2"].iter().map(|s| s.to_string()).collect();
        assert_eq!(option_values(&args, &["-I", "-iquote"]), ["a", "b", "d"]);
        assert_eq!(option_values(&args, &["-isystem"]), ["/c"]);
    }

    #[test]
    fn response_files_split_like_gcc_and_nest() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("inner.rsp");
        std::fs::write(&inner, "-DX=\"a b\" 'single quoted' back\\ slash").unwrap();
        let outer = dir.path().join("outer.rsp");
        std::fs::write(&outer, format!("-c\n  a.c @{}\n", inner.display())).unwrap();
        let args = expand_response_files(&[format!("@{}", outer.display()), "-O2".into()], 0);
        assert_eq!(args, ["-c", "a.c", "-DX=a b", "single quoted", "back slash", "-O2"]);
        assert_eq!(expand_response_files(&["@/no/such/file".into()], 0), ["@/no/such/file"]);
    }
}
