//! Where each header name was found, kept for the round (see
//! [`crate::snapshot`]): compiles sharing their search folders ask the
//! same questions (`<vector>` from the default folders, `"util.h"` beside
//! the same includer), and within a round the answer cannot change, so
//! each is worked out once and every later scan takes it with one lookup.
//!
//! A question is the search folders (interned as a number), the folder
//! searched first (the includer's, for a quoted name) and the name.

use std::fs;
use std::sync::{Arc, LazyLock, Mutex};

use super::fxhash::FxMap;
use crate::snapshot::RoundMemo;

/// The regular files a name was found as, in search order.
pub(crate) type Places = Arc<[(Arc<str>, Arc<fs::Metadata>)]>;

static CHAINS: LazyLock<Mutex<FxMap<Vec<String>, u64>>> = LazyLock::new(Mutex::default);
static FOUND: LazyLock<RoundMemo<Places>> = LazyLock::new(RoundMemo::default);

/// The one `Arc` for `path` (see [`crate::interned`]): each found path is
/// the same `Arc` wherever it was found, so a walk's sets can be keyed by
/// address (see `walk`).
pub(crate) fn intern(path: &str) -> Arc<str> {
    crate::interned::intern(path)
}

/// A number for this list of search folders, the same for every caller in
/// the process that has the same list.
pub(crate) fn chain_id(folders: &[String]) -> u64 {
    let mut chains = CHAINS.lock().expect("chains");
    let next = chains.len() as u64;
    *chains.entry(folders.to_vec()).or_insert(next)
}

/// The answer to `key` found in this round, if any.
pub(crate) fn get(key: &str) -> Option<Places> {
    FOUND.get(key)
}

/// Keeps the answer to `key` for the rest of the round.
pub(crate) fn put(key: &str, places: Places) {
    FOUND.put(key, places);
}
