//! Running a planned build ([`Build`], as n2's `Work`). Edges gg models
//! (compiles, archives, links) are turned into thunks and forced together,
//! as one graph, on the engine; the rest run through `/bin/sh` here, in
//! graph order, up to `-j` at once. The two alternate: every modelled edge
//! whose inputs are ready goes in one batch (see `compile_round`), then
//! every ready local edge runs, until nothing is left or a failure stops
//! the build.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::Result;
use gg_core::engine::Executor;
use gg_core::Store;
use gg_ninja::{EdgeId, Graph, NodeId, CONSOLE_POOL};

use super::compile_round;
use super::dirty::{self, Mtimes, Plan};
use super::kind::{self, Kind};
use super::logs::Logs;
use super::state::{Ctx, State};
use super::steps::Made;
use super::Options;

/// A build in progress: what it runs with, its plan, and how far it got.
pub struct Build<'a> {
    cx: Ctx<'a>,
    plan: Plan,
    st: State,
}

impl std::fmt::Debug for Build<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Build").field("dirty", &self.plan.order.len()).field("done", &self.st.done.len()).finish()
    }
}

impl<'a> Build<'a> {
    /// Plans a build of `targets`: reads `.ninja_log` and `.ninja_deps`
    /// from `log_dir` and finds the dirty edges by Ninja's rules.
    pub fn plan(
        graph: &'a Graph,
        store: &'a Store,
        executor: &'a dyn Executor,
        options: &'a Options,
        cwd: PathBuf,
        log_dir: &Path,
        targets: &[NodeId],
    ) -> Result<Self> {
        let logs = Logs::load(log_dir)?;
        let plan = dirty::plan(graph, targets, &logs.build, &logs.deps)?;
        let st = State {
            logs,
            mtimes: Mtimes::default(),
            kinds: Default::default(),
            done: HashSet::new(),
            failed: Vec::new(),
            finished: 0,
            total: 0,
            local_reasons: Vec::new(),
            made: Default::default(),
        };
        Ok(Build { cx: Ctx { graph, store, executor, options, cwd, start: Instant::now() }, plan, st })
    }

    /// Whether no edge but phony ones is dirty.
    pub fn nothing_to_do(&self) -> bool {
        self.plan.order.iter().all(|&e| self.cx.graph.is_phony(e))
    }

    /// Decides how each dirty edge is built.
    pub fn classify(&mut self) {
        let (kinds, reasons) = kind::classify(self.cx.graph, self.cx.store, &self.cx.cwd, &self.plan.order);
        self.st.total = kinds.values().filter(|k| !matches!(k, Kind::Phony)).count();
        self.st.kinds = kinds;
        self.st.local_reasons = reasons;
    }

    /// Prints the progress line of every dirty edge, running none (`-n`).
    pub fn dry_run(&mut self) {
        for &e in &self.plan.order {
            if !self.cx.graph.is_phony(e) {
                self.st.report(&self.cx, e);
            }
        }
    }

    /// Writes `.ninja_log` and `.ninja_deps` back, if they changed.
    pub fn save_logs(&mut self) -> Result<()> {
        self.st.logs.save()
    }

    /// Edges that ran here rather than as thunks, and why.
    pub fn local_reasons(&self) -> &[(EdgeId, String)] {
        &self.st.local_reasons
    }

    /// Whether an edge built by this run wrote `path` (a canonical path).
    pub fn built(&self, path: &str) -> bool {
        let g = self.cx.graph;
        self.st.done.iter().any(|&e| g.edge(e).outputs().iter().any(|&o| g.path(o) == path))
    }

    fn ready(&self, e: EdgeId) -> bool {
        let edge = self.cx.graph.edge(e);
        edge.inputs().iter().all(|&i| match self.cx.graph.producer(i) {
            Some(p) => !self.st.kinds.contains_key(&p) || self.st.done.contains(&p),
            None => true,
        })
    }

    /// Runs the build; `true` if everything asked for was built.
    pub fn run(&mut self) -> bool {
        let mut pending: Vec<EdgeId> = self.plan.order.clone();
        loop {
            pending.retain(|e| !self.st.done.contains(e) && !self.st.failed.contains(e));
            if pending.is_empty() || self.st.stopped(&self.cx) {
                break;
            }
            let mut progress = false;
            for &e in &pending {
                if matches!(self.st.kinds[&e], Kind::Phony) && self.ready(e) {
                    self.st.done.insert(e);
                    progress = true;
                }
            }
            let batch = self.thunk_batch(&pending);
            if !batch.is_empty() {
                compile_round::run(&self.cx, &self.plan, &mut self.st, &batch);
                progress = true;
            }
            if self.st.stopped(&self.cx) {
                break;
            }
            let local: Vec<EdgeId> = pending
                .iter()
                .copied()
                .filter(|e| matches!(self.st.kinds[e], Kind::Local) && !self.st.done.contains(e) && self.ready(*e))
                .collect();
            if !local.is_empty() {
                self.run_local(&local);
                progress = true;
            }
            if !progress {
                break;
            }
        }
        self.st.failed.is_empty() && self.plan.order.iter().all(|e| self.st.done.contains(e))
    }

