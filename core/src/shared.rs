//! The shared cache tier: a remote cache that several machines read and
//! write (`[cache] remote`, `GG_REMOTE_CACHE`), below the local store.
//! Reads fall through (local, then remote); what a build computes is
//! written back unless the tier is read-only.
//!
//! It holds three kinds of entry under one key space, the same on every
//! back end and the same as the Lambda engine's bucket, so a function's
//! results are hits for a laptop and the other way round:
//! `blobs/NAME` (a value, checked against its name when read),
//! `reductions/THUNK` (a reduction as JSON, written after every blob it
//! names) and `manifests/KEY` (a direct-mode manifest without host facts,
//! see `gg_wrapper::manifest`).
//!
//! A remote fault is never a failed or wrong build: any error, timeout,
//! damaged or wrong entry is a miss with a debug line. An unreachable
//! remote (a refused or timed-out connection, a 5xx) is then left alone
//! for a minute by every process of the store (`<store>/remote-down`),
//! so a dead cache costs one timeout a minute, not one per compile.
//!
//! The network back ends live in `gg_engines::shared`; the binaries that
//! want them [`register`] a factory. A `file://` folder (a network file
//! system, say) is served here.

pub mod dir;

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use crate::config::CacheConfig;
use crate::{Name, Reduction, Store};

/// How long an unreachable remote is left alone.
pub const DOWN_FOR: Duration = Duration::from_secs(60);
/// A request's default time limit, in seconds (`[cache] timeout_secs`).
pub const DEFAULT_TIMEOUT_SECS: f64 = 0.5;
/// Threads writing entries back at once.
const UPLOADERS: usize = 4;

/// Why a remote call failed.
#[derive(Debug)]
pub enum Fault {
    /// No usable answer (refused, timed out, reset, a 5xx): the remote
    /// is taken as down for a while.
    Unreachable(String),
    /// An answer that refuses this call (403, 400…): this call misses,
    /// the remote stays in use.
    Refused(String),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Unreachable(why) | Fault::Refused(why) => f.write_str(why),
        }
    }
}

/// A remote cache's storage: plain get and put of keys.
pub trait Backend: Send + Sync + fmt::Debug {
    /// The entry's bytes, `None` if there is no such key.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Fault>;
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), Fault>;
}

/// Makes the back end a `[cache] remote` URL names; `Ok(None)` for a
/// scheme it does not know (then `file://` is tried here).
pub type Factory = fn(&str, &CacheConfig) -> Result<Option<Box<dyn Backend>>, String>;

static FACTORY: OnceLock<Factory> = OnceLock::new();

/// Lets stores of this process use network back ends. Without it (a
/// worker, the Lambda function) no store has a shared tier.
pub fn register(factory: Factory) {
    let _ = FACTORY.set(factory);
}

/// The back end for `url`: the registered factory's, else a folder.
fn backend(url: &str, c: &CacheConfig) -> Result<Box<dyn Backend>, String> {
    if let Some(f) = FACTORY.get() {
        if let Some(b) = f(url, c)? {
            return Ok(b);
        }
    }
    match url.strip_prefix("file://") {
        Some(path) if path.starts_with('/') => Ok(Box::new(dir::Dir::new(PathBuf::from(path)))),
        _ => Err(format!(
            "`{url}` is not a cache gg can use: s3://BUCKET/PREFIX, http(s)://HOST/PATH, gg(s)://WORKER:PORT \
             or file:///FOLDER"
        )),
    }
}

/// The tier a store of this process reads through, if one is configured
/// and a factory is registered; built once per store, on first use, so a
/// local hit pays nothing for it.
pub(crate) fn for_store(root: &Path) -> Option<Arc<Shared>> {
    FACTORY.get()?;
    let c = match crate::config::cache() {
        Ok(c) => c,
        Err(e) => {
            warn(&format!("{e}; the remote cache is not used"));
            return None;
        }
    };
    let url = c.remote.clone()?;
    match backend(&url, &c) {
        Ok(b) => Some(Arc::new(Shared::new(url, b, c.read_only.unwrap_or(false), root))),
        Err(e) => {
            warn(&format!("{e}; the remote cache is not used"));
            None
        }
    }
}

