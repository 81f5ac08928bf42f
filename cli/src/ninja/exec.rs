//! Running a planned build. Edges gg models (compiles) are turned into
//! thunks and forced together, as one graph, on the engine; the rest run
//! through `/bin/sh` here, in graph order, up to `-j` at once. The two
//! alternate: every modelled edge whose inputs are ready goes in one batch,
//! then every ready local edge runs, until nothing is left or a failure
//! stops the build.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use gg_core::engine::Executor;
use gg_core::Store;
use gg_ninja::{EdgeId, Graph, CONSOLE_POOL};
use gg_wrapper::plan::CompileStep;

use super::dirty::{Mtimes, Plan};
use super::logs::Logs;
use super::{compile_round, Options};

/// The one command `command` runs, as words (CMake wraps some as
/// `: && CMD && :`), if the shell would do nothing more.
fn simple(command: &str) -> Option<Vec<String>> {
    let mut steps = gg_wrapper::tool::shell_steps(command).ok()?;
    (steps.len() == 1).then(|| steps.pop().expect("one"))
}

/// How one edge is built.
pub enum Kind {
    Phony,
    Compile(Box<CompileStep>),
    /// Looks like `ar`, `gcc-ar` or `llvm-ar` (and `ranlib`): modelled once
    /// its inputs are known.
    Archive,
    /// Looks like a link by the compiler driver: likewise.
    Link,
    Local,
}

/// A build in progress.
pub struct Build<'a> {
    pub graph: &'a Graph,
    pub store: &'a Store,
    pub executor: &'a dyn Executor,
    pub options: &'a Options,
    pub cwd: PathBuf,
    pub plan: Plan,
    pub logs: Logs,
    pub mtimes: Mtimes,
    pub kinds: HashMap<EdgeId, Kind>,
    pub done: HashSet<EdgeId>,
    pub failed: Vec<EdgeId>,
    pub finished: usize,
    pub total: usize,
    pub start: Instant,
    /// Edges that ran locally, and why (for `-d explain`-like output).
    pub local_reasons: Vec<(EdgeId, String)>,
    /// Outputs of this run's thunks, by canonical path: how later archives
    /// and links name them, and where to get those not written here
    /// (`--keep-remote`) when a local step needs them.
    pub made: HashMap<String, super::steps::Made>,
}

