//! Direct mode: from (compiler, arguments, working directory, environment,
//! source) to the headers the compile read, to the thunk it was. A hit
//! needs a few `stat`s, no preprocessing: each header's recorded device,
//! inode, size, mtime and ctime are compared first, and only a header
//! whose stat differs in any of them is hashed again (so `touch` costs a
//! hash, not a miss, and a header swapped for another file with the same
//! size and times is still told apart).
//!
//! Manifests live at `<store>/manifests/<c>/<key>`, newest entry first, at
//! most `MAX_ENTRIES` (16) entries per key (one per header set seen). They
//! are binary (postcard, names as raw bytes) behind a magic line and
//! followed by a checksum: a hit reads one per compile, and as JSON (33 KB
//! for a compile of a hundred headers) reading it was most of a warm
//! rebuild's time. A file that is damaged, foreign or of another version
//! reads as no manifest: a miss, never a wrong entry.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use gg_core::{fsutil, Name, Store};

use crate::shadow::Shadows;
pub use crate::stamp::{changed_since, now_ns, stat_of, Stat};
use serde::{Deserialize, Serialize};

/// Bump when the key's inputs or the manifest's meaning change.
pub const MANIFEST_VERSION: u32 = 4;
/// The first bytes of every manifest file.
const MAGIC: &[u8] = b"gg-manifest 6\n";
/// Bytes of checksum (CRC-32) after the body: it catches a torn or damaged
/// file, as blake3 did at ten times the cost (a compile's entry is some
/// 100 KB, written once per compile sent). Not a defence against a forger,
/// which an unkeyed hash was not either: an entry only names a thunk, whose
/// reduction is what answers.
const SUM: usize = 4;
const MAX_ENTRIES: usize = 16;
/// One input as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Interned: a round of `gg ninja` holds the entries of every compile
    /// it sent until their answers come, hundreds of paths each, most of
    /// them the same headers.
    pub path: crate::interned::Interned,
    pub hash: Name,
    /// The file's stat when hashed, or None when not trusted.
    pub stat: Option<Stat>,
}

/// One compile seen for this key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub files: Vec<FileEntry>,
    /// The compile thunk; its reduction holds the object and stderr.
    pub thunk: Name,
    /// The user's depfile as the compiler wrote it, if one was asked for.
    pub depfile: Option<Name>,
    /// Where the inputs' `__has_include` probes could find a header, and
    /// whether it was there (see `has_include`): a hit needs each the same.
    pub probes: Vec<(String, bool)>,
    /// Where a header shadowing one of `files` would appear (see `shadow`).
    pub shadows: Shadows,
    /// In the shared cache only: the thunk's reduction and small blobs,
    /// so a remote hit costs two requests (see `gg_core::shared::Carried`).
    pub carried: Option<gg_core::shared::Carried>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    entries: Vec<Entry>,
}

fn path_for(store: &Store, key: &str) -> PathBuf {
    store.root().join("manifests").join(&key[..1]).join(key)
}

fn load(store: &Store, key: &str) -> Manifest {
    fs::read(path_for(store, key)).ok().and_then(|b| decode(&b)).unwrap_or_default()
}

/// A manifest file's bytes: magic, postcard body, checksum of the body.
fn encode(manifest: &Manifest) -> Vec<u8> {
    // Sized for its entries up front: growing it copied the whole body
    // again at each doubling (a compile's entry names hundreds of files).
    let files: usize = manifest.entries.iter().map(|e| e.files.len()).sum();
    let mut out = Vec::with_capacity(MAGIC.len() + files * 168 + 4096);
    out.extend_from_slice(MAGIC);
    let body = postcard::to_extend(manifest, out).expect("manifests serialise");
    let sum = crc32fast::hash(&body[MAGIC.len()..]).to_le_bytes();
    let mut out = body;
    out.extend_from_slice(&sum);
    out
}

/// The manifest in `bytes`, or None if they are not a whole one.
fn decode(bytes: &[u8]) -> Option<Manifest> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let (body, sum) = rest.split_at_checked(rest.len().checked_sub(SUM)?)?;
    if crc32fast::hash(body).to_le_bytes() != *sum {
        return None;
    }
    postcard::from_bytes(body).ok()
}