fn warn(msg: &str) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| eprintln!("gg: warning: {msg}"));
}

fn debug(msg: &str) {
    static ON: OnceLock<bool> = OnceLock::new();
    if *ON.get_or_init(crate::env::log_debug) {
        eprintln!("gg: remote cache: {msg}");
    }
}

/// What the tier did in this process, for `gg stats`.
#[derive(Debug, Default)]
pub struct Counts {
    /// Lookups answered by the remote.
    pub hits: AtomicU64,
    /// Lookups the remote could not answer.
    pub misses: AtomicU64,
    /// Calls that failed, and entries that were damaged or wrong.
    pub errors: AtomicU64,
    /// Entries written.
    pub writes: AtomicU64,
}

type Job = Box<dyn FnOnce() + Send>;

/// Write-backs in flight: a few threads, started on the first.
#[derive(Default)]
struct Uploads {
    send: Option<Sender<Job>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// A remote cache in use.
pub struct Shared {
    url: String,
    backend: Box<dyn Backend>,
    read_only: bool,
    /// `<store>/remote-down`: when a process last found it unreachable.
    marker: PathBuf,
    down: AtomicBool,
    /// Blobs this process knows the remote holds (it put or read them).
    there: Mutex<HashSet<Name>>,
    uploads: Mutex<Uploads>,
    pub counts: Counts,
}

// A panic mid-call leaves at worst a counter or a known-blob set behind,
// which only decide what is asked again: stores stay unwind-safe.
impl std::panic::RefUnwindSafe for Shared {}
impl std::panic::UnwindSafe for Shared {}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared").field("url", &self.url).field("read_only", &self.read_only).finish()
    }
}

