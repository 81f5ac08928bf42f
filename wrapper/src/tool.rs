//! What the archive and link models share: the shell steps of a build
//! command, how each file a step reads reaches its thunk (a file on disk, a
//! stored value or another thunk's output, at its path re-rooted under the
//! sandbox), and hermetic programs: a binutils binary with its shared
//! libraries, started through the dynamic loader it ships with.
//!
//! Everything a thunk reads sits at the path it has on this machine (the
//! lexical path, as the command or a search names it), so a sandbox holds
//! a subset of this machine's files with the same contents. A program that
//! searches folders inside the sandbox in the order it would search them
//! here can then only find the file it finds here, or one the thunk lacks.
//!
//! Modelling a step asks this machine the same questions in every run:
//! what a tool ships, what `cc -###` or `ld --verbose` prints, the hash of
//! libc. The answers outlive the process as small JSON records in the
//! store, at `<store>/<dir>/<k>/<key>` (`key`: blake3 over
//! `CACHE_VERSION`, the record's kind and its inputs; `k`: its first
//! digit), each written atomically:
//!
//! - `tools/`: a [`Tool`] (inputs: its path, resolved path and stamp,
//!   plugins or not, the environment), with the stamps of every file it
//!   lists, of the loader's cache and of the folders searched for plugins;
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

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use gg_core::thunk::ROOT_PLACEHOLDER;
use gg_core::{fsutil, Function, Kind, Name, Object, OutputRef, Store, ThunkInput};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::toolchain;

/// An input of a modelled step, as the caller (the Ninja translation)
/// knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A file on disk now (a source, a system library): hashed and stored.
    /// A path that is no file is taken as missing.
    File,
    /// A blob already in the store.
    Value(Name),
    /// The output of another thunk: an object or an archive.
    Output(OutputRef),
    /// A shared library another link thunk makes, with what that link
    /// reported about it ([`crate::link::Linked::library`]).
    SharedLibrary(OutputRef, SharedInfo),
}

/// What a link against a shared library needs to know about it before it
/// exists: the linker looks for the libraries it needs, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SharedInfo {
    /// Its DT_SONAME (`-soname`), if any.
    pub soname: Option<String>,
    /// Every name its DT_NEEDED may hold, and what those need in turn.
    pub needed: Vec<String>,
    /// Its DT_RUNPATH folders (`-rpath`), as written.
    pub runpath: Vec<String>,
}

/// A command as a thunk, or why it must run locally (classification is not
/// an error: the reason feeds statistics and the log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Model<T> {
    Thunk(T),
    Local(String),
}

/// The steps of a shell command joined by `&&`, each split into words;
/// steps that do nothing (`:`, `true`) are dropped. Any other shell syntax
/// (pipes, redirections, `;`, `||`, expansions, globs, assignments,
/// subshells) is refused with the reason.
pub fn shell_steps(command: &str) -> Result<Vec<Vec<String>>, String> {
    let mut steps = vec![Vec::new()];
    let mut word: Option<String> = None;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if let Some(w) = word.take() {
                    steps.last_mut().expect("one step").push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("an unterminated quote".into()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('$' | '`' | '"' | '\\')) => w.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err("an unterminated quote".into()),
                        },
                        Some('$' | '`') => return Err("a shell expansion".into()),
                        Some(c) => w.push(c),
                        None => return Err("an unterminated quote".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => return Err("a trailing backslash".into()),
            },
            '&' if chars.peek() == Some(&'&') => {
                chars.next();
                if let Some(w) = word.take() {
                    steps.last_mut().expect("one step").push(w);
                }
                if steps.last().is_some_and(Vec::is_empty) {
                    return Err("an empty step".into());
                }
                steps.push(Vec::new());
            }
            '&' | '|' | ';' | '<' | '>' | '(' | ')' | '\n' => {
                return Err(format!("the shell operator `{}`", c.escape_default()));
            }
            '$' | '`' => return Err("a shell expansion".into()),
            '*' | '?' | '[' => return Err("a glob".into()),
            '~' | '#' if word.is_none() => return Err(format!("a word starting with `{c}`")),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = word.take() {
        steps.last_mut().expect("one step").push(w);
    }
    if steps.last().is_some_and(Vec::is_empty) {
        return Err("an empty step".into());
    }
    for step in &steps {
        if step[0].split('/').next().is_some_and(|head| head.contains('=')) {
            return Err("a variable assignment".into());
        }
    }
    steps.retain(|s| !(s.len() == 1 && (s[0] == ":" || s[0] == "true")));
    Ok(steps)
}

