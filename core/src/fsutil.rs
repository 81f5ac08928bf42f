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

/// A name no other thread or process of this machine is using right now:
/// `STEM.PID.N.NANOS.tmp`. The pid lets a later process tell a temp whose
/// writer was killed (see [`temp_owner_is_dead`]).
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

/// Whether `file_name` is a [`unique_name`] of `stem` whose process is
/// gone (so nothing will ever rename or remove it).
pub fn temp_owner_is_dead(file_name: &str, stem: &str) -> bool {
    let Some(rest) = file_name.strip_prefix(stem).and_then(|r| r.strip_prefix('.')) else { return false };
    let Some(rest) = rest.strip_suffix(".tmp") else { return false };
    let parts: Vec<&str> = rest.split('.').collect();
    let [pid, n, nanos] = parts[..] else { return false };
    if n.parse::<u64>().is_err() || u64::from_str_radix(nanos, 16).is_err() {
        return false;
    }
    match pid.parse::<i32>() {
        Ok(pid) if pid > 0 && pid as u32 != std::process::id() => {
            // SAFETY: signal 0 only asks whether the process exists.
            unsafe { libc::kill(pid, 0) != 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH) }
        }
        _ => false,
    }
}

/// Removes the temps beside `path` left by killed writers (a build
/// stopped with `kill -9` mid-write), so they do not pile up in the
/// user's folders: one read of the folder, done when `path` is written.
pub fn remove_dead_temps_beside(path: &Path) {
    let Some(name) = path.file_name() else { return };
    let stem = format!(".{}", name.to_string_lossy());
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let file = entry.file_name();
        if temp_owner_is_dead(&file.to_string_lossy(), &stem) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Creates a fresh file at `path` (which must not exist).
pub fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// Writes `bytes` to `path` atomically: readers see the old file or the
/// whole new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, None, |f| f.write_all(bytes))
}

/// Writes `path` atomically through `write`, which fills a fresh temp file
/// beside it (the same folder: the rename never crosses filesystems); with
/// `mode`, the file gets those permission bits before it is renamed into
/// place. On any error the temp file is removed and `path` is untouched.
/// The one way gg's crates replace a file whole (ninja-gen, which has no
/// gg dependency, uses tempfile's `persist` for its logs).
pub fn write_atomic_with(
    path: &Path,
    mode: Option<u32>,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = temp_beside(path);
    let result = create_new(&tmp)
        .and_then(|mut f| write(&mut f))
        .and_then(|()| mode.map_or(Ok(()), |m| fs::set_permissions(&tmp, fs::Permissions::from_mode(m))))
        .and_then(|()| fs::rename(&tmp, path));
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
    fn a_temp_of_a_dead_process_is_removed_and_others_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.o");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = dir.path().join(format!(".a.o.{dead}.0.1f.tmp"));
        let mine = dir.path().join(unique_name(".a.o"));
        let other_output = dir.path().join(format!(".b.o.{dead}.0.1f.tmp"));
        let alive = dir.path().join(".a.o.1.0.1f.tmp");
        for p in [&stale, &mine, &other_output, &alive] {
            fs::write(p, b"x").unwrap();
        }
        remove_dead_temps_beside(&out);
        assert!(!stale.exists(), "the dead writer's temp is gone");
        assert!(mine.exists() && other_output.exists() && alive.exists());
    }

    #[test]
    fn names_that_are_not_temps_are_never_taken_for_dead_ones() {
        assert!(!temp_owner_is_dead(".a.o.x.0.1f.tmp", ".a.o"));
        assert!(!temp_owner_is_dead(".a.o.999999999.0.1f", ".a.o"));
        assert!(!temp_owner_is_dead(".a.o.d.999999999.0.1f.tmp", ".a.o"));
    }

    #[test]
    fn unique_names_differ() {
        assert_ne!(unique_name("a"), unique_name("a"));
    }
}
