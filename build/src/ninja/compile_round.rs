//! One batch: each compile is answered from the direct-mode manifest, or
//! gets its thunk from its dependencies (the deps log when fresh, else a
//! preprocessor scan, run in parallel); archives and links become thunks
//! that name the compiles' outputs; all the thunks are then forced together
//! on the engine, as one graph, and each edge's outputs, depfile and log
//! entries are written as Ninja would have them.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use crate::plan::{CompileStep, Hit};
use gg_core::engine::FailKind;
use gg_core::scheduler::{self, Failure, Options, Resolved};
use gg_core::{Name, OutputRef};
use gg_ninja::EdgeId;
use gg_wrapper::prepare::Prepared;

use super::dirty::Plan;
use super::kind::Kind;
use super::state::{Ctx, State};
use super::steps::{self, Made, Step};

/// What preparing one compile came to.
enum Prep {
    /// Answered from the cache; the object (and depfile) already written,
    /// or why not.
    Hit {
        written: Result<(), String>,
        hit: Hit,
        deps: Vec<String>,
    },
    Thunk {
        prepared: Box<Prepared>,
        key: Option<String>,
        scanned: bool,
    },
    /// Run it as it is (and let the compiler report what it found).
    Local(String),
    /// The edge fails with this message (`GG_VERIFY_SCAN=1` caught a miss).
    Failed(String),
    /// Compiled in place (the local engine): what it read and printed, and
    /// the object's name if it was recorded.
    Here {
        read: Vec<String>,
        printed: Vec<u8>,
        object: Option<Name>,
    },
    /// Compiled in place and failed: what it printed.
    HereFailed(Vec<u8>),
}

/// A compile sent to the engine: its edge, thunk, direct-mode key, and
/// whether the include scanner chose its inputs.
type Forced = (EdgeId, Prepared, Option<String>, bool);

pub(super) fn run(cx: &Ctx<'_>, plan: &Plan, st: &mut State, batch: &[EdgeId]) {
    // Nothing runs here while a round is prepared: each file is looked
    // at once for the whole round (see `gg_wrapper::snapshot`).
    let t0 = std::time::Instant::now(); // where a round's time goes, for `GG_LOG=debug`
    gg_wrapper::snapshot::begin();
    gg_wrapper::scan::keep_closures();
    let mut made: HashMap<String, Made> = std::mem::take(&mut st.made);
    let mut modelled: HashSet<EdgeId> = HashSet::new();
    let forced = compile_thunks(cx, plan, st, batch, &mut made, &mut modelled);
    let stepped = step_thunks(cx, st, batch, &mut made, &mut modelled);
    // Later rounds name these outputs the same way.
    st.made = made;
    if forced.is_empty() && stepped.is_empty() {
        return;
    }
    // The whole batch in one force: links consume the compiles' outputs
    // where the engine made them.
    let mut targets: Vec<OutputRef> = forced.iter().map(|(_, p, ..)| OutputRef::first(p.name)).collect();
    targets.extend(stepped.iter().map(|(_, s)| OutputRef::first(s.thunk.name())));
    let options = Options { jobs: cx.options.jobs, keep_going: true };
    let prepared = t0.elapsed();
    let forced_count = forced.len();
    let (report, finished) = force_and_write(cx, st, forced, &targets, options);
    let ran = t0.elapsed();
    let mut results = report.targets.into_iter().skip(forced_count);
    // Edges whose thunks the engine could not run (a full or read-only
    // store): they run here, as Ninja would run them, and so do the
    // archives and links waiting for them.
    let mut degraded: HashSet<EdgeId> = HashSet::new();
    let failures = &report.failures;
    if finish_compiles(cx, st, finished, failures, &mut degraded).is_break() {
        return;
    }
    if gg_wrapper::log::enabled() {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        eprintln!(
            "gg ninja: round of {} compiles and {} other steps: thunks made by {:.0} ms, forced (and their files written) by {:.0} ms, compiles reported by {:.0} ms",
            forced_count,
            stepped.len(),
            ms(prepared),
            ms(ran),
            ms(t0.elapsed())
        );
    }
    finish_steps(cx, st, stepped, &mut results, failures, &mut degraded);
}

