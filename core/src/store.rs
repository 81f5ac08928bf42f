//! The content-addressed store: blobs by name, and reductions (which thunk
//! produced which outputs), which are gg's cache.
//!
//! # On disk
//!
//! ```text
//! <root>/blobs/<c>/<V… or T…>   read-only blob files
//! <root>/exec/<c>/<V…>          +x copies of blobs used as executables
//! <root>/reductions/<c>/<T…>    JSON: {"outputs":[["a.o","V…"],…]}
//! <root>/tmp/                         temp files (NAME.PID.N.NANOS.tmp), renamed into place
//! <root>/sandboxes/                   one folder per running thunk
//! <root>/corrupt/                     entries `gg fsck` moved aside
//! <root>/locks/<V…>                   one per large blob: taken while it is put
//! ```
//!
//! `<c>` is the first character of the digest: 64 folders, few enough to
//! create cheaply, and ext4 indexes large folders well. Every write goes to
//! `tmp/` and is hard-linked into place, so readers see a whole blob or
//! none, and any number of processes may write the same blob at once: the
//! first writer wins and a blob's inode never changes afterwards (a
//! filesystem without hard links falls back to a rename; reductions are
//! renamed). Names carry the size, so every read
//! checks it and a truncated blob is caught without hashing; `gg fsck`
//! re-hashes everything. Executables get their own copy because a hard link
//! shares its mode with the blob, and values must not be executable.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::fsutil::{self, ctx};
use crate::fxhash::FxMap;
use crate::name::{Kind, Name};
use crate::thunk::{IrError, Thunk};

/// What went wrong reading the store; callers branch on missing vs corrupt.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("`{0}` is not in the store")]
    Missing(Name),
    #[error("store entry `{name}` is corrupt ({why}); run `gg fsck`")]
    Corrupt { name: Name, why: String },
    #[error("thunk `{name}` in the store does not decode: {source}")]
    BadThunk { name: Name, source: IrError },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The outputs a thunk produced, in the thunk's declared order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reduction {
    pub outputs: Vec<(String, Name)>,
    /// What the function printed, kept so a cache hit can replay it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<Name>,
    /// Outputs that were executable files (a mode bit is not part of a
    /// value's name, but a linked program must come back runnable).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub executable: Vec<String>,
}

impl Reduction {
    /// The value of `output` (`None` = the first declared output).
    pub fn get(&self, output: Option<&str>) -> Option<Name> {
        self.entry(output).map(|(_, n)| *n)
    }

    /// Whether `output` (`None` = the first) was an executable file.
    pub fn is_executable(&self, output: Option<&str>) -> bool {
        self.entry(output).is_some_and(|(k, _)| self.executable.contains(k))
    }

    fn entry(&self, output: Option<&str>) -> Option<&(String, Name)> {
        match output {
            None => self.outputs.first(),
            Some(o) => self.outputs.iter().find(|(k, _)| k == o),
        }
    }
}

/// Its text in human-readable formats (JSON); in binary ones (the
/// direct-mode manifests) its 41 raw bytes, which cost no base64.
impl Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_bytes(&self.to_raw())
        }
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Name, D::Error> {
        if !d.is_human_readable() {
            return d.deserialize_bytes(RawName);
        }
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

struct RawName;

impl serde::de::Visitor<'_> for RawName {
    type Value = Name;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a name's 41 raw bytes")
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Name, E> {
        Name::from_raw(v).ok_or_else(|| E::custom("not a name's 41 raw bytes"))
    }
}

/// What identifies a store file's contents without reading it. Blobs are
/// installed once and never replaced, so a different stamp means the file
/// was written to in place. The ctime is part of it because the mtime can
/// be set back (`touch -r`) after an edit, but the ctime cannot: any write
/// or chmod moves it to now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    pub fn of_path(path: &Path) -> io::Result<Stamp> {
        Ok(Stamp::of_meta(&fs::metadata(path)?))
    }

    fn of_meta(m: &fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp { ino: m.ino(), size: m.len(), mtime: (m.mtime(), m.mtime_nsec()), ctime: (m.ctime(), m.ctime_nsec()) }
    }

    /// Whether only the ctime differs: what linking or unlinking the file
    /// elsewhere does, without touching its bytes.
    fn same_but_ctime(&self, other: &Stamp) -> bool {
        (self.ino, self.size, self.mtime) == (other.ino, other.size, other.mtime)
    }
}

