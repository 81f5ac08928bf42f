//! Compiles planned ahead, for frontends that see a whole build at once
//! (`gg ninja`): model a compile command, answer it from the direct-mode
//! manifest, or build its thunk from a known dependency list (a deps log)
//! or a scan, and after the engine ran it, write what a compile writes and
//! record it, so that gg-cc and gg ninja share one cache.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use gg_core::{Name, Reduction, Store};

use gg_wrapper::args::{self, Classified, Compile};
use gg_wrapper::deps;
use gg_wrapper::interned::Interned;
use gg_wrapper::invoke::{self, Invocation};
use gg_wrapper::job::Job;
use gg_wrapper::prepare::{self, Prepared};
use gg_wrapper::toolchain::{self, Half, Toolchain};
use gg_wrapper::write_out::write_out;

/// One compile command, understood.
#[derive(Debug)]
pub struct CompileStep {
    inv: Invocation,
    args: Vec<String>,
    compile: Compile,
    toolchain: Arc<Toolchain>,
    cwd: PathBuf,
}

/// Toolchains already discovered in this process: a build names the same
/// compiler tens of thousands of times.
type Discovered = HashMap<(PathBuf, Half), Arc<Toolchain>>;
static TOOLCHAINS: Mutex<Option<Discovered>> = Mutex::new(None);

fn toolchain_of(store: &Store, compiler: &Path, half: Half) -> Result<Arc<Toolchain>> {
    let key = (compiler.to_path_buf(), half);
    if let Some(t) = TOOLCHAINS.lock().expect("toolchains").get_or_insert_with(HashMap::new).get(&key) {
        return Ok(Arc::clone(t));
    }
    let t = Arc::new(toolchain::discover(store, compiler, half)?);
    TOOLCHAINS.lock().expect("toolchains").get_or_insert_with(HashMap::new).insert(key, Arc::clone(&t));
    Ok(t)
}

/// What a round found of each compiler named: its place on PATH and
/// whether it is a script. A build names the same compiler for every
/// compile; looking it up each time was a walk of PATH and a read per
/// compile.
type Found<V> = Mutex<HashMap<std::ffi::OsString, (u64, V)>>;
static ON_PATH: std::sync::LazyLock<Found<Option<PathBuf>>> = std::sync::LazyLock::new(Default::default);
static SCRIPTS: std::sync::LazyLock<Found<bool>> = std::sync::LazyLock::new(Default::default);

/// `f(key)`, worked out once per round (see `gg_wrapper::snapshot`).
fn once_per_round<V: Clone>(memo: &Found<V>, key: &std::ffi::OsStr, f: impl FnOnce() -> V) -> V {
    let round = gg_wrapper::snapshot::round();
    if let Some((r, v)) = memo.lock().expect("compilers").get(key) {
        if *r == round {
            return v.clone();
        }
    }
    let v = f();
    memo.lock().expect("compilers").insert(key.to_os_string(), (round, v.clone()));
    v
}

fn on_path(compiler: &str) -> Option<PathBuf> {
    once_per_round(&ON_PATH, compiler.as_ref(), || toolchain::which(compiler))
}

fn is_script(compiler: &Path) -> bool {
    once_per_round(&SCRIPTS, compiler.as_os_str(), || toolchain::is_script(compiler))
}

/// A compile answered by the direct-mode manifest.
#[derive(Debug)]
pub struct Hit {
    pub thunk: Name,
    pub reduction: Reduction,
    /// The user's depfile as the compiler wrote it, if one was asked for
    /// and recorded.
    pub depfile: Option<Vec<u8>>,
    /// Every file the compile read (absolute paths), the source first.
    pub inputs: Vec<String>,
    /// Where the direct-mode entry was found.
    pub origin: gg_wrapper::manifest::Origin,
}

/// Launchers that may precede the compiler in a command.
const LAUNCHERS: &[&str] = &["gg-cc", "ccache", "sccache"];

