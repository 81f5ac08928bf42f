//! Looking at a path inside a folder without following a symbolic link in
//! any component: a thunk's output `d/x.o` whose `d` the function replaced
//! by a link to `/elsewhere` must not lead the engine to `/elsewhere/x.o`
//! (collecting an output moves it into the store, deleting it at its source).

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

/// What sits at a path, seen without following links.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A regular file, with its permission bits.
    File {
        mode: u32,
    },
    Dir,
    /// A symbolic link, device, socket or FIFO.
    Other,
}

/// Why a path could not be looked at.
#[derive(Debug)]
pub enum Refused {
    /// The component ending at this relative path is a symbolic link (or
    /// not a folder) where a folder was needed.
    NotAFolder(String),
    /// Absolute, or with `.`/`..` components.
    NotPlain,
    Io(io::Error),
}

/// Looks at `rel` under `root` (which is trusted), following no link.
pub fn lstat(root: &Path, rel: &str) -> Result<Entry, Refused> {
    let parts: Vec<&std::ffi::OsStr> = Path::new(rel)
        .components()
        .map(|c| match c {
            Component::Normal(p) => Ok(p),
            _ => Err(Refused::NotPlain),
        })
        .collect::<Result<_, _>>()?;
    let Some((last, folders)) = parts.split_last() else { return Err(Refused::NotPlain) };
    let mut dir = File::open(root).map_err(Refused::Io)?;
    let mut walked = String::new();
    for part in folders {
        if !walked.is_empty() {
            walked.push('/');
        }
        walked.push_str(&part.to_string_lossy());
        let c = CString::new(part.as_bytes()).map_err(|_| Refused::NotPlain)?;
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: a valid descriptor and a NUL-terminated name.
        let fd = unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags) };
        if fd < 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::ELOOP | libc::ENOTDIR) => Refused::NotAFolder(walked),
                _ => Refused::Io(e),
            });
        }
        // SAFETY: `fd` was just opened and is owned by nothing else.
        dir = unsafe { File::from_raw_fd(fd) };
    }
    let c = CString::new(last.as_bytes()).map_err(|_| Refused::NotPlain)?;
    // SAFETY: zeroed `stat` is a valid out-parameter for fstatat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a valid descriptor, a NUL-terminated name and a stat buffer.
    if unsafe { libc::fstatat(dir.as_raw_fd(), c.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) } != 0 {
        return Err(Refused::Io(io::Error::last_os_error()));
    }
    Ok(match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => Entry::File { mode: st.st_mode & 0o7777 },
        libc::S_IFDIR => Entry::Dir,
        _ => Entry::Other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_in_a_real_folder_is_seen_with_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("a")).unwrap();
        std::fs::write(d.path().join("a/x"), b"x").unwrap();
        std::fs::set_permissions(d.path().join("a/x"), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(lstat(d.path(), "a/x").unwrap(), Entry::File { mode: 0o755 });
        assert_eq!(lstat(d.path(), "a").unwrap(), Entry::Dir);
    }

    #[test]
    fn a_link_in_any_component_is_refused_and_names_it() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(outside.path().join("b")).unwrap();
        std::fs::write(outside.path().join("b/x"), b"x").unwrap();
        std::fs::create_dir(d.path().join("a")).unwrap();
        std::os::unix::fs::symlink(outside.path(), d.path().join("a/l")).unwrap();
        assert!(matches!(lstat(d.path(), "a/l/b/x"), Err(Refused::NotAFolder(p)) if p == "a/l"));
        std::os::unix::fs::symlink(outside.path().join("b/x"), d.path().join("a/y")).unwrap();
        assert_eq!(lstat(d.path(), "a/y").unwrap(), Entry::Other, "the last component is not followed either");
    }

    #[test]
    fn climbing_out_is_refused() {
        let d = tempfile::tempdir().unwrap();
        assert!(matches!(lstat(d.path(), "../x"), Err(Refused::NotPlain)));
        assert!(matches!(lstat(d.path(), "/etc/passwd"), Err(Refused::NotPlain)));
    }
}
