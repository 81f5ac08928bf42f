//! Keeping a store within its size (`[store] max_size`, `GG_MAX_SIZE`,
//! `gg-worker serve --max-size`), least recently used files first, as
//! ccache does.
//!
//! *Counting.* Walking a large store takes seconds, so it is not walked on
//! every call: each process counts the bytes it installs
//! ([`crate::Store::settle`]) and, once, adds them to `<root>/size` under a
//! lock. Only when that running total passes the limit is the store walked
//! ([`clean`]), its true size written back and the oldest files removed
//! until it holds at most 90% of the limit (so the next few calls do not
//! walk again). The total drifts (two processes storing the same blob both
//! count it, files overwritten count twice); every walk corrects it.
//!
//! *Recency.* A file's mtime is its last use: a blob, reduction or manifest
//! read for a hit or a thunk is touched when its mtime is older than
//! [`TOUCH_AFTER`] (once per ten minutes at most: a touch moves the ctime,
//! and a process that verified the blob hashes it again).
//!
//! *What is removed.* Files under `blobs/`, `exec/`, `reductions/`,
//! `manifests/` and `scan/`: every one of them is a cache entry whose loss
//! is a miss, never a wrong answer (a reduction whose output is gone is not
//! a hit; a manifest whose thunk has no reduction is a miss; a missing
//! input blob is stored again by the client). Never a file a running build
//! may still need: every process that uses the store holds a shared lock
//! on `<root>/running.lock`, and long-running ones (`gg ninja`, `gg force`,
//! a worker) also leave their start time in `<root>/running/`. While any
//! other holds the lock, files used since the oldest of those starts, or
//! within the last [`IN_USE`], are kept. With no one else running (the
//! end of a build), the store ends within its limit whatever the build
//! stored.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The default limit, as ccache's.
pub const DEFAULT_MAX_SIZE: u64 = 5 << 30;

/// How stale a file's mtime may get before a use touches it again.
pub const TOUCH_AFTER: Duration = Duration::from_secs(600);

/// How long a file used by a short-lived process (a gg-cc compile) is kept
/// while others run: longer than any one compile takes.
pub const IN_USE: Duration = Duration::from_secs(3600);

/// The folders whose files are cache entries.
pub const EVICTABLE: [&str; 5] = ["blobs", "exec", "reductions", "manifests", "scan"];

/// A clean walks down to this share of the limit.
const LOW_WATER: (u64, u64) = (9, 10);

/// `5G`, `512M`, `100K`, `2T` (powers of 1024, an optional `B` or `iB`
/// after the letter) or a number of bytes; `0` is no limit.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let t = t.strip_suffix("iB").or_else(|| t.strip_suffix('B')).unwrap_or(t);
    let (digits, shift) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return Err(format!("unknown unit `{c}` (K, M, G or T)")),
            };
            (&t[..i], shift)
        }
        _ => (t, 0),
    };
    let digits = digits.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err("not a size (say `5G`, `512M` or a number of bytes)".into());
    }
    let n: f64 = digits.parse().map_err(|_| "not a size (say `5G`, `512M` or a number of bytes)".to_string())?;
    let bytes = n * (1u64 << shift) as f64;
    if bytes >= u64::MAX as f64 {
        return Err("too large".into());
    }
    Ok(bytes as u64)
}

/// A size as people read it: `4.8 GiB`, `512.0 MiB`, `812 B`.
pub fn format_size(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Marks a file as used now if its mtime is older than [`TOUCH_AFTER`]
/// (`meta`: its metadata, already at hand); whether it tried. Best effort:
/// a file owned by another user of a shared store may refuse.
pub fn touch_if_stale(path: &Path, meta: &fs::Metadata) -> bool {
    let stale = meta.modified().ok().and_then(|m| m.elapsed().ok()).is_some_and(|age| age > TOUCH_AFTER);
    if stale {
        touch(path);
    }
    stale
}

/// Sets a file's mtime (and atime) to now.
pub fn touch(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else { return };
    // SAFETY: a NUL-terminated path; a null `times` means now.
    unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), std::ptr::null(), 0) };
}

/// Nanoseconds since the epoch.
fn now_ns() -> i128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
}

fn flock(file: &fs::File, how: libc::c_int) -> bool {
    // SAFETY: flock on a descriptor the caller owns.
    unsafe { libc::flock(file.as_raw_fd(), how) == 0 }
}

