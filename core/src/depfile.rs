//! Make-style dependency files: reading what a compiler wrote, and writing
//! one exactly as gcc would (for `-MMD`, which gg derives from the full
//! list it needs itself).
//!
//! Escapes, as gcc writes them: a space is `\ ` (backslashes right before it
//! doubled), `#` is `\#`, `$` is `$$`; long lines end in ` \` and continue
//! with one space; `-MP` adds `header:` lines.

/// One rule: `targets: deps`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub targets: Vec<String>,
    pub deps: Vec<String>,
}

/// Parses a depfile into rules (phony `-MP` rules included, with no deps).
pub fn parse(text: &str) -> Result<Vec<Rule>, String> {
    let mut rules = Vec::new();
    let mut words: Vec<(String, bool)> = Vec::new(); // (word, ends with ':')
    let mut cur = String::new();
    let b = text.as_bytes();
    let mut i = 0;
    let flush = |cur: &mut String, words: &mut Vec<(String, bool)>, colon: bool| {
        if !cur.is_empty() || colon {
            words.push((std::mem::take(cur), colon));
        }
    };
    let finish_line = |words: &mut Vec<(String, bool)>, rules: &mut Vec<Rule>| -> Result<(), String> {
        if words.is_empty() {
            return Ok(());
        }
        let Some(split) = words.iter().position(|(_, colon)| *colon) else {
            return Err(format!(
                "a line without `:`: `{}`",
                words.iter().map(|w| w.0.as_str()).collect::<Vec<_>>().join(" ")
            ));
        };
        let targets = words[..=split].iter().map(|w| w.0.clone()).filter(|w| !w.is_empty()).collect();
        let deps = words[split + 1..].iter().map(|w| w.0.clone()).collect();
        rules.push(Rule { targets, deps });
        words.clear();
        Ok(())
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b'\\' if i + 1 < b.len() && (b[i + 1] == b'\n' || (b[i + 1] == b'\r' && b.get(i + 2) == Some(&b'\n'))) => {
                flush(&mut cur, &mut words, false);
                i += if b[i + 1] == b'\r' { 3 } else { 2 };
                continue;
            }
            b'\\' if i + 1 < b.len() && (b[i + 1] == b' ' || b[i + 1] == b'#' || b[i + 1] == b'\\') => {
                // gcc doubles backslashes only right before a space.
                let run = b[i..].iter().take_while(|&&x| x == b'\\').count();
                let after = b.get(i + run).copied();
                if after == Some(b' ') || after == Some(b'#') {
                    for _ in 0..run / 2 {
                        cur.push('\\');
                    }
                    if run % 2 == 1 {
                        cur.push(after.unwrap() as char);
                        i += run + 1;
                    } else {
                        i += run;
                    }
                } else {
                    for _ in 0..run {
                        cur.push('\\');
                    }
                    i += run;
                }
                continue;
            }
            b'$' if b.get(i + 1) == Some(&b'$') => {
                cur.push('$');
                i += 2;
                continue;
            }
            b':' if matches!(b.get(i + 1), None | Some(b' ' | b'\t' | b'\n' | b'\r')) => {
                flush(&mut cur, &mut words, true);
            }
            b' ' | b'\t' | b'\r' => flush(&mut cur, &mut words, false),
            b'\n' => {
                flush(&mut cur, &mut words, false);
                finish_line(&mut words, &mut rules)?;
            }
            _ => {
                let ch_len = utf8_len(c);
                cur.push_str(std::str::from_utf8(&b[i..i + ch_len]).map_err(|_| "not UTF-8".to_string())?);
                i += ch_len;
                continue;
            }
        }
        i += 1;
    }
    flush(&mut cur, &mut words, false);
    finish_line(&mut words, &mut rules)?;
    Ok(rules)
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Every file the first rule depends on (the compile's inputs).
pub fn inputs(text: &str) -> Result<Vec<String>, String> {
    Ok(parse(text)?.into_iter().next().map(|r| r.deps).unwrap_or_default())
}

/// A depfile written in a sandbox rooted at `root`, in the canonical form
/// every engine stores (see `thunk`'s docs on `depfiles`): the first
/// rule's dependencies, one per line, the root written back as `/`.
pub fn canonical(bytes: &[u8], root: &str) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the dependency file is not UTF-8".to_string())?;
    let root = root.trim_end_matches('/');
    let mut out = String::with_capacity(text.len());
    for dep in inputs(text)? {
        let dep = match dep.strip_prefix(root) {
            Some("") => "/",
            Some(rest) if rest.starts_with('/') => rest,
            _ => dep.as_str(),
        };
        if dep.contains('\n') {
            return Err(format!("a dependency with a line break: `{dep}`"));
        }
        out.push_str(dep);
        out.push('\n');
    }
    Ok(out.into_bytes())
}

/// The dependencies a canonical depfile lists.
pub fn from_canonical(bytes: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the canonical dependency list is not UTF-8".to_string())?;
    Ok(text.lines().map(str::to_string).collect())
}

/// The canonical form of a dependency list (what [`canonical`] makes of a
/// depfile naming exactly `deps`).
pub fn to_canonical(deps: &[String]) -> Vec<u8> {
    let mut out = String::new();
    for d in deps {
        out.push_str(d);
        out.push('\n');
    }
    out.into_bytes()
}

/// Quotes a name as gcc's `-MQ` and its dependency lists do.
pub fn quote(name: &str) -> String {
    quoted(name).into_owned()
}

