//! The hand-written lexer over one manifest file's bytes.
//!
//! It follows Ninja's grammar rule for rule (Ninja generates its lexer with
//! re2c; the comments below give the token patterns), including the corners
//! that decide whether a file is accepted:
//!
//! - a comment is `[ ]*#…\n` and must end in a newline: one at the very end
//!   of the file without a newline is a lexing error, as in Ninja;
//! - a NUL byte ends the file (Ninja reads a NUL-terminated buffer);
//! - `\r\n` is a newline wherever `\n` is, a lone `\r` is an error;
//! - a keyword is a keyword only if it is the whole identifier (`builder` is
//!   an identifier), and identifiers may contain `.`, while a `$name`
//!   reference may not (`${name}` may).
//!
//! Values are returned as lists of [`Piece`]s borrowing the file's text, so
//! paths and bindings are evaluated without copying the literal parts.

use crate::error::ParseError;

/// The tokens of the manifest language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    Error,
    Build,
    Colon,
    Default,
    Equals,
    Ident,
    Include,
    Indent,
    Newline,
    Pipe,
    Pipe2,
    PipeAt,
    Pool,
    Rule,
    Subninja,
    Eof,
}

impl Token {
    /// How the token is named in error messages (Ninja's wording).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Token::Error => "lexing error",
            Token::Build => "'build'",
            Token::Colon => "':'",
            Token::Default => "'default'",
            Token::Equals => "'='",
            Token::Ident => "identifier",
            Token::Include => "'include'",
            Token::Indent => "indent",
            Token::Newline => "newline",
            Token::Pipe => "'|'",
            Token::Pipe2 => "'||'",
            Token::PipeAt => "'|@'",
            Token::Pool => "'pool'",
            Token::Rule => "'rule'",
            Token::Subninja => "'subninja'",
            Token::Eof => "eof",
        }
    }
}

/// One part of an unevaluated string: literal text or a variable reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    Lit(&'a str),
    Var(&'a str),
}

/// `[a-zA-Z0-9_.-]`: identifiers and `${…}` names.
const VARNAME: u8 = 1;
/// `[a-zA-Z0-9_-]`: `$name` references.
const SIMPLE: u8 = 2;
/// Bytes that end a literal run in a value or path: `$ :|\r\n` and NUL.
const STOP: u8 = 4;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            t[c] = VARNAME | SIMPLE;
        } else if b == b'.' {
            t[c] = VARNAME;
        } else if matches!(b, b'$' | b' ' | b':' | b'|' | b'\r' | b'\n' | 0) {
            t[c] = STOP;
        }
        c += 1;
    }
    t
};

#[inline]
fn is(class: u8, b: u8) -> bool {
    CLASS[b as usize] & class != 0
}

