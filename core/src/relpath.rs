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
    // Each component starts at 0 or after a `/` (every input of every
    // thunk is checked: one pass over the slashes, no split).
    for start in std::iter::once(0).chain(memchr::memchr_iter(b'/', b).map(|i| i + 1)) {
        let part = &b[start..];
        let end = memchr::memchr(b'/', part).unwrap_or(part.len());
        match &part[..end] {
            b"" => return Err("empty component (`//` or a trailing `/`)"),
            b"." => return Err("`.` component (write the path without it)"),
            b".." => return Err("`..` components are not allowed"),
            _ => {}
        }
    }
    Ok(())
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
        for p in ["a", "a/b.c", "usr/include/stdio.h", "..a", "a..", "a/.hidden"] {
            assert_eq!(check(p), Ok(()), "{p}");
        }
    }

    #[test]
    fn escaping_or_unnormalised_paths_are_refused() {
        for p in ["", "/etc/passwd", "../x", "a/../b", "a/..", "a//b", "a/", "./a", "a/./b", "a\0b"] {
            assert!(check(p).is_err(), "{p:?} should be refused");
        }
    }

    #[test]
    fn the_root_is_a_valid_working_directory() {
        assert_eq!(check_dir(""), Ok(()));
        assert!(check_dir("/").is_err());
    }
}
