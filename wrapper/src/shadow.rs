//! Shadowing: a new header created in a folder searched before the one a
//! recorded header was found in would be found instead, yet no recorded
//! file changed. For each header under a search folder, the places it
//! would appear in are the same name under every folder searched earlier.
//!
//! Checking each place on every hit would cost a `stat` per header and
//! folder, so the manifest keeps the stat of the folders those places lie
//! in (`sys/` of an earlier folder for `sys/types.h`): a folder whose stat
//! is unchanged gained no file. Only in a folder that changed (or is too
//! new to trust, or appeared) are the places themselves looked at. Places
//! that already existed when recorded (a header reached by
//! `#include_next`, or found beside its includer) never count as new.
//!
//! The folders are a superset in search order: every `-iquote`, `-I`,
//! `CPATH`, `-isystem`, `C_INCLUDE_PATH`-style, default and `-idirafter`
//! folder. A header found beside the file that includes it is searched
//! there first, and that folder is not known from a depfile: a new header
//! shadowing it from there is not seen.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Serialize};

use crate::interned::Interned;
use crate::scan::fxhash::{FxMap, FxSet};
use crate::snapshot::{self, RoundMap};
use crate::stamp::{changed_since, stat_of_meta, Stat};

/// What a hit needs to tell a shadowing header appeared.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shadows {
    /// The search folders, in order (absolute, resolved lexically).
    pub chain: Vec<String>,
    /// The folders a shadowing header would appear in that existed, with
    /// their stat when it could be trusted; absent ones are not listed.
    pub dirs: Vec<(String, Option<Stat>)>,
    /// Places that already held a file when recorded.
    pub present: Vec<String>,
}

impl Shadows {
    pub fn is_empty(&self) -> bool {
        self.chain.is_empty()
    }

    /// Records, for the headers at `files` (absolute), the folders of the
    /// places a header shadowing them would appear in. A folder changed at
    /// or after `started` (when the compiler started here, if it did) is
    /// not trusted.
    pub fn record(chain: Vec<String>, files: &[Interned], started: Option<i128>, now: i128) -> Shadows {
        let mut dirs: Vec<(String, Option<Stat>)> = Vec::new();
        let mut present = Vec::new();
        let id = crate::scan::chain_id(&chain);
        // Held for the maps below to borrow from: hundreds of headers per
        // compile, and the same few folders for most of them.
        let all: Vec<Arc<[Place]>> = files.iter().map(|file| places_of(id, &chain, file)).collect();
        // Folders by address (interned): thousands of places per compile
        // lie in a few dozen folders.
        let mut seen_dirs: FxMap<usize, bool> = FxMap::default();
        let mut seen_present: FxSet<&str> = FxSet::default();
        for p in all.iter().flat_map(|places| places.iter()) {
            let exists_dir = *seen_dirs.entry(Arc::as_ptr(&p.dir) as *const u8 as usize).or_insert_with(|| {
                if let Some(meta) = &p.dir_meta {
                    // Whether it changed while the compiler ran is asked
                    // of the folder itself, not of the round.
                    let changed = started.is_some_and(|t| changed_since(Path::new(&*p.dir), t));
                    dirs.push((p.dir.to_string(), stat_of_meta(meta, now).filter(|_| !changed)));
                }
                p.dir_meta.is_some()
            });
            if let Some(place) = p.present.as_ref().filter(|_| exists_dir) {
                if seen_present.insert(place.as_str()) {
                    present.push(place.clone());
                }
            }
        }
        Shadows { chain, dirs, present }
    }

    /// The first place where a header that would shadow one of `files`
    /// appeared since recording, if any.
    pub fn appeared(&self, files: &[&str], now: i128) -> Option<String> {
        if self.chain.is_empty() {
            return None;
        }
        let recorded: HashMap<&str, Option<Stat>> = self.dirs.iter().map(|(d, s)| (d.as_str(), *s)).collect();
        // Per (earlier folder, subfolder of the name): whether it may have
        // gained a file. Keys borrow from `files`: a hit allocates nothing
        // per header, only per folder looked at.
        let mut changed: HashMap<(usize, &str), bool> = HashMap::new();
        for file in files {
            for (k, rel) in found_under(&self.chain, file) {
                let sub = rel.rsplit_once('/').map_or("", |(d, _)| d);
                for j in 0..k {
                    let may_have_changed = *changed.entry((j, sub)).or_insert_with(|| {
                        let dir = join(&self.chain[j], sub);
                        match recorded.get(dir.as_str()) {
                            Some(Some(then)) => {
                                snapshot::metadata(&dir).and_then(|m| stat_of_meta(&m, now)) != Some(*then)
                            }
                            Some(None) => true,
                            None => snapshot::exists(&dir),
                        }
                    });
                    if may_have_changed {
                        let place = join(&self.chain[j], rel);
                        if !self.present.contains(&place) && snapshot::exists(&place) {
                            return Some(place);
                        }
                    }
                }
            }
        }
        None
    }
}

/// Each (index of a search folder `file` lies under, the rest of its path).
fn found_under<'a>(chain: &'a [String], file: &'a str) -> impl Iterator<Item = (usize, &'a str)> + 'a {
    chain.iter().enumerate().filter_map(move |(k, d)| Some((k, file.strip_prefix(d.as_str())?.strip_prefix('/')?)))
}

/// `dir/rel` (both resolved already), or `dir` for an empty `rel`.
fn join(dir: &str, rel: &str) -> String {
    match (dir, rel) {
        (d, "") => d.to_string(),
        ("/", r) => format!("/{r}"),
        (d, r) => format!("{d}/{r}"),
    }
}