/// Files this process already found as recorded (path -> hash), when
/// [`remember_checks`] turned that on: a build looks up hundreds of
/// compiles that share most of their headers.
static CHECKED: Mutex<Option<HashMap<String, Name>>> = Mutex::new(None);

fn checked(path: &str) -> Option<Name> {
    CHECKED.lock().ok()?.as_ref()?.get(path).copied()
}

fn remember(path: &str, hash: Name) {
    if let Ok(mut c) = CHECKED.lock() {
        if let Some(map) = c.as_mut() {
            map.insert(path.to_string(), hash);
        }
    }
}

/// From now on, [`lookup`] trusts a file it already found as recorded
/// without looking at it again, until [`forget_checked`]: for a caller
/// that knows no input changes meanwhile (`gg ninja` between the steps it
/// runs itself).
pub fn remember_checks() {
    if let Ok(mut c) = CHECKED.lock() {
        c.get_or_insert_with(HashMap::new);
    }
}

/// Forgets what [`lookup`] found: call it when files may have changed
/// since (a build step ran that could write headers).
pub fn forget_checked() {
    if let Ok(mut c) = CHECKED.lock() {
        if let Some(map) = c.as_mut() {
            map.clear();
        }
    }
}

/// Why a lookup missed, for `GG_LOG=debug`.
#[derive(Debug, PartialEq, Eq)]
pub enum Miss {
    NoManifest,
    /// Every entry had a changed input; the first difference of the newest.
    Changed(String),
}

/// Where the shared cache keeps a compile's entry (see `Job::travel`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Travel {
    /// The shared manifest's key.
    pub key: String,
    /// Paths under this folder travel relative to it ([`basedir::MARK`]).
    pub base: Option<String>,
    /// The key to use instead when the entry turns out to depend on the
    /// base folder's path (its own key).
    pub absolute_key: String,
}

/// The entry whose inputs all still match, or why none does: this
/// store's, else the shared cache's (`travel` says where; asked only
/// then), with where it came from.
pub fn lookup(store: &Store, key: &str, travel: &dyn Fn() -> Travel) -> Result<(Entry, Origin), Miss> {
    lookup_at(store, key, travel, now_ns())
}

/// Where a direct-mode entry was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Here,
    Shared,
}

impl Origin {
    /// The answer's source, for `gg_core::tally`.
    pub fn source(self) -> gg_core::tally::Source {
        match self {
            Origin::Here => gg_core::tally::Source::LocalHit,
            Origin::Shared => gg_core::tally::Source::RemoteHit,
        }
    }
}

/// [`lookup`] as if at `now` (nanoseconds since the epoch), which decides
/// whose stat is too new to trust.
fn lookup_at(store: &Store, key: &str, travel: &dyn Fn() -> Travel, now: i128) -> Result<(Entry, Origin), Miss> {
    let manifest = load(store, key);
    let mut first_miss = None;
    for entry in &manifest.entries {
        match check(entry, now) {
            Ok(()) => {
                // A hit: the manifest is in use (see `gg_core::evict`).
                let path = path_for(store, key);
                if let Ok(m) = fs::metadata(&path) {
                    gg_core::evict::touch_if_stale(&path, &m);
                }
                return Ok((entry.clone(), Origin::Here));
            }
            Err(why) => {
                first_miss.get_or_insert(why);
            }
        }
    }
    if let Some(entry) = store.shared().and_then(|shared| lookup_shared(store, shared, key, &travel(), now)) {
        return Ok((entry, Origin::Shared));
    }
    match first_miss {
        None => Err(Miss::NoManifest),
        Some(why) => Err(Miss::Changed(why)),
    }
}

