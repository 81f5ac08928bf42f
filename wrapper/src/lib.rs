//! gg's compiler wrapper, gg-cc alone: compiler models (option tables,
//! classification, depfiles and dependency flags, queries and build-system
//! probes), toolchain discovery, the compile thunk, depend mode and direct
//! mode, writing results out, statistics, and `run`, which `gg-cc` calls.
//! Whole-build translation (`gg ninja`, archives, links) is gg-build's,
//! which uses this crate; this crate never uses it.

pub mod args;
pub mod basedir;
pub mod compile;
pub mod deps;
pub mod env_local;
pub mod has_include;
pub mod inputs;
pub mod interned;
pub mod invoke;
pub mod job;
pub mod locale;
pub mod log;
pub mod manifest;
mod path;
pub mod prepare;
pub mod probe;
pub mod ran;
mod remote;
pub mod scan;
pub mod shadow;
pub mod snapshot;
pub mod stamp;
pub mod stats;
pub mod thunkgen;
pub mod toolchain;
mod writable;
pub mod write_out;

use std::os::unix::process::CommandExt;
use std::process::Command;

use anyhow::{Context, Result};
pub use gg_core::depfile;
use gg_core::Store;

use crate::args::Classified;
use crate::invoke::Invocation;
use crate::stats::Event;

/// Replaces this process with the real compiler, exactly as called: exit
/// code, output and files are the compiler's own.
pub fn exec_real(inv: &Invocation) -> anyhow::Error {
    let err = Command::new(&inv.compiler).arg0(&inv.arg0).args(&inv.args).exec();
    anyhow::Error::new(err).context(format!("cannot run `{}`", inv.compiler.display()))
}

/// Runs the real compiler locally for `reason` (counted in the stats).
fn local(store: Option<&Store>, inv: &Invocation, reason: &str) -> anyhow::Error {
    log::debug(&format!("running the compiler directly: {reason}"));
    if let Some(store) = store {
        let _ = stats::record(store, &Event::Local(reason.to_string()));
    }
    exec_real(inv)
}

/// Why a compile must run locally even though its arguments are fine.
fn local_reason(c: &args::Compile) -> Option<String> {
    if let Some(var) = env_local::local_only(env_local::Step::Compile) {
        return Some(format!("{var} is set"));
    }
    if !std::fs::metadata(&c.source).is_ok_and(|m| m.is_file()) {
        return Some("the source is not a regular file".into());
    }
    // gg replaces the output by a rename: a device, a link or anything
    // else not a plain file must be written by the compiler itself.
    if std::fs::symlink_metadata(c.output_path()).is_ok_and(|m| !m.is_file()) {
        return Some("the output is not a regular file".into());
    }
    None
}

/// Folders named by `-I` and `-iquote`, made absolute against `cwd`.
fn user_include_dirs(args: &[String], cwd: &std::path::Path) -> Vec<String> {
    args::option_values(args, &["-I", "-iquote"])
        .into_iter()
        .map(|d| if d.starts_with('/') { d } else { cwd.join(d).to_string_lossy().into_owned() })
        .collect()
}

/// With `-MMD`, whether gg can write the depfile exactly as the compiler
/// would; `Err` says why not.
pub fn user_only_deps_modelled(
    compile: &args::Compile,
    toolchain: &toolchain::Toolchain,
    cwd: &std::path::Path,
) -> Result<(), &'static str> {
    if !compile.deps.as_ref().is_some_and(|d| d.user_only) {
        return Ok(());
    }
    if !compile::handles_user_only_deps(toolchain) {
        return Err("-MMD with a compiler whose depfile layout gg does not model");
    }
    // gcc leaves out headers found through system folders; gg tells them
    // by path, which is ambiguous when a user folder lies inside a system
    // one (pkg-config's -I/usr/include/glib-2.0).
    let system = toolchain.includes(compile.lang);
    if user_include_dirs(&compile.args, cwd).iter().any(|d| system.iter().any(|s| d.starts_with(s.as_str()))) {
        return Err("-MMD with an include folder inside a system folder");
    }
    Ok(())
}

/// The working directory as the compiler names it (its `DW_AT_comp_dir`):
/// `$PWD` when it is absolute, plainly spelt and the same folder as `.`
/// (gcc's `getpwd` and LLVM's `current_path` both prefer it, so a build
/// entered through a symlink records the path the user typed), else
/// `getcwd`. A thunk runs in this folder re-rooted, so the compile inside
/// the sandbox names it too.
pub fn working_dir() -> std::io::Result<std::path::PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let real = std::env::current_dir()?;
    if let Some(pwd) = std::env::var_os("PWD").map(std::path::PathBuf::from) {
        let plain = pwd.is_absolute()
            && pwd.components().all(|c| matches!(c, std::path::Component::RootDir | std::path::Component::Normal(_)))
            && !pwd.to_string_lossy().contains("//");
        if plain && pwd != real {
            if let (Ok(a), Ok(b)) = (std::fs::metadata(&pwd), std::fs::metadata(".")) {
                if a.dev() == b.dev() && a.ino() == b.ino() {
                    return Ok(pwd);
                }
            }
        }
    }
    Ok(real)
}