/// Stores this process holds `running.lock` of, with the descriptor.
static HELD: std::sync::Mutex<Vec<(PathBuf, fs::File)>> = std::sync::Mutex::new(Vec::new());

/// This process's shared hold on `<root>/running.lock`, kept until it
/// exits (or execs: the descriptor is close-on-exec). Cheap: one open and
/// one flock per process and store.
pub fn hold(root: &Path) {
    let mut held = HELD.lock().expect("held stores");
    if held.iter().any(|(r, _)| r == root) {
        return;
    }
    let Ok(file) = fs::OpenOptions::new().create(true).truncate(false).write(true).open(root.join("running.lock"))
    else {
        return;
    };
    if flock(&file, libc::LOCK_SH) {
        held.push((root.to_path_buf(), file));
    }
}

/// Whether no other process holds `running.lock`. This process's own hold
/// is on another descriptor, which would conflict: it is let go for the
/// test and taken again.
fn alone(root: &Path) -> bool {
    let held = HELD.lock().expect("held stores");
    let own = held.iter().find(|(r, _)| r == root).map(|(_, f)| f);
    if let Some(f) = own {
        flock(f, libc::LOCK_UN);
    }
    let alone = match fs::OpenOptions::new().create(true).truncate(false).write(true).open(root.join("running.lock")) {
        Ok(f) => flock(&f, libc::LOCK_EX | libc::LOCK_NB),
        Err(_) => false,
    };
    if let Some(f) = own {
        flock(f, libc::LOCK_SH);
    }
    alone
}

/// A long-running process's start, left in `<root>/running/` while it
/// runs (removed on drop; one left by a killed process is found unlocked
/// and removed by the next clean).
#[derive(Debug)]
pub struct Running {
    path: PathBuf,
    _file: fs::File,
}

/// Registers this process as running since now (and [`hold`]s the store).
pub fn running(root: &Path) -> Option<Running> {
    hold(root);
    let dir = root.join("running");
    fs::create_dir_all(&dir).ok()?;
    let path = dir.join(format!("{}.{}", std::process::id(), now_ns()));
    let file = fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).ok()?;
    flock(&file, libc::LOCK_SH).then_some(Running { path, _file: file })
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Files last used at or after this moment (nanoseconds) must stay; `None`
/// when no other process uses the store.
fn keep_since(root: &Path) -> Option<i128> {
    if alone(root) {
        return None;
    }
    let mut since = now_ns() - IN_USE.as_nanos() as i128;
    let own = format!("{}.", std::process::id());
    for e in fs::read_dir(root.join("running")).into_iter().flatten().flatten() {
        let path = e.path();
        // This process's own start: what it still needs, it touched.
        if e.file_name().to_str().is_some_and(|n| n.starts_with(&own)) {
            continue;
        }
        let Ok(f) = fs::OpenOptions::new().write(true).open(&path) else { continue };
        if flock(&f, libc::LOCK_EX | libc::LOCK_NB) {
            // Its process is gone.
            let _ = fs::remove_file(&path);
            continue;
        }
        let start = e.file_name().to_str().and_then(|n| n.split_once('.')).and_then(|(_, t)| t.parse::<i128>().ok());
        if let Some(t) = start {
            since = since.min(t - TOUCH_AFTER.as_nanos() as i128);
        }
    }
    Some(since)
}

/// Adds `bytes` (what this process stored) to the store's running total;
/// if that passes `limit` (non-zero), cleans. Errors are the caller's to
/// ignore: a store that cannot be counted is never a failed build.
pub fn account(root: &Path, bytes: u64, limit: u64, own: Option<i128>) -> io::Result<Option<Cleaned>> {
    let mut file =
        fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(root.join("size"))?;
    if !flock(&file, libc::LOCK_EX) {
        return Err(io::Error::last_os_error());
    }
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    let total = text.trim().parse::<u64>().unwrap_or(0).saturating_add(bytes);
    write_total(&mut file, total)?;
    let over = root.join(OVER);
    if limit == 0 || total <= limit {
        if bytes == 0 {
            let _ = fs::remove_file(&over);
        }
        return Ok(None);
    }
    drop(file);
    // Over, but a build still running keeps what it uses: walking again
    // on every call would not free more. Once a minute, or when alone.
    let walked = fs::metadata(&over).ok().and_then(|m| m.modified().ok()).and_then(|t| t.elapsed().ok());
    if walked.is_some_and(|age| age < REWALK_AFTER) && !alone(root) {
        return Ok(None);
    }
    let cleaned = clean(root, limit, own)?;
    if cleaned.after > limit {
        let _ = fs::write(&over, b"");
    } else {
        let _ = fs::remove_file(&over);
    }
    Ok(Some(cleaned))
}