/// Whether every input of `entry` is as recorded, or the first that is not.
fn check(entry: &Entry, now: i128) -> Result<(), String> {
    for f in &entry.files {
        if checked(&f.path) == Some(f.hash) {
            continue;
        }
        let path = Path::new(f.path.as_str());
        let same_stat = f.stat.is_some() && stat_of(path, now) == f.stat;
        if !same_stat {
            // Through the scanner's facts: an entry from the shared cache
            // has no stat here, and the facts index (in the store since
            // an earlier compile) knows most headers by theirs.
            match crate::scan::hash_now(&f.path) {
                Ok(n) if n == f.hash => {}
                _ => return Err(format!("`{}` changed", f.path)),
            }
        }
        remember(&f.path, f.hash);
    }
    for (place, existed) in &entry.probes {
        if Path::new(place).exists() != *existed {
            let how = if *existed { "disappeared" } else { "appeared" };
            return Err(format!("`{place}`, probed with __has_include, {how}"));
        }
    }
    let headers: Vec<&str> = entry.files.iter().skip(1).map(|f| f.path.as_str()).collect();
    if let Some(place) = entry.shadows.appeared(&headers, now) {
        return Err(format!("`{place}` appeared earlier on the include path"));
    }
    Ok(())
}

/// The shared manifests this process read, by key: what a new entry is
/// added to when written back (one read per key, not two).
static SHARED: Mutex<Option<HashMap<String, Manifest>>> = Mutex::new(None);

fn keep_shared(key: &str, manifest: Manifest) {
    if let Ok(mut m) = SHARED.lock() {
        m.get_or_insert_with(HashMap::new).insert(key.to_string(), manifest);
    }
}

fn take_shared(key: &str) -> Option<Manifest> {
    SHARED.lock().ok()?.as_mut()?.remove(key)
}

/// An entry as it travels: no stat, which is this machine's alone. The
/// receiving machine checks each input by its contents, and looks at
/// every place a shadowing header could appear in.
fn travelling(mut entry: Entry) -> Entry {
    for f in &mut entry.files {
        f.stat = None;
    }
    for (_, stat) in &mut entry.shadows.dirs {
        *stat = None;
    }
    entry
}

/// The shared cache's entry for this compile whose inputs are all here
/// as recorded (checked by contents), with the depfile it names; adopted
/// into the local manifest (`key`) with this machine's stats.
fn lookup_shared(
    store: &Store,
    shared: &gg_core::shared::Shared,
    key: &str,
    travel: &Travel,
    now: i128,
) -> Option<Entry> {
    if shared.is_down() {
        return None;
    }
    crate::scan::use_store(store.root());
    let remote = match shared.get(&gg_core::shared::manifest_key(&travel.key)) {
        Some(bytes) => match decode(&bytes) {
            Some(m) => Manifest { entries: m.entries.into_iter().map(travelling).collect() },
            None => {
                shared.note_bad(&format!("`manifests/{}` is not a whole manifest: not used", travel.key));
                Manifest::default()
            }
        },
        None => Manifest::default(),
    };
    let here = |e: &Entry| match &travel.base {
        Some(base) => map_paths(e.clone(), &|p| crate::basedir::absolute(p, base)),
        None => e.clone(),
    };
    let found = remote.entries.iter().map(here).find(|e| check(e, now).is_ok());
    keep_shared(&travel.key, remote);
    // What the entry carries first: then the depfile and the reduction
    // are here, and only the object is left to fetch.
    let adopted = found.filter(|e| e.carried.as_ref().is_none_or(|c| shared.adopt(store, &e.thunk, c)));
    let fetched = adopted.and_then(|e| with_depfile_here(store, shared, e, travel.base.as_deref()));
    shared.note_lookup(fetched.is_some());
    let mut entry = Entry { carried: None, ..fetched? };
    // This machine's stats, so its next hit needs no hashing.
    for f in &mut entry.files {
        f.stat = stat_of(Path::new(f.path.as_str()), now);
    }
    for (dir, stat) in &mut entry.shadows.dirs {
        *stat = stat_of(Path::new(dir), now);
    }
    if let Err(e) = add_local(store, key, entry.clone()) {
        crate::log::debug(&format!("the shared entry for `{key}` is not kept here: {e}"));
    }
    Some(entry)
}