/// Prepares the batch's compiles: those answered from the cache are
/// written and reported now; the rest are returned, to be forced. What
/// each makes goes in `made`, and each that is a thunk or a value in
/// `modelled`.
fn compile_thunks(
    cx: &Ctx<'_>,
    plan: &Plan,
    st: &mut State,
    batch: &[EdgeId],
    made: &mut HashMap<String, Made>,
    modelled: &mut HashSet<EdgeId>,
) -> Vec<Forced> {
    let compiles: Vec<EdgeId> = batch.iter().copied().filter(|e| matches!(st.kinds[e], Kind::Compile(_))).collect();
    let preps = prepare_all(cx, plan, st, &compiles);
    // What the round's scans learnt of headers, for the next run.
    gg_wrapper::scan::flush_index();
    let mut forced: Vec<Forced> = Vec::new();
    for (e, prep) in compiles.iter().copied().zip(preps) {
        let out = gg_ninja::canonicalize_path(&compile_step(st, e).output());
        match prep {
            Prep::Local(why) => {
                st.local_reasons.push((e, why));
                st.kinds.insert(e, Kind::Local);
            }
            Prep::Hit { hit, deps, written } => {
                gg_core::tally::add(hit.origin.source(), 1);
                if let Some(v) = hit.reduction.get(None) {
                    made.insert(out, Made::Value(v));
                    modelled.insert(e);
                }
                finish_hit(cx, st, e, &hit, &deps, written);
            }
            Prep::Thunk { prepared, key, scanned } => {
                let r = OutputRef { thunk: prepared.name, output: prepared.thunk.outputs.first().cloned() };
                // Forced below: the scheduler takes it as made.
                cx.store.hand_over(prepared.name, std::sync::Arc::clone(&prepared.thunk));
                made.insert(out, Made::Output(r, steps::Produced::Plain));
                modelled.insert(e);
                forced.push((e, *prepared, key, scanned));
            }
            Prep::Failed(text) => st.fail(cx, e, format!("gg ninja: error: {text}\n").as_bytes()),
            Prep::HereFailed(printed) => st.fail(cx, e, &printed),
            Prep::Here { read, printed, object } => {
                if let Some(v) = object {
                    made.insert(out, Made::Value(v));
                    modelled.insert(e);
                }
                st.report(cx, e);
                cx.print_output(&printed);
                let t = cx.millis();
                st.logs.record_compile(cx.graph, e, &cx.cwd, &mut st.mtimes, &read, t, t);
                st.done.insert(e);
            }
        }
    }
    forced
}

/// Models the batch's archives and links, inputs first (the batch is in
/// graph order), naming the outputs of this round's thunks from `made`;
/// those that cannot be thunks now run here.
fn step_thunks(
    cx: &Ctx<'_>,
    st: &mut State,
    batch: &[EdgeId],
    made: &mut HashMap<String, Made>,
    modelled: &mut HashSet<EdgeId>,
) -> Vec<(EdgeId, Step)> {
    let in_batch: HashSet<EdgeId> = batch.iter().copied().collect();
    let mut stepped: Vec<(EdgeId, Step)> = Vec::new();
    for &e in batch {
        let archive = match st.kinds[&e] {
            Kind::Archive => true,
            Kind::Link => false,
            _ => continue,
        };
        // An input from a batch edge that is no thunk now: next round.
        let g = cx.graph;
        if g.edge(e)
            .inputs()
            .iter()
            .any(|&i| g.producer(i).is_some_and(|p| in_batch.contains(&p) && !modelled.contains(&p)))
        {
            continue;
        }
        match steps::model(cx.store, g, e, &cx.cwd, made, archive) {
            Ok(Ok(step)) => {
                if gg_wrapper::log::enabled() {
                    eprintln!("gg ninja: `{}` is the thunk {}", step.outputs.join("`, `"), step.thunk.name());
                }
                made.extend(steps::made_by(&step));
                modelled.insert(e);
                stepped.push((e, step));
            }
            Ok(Err(why)) => {
                st.local_reasons.push((e, why));
                st.kinds.insert(e, Kind::Local);
            }
            Err(err) => {
                // The store could not take the step's inputs (full, read
                // only): it runs here, as Ninja would, with one warning.
                warn_once(&format!("{err:#}"));
                st.local_reasons.push((e, format!("{err:#}")));
                st.kinds.insert(e, Kind::Local);
            }
        }
    }
    stepped
}