/// [`quote`], borrowing the name when it needs no quoting, as nearly every
/// path does (a depfile of a C++ compile lists hundreds).
fn quoted(name: &str) -> std::borrow::Cow<'_, str> {
    let b = name.as_bytes();
    if memchr::memchr3(b' ', b'$', b'#', b).is_none() {
        return std::borrow::Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    for (i, ch) in name.char_indices() {
        match ch {
            ' ' => {
                // Backslashes right before a space are doubled, then the
                // space itself is escaped.
                let run = b[..i].iter().rev().take_while(|&&x| x == b'\\').count();
                out.extend(std::iter::repeat_n('\\', run + 1));
                out.push(ch);
            }
            '$' => out.push_str("$$"),
            '#' => out.push_str("\\#"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Writes a depfile as gcc 12 does: `targets` already in their final
/// spelling (`-MT` raw, `-MQ` quoted), `deps` as file names.
pub fn write_gcc(targets: &[String], deps: &[String], phony: bool) -> String {
    const COLMAX: usize = 72;
    let mut out = String::with_capacity(deps.iter().map(|d| d.len() + 3).sum::<usize>() + 64);
    let mut col = 0;
    let put = |out: &mut String, name: &str, col: &mut usize| {
        if *col > 0 {
            if *col + name.len() > COLMAX {
                out.push_str(" \\\n");
                *col = 0;
            }
            *col += 1;
            out.push(' ');
        }
        *col += name.len();
        out.push_str(name);
    };
    for t in targets {
        put(&mut out, t, &mut col);
    }
    out.push(':');
    col += 1;
    let quoted: Vec<std::borrow::Cow<'_, str>> = deps.iter().map(|d| quoted(d)).collect();
    for d in &quoted {
        put(&mut out, d, &mut col);
    }
    out.push('\n');
    if phony {
        for d in quoted.iter().skip(1) {
            out.push_str(d);
            out.push_str(":\n");
        }
    }
    out
}

/// Writes a depfile as clang 14 does: 75 columns, continuation lines
/// indented by two spaces, widths counted on the unescaped names, and `-MP`
/// entries each after a blank line.
pub fn write_clang(targets: &[String], deps: &[String], phony: bool) -> String {
    const MAX: usize = 75;
    let mut out = String::new();
    let mut col = 0;
    for t in targets {
        let n = t.len();
        if col == 0 {
            col = n;
        } else if col + n + 2 > MAX {
            col = n + 2;
            out.push_str(" \\\n  ");
        } else {
            col += n + 1;
            out.push(' ');
        }
        out.push_str(t);
    }
    out.push(':');
    col += 1;
    for d in deps {
        let n = d.len();
        if col + (n + 1) + 2 > MAX {
            out.push_str(" \\\n ");
            col = 2;
        }
        out.push(' ');
        out.push_str(&quoted(d));
        col += n + 1;
    }
    out.push('\n');
    if phony {
        for d in deps.iter().skip(1) {
            out.push('\n');
            out.push_str(&quoted(d));
            out.push_str(":\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_continuations_and_several_targets_are_read() {
        let text = "out$$1.o a\\ b.o: m.c /usr/include/stdio.h \\\n /x/a\\ b.h d$$x.h h\\#1.h\nm.c:\n";
        let rules = parse(text).unwrap();
        assert_eq!(rules[0].targets, ["out$1.o", "a b.o"]);
        assert_eq!(rules[0].deps, ["m.c", "/usr/include/stdio.h", "/x/a b.h", "d$x.h", "h#1.h"]);
        assert_eq!(rules[1], Rule { targets: vec!["m.c".into()], deps: vec![] });
    }

    #[test]
    fn crlf_line_endings_are_read() {
        assert_eq!(inputs("a.o: a.c \\\r\n b.h\r\n").unwrap(), ["a.c", "b.h"]);
    }

    #[test]
    fn a_line_without_a_colon_is_an_error() {
        assert!(parse("just words here\n").unwrap_err().contains("without `:`"));
    }

    #[test]
    fn quoting_round_trips_through_parsing() {
        for name in ["plain.h", "a b.h", "d$x.h", "h#1.h", "back\\ space.h"] {
            let text = format!("t: {}\n", quote(name));
            assert_eq!(inputs(&text).unwrap(), [name], "{text}");
        }
    }

    #[test]
    fn the_canonical_form_forgets_the_root_and_the_line_width() {
        let root = "/s/.gg/sandboxes/run.7";
        let wrapped = format!("x.o: src/a.c {root}/usr/include/stdio.h \\\n {root}/usr/include/a\\ b.h inc/x.h\n");
        let flat = format!("x.o: src/a.c \\\n {root}/usr/include/stdio.h {root}/usr/include/a\\ b.h \\\n  inc/x.h\n");
        let want = b"src/a.c\n/usr/include/stdio.h\n/usr/include/a b.h\ninc/x.h\n".to_vec();
        assert_eq!(canonical(wrapped.as_bytes(), root).unwrap(), want);
        assert_eq!(canonical(flat.as_bytes(), &format!("{root}/")).unwrap(), want);
        let deps = from_canonical(&want).unwrap();
        assert_eq!(deps, ["src/a.c", "/usr/include/stdio.h", "/usr/include/a b.h", "inc/x.h"]);
        assert_eq!(to_canonical(&deps), want);
        // A path that merely starts like the root is not under it.
        assert_eq!(
            canonical(format!("t: {root}x/y.h\n").as_bytes(), root).unwrap(),
            format!("{root}x/y.h\n").into_bytes()
        );
        assert!(canonical(b"no colon here\n", root).is_err());
    }
}
