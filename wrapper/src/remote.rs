//! A miss on a remote engine: choose the files the compile needs (the
//! include scanner's superset, see `inputs`), build the thunk, send it, and
//! write what comes back as a local compile would: the object, and the
//! user's depfile and the direct-mode entry from the dependency list the
//! compile itself wrote. Anything short of a clean answer falls back to
//! compiling in place.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use gg_core::engine::{Executor, FailKind, Job as EngineJob};
use gg_core::Reduction;

use crate::depfile;
use crate::deps::user_depfile_bytes;
use crate::job::Job;
use crate::log::debug;
use crate::prepare::{commit, prepare_interned};
use crate::stats::{self, Event};
use crate::write_out::write_out;

/// `Ok(Some(code))` when the engine answered, `Ok(None)` to compile in place.
pub(crate) fn compile(job: &Job<'_>, engine: &dyn Executor, key: &str) -> Result<Option<i32>> {
    let c = job.compile;
    let chosen = match crate::inputs::choose(job) {
        Ok(Some(c)) => c,
        Ok(None) => return Ok(None),
        Err(e) => match e.downcast::<crate::inputs::Missed>() {
            Ok(missed) => {
                crate::ran::mark();
                eprintln!("gg-cc: error: {missed}");
                return Ok(Some(1));
            }
            Err(e) => return Err(e),
        },
    };
    // Prepared as `gg ninja` prepares the thunks it forces: no compiler
    // runs here, so nothing can have read a file other than the bytes
    // hashed (each input's stat is taken before it is read, and an upload
    // hashes the file again); the check of every input for a change
    // "during the compile" was a second `stat` per input, for nothing.
    let prepared = match prepare_interned(job, chosen.files, None)? {
        Ok(p) => p,
        Err(_) => return Ok(None),
    };
    let name = prepared.name;
    let cached_before = engine.answered_from_cache();
    // Stored under its name as prepared (the engine may send those bytes).
    let outcome = match engine.execute(&EngineJob { name, thunk: &prepared.thunk, stored: Some(name) }) {
        Ok(o) => o,
        Err(e) if e.kind == FailKind::Exit && chosen.scanned => {
            // Maybe a header the scanner missed: the compiler in place
            // gives the verdict (and words it).
            debug(&format!("the compile of `{}` failed on the scanned inputs", c.source));
            return Ok(None);
        }
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
    if let Err(e) = engine.fetch(&outcome.outputs) {
        if strict() {
            eprintln!("gg-cc: error: cannot fetch the object of `{}`: {}", c.source, e.message);
            return Ok(Some(1));
        }
        debug(&format!("cannot fetch the object of `{}`: {}", c.source, e.message));
        return Ok(None);
    }
    // The exact list of what the compile read, from the compile.
    let read = match outcome.outputs.get(1) {
        Some(list) => Some(depfile::from_canonical(&job.store.get_verified(list)?).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let user_dep = match (job.depfile_request(), &read) {
        (Some(d), Some(read)) => Some((job.user_depfile(d), user_depfile_bytes(job, d, read))),
        (Some(_), None) => return Ok(None),
        _ => None,
    };
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
    let mut prepared = prepared;
    if let Some(read) = &read {
        crate::prepare::narrow(job, &mut prepared, read);
    }
    let reduction = Reduction {
        outputs: prepared.thunk.outputs.iter().cloned().zip(outcome.outputs.iter().copied()).collect(),
        stdout: outcome.stdout,
        stderr: outcome.stderr,
        executable: outcome.executable,
    };
    if let Err(e) = commit(job, key, prepared, &reduction, user_dep.as_ref()) {
        debug(&format!("not recorded: {e:#}"));
    }
    if engine.answered_from_cache() > cached_before {
        // The thunk's result was stored where the engine runs (another
        // machine ran it): a hit once the inputs were known, as
        // ccache's preprocessed mode counts one.
        debug(&format!("`{}`: thunk {name} answered from the engine's cache", c.source));
        stats::note(job.store, &Event::PreprocessedHit);
    } else {
        stats::note(job.store, &Event::Miss { bytes: object.size() });
    }
    Ok(Some(0))
}

/// Whether `GG_REMOTE_STRICT=1` (or `strict = true` in the config file)
/// forbids compiling here what the engine could not.
fn strict() -> bool {
    gg_core::config::engine().is_ok_and(|c| c.strict == Some(true))
}
