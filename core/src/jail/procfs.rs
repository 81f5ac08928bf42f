//! What both the keeper and a run's processes need: the keeper's control
//! descriptor, and writing a user namespace's files under `/proc/self`.

use std::io::Write;
use std::os::fd::RawFd;

/// The control socket, as gg passes it to the keeper.
pub const CONTROL: RawFd = 0;

/// Writes `text` to `/proc/self/FILE` (`uid_map`, `gid_map`, `setgroups`).
pub fn write_proc(file: &str, text: &str) -> Result<(), String> {
    let path = format!("/proc/self/{file}");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot write `{text}` to {path}: {e}"))
}