impl Build<'_> {
    /// Decides how each dirty edge is built (on all cores: a large build
    /// has tens of thousands of command lines to read).
    pub fn classify(&mut self) {
        let edges: Vec<EdgeId> = self.plan.order.iter().copied().filter(|&e| !self.graph.is_phony(e)).collect();
        let threads = std::thread::available_parallelism().map_or(1, usize::from).min(8);
        let chunk = edges.len().div_ceil(threads).max(1);
        let this = &*self;
        let models: Vec<Vec<(EdgeId, Result<CompileStep, String>)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = edges
                .chunks(chunk)
                .map(|part| scope.spawn(move || part.iter().map(|&e| (e, this.model(e))).collect()))
                .collect();
            handles.into_iter().map(|h| h.join().expect("modelling does not panic")).collect()
        });
        for &e in &self.plan.order {
            if self.graph.is_phony(e) {
                self.kinds.insert(e, Kind::Phony);
            }
        }
        for (e, model) in models.into_iter().flatten() {
            let kind = match model {
                Ok(step) => Kind::Compile(Box::new(step)),
                Err(why) => match self.archive_or_link(e) {
                    Some(kind) => kind,
                    None => {
                        self.local_reasons.push((e, why));
                        Kind::Local
                    }
                },
            };
            self.kinds.insert(e, kind);
        }
        self.total = edges.len();
    }

    /// Whether the edge looks like an archive or a link (the models decide
    /// once the inputs are known).
    fn archive_or_link(&self, e: EdgeId) -> Option<Kind> {
        if !self.graph.rspfile(e).is_empty() || self.graph.edge(e).pool() == CONSOLE_POOL {
            return None;
        }
        let steps = gg_wrapper::tool::shell_steps(&self.graph.command(e)).ok()?;
        let base = |w: &str| Path::new(w).file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        if steps.iter().any(|s| gg_wrapper::archiver::family(&s[0], "ar").is_some()) {
            return Some(Kind::Archive);
        }
        let argv = simple(&self.graph.command(e))?;
        let compile_only = argv.iter().any(|a| matches!(a.as_str(), "-c" | "-S" | "-E"));
        (gg_wrapper::invoke::is_compiler_name(&base(&argv[0])) && !compile_only).then_some(Kind::Link)
    }

    fn model(&self, e: EdgeId) -> Result<CompileStep, String> {
        if !self.graph.rspfile(e).is_empty() {
            return Err("a response file".into());
        }
        if self.graph.edge(e).pool() == CONSOLE_POOL {
            return Err("the console pool".into());
        }
        let command = self.graph.command(e);
        let argv = simple(&command).ok_or("not a simple command")?;
        let step = CompileStep::model(self.store, &argv, &self.cwd)?;
        // The edge's outputs must be what the compile writes.
        let outs: Vec<&str> = self.graph.edge(e).outputs().iter().map(|&n| self.graph.path(n)).collect();
        if outs != [gg_ninja::canonicalize_path(&step.output()).as_str()] {
            return Err(format!("its outputs {outs:?} are not the compile's `{}`", step.output()));
        }
        Ok(step)
    }

    fn ready(&self, e: EdgeId) -> bool {
        let edge = self.graph.edge(e);
        edge.inputs().iter().all(|&i| match self.graph.producer(i) {
            Some(p) => !self.kinds.contains_key(&p) || self.done.contains(&p),
            None => true,
        })
    }

    /// Runs the build; `true` if everything asked for was built.
    pub fn run(&mut self) -> bool {
        let mut pending: Vec<EdgeId> = self.plan.order.clone();
        loop {
            pending.retain(|e| !self.done.contains(e) && !self.failed.contains(e));
            if pending.is_empty() || self.stopped() {
                break;
            }
            let mut progress = false;
            for &e in &pending {
                if matches!(self.kinds[&e], Kind::Phony) && self.ready(e) {
                    self.done.insert(e);
                    progress = true;
                }
            }
            let batch = self.thunk_batch(&pending);
            if !batch.is_empty() {
                compile_round::run(self, &batch);
                progress = true;
            }
            if self.stopped() {
                break;
            }
            let local: Vec<EdgeId> = pending
                .iter()
                .copied()
                .filter(|e| matches!(self.kinds[e], Kind::Local) && !self.done.contains(e) && self.ready(*e))
                .collect();
            if !local.is_empty() {
                self.run_local(&local);
                progress = true;
            }
            if !progress {
                break;
            }
        }
        self.failed.is_empty() && self.plan.order.iter().all(|e| self.done.contains(e))
    }

    /// The edges to force together now: compiles whose inputs are all
    /// built, and archives and links whose inputs are built or made by
    /// the batch itself (so a link travels with the compiles it needs).
    fn thunk_batch(&self, pending: &[EdgeId]) -> Vec<EdgeId> {
        let mut batch = Vec::new();
        let mut in_batch = HashSet::new();
        for &e in pending {
            if self.done.contains(&e) {
                continue;
            }
            let ok = match self.kinds[&e] {
                Kind::Compile(_) => self.ready(e),
                Kind::Archive | Kind::Link => {
                    self.graph.edge(e).inputs().iter().all(|&i| match self.graph.producer(i) {
                        Some(p) => !self.kinds.contains_key(&p) || self.done.contains(&p) || in_batch.contains(&p),
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

    /// Whether failures reached `-k`'s limit.
    pub fn stopped(&self) -> bool {
        self.options.keep_going != 0 && self.failed.len() >= self.options.keep_going
            || gg_core::interrupt::interrupted()
    }

    /// Prints the progress line for a finished edge.
    pub fn report(&mut self, e: EdgeId) {
        self.finished += 1;
        let desc = self.graph.description(e);
        let text = if desc.is_empty() || self.options.verbose { self.graph.command(e) } else { desc };
        println!("[{}/{}] {text}", self.finished, self.total);
    }

    /// Prints what an edge's command printed, its escape sequences
    /// stripped unless colour is supported, as Ninja does.
    pub fn print_output(&self, output: &[u8]) {
        if output.is_empty() {
            return;
        }
        let text = if self.options.color { output.into() } else { super::color::strip_escapes(output) };
        let _ = std::io::stdout().lock().write_all(&text);
    }

    /// Prints a failed edge the way Ninja does and removes what it left.
    pub fn fail(&mut self, e: EdgeId, output: &[u8]) {
        self.finished += 1;
        let outs: Vec<&str> = self.graph.edge(e).outputs().iter().map(|&n| self.graph.path(n)).collect();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}{}", super::color::failed_label(self.options.color), outs.join(" "));
        let _ = writeln!(out, "{}", self.graph.command(e));
        drop(out);
        self.print_output(output);
        self.failed.push(e);
    }

    /// Runs ready local edges, up to `-j` at once (`console` edges alone).
    fn run_local(&mut self, edges: &[EdgeId]) {
        // They may write headers that later compiles read.
        gg_wrapper::manifest::forget_checked();
        let jobs = self.options.jobs.max(1);
        for chunk in edges.chunks(jobs) {
            let started: Vec<(EdgeId, Result<std::process::Child, String>, u64)> = chunk
                .iter()
                .map(|&e| {
                    let t = self.start.elapsed().as_millis() as u64;
                    (e, self.spawn(e), t)
                })
                .collect();
            for (e, child, t0) in started {
                let result = child.and_then(|c| c.wait_with_output().map_err(|err| err.to_string()));
                match result {
                    Ok(out) if out.status.success() => {
                        let rsp = self.graph.rspfile(e);
                        if !rsp.is_empty() {
                            let _ = std::fs::remove_file(self.cwd.join(&rsp));
                        }
                        self.report(e);
                        let mut text = out.stdout;
                        text.extend_from_slice(&out.stderr);
                        self.print_output(&text);
                        let t1 = self.start.elapsed().as_millis() as u64;
                        self.logs.record_local(self.graph, e, &self.cwd, &mut self.mtimes, t0, t1);
                        self.done.insert(e);
                    }
                    Ok(out) => {
                        let mut text = out.stdout;
                        text.extend_from_slice(&out.stderr);
                        self.fail(e, &text);
                    }
                    Err(why) => self.fail(e, format!("gg ninja: {why}\n").as_bytes()),
                }
                if self.stopped() {
                    return;
                }
            }
        }
    }

    /// Writes the inputs of a local edge that this run's thunks made but
    /// left in the engine's store (`--keep-remote`).
    fn materialize_inputs(&self, e: EdgeId) -> Result<(), String> {
        for &i in self.graph.edge(e).inputs() {
            let path = self.graph.path(i);
            let dest = self.cwd.join(path);
            if dest.exists() {
                continue;
            }
            let value = match self.made.get(path) {
                Some(super::steps::Made::Value(v)) => *v,
                Some(super::steps::Made::Output(r, _)) => self
                    .store
                    .reduction(&r.thunk)
                    .and_then(|red| red.get(r.output.as_deref()))
                    .ok_or_else(|| format!("no result recorded for `{path}`"))?,
                None => continue,
            };
            self.executor.fetch(&[value]).map_err(|err| err.message)?;
            let (blob, _) = self.store.verified(&value, false).map_err(|err| err.to_string())?;
            gg_core::fsutil::copy_atomic_with_mode(&blob, &dest, 0o644)
                .map_err(|err| format!("cannot write `{}`: {err}", dest.display()))?;
        }
        Ok(())
    }

    fn spawn(&self, e: EdgeId) -> Result<std::process::Child, String> {
        self.materialize_inputs(e)?;
        let rsp = self.graph.rspfile(e);
        if !rsp.is_empty() {
            let path = self.cwd.join(&rsp);
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            std::fs::write(&path, self.graph.rspfile_content(e))
                .map_err(|err| format!("cannot write `{}`: {err}", path.display()))?;
        }
        // Ninja creates the outputs' folders first.
        for &o in self.graph.edge(e).outputs() {
            if let Some(dir) = Path::new(self.graph.path(o)).parent() {
                let _ = std::fs::create_dir_all(self.cwd.join(dir));
            }
        }
        let console = self.graph.edge(e).pool() == CONSOLE_POOL;
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(self.graph.command(e)).current_dir(&self.cwd);
        if console {
            cmd.stdin(Stdio::inherit()).stdout(Stdio::inherit()).stderr(Stdio::inherit());
        } else {
            cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        cmd.spawn().map_err(|err| format!("cannot run /bin/sh: {err}"))
    }
}