/// A place a header shadowing one read would appear at, as the round
/// sees it.
struct Place {
    /// Interned (see `crate::scan::intern`).
    dir: Arc<str>,
    /// The place, if something is there already.
    present: Option<String>,
    /// The folder's metadata, if it is one.
    dir_meta: Option<Arc<std::fs::Metadata>>,
}

/// By search folders' number and the header's interned address.
static PLACES: LazyLock<Places> = LazyLock::new(RoundMap::default);
type Places = RoundMap<(u64, usize), Arc<[Place]>>;

/// For a header at `file`: each place where the same name would be found
/// first, for every search folder it lies under. Worked out once per
/// round and chain (`id`: see [`crate::scan::chain_id`]), as every
/// compile of a round records the same headers.
fn places_of(id: u64, chain: &[String], file: &Interned) -> Arc<[Place]> {
    let key = (id, file.addr());
    if let Some(p) = PLACES.get(key) {
        return p;
    }
    let places: Arc<[Place]> = found_under(chain, file)
        .flat_map(|(k, rel)| {
            let sub = rel.rsplit_once('/').map_or("", |(d, _)| d);
            let name = rel.rsplit('/').next().unwrap_or(rel);
            chain[..k].iter().map(move |earlier| {
                let dir = join(earlier, sub);
                let dir_meta = snapshot::metadata(&dir).filter(|m| m.is_dir());
                // The folder's listing first (the scan listed most of
                // these folders already): only a name it holds costs a
                // `stat`, and only a place something is at a path. A
                // compile's hundreds of headers under a few earlier
                // folders were a `stat` each, nearly all of nothing.
                let listed = dir_meta.is_some() && crate::scan::dirs::lists(&dir, name) != Some(false);
                let present = listed.then(|| join(earlier, rel)).filter(|place| snapshot::exists(place));
                Place { dir: crate::scan::intern(&dir), present, dir_meta }
            })
        })
        .collect();
    PLACES.put(key, places.clone());
    places
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// Sets a folder's mtime a minute back, so that a file created in it
    /// changes its stat even within one clock tick.
    fn age(dir: &str) {
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        fs::File::open(dir).unwrap().set_modified(old).unwrap();
    }

    #[test]
    fn a_header_created_in_a_folder_searched_earlier_is_seen_and_nothing_else_is() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_string_lossy().into_owned();
        let (first, second) = (format!("{root}/gen"), format!("{root}/include"));
        fs::create_dir_all(format!("{first}/sys")).unwrap();
        fs::create_dir_all(format!("{second}/sys")).unwrap();
        let found = format!("{second}/sys/config.h");
        fs::write(&found, "").unwrap();
        age(&format!("{first}/sys"));
        // Recorded as if a minute ago, so the folders' stats are trusted.
        let later = crate::stamp::now_ns() + 60_000_000_000;
        let shadows = Shadows::record(vec![first.clone(), second], &[Interned::new(&found)], Some(later), later);
        crate::snapshot::begin();
        assert_eq!(shadows.appeared(&[&found], later), None);
        fs::write(format!("{first}/sys/other.h"), "").unwrap();
        crate::snapshot::begin();
        assert_eq!(shadows.appeared(&[&found], later), None, "another name in the folder shadows nothing");
        fs::write(format!("{first}/sys/config.h"), "").unwrap();
        crate::snapshot::begin();
        assert_eq!(shadows.appeared(&[&found], later), Some(format!("{first}/sys/config.h")));
    }

    #[test]
    fn a_folder_that_did_not_exist_is_looked_into_once_it_does() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_string_lossy().into_owned();
        let (first, second) = (format!("{root}/gen"), format!("{root}/include"));
        fs::create_dir_all(&second).unwrap();
        let found = format!("{second}/config.h");
        fs::write(&found, "").unwrap();
        let later = crate::stamp::now_ns() + 60_000_000_000;
        let shadows = Shadows::record(vec![first.clone(), second], &[Interned::new(&found)], Some(later), later);
        assert!(shadows.dirs.is_empty(), "absent folders are not listed: {shadows:?}");
        fs::create_dir_all(&first).unwrap();
        age(&first);
        crate::snapshot::begin();
        assert_eq!(shadows.appeared(&[&found], later), None);
        fs::write(format!("{first}/config.h"), "").unwrap();
        crate::snapshot::begin();
        assert_eq!(shadows.appeared(&[&found], later), Some(format!("{first}/config.h")));
    }

    #[test]
    fn a_place_that_already_held_a_file_is_not_news() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_string_lossy().into_owned();
        let (first, second) = (format!("{root}/a"), format!("{root}/b"));
        for d in [&first, &second] {
            fs::create_dir_all(d).unwrap();
            fs::write(format!("{d}/limits.h"), "").unwrap();
        }
        // b/limits.h reached by `#include_next` from a/limits.h.
        let files = [format!("{first}/limits.h"), format!("{second}/limits.h")];
        let interned: Vec<Interned> = files.iter().map(|f| Interned::new(f)).collect();
        let files: Vec<&str> = files.iter().map(String::as_str).collect();
        let shadows = Shadows::record(
            vec![first.clone(), second],
            &interned,
            Some(crate::stamp::now_ns()),
            crate::stamp::now_ns(),
        );
        assert_eq!(shadows.present, [format!("{first}/limits.h")]);
        crate::snapshot::begin();
        assert_eq!(shadows.appeared(&files, crate::stamp::now_ns()), None);
    }
}
