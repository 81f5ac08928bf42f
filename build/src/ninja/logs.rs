//! `.ninja_log` and `.ninja_deps`, kept as Ninja keeps them, so that a plain
//! `ninja` after `gg ninja` finds everything up to date (and the other way
//! round).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use gg_ninja::build_log::{self, BuildLog, LogEntry};
use gg_ninja::deps_log::{self, DepsLog};
use gg_ninja::{EdgeId, Graph};

use super::dirty::Mtimes;

#[derive(Debug)]
pub struct Logs {
    pub build: BuildLog,
    pub deps: DepsLog,
    build_path: PathBuf,
    deps_path: PathBuf,
    changed: bool,
}

impl Logs {
    /// Reads both logs from `dir` (Ninja's `builddir`, else the build
    /// folder); missing logs are empty, unreadable ones an error.
    pub fn load(dir: &Path) -> Result<Logs> {
        let build_path = dir.join(".ninja_log");
        let deps_path = dir.join(".ninja_deps");
        let build = if build_path.exists() {
            build_log::read(&build_path).with_context(|| format!("cannot read `{}`", build_path.display()))?
        } else {
            BuildLog::new()
        };
        let deps = if deps_path.exists() {
            // A torn last record is dropped, as Ninja drops it.
            deps_log::read(&deps_path).with_context(|| format!("cannot read `{}`", deps_path.display()))?.0
        } else {
            DepsLog::new()
        };
        Ok(Logs { build, deps, build_path, deps_path, changed: false })
    }

    /// Writes both logs back (each through a temp file and a rename).
    pub fn save(&self) -> Result<()> {
        if !self.changed {
            return Ok(());
        }
        if let Some(dir) = self.build_path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
        }
        self.build.write(&self.build_path).with_context(|| format!("cannot write `{}`", self.build_path.display()))?;
        self.deps.write(&self.deps_path).with_context(|| format!("cannot write `{}`", self.deps_path.display()))?;
        Ok(())
    }

    fn record_outputs(&mut self, g: &Graph, e: EdgeId, cwd: &Path, mtimes: &mut Mtimes, t0: u64, t1: u64) -> i128 {
        let hash = build_log::hash_command(&g.command_for_log(e));
        let mut first_mtime = 0;
        for (i, &o) in g.edge(e).outputs().iter().enumerate() {
            let path = g.path(o);
            mtimes.forget(path);
            let mtime = mtimes.get(&cwd.join(path).to_string_lossy()).unwrap_or(0);
            if i == 0 {
                first_mtime = mtime;
            }
            self.build.insert(LogEntry {
                output: path.to_string(),
                command_hash: hash,
                start_ms: i32::try_from(t0).unwrap_or(i32::MAX),
                end_ms: i32::try_from(t1).unwrap_or(i32::MAX),
                mtime: i64::try_from(mtime).unwrap_or(0),
            });
        }
        self.changed = true;
        first_mtime
    }

    /// `deps` canonical already (`gg_ninja::canonicalize_path`).
    fn record_deps(&mut self, g: &Graph, e: EdgeId, mtime: i128, deps: &[String]) {
        let Some(&first) = g.edge(e).outputs().first() else { return };
        let refs: Vec<&str> = deps.iter().map(String::as_str).collect();
        let _ = self.deps.record(g.path(first), u64::try_from(mtime).unwrap_or(0), &refs);
    }

    /// After a local edge: its outputs, and for `deps = gcc` the depfile
    /// it wrote (read, recorded and removed, as Ninja does).
    pub fn record_local(&mut self, g: &Graph, e: EdgeId, cwd: &Path, mtimes: &mut Mtimes, t0: u64, t1: u64) {
        let mtime = self.record_outputs(g, e, cwd, mtimes, t0, t1);
        if g.deps(e) == "gcc" {
            let depfile = cwd.join(g.depfile(e));
            if let Some(deps) =
                std::fs::read_to_string(&depfile).ok().and_then(|t| gg_wrapper::depfile::inputs(&t).ok())
            {
                let canon: Vec<String> = deps.iter().map(|d| gg_ninja::canonicalize_path(d)).collect();
                self.record_deps(g, e, mtime, &canon);
            }
            let _ = std::fs::remove_file(depfile);
        }
    }

    /// After an archive or link thunk: its outputs.
    pub fn record_step(&mut self, g: &Graph, e: EdgeId, cwd: &Path, mtimes: &mut Mtimes, t0: u64, t1: u64) {
        self.record_outputs(g, e, cwd, mtimes, t0, t1);
    }

    /// After a compile gg ran or answered: its output and its inputs, as
    /// canonical paths (made so by the caller, off this one thread).
    #[allow(clippy::too_many_arguments)]
    pub fn record_compile(
        &mut self,
        g: &Graph,
        e: EdgeId,
        cwd: &Path,
        mtimes: &mut Mtimes,
        deps: &[String],
        t0: u64,
        t1: u64,
    ) {
        let mtime = self.record_outputs(g, e, cwd, mtimes, t0, t1);
        if g.deps(e) == "gcc" {
            self.record_deps(g, e, mtime, deps);
        }
    }
}
