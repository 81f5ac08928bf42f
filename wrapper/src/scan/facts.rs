//! Per-process file facts: each file is read and hashed once per process
//! (revalidated by `stat`), and its directives are lexed once per content
//! (kept in memory by hash, and in the store across runs).
//!
//! Lookup order for a path: the facts cache (same stamp) → the store's
//! facts index (same stamp; see `index`) → read the file (needed for its
//! hash anyway) → directives in memory by hash → the store's entry → lex,
//! then write the entry (best effort). Only files of [`STORE_MIN`] bytes
//! or more get an entry by hash; every file read well after its last
//! change gets a record in the index.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, RwLock};
use std::time::SystemTime;

use gg_core::Name;

use super::directive::Parsed;
use super::dirs::Stamp;
use super::fxhash::FxMap;
use super::{encode, index, lexer};
use crate::snapshot::RoundMap;

/// What gg needs to know about one input file.
#[derive(Debug)]
pub struct Facts {
    pub hash: Name,
    pub size: u64,
    /// `__DATE__`, `__TIME__` or `__TIMESTAMP__` appears in the text.
    pub time_macros: bool,
    /// `.incbin` appears (an assembler include of a binary file).
    pub incbin: bool,
    /// `.include` appears (an assembler include).
    pub dot_include: bool,
    /// `__has_include` appears.
    pub has_include: bool,
    /// `__FILE__` or `__builtin_FILE` appears.
    pub file_macro: bool,
    pub(crate) parsed: Arc<Parsed>,
}

impl Facts {
    fn new(hash: Name, parsed: Arc<Parsed>) -> Facts {
        let f = parsed.flags;
        Facts {
            hash,
            size: hash.size(),
            time_macros: f.time_macros,
            incbin: f.incbin,
            dot_include: f.dot_include,
            has_include: f.has_include,
            file_macro: f.file_macro,
            parsed,
        }
    }
}

struct Cached {
    stamp: Stamp,
    /// Read well after its last change: the stamp alone can vouch for it.
    trusted: bool,
    facts: Arc<Facts>,
}

/// By path, in shards: `-j` threads look up the same headers at once.
static FILES: LazyLock<[Mutex<FxMap<String, Cached>>; 16]> = LazyLock::new(Default::default);

fn files(path: &str) -> &'static Mutex<FxMap<String, Cached>> {
    use std::hash::{BuildHasher, BuildHasherDefault};
    &FILES[(BuildHasherDefault::<super::fxhash::Fx>::default().hash_one(path) as usize) % FILES.len()]
}
static PARSED: LazyLock<Mutex<HashMap<Name, Arc<Parsed>>>> = LazyLock::new(Mutex::default);
/// The store whose `scan/` folder keeps directives across runs; set by
/// [`use_store`] (which `scan` calls).
static STORE_ROOT: RwLock<Option<PathBuf>> = RwLock::new(None);

/// Makes the facts cache keep directives in this store across runs.
pub fn use_store(root: &Path) {
    if STORE_ROOT.read().unwrap().as_deref() != Some(root) {
        *STORE_ROOT.write().unwrap() = Some(root.to_path_buf());
    }
}

/// The facts of the file at `path` (links followed).
pub fn facts(path: &str) -> io::Result<Arc<Facts>> {
    let meta = crate::snapshot::metadata(path).ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
    facts_of(path, &meta)
}

/// The facts of the file at `path`, whose metadata (as this round saw
/// it) the caller has: one lookup fewer than [`facts`].
pub fn facts_of(path: &str, meta: &fs::Metadata) -> io::Result<Arc<Facts>> {
    let root = STORE_ROOT.read().unwrap();
    facts_with(path, meta, root.as_deref())
}

/// A file's metadata and facts.
pub type Known = (Arc<fs::Metadata>, Arc<Facts>);

/// The metadata (as this round first saw it) and facts of the file at
/// the interned `path`, worked out once per round: a round's compiles
/// share most of their inputs, and each asks of each. Keyed by address,
/// not text (see [`crate::interned`]).
pub fn known(path: &crate::interned::Interned) -> io::Result<Known> {
    static KNOWN: LazyLock<RoundMap<usize, Known>> = LazyLock::new(RoundMap::default);
    if let Some(k) = KNOWN.get(path.addr()) {
        return Ok(k);
    }
    let meta = crate::snapshot::metadata(path).ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
    let facts = facts_of(path, &meta)?;
    KNOWN.put(path.addr(), (meta.clone(), facts.clone()));
    Ok((meta, facts))
}

/// The content name of the file at `path` as it is now (its metadata
/// taken afresh, not as this round first saw it), through the facts
/// cache and the store's facts index: a direct-mode check of an entry
/// with no stat of this machine's (one from the shared cache).
pub fn hash_now(path: &str) -> io::Result<Name> {
    let root = STORE_ROOT.read().unwrap().clone();
    let meta = fs::metadata(path)?;
    facts_with(path, &meta, root.as_deref()).map(|f| f.hash)
}