impl CompileStep {
    /// Models `argv` (a compiler, or a launcher and a compiler, then the
    /// arguments) run in `cwd`; `Err` says why it must run as it is.
    pub fn model(store: &Store, argv: &[String], cwd: &Path) -> Result<CompileStep, String> {
        let first = argv.first().ok_or("an empty command")?;
        let base = Path::new(first).file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let argv: &[String] = if LAUNCHERS.contains(&base.as_str()) { &argv[1..] } else { argv };
        let compiler = argv.first().ok_or("a launcher without a compiler")?;
        let name = Path::new(compiler).file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        if !invoke::is_compiler_name(&name) {
            return Err(format!("`{name}` is not a compiler gg models"));
        }
        let path = if compiler.contains('/') {
            std::path::absolute(cwd.join(compiler)).map_err(|e| e.to_string())?
        } else {
            on_path(compiler).ok_or_else(|| format!("`{compiler}` is not on PATH"))?
        };
        let mut args = argv[1..].to_vec();
        if args.iter().any(|a| a.starts_with('@')) {
            args = args::expand_response_files(&args, 0);
        }
        // The arguments live in `args`; nothing here execs the compiler as
        // called, so the invocation keeps none.
        let inv = Invocation { arg0: path.to_string_lossy().into_owned(), compiler: path, args: Vec::new() };
        let compile = match args::classify_for(&args, invoke::is_cxx_driver(&inv.compiler)) {
            Classified::Local(reason) => return Err(reason),
            Classified::Compile(c) => c,
        };
        if is_script(&inv.compiler) {
            return Err(toolchain::SCRIPT.into());
        }
        let half = Half::of(compile.lang);
        let toolchain =
            toolchain_of(store, &inv.compiler, half).map_err(|e| format!("unrecognised compiler ({e:#})"))?;
        gg_wrapper::user_only_deps_modelled(&compile, &toolchain, cwd)?;
        if let Some(why) = gg_wrapper::untranslatable(&toolchain) {
            return Err(why.to_string());
        }
        Ok(CompileStep { inv, args, compile, toolchain, cwd: cwd.to_path_buf() })
    }

    fn job<'a>(&'a self, store: &'a Store) -> Job<'a> {
        Job {
            store,
            inv: &self.inv,
            toolchain: &self.toolchain,
            args: &self.args,
            compile: &self.compile,
            cwd: self.cwd.clone(),
            engine: None,
        }
    }

    /// The object it writes (as given on the command line).
    pub fn output(&self) -> String {
        self.compile.output_path()
    }

    /// The source, as given.
    pub fn source(&self) -> &str {
        &self.compile.source
    }

    /// The depfile the compiler would write, if asked for.
    pub fn depfile(&self, store: &Store) -> Option<String> {
        let job = self.job(store);
        job.depfile_request().map(|d| job.user_depfile(d))
    }

    /// The direct-mode key, if the source can be read.
    pub fn key(&self, store: &Store) -> Option<String> {
        let source = Name::of_file(&self.cwd.join(&self.compile.source)).ok()?;
        Some(self.job(store).direct_key(&source))
    }

    /// The manifest's answer for `key`, if its inputs are unchanged and its
    /// reduction is recorded (and the depfile, with `need_depfile`).
    pub fn lookup(&self, store: &Store, key: &str, need_depfile: bool) -> Option<Hit> {
        // Where the shared cache keeps it: asked only on a local miss (the
        // source is hashed again then).
        let travel = || match Name::of_file(&self.cwd.join(&self.compile.source)) {
            Ok(source) => self.job(store).travel(&source, key),
            Err(_) => gg_wrapper::manifest::Travel { key: key.into(), base: None, absolute_key: key.into() },
        };
        let (entry, origin) = gg_wrapper::manifest::lookup(store, key, &travel).ok()?;
        let reduction = store.reduction(&entry.thunk)?;
        // What a hit prints and writes is re-hashed: a corrupt blob makes
        // it a miss. Messages not fetched from a worker are not needed here.
        for n in reduction.stdout.iter().chain(&reduction.stderr) {
            match store.get_verified(n) {
                Ok(_) | Err(gg_core::StoreError::Missing(_)) => {}
                Err(_) => return None,
            }
        }
        let depfile = match (self.depfile(store), entry.depfile) {
            (Some(_), Some(n)) => Some(store.get_verified(&n).ok()?),
            (Some(_), None) if need_depfile => return None,
            _ => None,
        };
        let inputs = entry.files.iter().map(|f| f.path.to_string()).collect();
        Some(Hit { thunk: entry.thunk, reduction, depfile, inputs, origin })
    }

