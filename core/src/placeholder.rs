//! Placeholder files: a small file at an output path that names the thunk
//! (and output) that will produce it, replaced by the real output when the
//! thunk is forced.
//!
//! The format is one line, `/* gg placeholder: T…#output */`, which is a
//! valid linker-script comment: tools that peek at a placeholder `.o`, `.a`
//! or `.so` (or a linker given one) see an empty script, not garbage.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use crate::fsutil;
use crate::name::OutputRef;

const PREFIX: &str = "/* gg placeholder: ";
const SUFFIX: &str = " */\n";
/// Anything larger is certainly not a placeholder; saves reading big files.
const MAX_LEN: u64 = 1024;

/// The placeholder text for `target`.
pub fn text(target: &OutputRef) -> String {
    format!("{PREFIX}{target}{SUFFIX}")
}

/// Writes a placeholder for `target` at `path`, atomically.
pub fn write(path: &Path, target: &OutputRef) -> io::Result<()> {
    fsutil::write_atomic(path, text(target).as_bytes()).map_err(fsutil::ctx("cannot write placeholder", path))
}

/// What a placeholder's contents name: `None` if `bytes` is not a
/// placeholder at all, `Some(Err)` if it is one but the name is malformed.
pub fn parse(bytes: &[u8]) -> Option<Result<OutputRef, String>> {
    let text = std::str::from_utf8(bytes).ok()?;
    // Tolerate an editor's changes to the line ending.
    let inner = text.strip_prefix(PREFIX)?.trim_end().strip_suffix(SUFFIX.trim_end())?;
    Some(inner.parse::<OutputRef>().map_err(|e| e.to_string()))
}

/// Reads `path` and returns the reference if it is a placeholder.
/// `Ok(None)`: a real file; `Err`: unreadable or a malformed placeholder.
pub fn read(path: &Path) -> io::Result<Option<OutputRef>> {
    let file = fs::File::open(path).map_err(fsutil::ctx("cannot open", path))?;
    let mut bytes = Vec::new();
    file.take(MAX_LEN + 1).read_to_end(&mut bytes).map_err(fsutil::ctx("cannot read", path))?;
    if bytes.len() as u64 > MAX_LEN {
        return Ok(None);
    }
    match parse(&bytes) {
        None => Ok(None),
        Some(Ok(r)) => Ok(Some(r)),
        Some(Err(e)) => {
            Err(io::Error::new(io::ErrorKind::InvalidData, format!("malformed placeholder `{}`: {e}", path.display())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::{Kind, Name};

    fn target() -> OutputRef {
        OutputRef { thunk: Name::of_bytes(Kind::Thunk, b"x"), output: Some("a.o".into()) }
    }

    #[test]
    fn a_written_placeholder_reads_back_the_thunk_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.o");
        write(&p, &target()).unwrap();
        assert_eq!(read(&p).unwrap(), Some(target()));
    }

    #[test]
    fn a_placeholder_without_its_newline_is_still_one() {
        let text = text(&target());
        assert_eq!(parse(text.trim_end().as_bytes()), Some(Ok(target())));
        assert_eq!(parse(format!("{}\r\n", text.trim_end()).as_bytes()), Some(Ok(target())));
    }

    #[test]
    fn ordinary_files_are_not_placeholders() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.o");
        fs::write(&p, b"\x7fELF...").unwrap();
        assert_eq!(read(&p).unwrap(), None);
        fs::write(&p, vec![b'/'; 5000]).unwrap();
        assert_eq!(read(&p).unwrap(), None);
    }

    #[test]
    fn a_placeholder_with_a_bad_name_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.o");
        fs::write(&p, "/* gg placeholder: Tbogus */\n").unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("a.o") && e.contains("Tbogus"), "{e}");
    }

    #[test]
    fn the_placeholder_is_a_linker_script_comment() {
        let t = text(&target());
        assert!(t.starts_with("/*") && t.trim_end().ends_with("*/"));
    }
}