impl Shared {
    pub fn new(url: String, backend: Box<dyn Backend>, read_only: bool, store_root: &Path) -> Shared {
        let marker = store_root.join("remote-down");
        let down = recently_down(&marker, &url);
        if down {
            debug(&format!("`{url}` was unreachable less than a minute ago: not asked"));
        }
        Shared {
            url,
            backend,
            read_only,
            marker,
            down: AtomicBool::new(down),
            there: Mutex::default(),
            uploads: Mutex::default(),
            counts: Counts::default(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// Whether the remote is being left alone (it was unreachable less
    /// than [`DOWN_FOR`] ago): lookups then are not asked, nor counted.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    fn fault(&self, what: &str, f: &Fault) {
        self.counts.errors.fetch_add(1, Ordering::Relaxed);
        match f {
            Fault::Unreachable(why) => {
                if !self.down.swap(true, Ordering::Relaxed) {
                    debug(&format!("{what}: {why}; `{}` is left alone for {} s", self.url, DOWN_FOR.as_secs()));
                    let _ = crate::fsutil::write_atomic(&self.marker, self.url.as_bytes());
                }
            }
            Fault::Refused(why) => debug(&format!("{what}: {why}")),
        }
    }

    /// The entry at `key`, or `None` (absent, or any fault: a miss).
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        if self.is_down() {
            return None;
        }
        match self.backend.get(key) {
            Ok(found) => found,
            Err(f) => {
                self.fault(&format!("reading `{key}`"), &f);
                None
            }
        }
    }

    /// Writes `bytes` at `key` now, unless read-only or down.
    pub fn put(&self, key: &str, bytes: &[u8]) -> bool {
        if self.read_only || self.is_down() {
            return false;
        }
        match self.backend.put(key, bytes) {
            Ok(()) => {
                self.counts.writes.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(f) => {
                self.fault(&format!("writing `{key}`"), &f);
                false
            }
        }
    }

    /// Counts a lookup's outcome.
    pub fn note_lookup(&self, hit: bool) {
        let c = if hit { &self.counts.hits } else { &self.counts.misses };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a damaged or wrong entry, which is then a miss.
    pub fn note_bad(&self, what: &str) {
        self.counts.errors.fetch_add(1, Ordering::Relaxed);
        debug(what);
    }

    /// Brings each blob the local store lacks from the remote, checked
    /// against its name; false if one is missing or wrong.
    pub fn fetch_blobs(&self, store: &Store, names: &[Name]) -> bool {
        for n in names {
            if store.has(n) {
                continue;
            }
            let Some(bytes) = self.get(&blob_key(n)) else { return false };
            if Name::of_bytes(n.kind(), &bytes) != *n {
                self.note_bad(&format!("`{}` holds other bytes than its name says: not used", blob_key(n)));
                return false;
            }
            if let Err(e) = store.put_bytes(n.kind(), &bytes) {
                debug(&format!("cannot keep `{n}` in the local store: {e}"));
                return false;
            }
            self.there.lock().expect("there").insert(*n);
        }
        true
    }

    /// The remote's reduction of `thunk`, with every blob it names brought
    /// into the local store and the reduction recorded there; `None` on
    /// a miss or any fault.
    pub fn fetch_reduction(&self, store: &Store, thunk: &Name) -> Option<Reduction> {
        if self.is_down() {
            return None;
        }
        let Some(bytes) = self.get(&reduction_key(thunk)) else {
            self.note_lookup(false);
            return None;
        };
        let red: Reduction = match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            Err(e) => {
                self.note_bad(&format!("`{}` is not a reduction ({e}): not used", reduction_key(thunk)));
                return None;
            }
        };
        if !self.fetch_blobs(store, &blobs_of(&red)) {
            self.note_lookup(false);
            return None;
        }
        if let Err(e) = store.write_reduction(thunk, &red) {
            debug(&format!("cannot record `{thunk}` in the local store: {e}"));
        }
        self.note_lookup(true);
        Some(red)
    }

    /// Takes in what a shared entry for `thunk` carries: its small blobs
    /// (checked against their names), every other blob its reduction
    /// names (fetched), then the reduction, recorded locally. False on
    /// any fault or missing blob: the entry is then a miss.
    pub fn adopt(&self, store: &Store, thunk: &Name, carried: &Carried) -> bool {
        for (n, bytes) in &carried.blobs {
            if Name::of_bytes(n.kind(), bytes) != *n {
                self.note_bad(&format!("an entry for `{thunk}` carries other bytes than `{n}`: not used"));
                return false;
            }
            if !store.has(n) {
                if let Err(e) = store.put_bytes(n.kind(), bytes) {
                    debug(&format!("cannot keep `{n}` in the local store: {e}"));
                    return false;
                }
            }
            self.there.lock().expect("there").insert(*n);
        }
        let red: Reduction = match serde_json::from_slice(&carried.reduction) {
            Ok(r) => r,
            Err(e) => {
                self.note_bad(&format!("an entry for `{thunk}` carries no whole reduction ({e}): not used"));
                return false;
            }
        };
        if !self.fetch_blobs(store, &blobs_of(&red)) {
            return false;
        }
        if let Err(e) = store.write_reduction(thunk, &red) {
            debug(&format!("cannot record `{thunk}` in the local store: {e}"));
            return false;
        }
        true
    }

    /// Writes `thunk`'s reduction back, after every blob it names, in the
    /// background (see [`Shared::finish`]). A blob not in the local store
    /// (left on a worker) means nothing is written.
    pub fn push_reduction(self: &Arc<Self>, store: &Store, thunk: Name, red: Reduction) {
        if self.read_only || self.is_down() {
            return;
        }
        let (me, store) = (Arc::clone(self), store.clone());
        self.spawn(Box::new(move || {
            if !me.push_blobs(&store, &blobs_of(&red)) {
                return;
            }
            let bytes = serde_json::to_vec(&red).expect("reductions serialise");
            me.put(&reduction_key(&thunk), &bytes);
        }));
    }

    /// Puts each blob the remote is not known to hold; false if one could
    /// not be read here or written there.
    pub fn push_blobs(&self, store: &Store, names: &[Name]) -> bool {
        for n in names {
            if self.there.lock().expect("there").contains(n) {
                continue;
            }
            let bytes = match store.get(n) {
                Ok(b) => b,
                Err(e) => {
                    debug(&format!("not written back: {e}"));
                    return false;
                }
            };
            if !self.put(&blob_key(n), &bytes) {
                return false;
            }
            self.there.lock().expect("there").insert(*n);
        }
        true
    }

    /// Runs `job` on an upload thread.
    pub fn spawn(&self, job: Job) {
        let mut u = self.uploads.lock().expect("uploads");
        if u.send.is_none() {
            let (send, recv) = std::sync::mpsc::channel::<Job>();
            let recv = Arc::new(Mutex::new(recv));
            u.threads = (0..UPLOADERS).map(|_| spawn_uploader(Arc::clone(&recv))).collect();
            u.send = Some(send);
        }
        if let Err(e) = u.send.as_ref().expect("started").send(job) {
            // Every thread is gone (cannot happen while `send` is held):
            // run it here.
            (e.0)();
        }
    }

    /// Waits for every write-back started so far: call before exiting.
    pub fn finish(&self) {
        let threads = {
            let mut u = self.uploads.lock().expect("uploads");
            u.send = None;
            std::mem::take(&mut u.threads)
        };
        for t in threads {
            let _ = t.join();
        }
    }
}

fn spawn_uploader(recv: Arc<Mutex<Receiver<Job>>>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || loop {
        let job = match recv.lock().expect("upload queue").recv() {
            Ok(j) => j,
            Err(_) => return,
        };
        job();
    })
}

/// Whether `marker` says `url` was unreachable less than [`DOWN_FOR`] ago.
fn recently_down(marker: &Path, url: &str) -> bool {
    let Ok(m) = std::fs::metadata(marker) else { return false };
    let young =
        m.modified().ok().and_then(|t| SystemTime::now().duration_since(t).ok()).is_some_and(|age| age < DOWN_FOR);
    young && std::fs::read(marker).is_ok_and(|b| b == url.as_bytes())
}

/// Blobs at most this big travel inside a shared direct-mode entry (see
/// [`Carried`]): a compile's depfile, what it printed, a small object.
pub const CARRY_LIMIT: u64 = 16 * 1024;

/// What a shared direct-mode entry carries besides its inputs: its
/// thunk's reduction (as under `reductions/`) and the blobs of at most
/// [`CARRY_LIMIT`] bytes it and the depfile name. A remote direct hit
/// then costs the manifest and the object, two requests, not four
/// (manifest, depfile, reduction, object) in a row.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Carried {
    pub reduction: Vec<u8>,
    pub blobs: Vec<(Name, Vec<u8>)>,
}

