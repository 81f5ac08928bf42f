//! The file system as one round of compiles sees it: each path is
//! `stat`ed once per round, not once per compile and use. `gg ninja`
//! prepares a round's compiles together and nothing it runs writes a
//! header meanwhile (its local commands run between rounds), so a round
//! starts with [`begin`] and every lookup within it reuses the first
//! answer. A process that never calls [`begin`] (gg-cc: one compile) has
//! one round.
//!
//! Only the scanner's, the hashing's and the shadow checks' existence and
//! stamp questions go through here. Whether a file changed *while a
//! compiler ran* is always asked of the file system itself
//! ([`crate::stamp::changed_since`]), and what is stored is hashed from
//! the bytes read, so a file edited during a round is at worst seen as it
//! was when the round began, as Ninja, which stats once per build, sees it.

use std::fs;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use crate::scan::fxhash::FxMap;

/// Shards of the path map: `-j` threads look paths up at once.
const SHARDS: usize = 16;

type Entry = (u64, Option<Arc<fs::Metadata>>);

/// Paths looked at, each with the round it was looked at in.
#[derive(Default)]
struct Snapshot {
    round: AtomicU64,
    seen: [Mutex<FxMap<String, Entry>>; SHARDS],
}

static PROCESS: LazyLock<Snapshot> = LazyLock::new(Snapshot::default);

impl Snapshot {
    fn begin(&self) {
        self.round.fetch_add(1, Ordering::SeqCst);
    }

    fn metadata(&self, path: &str) -> Option<Arc<fs::Metadata>> {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let round = self.round.load(Ordering::SeqCst);
        let h = BuildHasherDefault::<crate::scan::fxhash::Fx>::default().hash_one(path);
        let map = &self.seen[(h as usize) % SHARDS];
        if let Some((r, m)) = map.lock().expect("snapshot").get(path) {
            if *r == round {
                return m.clone();
            }
        }
        // Looked at without the lock: two threads may both stat it, harmlessly.
        let m = fs::metadata(path).ok().map(Arc::new);
        map.lock().expect("snapshot").insert(path.to_string(), (round, m.clone()));
        m
    }
}

/// Starts a new round: every path is looked at again on its next use.
pub fn begin() {
    PROCESS.begin();
}

/// The current round's number (memos of what was found in the file
/// system keep it, and are believed only within that round).
pub fn round() -> u64 {
    PROCESS.round.load(Ordering::SeqCst)
}

/// The metadata of what `path` leads to (links followed) as this round
/// first saw it; `None` if nothing is there.
pub fn metadata(path: &str) -> Option<Arc<fs::Metadata>> {
    PROCESS.metadata(path)
}

/// Answers worked out from the file system, believed within the round
/// they were worked out in (keyed by text; sharded, as `-j` threads ask
/// at once).
pub(crate) struct RoundMemo<V> {
    shards: [Mutex<FxMap<String, (u64, V)>>; SHARDS],
}

impl<V: Clone> Default for RoundMemo<V> {
    fn default() -> Self {
        RoundMemo { shards: Default::default() }
    }
}

impl<V: Clone> RoundMemo<V> {
    fn shard(&self, key: &str) -> &Mutex<FxMap<String, (u64, V)>> {
        use std::hash::{BuildHasher, BuildHasherDefault};
        &self.shards[(BuildHasherDefault::<crate::scan::fxhash::Fx>::default().hash_one(key) as usize) % SHARDS]
    }

    /// The answer to `key` worked out in this round, if any.
    pub(crate) fn get(&self, key: &str) -> Option<V> {
        let round = round();
        match self.shard(key).lock().expect("round memo").get(key) {
            Some((r, v)) if *r == round => Some(v.clone()),
            _ => None,
        }
    }

    /// Keeps the answer to `key` for the rest of the round.
    pub(crate) fn put(&self, key: &str, value: V) {
        let round = round();
        self.shard(key).lock().expect("round memo").insert(key.to_string(), (round, value));
    }
}

/// Answers keyed by something cheaper than text (an interned path's
/// address, with a number), believed within the round they were worked
/// out in: the per-file lookups of a round's thousands of compiles.
pub(crate) struct RoundMap<K, V> {
    shards: [Mutex<FxMap<K, (u64, V)>>; SHARDS],
}

impl<K, V> Default for RoundMap<K, V> {
    fn default() -> Self {
        RoundMap { shards: Default::default() }
    }
}

impl<K: std::hash::Hash + Eq + Copy, V: Clone> RoundMap<K, V> {
    fn shard(&self, key: K) -> &Mutex<FxMap<K, (u64, V)>> {
        use std::hash::{BuildHasher, BuildHasherDefault};
        // Addresses are multiples of 8 or 16: the hash, not the key, picks.
        let h = BuildHasherDefault::<crate::scan::fxhash::Fx>::default().hash_one(key);
        &self.shards[(h as usize >> 7) % SHARDS]
    }

    pub(crate) fn get(&self, key: K) -> Option<V> {
        let round = round();
        match self.shard(key).lock().expect("round map").get(&key) {
            Some((r, v)) if *r == round => Some(v.clone()),
            _ => None,
        }
    }

    pub(crate) fn put(&self, key: K, value: V) {
        let round = round();
        self.shard(key).lock().expect("round map").insert(key, (round, value));
    }
}

/// Whether `path` leads to anything.
pub fn exists(path: &str) -> bool {
    metadata(path).is_some()
}

/// Whether `path` leads to a folder.
pub fn is_dir(path: &str) -> bool {
    metadata(path).is_some_and(|m| m.is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_answers_from_its_first_look_and_the_next_round_looks_again() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("h.h").to_string_lossy().into_owned();
        // Its own snapshot: other tests start rounds of the process's.
        let snap = Snapshot::default();
        assert!(snap.metadata(&f).is_none());
        std::fs::write(&f, "x").unwrap();
        assert!(snap.metadata(&f).is_none(), "within a round the first answer stands");
        snap.begin();
        assert_eq!(snap.metadata(&f).unwrap().len(), 1);
        assert!(snap.metadata(&dir.path().to_string_lossy()).unwrap().is_dir());
    }
}
