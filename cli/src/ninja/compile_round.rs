//! One batch of compile edges: each is answered from the direct-mode
//! manifest, or gets its thunk from its dependencies (the deps log when
//! fresh, else a preprocessor scan, run in parallel); all the thunks are
//! then forced together on the engine, and each compile's object, depfile
//! and log entries are written as Ninja would have them.

use std::io::Write as _;
use std::sync::Mutex;

use gg_core::scheduler::{self, Options};
use gg_core::{Name, OutputRef};
use gg_ninja::EdgeId;
use gg_wrapper::compile::Prepared;
use gg_wrapper::plan::{CompileStep, Hit};

use super::exec::{Build, Kind};

/// What preparing one compile came to.
enum Prep {
    Hit {
        hit: Hit,
        deps: Vec<String>,
    },
    Thunk {
        prepared: Prepared,
        key: Option<String>,
        depfile: Option<String>,
        deps: Vec<String>,
    },
    /// Run it as it is (and let the compiler report what it found).
    Local(String),
}

/// A compile sent to the engine: its edge, thunk, direct-mode key, the
/// depfile text (when scanned) and its dependencies.
type Forced = (EdgeId, Prepared, Option<String>, Option<String>, Vec<String>);

pub fn run(b: &mut Build<'_>, batch: &[EdgeId]) {
    let preps = prepare_all(b, batch);
    let mut forced: Vec<Forced> = Vec::new();
    for (e, prep) in batch.iter().copied().zip(preps) {
        match prep {
            Prep::Local(why) => {
                b.local_reasons.push((e, why));
                b.kinds.insert(e, Kind::Local);
            }
            Prep::Hit { hit, deps } => finish_hit(b, e, &hit, &deps),
            Prep::Thunk { prepared, key, depfile, deps } => forced.push((e, prepared, key, depfile, deps)),
        }
    }
    if forced.is_empty() {
        return;
    }
    let targets: Vec<OutputRef> = forced.iter().map(|(_, p, ..)| OutputRef::first(p.thunk.name())).collect();
    let options = Options { jobs: b.options.jobs, keep_going: true };
    let report = scheduler::force(b.store, b.executor, &targets, options);
    for ((e, prepared, key, depfile, deps), result) in forced.into_iter().zip(report.targets) {
        let thunk = prepared.thunk.name();
        match result {
            Ok(_) => {
                let Some(red) = b.store.reduction(&thunk) else {
                    b.fail(e, b"gg ninja: the engine recorded no result\n");
                    continue;
                };
                if b.options.keep_remote {
                    // Left in the engine's store; Ninja still sees the edge
                    // as dirty, since nothing was written here.
                    b.report(e);
                    b.done.insert(e);
                    continue;
                }
                let step = compile_step(b, e);
                let object = red.get(None).into_iter().collect::<Vec<Name>>();
                let written = b.executor.fetch(&object).map_err(|err| anyhow::anyhow!(err.message)).and_then(|()| {
                    step.finish(
                        b.store,
                        key.as_deref(),
                        prepared,
                        &red,
                        depfile.as_deref().map(str::as_bytes),
                        wants_depfile(b, e),
                    )
                });
                match written {
                    Ok(()) => {
                        b.report(e);
                        print_stored(b, red.stdout);
                        print_stored(b, red.stderr);
                        let t = b.start.elapsed().as_millis() as u64;
                        b.logs.record_compile(b.graph, e, &b.cwd, &mut b.mtimes, &deps, t, t);
                        b.done.insert(e);
                    }
                    Err(err) => b.fail(e, format!("gg ninja: {err:#}\n").as_bytes()),
                }
            }
            Err(why) => {
                let stderr = report
                    .failures
                    .iter()
                    .find(|f| f.thunk == thunk)
                    .map_or_else(|| format!("gg ninja: {why}\n").into_bytes(), |f| f.error.stderr.clone());
                // A failed compile leaves no object behind (the compiler
                // removes its own), so nothing stale looks up to date.
                let out = b.cwd.join(compile_step(b, e).output());
                let _ = std::fs::remove_file(out);
                b.fail(e, &stderr);
            }
        }
        if b.stopped() {
            break;
        }
    }
}

