//! Counters for `gg stats`: one small JSON file in the store, updated in
//! place under an exclusive lock (no new file per call: creating files is
//! the slowest thing on many disks, and every compile updates the stats).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;

use anyhow::{Context, Result};
use gg_core::Store;
use serde::{Deserialize, Serialize};

/// What `gg stats` shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stats {
    /// gg-cc invocations.
    pub calls: u64,
    /// Answered from a direct-mode manifest without running the compiler.
    pub direct_hits: u64,
    /// Answered after a dependency scan, without compiling.
    pub preprocessed_hits: u64,
    /// Compiled (and recorded for next time).
    pub misses: u64,
    /// Compiled but not recorded (e.g. `__DATE__`), by reason.
    pub uncacheable: BTreeMap<String, u64>,
    /// Run as plain compiler calls, by reason.
    pub local: BTreeMap<String, u64>,
    /// Bytes of results stored.
    pub bytes_stored: u64,
    /// Compiles whose inputs the include scanner left to the
    /// preprocessor, by reason.
    pub scan_fallbacks: BTreeMap<String, u64>,
    /// Files the scanner missed (`GG_VERIFY_SCAN=1` only).
    pub scan_misses: u64,
    /// The shared cache: lookups it answered, lookups it could not, calls
    /// that failed or read a damaged entry, entries written to it.
    pub remote_hits: u64,
    pub remote_misses: u64,
    pub remote_errors: u64,
    pub remote_writes: u64,
}

/// One call's contribution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    DirectHit,
    PreprocessedHit,
    Miss {
        bytes: u64,
    },
    Uncacheable(String),
    Local(String),
    /// Not a call of its own: the scanner fell back, for this reason.
    ScanFallback(String),
    /// Not a call of its own: the verifier caught a scanner miss.
    ScanMissed,
    /// Not a call of its own: what a process did with the shared cache.
    Remote {
        hits: u64,
        misses: u64,
        errors: u64,
        writes: u64,
    },
}

fn file(store: &Store) -> Result<File> {
    let path = store.root().join("stats.json");
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open `{}`", path.display()))
}

fn locked<T>(store: &Store, f: impl FnOnce(&mut Stats) -> T, write: bool) -> Result<T> {
    let mut file = file(store)?;
    // SAFETY: flock on a descriptor we own; released when the file closes.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(std::io::Error::last_os_error()).context("cannot lock the stats file");
    }
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    // A damaged file (a crash mid-write) starts the counters afresh.
    let mut stats: Stats = serde_json::from_str(&text).unwrap_or_default();
    let out = f(&mut stats);
    if write {
        let bytes = serde_json::to_vec(&stats)?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&bytes)?;
        file.set_len(bytes.len() as u64)?;
    }
    Ok(out)
}

/// Adds one call's event.
pub fn record(store: &Store, event: &Event) -> Result<()> {
    locked(
        store,
        |s| {
            if !matches!(event, Event::ScanFallback(_) | Event::ScanMissed | Event::Remote { .. }) {
                s.calls += 1;
            }
            match event {
                Event::DirectHit => s.direct_hits += 1,
                Event::PreprocessedHit => s.preprocessed_hits += 1,
                Event::Miss { bytes } => {
                    s.misses += 1;
                    s.bytes_stored += bytes;
                }
                Event::Uncacheable(why) => *s.uncacheable.entry(why.clone()).or_default() += 1,
                Event::Local(why) => *s.local.entry(why.clone()).or_default() += 1,
                Event::ScanFallback(why) => *s.scan_fallbacks.entry(why.clone()).or_default() += 1,
                Event::ScanMissed => s.scan_misses += 1,
                Event::Remote { hits, misses, errors, writes } => {
                    s.remote_hits += hits;
                    s.remote_misses += misses;
                    s.remote_errors += errors;
                    s.remote_writes += writes;
                }
            }
        },
        true,
    )
}

/// Adds one call's event once the compile is done: a store that cannot
/// take the write (read-only, full) must not change the call's outcome.
pub fn note(store: &Store, event: &Event) {
    if let Err(e) = record(store, event) {
        crate::log::debug(&format!("stats not updated: {e:#}"));
    }
}

/// The current counters.
pub fn read(store: &Store) -> Result<Stats> {
    locked(store, |s| s.clone(), false)
}

/// Resets every counter.
pub fn zero(store: &Store) -> Result<()> {
    locked(store, |s| *s = Stats::default(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_add_up_across_processes_worth_of_calls() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..25 {
                        record(&store, &Event::DirectHit).unwrap();
                    }
                });
            }
        });
        record(&store, &Event::Miss { bytes: 10 }).unwrap();
        record(&store, &Event::Local("linking".into())).unwrap();
        record(&store, &Event::Local("linking".into())).unwrap();
        record(&store, &Event::ScanFallback("computed include".into())).unwrap();
        record(&store, &Event::Remote { hits: 2, misses: 1, errors: 0, writes: 3 }).unwrap();
        record(&store, &Event::Remote { hits: 1, misses: 0, errors: 1, writes: 0 }).unwrap();
        let s = read(&store).unwrap();
        assert_eq!((s.calls, s.direct_hits, s.misses, s.bytes_stored), (103, 100, 1, 10));
        assert_eq!(s.scan_fallbacks["computed include"], 1, "counted, but not as a call");
        assert_eq!(s.local["linking"], 2);
        assert_eq!((s.remote_hits, s.remote_misses, s.remote_errors, s.remote_writes), (3, 1, 1, 3), "not calls");
        zero(&store).unwrap();
        assert_eq!(read(&store).unwrap(), Stats::default());
    }
}
