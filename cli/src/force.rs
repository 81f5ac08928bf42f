//! `gg force`: reduce thunks to values on the configured engine (local,
//! remote or Lambda, as `GG_ENGINE`/the config choose) and write each
//! result over its placeholder (atomically: a failed target keeps its
//! placeholder, never a partial file).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use gg_core::scheduler::{self, Options, Resolved};
use gg_core::{fsutil, placeholder, OutputRef, Store};
use gg_engines::engine::Engine;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Thunks to run at once [default: the number of cores].
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    jobs: Option<usize>,
    /// Keep going after a failure: run everything that does not depend on it.
    #[arg(short = 'k', long = "keep-going")]
    keep_going: bool,
    /// Placeholder files, or thunk names (`T…`, `T…#output`).
    #[arg(required = true, value_name = "TARGET")]
    targets: Vec<String>,
}

/// Where a target's value goes.
enum Dest {
    Placeholder(PathBuf),
    Print(String),
}

pub fn run(store: &Store, a: &Args) -> Result<ExitCode> {
    // Before any thread starts, so that every thread inherits the mask.
    gg_core::interrupt::install_handler();
    let mut refs = Vec::new();
    let mut dests = Vec::new();
    for t in &a.targets {
        let Some((r, dest)) = target(t)? else {
            eprintln!("gg: `{t}` is not a placeholder (already forced?); nothing to do");
            continue;
        };
        store.get_thunk(&r.thunk).with_context(|| format!("target `{t}` names thunk `{}`", r.thunk))?;
        refs.push(r);
        dests.push(dest);
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let engine = Engine::from_env(store)?;
    let executor = engine.executor();
    let jobs = a.jobs.unwrap_or_else(|| engine.default_jobs(cores));
    if jobs == 0 {
        bail!("-j 0: at least one job is needed");
    }
    let report = scheduler::force(store, executor, &refs, Options { jobs, keep_going: a.keep_going });

    let mut stderr = std::io::stderr().lock();
    // What successful thunks printed (compiler warnings), as Ninja shows it.
    for (_, blob) in &report.stderr {
        if let Ok(bytes) = store.get(blob) {
            let _ = stderr.write_all(&bytes);
        }
    }
    for f in &report.failures {
        let _ = writeln!(stderr, "gg: thunk {} failed: {}", f.thunk, f.error.message);
        let _ = stderr.write_all(&f.error.stderr);
    }
    let _ = writeln!(
        stderr,
        "gg: {} target(s): {} thunk(s) ran, {} answered from the cache, {} failed",
        refs.len(),
        report.ran,
        report.cached,
        report.failures.len()
    );
    let tally = gg_core::tally::now();
    if tally.total() > 0 {
        let _ = writeln!(stderr, "gg: {tally}");
    }
    for line in engine.summary() {
        let _ = writeln!(stderr, "gg: {line}");
    }
    if report.interrupted {
        let _ = writeln!(stderr, "gg: interrupted; running thunks were killed, placeholders left in place");
        return Ok(ExitCode::from(130));
    }
    let mut ok = report.failures.is_empty();
    // Engines may leave outputs where they were made: bring the targets'.
    let values: Vec<_> = report.targets.iter().filter_map(|t| t.as_ref().ok().map(|r| r.value)).collect();
    if let Err(e) = executor.fetch(&values) {
        let _ = writeln!(stderr, "gg: error: {e}");
        return Ok(ExitCode::FAILURE);
    }
    for (dest, result) in dests.iter().zip(&report.targets) {
        match (dest, result) {
            (Dest::Placeholder(path), Ok(r)) => {
                if let Err(e) = materialize(store, path, r) {
                    let _ = writeln!(stderr, "gg: error: {e:#}");
                    ok = false;
                }
            }
            (Dest::Print(text), Ok(r)) => println!("{text} {}", r.value),
            (Dest::Placeholder(path), Err(why)) => {
                let _ = writeln!(stderr, "gg: `{}` not built: {why}", path.display());
                ok = false;
            }
            (Dest::Print(text), Err(why)) => {
                let _ = writeln!(stderr, "gg: `{text}` not built: {why}");
                ok = false;
            }
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// What a command-line target names, or `None` for a file that is not a
/// placeholder.
fn target(t: &str) -> Result<Option<(OutputRef, Dest)>> {
    if let Ok(r) = t.parse::<OutputRef>() {
        return Ok(Some((r, Dest::Print(t.to_string()))));
    }
    let path = Path::new(t);
    if !path.exists() {
        bail!("target `{t}` is neither a thunk name nor an existing file");
    }
    Ok(placeholder::read(path)?.map(|r| (r, Dest::Placeholder(path.to_path_buf()))))
}

/// Replaces a placeholder with the value, atomically, runnable if the
/// output was.
fn materialize(store: &Store, path: &Path, r: &Resolved) -> Result<()> {
    // Re-hashed, not just sized: a corrupt cache entry must never become a
    // build output.
    let (blob, _) = store.verified(&r.value, false).with_context(|| format!("`{}`", path.display()))?;
    let mode = if r.executable { 0o755 } else { 0o644 };
    fsutil::copy_atomic_with_mode(&blob, path, mode).with_context(|| format!("cannot write `{}`", path.display()))
}
