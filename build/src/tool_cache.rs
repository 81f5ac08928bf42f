//! What modelling a step remembers of this machine, in this process and
//! across processes: file stamps, per-process memos and the records of
//! [`DiskCache`] for tool discovery ([`Tool::find`](crate::tool::Tool::find)),
//! program outputs ([`Run`], [`probe`]) and facts about files ([`FileMemo`],
//! [`hash_file`]).
//!
//! Modelling a step asks this machine the same questions in every run:
//! what a tool ships, what `cc -###` or `ld --verbose` prints, the hash of
//! libc. The answers outlive the process as small JSON records in the
//! store, at `<store>/<dir>/<k>/<key>` (`key`: blake3 over
//! `CACHE_VERSION`, the record's kind and its inputs; `k`: its first
//! digit), each written atomically:
//!
//! - `tools/`: a [`Tool`](crate::tool::Tool) (inputs: its path, resolved
//!   path and stamp, plugins or not, the environment), with the stamps of
//!   every file it lists, of the loader's cache and of the folders searched
//!   for plugins;
//! - `runs/`: what a program printed (inputs: its path and stamp, `argv[0]`,
//!   arguments, working folder, the environment it reads), only when it
//!   succeeded, with the stamps of the files the caller says the output
//!   depends on (for `cc -###`, those it names that the command does not);
//! - `files/`: a fact about a file of 64 KiB or more (its hash, a shared
//!   library's dynamic section), with its path and stamp.
//!
//! A stamp is the file's device, inode, size, mtime and ctime. A record is
//! used only if it parses, holds the inputs asked about and every stamp in
//! it is the stamp now; anything else is computed again and the record
//! overwritten. It is written only when every file it rests on last changed
//! `SETTLE` (2 s) before the computation began, so that a change in the same
//! clock tick cannot leave a stamp as it was.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use gg_core::{fsutil, Kind, Name, Store};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// What a file's stat says about its contents (see `gg_wrapper::stamp`).
pub(crate) type Stamp = gg_wrapper::stamp::FileStamp;

/// A per-process memo.
pub(crate) type Memory<K, V> = OnceLock<Mutex<HashMap<K, V>>>;

/// Each path with its stamp now (`None`: nothing there), as records keep them.
pub(crate) fn stamps_of(paths: impl IntoIterator<Item = String>) -> Vec<(String, Option<Stamp>)> {
    paths.into_iter().map(|p| (p.clone(), Stamp::of(Path::new(&p)).ok())).collect()
}

/// Whether every path still has the stamp it had.
pub(crate) fn unchanged(stamps: &[(String, Option<Stamp>)]) -> bool {
    stamps.iter().all(|(p, s)| Stamp::of(Path::new(p)).ok() == *s)
}

/// Bump when what a record in [`DiskCache`] holds (or how) changes.
const CACHE_VERSION: u32 = 1;

/// How long before a computation began the files it rests on must have
/// last changed for its result to be kept across processes: more than a
/// file system's time stamp granularity (a clock tick; up to 2 s on some),
/// so that a change made in the same tick as the computation cannot leave
/// the stamp as it was.
const SETTLE: Duration = Duration::from_secs(2);

/// The records kept across processes, in the store (see the module doc).
#[derive(Clone, Copy, Debug)]
pub(crate) struct DiskCache<'a> {
    root: &'a Path,
    settle: Duration,
}

impl<'a> DiskCache<'a> {
    pub(crate) fn of(store: &'a Store) -> DiskCache<'a> {
        DiskCache { root: store.root(), settle: SETTLE }
    }

    /// The key of a record: the cache version, its kind and its inputs.
    pub(crate) fn key(kind: &str, inputs: &[&[u8]]) -> String {
        let mut h = blake3::Hasher::new();
        h.update(&CACHE_VERSION.to_le_bytes());
        for part in std::iter::once(kind.as_bytes()).chain(inputs.iter().copied()) {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part);
        }
        h.finalize().to_hex().to_string()
    }

    fn path(&self, dir: &str, key: &str) -> PathBuf {
        self.root.join(dir).join(&key[..1]).join(key)
    }

    /// The record at `dir/key`, if there is one that parses.
    pub(crate) fn load<T: DeserializeOwned>(&self, dir: &str, key: &str) -> Option<T> {
        let path = self.path(dir, key);
        let bytes = fs::read(&path).ok()?;
        match serde_json::from_slice(&bytes) {
            Ok(record) => Some(record),
            Err(e) => {
                gg_wrapper::log::debug(&format!("ignoring the unreadable record `{}`: {e}", path.display()));
                None
            }
        }
    }