/// `entry` with its depfile brought into the local store; with a base
/// folder, the depfile's marked paths written for this one.
fn with_depfile_here(
    store: &Store,
    shared: &gg_core::shared::Shared,
    mut entry: Entry,
    base: Option<&str>,
) -> Option<Entry> {
    let Some(d) = entry.depfile else { return Some(entry) };
    if !shared.fetch_blobs(store, &[d]) {
        return None;
    }
    if let Some(base) = base {
        let text = String::from_utf8(store.get(&d).ok()?).ok()?;
        let here = crate::basedir::depfile_here(&text, base)?;
        entry.depfile = Some(store.put_bytes(gg_core::Kind::Value, here.as_bytes()).ok()?);
    }
    Some(entry)
}

/// `entry` with every path it records passed through `map`.
fn map_paths(mut entry: Entry, map: &dyn Fn(&str) -> String) -> Entry {
    for f in &mut entry.files {
        f.path = crate::interned::Interned::new(&map(&f.path));
    }
    for (place, _) in &mut entry.probes {
        *place = map(place);
    }
    let s = &mut entry.shadows;
    for c in &mut s.chain {
        *c = map(c);
    }
    for (d, _) in &mut s.dirs {
        *d = map(d);
    }
    for p in &mut s.present {
        *p = map(p);
    }
    entry
}

/// `manifest` with `entry` as its newest (replacing one with the same
/// headers and probe answers), at most [`MAX_ENTRIES`].
fn with_entry(mut manifest: Manifest, entry: Entry) -> Manifest {
    let paths: Vec<(&str, Name)> = entry.files.iter().map(|f| (f.path.as_str(), f.hash)).collect();
    manifest.entries.retain(|e| {
        e.files.iter().map(|f| (f.path.as_str(), f.hash)).collect::<Vec<_>>() != paths || e.probes != entry.probes
    });
    manifest.entries.insert(0, entry);
    manifest.entries.truncate(MAX_ENTRIES);
    manifest
}

/// Adds `entry` as the newest for `key` (replacing one with the same
/// headers and probe answers), and with `share`, writes it back to the
/// shared cache in the background (after the depfile it names).
/// Concurrent writers may drop each other's entry: that only costs a miss.
pub fn add(store: &Store, key: &str, entry: Entry, share: Option<Share>) -> std::io::Result<()> {
    // A copy (hundreds of files) only for an entry that travels.
    let Some((share, shared)) = share.zip(store.shared().filter(|s| !s.read_only())) else {
        return add_local(store, key, entry);
    };
    add_local(store, key, entry.clone())?;
    let (me, store) = (std::sync::Arc::clone(shared), store.clone());
    shared.spawn(Box::new(move || {
        let (travel, mut entry) = shareable(&store, share, travelling(entry));
        let depfile: Vec<Name> = entry.depfile.into_iter().collect();
        entry.carried = gg_core::shared::carry(&store, &entry.thunk, &depfile);
        let remote_key = gg_core::shared::manifest_key(&travel.key);
        let base =
            take_shared(&travel.key).or_else(|| me.get(&remote_key).and_then(|b| decode(&b))).unwrap_or_default();
        // A depfile the entry does not carry goes first, as a blob.
        let carried = |n: &Name| entry.carried.as_ref().is_some_and(|c| c.blobs.iter().any(|(m, _)| m == n));
        let loose: Vec<Name> = depfile.into_iter().filter(|n| !carried(n)).collect();
        if me.push_blobs(&store, &loose) {
            me.put(&remote_key, &encode(&with_entry(base, entry)));
        }
    }));
    Ok(())
}

/// What [`add`] needs to write an entry back.
#[derive(Debug)]
pub struct Share {
    pub travel: Travel,
    /// An input uses `__FILE__` and no map for macros covers the base.
    pub file_macro_tied: bool,
    /// The compiler's depfile layout (`basedir::layout`).
    pub layout: &'static str,
}

