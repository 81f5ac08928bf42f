//! `gg ninja`: build a Ninja project through gg. This is the command
//! line: its arguments, the store and engine it opens, reading the
//! manifest (gg-ninja) again while its generator edge rewrites it, and
//! what it prints at the end. The translation itself (dirty check, thunks,
//! local steps, logs) is gg-build's `ninja` module.

pub mod shim;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use gg_build::ninja::{color, Build, Options};
use gg_core::Store;
use gg_engines::engine::Engine;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Change to DIR before doing anything else.
    #[arg(short = 'C', value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The manifest.
    #[arg(short = 'f', value_name = "FILE", default_value = "build.ninja")]
    file: String,
    /// Jobs at once [default: the engine's slots, or the cores + 2].
    #[arg(short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// Keep going until N jobs fail (0: never stop).
    #[arg(short = 'k', value_name = "N", default_value_t = 1)]
    keep_going: usize,
    /// Dry run: show what would be built.
    #[arg(short = 'n')]
    dry_run: bool,
    /// Show each command instead of its description.
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,
    /// Leave compiled objects in the engine's store instead of writing them
    /// here (their edges stay dirty for Ninja).
    #[arg(long)]
    keep_remote: bool,
    /// Targets [default: the manifest's defaults, or its roots].
    targets: Vec<String>,
}

pub fn run(a: &Args) -> Result<ExitCode> {
    gg_core::interrupt::install_handler();
    if let Some(dir) = &a.dir {
        std::env::set_current_dir(dir).with_context(|| format!("cannot change to `{}`", dir.display()))?;
        println!("gg ninja: Entering directory `{}'", dir.display());
    }
    // Named as the compilers it runs will name it (their debug info).
    let cwd = gg_wrapper::working_dir().context("cannot read the working directory")?;
    let root = Store::locate().map_err(anyhow::Error::msg)?;
    let store = Store::open(&root).with_context(|| format!("cannot open the store at `{}`", root.display()))?;
    // While it runs, a clean by another process keeps what it uses; when
    // it is done, the store is kept within its size.
    let running = gg_core::evict::running(store.root());
    store.set_forces_here();
    let result = build(a, &store, &cwd);
    drop(running);
    gg_wrapper::settle(&store);
    result
}

/// The build, once the store is open.
fn build(a: &Args, store: &Store, cwd: &std::path::Path) -> Result<ExitCode> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let engine = Engine::from_env(store)?;
    let executor = engine.executor();
    let jobs = a.jobs.unwrap_or_else(|| engine.default_jobs(cores + 2));
    if jobs == 0 {
        bail!("-j 0: at least one job is needed");
    }
    let options = Options {
        jobs,
        keep_going: a.keep_going,
        verbose: a.verbose,
        keep_remote: a.keep_remote,
        color: color::supports_color_here(),
        in_place: engine.is_local() && !gg_core::env::store_inputs(),
    };
    // Between the steps it runs itself, nothing changes the sources: a
    // header found unchanged once need not be looked at again.
    gg_wrapper::manifest::remember_checks();
    // A manifest rebuilt by its generator edge (CMake re-running) is read
    // again, as Ninja does.
    for _ in 0..100 {
        let t0 = Instant::now();
        let graph = gg_ninja::parse_file(&a.file).map_err(|e| anyhow::anyhow!("{e}"))?;
        let parsed = t0.elapsed();
        let log_dir = cwd.join(graph.builddir().unwrap_or(""));
        let targets = if a.targets.is_empty() {
            graph.default_targets()
        } else {
            let mut t = Vec::new();
            for name in &a.targets {
                t.push(graph.lookup_path(name).with_context(|| format!("unknown target '{name}'"))?);
            }
            t
        };
        let mut build = Build::plan(&graph, store, executor, &options, cwd.to_path_buf(), &log_dir, &targets)?;
        let planned = t0.elapsed();
        if build.nothing_to_do() {
            println!("gg ninja: no work to do.");
            return Ok(ExitCode::SUCCESS);
        }
        build.classify();
        if gg_core::env::ninja_times() {
            eprintln!("gg ninja: parsed in {parsed:?}, planned by {planned:?}, modelled by {:?}", t0.elapsed());
        }
        if a.dry_run {
            build.dry_run();
            // The process ends here: freeing a large graph piece by piece
            // would only cost time.
            std::mem::forget(build);
            std::mem::forget(graph);
            return Ok(ExitCode::SUCCESS);
        }
        let ok = build.run();
        build.save_logs()?;
        if gg_wrapper::log::enabled() {
            for (e, why) in build.local_reasons() {
                let out = graph.edge(*e).outputs().first().map_or("?", |&n| graph.path(n));
                eprintln!("gg ninja: `{out}` ran locally: {why}");
            }
        }
        if gg_core::interrupt::interrupted() {
            eprintln!("gg ninja: interrupted by user");
            return Ok(ExitCode::from(130));
        }
        // Where the answers came from, once the work is done.
        let tally = gg_core::tally::now();
        if tally.total() > 0 {
            eprintln!("gg ninja: {tally}");
            for line in engine.summary() {
                eprintln!("gg ninja: {line}");
            }
        }
        if !ok {
            eprintln!("gg ninja: build stopped: subcommand failed.");
            return Ok(ExitCode::FAILURE);
        }
        let manifest = gg_ninja::canonicalize_path(&a.file);
        if !build.built(&manifest) {
            return Ok(ExitCode::SUCCESS);
        }
    }
    bail!("the manifest `{}` was regenerated 100 times in a row", a.file)
}