/// Lexer state over one file.
#[derive(Debug)]
pub(crate) struct Lexer<'a> {
    filename: &'a str,
    src: &'a str,
    pos: usize,
    /// Start of the last token read: where errors point.
    last: usize,
    /// End of the last identifier token (before the whitespace eaten after it).
    ident_end: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(filename: &'a str, src: &'a str) -> Self {
        Lexer { filename, src, pos: 0, last: 0, ident_end: 0 }
    }

    /// The byte at `i`, or NUL past the end (Ninja's input is NUL-terminated).
    #[inline]
    fn at(&self, i: usize) -> u8 {
        self.src.as_bytes().get(i).copied().unwrap_or(0)
    }

    fn scan(&self, mut i: usize, class: u8) -> usize {
        let bytes = self.src.as_bytes();
        while i < bytes.len() && is(class, bytes[i]) {
            i += 1;
        }
        i
    }

    /// Reads the next token.
    pub(crate) fn read_token(&mut self) -> Token {
        let mut p = self.pos;
        let (token, start) = loop {
            let start = p;
            let q = self.scan_spaces(p);
            match self.at(q) {
                // [ ]*"#"[^\000\n]*"\n": a whole comment line, skipped.
                b'#' => match memchr::memchr2(b'\n', 0, &self.src.as_bytes()[q..]) {
                    Some(n) if self.at(q + n) == b'\n' => {
                        p = q + n + 1;
                        continue;
                    }
                    // No newline before the end: the comment pattern fails
                    // and the longest other match is the spaces, or an error.
                    _ if q > start => {
                        p = q;
                        break (Token::Indent, start);
                    }
                    _ => {
                        p = q + 1;
                        break (Token::Error, start);
                    }
                },
                // [ ]*"\r\n" and [ ]*"\n"
                b'\r' if self.at(q + 1) == b'\n' => {
                    p = q + 2;
                    break (Token::Newline, start);
                }
                b'\n' => {
                    p = q + 1;
                    break (Token::Newline, start);
                }
                // [ ]+
                _ if q > start => {
                    p = q;
                    break (Token::Indent, start);
                }
                _ => {}
            }
            let c = self.at(p);
            if is(VARNAME, c) {
                let end = self.scan(p, VARNAME);
                self.ident_end = end;
                let token = match &self.src[p..end] {
                    "build" => Token::Build,
                    "pool" => Token::Pool,
                    "rule" => Token::Rule,
                    "default" => Token::Default,
                    "include" => Token::Include,
                    "subninja" => Token::Subninja,
                    _ => Token::Ident,
                };
                p = end;
                break (token, start);
            }
            let (token, len) = match c {
                b'=' => (Token::Equals, 1),
                b':' => (Token::Colon, 1),
                b'|' if self.at(p + 1) == b'@' => (Token::PipeAt, 2),
                b'|' if self.at(p + 1) == b'|' => (Token::Pipe2, 2),
                b'|' => (Token::Pipe, 1),
                0 => (Token::Eof, 0),
                // Step over the whole character so positions stay on char boundaries.
                _ => (Token::Error, self.src[p..].chars().next().map_or(1, char::len_utf8)),
            };
            p += len;
            break (token, start);
        };
        self.last = start;
        self.pos = p;
        if token != Token::Newline && token != Token::Eof {
            self.eat_whitespace();
        }
        token
    }

    fn scan_spaces(&self, mut i: usize) -> usize {
        while self.at(i) == b' ' {
            i += 1;
        }
        i
    }

    /// The text of the identifier (or keyword) token just read.
    pub(crate) fn ident_text(&self) -> &'a str {
        &self.src[self.last..self.ident_end]
    }

    /// Rewinds to before the last token read.
    pub(crate) fn unread(&mut self) {
        self.pos = self.last;
    }

    /// Reads the next token if it is `token`.
    pub(crate) fn peek(&mut self, token: Token) -> bool {
        if self.read_token() == token {
            return true;
        }
        self.unread();
        false
    }

    /// Skips spaces and `$`-newline continuations.
    fn eat_whitespace(&mut self) {
        loop {
            match (self.at(self.pos), self.at(self.pos + 1)) {
                (b' ', _) => self.pos += 1,
                (b'$', b'\n') => self.pos += 2,
                (b'$', b'\r') if self.at(self.pos + 2) == b'\n' => self.pos += 3,
                _ => break,
            }
        }
    }

    /// Reads a rule, pool or variable name (`[a-zA-Z0-9_.-]+`).
    pub(crate) fn read_ident(&mut self) -> Option<&'a str> {
        let start = self.pos;
        let end = self.scan(start, VARNAME);
        self.last = start;
        if end == start {
            return None;
        }
        self.pos = end;
        self.eat_whitespace();
        Some(&self.src[start..end])
    }

    /// Reads one path of a `build`, `default`, `include` or `subninja` line,
    /// appending its pieces to `out`. Nothing is appended at a delimiter
    /// (space, `:`, `|`, newline): that is how the caller sees the list end.
    pub(crate) fn read_path(&mut self, out: &mut Vec<Piece<'a>>) -> Result<(), ParseError> {
        self.read_eval_string(out, true)
    }

    /// Reads the value of `name = value`, through the end of its line.
    pub(crate) fn read_value(&mut self, out: &mut Vec<Piece<'a>>) -> Result<(), ParseError> {
        self.read_eval_string(out, false)
    }

    fn read_eval_string(&mut self, out: &mut Vec<Piece<'a>>, path: bool) -> Result<(), ParseError> {
        let mut p = self.pos;
        let start = loop {
            let start = p;
            let c = self.at(p);
            if !is(STOP, c) {
                // [^$ :\r\n|\000]+
                let end = self.scan_literal(p);
                out.push(Piece::Lit(&self.src[p..end]));
                p = end;
                continue;
            }
            match c {
                b'\r' if self.at(p + 1) == b'\n' => {
                    if !path {
                        p += 2;
                    }
                    break start;
                }
                b'\n' => {
                    if !path {
                        p += 1;
                    }
                    break start;
                }
                b' ' | b':' | b'|' => {
                    if path {
                        break start;
                    }
                    out.push(Piece::Lit(&self.src[p..p + 1]));
                    p += 1;
                }
                b'$' => p = self.read_escape(p, out)?,
                0 => return Err(self.error_at(start, "unexpected EOF")),
                // A lone '\r'.
                _ => return Err(self.error_at(start, "lexing error")),
            }
        };
        self.last = start;
        self.pos = p;
        if path {
            self.eat_whitespace();
        }
        Ok(())
    }

    /// A run of bytes that are not `$ :|\r\n` or NUL, from `p`.
    #[inline]
    fn scan_literal(&self, p: usize) -> usize {
        let bytes = self.src.as_bytes();
        let mut i = p;
        while i < bytes.len() && !is(STOP, bytes[i]) {
            i += 1;
        }
        i
    }

    /// Reads the escape starting with the `$` at `p`; returns where it ends.
    fn read_escape(&self, p: usize, out: &mut Vec<Piece<'a>>) -> Result<usize, ParseError> {
        let next = self.at(p + 1);
        match next {
            b'$' => out.push(Piece::Lit("$")),
            b' ' => out.push(Piece::Lit(" ")),
            b':' => out.push(Piece::Lit(":")),
            // "$\n"[ ]* and "$\r\n"[ ]*: a continuation, leading spaces skipped.
            b'\n' => return Ok(self.scan_spaces(p + 2)),
            b'\r' if self.at(p + 2) == b'\n' => return Ok(self.scan_spaces(p + 3)),
            b'{' => {
                let end = self.scan(p + 2, VARNAME);
                if end > p + 2 && self.at(end) == b'}' {
                    out.push(Piece::Var(&self.src[p + 2..end]));
                    return Ok(end + 1);
                }
                return Err(self.bad_escape(p));
            }
            c if is(SIMPLE, c) => {
                let end = self.scan(p + 1, SIMPLE);
                out.push(Piece::Var(&self.src[p + 1..end]));
                return Ok(end);
            }
            _ => return Err(self.bad_escape(p)),
        }
        Ok(p + 2)
    }

    fn bad_escape(&self, p: usize) -> ParseError {
        self.error_at(p, "bad $-escape (literal $ must be written as $$)")
    }

    /// Ninja's description of the error token just read.
    pub(crate) fn describe_last_error(&self) -> &'static str {
        if self.at(self.last) == b'\t' {
            "tabs are not allowed, use spaces"
        } else {
            "lexing error"
        }
    }

    /// Where the next read starts.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Where the last token started.
    pub(crate) fn last_pos(&self) -> usize {
        self.last
    }

    /// An error pointing at the last token read.
    pub(crate) fn error(&self, message: impl Into<String>) -> ParseError {
        self.error_at(self.last, message)
    }

    /// An error pointing at byte offset `pos` of this file.
    pub(crate) fn error_at(&self, pos: usize, message: impl Into<String>) -> ParseError {
        ParseError::at(self.filename, self.src, pos, message.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(src: &str) -> Vec<Token> {
        let mut lx = Lexer::new("t", src);
        let mut v = Vec::new();
        loop {
            let t = lx.read_token();
            v.push(t);
            if t == Token::Eof || t == Token::Error {
                return v;
            }
        }
    }

    fn value(src: &str) -> Result<Vec<Piece<'_>>, String> {
        let mut lx = Lexer::new("t", src);
        let mut v = Vec::new();
        lx.read_value(&mut v).map_err(|e| e.message().to_string())?;
        Ok(v)
    }

    #[test]
    fn keywords_are_keywords_only_as_whole_identifiers() {
        use Token::*;
        assert_eq!(tokens("build builder build.x:\n"), vec![Build, Ident, Ident, Colon, Newline, Eof]);
        assert_eq!(tokens("rule pool default include subninja"), vec![Rule, Pool, Default, Include, Subninja, Eof]);
    }

    #[test]
    fn pipes_are_told_apart() {
        use Token::*;
        assert_eq!(tokens("| || |@ |"), vec![Pipe, Pipe2, PipeAt, Pipe, Eof]);
    }

    #[test]
    fn comment_lines_and_blank_lines_are_skipped_or_newlines() {
        use Token::*;
        assert_eq!(tokens("# c\n  # indented c\nx\n   \n"), vec![Ident, Newline, Newline, Eof]);
        assert_eq!(tokens("x\r\n  \r\n"), vec![Ident, Newline, Newline, Eof]);
    }

    #[test]
    fn a_comment_without_a_final_newline_is_an_error() {
        assert_eq!(tokens("# c"), vec![Token::Error]);
        assert_eq!(tokens("  # c"), vec![Token::Indent, Token::Error]);
    }

    #[test]
    fn a_nul_byte_ends_the_file() {
        assert_eq!(tokens("x\n\0garbage |"), vec![Token::Ident, Token::Newline, Token::Eof]);
    }

    #[test]
    fn tabs_are_described_as_such() {
        let mut lx = Lexer::new("t", "\tx");
        assert_eq!(lx.read_token(), Token::Error);
        assert_eq!(lx.describe_last_error(), "tabs are not allowed, use spaces");
    }

    #[test]
    fn values_split_into_literals_and_variables() {
        use Piece::*;
        assert_eq!(
            value("a $b ${c.d}$e-f:|g\n").unwrap(),
            vec![Lit("a"), Lit(" "), Var("b"), Lit(" "), Var("c.d"), Var("e-f"), Lit(":"), Lit("|"), Lit("g")]
        );
    }

    #[test]
    fn escapes_produce_their_characters() {
        use Piece::*;
        assert_eq!(value("$$$ $:\n").unwrap(), vec![Lit("$"), Lit(" "), Lit(":")]);
    }

    #[test]
    fn a_continuation_skips_the_next_lines_leading_spaces() {
        use Piece::*;
        assert_eq!(value("a$\n    b$\r\n  c\n").unwrap(), vec![Lit("a"), Lit("b"), Lit("c")]);
    }

    #[test]
    fn a_dollar_before_an_unknown_character_is_a_bad_escape() {
        for bad in ["$!\n", "${x\n", "${}\n", "$\t\n", "$\rx\n", "$"] {
            let e = value(bad).unwrap_err();
            assert_eq!(e, "bad $-escape (literal $ must be written as $$)", "{bad:?}");
        }
    }

    #[test]
    fn a_value_must_end_in_a_newline() {
        assert_eq!(value("abc").unwrap_err(), "unexpected EOF");
        assert_eq!(value("a\rb\n").unwrap_err(), "lexing error");
    }

    #[test]
    fn a_path_stops_at_delimiters_and_eats_following_spaces() {
        let mut lx = Lexer::new("t", "a$ b:c  |d\n");
        let mut v = Vec::new();
        lx.read_path(&mut v).unwrap();
        assert_eq!(v, vec![Piece::Lit("a"), Piece::Lit(" "), Piece::Lit("b")]);
        v.clear();
        assert_eq!(lx.read_token(), Token::Colon);
        lx.read_path(&mut v).unwrap();
        assert_eq!(v, vec![Piece::Lit("c")]);
        v.clear();
        lx.read_path(&mut v).unwrap();
        assert!(v.is_empty(), "a delimiter reads as an empty path");
        assert_eq!(lx.read_token(), Token::Pipe);
    }
}
