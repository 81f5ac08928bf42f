//! Paths resolved lexically (`.` and `..` without touching the disk), as
//! inside a sandbox, where every folder is real.

/// Resolves `.` and `..` in an absolute path without touching the disk.
pub(crate) fn normalize(abs: &str) -> String {
    // Most paths (every one the scanner found) are normal already.
    if abs == "/" || abs.starts_with('/') && abs[1..].split('/').all(|p| !matches!(p, "" | "." | "..")) {
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

#[cfg(test)]
mod tests {
    use super::normalize;

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
}
