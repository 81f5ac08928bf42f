//! A miss on a remote engine: scan the compile's dependencies with the
//! preprocessor (a compile elsewhere cannot tell gg what it read), build
//! the thunk, send it, and write what comes back as a local compile would.
//! Anything short of a clean answer falls back to compiling in place.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use gg_core::engine::{Executor, FailKind, Job as EngineJob};
use gg_core::Reduction;

use crate::depfile;
use crate::deps::{scan, user_only_depfile};
use crate::job::Job;
use crate::log::debug;
use crate::manifest;
use crate::prepare::{commit, prepare};
use crate::stats::{self, Event};
use crate::write_out::write_out;

/// `Ok(Some(code))` when the engine answered, `Ok(None)` to compile in place.
pub(crate) fn compile(job: &Job<'_>, engine: &dyn Executor, key: &str) -> Result<Option<i32>> {
    let c = job.compile;
    let started = manifest::now_ns();
    let (deps, scan_text) = if c.lang.preprocessed_by_compiler() {
        let Some(text) = scan(job)? else { return Ok(None) };
        match depfile::inputs(&text) {
            Ok(d) => (d, text),
            Err(e) => {
                debug(&format!("the dependency scan is unreadable: {e}"));
                return Ok(None);
            }
        }
    } else {
        (vec![c.source.clone()], String::new())
    };
    let user_dep = job.depfile_request().map(|d| {
        let text = if d.user_only { user_only_depfile(job, d, &deps) } else { scan_text.clone().into_bytes() };
        (job.user_depfile(d), text)
    });
    let prepared = match prepare(job, &deps, started)? {
        Ok(p) => p,
        Err(_) => return Ok(None),
    };
    let name = prepared.thunk.name();
    let outcome = match engine.execute(&EngineJob { name, thunk: &prepared.thunk }) {
        Ok(o) => o,
        Err(e) if e.kind == FailKind::Exit => {
            // The compiler's own failure, as it printed it.
            crate::ran::mark();
            let _ = std::io::stderr().write_all(&e.stderr);
            stats::note(job.store, &Event::Uncacheable("compile failed".into()));
            return Ok(Some(1));
        }
        Err(e) => {
            if strict() {
                // GG_REMOTE_STRICT=1: nothing runs here that was meant to
                // run remotely.
                eprintln!("gg-cc: error: the engine did not compile `{}`: {}", c.source, e.message);
                stats::note(job.store, &Event::Uncacheable("engine failed (strict mode)".into()));
                return Ok(Some(1));
            }
            debug(&format!("the engine did not compile `{}`: {}", c.source, e.message));
            return Ok(None);
        }
    };
    let Some(object) = outcome.outputs.first().copied() else { return Ok(None) };
    if let Err(e) = engine.fetch(&[object]) {
        if strict() {
            eprintln!("gg-cc: error: cannot fetch the object of `{}`: {}", c.source, e.message);
            return Ok(Some(1));
        }
        debug(&format!("cannot fetch the object of `{}`: {}", c.source, e.message));
        return Ok(None);
    }
    let (blob, _) = job.store.verified(&object, false)?;
    // Read before anything is written, so that a failure here still
    // leaves the compile to be run in place.
    let mut printed = Vec::new();
    for blob in [outcome.stdout, outcome.stderr] {
        printed.push(match blob {
            Some(n) => job.store.get(&n)?,
            None => Vec::new(),
        });
    }
    let depfile = user_dep.as_ref().map(|(path, bytes)| (Path::new(path), bytes.as_slice()));
    write_out(&blob, Path::new(&c.output_path()), depfile)?;
    crate::ran::mark();
    let _ = std::io::stdout().write_all(&printed[0]);
    let _ = std::io::stderr().write_all(&printed[1]);
    let reduction = Reduction {
        outputs: vec![(prepared.thunk.outputs[0].clone(), object)],
        stdout: outcome.stdout,
        stderr: outcome.stderr,
        executable: outcome.executable,
    };
    if let Err(e) = commit(job, key, prepared, &reduction, user_dep.as_ref()) {
        debug(&format!("not recorded: {e:#}"));
    }
    stats::note(job.store, &Event::Miss { bytes: object.size() });
    Ok(Some(0))
}

/// Whether `GG_REMOTE_STRICT=1` (or `strict = true` in the config file)
/// forbids compiling here what the engine could not.
fn strict() -> bool {
    gg_core::config::engine().is_ok_and(|c| c.strict == Some(true))
}
