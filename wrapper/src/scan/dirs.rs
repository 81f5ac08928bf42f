//! Existence checks through folder listings. Each folder is listed once
//! per process (into a sorted buffer of names, [`Names`]) and the listing is reused
//! while the folder's stamp (device, inode, mtime, ctime) is unchanged: a
//! header generated mid-build changes its folder's mtime, so a stale
//! "absent" is never believed. A listing taken within [`RACY`] of the
//! folder's last change is not trusted (the change could have landed in
//! the same clock tick as the listing, leaving the stamp unchanged), as
//! git does for its index.
//!
//! Within one scan ([`Dirs`]) each folder is validated once: the scan is a
//! snapshot, and a folder is then touched by many names.

use std::fs;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime};

use super::fxhash::FxMap;
use super::names::Names;

/// How recent a change must be for a listing (or a file's facts) taken
/// after it to be re-read anyway.
pub(crate) const RACY: Duration = Duration::from_secs(2);

/// What identifies a folder's (or file's) state without reading it.
pub(crate) type Stamp = crate::stamp::FileStamp;

#[derive(Debug)]
struct Listing {
    stamp: Stamp,
    trusted: bool,
    names: Names,
}

static LISTINGS: LazyLock<Mutex<FxMap<String, Arc<Listing>>>> = LazyLock::new(Mutex::default);

/// The current listing of `dir`, or `None` if it is not a readable folder.
fn listing(dir: &str) -> Option<Arc<Listing>> {
    let meta = crate::snapshot::metadata(dir).filter(|m| m.is_dir())?;
    let stamp = Stamp::of_meta(&meta);
    if let Some(l) = LISTINGS.lock().unwrap().get(dir) {
        if l.trusted && l.stamp == stamp {
            return Some(l.clone());
        }
    }
    // Listed without the lock: another thread may list it too, harmlessly.
    let read_at = SystemTime::now();
    let names = Names::read(dir)?;
    let l = Arc::new(Listing { stamp, trusted: !stamp.is_racy(read_at, RACY), names });
    LISTINGS.lock().unwrap().insert(dir.to_string(), l.clone());
    Some(l)
}

/// Whether `dir`'s listing names `name` (`None` if `dir` is not a
/// readable folder): a lookup in a set, no system call, once the folder
/// is listed (the scan lists the folders it searches).
pub(crate) fn lists(dir: &str, name: &str) -> Option<bool> {
    Some(listing(dir)?.names.contains(name))
}

/// One scan's view of the folders: each validated at most once.
#[derive(Debug, Default)]
pub(crate) struct Dirs {
    seen: FxMap<String, Option<Arc<Listing>>>,
}

impl Dirs {
    fn listing(&mut self, dir: &str) -> Option<Arc<Listing>> {
        if let Some(l) = self.seen.get(dir) {
            return l.clone();
        }
        let l = listing(dir);
        self.seen.insert(dir.to_string(), l.clone());
        l
    }

    /// The metadata of `base/rel` (links followed) if it is a regular
    /// file; `rel` is a plain relative path (no `.`, `..` or empty parts).
    /// Each component is looked up in its parent's listing first, so a
    /// missing name costs no system call once the folders are known.
    pub(crate) fn regular_file(&mut self, base: &str, rel: &str) -> Option<Arc<fs::Metadata>> {
        let (first, rest) = match rel.split_once('/') {
            Some((f, r)) => (f, Some(r)),
            None => (rel, None),
        };
        if !self.listing(base)?.names.contains(first) {
            return None;
        }
        // Only a name that is there costs an allocation.
        let mut path = if base == "/" { format!("/{first}") } else { format!("{base}/{first}") };
        let mut rest = rest;
        while let Some(r) = rest {
            let (part, more) = match r.split_once('/') {
                Some((p, m)) => (p, Some(m)),
                None => (r, None),
            };
            if !self.listing(&path)?.names.contains(part) {
                return None;
            }
            path.push('/');
            path.push_str(part);
            rest = more;
        }
        crate::snapshot::metadata(&path).filter(|m| m.is_file())
    }
}

/// Forgets every listing (tests: a fresh process).
#[cfg(test)]
pub(crate) fn forget() {
    LISTINGS.lock().unwrap().clear();
}