/// The key and the entry as they travel: with paths relative to the base
/// folder if nothing ties the compile to its path (see `basedir`), else
/// under its own key with its own paths.
fn shareable(store: &Store, share: Share, entry: Entry) -> (Travel, Entry) {
    let Share { travel, file_macro_tied, layout } = share;
    let Some(base) = travel.base.clone() else { return (travel, entry) };
    let tied =
        if file_macro_tied { Some("an input uses __FILE__".to_string()) } else { names_path(store, &entry, &base) };
    // The depfile as it travels, stored so it can be put like any blob.
    let depfile = || match entry.depfile {
        None => Ok(None),
        Some(d) => {
            let text = store.get(&d).ok().and_then(|b| String::from_utf8(b).ok());
            let marked = text.as_deref().and_then(|t| crate::basedir::depfile_travelling(t, &base, layout));
            match marked.filter(|t| !t.contains(base.as_str())) {
                Some(t) => store.put_bytes(gg_core::Kind::Value, t.as_bytes()).map(Some).map_err(|e| e.to_string()),
                None => Err("the depfile cannot be written again for another folder".to_string()),
            }
        }
    };
    match tied.map_or_else(depfile, Err) {
        Ok(depfile) => {
            let entry = Entry { depfile, ..map_paths(entry, &|p| crate::basedir::relative(p, &base).into_owned()) };
            (travel, entry)
        }
        Err(why) => {
            crate::log::debug(&format!("shared at its own path: {why}"));
            let own = Travel { key: travel.absolute_key.clone(), base: None, absolute_key: travel.absolute_key };
            (own, entry)
        }
    }
}

/// Why the compile's object or what it printed holds `base`'s path, if
/// either does.
fn names_path(store: &Store, entry: &Entry, base: &str) -> Option<String> {
    let Some(red) = store.local_reduction(&entry.thunk) else { return Some("no reduction here".into()) };
    // The object and what was printed: the second output, the list of
    // what the compile read, names paths by design and belongs to the
    // thunk (at its own paths), which no other checkout runs.
    let named = red.outputs.first().map(|(_, n)| n).into_iter().chain(&red.stdout).chain(&red.stderr);
    for n in named {
        match store.get(n) {
            Ok(bytes) if memchr::memmem::find(&bytes, base.as_bytes()).is_some() => {
                return Some(format!("`{n}` holds the path `{base}`"));
            }
            Ok(_) => {}
            Err(e) => return Some(e.to_string()),
        }
    }
    None
}