/// A content-addressed store rooted at one folder.
#[derive(Clone, Debug)]
pub struct Store {
    root: PathBuf,
    /// Blobs (and executable copies) re-hashed by this process, with their
    /// stamp at that time (see [`Store::verified`]).
    verified: Arc<Mutex<FxMap<(Name, bool), Stamp>>>,
    /// Blobs this process put by name (see [`Store::put_file_as`]).
    puts: Arc<crate::puts::Puts>,
    /// Thunks this process made and stored, handed to the next
    /// [`Store::get_thunk`] of their name (see [`Store::hand_over`]).
    handed: Arc<Mutex<FxMap<Name, Arc<Thunk>>>>,
    /// Bytes this process installed and has not yet counted (see
    /// [`Store::settle`]).
    written: Arc<std::sync::atomic::AtomicU64>,
    /// Blobs this process hashed in place (see [`Store::know_file_as`]):
    /// the file holding each, read if the store has no copy.
    sources: Arc<Mutex<FxMap<Name, PathBuf>>>,
    /// Whether this process forces what it plans itself (see
    /// [`Store::forces_here`]).
    forces_here: Arc<std::sync::atomic::AtomicBool>,
    /// The shared cache tier below this store, found on first use (see
    /// [`crate::shared`]).
    shared: Arc<std::sync::OnceLock<Option<Arc<crate::shared::Shared>>>>,
}

/// Blobs at least this large are put under a lock (see [`Store::put_file_as`]).
const BIG_BLOB: u64 = 1 << 20;

const DIRS: [&str; 6] = ["blobs", "exec", "reductions", "tmp", "sandboxes", "corrupt"];