/// Forces the round's thunks; each compile's object and depfile are
/// written, and it is recorded for direct mode, as soon as its answer
/// comes, on a thread per core beside the force, while its siblings still
/// run (on one machine the force leaves a core idle much of the time, and
/// a round of a thousand compiles spent a quarter of its time writing
/// them after it). Compiles the force did not report are written after
/// it. Each compile's result, in the round's order.
fn force_and_write(
    cx: &Ctx<'_>,
    st: &State,
    forced: Vec<Forced>,
    targets: &[OutputRef],
    options: Options,
) -> (scheduler::Report, Vec<Finished>) {
    use std::sync::{mpsc, Mutex};
    let count = forced.len();
    let mut waiting: Vec<Option<Forced>> = forced.into_iter().map(Some).collect();
    let written: Mutex<Vec<Option<Finished>>> = Mutex::new((0..count).map(|_| None).collect());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(count.max(1));
    let (tx, rx) = mpsc::channel::<(usize, Forced, Result<Resolved, String>)>();
    let rx = Mutex::new(rx);
    let report = std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let next = rx.lock().expect("answers").recv();
                let Ok((i, f, result)) = next else { return };
                let done = finish_one(cx, st, f, result);
                written.lock().expect("written")[i] = Some(done);
            });
        }
        let report = scheduler::force_observed(cx.store, cx.executor, targets, options, &mut |i, result, _| {
            if let Some(f) = waiting.get_mut(i).and_then(Option::take) {
                let _ = tx.send((i, f, result.clone()));
            }
        });
        drop(tx);
        report
    });
    let mut written = written.into_inner().expect("written");
    for (i, f) in waiting.into_iter().enumerate() {
        if let Some(f) = f {
            let result = report.targets.get(i).cloned().unwrap_or_else(|| Err("the force gave no answer".into()));
            written[i] = Some(finish_one(cx, st, f, result));
        }
    }
    let finished = written.into_iter().map(|f| f.expect("every forced compile is written")).collect();
    (report, finished)
}

/// The forced compiles' results (files written already): reports, logs
/// and failures, in the round's order; `Break` when the build must stop.
fn finish_compiles(
    cx: &Ctx<'_>,
    st: &mut State,
    finished: Vec<Finished>,
    failures: &[Failure],
    degraded: &mut HashSet<EdgeId>,
) -> ControlFlow<()> {
    for f in finished {
        match f {
            Finished::Written { e, red, read: Ok(read) } => {
                st.report(cx, e);
                print_stored(cx, red.stdout);
                print_stored(cx, red.stderr);
                let t = cx.millis();
                st.logs.record_compile(cx.graph, e, &cx.cwd, &mut st.mtimes, &read, t, t);
                st.done.insert(e);
            }
            Finished::Written { e, read: Err(err), .. } => st.fail(cx, e, format!("gg ninja: {err:#}\n").as_bytes()),
            Finished::NoReduction(e) => st.fail(cx, e, b"gg ninja: the engine recorded no result\n"),
            Finished::KeptRemote(e) => {
                // Left in the engine's store; Ninja still sees the edge
                // as dirty, since nothing was written here.
                st.report(cx, e);
                st.done.insert(e);
            }
            Finished::Failed { e, thunk, scanned, why } => {
                if own_failure_is_the_engines(failures, &thunk) {
                    run_here_instead(st, e, failures, &thunk);
                    degraded.insert(e);
                } else if scanned && failures.iter().any(|f| f.thunk == thunk && f.error.kind == FailKind::Exit) {
                    // Maybe a header the scanner missed: the compiler in
                    // place gives the verdict (and words it).
                    st.local_reasons.push((e, "the compile failed on the scanned inputs".into()));
                    st.kinds.insert(e, Kind::Local);
                    degraded.insert(e);
                } else {
                    let stderr = failure_text(failures, &thunk, &why);
                    // A failed compile leaves no object behind (the
                    // compiler removes its own), so nothing stale looks
                    // up to date.
                    let out = cx.cwd.join(compile_step(st, e).output());
                    let _ = std::fs::remove_file(out);
                    st.fail(cx, e, &stderr);
                }
            }
        }
        if st.stopped(cx) {
            return ControlFlow::Break(());
        }
    }
    ControlFlow::Continue(())
}

/// One forced compile's result, its files written (the part that runs in
/// parallel).
enum Finished {
    /// What the compile read (as it listed it itself), or why its files
    /// could not be written.
    Written {
        e: EdgeId,
        red: gg_core::Reduction,
        read: anyhow::Result<Vec<String>>,
    },
    NoReduction(EdgeId),
    KeptRemote(EdgeId),
    Failed {
        e: EdgeId,
        thunk: Name,
        scanned: bool,
        why: String,
    },
}

