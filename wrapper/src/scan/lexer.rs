//! The directive lexer: one pass over a file's bytes that finds the
//! preprocessor directive lines (a `#` first on a line, after blanks and
//! comments) while skipping comments, string and character literals and
//! C++ raw strings, so that text inside them is never taken for a
//! directive; then parses the few directives the scanner needs.
//!
//! Every mistake the lexer can make should err towards *more* directives:
//! a literal that is not closed ends at the end of its line (as in the
//! preprocessor), so a misread quote can only expose text, never hide a
//! later line; a raw string or comment that is not closed is only trusted
//! when its end is found.

use memchr::memmem;

use super::directive::{Body, Directive, Flags, Parsed, Spec};

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

/// Bytes that end a run of ordinary code: the loop only stops on these.
static STOP: [bool; 256] = {
    let mut t = [false; 256];
    t[b'\n' as usize] = true;
    t[b'\\' as usize] = true;
    t[b'/' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\'' as usize] = true;
    t
};

/// Length of a backslash-newline at `i` (`\`, optional blanks, then
/// `\n`: gcc accepts blanks before the newline, with a warning), or 0.
fn splice_at(text: &[u8], i: usize) -> usize {
    if text.get(i) != Some(&b'\\') {
        return 0;
    }
    let mut j = i + 1;
    while j < text.len() && is_blank(text[j]) {
        j += 1;
    }
    if text.get(j) == Some(&b'\n') {
        j + 1 - i
    } else {
        0
    }
}

/// If the newline at `nl` ends a backslash-newline, where its `\` is.
fn splice_before(text: &[u8], nl: usize) -> Option<usize> {
    let mut k = nl;
    while k > 0 && is_blank(text[k - 1]) {
        k -= 1;
    }
    (k > 0 && text[k - 1] == b'\\').then(|| k - 1)
}

/// Lexes a whole file.
pub(crate) fn lex(text: &[u8]) -> Parsed {
    Parsed { flags: flags(text), directives: directives(text), stored_defines: None }
}

/// The raw-text facts: plain substring searches, as a superset.
pub(crate) fn flags(text: &[u8]) -> Flags {
    let has = |needle: &str| memmem::find(text, needle.as_bytes()).is_some();
    Flags {
        time_macros: has("__DATE__") || has("__TIME__") || has("__TIMESTAMP__"),
        incbin: has(".incbin"),
        dot_include: has(".include"),
        has_include: has("__has_include"),
        file_macro: has("__FILE__") || has("__builtin_FILE"),
    }
}

/// The directives of `text`, in order, each include spelling once.
pub(crate) fn directives(text: &[u8]) -> Vec<Directive> {
    // A byte-order mark is skipped by the compiler, so a `#` after it is
    // still first on its line.
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    // A lone carriage return ends a line too (old Mac files): rare
    // enough to pay for a copy rather than a test on every byte.
    if memchr::memchr(b'\r', text).is_some() {
        let mut unix = Vec::with_capacity(text.len());
        for (i, &b) in text.iter().enumerate() {
            match b {
                b'\r' if text.get(i + 1) == Some(&b'\n') => {}
                b'\r' => unix.push(b'\n'),
                b => unix.push(b),
            }
        }
        return directives_of(&unix);
    }
    directives_of(text)
}

fn directives_of(text: &[u8]) -> Vec<Directive> {
    let mut out = Vec::new();
    let mut groups = Groups::default();
    let n = text.len();
    let mut i = 0;
    // Only blanks and comments since the last (unspliced) newline: a `#`
    // here starts a directive.
    let mut line_start = true;
    // A `#` is rare; most files have long runs of code without one, and a
    // line that is not a directive only matters for the literals and
    // comments it opens.
    while i < n {
        let b = text[i];
        match b {
            b'\n' => {
                line_start = true;
                i += 1;
            }
            b'\\' => i += splice_at(text, i).max(1),
            b'/' if text.get(i + 1) == Some(&b'*') => i = block_comment_end(text, i + 2),
            b'/' if text.get(i + 1) == Some(&b'/') => i = line_comment_end(text, i + 2),
            b'#' if line_start => {
                let (line, end) = logical_line(text, i + 1);
                parse_directive(&line, &mut out, &mut groups);
                i = end;
                line_start = false;
            }
            b'%' if line_start && text.get(i + 1) == Some(&b':') => {
                let (line, end) = logical_line(text, i + 2);
                parse_directive(&line, &mut out, &mut groups);
                i = end;
                line_start = false;
            }
            b'"' => {
                i = string_end(text, i);
                line_start = false;
            }
            b'\'' => {
                i = if is_digit_separator(text, i) { i + 1 } else { quoted_end(text, i + 1, b'\'') };
                line_start = false;
            }
            b if is_blank(b) => i += 1,
            _ => {
                line_start = false;
                i += 1;
                while i < n && !STOP[text[i] as usize] {
                    i += 1;
                }
            }
        }
    }
    out
}