/// A path normalised lexically, as Ninja does: `.` and `x/..` removed,
/// leading `..` kept in a relative path and dropped at `/`.
pub fn normalize(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if absolute => {}
                _ => parts.push(".."),
            },
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// `path` made absolute against `cwd`, normalised.
pub fn absolute(cwd: &Path, path: &str) -> String {
    if path.starts_with('/') {
        normalize(path)
    } else {
        normalize(&format!("{}/{path}", cwd.to_string_lossy()))
    }
}

/// `/a/b` as a sandbox object path (`a/b`).
pub fn sandbox_path(abs: &str) -> String {
    normalize(abs).trim_start_matches('/').to_string()
}

/// A path as the thunk's program sees it: an absolute one under the
/// sandbox root (`@@GG_ROOT@@/a/b`), a relative one normalised (the thunk
/// runs in the re-rooted working directory).
pub fn reroot(path: &str) -> String {
    if path.starts_with('/') {
        format!("{ROOT_PLACEHOLDER}{}", normalize(path))
    } else {
        normalize(path)
    }
}

/// Whether a file name looks like a shared library (`libx.so`, `libx.so.1.2`).
pub fn is_shared_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.ends_with(".so") || name.contains(".so.")
}

/// What a file's stat says about its contents: device, inode, size, and
/// modification and change times to the nanosecond. A file whose stamp is
/// unchanged is taken to hold the same bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    /// The stamp of the file `path` leads to.
    pub(crate) fn of(path: &Path) -> io::Result<Stamp> {
        let m = fs::metadata(path)?;
        Ok(Stamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        })
    }

    /// Whether the file last changed at least `settle` before `since`, so
    /// that any change after `since` shows in its ctime (which no one can
    /// set back).
    fn settled(&self, since: SystemTime, settle: Duration) -> bool {
        let changed = i128::from(self.ctime.0) * 1_000_000_000 + i128::from(self.ctime.1);
        let since = since.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128);
        changed + settle.as_nanos() as i128 <= since
    }
}

/// A per-process memo.
type Memory<K, V> = OnceLock<Mutex<HashMap<K, V>>>;

/// Each path with its stamp now (`None`: nothing there), as records keep them.
fn stamps_of(paths: impl IntoIterator<Item = String>) -> Vec<(String, Option<Stamp>)> {
    paths.into_iter().map(|p| (p.clone(), Stamp::of(Path::new(&p)).ok())).collect()
}