/// [`facts`] given the metadata the caller already has, with directives
/// kept in the store at `root`.
pub(crate) fn facts_with(path: &str, meta: &fs::Metadata, root: Option<&Path>) -> io::Result<Arc<Facts>> {
    let stamp = Stamp::of_meta(meta);
    if let Some(c) = files(path).lock().unwrap().get(path) {
        if c.trusted && c.stamp == stamp {
            return Ok(c.facts.clone());
        }
    }
    if let Some(root) = root {
        let known = |h: &Name| PARSED.lock().unwrap().get(h).cloned();
        if let Some((hash, parsed)) = index::lookup(root, path, &stamp, known) {
            PARSED.lock().unwrap().entry(hash).or_insert_with(|| parsed.clone());
            let facts = Arc::new(Facts::new(hash, parsed));
            let cached = Cached { stamp, trusted: true, facts: facts.clone() };
            files(path).lock().unwrap().insert(path.to_string(), cached);
            return Ok(facts);
        }
    }
    let read_at = SystemTime::now();
    let mut file = fs::File::open(path)?;
    // The stamp of what is read, taken before reading: a change during
    // the read moves it, and the next lookup reads again.
    let stamp = Stamp::of_meta(&file.metadata()?);
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut bytes)?;
    let hash = Name::of_value(&bytes);
    let (parsed, _) = parsed_for(&hash, &bytes, root);
    let facts = Arc::new(Facts::new(hash, parsed));
    let trusted = !stamp.is_racy(read_at, super::dirs::RACY);
    if let (true, Some(root)) = (trusted, root) {
        index::learn(root, path, stamp, hash, &facts.parsed);
    }
    let cached = Cached { stamp, trusted, facts: facts.clone() };
    files(path).lock().unwrap().insert(path.to_string(), cached);
    Ok(facts)
}

/// Files smaller than this are lexed rather than kept in the store:
/// lexing runs at some 450 MB/s, so a 16 KiB file lexes in about the time
/// an entry takes to open and read, and creating an entry costs far more
/// (measured: about 0.5 ms per entry on a busy ext4).
pub(crate) const STORE_MIN: usize = 16 * 1024;

/// Where a file's directives came from (tests measure the store cache).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    Memory,
    Store,
    Lexed,
}

/// Bytes of parsed directives this process wrote to a store (see
/// [`take_written`]).
static WRITTEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The bytes this process wrote to the store's `scan/` since last asked,
/// for the store's size count (`gg_core::Store::note_written`).
pub fn take_written() -> u64 {
    WRITTEN.swap(0, std::sync::atomic::Ordering::Relaxed)
}

/// The store entry of a content hash: `scan/<2 chars>/<name>`, sharded on
/// the characters after the kind letter (which is always the same).
pub(crate) fn entry_path(root: &Path, hash: &Name) -> PathBuf {
    let text = hash.to_string();
    root.join("scan").join(&text[1..3]).join(text)
}

/// The directives of `bytes` (whose hash is `hash`).
pub(crate) fn parsed_for(hash: &Name, bytes: &[u8], root: Option<&Path>) -> (Arc<Parsed>, Origin) {
    if let Some(p) = PARSED.lock().unwrap().get(hash) {
        return (p.clone(), Origin::Memory);
    }
    let entry = root.filter(|_| bytes.len() >= STORE_MIN).map(|r| entry_path(r, hash));
    let stored = entry.as_ref().and_then(|e| fs::read(e).ok()).and_then(|b| encode::decode(&b));
    let (parsed, origin) = match stored {
        Some(p) => (p, Origin::Store),
        None => {
            let p = lexer::lex(bytes);
            if let Some(e) = &entry {
                // Best effort: a read-only or full store only loses the cache.
                let _ = e.parent().map(fs::create_dir_all);
                let encoded = encode::encode(&p);
                if gg_core::fsutil::write_atomic(e, &encoded).is_ok() {
                    WRITTEN.fetch_add(encoded.len() as u64, std::sync::atomic::Ordering::Relaxed);
                }
            }
            (p, Origin::Lexed)
        }
    };
    let parsed = Arc::new(parsed);
    PARSED.lock().unwrap().insert(*hash, parsed.clone());
    (parsed, origin)
}

/// Forgets the in-memory caches (tests: a fresh process). Other tests
/// running at the same time only lose cached work.
#[cfg(test)]
pub(crate) fn forget() {
    for shard in FILES.iter() {
        shard.lock().unwrap().clear();
    }
    PARSED.lock().unwrap().clear();
}

/// Forgets one content's in-memory directives.
#[cfg(test)]
pub(crate) fn forget_hash(hash: &Name) {
    PARSED.lock().unwrap().remove(hash);
}
