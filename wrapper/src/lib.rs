//! gg's compiler wrapper: compiler models (option tables, classification,
//! depfiles), toolchain discovery, the compile thunk, direct-mode
//! manifests and statistics, and `run`, which `gg-cc` calls.

pub mod args;
pub mod compile;
pub mod depfile;
pub mod invoke;
pub mod log;
pub mod manifest;
pub mod stats;
pub mod thunkgen;
pub mod toolchain;

use std::os::unix::process::CommandExt;
use std::process::Command;

use anyhow::{Context, Result};
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

/// Handles one gg-cc call; returns the exit code (or never returns, when
/// the real compiler replaces this process).
pub fn run(inv: &Invocation) -> Result<i32> {
    let root = Store::locate();
    let store = Store::open(&root).with_context(|| format!("cannot open the store at `{}`", root.display()))?;
    let args = args::expand_response_files(&inv.args, 0);
    let compile = match args::classify(&args) {
        Classified::Local(reason) => return Err(local(Some(&store), inv, &reason)),
        Classified::Compile(c) => c,
    };
    let toolchain = match toolchain::discover(&store, &inv.compiler) {
        Ok(t) => t,
        Err(e) => return Err(local(Some(&store), inv, &format!("unrecognised compiler ({e:#})"))),
    };
    if compile.deps.as_ref().is_some_and(|d| d.user_only) && !compile::handles_user_only_deps(&toolchain) {
        return Err(local(Some(&store), inv, "-MMD with a compiler whose depfile layout gg does not model"));
    }
    for f in &compile.input_files {
        if std::fs::File::open(f).is_err() {
            return Err(local(Some(&store), inv, &format!("unreadable input file `{f}`")));
        }
    }
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    let job = compile::Job { store: &store, inv, toolchain: &toolchain, args: &args, compile: &compile, cwd };
    compile::run(&job)
}