/// Whether every path still has the stamp it had.
fn unchanged(stamps: &[(String, Option<Stamp>)]) -> bool {
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
    fn key(kind: &str, inputs: &[&[u8]]) -> String {
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
    fn load<T: DeserializeOwned>(&self, dir: &str, key: &str) -> Option<T> {
        let path = self.path(dir, key);
        let bytes = fs::read(&path).ok()?;
        match serde_json::from_slice(&bytes) {
            Ok(record) => Some(record),
            Err(e) => {
                crate::log::debug(&format!("ignoring the unreadable record `{}`: {e}", path.display()));
                None
            }
        }
    }

    /// Writes a record atomically, if every file it rests on (`stamps`;
    /// `None`: a path where nothing is) had settled when its computation
    /// began (`since`). A failure only costs the next process the
    /// computation.
    fn save<T: Serialize>(&self, dir: &str, key: &str, since: SystemTime, stamps: &[Option<Stamp>], record: &T) {
        if !stamps.iter().flatten().all(|s| s.settled(since, self.settle)) {
            return;
        }
        let path = self.path(dir, key);
        let written = serde_json::to_vec(record).map_err(io::Error::from).and_then(|bytes| {
            fs::create_dir_all(path.parent().expect("a record sits in a folder"))?;
            fsutil::write_atomic(&path, &bytes)
        });
        if let Err(e) = written {
            crate::log::debug(&format!("cannot write `{}`: {e}", path.display()));
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
            self.kind.filter(|_| stamp.size >= FILE_RECORD_MIN_SIZE).map(|k| DiskCache::key(k, &[text.as_bytes()]));
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

fn hash_in(cache: DiskCache<'_>, path: &Path) -> io::Result<Name> {
    static HASHES: FileMemo<Name> =
        FileMemo::new(Some("hash"), |name, stamp| name.kind() == Kind::Value && name.size() == stamp.size);
    HASHES.get(cache, path, Name::of_file)
}

/// Hashes a file and makes sure the store holds it; returns its name.
pub fn store_file(store: &Store, path: &Path) -> Result<Name> {
    let name = hash_file(store, path).with_context(|| format!("cannot hash `{}`", path.display()))?;
    if store.has(&name) {
        return Ok(name);
    }
    let stored = store.put_file(path).with_context(|| format!("cannot store `{}`", path.display()))?;
    if stored != name {
        bail!("`{}` changed while it was being stored", path.display());
    }
    Ok(stored)
}

/// Where the bytes at one sandbox path come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Value(Name),
    Output(OutputRef),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Placed {
    Value(Name),
    Executable(Name),
    Output(OutputRef),
}

/// The objects of a thunk being built, by sandbox path. A path asked for
/// twice must hold the same bytes; a file wanted both as data and as a
/// program is placed as an executable.
#[derive(Debug, Default)]
pub struct Objects {
    by_path: BTreeMap<String, Placed>,
}

impl Objects {
    /// Places `source` at sandbox path `path`; `Err` names a clash.
    pub fn add(&mut self, path: String, source: Source) -> Result<(), String> {
        let placed = match source {
            Source::Value(n) => Placed::Value(n),
            Source::Output(o) => Placed::Output(o),
        };
        self.place(path, placed)
    }

    /// Places an executable file at `path`.
    pub fn add_executable(&mut self, path: String, name: Name) -> Result<(), String> {
        self.place(path, Placed::Executable(name))
    }

    fn place(&mut self, path: String, new: Placed) -> Result<(), String> {
        let merged = match (self.by_path.get(&path), &new) {
            (None, _) => new,
            (Some(old), _) if *old == new => return Ok(()),
            (Some(Placed::Value(a)), Placed::Executable(b)) | (Some(Placed::Executable(a)), Placed::Value(b))
                if a == b =>
            {
                Placed::Executable(*a)
            }
            _ => return Err(format!("two different files would sit at `/{path}`")),
        };
        self.by_path.insert(path, merged);
        Ok(())
    }

    /// Whether something is placed at `path`.
    pub fn contains(&self, path: &str) -> bool {
        self.by_path.contains_key(path)
    }

    /// Values, executables and thunk inputs, as [`gg_core::Thunk::new`] takes them.
    pub fn into_parts(self) -> (Vec<Object>, Vec<Object>, Vec<ThunkInput>) {
        let (mut values, mut executables, mut thunks) = (Vec::new(), Vec::new(), Vec::new());
        for (path, placed) in self.by_path {
            match placed {
                Placed::Value(hash) => values.push(Object { path, hash }),
                Placed::Executable(hash) => executables.push(Object { path, hash }),
                Placed::Output(output) => thunks.push(ThunkInput { path, output }),
            }
        }
        (values, executables, thunks)
    }
}

/// The file `written` (relative to `cwd` or absolute) names, as the caller
/// sees it: `None` when it is no regular file and no thunk makes it. A file
/// on disk is hashed and stored.
pub fn find_input(
    store: &Store,
    cwd: &Path,
    inputs: &dyn Fn(&str) -> Input,
    written: &str,
) -> Result<Option<(Source, Option<SharedInfo>)>> {
    Ok(match inputs(written) {
        Input::Value(n) => Some((Source::Value(n), None)),
        Input::Output(o) => Some((Source::Output(o), None)),
        Input::SharedLibrary(o, info) => Some((Source::Output(o), Some(info))),
        Input::File => {
            // Read through the path as written: the machine resolves its
            // links and `..` as the real command would.
            let host = if written.starts_with('/') { PathBuf::from(written) } else { cwd.join(written) };
            if !fs::metadata(&host).is_ok_and(|m| m.is_file()) {
                return Ok(None);
            }
            Some((Source::Value(store_file(store, &host)?), None))
        }
    })
}

/// The first bytes of a file (fewer if it is shorter).
pub fn head(path: &Path, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(len);
    fs::File::open(path)?.take(len as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// The environment variables the probed programs read (the gcc driver,
/// the dynamic loader, ld and BFD): their values are part of a run's key.
const ENV_KEYS: &[&str] =
    &["PATH", "COMPILER_PATH", "LIBRARY_PATH", "GCC_EXEC_PREFIX", "LD_LIBRARY_PATH", "LDEMULATION", "GNUTARGET"];

/// The values of [`ENV_KEYS`] now.
fn env_now() -> Vec<(String, Option<String>)> {
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

fn probe_in(cache: DiskCache<'_>, program: &Path, args: &[&str]) -> Option<String> {
    let out = Run::new(program, args).output_in(cache, &|_| Vec::new()).ok()?;
    out.success.then_some(out.stdout)
}

/// A program shipped with a thunk: the binary, every shared library it
/// loads and its dynamic loader (all at their paths here), started through
/// that loader with exactly those libraries, so it runs the same on a
/// machine that has none of them.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// The program as found (absolute, maybe a link).
    pub path: String,
    /// Where it really is.
    pub real: String,
    /// The first line of its `--version`.
    pub version: String,
    /// Every file (absolute path, name), sorted by path.
    files: Vec<(String, Name)>,
    /// The loader (resolved), if the program is dynamically linked.
    loader: Option<String>,
    /// The folders of its shared libraries, as the loader is told them.
    lib_dirs: Vec<String>,
}

/// A discovered tool, as `tools/` keeps it.
#[derive(Serialize, Deserialize)]
struct ToolRecord<T> {
    path: String,
    real: String,
    plugins: bool,
    /// The stamp of `real`.
    stamp: Stamp,
    env: Vec<(String, Option<String>)>,
    /// Every file the tool lists and every path discovery looked at, with
    /// their stamps.
    watched: Vec<(String, Option<Stamp>)>,
    tool: T,
}

/// Where the dynamic loader looks libraries up, unless told otherwise.
const LD_SO_CACHE: &str = "/etc/ld.so.cache";

impl Tool {
    /// Finds `program` (a path, or a name looked up on PATH) and what it
    /// needs to run; with `plugins`, also the BFD plugins (the LTO plugin,
    /// libdep) it loads from its installation, each only if it needs no
    /// library the program does not load itself (LLVM's gold plugin would
    /// bring 170 MB of LLVM). `None` if there is no such program. What is
    /// found is kept in the store while the files it names keep their
    /// stamps.
    pub fn find(store: &Store, program: &str, plugins: bool) -> Result<Option<Arc<Tool>>> {
        static MEMORY: Memory<(PathBuf, bool), (Stamp, Arc<Tool>)> = OnceLock::new();
        let Some(found) = toolchain::which(program) else { return Ok(None) };
        let path = std::path::absolute(&found).unwrap_or(found);
        let real = fs::canonicalize(&path).with_context(|| format!("cannot resolve `{}`", path.display()))?;
        let stamp = Stamp::of(&real).with_context(|| format!("cannot stat `{}`", real.display()))?;
        let memory = MEMORY.get_or_init(Default::default);
        let key = (path.clone(), plugins);
        if let Some((s, tool)) = memory.lock().expect("tool memo").get(&key) {
            if *s == stamp {
                return Ok(Some(tool.clone()));
            }
        }
        let tool = Arc::new(Tool::recorded_or_discovered(DiskCache::of(store), &path, &real, stamp, plugins)?);
        memory.lock().expect("tool memo").insert(key, (stamp, tool.clone()));
        Ok(Some(tool))
    }

    /// The tool from its record in `tools/`, or discovered and recorded.
    fn recorded_or_discovered(
        cache: DiskCache<'_>,
        path: &Path,
        real: &Path,
        stamp: Stamp,
        plugins: bool,
    ) -> Result<Tool> {
        let (path_text, real_text) = (path.to_string_lossy(), real.to_string_lossy());
        let env = env_now();
        let inputs = serde_json::to_vec(&(&path_text, &real_text, plugins, stamp, &env))?;
        let key = DiskCache::key("tool", &[&inputs]);
        if let Some(r) = cache.load::<ToolRecord<Tool>>("tools", &key) {
            if r.path == path_text
                && r.real == real_text
                && r.plugins == plugins
                && r.stamp == stamp
                && r.env == env
                && unchanged(&r.watched)
            {
                return Ok(r.tool);
            }
            crate::log::debug(&format!("`{}` changed since it was discovered", path.display()));
        }
        let since = SystemTime::now();
        let (tool, looked_at) = Tool::discover(cache, path, real, plugins)?;
        let watched = stamps_of(looked_at);
        let listed_there = tool.files.iter().all(|(f, _)| watched.iter().any(|(w, s)| w == f && s.is_some()));
        if listed_there {
            let stamps: Vec<Option<Stamp>> = watched.iter().map(|(_, s)| *s).collect();
            let record = ToolRecord {
                path: path_text.into_owned(),
                real: real_text.into_owned(),
                plugins,
                stamp,
                env,
                watched,
                tool: &tool,
            };
            cache.save("tools", &key, since, &stamps, &record);
        }
        Ok(tool)
    }

    /// The tool, and every path its discovery looked at: its files (at
    /// their normalised paths), the loader's cache and the folders searched
    /// for plugins.
    fn discover(cache: DiskCache<'_>, path: &Path, real: &Path, plugins: bool) -> Result<(Tool, Vec<String>)> {
        if head(real, 4).ok().as_deref() != Some(b"\x7fELF") {
            bail!("`{}` is not an ELF program", path.display());
        }
        let version =
            probe_in(cache, real, &["--version"]).unwrap_or_default().lines().next().unwrap_or("").to_string();
        // Libraries and loader at the paths the loader names them by: it
        // looks each up by that name in the folders it is given.
        let loader = toolchain::interpreter_of(real);
        let libs = toolchain::loaded_libraries(real);
        let mut looked_at = vec![LD_SO_CACHE.to_string()];
        let mut paths: Vec<PathBuf> = vec![path.to_path_buf(), real.to_path_buf()];
        paths.extend(libs.iter().cloned());
        paths.extend(loader.iter().map(PathBuf::from));
        if plugins {
            let (found, searched) = bfd_plugins(real, &libs);
            paths.extend(found);
            looked_at.extend(searched.iter().map(|d| d.to_string_lossy().into_owned()));
        }
        let mut files = BTreeMap::new();
        for p in paths {
            let name = hash_in(cache, &p).with_context(|| format!("cannot hash `{}`", p.display()))?;
            files.insert(normalize(&p.to_string_lossy()), name);
        }
        looked_at.extend(files.keys().cloned());
        let mut lib_dirs: Vec<String> = Vec::new();
        for lib in &libs {
            let dir = lib.parent().map(|d| normalize(&d.to_string_lossy())).unwrap_or_default();
            if !lib_dirs.contains(&dir) {
                lib_dirs.push(dir);
            }
        }
        let tool = Tool {
            path: normalize(&path.to_string_lossy()),
            real: real.to_string_lossy().into_owned(),
            version,
            files: files.into_iter().collect(),
            loader: loader.map(|l| normalize(&l)),
            lib_dirs,
        };
        Ok((tool, looked_at))
    }

    /// Stores the program's files (once per store) and places them.
    pub fn place(&self, store: &Store, objects: &mut Objects) -> Result<Result<(), String>> {
        for (path, name) in &self.files {
            if !store.has(name) {
                let stored = store_file(store, Path::new(path))?;
                if stored != *name {
                    bail!("`{path}` changed since it was first hashed");
                }
            }
            if let Err(why) = objects.add_executable(sandbox_path(path), *name) {
                return Ok(Err(why));
            }
        }
        Ok(Ok(()))
    }

    /// The thunk function that runs this program with `args`, as `argv0`:
    /// the shipped loader, told the shipped library folders.
    pub fn function(&self, argv0: &str, args: Vec<String>) -> Function {
        let hash_of = |p: &str| self.files.iter().find(|(f, _)| f == p).map(|(_, n)| *n);
        let real_hash = hash_of(&self.real).expect("the program is among its files");
        match self.loader.as_deref().and_then(|l| Some((l, hash_of(l)?))) {
            Some((loader, loader_hash)) => {
                let dirs: Vec<String> = self.lib_dirs.iter().map(|d| reroot(d)).collect();
                let mut all =
                    vec![reroot(loader), "--library-path".into(), dirs.join(":"), "--argv0".into(), argv0.into()];
                all.push(reroot(&self.real));
                all.extend(args);
                Function { hash: loader_hash, args: all, envars: Vec::new() }
            }
            None => {
                let mut all = vec![argv0.to_string()];
                all.extend(args);
                Function { hash: real_hash, args: all, envars: Vec::new() }
            }
        }
    }
}

/// The BFD plugins a binutils program loads by itself: every file in
/// `<bindir>/../lib/bfd-plugins` and `<bindir>/../lib/*/bfd-plugins`
/// whose libraries are all among `libs`; and the folders searched.
fn bfd_plugins(real: &Path, libs: &[PathBuf]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let Some(prefix) = real.parent().and_then(Path::parent) else { return (Vec::new(), Vec::new()) };
    let lib = prefix.join("lib");
    let mut dirs = vec![lib.join("bfd-plugins")];
    if let Ok(entries) = fs::read_dir(&lib) {
        let mut arch: Vec<PathBuf> =
            entries.flatten().map(|e| e.path().join("bfd-plugins")).filter(|d| d.is_dir()).collect();
        arch.sort();
        dirs.extend(arch);
    }
    // The names the program's libraries answer to: file name and soname.
    let mut shipped: Vec<String> = Vec::new();
    for l in libs {
        shipped.extend(l.file_name().map(|f| f.to_string_lossy().into_owned()));
        shipped.extend(fs::read(l).ok().and_then(|b| toolchain::elf_dynamic(&b)).and_then(|d| d.soname));
    }
    let mut plugins = Vec::new();
    for dir in &dirs {
        let Ok(entries) = fs::read_dir(dir) else { continue };
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
        files.sort();
        for plugin in files {
            let needed = fs::read(&plugin).ok().and_then(|b| toolchain::elf_dynamic(&b)).map(|d| d.needed);
            if needed.is_some_and(|needed| needed.iter().all(|n| shipped.contains(n))) {
                plugins.push(plugin);
            } else {
                crate::log::debug(&format!(
                    "not shipping the BFD plugin `{}`: it needs other libraries",
                    plugin.display()
                ));
            }
        }
    }
    dirs.push(lib);
    (plugins, dirs)
}

#[cfg(test)]
#[path = "tool_tests.rs"]
pub(crate) mod tests;