fn finish_one(cx: &Ctx<'_>, st: &State, forced: Forced, result: Result<Resolved, String>) -> Finished {
    let (e, prepared, key, scanned) = forced;
    let thunk = prepared.name;
    if let Err(why) = result {
        return Finished::Failed { e, thunk, scanned, why };
    }
    let Some(red) = cx.store.reduction(&thunk) else {
        return Finished::NoReduction(e);
    };
    if cx.options.keep_remote {
        return Finished::KeptRemote(e);
    }
    let step = compile_step(st, e);
    let values: Vec<Name> = red.outputs.iter().map(|(_, v)| *v).collect();
    let read = cx.executor.fetch(&values).map_err(|err| anyhow::anyhow!(err.message)).and_then(|()| {
        // What the compile read, as it listed it itself.
        let listed = match red.outputs.get(1) {
            Some((_, list)) => {
                Some(gg_core::depfile::from_canonical(&cx.store.get_verified(list)?).map_err(anyhow::Error::msg)?)
            }
            None => None,
        };
        // Not copied: the list names hundreds of headers.
        let has_list = listed.is_some();
        let read = listed.unwrap_or_else(|| vec![step.source().to_string()]);
        let depfile = step.depfile_bytes(cx.store, &read);
        step.finish(
            cx.store,
            key.as_deref(),
            prepared,
            &red,
            has_list.then_some(read.as_slice()),
            depfile.as_deref(),
            wants_depfile(cx, e),
        )?;
        Ok(canonical(cx, e, read))
    });
    Finished::Written { e, red, read }
}

/// The forced archives' and links' results, likewise (the last step of
/// a round).
fn finish_steps(
    cx: &Ctx<'_>,
    st: &mut State,
    stepped: Vec<(EdgeId, Step)>,
    results: &mut impl Iterator<Item = Result<Resolved, String>>,
    failures: &[Failure],
    degraded: &mut HashSet<EdgeId>,
) {
    for ((e, step), result) in stepped.into_iter().zip(results) {
        let thunk = step.thunk.name();
        let outcome = result.map_err(|why| failure_text(failures, &thunk, &why)).and_then(|_| {
            let red =
                cx.store.reduction(&thunk).ok_or_else(|| b"gg ninja: the engine recorded no result\n".to_vec())?;
            let values: Vec<Name> = red.outputs.iter().map(|(_, v)| *v).collect();
            cx.executor
                .fetch(&values)
                .map_err(|err| anyhow::anyhow!(err.message))
                .and_then(|()| steps::write(cx.store, &step, &red, &cx.cwd))
                .map_err(|err| format!("gg ninja: {err:#}\n").into_bytes())?;
            Ok(red)
        });
        let own = failures.iter().any(|f| f.thunk == thunk);
        let g = cx.graph;
        let waits_on_degraded =
            || g.edge(e).inputs().iter().any(|&i| g.producer(i).is_some_and(|p| degraded.contains(&p)));
        if outcome.is_err() && (own_failure_is_the_engines(failures, &thunk) || !own && waits_on_degraded()) {
            run_here_instead(st, e, failures, &thunk);
            degraded.insert(e);
            continue;
        }
        match outcome {
            Ok(red) => {
                st.report(cx, e);
                print_stored(cx, red.stdout);
                print_stored(cx, red.stderr);
                let t = cx.millis();
                st.logs.record_step(cx.graph, e, &cx.cwd, &mut st.mtimes, t, t);
                st.done.insert(e);
            }
            // Skipped because an input failed: that failure is the report.
            Err(_) if !failures.iter().any(|f| f.thunk == thunk) && !st.failed.is_empty() => {}
            Err(text) => {
                for path in &step.outputs {
                    let _ = std::fs::remove_file(cx.cwd.join(path));
                }
                st.fail(cx, e, &text);
            }
        }
        if st.stopped(cx) {
            return;
        }
    }
}

/// Whether `thunk` failed for the engine's reasons (its store could not
/// take the thunk, its inputs or its outputs), not for its function's.
fn own_failure_is_the_engines(failures: &[Failure], thunk: &Name) -> bool {
    failures.iter().any(|f| f.thunk == *thunk && matches!(f.error.kind, FailKind::Engine | FailKind::Missing))
}

/// Turns edge `e` into a local step, saying so once per build.
fn run_here_instead(st: &mut State, e: EdgeId, failures: &[Failure], thunk: &Name) {
    let why = match failures.iter().find(|f| f.thunk == *thunk) {
        Some(f) => f.error.message.clone(),
        None => "an input's thunk could not run".into(),
    };
    warn_once(&why);
    st.local_reasons.push((e, format!("the engine could not run its thunk: {why}")));
    st.kinds.insert(e, Kind::Local);
}

