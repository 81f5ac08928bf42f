//! Whether the store can take this compile's writes. A miss writes its
//! dependency list into the store's `tmp/` while the compiler runs, then
//! the object and the records: a store that is read-only or full would
//! make the compiler itself fail, so such a store means a plain compile.

use std::path::Path;

use gg_core::Store;

/// Less free space than this under the store counts as full: a depfile,
/// an object and a manifest entry would not fit.
const MIN_FREE: u64 = 1 << 20;

/// `Err(why)` when the store cannot take a miss's writes.
pub fn check(store: &Store) -> Result<(), String> {
    let tmp = store.root().join("tmp");
    match free_bytes(&tmp) {
        Ok(free) if free < MIN_FREE => return Err(format!("{} KiB free", free / 1024)),
        Ok(_) => {}
        Err(e) => return Err(e.to_string()),
    }
    // SAFETY: a NUL-terminated path; access only reads it.
    let path = std::ffi::CString::new(tmp.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    if unsafe { libc::access(path.as_ptr(), libc::W_OK) } != 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    Ok(())
}

/// The one line gg-cc prints before compiling without the store.
pub fn warn(store: &Store, why: &str) {
    eprintln!(
        "gg-cc: warning: cannot write to the store at `{}` ({why}); compiling without it",
        store.root().display()
    );
}

/// Bytes an unprivileged process may still write under `dir`.
fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    let path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())?;
    // SAFETY: zeroed `statvfs` is a valid out-parameter.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a buffer of the right type.
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_store_on_an_ordinary_disk_can_take_writes() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::open(d.path()).unwrap();
        assert_eq!(check(&store), Ok(()));
    }

    #[test]
    fn a_store_whose_tmp_folder_is_gone_cannot() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::open(d.path()).unwrap();
        std::fs::remove_dir(d.path().join("tmp")).unwrap();
        assert!(check(&store).is_err());
    }
}