/// After `/*` at `from`: the index just past the closing `*/` (which may be
/// split by a backslash-newline), or the end of the text.
fn block_comment_end(text: &[u8], from: usize) -> usize {
    for slash in memchr::memchr_iter(b'/', &text[from..]).map(|p| p + from) {
        let mut k = slash;
        // Step back over backslash-newlines between `*` and `/`.
        while k > from && text[k - 1] == b'\n' {
            match splice_before(text, k - 1) {
                Some(b) if b >= from => k = b,
                _ => break,
            }
        }
        if k > from && text[k - 1] == b'*' {
            return slash + 1;
        }
    }
    text.len()
}

/// After `//` at `from`: the index of the newline that ends the comment
/// (a backslash-newline continues it), or the end of the text.
fn line_comment_end(text: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(p) = memchr::memchr(b'\n', &text[i..]) {
        let nl = i + p;
        if splice_before(text, nl).is_none_or(|b| b < from) {
            return nl;
        }
        i = nl + 1;
    }
    text.len()
}

/// After an opening quote at `from`: the index past the closing `close`, or
/// of the newline that ends an unterminated literal.
fn quoted_end(text: &[u8], from: usize, close: u8) -> usize {
    let mut i = from;
    while i < text.len() {
        match text[i] {
            b'\\' => i += splice_at(text, i).max(2),
            b'\n' => return i,
            c if c == close => return i + 1,
            _ => i += 1,
        }
    }
    text.len()
}

/// A `'` inside a number (`1'000'000`, C++14) rather than a literal: the
/// run of identifier characters before it starts with a digit.
fn is_digit_separator(text: &[u8], at: usize) -> bool {
    let mut k = at;
    while k > 0 && is_ident(text[k - 1]) {
        k -= 1;
    }
    k < at && text[k].is_ascii_digit()
}

/// At a `"` at `at`: the index past the string, raw (`R"d(…)d"` with an
/// optional `u8`/`u`/`U`/`L` prefix) or ordinary.
fn string_end(text: &[u8], at: usize) -> usize {
    if let Some(end) = raw_string_end(text, at) {
        return end;
    }
    quoted_end(text, at + 1, b'"')
}

fn raw_string_end(text: &[u8], at: usize) -> Option<usize> {
    if at == 0 || text[at - 1] != b'R' {
        return None;
    }
    let mut k = at - 1;
    while k > 0 && is_ident(text[k - 1]) {
        k -= 1;
    }
    if !matches!(&text[k..at], b"R" | b"u8R" | b"uR" | b"UR" | b"LR") {
        return None;
    }
    let open = at + 1;
    let paren = open + text.get(open..)?.iter().take(17).position(|&b| b == b'(')?;
    let delim = &text[open..paren];
    if delim.iter().any(|&b| matches!(b, b' ' | b')' | b'\\' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | b'"')) {
        return None;
    }
    let mut closing = Vec::with_capacity(delim.len() + 2);
    closing.push(b')');
    closing.extend_from_slice(delim);
    closing.push(b'"');
    // Unterminated: not trusted (it would hide the rest of the file).
    let end = memmem::find(&text[paren + 1..], &closing)?;
    Some(paren + 1 + end + closing.len())
}