impl Store {
    /// Opens (creating if needed) the store at `root`.
    /// The root is made absolute: sandboxes live under it and functions
    /// run with another working directory.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Store> {
        let root = root.into();
        // The last folder created is there: so are the others (saves six
        // failing mkdirs on every gg-cc call).
        let ready = root.join(DIRS[DIRS.len() - 1]).is_dir();
        for d in DIRS.iter().filter(|_| !ready) {
            let p = root.join(d);
            fs::create_dir_all(&p).map_err(ctx("cannot create store folder", &p))?;
        }
        let root = fs::canonicalize(&root).map_err(ctx("cannot resolve", &root))?;
        // Whatever this process does with the store, a clean elsewhere
        // keeps what it uses (see `evict`).
        crate::evict::hold(&root);
        Ok(Store {
            root,
            verified: Arc::default(),
            puts: Arc::default(),
            handed: Arc::default(),
            written: Arc::default(),
            sources: Arc::default(),
            forces_here: Arc::default(),
            shared: Arc::default(),
        })
    }

    /// Where the store lives: `$GG_DIR`, else a `.gg` folder in the working
    /// directory or one of its parents, else the config files' `[store]
    /// dir` (see [`crate::config`]), else `$XDG_CACHE_HOME/gg` or
    /// `~/.cache/gg`. The home is the account's when `HOME` is the one
    /// debhelper sets for package builds, which lies inside the package
    /// and is wiped with it (see [`crate::home`]). A config file that
    /// cannot be parsed is an error naming it.
    pub fn locate() -> Result<PathBuf, String> {
        if let Some(dir) = crate::env::dir() {
            return Ok(dir);
        }
        if let Ok(cwd) = std::env::current_dir() {
            for dir in cwd.ancestors() {
                let candidate = dir.join(".gg");
                if candidate.is_dir() {
                    return Ok(candidate);
                }
            }
        }
        if let Some(dir) = crate::config::store_dir()? {
            return Ok(dir);
        }
        if let Some(cache) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(cache).join("gg"));
        }
        let home = crate::home::cache_home().unwrap_or_else(|| PathBuf::from("/tmp"));
        Ok(home.join(".cache").join("gg"))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn sharded(&self, dir: &str, name: &Name) -> PathBuf {
        let text = name.to_string();
        self.root.join(dir).join(&text[1..2]).join(text)
    }

    /// Path of a blob's file (which may not exist).
    pub fn blob_path(&self, name: &Name) -> PathBuf {
        self.sharded("blobs", name)
    }

    /// A fresh path in the store's temp folder (same filesystem as blobs).
    pub fn temp_path(&self, stem: &str) -> PathBuf {
        self.root.join("tmp").join(fsutil::unique_name(stem))
    }

    /// Removes temp files whose writer was killed (their names carry its
    /// pid; see [`fsutil::temp_owner_is_dead`]). `tmp/` holds only the
    /// writes in flight, so this reads a few names; it stops after
    /// `limit` in any case.
    pub fn sweep_dead_temps(&self, limit: usize) {
        let Ok(entries) = fs::read_dir(self.root.join("tmp")) else { return };
        for entry in entries.flatten().take(limit) {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            // `STEM.PID.N.NANOS.tmp`: the stem is whatever precedes the pid.
            let stem = name.rsplitn(5, '.').nth(4).unwrap_or_default();
            if !stem.is_empty() && fsutil::temp_owner_is_dead(&name, stem) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Checks a file at `path` exists with the size `name` promises.
    fn check_size(name: &Name, path: &Path) -> Result<(), StoreError> {
        match fs::metadata(path) {
            Ok(m) if m.len() == name.size() => Ok(()),
            Ok(m) => {
                Err(StoreError::Corrupt { name: *name, why: format!("size {} instead of {}", m.len(), name.size()) })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::Missing(*name)),
            Err(e) => Err(ctx("cannot stat", path)(e).into()),
        }
    }

    /// Whether a blob is present (with the right size), or known to this
    /// process at a file it hashed (see [`Store::know_file_as`]).
    pub fn has(&self, name: &Name) -> bool {
        self.stored(name) || self.sources.lock().expect("sources").contains_key(name)
    }

    /// Whether the blob is present, marking it used (see
    /// [`crate::evict`]): for a worker telling a client what it need not
    /// send, which must then still be there when the thunk runs.
    pub fn has_used(&self, name: &Name) -> bool {
        used(&self.blob_path(name)).is_ok_and(|m| m.len() == name.size())
    }

    /// Whether the blob's file is in the store.
    fn stored(&self, name: &Name) -> bool {
        Self::check_size(name, &self.blob_path(name)).is_ok()
    }

    /// The path of a present blob, after checking its size; a blob known
    /// at a file outside is copied in first.
    pub fn blob(&self, name: &Name) -> Result<PathBuf, StoreError> {
        let p = self.blob_path(name);
        match Self::check_size(name, &p) {
            Err(StoreError::Missing(_)) if self.bring_in(name)? => {
                Self::check_size(name, &p)?;
                Ok(p)
            }
            other => other.map(|()| p),
        }
    }

    /// Copies in a blob known at a file outside the store; `false` if none
    /// is known. The copy is hashed: a file changed since is an error.
    fn bring_in(&self, name: &Name) -> Result<bool, StoreError> {
        let source = self.sources.lock().expect("sources").get(name).cloned();
        let Some(source) = source else { return Ok(false) };
        self.put_file_as(&source, name)?;
        Ok(true)
    }

    /// Says that this process forces every thunk it plans itself (`gg
    /// ninja`), so a planner may leave files where they are (see
    /// [`Store::know_file_as`]) rather than copy them in for another
    /// process to find.
    pub fn set_forces_here(&self) {
        self.forces_here.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// See [`Store::set_forces_here`].
    pub fn forces_here(&self) -> bool {
        self.forces_here.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Takes note that the file at `path`, which the caller hashed as
    /// `name`, holds that blob, without copying it in: a thunk's inputs
    /// that its engine never asks for (a worker that has them all) then
    /// cost no copy. The blob is copied in (and hashed again) the first
    /// time it is read through the store ([`Store::blob`], [`Store::get`]
    /// and what uses them), for this process's life.
    ///
    /// Whether the blob is in the store already is not asked: reading it
    /// looks there first, and the file is only a fallback. An input
    /// stored earlier is therefore not marked used by naming it again: a
    /// clean may take it before objects and manifests, and the next
    /// engine that needs it copies it in again from where it lies. Asking
    /// cost gg-cc a `stat` per input (hundreds, nearly all of them of a
    /// header never stored) on every compile.
    pub fn know_file_as(&self, path: &Path, name: &Name) {
        // Once per process and name: a round's compiles share most inputs.
        self.sources.lock().expect("sources").entry(*name).or_insert_with(|| path.to_path_buf());
    }

    /// The path of a blob (`executable`: its +x copy) whose contents have
    /// been re-hashed against its name, once per process and file: a
    /// thunk never runs on a corrupt input. A mismatch moves the file aside.
    ///
    /// Also returns the file's [`Stamp`] as verified: a later stamp that
    /// differs means the file changed since, and it is hashed again.
    pub fn verified(&self, name: &Name, executable: bool) -> Result<(PathBuf, Stamp), StoreError> {
        let path = if executable { self.executable(name)? } else { self.blob(name)? };
        let stamp = Stamp::of_meta(&used(&path).map_err(ctx("cannot stat", &path))?);
        if self.verified.lock().expect("verified set").get(&(*name, executable)) == Some(&stamp) {
            return Ok((path, stamp));
        }
        let actual = Name::of_file(&path).map_err(ctx("cannot hash", &path))?;
        self.same_or_aside(name, actual.digest(), actual.size(), &path, "contents do not match the name")?;
        self.verified.lock().expect("verified set").insert((*name, executable), stamp);
        Ok((path, stamp))
    }

    /// Takes note that this process linked or unlinked a verified blob
    /// (`path`: the blob or its executable copy), which moves its ctime
    /// and nothing else: without this the next use would hash it again.
    pub fn restamp(&self, name: &Name, executable: bool, path: &Path) {
        let Ok(now) = Stamp::of_path(path) else { return };
        let mut verified = self.verified.lock().expect("verified set");
        if let Some(known) = verified.get_mut(&(*name, executable)) {
            if known.same_but_ctime(&now) {
                *known = now;
            }
        }
    }

    /// Whether the file at `path` still has the stamp it was last verified
    /// (or restamped) with.
    pub fn still_verified(&self, name: &Name, executable: bool, path: &Path) -> bool {
        let Ok(now) = Stamp::of_path(path) else { return false };
        self.verified.lock().expect("verified set").get(&(*name, executable)) == Some(&now)
    }

    /// Re-hashes a verified file whose stamp moved (another process may
    /// only have linked it): `Ok` if it still holds `name`'s bytes, else
    /// it is moved aside and the error names it.
    pub fn recheck(&self, name: &Name, executable: bool, path: &Path) -> Result<(), StoreError> {
        let stamp = Stamp::of_path(path).map_err(ctx("cannot stat", path))?;
        let actual = Name::of_file(path).map_err(ctx("cannot hash", path))?;
        self.same_or_aside(name, actual.digest(), actual.size(), path, "modified in place")?;
        self.verified.lock().expect("verified set").insert((*name, executable), stamp);
        Ok(())
    }

    /// Reads a whole blob, checking its size.
    pub fn get(&self, name: &Name) -> Result<Vec<u8>, StoreError> {
        let p = self.blob_path(name);
        let read = match read_used(&p) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && self.bring_in(name)? => read_used(&p),
            other => other,
        };
        match read {
            Ok(b) if b.len() as u64 == name.size() => Ok(b),
            Ok(b) => {
                Err(StoreError::Corrupt { name: *name, why: format!("size {} instead of {}", b.len(), name.size()) })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::Missing(*name)),
            Err(e) => Err(ctx("cannot read", &p)(e).into()),
        }
    }

    /// Reads a whole blob and re-hashes it against its name: for bytes that
    /// are handed out as a compile's result (diagnostics, a depfile), where
    /// a right-sized but wrong blob must never be served. A mismatch moves
    /// the file aside.
    pub fn get_verified(&self, name: &Name) -> Result<Vec<u8>, StoreError> {
        let bytes = self.get(name)?;
        let digest = *blake3::hash(&bytes).as_bytes();
        self.same_or_aside(name, &digest, bytes.len() as u64, &self.blob_path(name), "contents do not match the name")?;
        Ok(bytes)
    }

    /// `Ok` if the file at `path` hashed to `digest` and has `size` bytes
    /// as `name` says; else it is moved aside and the error says `why`.
    fn same_or_aside(&self, name: &Name, digest: &[u8], size: u64, path: &Path, why: &str) -> Result<(), StoreError> {
        if digest == name.digest() && size == name.size() {
            return Ok(());
        }
        let _ = self.quarantine(path);
        Err(StoreError::Corrupt { name: *name, why: format!("{why}; moved aside") })
    }

    /// Moves a finished temp file into place (a reduction: the last
    /// writer wins); `mode`, unless the file was made with its mode.
    fn install(&self, tmp: &Path, dest: &Path, mode: Option<u32>) -> io::Result<()> {
        if let Some(mode) = mode {
            fs::set_permissions(tmp, fs::Permissions::from_mode(mode)).map_err(ctx("cannot chmod", tmp))?;
        }
        match fs::rename(tmp, dest) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Self::make_parent(dest)?;
                fs::rename(tmp, dest).map_err(ctx("cannot rename into the store", dest))
            }
            other => other.map_err(ctx("cannot rename into the store", dest)),
        }
    }

    /// Makes the shard folder `dest` goes in. Only once a move into it
    /// found it missing: it is there for all but the first blob of each
    /// shard, and asking first cost two system calls per blob.
    fn make_parent(dest: &Path) -> io::Result<()> {
        let parent = dest.parent().expect("sharded paths have a parent");
        fs::create_dir_all(parent).map_err(ctx("cannot create", parent))
    }

    /// Installs a finished temp file as blob `name` unless a good copy is
    /// already there. The first writer wins and a blob's inode never changes
    /// afterwards: a sandbox holding a hard link to it can tell a changed
    /// file from a replaced one. The temp file is gone afterwards. `mode`,
    /// unless the file was made with its mode.
    fn install_blob(&self, name: &Name, tmp: &Path, dest: &Path, mode: Option<u32>) -> io::Result<()> {
        if let Some(mode) = mode {
            fs::set_permissions(tmp, fs::Permissions::from_mode(mode)).map_err(ctx("cannot chmod", tmp))?;
        }
        let mut made_parent = false;
        let mut tries = 0;
        while tries < 2 {
            match fs::hard_link(tmp, dest) {
                Ok(()) => {
                    self.note_written(name.size());
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if Self::check_size(name, dest).is_ok() {
                        break;
                    }
                    // A truncated leftover: move it aside and try again.
                    let _ = self.quarantine(dest);
                    tries += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound && !made_parent => {
                    Self::make_parent(dest)?;
                    made_parent = true;
                }
                // A filesystem without hard links: fall back to a rename.
                Err(_) => {
                    fs::rename(tmp, dest).map_err(ctx("cannot rename into the store", dest))?;
                    self.note_written(name.size());
                    return Ok(());
                }
            }
        }
        fs::remove_file(tmp).map_err(ctx("cannot remove", tmp))
    }

    /// Stores `bytes` under the given kind and returns its name.
    pub fn put_bytes(&self, kind: Kind, bytes: &[u8]) -> io::Result<Name> {
        self.put_named(Name::of_bytes(kind, bytes), bytes)
    }

    /// Stores `bytes`, which the caller named `name` from these very bytes
    /// a moment ago (a thunk's encoding is named, then stored: hashing
    /// tens of kilobytes twice per compile is not free).
    pub fn put_named(&self, name: Name, bytes: &[u8]) -> io::Result<Name> {
        debug_assert_eq!(name, Name::of_bytes(name.kind(), bytes));
        let dest = self.blob_path(&name);
        if Self::check_size(&name, &dest).is_ok() {
            return Ok(name);
        }
        let tmp = self.temp_path("put");
        let result = write_new(&tmp, bytes, 0o444)
            .map_err(ctx("cannot write", &tmp))
            .and_then(|()| self.install_blob(&name, &tmp, &dest, None));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map(|()| name)
    }

    /// Copies a file into the store as a value and returns its name. The
    /// copy is hashed, not the original, so a file changing meanwhile can
    /// never be stored under the wrong name.
    pub fn put_file(&self, path: &Path) -> io::Result<Name> {
        let tmp = self.temp_path("put");
        let result = fs::copy(path, &tmp).map_err(ctx("cannot read", path)).and_then(|_| self.adopt(&tmp, Kind::Value));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Puts the file at `path`, which the caller hashed as `name`, unless
    /// the blob is there; once per process and name, other threads asking
    /// meanwhile wait for the first. An error if the file no longer hashes
    /// to `name` (it changed since it was hashed).
    pub fn put_file_as(&self, path: &Path, name: &Name) -> io::Result<()> {
        self.puts.once(name, || {
            // There already: marked as used, so a clean keeps it.
            if self.has_used(name) {
                return Ok(());
            }
            // A large file is copied by one process while the others wait
            // for it: a burst of gg-cc processes on a fresh store would
            // each copy the 30 MB compiler.
            let lock = if name.size() >= BIG_BLOB { crate::puts::lock(&self.root, name) } else { None };
            if lock.is_some() && self.stored(name) {
                return Ok(());
            }
            let stored = self.put_file(path)?;
            if stored != *name {
                return Err(io::Error::other(format!(
                    "`{}` changed since it was hashed: it is now {stored}, not {name}",
                    path.display()
                )));
            }
            Ok(())
        })
    }

    /// Moves a finished thunk output into the store (no copy; the file is
    /// gone afterwards). An output that is exactly a thunk's canonical
    /// encoding is stored as that thunk: a dynamic thunk, forced in turn.
    pub fn adopt_output(&self, path: &Path) -> io::Result<Name> {
        let mut head = [0u8; crate::thunk::MAGIC.len()];
        let n = {
            use std::io::Read;
            let mut f = fs::File::open(path).map_err(ctx("cannot open", path))?;
            f.read(&mut head).map_err(ctx("cannot read", path))?
        };
        let kind = if Thunk::looks_like_thunk(&head[..n]) && is_canonical_thunk(&fs::read(path)?) {
            Kind::Thunk
        } else {
            Kind::Value
        };
        self.adopt(path, kind)
    }

    /// Hashes a file on the store's filesystem and moves it into the store
    /// under the given kind.
    pub fn adopt(&self, path: &Path, kind: Kind) -> io::Result<Name> {
        use std::os::unix::fs::MetadataExt;
        // A file with other links (say, an output hard-linked to an input)
        // must not have its mode changed under the other names: store a copy.
        if fs::metadata(path).map_err(ctx("cannot stat", path))?.nlink() > 1 {
            let tmp = self.temp_path("adopt");
            fs::copy(path, &tmp).map_err(ctx("cannot copy", path))?;
            fs::remove_file(path).map_err(ctx("cannot remove", path))?;
            return self.adopt(&tmp, kind);
        }
        let name = Name::of_file(path).map_err(ctx("cannot hash", path))?.with_kind(kind);
        let dest = self.blob_path(&name);
        if Self::check_size(&name, &dest).is_ok() {
            fs::remove_file(path).map_err(ctx("cannot remove", path))?;
            return Ok(name);
        }
        self.install_blob(&name, path, &dest, Some(0o444))?;
        Ok(name)
    }

    /// Moves a temp file (on the store's filesystem) that the caller
    /// hashed as `name` while writing it into the store, without reading
    /// it again: a large upload is hashed once, as it arrives.
    pub fn install_hashed(&self, name: &Name, path: &Path) -> io::Result<()> {
        let dest = self.blob_path(name);
        if Self::check_size(name, &dest).is_ok() {
            return fs::remove_file(path).map_err(ctx("cannot remove", path));
        }
        self.install_blob(name, path, &dest, Some(0o444))
    }

    /// A path to an executable (+x) copy of blob `name`.
    pub fn executable(&self, name: &Name) -> Result<PathBuf, StoreError> {
        let dest = self.sharded("exec", name);
        if Self::check_size(name, &dest).is_ok() {
            return Ok(dest);
        }
        let src = self.blob(name)?;
        let tmp = self.temp_path("exec");
        let result = fs::copy(&src, &tmp)
            .map_err(ctx("cannot copy", &src))
            .and_then(|_| self.install_blob(name, &tmp, &dest, Some(0o555)));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result?;
        Ok(dest)
    }

    /// Stores a thunk's canonical encoding; returns its name.
    pub fn put_thunk(&self, thunk: &Thunk) -> io::Result<Name> {
        self.put_bytes(Kind::Thunk, &thunk.encode())
    }

    /// Gives a thunk this process made, and stored under `name` (its
    /// encoding's name), to the next [`Store::get_thunk`] of that name, which
    /// then need not read, hash and parse it back: `gg ninja` makes a
    /// round's thunks and forces them straight away, and a thunk with
    /// hundreds of inputs costs more to parse than to make.
    pub fn hand_over(&self, name: Name, thunk: Arc<Thunk>) {
        self.handed.lock().expect("handed thunks").insert(name, thunk);
    }

    /// Takes back what [`Store::hand_over`] gave and nobody loaded (a
    /// long-running process, such as a worker, must not keep them).
    pub fn take_back(&self, names: &[Name]) {
        let mut handed = self.handed.lock().expect("handed thunks");
        for n in names {
            handed.remove(n);
        }
    }

    /// Loads and verifies a thunk (its encoding must hash to its name).
    pub fn get_thunk(&self, name: &Name) -> Result<Thunk, StoreError> {
        self.get_shared_thunk(name).map(Arc::unwrap_or_clone)
    }

    /// [`Store::get_thunk`], shared: a handed-over thunk is not copied.
    pub fn get_shared_thunk(&self, name: &Name) -> Result<Arc<Thunk>, StoreError> {
        if !name.is_thunk() {
            return Err(StoreError::Corrupt { name: *name, why: "a value, not a thunk".into() });
        }
        if let Some(thunk) = self.handed.lock().expect("handed thunks").remove(name) {
            return Ok(thunk);
        }
        let bytes = self.get(name)?;
        if Name::of_bytes(Kind::Thunk, &bytes) != *name {
            return Err(StoreError::Corrupt { name: *name, why: "contents do not match the name".into() });
        }
        Thunk::decode(&bytes).map(Arc::new).map_err(|source| StoreError::BadThunk { name: *name, source })
    }

    /// The recorded reduction of a thunk, if any: this store's, else the
    /// shared cache's (its blobs then brought here). An unreadable record
    /// is treated as absent (it will be recomputed and rewritten).
    pub fn reduction(&self, thunk: &Name) -> Option<Reduction> {
        if let Some(red) = self.local_reduction(thunk) {
            return Some(red);
        }
        self.shared()?.fetch_reduction(self, thunk)
    }

    /// This store's own record of a thunk's reduction.
    pub fn local_reduction(&self, thunk: &Name) -> Option<Reduction> {
        let bytes = read_used(&self.sharded("reductions", thunk)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The shared cache tier this store reads through and writes back to,
    /// if one is configured (see [`crate::shared`]).
    pub fn shared(&self) -> Option<&Arc<crate::shared::Shared>> {
        self.shared.get_or_init(|| crate::shared::for_store(&self.root)).as_ref()
    }

    /// The shared cache tier if this process has used it already (no
    /// config is read to find one).
    pub fn shared_in_use(&self) -> Option<&Arc<crate::shared::Shared>> {
        self.shared.get()?.as_ref()
    }

    /// Puts `shared` below this store, whatever is configured; false if
    /// the store already has its tier.
    pub fn attach_shared(&self, shared: crate::shared::Shared) -> bool {
        self.shared.set(Some(Arc::new(shared))).is_ok()
    }

    /// Records a thunk's reduction (atomically), and writes it back to the
    /// shared cache with the blobs it names.
    pub fn set_reduction(&self, thunk: &Name, reduction: &Reduction) -> io::Result<()> {
        self.write_reduction(thunk, reduction)?;
        if let Some(shared) = self.shared() {
            shared.push_reduction(self, *thunk, reduction.clone());
        }
        Ok(())
    }

    /// Records a thunk's reduction in this store only.
    pub fn write_reduction(&self, thunk: &Name, reduction: &Reduction) -> io::Result<()> {
        let dest = self.sharded("reductions", thunk);
        let bytes = serde_json::to_vec(reduction).expect("reductions serialise");
        self.note_written(bytes.len() as u64);
        let tmp = self.temp_path("reduction");
        let result = write_new(&tmp, &bytes, 0o444)
            .map_err(ctx("cannot write", &tmp))
            .and_then(|()| self.install(&tmp, &dest, None));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Counts `bytes` this process added to the store outside the calls
    /// above (manifests, the scanner's files), for [`Store::settle`].
    pub fn note_written(&self, bytes: u64) {
        self.written.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// Adds what this process stored to the store's running total and, if
    /// that passes the size limit (`[store] max_size`, `GG_MAX_SIZE`), cleans
    /// (see [`crate::evict`]). Call when a build is done; `limit` overrides
    /// the configured one (a worker's `--max-size`); files used since
    /// `own` are kept (see [`crate::evict::clean`]). An error only says why
    /// the store could not be counted: it never fails a build.
    pub fn settle(&self, limit: Option<u64>, own: Option<i128>) -> Result<Option<crate::evict::Cleaned>, String> {
        let bytes = self.written.swap(0, std::sync::atomic::Ordering::Relaxed);
        if bytes == 0 && !crate::evict::pending(&self.root) {
            return Ok(None);
        }
        let limit = match limit {
            Some(l) => l,
            None => crate::config::max_size()?,
        };
        crate::evict::account(&self.root, bytes, limit, own).map_err(|e| format!("cannot count the store's size: {e}"))
    }

    /// Moves a store file aside into `corrupt/`, keeping it for inspection.
    pub fn quarantine(&self, path: &Path) -> io::Result<PathBuf> {
        let stem = path.file_name().map_or_else(|| "entry".into(), |n| n.to_string_lossy().into_owned());
        let dest = self.root.join("corrupt").join(fsutil::unique_name(&stem));
        fs::rename(path, &dest).map_err(ctx("cannot move aside", path))?;
        Ok(dest)
    }
}

/// The metadata of a store file in use, after marking it used (see
/// [`crate::evict::touch_if_stale`]): what the stamp is then taken from.
fn used(path: &Path) -> io::Result<fs::Metadata> {
    let m = fs::metadata(path)?;
    if crate::evict::touch_if_stale(path, &m) {
        return fs::metadata(path);
    }
    Ok(m)
}

/// Reads a store file in use, marking it used.
fn read_used(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut f = fs::File::open(path)?;
    let m = f.metadata()?;
    let mut bytes = Vec::with_capacity(m.len() as usize);
    f.read_to_end(&mut bytes)?;
    crate::evict::touch_if_stale(path, &m);
    Ok(bytes)
}

/// Whether `bytes` are exactly a thunk's canonical encoding: only then is
/// an output a thunk (a dynamic thunk) rather than a value.
pub fn is_canonical_thunk(bytes: &[u8]) -> bool {
    Thunk::looks_like_thunk(bytes) && Thunk::decode(bytes).is_ok_and(|t| t.encode() == bytes)
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;

/// Writes `bytes` to a new file at `path` made with permission bits `mode`
/// (a file made read-only is still written through the handle that made
/// it: no `chmod` after).
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(path)?.write_all(bytes)
}