fn compile_step<'b>(b: &'b Build<'_>, e: EdgeId) -> &'b CompileStep {
    match &b.kinds[&e] {
        Kind::Compile(step) => step,
        _ => unreachable!("compile edges only"),
    }
}

/// A depfile is written only where Ninja reads it later (`depfile`
/// without `deps`); with `deps = gcc` Ninja deletes it after reading.
fn wants_depfile(b: &Build<'_>, e: EdgeId) -> bool {
    b.graph.deps(e).is_empty() && !b.graph.depfile(e).is_empty()
}

fn print_stored(b: &Build<'_>, blob: Option<Name>) {
    if let Some(bytes) = blob.and_then(|n| b.store.get(&n).ok()) {
        let _ = std::io::stdout().lock().write_all(&bytes);
    }
}

fn finish_hit(b: &mut Build<'_>, e: EdgeId, hit: &Hit, deps: &[String]) {
    let step = compile_step(b, e);
    let object = hit.reduction.get(None);
    let result = match object {
        None => Err(anyhow::anyhow!("the cached compile has no object")),
        Some(o) => b.executor.fetch(&[o]).map_err(|err| anyhow::anyhow!(err.message)).and_then(|()| {
            let depfile = step.depfile(b.store);
            let written = match (&depfile, &hit.depfile) {
                (Some(p), Some(bytes)) if wants_depfile(b, e) => Some((p.as_str(), bytes.as_slice())),
                _ => None,
            };
            step.write(b.store, &o, written)
        }),
    };
    match result {
        Ok(()) => {
            b.report(e);
            print_stored(b, hit.reduction.stdout);
            print_stored(b, hit.reduction.stderr);
            let t = b.start.elapsed().as_millis() as u64;
            b.logs.record_compile(b.graph, e, &b.cwd, &mut b.mtimes, deps, t, t);
            b.done.insert(e);
        }
        Err(err) => b.fail(e, format!("gg ninja: {err:#}\n").as_bytes()),
    }
}

/// Prepares every compile of the batch, `-j` at a time.
fn prepare_all(b: &Build<'_>, batch: &[EdgeId]) -> Vec<Prep> {
    let results: Vec<Mutex<Option<Prep>>> = batch.iter().map(|_| Mutex::new(None)).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..b.options.jobs.clamp(1, batch.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&e) = batch.get(i) else { break };
                let prep = prepare(b, e).unwrap_or_else(|err| Prep::Local(format!("{err:#}")));
                *results[i].lock().expect("results") = Some(prep);
            });
        }
    });
    results.into_iter().map(|m| m.into_inner().expect("results").expect("every compile prepared")).collect()
}

fn prepare(b: &Build<'_>, e: EdgeId) -> anyhow::Result<Prep> {
    let step = compile_step(b, e);
    let key = step.key(b.store);
    if let Some(hit) = key.as_deref().and_then(|k| step.lookup(b.store, k, wants_depfile(b, e))) {
        // The depfile the compile wrote lists what it read, as Ninja
        // records it; else what the deps log says, else the manifest's.
        let from_depfile =
            hit.depfile.as_deref().and_then(|d| gg_wrapper::depfile::inputs(&String::from_utf8_lossy(d)).ok());
        let deps = from_depfile.or_else(|| b.plan.fresh_deps.get(&e).cloned()).unwrap_or_else(|| hit.inputs.clone());
        return Ok(Prep::Hit { hit, deps });
    }
    let (deps, depfile) = match b.plan.fresh_deps.get(&e) {
        Some(deps) => (deps.clone(), None),
        None => {
            let Some(text) = step.scan(b.store)? else {
                return Ok(Prep::Local("the preprocessor failed".into()));
            };
            let deps = gg_wrapper::depfile::inputs(&text).map_err(|err| anyhow::anyhow!(err))?;
            let depfile = String::from_utf8_lossy(&step.depfile_bytes(b.store, &text, &deps)).into_owned();
            (deps, Some(depfile))
        }
    };
    match step.prepare(b.store, &deps)? {
        Ok(prepared) => Ok(Prep::Thunk { prepared, key, depfile, deps }),
        Err(why) => Ok(Prep::Local(why)),
    }
}