    /// The files the compile's thunk carries (see `gg_wrapper::inputs`);
    /// `None` if the preprocessor fails (the compile itself then reports
    /// the error).
    pub fn choose_inputs(&self, store: &Store) -> Result<Option<gg_wrapper::inputs::Chosen>> {
        gg_wrapper::inputs::choose(&self.job(store))
    }

    /// `paths` (the deps log's, relative to the build folder or absolute)
    /// as inputs for [`CompileStep::prepare`].
    pub fn interned(&self, store: &Store, paths: &[String]) -> Vec<Interned> {
        let job = self.job(store);
        paths.iter().map(|p| gg_wrapper::inputs::interned(&job, p)).collect()
    }

    /// The user's depfile from the full list of what the compile read.
    pub fn depfile_bytes(&self, store: &Store, read: &[String]) -> Option<Vec<u8>> {
        let job = self.job(store);
        job.depfile_request().map(|d| deps::user_depfile_bytes(&job, d, read))
    }

    /// Compiles in place and records (gg-cc's depend mode: on the local
    /// engine the cheapest way to a recorded compile, see docs/design.md).
    pub fn compile_here(
        &self,
        store: &Store,
        key: Option<&str>,
        write_depfile: bool,
    ) -> Result<gg_wrapper::compile::Here> {
        gg_wrapper::compile::compile_here(&self.job(store), key, write_depfile)
    }

    /// Hashes the inputs (`deps`: the headers and the source, from a scan
    /// or a deps log) and builds the thunk, storing it with everything it
    /// names; `Err` says why this compile cannot be cached.
    pub fn prepare(&self, store: &Store, deps: Vec<Interned>) -> Result<Result<Prepared, String>> {
        let job = self.job(store);
        match prepare::prepare_stored(&job, deps, None)? {
            Ok(p) => Ok(Ok(p)),
            Err(event) => Ok(Err(format!("{event:?}"))),
        }
    }

    /// After the engine ran the thunk: writes the depfile (if `write_depfile`
    /// and it is known) and the object, then records the compile for
    /// direct-mode hits, with the depfile. The object must be in the local
    /// store. `read`: what the compile listed as read (its second output),
    /// when it has one.
    #[allow(clippy::too_many_arguments)]
    pub fn finish(
        &self,
        store: &Store,
        key: Option<&str>,
        prepared: Prepared,
        reduction: &Reduction,
        read: Option<&[String]>,
        depfile: Option<&[u8]>,
        write_depfile: bool,
    ) -> Result<()> {
        let object = reduction.get(None).context("the compile thunk has no output")?;
        let job = self.job(store);
        let mut prepared = prepared;
        if let Some(read) = read {
            prepare::narrow(&job, &mut prepared, read);
        }
        let user_dep = match (self.depfile(store), depfile) {
            (Some(path), Some(bytes)) => Some((path, bytes.to_vec())),
            _ => None,
        };
        let written = user_dep.as_ref().filter(|_| write_depfile).map(|(p, b)| (p.as_str(), b.as_slice()));
        self.write(store, &object, written)?;
        // The scheduler that forced the thunk recorded its reduction.
        if let Some(key) = key {
            prepare::record_entry(&job, key, prepared, user_dep.as_ref())?;
        }
        Ok(())
    }

    /// Writes an object from the store (re-hashed) and the depfile.
    pub fn write(&self, store: &Store, object: &Name, depfile: Option<(&str, &[u8])>) -> Result<()> {
        let (blob, _) = store.verified(object, false)?;
        let depfile = depfile.map(|(path, bytes)| (self.cwd.join(path), bytes));
        write_out(&blob, &self.cwd.join(self.output()), depfile.as_ref().map(|(p, b)| (p.as_path(), *b)))
    }
}
