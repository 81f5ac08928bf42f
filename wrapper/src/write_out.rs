//! Writing a compile's results out of the store, as the compiler would
//! have left them: the depfile first, then the object (so a failure leaves
//! no object that looks up to date), with the compiler's file mode. The
//! one way gg-cc's hits, its remote misses and gg ninja's compiles write.

use std::path::Path;

use anyhow::{Context, Result};
use gg_core::fsutil;

/// Writes the depfile `depfile` (if any), then copies the stored object
/// `blob` to `out`.
pub fn write_out(blob: &Path, out: &Path, depfile: Option<(&Path, &[u8])>) -> Result<()> {
    if let Some((path, bytes)) = depfile {
        write_depfile(path, bytes)?;
    }
    write_object(blob, out).with_context(|| format!("cannot write `{}`", out.display()))
}

/// Writes a depfile atomically.
pub fn write_depfile(path: &Path, bytes: &[u8]) -> Result<()> {
    fsutil::write_atomic(path, bytes).with_context(|| format!("cannot write `{}`", path.display()))
}

/// Copies a stored object to `out` atomically, with the mode a compiler
/// would give it (0666 less the umask), not the store's read-only one.
fn write_object(blob: &Path, out: &Path) -> std::io::Result<()> {
    fsutil::copy_atomic_with_mode(blob, out, 0o666 & !umask())
}

/// The process's umask, read once: reading it means setting it, and gg
/// ninja writes objects from several threads, which must not see each
/// other's temporary mask.
fn umask() -> u32 {
    static MASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *MASK.get_or_init(|| {
        // SAFETY: umask only swaps a process-wide mask; the OnceLock lets
        // one thread at a time in, and nothing else in gg sets it.
        let m = unsafe {
            let m = libc::umask(0o022);
            libc::umask(m);
            m
        };
        m as u32
    })
}
