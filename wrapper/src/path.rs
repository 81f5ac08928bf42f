//! Paths resolved lexically (`.` and `..` without touching the disk), as
//! inside a sandbox, where every folder is real.

/// Resolves `.` and `..` in an absolute path without touching the disk.
pub(crate) fn normalize(abs: &str) -> String {
    // Most paths (every one the scanner found) are normal already.
    if is_normal_absolute(abs) {
        return abs.to_string();
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in abs.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Whether `p` is absolute with no `.`, `..` or empty component, as
/// [`normalize`] would leave it.
pub(crate) fn is_normal_absolute(p: &str) -> bool {
    let b = p.as_bytes();
    if b == b"/" {
        return true;
    }
    if b.first() != Some(&b'/') {
        return false;
    }
    // What follows each `/` (asked of every input of every compile: one
    // pass over the slashes, no split).
    memchr::memchr_iter(b'/', b).all(|i| {
        !matches!(&b[i + 1..], [] | [b'/', ..] | [b'.'] | [b'.', b'/', ..] | [b'.', b'.'] | [b'.', b'.', b'/', ..])
    })
}

#[cfg(test)]
mod tests {
    use super::{is_normal_absolute, normalize};

    #[test]
    fn paths_are_normalised_lexically() {
        assert_eq!(normalize("/a/src/../include/./u.h"), "/a/include/u.h");
        assert_eq!(normalize("/../x"), "/x");
        assert_eq!(normalize("/a//b/"), "/a/b");
        assert_eq!(normalize("/a/b.h"), "/a/b.h");
        assert_eq!(normalize("/"), "/");
        assert_eq!(normalize("/a/."), "/a");
        assert_eq!(normalize("/a/.."), "/");
        assert_eq!(normalize("/a/.b/..c"), "/a/.b/..c");
    }

    #[test]
    fn only_absolute_paths_without_dots_or_empty_parts_count_as_normal() {
        for p in ["/", "/a/b.h", "/a/.b/..c"] {
            assert!(is_normal_absolute(p), "{p}");
        }
        for p in ["a/b.h", "", "/a//b", "/a/./b", "/a/../b", "/a/"] {
            assert!(!is_normal_absolute(p), "{p}");
        }
    }
}
