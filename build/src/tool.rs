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
//! The answers to what modelling asks this machine in every run outlive the process: see `tool_cache.rs`.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use gg_core::thunk::ROOT_PLACEHOLDER;
use gg_core::{Function, Name, Object, OutputRef, Store, ThunkInput};
use serde::{Deserialize, Serialize};

use crate::tool_cache::{env_now, hash_in, probe_in, stamps_of, unchanged, Memory, Stamp};
pub use crate::tool_cache::{hash_file, probe};
pub(crate) use crate::tool_cache::{DiskCache, FileMemo, Output, Run};
use gg_wrapper::toolchain;

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
    /// A static library another archive thunk makes, with what that
    /// archive reported about it ([`crate::archive::Archived::info`]).
    Archive(OutputRef, ArchiveInfo),
}

/// What a link against a static library needs to know about it before it
/// exists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArchiveInfo {
    /// For a thin archive, the member paths it names (relative to its
    /// folder), which ld opens.
    pub thin_members: Option<Vec<String>>,
    /// Whether a member holds GCC LTO bytecode (see [`holds_lto`]).
    pub lto: bool,
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
    // Most commands quote nothing: split those on blanks directly (a large
    // build.ninja has tens of thousands of them).
    let steps = if command.bytes().any(|b| matches!(b, b'\'' | b'"' | b'\\' | b'\n' | b'\r' | b'\x0c')) {
        quoted_steps(command)?
    } else {
        plain_steps(command)?
    };
    finish_steps(steps)
}

/// Bytes that are shell syntax wherever they stand in an unquoted word.
const SHELL_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let special = b"$`*?[<>|;&()";
    let mut i = 0;
    while i < special.len() {
        t[special[i] as usize] = true;
        i += 1;
    }
    t
};

/// [`shell_steps`] for a command without quotes, backslashes or line
/// breaks: blanks separate words.
fn plain_steps(command: &str) -> Result<Vec<Vec<String>>, String> {
    let mut steps: Vec<Vec<String>> = vec![Vec::new()];
    for w in command.split_ascii_whitespace() {
        if w == "&&" {
            if steps.last().is_some_and(Vec::is_empty) {
                return Err("an empty step".into());
            }
            steps.push(Vec::new());
            continue;
        }
        if let Some(&b) = w.as_bytes().iter().find(|&&b| SHELL_SPECIAL[usize::from(b)]) {
            return Err(match b {
                b'$' | b'`' => "a shell expansion".into(),
                b'*' | b'?' | b'[' => "a glob".into(),
                _ => format!("the shell operator `{}`", char::from(b)),
            });
        }
        if w.starts_with(['~', '#']) {
            return Err(format!("a word starting with `{}`", &w[..1]));
        }
        steps.last_mut().expect("one step").push(w.to_string());
    }
    Ok(steps)
}

/// The checks every split command gets, and the no-op steps dropped.
fn finish_steps(mut steps: Vec<Vec<String>>) -> Result<Vec<Vec<String>>, String> {
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

/// [`shell_steps`] for a command with quotes or backslashes, character by
/// character as the shell reads it.
fn quoted_steps(command: &str) -> Result<Vec<Vec<String>>, String> {
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

/// Hashes a file and makes sure the store can give it; returns its name.
/// A process that forces what it plans ([`Store::forces_here`]) leaves it
/// where it lies, copied in only if its engine reads it (a worker that
/// holds the linker and the libraries then costs the client no copy);
/// otherwise it is copied in, for the process that forces the thunk.
pub fn store_file(store: &Store, path: &Path) -> Result<Name> {
    let name = hash_file(store, path).with_context(|| format!("cannot hash `{}`", path.display()))?;
    if store.forces_here() {
        store.know_file_as(path, &name);
        return Ok(name);
    }
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

/// An input found: where its bytes come from and what they hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    pub source: Source,
    /// An archive (made by an archive thunk, or starting as one).
    pub archive: bool,
    /// GCC LTO bytecode in it (see [`holds_lto`]).
    pub lto: bool,
}

/// The file `written` (relative to `cwd` or absolute) names, as the caller
/// sees it: `None` when it is no regular file and no thunk makes it. A file
/// on disk is hashed and stored.
pub fn find_input(store: &Store, cwd: &Path, inputs: &dyn Fn(&str) -> Input, written: &str) -> Result<Option<Located>> {
    let read = |source: Source, path: &Path| -> Result<Option<Located>> {
        let bytes = fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
        let archive = bytes.starts_with(b"!<arch>\n") || crate::thin::is_thin(&bytes);
        Ok(Some(Located { source, archive, lto: holds_lto(&bytes) }))
    };
    match inputs(written) {
        Input::Value(n) => match store.blob(&n) {
            Ok(blob) => read(Source::Value(n), &blob),
            // Only on the engine (a cached object, with --keep-remote):
            // compiles with -flto run locally, so no cached object holds LTO.
            Err(_) => Ok(Some(Located { source: Source::Value(n), archive: false, lto: false })),
        },
        // Likewise, a compile thunk's object holds no LTO.
        Input::Output(o) | Input::SharedLibrary(o, _) => {
            Ok(Some(Located { source: Source::Output(o), archive: false, lto: false }))
        }
        Input::Archive(o, info) => Ok(Some(Located { source: Source::Output(o), archive: true, lto: info.lto })),
        Input::File => {
            // Read through the path as written: the machine resolves its
            // links and `..` as the real command would.
            let host = if written.starts_with('/') { PathBuf::from(written) } else { cwd.join(written) };
            if !fs::metadata(&host).is_ok_and(|m| m.is_file()) {
                return Ok(None);
            }
            let name = store_file(store, &host)?;
            read(Source::Value(name), &host)
        }
    }
}

/// Whether an object or an archive holds GCC LTO bytecode (`.gnu.lto_*`
/// sections, fat or slim): ld's LTO plugin would claim it and run
/// `lto-wrapper`, a compile the link model does not run in a thunk.
pub fn holds_lto(bytes: &[u8]) -> bool {
    memchr::memmem::find(bytes, b".gnu.lto_").is_some()
}

/// The first bytes of a file (fewer if it is shorter).
pub fn head(path: &Path, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(len);
    fs::File::open(path)?.take(len as u64).read_to_end(&mut buf)?;
    Ok(buf)
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
            gg_wrapper::log::debug(&format!("`{}` changed since it was discovered", path.display()));
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

    /// Whether a library file of this name is among the program's files.
    pub fn ships_library(&self, name: &str) -> bool {
        self.files.iter().any(|(path, _)| path.rsplit('/').next() == Some(name))
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
                gg_wrapper::log::debug(&format!(
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