    /// The edges to force together now: compiles whose inputs are all
    /// built, and archives and links whose inputs are built or made by
    /// the batch itself (so a link travels with the compiles it needs).
    fn thunk_batch(&self, pending: &[EdgeId]) -> Vec<EdgeId> {
        let mut batch = Vec::new();
        let mut in_batch = HashSet::new();
        for &e in pending {
            if self.st.done.contains(&e) {
                continue;
            }
            let ok = match self.st.kinds[&e] {
                Kind::Compile(_) => self.ready(e),
                Kind::Archive | Kind::Link => {
                    self.cx.graph.edge(e).inputs().iter().all(|&i| match self.cx.graph.producer(i) {
                        Some(p) => {
                            !self.st.kinds.contains_key(&p) || self.st.done.contains(&p) || in_batch.contains(&p)
                        }
                        None => true,
                    })
                }
                _ => false,
            };
            if ok {
                batch.push(e);
                in_batch.insert(e);
            }
        }
        batch
    }

    /// Runs ready local edges, up to `-j` at once (`console` edges alone).
    fn run_local(&mut self, edges: &[EdgeId]) {
        // They may write headers that later compiles read.
        gg_wrapper::manifest::forget_checked();
        let jobs = self.cx.options.jobs.max(1);
        for chunk in edges.chunks(jobs) {
            let started: Vec<(EdgeId, Result<std::process::Child, String>, u64)> = chunk
                .iter()
                .map(|&e| {
                    let t = self.cx.millis();
                    (e, self.spawn(e), t)
                })
                .collect();
            for (e, child, t0) in started {
                let result = child.and_then(|c| c.wait_with_output().map_err(|err| err.to_string()));
                match result {
                    Ok(out) if out.status.success() => {
                        gg_core::tally::add(gg_core::tally::Source::RanHere, 1);
                        let rsp = self.cx.graph.rspfile(e);
                        if !rsp.is_empty() {
                            let _ = std::fs::remove_file(self.cx.cwd.join(&rsp));
                        }
                        self.st.report(&self.cx, e);
                        let mut text = out.stdout;
                        text.extend_from_slice(&out.stderr);
                        self.cx.print_output(&text);
                        let t1 = self.cx.millis();
                        self.st.logs.record_local(self.cx.graph, e, &self.cx.cwd, &mut self.st.mtimes, t0, t1);
                        self.st.done.insert(e);
                    }
                    Ok(out) => {
                        let mut text = out.stdout;
                        text.extend_from_slice(&out.stderr);
                        self.st.fail(&self.cx, e, &text);
                    }
                    Err(why) => self.st.fail(&self.cx, e, format!("gg ninja: {why}\n").as_bytes()),
                }
                if self.st.stopped(&self.cx) {
                    return;
                }
            }
        }
    }

    /// Writes the inputs of a local edge that this run's thunks made but
    /// left in the engine's store (`--keep-remote`).
    fn materialize_inputs(&self, e: EdgeId) -> Result<(), String> {
        for &i in self.cx.graph.edge(e).inputs() {
            let path = self.cx.graph.path(i);
            let dest = self.cx.cwd.join(path);
            if dest.exists() {
                continue;
            }
            let value = match self.st.made.get(path) {
                Some(Made::Value(v)) => *v,
                Some(Made::Output(r, _)) => self
                    .cx
                    .store
                    .reduction(&r.thunk)
                    .and_then(|red| red.get(r.output.as_deref()))
                    .ok_or_else(|| format!("no result recorded for `{path}`"))?,
                None => continue,
            };
            self.cx.executor.fetch(&[value]).map_err(|err| err.message)?;
            let (blob, _) = self.cx.store.verified(&value, false).map_err(|err| err.to_string())?;
            gg_core::fsutil::copy_atomic_with_mode(&blob, &dest, 0o644)
                .map_err(|err| format!("cannot write `{}`: {err}", dest.display()))?;
        }
        Ok(())
    }

    fn spawn(&self, e: EdgeId) -> Result<std::process::Child, String> {
        self.materialize_inputs(e)?;
        let rsp = self.cx.graph.rspfile(e);
        if !rsp.is_empty() {
            let path = self.cx.cwd.join(&rsp);
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            std::fs::write(&path, self.cx.graph.rspfile_content(e))
                .map_err(|err| format!("cannot write `{}`: {err}", path.display()))?;
        }
        // Ninja creates the outputs' folders first.
        for &o in self.cx.graph.edge(e).outputs() {
            if let Some(dir) = Path::new(self.cx.graph.path(o)).parent() {
                let _ = std::fs::create_dir_all(self.cx.cwd.join(dir));
            }
        }
        let console = self.cx.graph.edge(e).pool() == CONSOLE_POOL;
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(self.cx.graph.command(e)).current_dir(&self.cx.cwd);
        if console {
            cmd.stdin(Stdio::inherit()).stdout(Stdio::inherit()).stderr(Stdio::inherit());
        } else {
            cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        cmd.spawn().map_err(|err| format!("cannot run /bin/sh: {err}"))
    }
}
