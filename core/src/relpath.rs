//! Paths inside a sandbox: relative, normalised, never escaping the root.
//!
//! Every path a thunk names (objects, outputs, its working directory) goes
//! through [`check`], on the client when the thunk is made and again on any
//! engine before it is materialised, so a thunk can never write or read
//! outside the folder it is given.

/// Why a sandbox path is refused.
pub fn check(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("empty path");
    }
    if path.starts_with('/') {
        return Err("absolute paths are not allowed");
    }
    let b = path.as_bytes();
    if memchr::memchr(0, b).is_some() {
        return Err("NUL byte in path");
    }
    // Every input of every thunk is checked: one plain pass over the
    // components (substring searchers built per call cost some 1,000
    // instructions a path, memchr per slash half that on paths this short).
    match b.split(|&c| c == b'/').find_map(bad_part) {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

/// Why a component of a sandbox path is refused, if it is.
fn bad_part(part: &[u8]) -> Option<&'static str> {
    match part {
        b"" => Some("empty component (`//` or a trailing `/`)"),
        b"." => Some("`.` component (write the path without it)"),
        b".." => Some("`..` components are not allowed"),
        _ => None,
    }
}

/// Like [`check`], but the empty string (the sandbox root) is allowed; used
/// for the working directory.
pub fn check_dir(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        Ok(())
    } else {
        check(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_relative_paths_are_accepted() {
        for p in ["a", "a/b.c", "usr/include/stdio.h", "..a", "a..", "a/.hidden", "a/..b/.c", ".a/b", "a/b.", "..."] {
            assert_eq!(check(p), Ok(()), "{p}");
        }
    }

    #[test]
    fn escaping_or_unnormalised_paths_are_refused() {
        for p in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a/..",
            "a//b",
            "a/",
            "./a",
            "a/./b",
            "a\0b",
            ".",
            "..",
            "a/.",
            "a/b/../c",
            "a/.hidden/../b",
            "x/.",
            "/",
            "a/b//",
        ] {
            assert!(check(p).is_err(), "{p:?} should be refused");
        }
    }

    #[test]
    fn the_root_is_a_valid_working_directory() {
        assert_eq!(check_dir(""), Ok(()));
        assert!(check_dir("/").is_err());
    }
}
