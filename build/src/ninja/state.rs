//! What a running build shares between its loop ([`super::exec`]) and its
//! compile rounds: [`Ctx`], fixed for the run (the graph, the store, the
//! engine, the options), and [`State`], what the run has done so far, with
//! the progress lines and failure reports Ninja prints as edges finish.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use gg_core::engine::Executor;
use gg_core::Store;
use gg_ninja::{EdgeId, Graph};

use super::color;
use super::dirty::Mtimes;
use super::kind::Kind;
use super::logs::Logs;
use super::steps::Made;
use super::Options;

/// What a build runs with, unchanged while it runs.
pub(super) struct Ctx<'a> {
    pub graph: &'a Graph,
    pub store: &'a Store,
    pub executor: &'a dyn Executor,
    pub options: &'a Options,
    /// The build folder, as the compilers it runs name it.
    pub cwd: PathBuf,
    /// When the build began: `.ninja_log` times count from here.
    pub start: Instant,
}

impl Ctx<'_> {
    /// Milliseconds since the build began, as `.ninja_log` records them.
    pub fn millis(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Prints what an edge's command printed, its escape sequences
    /// stripped unless colour is supported, as Ninja does.
    pub fn print_output(&self, output: &[u8]) {
        if output.is_empty() {
            return;
        }
        let text = if self.options.color { output.into() } else { color::strip_escapes(output) };
        let _ = std::io::stdout().lock().write_all(&text);
    }
}

/// How far a build got.
pub(super) struct State {
    pub logs: Logs,
    pub mtimes: Mtimes,
    pub kinds: HashMap<EdgeId, Kind>,
    pub done: HashSet<EdgeId>,
    pub failed: Vec<EdgeId>,
    /// Edges reported (built or failed), and how many will be: the
    /// progress line's `[finished/total]`.
    pub finished: usize,
    pub total: usize,
    /// Edges that ran locally, and why (for `-d explain`-like output).
    pub local_reasons: Vec<(EdgeId, String)>,
    /// Outputs of this run's thunks, by canonical path: how later archives
    /// and links name them, and where to get those not written here
    /// (`--keep-remote`) when a local step needs them.
    pub made: HashMap<String, Made>,
}

impl State {
    /// Whether failures reached `-k`'s limit, or the user interrupted.
    pub fn stopped(&self, cx: &Ctx<'_>) -> bool {
        cx.options.keep_going != 0 && self.failed.len() >= cx.options.keep_going || gg_core::interrupt::interrupted()
    }

    /// Prints the progress line for a finished edge.
    pub fn report(&mut self, cx: &Ctx<'_>, e: EdgeId) {
        self.finished += 1;
        let desc = cx.graph.description(e);
        let text = if desc.is_empty() || cx.options.verbose { cx.graph.command(e) } else { desc };
        println!("[{}/{}] {text}", self.finished, self.total);
    }

    /// Prints a failed edge the way Ninja does and counts it failed.
    pub fn fail(&mut self, cx: &Ctx<'_>, e: EdgeId, output: &[u8]) {
        self.finished += 1;
        let outs: Vec<&str> = cx.graph.edge(e).outputs().iter().map(|&n| cx.graph.path(n)).collect();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}{}", color::failed_label(cx.options.color), outs.join(" "));
        let _ = writeln!(out, "{}", cx.graph.command(e));
        drop(out);
        cx.print_output(output);
        self.failed.push(e);
    }
}