/// What an entry for `thunk` carries from `store`, with `more` (the
/// depfile) among its small blobs; None if the store has no reduction.
pub fn carry(store: &Store, thunk: &Name, more: &[Name]) -> Option<Carried> {
    let red = store.local_reduction(thunk)?;
    let mut blobs: Vec<(Name, Vec<u8>)> = Vec::new();
    for n in blobs_of(&red).iter().chain(more) {
        if n.size() <= CARRY_LIMIT && !blobs.iter().any(|(m, _)| m == n) {
            // A blob left elsewhere (on a worker) is fetched by name.
            if let Ok(bytes) = store.get(n) {
                blobs.push((*n, bytes));
            }
        }
    }
    Some(Carried { reduction: serde_json::to_vec(&red).expect("reductions serialise"), blobs })
}

/// Every blob a reduction names.
fn blobs_of(red: &Reduction) -> Vec<Name> {
    red.outputs.iter().map(|(_, n)| *n).chain(red.stdout).chain(red.stderr).collect()
}

/// A blob's key, as in the Lambda engine's bucket.
pub fn blob_key(name: &Name) -> String {
    format!("blobs/{name}")
}

/// A thunk's reduction's key, as in the Lambda engine's bucket.
pub fn reduction_key(thunk: &Name) -> String {
    format!("reductions/{thunk}")
}

/// A direct-mode manifest's key.
pub fn manifest_key(key: &str) -> String {
    format!("manifests/{key}")
}

#[cfg(test)]
#[path = "shared_tests.rs"]
mod tests;
