//! `gg`: the command line over gg's core — hash and store files, make and
//! inspect thunks, force them on the configured engine, check the store.

mod create;
mod describe;
mod force;
mod lambda;
mod masquerade;
mod ninja;
mod spec;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use gg_core::Store;

/// jemalloc: `gg ninja` holds every compile of a round in memory while
/// threads make, send and finish them; glibc's allocator slowed down as
/// that grew (docs/design.md, "The client's work per compile").
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The version, with the IR version it reads and writes.
fn version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| format!("{} (gg IR {})", env!("CARGO_PKG_VERSION"), gg_core::thunk::IR_VERSION))
}

#[derive(Parser, Debug)]
#[command(name = "gg", version = version(), about = "Run builds as content-addressed thunks: cached locally, or on many machines")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the value name of each file (`NAME  FILE`), without storing it.
    Hash {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Copy files into the store and print their names (`NAME  FILE`).
    Put {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Make a thunk, store it and print its name.
    CreateThunk(create::Args),
    /// Show a thunk or value (by name, placeholder file or thunk file).
    Describe(describe::Args),
    /// Run thunks (and everything they need) and write their outputs.
    Force(force::Args),
    /// Re-hash every store entry; report and move aside corrupt ones.
    Fsck,
    /// Remove the least recently used cache entries until the store is
    /// within its size limit (`[store] max_size`, `GG_MAX_SIZE`), and
    /// count its size afresh.
    Gc {
        /// This limit instead of the configured one (`5G`, `512M`, bytes).
        #[arg(long, value_name = "SIZE")]
        max_size: Option<String>,
    },
    /// Show gg-cc's counters (hits, misses, local runs by reason) and the
    /// store's size and limit.
    Stats {
        /// Reset every counter to zero.
        #[arg(long)]
        zero: bool,
    },
    /// Build a Ninja project through gg (as `ninja`, with the same flags).
    Ninja(ninja::Args),
    /// Package, deploy and feed the Lambda engine's function.
    #[command(subcommand)]
    Lambda(lambda::Command),
    /// Put a `ninja` in DIR that runs `gg ninja` for `ninja -t gg` and the
    /// real ninja otherwise; put DIR first on PATH.
    InstallNinjaShim { dir: PathBuf },
    /// Fill DIR with links named cc, gcc, g++, c++, clang, clang++ (and the
    /// versioned names found on PATH) to gg-cc; put DIR first on PATH.
    MasqueradeDir { dir: PathBuf },
}

fn main() -> ExitCode {
    gg_engines::shared::register();
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gg: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the store gg uses here (see [`Store::locate`]).
fn open_store() -> Result<Store> {
    let root = Store::locate().map_err(anyhow::Error::msg)?;
    Store::open(&root).with_context(|| format!("cannot open the store at `{}`", root.display()))
}

fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Hash { files } => {
            for f in files {
                let name = gg_core::Name::of_file(&f).with_context(|| format!("cannot hash `{}`", f.display()))?;
                println!("{name}  {}", f.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Put { files } => {
            let store = open_store()?;
            for f in files {
                let name = store.put_file(&f)?;
                println!("{name}  {}", f.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::CreateThunk(args) => create::run(&open_store()?, args),
        Command::Describe(args) => describe::run(&open_store()?, &args),
        Command::Force(args) => {
            let store = open_store()?;
            let running = gg_core::evict::running(store.root());
            let result = force::run(&store, &args);
            drop(running);
            gg_wrapper::settle(&store);
            result
        }
        Command::Fsck => fsck(&open_store()?),
        Command::Gc { max_size } => gc(&open_store()?, max_size.as_deref()),
        Command::Stats { zero } => stats(&open_store()?, zero),
        Command::MasqueradeDir { dir } => masquerade::run(&dir),
        Command::Ninja(args) => ninja::run(&args),
        Command::Lambda(cmd) => lambda::run(&cmd),
        Command::InstallNinjaShim { dir } => ninja::shim::install(&dir).map(|()| ExitCode::SUCCESS),
    }
}

fn gc(store: &Store, max_size: Option<&str>) -> Result<ExitCode> {
    use gg_core::evict::{self, format_size};
    let limit = match max_size {
        Some(text) => evict::parse_size(text).map_err(|why| anyhow::anyhow!("--max-size `{text}`: {why}"))?,
        None => gg_core::config::max_size().map_err(anyhow::Error::msg)?,
    };
    let c = evict::clean(store.root(), limit, None)
        .with_context(|| format!("cannot clean `{}`", store.root().display()))?;
    if c.busy {
        println!("another process is cleaning the store; nothing done");
        return Ok(ExitCode::SUCCESS);
    }
    let limit_text = if limit == 0 { "no limit".to_string() } else { format!("limit {}", format_size(limit)) };
    println!(
        "store {}: {} before, {} after ({limit_text}); {} file(s) removed{}",
        store.root().display(),
        format_size(c.before),
        format_size(c.after),
        c.removed,
        if c.kept_in_use > 0 { format!(", {} kept for running builds", c.kept_in_use) } else { String::new() }
    );
    Ok(ExitCode::SUCCESS)
}

fn stats(store: &Store, zero: bool) -> Result<ExitCode> {
    use gg_wrapper::stats;
    if zero {
        stats::zero(store)?;
        println!("statistics zeroed");
        return Ok(ExitCode::SUCCESS);
    }
    let s = stats::read(store)?;
    let hits = s.direct_hits + s.preprocessed_hits;
    let cacheable = hits + s.misses;
    let rate = if cacheable == 0 { 0.0 } else { 100.0 * hits as f64 / cacheable as f64 };
    println!("store                  {}", store.root().display());
    println!("calls                  {}", s.calls);
    println!("cache hits             {hits} ({rate:.1}% of cacheable calls)");
    println!("  direct hits          {}", s.direct_hits);
    println!("  preprocessed hits    {}", s.preprocessed_hits);
    println!("misses                 {}", s.misses);
    for (why, n) in &s.uncacheable {
        println!("not recorded           {n}  {why}");
    }
    for (why, n) in &s.local {
        println!("run locally            {n}  {why}");
    }
    for (why, n) in &s.scan_fallbacks {
        println!("scanned by preprocessor {n}  {why}");
    }
    if s.scan_misses > 0 {
        println!("scanner misses         {}", s.scan_misses);
    }
    if let Ok(Some(url)) = gg_core::config::cache().map(|c| c.remote) {
        println!("remote cache           {url}");
    }
    if s.remote_hits + s.remote_misses + s.remote_errors + s.remote_writes > 0 {
        println!("  remote hits          {}", s.remote_hits);
        println!("  remote misses        {}", s.remote_misses);
        println!("  remote errors        {}", s.remote_errors);
        println!("  remote writes        {}", s.remote_writes);
    }
    println!("bytes stored           {}", s.bytes_stored);
    // The running total (see `gg_core::evict`): exact after a clean or
    // `gg gc`, an estimate in between.
    let size = gg_core::evict::format_size(gg_core::evict::counted(store.root()));
    match gg_core::config::max_size() {
        Ok(0) => println!("store size             {size} (no limit)"),
        Ok(limit) => println!("store size             {size} of {}", gg_core::evict::format_size(limit)),
        Err(e) => println!("store size             {size} (the limit: {e})"),
    }
    Ok(ExitCode::SUCCESS)
}

fn fsck(store: &Store) -> Result<ExitCode> {
    let report = gg_core::fsck::fsck(store)?;
    for (path, why, moved) in &report.corrupt {
        println!("corrupt: {}: {why} (moved to {})", path.display(), moved.display());
    }
    if report.stale_removed > 0 {
        println!("removed {} stale temp file(s) and sandbox(es) left by interrupted runs", report.stale_removed);
    }
    let mb = report.bytes as f64 / 1e6;
    println!(
        "checked {} entries ({mb:.1} MB) in {}: {} corrupt",
        report.checked,
        store.root().display(),
        report.corrupt.len()
    );
    Ok(if report.corrupt.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
