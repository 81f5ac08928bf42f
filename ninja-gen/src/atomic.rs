//! Replacing a file whole: readers see the old contents or the new, never a
//! half-written file, even if the writer is killed.

use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to a temporary file beside `path` (the same folder, so
/// the rename never crosses filesystems), then renames it over `path`.
/// tempfile's `persist`: ninja-gen has no gg dependency, so it does not
/// use gg-core's `fsutil::write_atomic_with` (whose temp names let gg
/// clean up after killed writers; a log is one file rewritten in place).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    // On disk before the rename, so a crash cannot leave an empty log in place.
    file.as_file().sync_all()?;
    file.persist(path).map(drop).map_err(|e| e.error)
}