/// Why this compiler's messages could not be the same in a thunk, if so.
pub fn untranslatable(toolchain: &toolchain::Toolchain) -> Option<&'static str> {
    if toolchain.family != toolchain::Family::Gcc {
        return None;
    }
    locale::translated_diagnostics()
}

/// Makes the engine a miss runs on, given the store (`None`: in place).
pub type EngineFactory<'a> = &'a dyn Fn(&Store) -> Result<Option<Box<dyn gg_core::engine::Executor>>>;

/// Handles one gg-cc call; returns the exit code (or never returns, when
/// the real compiler replaces this process).
pub fn run(inv: &Invocation, engine: EngineFactory<'_>) -> Result<i32> {
    let root = Store::locate().map_err(anyhow::Error::msg)?;
    let store = Store::open(&root).with_context(|| format!("cannot open the store at `{}`", root.display()))?;
    let args = args::expand_response_files(&inv.args, 0);
    let compile = match args::classify_for(&args, invoke::is_cxx_driver(&inv.compiler)) {
        Classified::Local(reason) => return Err(local(Some(&store), inv, &reason)),
        Classified::Compile(c) => c,
    };
    let here = working_dir().unwrap_or_default();
    if probe::is_probe(&compile, &here) {
        return Err(local(Some(&store), inv, probe::PROBE));
    }
    if let Some(why) = local_reason(&compile) {
        return Err(local(Some(&store), inv, &why));
    }
    if toolchain::is_script(&inv.compiler) {
        return Err(local(Some(&store), inv, toolchain::SCRIPT));
    }
    let toolchain = match toolchain::discover(&store, &inv.compiler, toolchain::Half::of(compile.lang)) {
        Ok(t) => t,
        Err(e) => {
            // Discovery records the toolchain in the store: when that is
            // what failed, say so once, as a miss would.
            if let Err(why) = writable::check(&store) {
                writable::warn(&store, &why);
                return Err(local(Some(&store), inv, "the store cannot take writes"));
            }
            return Err(local(Some(&store), inv, &format!("unrecognised compiler ({e:#})")));
        }
    };
    if let Err(why) = user_only_deps_modelled(&compile, &toolchain, &here) {
        return Err(local(Some(&store), inv, why));
    }
    if let Some(why) = untranslatable(&toolchain) {
        return Err(local(Some(&store), inv, why));
    }
    for f in &compile.input_files {
        if std::fs::File::open(f).is_err() {
            return Err(local(Some(&store), inv, &format!("unreadable input file `{f}`")));
        }
    }
    let cwd = working_dir().context("cannot read the working directory")?;
    let engine = engine(&store)?;
    let job = job::Job {
        store: &store,
        inv,
        toolchain: &toolchain,
        args: &args,
        compile: &compile,
        cwd,
        engine: engine.as_deref(),
    };
    // Headers met before, unchanged since, are then taken from the store's
    // facts index instead of being read again; what this compile learns
    // is written back for the next one.
    scan::use_store(store.root());
    let status = compile::run(&job);
    scan::flush_index();
    if gg_core::env::log_info() {
        let t = gg_core::tally::now();
        if t.total() > 0 {
            // One write: make's other compiles write to the same stderr.
            let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("gg-cc: {t}\n").as_bytes());
        }
    }
    settle(&store);
    status
}

/// Counts what this process stored and keeps the store within its size
/// (see `gg_core::evict`), once a compile or build is done. A store that
/// cannot be counted or cleaned is said under `GG_LOG`, never an error.
pub fn settle(store: &Store) {
    if let Some(shared) = store.shared_in_use() {
        // What is being written back is finished first: the process ends.
        shared.finish();
        let c = &shared.counts;
        let n = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
        let event =
            stats::Event::Remote { hits: n(&c.hits), misses: n(&c.misses), errors: n(&c.errors), writes: n(&c.writes) };
        if event != (stats::Event::Remote { hits: 0, misses: 0, errors: 0, writes: 0 }) {
            stats::note(store, &event);
        }
    }
    store.note_written(scan::take_written());
    match store.settle(None, None) {
        Ok(Some(c)) if !c.busy => log::debug(&format!(
            "the store passed its size limit: {} removed, {} kept in use, {} now",
            c.removed,
            c.kept_in_use,
            gg_core::evict::format_size(c.after)
        )),
        Ok(_) => {}
        Err(e) => log::debug(&format!("the store's size is not kept: {e}")),
    }
}
