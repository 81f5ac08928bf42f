//! `gg fsck`: re-hash every store entry, report the corrupt ones and move
//! them aside so that nothing reads them again.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::fsutil::ctx;
use crate::name::{Kind, Name};
use crate::store::{Reduction, Store};

/// What a check found.
#[derive(Debug, Default)]
pub struct FsckReport {
    /// Entries checked (blobs, executable copies, reductions).
    pub checked: u64,
    /// Bytes re-hashed.
    pub bytes: u64,
    /// Each corrupt entry: where it was, why, and where it was moved.
    pub corrupt: Vec<(PathBuf, String, PathBuf)>,
    /// Temp files and sandbox folders left by runs that died, removed.
    pub stale_removed: u64,
}

/// Temp files and sandboxes older than this belong to no live run.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Checks every entry of `store`; corrupt ones are moved to `corrupt/`.
pub fn fsck(store: &Store) -> io::Result<FsckReport> {
    let mut report = FsckReport::default();
    for (dir, check) in [
        ("blobs", check_blob as fn(&Path, &str) -> Result<u64, String>),
        ("exec", check_blob),
        ("reductions", check_reduction),
    ] {
        for path in entries(&store.root().join(dir))? {
            let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            report.checked += 1;
            match check(&path, &file) {
                Ok(bytes) => report.bytes += bytes,
                Err(why) => {
                    let moved = store.quarantine(&path)?;
                    report.corrupt.push((path, why, moved));
                }
            }
        }
    }
    report.stale_removed = remove_stale(&store.root().join("tmp"))? + remove_stale(&store.root().join("sandboxes"))?;
    Ok(report)
}

/// Removes entries of `dir` not modified for [`STALE_AFTER`].
fn remove_stale(dir: &Path) -> io::Result<u64> {
    let mut removed = 0;
    let now = std::time::SystemTime::now();
    for entry in fs::read_dir(dir).map_err(ctx("cannot list", dir))? {
        let entry = entry?;
        let meta = entry.metadata()?;
        let age = meta.modified().ok().and_then(|m| now.duration_since(m).ok()).unwrap_or_default();
        if age < STALE_AFTER {
            continue;
        }
        let path = entry.path();
        let gone = if meta.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
        if gone.is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Every file two levels down (`<dir>/<shard>/<entry>`), sorted.
fn entries(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let shards = match fs::read_dir(dir) {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(ctx("cannot list", dir)(e)),
    };
    for shard in shards {
        let shard = shard?.path();
        if !shard.is_dir() {
            out.push(shard);
            continue;
        }
        for entry in fs::read_dir(&shard).map_err(ctx("cannot list", &shard))? {
            out.push(entry?.path());
        }
    }
    out.sort();
    Ok(out)
}

fn check_blob(path: &Path, file: &str) -> Result<u64, String> {
    let name: Name = file.parse().map_err(|e: crate::name::NameError| e.to_string())?;
    let actual = Name::of_file(path).map_err(|e| format!("unreadable: {e}"))?;
    if actual.size() != name.size() {
        return Err(format!("size {} instead of {}", actual.size(), name.size()));
    }
    if actual.digest() != name.digest() {
        return Err("contents do not match the name".into());
    }
    if name.kind() == Kind::Thunk && !crate::store::is_canonical_thunk(&fs::read(path).map_err(|e| e.to_string())?) {
        return Err("named as a thunk but not a thunk encoding".into());
    }
    Ok(actual.size())
}

fn check_reduction(path: &Path, file: &str) -> Result<u64, String> {
    let name: Name = file.parse().map_err(|e: crate::name::NameError| e.to_string())?;
    if !name.is_thunk() {
        return Err("a reduction must be named by a thunk".into());
    }
    let bytes = fs::read(path).map_err(|e| format!("unreadable: {e}"))?;
    serde_json::from_slice::<Reduction>(&bytes).map_err(|e| format!("not a reduction record: {e}"))?;
    Ok(bytes.len() as u64)
}
