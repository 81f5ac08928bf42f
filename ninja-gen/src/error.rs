//! The errors of parsing and evaluation.
//!
//! A parse error names `file:line:column` and says what was expected, in
//! Ninja's words, followed (like Ninja) by the offending line and a caret:
//!
//! ```text
//! build.ninja:3:10: expected ':', got newline ($ also escapes ':')
//! build a b
//!          ^ near here
//! ```

use std::fmt;

/// A manifest that Ninja would reject (or that could not be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    file: String,
    /// 1-based; 0 when the error has no position (the top file is unreadable).
    line: usize,
    /// 1-based, in bytes.
    column: usize,
    message: String,
    /// The offending line (cut at 72 bytes) and the caret under the column.
    context: Option<String>,
}

/// Longer lines are cut in the context, as Ninja does.
const CONTEXT_WIDTH: usize = 72;

impl ParseError {
    /// An error at byte offset `pos` of `src`, the text of `file`.
    pub(crate) fn at(file: &str, src: &str, pos: usize, message: String) -> Self {
        let mut pos = pos.min(src.len());
        while !src.is_char_boundary(pos) {
            pos -= 1;
        }
        let before = &src.as_bytes()[..pos];
        let line = 1 + memchr::memchr_iter(b'\n', before).count();
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
        let column = pos - line_start + 1;
        let rest = &src[line_start..];
        let line_end = memchr::memchr2(b'\n', 0, rest.as_bytes()).unwrap_or(rest.len());
        let mut text = rest[..line_end].trim_end_matches('\r').to_string();
        if text.len() > CONTEXT_WIDTH {
            let mut cut = CONTEXT_WIDTH;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str("...");
        }
        let context = (column <= CONTEXT_WIDTH).then(|| {
            // Tabs are kept under tabs so the caret lines up.
            let pad: String = src[line_start..pos].chars().map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
            format!("{text}\n{pad}^ near here")
        });
        ParseError { file: file.to_string(), line, column, message, context }
    }

    /// An error with no position in a file (used when the top file cannot be read).
    pub(crate) fn whole_file(file: &str, message: String) -> Self {
        ParseError { file: file.to_string(), line: 0, column: 0, message, context: None }
    }

    /// The file the error is in.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// 1-based line number, or 0 if the error concerns the whole file.
    pub fn line(&self) -> usize {
        self.line
    }

    /// 1-based column in bytes, or 0 if the error concerns the whole file.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What went wrong, without the position (e.g. `unknown build rule 'cc'`).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "{}", self.message);
        }
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)?;
        if let Some(context) = &self.context {
            write!(f, "\n{context}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// A rule variable that cannot be evaluated for an edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// Rule variables refer to each other in a loop, e.g. `command = $description`
    /// and `description = $command` (Ninja stops with the same message).
    #[error("cycle in rule variables: {0}")]
    Cycle(String),
    /// The value would be longer than the parse's `max_value_len`.
    #[error("value longer than {0} bytes")]
    TooLong(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_position_is_line_and_column_of_the_offset() {
        let src = "rule cc\n  command = x\nbuild a b\n";
        let e = ParseError::at("build.ninja", src, src.find("b\n").unwrap() + 1, "expected ':'".into());
        assert_eq!((e.line(), e.column()), (3, 10));
        assert_eq!(e.to_string(), "build.ninja:3:10: expected ':'\nbuild a b\n         ^ near here");
    }

    #[test]
    fn long_lines_are_cut_in_the_context() {
        let src = format!("{}\n", "é".repeat(80));
        let e = ParseError::at("f", &src, 2, "m".into());
        let shown = e.to_string();
        assert!(shown.contains("...\n ^ near here"), "{shown}");
        assert_eq!(e.column(), 3);
    }

    #[test]
    fn an_error_past_the_context_width_has_no_caret() {
        let src = format!("{}\n", "x".repeat(100));
        let e = ParseError::at("f", &src, 90, "m".into());
        assert_eq!(e.to_string(), "f:1:91: m");
    }
}
