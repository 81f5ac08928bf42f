//! File stamps: what direct mode records of each input and compares on a
//! hit before trusting the file unread ([`Stat`]), and the clock they are
//! read against. Shared by the manifest and by shadowing checks.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// A file modified this recently may still be changing within the stat
/// granularity: its stat is not trusted (it will be hashed on lookup).
const TOO_NEW_NS: i128 = 2_000_000_000;

/// What a hit compares before trusting a file unread. Size and times alone
/// do not name a file: two headers written in the same tick look alike,
/// and a link retargeted or a folder renamed swaps one for the other under
/// the same path. The device and inode tell them apart; any difference
/// means the file is hashed again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    /// Nanoseconds since the epoch.
    pub mtime: i128,
    pub ctime: i128,
}

/// The stat of a file (through links), or None if it cannot be trusted or
/// read.
pub fn stat_of(path: &Path, now_ns: i128) -> Option<Stat> {
    let m = fs::metadata(path).ok()?;
    let mtime = m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128;
    let ctime = m.ctime() as i128 * 1_000_000_000 + m.ctime_nsec() as i128;
    if now_ns - mtime.max(ctime) < TOO_NEW_NS {
        return None;
    }
    Some(Stat { dev: m.dev(), ino: m.ino(), size: m.len(), mtime, ctime })
}

/// Whether `path` was modified (or its inode changed) at or after `since`
/// (nanoseconds since the epoch).
pub fn changed_since(path: &Path, since: i128) -> bool {
    let Ok(m) = fs::metadata(path) else { return true };
    let mtime = m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128;
    let ctime = m.ctime() as i128 * 1_000_000_000 + m.ctime_nsec() as i128;
    mtime.max(ctime) >= since
}

/// Nanoseconds since the epoch.
pub fn now_ns() -> i128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
}