/// From just after the `#` at `from`: the directive's logical line with
/// backslash-newlines removed and comments replaced by a space (literals
/// and an include's `<…>` kept as written), and the index of the newline
/// that ends it. A block comment spanning lines continues the directive.
fn logical_line(text: &[u8], from: usize) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(64);
    let mut i = from;
    while i < text.len() {
        let s = splice_at(text, i);
        if s > 0 {
            i += s;
            continue;
        }
        match text[i] {
            b'\n' => return (out, i),
            b'/' if text.get(i + 1) == Some(&b'*') => {
                i = block_comment_end(text, i + 2);
                out.push(b' ');
            }
            b'/' if text.get(i + 1) == Some(&b'/') => return (out, line_comment_end(text, i + 2)),
            q @ (b'"' | b'\'') => i = copy_quoted(text, i, q, q, &mut out),
            b'<' if is_include_prefix(&out) => i = copy_quoted(text, i, b'<', b'>', &mut out),
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    (out, text.len())
}

/// Copies a literal opening at `at` up to `close` (or the end of the
/// line) into `out`, splices removed; returns the index after it.
fn copy_quoted(text: &[u8], at: usize, open: u8, close: u8, out: &mut Vec<u8>) -> usize {
    out.push(open);
    let mut i = at + 1;
    while i < text.len() {
        let s = splice_at(text, i);
        if s > 0 {
            i += s;
            continue;
        }
        let b = text[i];
        if b == b'\n' {
            return i;
        }
        out.push(b);
        i += 1;
        if b == b'\\' && open != b'<' && i < text.len() && text[i] != b'\n' {
            out.push(text[i]);
            i += 1;
        } else if b == close {
            return i;
        }
    }
    i
}

/// Whether `line` (after the `#`) is an include keyword and blanks, so a
/// `<` starts a header name in which `//` is not a comment.
fn is_include_prefix(line: &[u8]) -> bool {
    matches!(trim(line), b"include" | b"include_next" | b"import")
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_blank(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_blank(b)).map_or(start, |p| p + 1);
    &s[start..end]
}

fn text_of(s: &[u8]) -> String {
    String::from_utf8_lossy(s).into_owned()
}

/// The conditional groups open at a point of the file: for each, the
/// macro its condition tests to be defined, if that is all it tests
/// (`#ifdef M`, `#if defined(M)`, `#if defined M`), and whether the
/// first branch is still the one being read.
#[derive(Default)]
struct Groups(Vec<(Option<Vec<u8>>, bool)>);

impl Groups {
    /// Whether the directive here is read only when `name` is defined.
    fn needs_defined(&self, name: &[u8]) -> bool {
        self.0.iter().any(|(m, first)| *first && m.as_deref() == Some(name))
    }
}

/// `M` when `cond` is exactly `defined(M)` or `defined M`.
fn defined_operand(cond: &[u8]) -> Option<Vec<u8>> {
    let rest = trim(trim(cond).strip_prefix(b"defined")?);
    let inner = match rest.strip_prefix(b"(") {
        Some(r) => trim(r.strip_suffix(b")")?),
        None => rest,
    };
    let ident = !inner.is_empty() && !inner[0].is_ascii_digit() && inner.iter().all(|&b| is_ident(b));
    ident.then(|| inner.to_vec())
}

/// Parses one directive line (after the `#`, comments already blanked).
fn parse_directive(line: &[u8], out: &mut Vec<Directive>, groups: &mut Groups) {
    let line = trim(line);
    let kw_len = line.iter().position(|&b| !is_ident(b)).unwrap_or(line.len());
    let (kw, rest) = line.split_at(kw_len);
    match kw {
        b"ifdef" => groups.0.push((Some(trim(rest).to_vec()).filter(|m| m.iter().all(|&b| is_ident(b))), true)),
        b"ifndef" => groups.0.push((None, true)),
        b"else" | b"elifdef" | b"elifndef" => {
            if let Some(g) = groups.0.last_mut() {
                g.1 = false;
            }
        }
        b"endif" => {
            groups.0.pop();
        }
        _ => {}
    }
    match kw {
        b"include" | b"include_next" | b"import" => match spec_of(trim(rest)) {
            Some(Spec::Computed(op)) if groups.needs_defined(op.as_bytes()) => {
                push_once(out, Directive::IncludeIfDefined(op));
            }
            Some(spec) => push_once(out, Directive::Include(spec)),
            None => {}
        },
        b"define" => {
            let rest = trim(rest);
            let name_len = rest.iter().position(|&b| !is_ident(b)).unwrap_or(rest.len());
            if name_len == 0 {
                return;
            }
            let (name, body) = rest.split_at(name_len);
            let body = if body.first() == Some(&b'(') { Body::Function } else { Body::Object(text_of(trim(body))) };
            // A probe spelled in a macro body (`#define HAVE_X
            // __has_include(<x.h>)`) is taken too, when literal; a macro
            // argument there (`__has_include(X)`) is not a probe yet.
            for spec in has_include_args(rest) {
                if !matches!(spec, Spec::Computed(_)) {
                    push_once(out, Directive::HasInclude(spec));
                }
            }
            out.push(Directive::Define(text_of(name), body));
        }
        b"if" | b"elif" => {
            if kw == b"if" {
                groups.0.push((defined_operand(rest), true));
            } else if let Some(g) = groups.0.last_mut() {
                g.1 = false;
            }
            for spec in has_include_args(rest) {
                push_once(out, Directive::HasInclude(spec));
            }
        }
        b"embed" => out.push(Directive::Embed),
        // gcc looks the named file up like a quoted include (to compare
        // dates): it must be there, but is not read as a header.
        b"pragma" => {
            let rest = trim(rest);
            if let Some(after) = rest.strip_prefix(b"GCC").map(trim).and_then(|r| r.strip_prefix(b"dependency")) {
                if let Some(spec @ (Spec::Quote(_) | Spec::Angle(_))) = spec_of(trim(after)) {
                    push_once(out, Directive::HasInclude(spec));
                }
            }
        }
        _ => {}
    }
}

fn push_once(out: &mut Vec<Directive>, d: Directive) {
    if !out.contains(&d) {
        out.push(d);
    }
}

/// An include's operand: `"name"`, `<name>`, or anything else (computed).
fn spec_of(rest: &[u8]) -> Option<Spec> {
    // Tokens after the name only draw a warning from the compiler, which
    // still includes the name.
    // A name that is not UTF-8 is left computed (unresolvable: the
    // caller falls back) rather than mangled.
    let literal = |close: u8| {
        let end = rest[1..].iter().position(|&b| b == close)? + 1;
        std::str::from_utf8(&rest[1..end]).ok().map(str::to_string)
    };
    match rest.first()? {
        b'"' => Some(literal(b'"').map_or_else(|| Spec::Computed(text_of(rest)), Spec::Quote)),
        b'<' => Some(literal(b'>').map_or_else(|| Spec::Computed(text_of(rest)), Spec::Angle)),
        _ => Some(Spec::Computed(text_of(rest))),
    }
}

/// Every `__has_include(…)`/`__has_include_next(…)` argument in `line`.
/// Mentions without a `(` (`defined __has_include`) are not probes.
fn has_include_args(line: &[u8]) -> Vec<Spec> {
    const WORD: &[u8] = b"__has_include";
    let mut found = Vec::new();
    for at in memmem::find_iter(line, WORD) {
        if at > 0 && is_ident(line[at - 1]) {
            continue;
        }
        let mut i = at + WORD.len();
        if line[i..].starts_with(b"_next") {
            i += b"_next".len();
        }
        if line.get(i).is_some_and(|&b| is_ident(b)) {
            continue;
        }
        while line.get(i).is_some_and(|&b| is_blank(b)) {
            i += 1;
        }
        if line.get(i) != Some(&b'(') {
            continue;
        }
        // The argument runs to the matching parenthesis.
        let start = i + 1;
        let mut depth = 1;
        let mut j = start;
        while j < line.len() && depth > 0 {
            match line[j] {
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ => {}
            }
            j += 1;
        }
        let arg = if depth == 0 { &line[start..j - 1] } else { &line[start..] };
        if let Some(spec) = spec_of(trim(arg)) {
            found.push(spec);
        }
    }
    found
}

#[cfg(test)]
#[path = "lexer_tests.rs"]
mod tests;
