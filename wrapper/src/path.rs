//! Paths resolved lexically (`.` and `..` without touching the disk), as
//! inside a sandbox, where every folder is real.

/// Resolves `.` and `..` in an absolute path without touching the disk.
pub(crate) fn normalize(abs: &str) -> String {
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
    }
}