    /// Writes a record atomically, if every file it rests on (`stamps`;
    /// `None`: a path where nothing is) had settled when its computation
    /// began (`since`). A failure only costs the next process the
    /// computation.
    pub(crate) fn save<T: Serialize>(
        &self,
        dir: &str,
        key: &str,
        since: SystemTime,
        stamps: &[Option<Stamp>],
        record: &T,
    ) {
        if !stamps.iter().flatten().all(|s| s.settled(since, self.settle)) {
            return;
        }
        let path = self.path(dir, key);
        let written = serde_json::to_vec(record).map_err(io::Error::from).and_then(|bytes| {
            fs::create_dir_all(path.parent().expect("a record sits in a folder"))?;
            fsutil::write_atomic(&path, &bytes)
        });
        if let Err(e) = written {
            gg_wrapper::log::debug(&format!("cannot write `{}`: {e}", path.display()));
        }
    }
}

/// A fact about a file, as `files/` keeps it.
#[derive(Serialize, Deserialize)]
struct FileRecord<T> {
    path: String,
    stamp: Stamp,
    value: T,
}

/// Files smaller than this are read again rather than looked up in
/// `files/`: reading the record would cost as much.
const FILE_RECORD_MIN_SIZE: u64 = 64 * 1024;

/// A fact computed from a file's bytes: once per process while the file
/// keeps its stamp and, for a file of at least [`FILE_RECORD_MIN_SIZE`]
/// with a record kind, once per store.
pub(crate) struct FileMemo<T> {
    /// The record kind in `files/`; `None`: kept in memory only.
    kind: Option<&'static str>,
    /// Whether a record's value can be that of a file with this stamp.
    plausible: fn(&T, &Stamp) -> bool,
    memory: Memory<PathBuf, (Stamp, T)>,
}

impl<T: Clone + Serialize + DeserializeOwned> FileMemo<T> {
    pub(crate) const fn new(kind: Option<&'static str>, plausible: fn(&T, &Stamp) -> bool) -> FileMemo<T> {
        FileMemo { kind, plausible, memory: OnceLock::new() }
    }

    /// `compute(path)`, or what it gave before for the file's stamp now.
    pub(crate) fn get(
        &self,
        cache: DiskCache<'_>,
        path: &Path,
        compute: impl FnOnce(&Path) -> io::Result<T>,
    ) -> io::Result<T> {
        let memory = self.memory.get_or_init(Default::default);
        let stamp = Stamp::of(path)?;
        if let Some((s, value)) = memory.lock().expect("file memo").get(path) {
            if *s == stamp {
                return Ok(value.clone());
            }
        }
        let text = path.to_string_lossy();
        let key =
            self.kind.filter(|_| stamp.size() >= FILE_RECORD_MIN_SIZE).map(|k| DiskCache::key(k, &[text.as_bytes()]));
        let recorded = key
            .as_ref()
            .and_then(|key| cache.load::<FileRecord<T>>("files", key))
            .filter(|r| r.path == text && r.stamp == stamp && (self.plausible)(&r.value, &stamp));
        let value = match recorded {
            Some(r) => r.value,
            None => {
                let since = SystemTime::now();
                let value = compute(path)?;
                if Stamp::of(path)? != stamp {
                    return Ok(value); // changed while read: nothing to remember
                }
                if let Some(key) = &key {
                    let record = FileRecord { path: text.to_string(), stamp, value: &value };
                    cache.save("files", key, since, &[Some(stamp)], &record);
                }
                value
            }
        };
        memory.lock().expect("file memo").insert(path.to_path_buf(), (stamp, value.clone()));
        Ok(value)
    }
}

/// The name of a file's contents, hashed once while its stamp stays the
/// same (system libraries are named by many thunks, in every run).
pub fn hash_file(store: &Store, path: &Path) -> io::Result<Name> {
    hash_in(DiskCache::of(store), path)
}

pub(crate) fn hash_in(cache: DiskCache<'_>, path: &Path) -> io::Result<Name> {
    static HASHES: FileMemo<Name> =
        FileMemo::new(Some("hash"), |name, stamp| name.kind() == Kind::Value && name.size() == stamp.size());
    HASHES.get(cache, path, Name::of_file)
}

/// The environment variables the probed programs read (the gcc driver,
/// the dynamic loader, ld and BFD): their values are part of a run's key.
const ENV_KEYS: &[&str] =
    &["PATH", "COMPILER_PATH", "LIBRARY_PATH", "GCC_EXEC_PREFIX", "LD_LIBRARY_PATH", "LDEMULATION", "GNUTARGET"];

/// The values of [`ENV_KEYS`] now.
pub(crate) fn env_now() -> Vec<(String, Option<String>)> {
    ENV_KEYS.iter().map(|k| (k.to_string(), std::env::var(k).ok())).collect()
}

