//! Path canonicalisation, as Ninja does it to decide node identity.
//!
//! Purely lexical (no file system access, symlinks are not resolved), and
//! with Ninja's exact results so that `a/./b`, `a//b` and `a/x/../b` name the
//! same node here as in Ninja:
//!
//! - empty and `.` components are dropped;
//! - `..` removes the component before it, if there is one that is not
//!   itself a `..`; otherwise it is kept (`../x` stays, `a/../../x` is `../x`);
//! - a leading `/` is kept (`/..` stays `/..`), a trailing `/` is dropped;
//! - a path that cancels out entirely (`a/..`) becomes `.`.
//!
//! POSIX only: `\` is an ordinary character, as in Ninja off Windows.

/// Returns the canonical form of `path` (see the module documentation).
pub fn canonicalize_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    canonicalize_into(path, &mut out);
    out
}

/// Writes the canonical form of `path` into `out`, replacing its contents.
/// An empty `path` stays empty (callers reject empty paths before this).
pub fn canonicalize_into(path: &str, out: &mut String) {
    out.clear();
    if path.is_empty() {
        return;
    }
    let mut rest = path;
    // Below `floor`, nothing is ever removed: the root `/`, or the leading
    // `../`s of a relative path (common in build plans, and never removable).
    if let Some(r) = rest.strip_prefix('/') {
        out.push('/');
        rest = r;
    } else {
        while let Some(r) = rest.strip_prefix("../") {
            out.push_str("../");
            rest = r;
        }
    }
    let floor = out.len();
    // A trailing slash may only be dropped above the root.
    let keep = if path.starts_with('/') { 1 } else { 0 };
    // Components copied so far that a `..` may remove.
    let mut removable = 0usize;
    loop {
        let (component, last) = match memchr::memchr(b'/', rest.as_bytes()) {
            Some(i) => (&rest[..i], false),
            None => (rest, true),
        };
        match component {
            "" | "." => {}
            ".." if removable > 0 => {
                removable -= 1;
                // `out` ends with "component/": drop it back to the slash before.
                out.pop();
                while out.len() > floor && !out.ends_with('/') {
                    out.pop();
                }
            }
            _ => {
                if component != ".." {
                    removable += 1;
                }
                out.push_str(component);
                if !last {
                    out.push('/');
                }
            }
        }
        if last {
            break;
        }
        rest = &rest[component.len() + 1..];
    }
    if out.len() > keep && out.ends_with('/') {
        out.pop();
    }
    if out.is_empty() {
        out.push('.');
    }
}

/// True if `path` is already in canonical form.
pub fn is_canonical(path: &str) -> bool {
    // Most paths have no `.`, `..` or empty part (but a leading `/`):
    // canonical without building the canonical form to compare.
    // Over bytes, not chars: every header of every compile's dependency
    // list comes here.
    let parts = path.strip_prefix('/').unwrap_or(path).as_bytes();
    let plain = !parts.is_empty() && parts.split(|&c| c == b'/').all(|part| !matches!(part, b"" | b"." | b".."));
    plain || !path.is_empty() && canonicalize_path(path) == path
}

#[cfg(test)]
mod tests {
    use super::canonicalize_path as c;

    #[test]
    fn a_path_is_canonical_exactly_when_canonicalising_leaves_it_alone() {
        for p in [
            "a", "a/b.h", "/a/b", "/", ".", "..", "../x", "../../x", "a/..", "a/./b", "a//b", "a/", "/..", "/../x",
            "//a", "./a", "a/b/../c", "x/..", "...", "a/.b", "",
        ] {
            assert_eq!(super::is_canonical(p), !p.is_empty() && c(p) == p, "{p:?}");
        }
    }

    #[test]
    fn dot_components_and_doubled_slashes_are_removed() {
        assert_eq!(c("foo/./bar.h"), "foo/bar.h");
        assert_eq!(c("./x/foo/./bar.h"), "x/foo/bar.h");
        assert_eq!(c("./x/foo/../bar.h"), "x/bar.h");
        assert_eq!(c("foo//bar"), "foo/bar");
        assert_eq!(c("foo//.//..///bar"), "bar");
        assert_eq!(c("./x/../foo/../../bar.h"), "../bar.h");
        assert_eq!(c("foo/./."), "foo");
        assert_eq!(c("foo/bar/.."), "foo");
        assert_eq!(c("foo/.hidden_bar"), "foo/.hidden_bar");
        assert_eq!(c("./"), ".");
        assert_eq!(c("."), ".");
    }

    #[test]
    fn leading_parent_references_are_kept() {
        assert_eq!(c("../foo.h"), "../foo.h");
        assert_eq!(c("../../foo/bar.h"), "../../foo/bar.h");
        assert_eq!(c("foo/../../bar.h"), "../bar.h");
        assert_eq!(c("a/../../x/../y"), "../y");
        assert_eq!(c(".."), "..");
        assert_eq!(c("../"), "..");
        assert_eq!(c("../.."), "../..");
        assert_eq!(c("./.."), "..");
    }

    #[test]
    fn a_path_that_cancels_out_is_dot() {
        assert_eq!(c("foo/.."), ".");
        assert_eq!(c("foo/bar/../.."), ".");
        assert_eq!(c("foo/"), "foo");
    }

    #[test]
    fn absolute_paths_keep_their_root() {
        assert_eq!(c("/"), "/");
        assert_eq!(c("//"), "/");
        assert_eq!(c("/foo/../bar"), "/bar");
        assert_eq!(c("/foo/.."), "/");
        assert_eq!(c("/.."), "/..");
        assert_eq!(c("/usr//include/./stdio.h"), "/usr/include/stdio.h");
    }

    #[test]
    fn canonical_paths_are_recognised() {
        assert!(super::is_canonical("a/b.o"));
        assert!(!super::is_canonical("a//b.o"));
        assert!(!super::is_canonical(""));
    }
}