/// Says once per build that steps run here instead, and why.
fn warn_once(why: &str) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        eprintln!("gg ninja: warning: the engine cannot run these steps ({why}); running them here as Ninja would");
    }
}

/// What a failed thunk printed, or why it did not run.
fn failure_text(failures: &[Failure], thunk: &Name, why: &str) -> Vec<u8> {
    match failures.iter().find(|f| f.thunk == *thunk) {
        Some(f) if !f.error.stderr.is_empty() => f.error.stderr.clone(),
        Some(f) => format!("gg ninja: {}\n", f.error.message).into_bytes(),
        None => format!("gg ninja: {why}\n").into_bytes(),
    }
}

fn compile_step(st: &State, e: EdgeId) -> &CompileStep {
    match &st.kinds[&e] {
        Kind::Compile(step) => step,
        _ => unreachable!("compile edges only"),
    }
}

/// What a compile read, as `.ninja_deps` records it (Ninja's canonical
/// paths) when the edge has `deps = gcc`: worked out on the preparing or
/// writing threads, as the log is written by one.
fn canonical(cx: &Ctx<'_>, e: EdgeId, read: Vec<String>) -> Vec<String> {
    if cx.graph.deps(e) != "gcc" {
        return read;
    }
    // Most are canonical already: those move, not copied. The rest (a
    // library's headers reached through `../`, as the compiler spells
    // them) are the same few hundred in every compile of a round: each is
    // worked out once per thread.
    thread_local! {
        static CANONICAL: std::cell::RefCell<gg_core::fxhash::FxMap<String, String>> = Default::default();
    }
    CANONICAL.with(|known| {
        let mut known = known.borrow_mut();
        read.into_iter()
            .map(|p| {
                if gg_ninja::is_canonical(&p) {
                    return p;
                }
                if let Some(c) = known.get(&p) {
                    return c.clone();
                }
                let c = gg_ninja::canonicalize_path(&p);
                known.insert(p, c.clone());
                c
            })
            .collect()
    })
}

/// A depfile is written only where Ninja reads it later (`depfile`
/// without `deps`); with `deps = gcc` Ninja deletes it after reading.
fn wants_depfile(cx: &Ctx<'_>, e: EdgeId) -> bool {
    cx.graph.deps(e).is_empty() && !cx.graph.depfile(e).is_empty()
}

/// Prints a thunk's captured stdout or stderr (from the engine or the
/// cache) as an edge's output.
fn print_stored(cx: &Ctx<'_>, blob: Option<Name>) {
    if let Some(bytes) = blob.and_then(|n| cx.store.get_verified(&n).ok()) {
        cx.print_output(&bytes);
    }
}

/// Writes a cached compile's object and depfile (on a preparing thread:
/// a warm rebuild is mostly this).
fn write_hit(cx: &Ctx<'_>, st: &State, e: EdgeId, hit: &Hit) -> Result<(), String> {
    if cx.options.keep_remote {
        return Ok(());
    }
    let step = compile_step(st, e);
    let o = hit.reduction.get(None).ok_or("the cached compile has no object")?;
    cx.executor.fetch(&[o]).map_err(|err| err.message)?;
    let depfile = step.depfile(cx.store);
    let written = match (&depfile, &hit.depfile) {
        (Some(p), Some(bytes)) if wants_depfile(cx, e) => Some((p.as_str(), bytes.as_slice())),
        _ => None,
    };
    step.write(cx.store, &o, written).map_err(|err| format!("{err:#}"))
}

fn finish_hit(cx: &Ctx<'_>, st: &mut State, e: EdgeId, hit: &Hit, deps: &[String], written: Result<(), String>) {
    match written {
        Ok(()) => {
            st.report(cx, e);
            print_stored(cx, hit.reduction.stdout);
            print_stored(cx, hit.reduction.stderr);
            // With --keep-remote nothing was written: Ninja must still
            // see the edge as dirty.
            if !cx.options.keep_remote {
                let t = cx.millis();
                st.logs.record_compile(cx.graph, e, &cx.cwd, &mut st.mtimes, deps, t, t);
            }
            st.done.insert(e);
        }
        Err(err) => st.fail(cx, e, format!("gg ninja: {err}\n").as_bytes()),
    }
}