/// A program to run for what it prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Run {
    pub program: PathBuf,
    /// `argv[0]`, if not the program's path (the gcc driver finds its
    /// installation through it).
    pub argv0: Option<String>,
    pub args: Vec<String>,
    pub cwd: Option<PathBuf>,
    /// [`ENV_KEYS`] and their values, as the program will see them.
    pub env: Vec<(String, Option<String>)>,
}

/// What a program printed, and whether it succeeded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// A successful run, as `runs/` keeps it.
#[derive(Serialize, Deserialize)]
struct RunRecord<R, O> {
    run: R,
    /// The program's stamp.
    stamp: Stamp,
    /// The files the output depends on, and their stamps.
    watched: Vec<(String, Option<Stamp>)>,
    output: O,
}

impl Run {
    /// `program args…` in this process's environment.
    pub(crate) fn new(program: &Path, args: &[&str]) -> Run {
        Run {
            program: program.to_path_buf(),
            argv0: None,
            args: args.iter().map(|a| a.to_string()).collect(),
            cwd: None,
            env: env_now(),
        }
    }

    /// What the program prints (run with `LC_ALL=C`), or what it printed
    /// before: the same program (path and stamp) with the same arguments,
    /// folder and environment. Each run is made once per process; one that
    /// succeeds is kept in the store, with the stamps of the files `watch`
    /// names in its output, and used while they keep them. `Err` if the
    /// program cannot be started.
    pub(crate) fn output(&self, store: &Store, watch: &dyn Fn(&Output) -> Vec<String>) -> io::Result<Output> {
        self.output_in(DiskCache::of(store), watch)
    }

    fn output_in(&self, cache: DiskCache<'_>, watch: &dyn Fn(&Output) -> Vec<String>) -> io::Result<Output> {
        static MEMORY: Memory<String, Output> = OnceLock::new();
        let memory = MEMORY.get_or_init(Default::default);
        let stamp = Stamp::of(&self.program)?;
        let Some(key) = self.key(stamp) else { return self.spawn() };
        if let Some(out) = memory.lock().expect("run memo").get(&key) {
            return Ok(out.clone());
        }
        let output = self.recorded_or_spawned(cache, &key, stamp, watch)?;
        memory.lock().expect("run memo").insert(key, output.clone());
        Ok(output)
    }

    /// The key of this run of the program with this stamp; `None` if a
    /// path in it is not UTF-8 (such a run is not kept).
    fn key(&self, stamp: Stamp) -> Option<String> {
        let inputs = serde_json::to_vec(&(self, stamp)).ok()?;
        Some(DiskCache::key("run", &[&inputs]))
    }

    /// The output from its record in `runs/`, or from running the program.
    fn recorded_or_spawned(
        &self,
        cache: DiskCache<'_>,
        key: &str,
        stamp: Stamp,
        watch: &dyn Fn(&Output) -> Vec<String>,
    ) -> io::Result<Output> {
        let recorded = cache
            .load::<RunRecord<Run, Output>>("runs", key)
            .filter(|r| r.run == *self && r.stamp == stamp && r.output.success && unchanged(&r.watched));
        if let Some(r) = recorded {
            return Ok(r.output);
        }
        let since = SystemTime::now();
        let output = self.spawn()?;
        if output.success && Stamp::of(&self.program)? == stamp {
            let watched = stamps_of(watch(&output));
            let mut stamps: Vec<Option<Stamp>> = watched.iter().map(|(_, s)| *s).collect();
            stamps.push(Some(stamp));
            cache.save("runs", key, since, &stamps, &RunRecord { run: self, stamp, watched, output: &output });
        }
        Ok(output)
    }

    fn spawn(&self) -> io::Result<Output> {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(&self.program);
        if let Some(argv0) = &self.argv0 {
            command.arg0(argv0);
        }
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        // The environment the key names (the process's own, unless the
        // caller changed it).
        for (key, value) in &self.env {
            match value {
                Some(v) => command.env(key, v),
                None => command.env_remove(key),
            };
        }
        let out = command.args(&self.args).env("LC_ALL", "C").stdin(Stdio::null()).output()?;
        Ok(Output {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

/// What `program args…` prints on stdout, kept in the store as `Run`
/// outputs are; `None` if it fails.
pub fn probe(store: &Store, program: &Path, args: &[&str]) -> Option<String> {
    probe_in(DiskCache::of(store), program, args)
}

pub(crate) fn probe_in(cache: DiskCache<'_>, program: &Path, args: &[&str]) -> Option<String> {
    let out = Run::new(program, args).output_in(cache, &|_| Vec::new()).ok()?;
    out.success.then_some(out.stdout)
}

#[cfg(test)]
#[path = "tool_cache_tests.rs"]
pub(crate) mod tests;