/// Adds `entry` to this store's manifest for `key` only.
fn add_local(store: &Store, key: &str, entry: Entry) -> std::io::Result<()> {
    let manifest = with_entry(load(store, key), entry);
    let path = path_for(store, key);
    let bytes = encode(&manifest);
    store.note_written(bytes.len() as u64);
    // The shard folder is made when a write finds it missing, not asked
    // for before every write.
    match fsutil::write_atomic(&path, &bytes) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(path.parent().expect("sharded"))?;
            fsutil::write_atomic(&path, &bytes)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interned::Interned;

    /// An entry of these inputs for `thunk`, with nothing else recorded.
    fn bare(files: Vec<FileEntry>, thunk: Name) -> Entry {
        Entry { files, thunk, depfile: None, probes: vec![], shadows: Shadows::default(), carried: None }
    }

    fn own() -> Travel {
        Travel { key: "kkey".into(), base: None, absolute_key: "kkey".into() }
    }

    #[test]
    fn a_recorded_entry_hits_until_an_input_changes_and_touch_is_not_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        let h = dir.path().join("a.h");
        fs::write(&h, "int a;").unwrap();
        // Pretend it is old enough for its stat to be trusted.
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        fs::File::options().write(true).open(&h).unwrap().set_modified(old).unwrap();
        let file = FileEntry {
            path: Interned::new(&h.to_string_lossy()),
            hash: Name::of_file(&h).unwrap(),
            stat: stat_of(&h, now_ns()),
        };
        let thunk = Name::of_bytes(gg_core::Kind::Thunk, b"t");
        assert_eq!(lookup(&store, "kkey", &own), Err(Miss::NoManifest));
        add(&store, "kkey", bare(vec![file], thunk), None).unwrap();
        assert_eq!(lookup(&store, "kkey", &own).unwrap().0.thunk, thunk);
        fs::File::options().write(true).open(&h).unwrap().set_modified(std::time::SystemTime::now()).unwrap();
        assert_eq!(lookup(&store, "kkey", &own).unwrap().0.thunk, thunk, "touched, same contents: still a hit");
        fs::write(&h, "int b;").unwrap();
        assert!(matches!(lookup(&store, "kkey", &own), Err(Miss::Changed(why)) if why.contains("a.h")));
    }

    #[test]
    fn a_manifest_file_reads_back_whole_and_a_damaged_or_foreign_one_reads_as_none() {
        let stat = Stat { dev: 3, ino: 77, size: 12, mtime: 1_700_000_000_123_456_789, ctime: -5 };
        let file = |p: &str, stat| FileEntry { path: Interned::new(p), hash: Name::of_value(p.as_bytes()), stat };
        let entry = Entry {
            files: vec![file("/src/a.c", Some(stat)), file("/usr/include/stdio.h", None)],
            thunk: Name::of_bytes(gg_core::Kind::Thunk, b"t"),
            depfile: Some(Name::of_value(b"a.o: a.c")),
            probes: vec![("/inc/x.h".into(), false), ("/usr/include/y.h".into(), true)],
            shadows: Shadows {
                chain: vec!["/inc".into(), "/usr/include".into()],
                dirs: vec![("/inc".into(), Some(stat)), ("/inc/sys".into(), None)],
                present: vec!["/usr/include/y.h".into()],
            },
            carried: Some(gg_core::shared::Carried {
                reduction: br#"{"outputs":[]}"#.to_vec(),
                blobs: vec![(Name::of_value(b"a.o: a.c"), b"a.o: a.c".to_vec())],
            }),
        };
        let other =
            Entry { depfile: None, probes: vec![], shadows: Shadows::default(), carried: None, ..entry.clone() };
        let manifest = Manifest { entries: vec![entry, other] };
        let bytes = encode(&manifest);
        assert_eq!(decode(&bytes).unwrap().entries, manifest.entries);
        for i in [0, MAGIC.len(), bytes.len() / 2, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(decode(&bad).is_none(), "byte {i} flipped");
        }
        assert!(decode(&bytes[..bytes.len() - 1]).is_none(), "truncated");
        assert!(decode(b"").is_none());
        assert!(decode(br#"{"entries":[]}"#).is_none(), "the JSON of earlier versions");
    }

    #[test]
    fn a_probed_header_appearing_or_disappearing_makes_the_entry_miss() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        let (absent, present) = (dir.path().join("extra.h"), dir.path().join("there.h"));
        fs::write(&present, "").unwrap();
        let probes =
            vec![(absent.to_string_lossy().into_owned(), false), (present.to_string_lossy().into_owned(), true)];
        let thunk = Name::of_bytes(gg_core::Kind::Thunk, b"t");
        add(
            &store,
            "kkey",
            Entry { files: vec![], thunk, depfile: None, probes, shadows: Shadows::default(), carried: None },
            None,
        )
        .unwrap();
        assert_eq!(lookup(&store, "kkey", &own).unwrap().0.thunk, thunk);
        fs::write(&absent, "").unwrap();
        assert!(
            matches!(lookup(&store, "kkey", &own), Err(Miss::Changed(why)) if why.contains("extra.h") && why.contains("appeared"))
        );
        fs::remove_file(&absent).unwrap();
        fs::remove_file(&present).unwrap();
        assert!(matches!(lookup(&store, "kkey", &own), Err(Miss::Changed(why)) if why.contains("there.h")));
    }

    #[test]
    fn another_file_with_the_same_size_and_times_under_the_recorded_path_is_hashed_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        let h = dir.path().join("cfg.h");
        // What the path holds now: another file than the one recorded, alike
        // in size and times (as after `ln -sfn` between two twins), only
        // its inode differs from the record.
        fs::write(&h, "int b;").unwrap();
        // Looked at a minute later, when its stat is trusted.
        let later = now_ns() + 60_000_000_000;
        let now = stat_of(&h, later).expect("old enough to trust");
        let file = FileEntry {
            path: Interned::new(&h.to_string_lossy()),
            hash: Name::of_value(b"int a;"),
            stat: Some(Stat { ino: now.ino ^ 1, ..now }),
        };
        let thunk = Name::of_bytes(gg_core::Kind::Thunk, b"t");
        add(&store, "kkey", bare(vec![file], thunk), None).unwrap();
        assert!(matches!(lookup_at(&store, "kkey", &own, later), Err(Miss::Changed(why)) if why.contains("cfg.h")));
    }
}