/// Present while the store is over its limit after a clean (files in use
/// were kept): a process that stored nothing still cleans then, when it
/// is the last one running. Its mtime is the last walk.
const OVER: &str = "over-limit";

/// How often a store kept over its limit by running builds is walked.
const REWALK_AFTER: Duration = Duration::from_secs(60);

/// Whether a clean is due although this process stored nothing: the last
/// one left the store over its limit. One `stat`.
pub fn pending(root: &Path) -> bool {
    root.join(OVER).exists()
}

fn write_total(file: &mut fs::File, total: u64) -> io::Result<()> {
    let text = format!("{total}\n");
    file.seek(SeekFrom::Start(0))?;
    file.write_all(text.as_bytes())?;
    file.set_len(text.len() as u64)
}

/// The store's size as last counted (see [`account`]).
pub fn counted(root: &Path) -> u64 {
    fs::read_to_string(root.join("size")).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0)
}

/// What a clean found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// Bytes of cache entries before and after.
    pub before: u64,
    pub after: u64,
    /// Files removed.
    pub removed: u64,
    /// Files kept although old enough to go, because a running build may
    /// need them.
    pub kept_in_use: u64,
    /// Whether another process was cleaning already (nothing was done).
    pub busy: bool,
}

/// Walks the store and removes the least recently used files until it
/// holds at most 90% of `limit` (non-zero), keeping what running builds
/// may need, and files used since `own` (nanoseconds since the epoch: what
/// this process's own work in flight may still need, for a worker serving
/// several requests at once); writes the true size back to the running
/// total. One process cleans at a time; another arriving meanwhile
/// returns at once.
pub fn clean(root: &Path, limit: u64, own: Option<i128>) -> io::Result<Cleaned> {
    let lock = fs::OpenOptions::new().create(true).truncate(false).write(true).open(root.join("clean.lock"))?;
    if !flock(&lock, libc::LOCK_EX | libc::LOCK_NB) {
        return Ok(Cleaned { busy: true, ..Cleaned::default() });
    }
    let keep = match (keep_since(root), own) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let mut files = walk(root);
    let before: u64 = files.iter().map(|f| f.bytes).sum();
    let mut total = before;
    let mut report = Cleaned { before, ..Cleaned::default() };
    if limit > 0 && total > limit {
        let target = limit / LOW_WATER.1 * LOW_WATER.0;
        files.sort_by_key(|f| f.used);
        for f in &files {
            if total <= target {
                break;
            }
            if keep.is_some_and(|since| f.used >= since) {
                report.kept_in_use += 1;
                continue;
            }
            match fs::remove_file(&f.path) {
                Ok(()) => {
                    total -= f.bytes;
                    report.removed += 1;
                }
                // Gone already (another process replaced or removed it).
                Err(e) if e.kind() == io::ErrorKind::NotFound => total -= f.bytes,
                Err(_) => {}
            }
        }
    }
    report.after = total;
    let mut size =
        fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(root.join("size"))?;
    if flock(&size, libc::LOCK_EX) {
        write_total(&mut size, total)?;
    }
    Ok(report)
}

/// One cache entry on disk.
struct Entry {
    path: PathBuf,
    /// Bytes on disk (blocks), what the limit is about.
    bytes: u64,
    /// Last use: its mtime, in nanoseconds.
    used: i128,
}

/// Every file under the evictable folders (two levels: `<dir>/<shard>/<file>`).
fn walk(root: &Path) -> Vec<Entry> {
    let mut out = Vec::new();
    for dir in EVICTABLE {
        for shard in fs::read_dir(root.join(dir)).into_iter().flatten().flatten() {
            let Ok(kind) = shard.file_type() else { continue };
            let entries: Vec<fs::DirEntry> = if kind.is_dir() {
                fs::read_dir(shard.path()).into_iter().flatten().flatten().collect()
            } else {
                vec![shard]
            };
            for e in entries {
                let Ok(m) = e.metadata() else { continue };
                if !m.is_file() {
                    continue;
                }
                let used = i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec());
                out.push(Entry { path: e.path(), bytes: m.blocks() * 512, used });
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "evict_tests.rs"]
mod tests;
