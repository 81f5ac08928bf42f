//! Small filesystem helpers shared by the store, the engine and the CLI:
//! atomic writes (temp file + rename) and unique temp names.
//!
//! Every file gg creates for a user or in its store goes through here, so a
//! crash or a failure never leaves a truncated file at a real path.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name no other thread or process of this machine is using right now.
pub fn unique_name(stem: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{stem}.{}.{n}.{nanos:x}.tmp", std::process::id())
}

/// A temp path beside `path`, so that renaming it over `path` is atomic.
pub fn temp_beside(path: &Path) -> PathBuf {
    let stem = path.file_name().map_or_else(|| "gg".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(unique_name(&format!(".{stem}")))
}

/// Creates a fresh file at `path` (which must not exist).
pub fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// Writes `bytes` to `path` atomically: readers see the old file or the
/// whole new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_beside(path);
    let result = create_new(&tmp).and_then(|mut f| f.write_all(bytes)).and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Copies `from` to `to` atomically (temp beside `to`, then rename).
pub fn copy_atomic(from: &Path, to: &Path) -> io::Result<()> {
    let tmp = temp_beside(to);
    let result = fs::copy(from, &tmp).and_then(|_| fs::rename(&tmp, to));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Copies `from` to `to` atomically with permission bits `mode` (a store
/// blob is read-only; a build output is not).
pub fn copy_atomic_with_mode(from: &Path, to: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = temp_beside(to);
    let result = fs::copy(from, &tmp)
        .and_then(|_| fs::set_permissions(&tmp, fs::Permissions::from_mode(mode)))
        .and_then(|()| fs::rename(&tmp, to));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Adds context to an I/O error: what was being done to which path.
pub fn ctx(what: &str, path: &Path) -> impl FnOnce(io::Error) -> io::Error {
    let msg = format!("{what} `{}`", path.display());
    move |e| io::Error::new(e.kind(), format!("{msg}: {e}"))
}

/// The first folder on the way from `root` to `rel` (a relative path
/// inside it) that is a symbolic link, if any. A thunk can replace its
/// output's folder by a link to anywhere; gg, which collects outputs
/// outside any jail, must not follow it out of the sandbox.
pub fn linked_folder(root: &Path, rel: &str) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    let parent = Path::new(rel).parent()?;
    for part in parent.components() {
        path.push(part);
        if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Some(path);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.o");
        fs::write(&p, b"old contents that are longer").unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_copy_with_a_mode_replaces_a_read_only_source_writable_and_leaves_no_temp() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let blob = dir.path().join("blob");
        fs::write(&blob, b"bytes").unwrap();
        fs::set_permissions(&blob, fs::Permissions::from_mode(0o444)).unwrap();
        let out = dir.path().join("prog");
        fs::write(&out, b"old").unwrap();
        copy_atomic_with_mode(&blob, &out, 0o755).unwrap();
        assert_eq!(fs::read(&out).unwrap(), b"bytes");
        assert_eq!(fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o755);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
        assert!(copy_atomic_with_mode(&blob, &dir.path().join("no/such/dir"), 0o644).is_err());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2, "a failed copy leaves no temp");
    }

    #[test]
    fn a_failed_atomic_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing-dir").join("out.o");
        assert!(write_atomic(&p, b"x").is_err());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn unique_names_differ() {
        assert_ne!(unique_name("a"), unique_name("a"));
    }

    #[test]
    fn a_linked_folder_on_the_way_to_an_output_is_found() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("a/l")).unwrap();
        assert_eq!(linked_folder(dir.path(), "a/b/out"), None);
        assert_eq!(linked_folder(dir.path(), "out"), None);
        assert_eq!(linked_folder(dir.path(), "a/l/passwd"), Some(dir.path().join("a/l")));
        assert_eq!(linked_folder(dir.path(), "a/l/x/y"), Some(dir.path().join("a/l")));
    }
}