/// Prepares every compile of the batch, `-j` at a time.
fn prepare_all(cx: &Ctx<'_>, plan: &Plan, st: &State, batch: &[EdgeId]) -> Vec<Prep> {
    if batch.is_empty() {
        return Vec::new();
    }
    use rayon::prelude::*;
    let one = |&e: &EdgeId| prepare(cx, plan, st, e).unwrap_or_else(|err| Prep::Local(format!("{err:#}")));
    // Compiles in place, preprocessor runs and the shared cache's round
    // trips, `-j` at a time as before: a pool of exactly that size.
    // Otherwise it is the include scanner's work, the process's own CPU,
    // and more threads than cores only contend for the round's memos.
    let in_process = !cx.options.in_place
        && !gg_core::env::scan_with_preprocessor()
        && !gg_core::env::verify_scan()
        && cx.store.shared().is_none();
    let threads = match in_process {
        true => cx.options.jobs.min(std::thread::available_parallelism().map_or(1, |n| n.get())),
        false => cx.options.jobs,
    };
    match rayon::ThreadPoolBuilder::new().num_threads(threads.clamp(1, batch.len())).build() {
        Ok(pool) => pool.install(|| batch.par_iter().map(one).collect()),
        Err(_) => batch.iter().map(one).collect(),
    }
}

fn prepare(cx: &Ctx<'_>, plan: &Plan, st: &State, e: EdgeId) -> anyhow::Result<Prep> {
    let step = compile_step(st, e);
    // Ninja makes every output's folder before running an edge.
    if let Some(dir) = cx.cwd.join(step.output()).parent() {
        std::fs::create_dir_all(dir)?;
    }
    let key = step.key(cx.store);
    if let Some(hit) = key.as_deref().and_then(|k| step.lookup(cx.store, k, wants_depfile(cx, e))) {
        // The depfile the compile wrote lists what it read, as Ninja
        // records it; else what the deps log says, else the manifest's.
        // The deps log's list when still true (already read), else the
        // depfile the compile wrote, else every file the manifest names.
        let deps = match plan.fresh_deps.get(&e) {
            Some(d) => d.clone(),
            None => hit
                .depfile
                .as_deref()
                .and_then(|d| gg_wrapper::depfile::inputs(&String::from_utf8_lossy(d)).ok())
                .unwrap_or_else(|| hit.inputs.clone()),
        };
        let written = write_hit(cx, st, e, &hit);
        return Ok(Prep::Hit { hit, deps: canonical(cx, e, deps), written });
    }
    if cx.options.in_place {
        return compile_here(cx, e, step, key.as_deref(), wants_depfile(cx, e));
    }
    // The deps log's list when still true, else the scanner's superset
    // (or the preprocessor's list where the scanner is not sure).
    let (files, scanned) = match plan.fresh_deps.get(&e) {
        Some(deps) => (step.interned(cx.store, deps), false),
        None => match step.choose_inputs(cx.store) {
            Ok(Some(chosen)) => (chosen.files, chosen.scanned),
            Ok(None) => return Ok(Prep::Local("the preprocessor failed".into())),
            Err(err) => match err.downcast::<gg_wrapper::inputs::Missed>() {
                Ok(missed) => return Ok(Prep::Failed(missed.to_string())),
                Err(err) => return Err(err),
            },
        },
    };
    match step.prepare(cx.store, files)? {
        Ok(prepared) => Ok(Prep::Thunk { prepared: Box::new(prepared), key, scanned }),
        Err(why) => Ok(Prep::Local(why)),
    }
}

/// A miss on the local engine: compiled in place and recorded, as gg-cc
/// does (one compiler run, no scan, no sandbox).
fn compile_here(
    cx: &Ctx<'_>,
    e: EdgeId,
    step: &CompileStep,
    key: Option<&str>,
    write_depfile: bool,
) -> anyhow::Result<Prep> {
    use gg_wrapper::compile::Here;
    let printed = |o: &std::process::Output| [o.stdout.as_slice(), o.stderr.as_slice()].concat();
    Ok(match step.compile_here(cx.store, key, write_depfile)? {
        Here::Plain(why) => Prep::Local(why.into()),
        Here::Failed { output, .. } => Prep::HereFailed(printed(&output)),
        Here::Done { output, result: Ok(done) } => {
            Prep::Here { read: canonical(cx, e, done.read), printed: printed(&output), object: done.object }
        }
        Here::Done { output, result: Err(err) } => {
            Prep::HereFailed([printed(&output), format!("gg ninja: error: {err:#}\n").into_bytes()].concat())
        }
    })
}
