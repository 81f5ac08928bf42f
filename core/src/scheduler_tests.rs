//! Scheduler tests with a scripted executor: large synthetic graphs run in
//! dependency order, within the job limit, and failures stop what depends
//! on them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::*;
use crate::engine::{FailKind, Outcome};
use crate::name::Kind;
use crate::thunk::{Function, ThunkInput};

/// Runs thunks by their args: `ok LABEL` writes a value derived from the
/// label and the input values; `fail LABEL` fails; `dynamic LABEL T…`
/// outputs the (stored) thunk `T…` itself.
struct Scripted<'s> {
    store: &'s Store,
    log: Mutex<Vec<Name>>,
    /// Jobs that named the thunk's stored encoding.
    stored: Mutex<Vec<Name>>,
    running: AtomicUsize,
    max_running: AtomicUsize,
}

impl<'s> Scripted<'s> {
    fn new(store: &'s Store) -> Self {
        Scripted {
            store,
            log: Mutex::new(Vec::new()),
            stored: Mutex::new(Vec::new()),
            running: AtomicUsize::new(0),
            max_running: AtomicUsize::new(0),
        }
    }

    fn ran(&self) -> Vec<Name> {
        self.log.lock().unwrap().clone()
    }
}

impl Executor for Scripted<'_> {
    fn execute(&self, job: &Job<'_>) -> Result<Outcome, ExecError> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        std::thread::yield_now();
        let t = job.thunk;
        assert!(t.thunks.is_empty(), "the executor only ever sees resolved thunks");
        // What a job says is stored under a name is exactly that thunk.
        if let Some(stored) = job.stored {
            assert_eq!(stored, t.name(), "job {} says its thunk is stored under another name", job.name);
            assert!(self.store.has(&stored), "job {}'s stored thunk is not in the store", job.name);
            self.stored.lock().unwrap().push(job.name);
        }
        for v in &t.values {
            assert!(self.store.has(&v.hash), "input {} of {} is not in the store", v.path, job.name);
        }
        self.log.lock().unwrap().push(job.name);
        let args = &t.function.args;
        let result = match args[1].as_str() {
            "fail" => Err(ExecError {
                kind: FailKind::Exit,
                message: "exited with status 1".into(),
                stderr: b"boom\n".to_vec(),
            }),
            "dynamic" => Ok(vec![args[3].parse().unwrap()]),
            _ => {
                let inputs: Vec<String> = t.values.iter().map(|v| format!("{}={}", v.path, v.hash)).collect();
                let bytes = format!("{} <- {}", args[2], inputs.join(" "));
                Ok(vec![self.store.put_bytes(Kind::Value, bytes.as_bytes()).unwrap()])
            }
        };
        self.running.fetch_sub(1, Ordering::SeqCst);
        result.map(|outputs| Outcome { outputs, executable: vec![], stdout: None, stderr: None })
    }
}

/// Makes and stores a scripted thunk consuming `inputs`.
fn mk(store: &Store, mode: &str, label: &str, inputs: &[OutputRef], extra: &[String]) -> Name {
    let fake = Name::of_value(b"fake executable");
    let mut args = vec!["fake".to_string(), mode.to_string(), label.to_string()];
    args.extend_from_slice(extra);
    let thunks =
        inputs.iter().enumerate().map(|(i, r)| ThunkInput { path: format!("in/{i}"), output: r.clone() }).collect();
    let thunk = Thunk::new(
        Function { hash: fake, args, envars: vec![] },
        vec![],
        vec![Object { path: "bin/fake".into(), hash: fake }],
        thunks,
        vec!["out".into()],
        String::new(),
        0,
    )
    .unwrap();
    store.put_thunk(&thunk).unwrap()
}

fn out(t: Name) -> OutputRef {
    OutputRef { thunk: t, output: Some("out".into()) }
}

/// These tests exercise the scheduler, not the disk: use memory-backed
/// storage when the machine has it, as creating files is slow on some disks.
fn store() -> (tempfile::TempDir, Store) {
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

/// Builds chains, diamonds, a fan-in and a dynamic thunk: 1,000+ thunks.
/// Returns the targets and every (producer, consumer) edge.
fn big_graph(store: &Store) -> (Vec<OutputRef>, Vec<(Name, Name)>, usize) {
    let mut targets = Vec::new();
    let mut edges = Vec::new();
    let mut count = 0;
    for c in 0..10 {
        let mut prev = mk(store, "ok", &format!("chain {c} 0"), &[], &[]);
        count += 1;
        for i in 1..50 {
            let next = mk(store, "ok", &format!("chain {c} {i}"), &[out(prev)], &[]);
            edges.push((prev, next));
            prev = next;
            count += 1;
        }
        targets.push(out(prev));
    }
    for d in 0..100 {
        let top = mk(store, "ok", &format!("top {d}"), &[], &[]);
        let left = mk(store, "ok", &format!("left {d}"), &[out(top)], &[]);
        let right = mk(store, "ok", &format!("right {d}"), &[out(top)], &[]);
        let bottom = mk(store, "ok", &format!("bottom {d}"), &[out(left), out(right)], &[]);
        edges.extend([(top, left), (top, right), (left, bottom), (right, bottom)]);
        targets.push(out(bottom));
        count += 4;
    }
    let leaves: Vec<Name> = (0..200).map(|i| mk(store, "ok", &format!("leaf {i}"), &[], &[])).collect();
    let sink = mk(store, "ok", "sink", &leaves.iter().map(|l| out(*l)).collect::<Vec<_>>(), &[]);
    edges.extend(leaves.iter().map(|l| (*l, sink)));
    targets.push(out(sink));
    count += 201;
    // A thunk whose output is another thunk, which itself needs a leaf.
    let inner = mk(store, "ok", "inner", &[out(leaves[0])], &[]);
    let dynamic = mk(store, "dynamic", "dyn", &[], &[inner.to_string()]);
    let consumer = mk(store, "ok", "consumer", &[out(dynamic)], &[]);
    edges.extend([(dynamic, consumer), (inner, consumer), (leaves[0], inner)]);
    targets.push(out(consumer));
    targets.push(out(dynamic));
    count += 3;
    (targets, edges, count)
}

#[test]
fn a_thousand_thunk_graph_runs_in_dependency_order_within_the_job_limit() {
    let (_d, store) = store();
    let (targets, edges, count) = big_graph(&store);
    assert!(count >= 1000, "{count}");
    let exec = Scripted::new(&store);
    let report = force(&store, &exec, &targets, Options { jobs: 4, keep_going: false });
    assert!(report.ok(), "{:?}", report.failures);
    assert_eq!(report.ran, count);
    assert_eq!(report.cached, 0);
    let ran = exec.ran();
    assert_eq!(ran.len(), count, "every thunk ran exactly once");
    let position: HashMap<Name, usize> = ran.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    assert_eq!(position.len(), count);
    for (producer, consumer) in &edges {
        assert!(position[producer] < position[consumer], "{producer} must run before {consumer}");
    }
    assert!(exec.max_running.load(Ordering::SeqCst) <= 4);
    // The dynamic target resolves through the thunk it produced.
    let consumer_value = &report.targets[report.targets.len() - 2].as_ref().unwrap().value;
    let dynamic_value = &report.targets[report.targets.len() - 1].as_ref().unwrap().value;
    assert!(!dynamic_value.is_thunk() && !consumer_value.is_thunk());
    let consumer_text = String::from_utf8(store.get(consumer_value).unwrap()).unwrap();
    assert!(consumer_text.contains(&dynamic_value.to_string()), "{consumer_text}");
    assert!(String::from_utf8(store.get(dynamic_value).unwrap()).unwrap().starts_with("inner <- "));
}

#[test]
fn a_second_force_is_answered_from_the_reductions() {
    let (_d, store) = store();
    let (targets, _, count) = big_graph(&store);
    let first = force(&store, &Scripted::new(&store), &targets, Options { jobs: 2, keep_going: false });
    let exec = Scripted::new(&store);
    let second = force(&store, &exec, &targets, Options { jobs: 2, keep_going: false });
    assert!(second.ok());
    assert_eq!(second.ran, 0);
    assert!(exec.ran().is_empty());
    assert!(second.cached > 0 && second.cached <= count);
    assert_eq!(first.targets, second.targets);
}

#[test]
fn a_failure_in_the_middle_stops_its_dependents_and_names_the_thunk() {
    let (_d, store) = store();
    let mut chain = vec![mk(&store, "ok", "c0", &[], &[])];
    for i in 1..10 {
        let mode = if i == 5 { "fail" } else { "ok" };
        chain.push(mk(&store, mode, &format!("c{i}"), &[out(chain[i - 1])], &[]));
    }
    let exec = Scripted::new(&store);
    let report = force(&store, &exec, &[out(chain[9])], Options { jobs: 2, keep_going: false });
    assert!(!report.ok());
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].thunk, chain[5]);
    assert_eq!(report.failures[0].error.stderr, b"boom\n");
    let err = report.targets[0].as_ref().unwrap_err();
    assert!(err.contains(&chain[5].to_string()), "{err}");
    let ran = exec.ran();
    assert_eq!(ran, chain[..6].to_vec(), "nothing after the failure runs");
}

#[test]
fn keep_going_finishes_independent_work_after_a_failure() {
    for keep_going in [true, false] {
        let (_d, store) = store();
        let bad = mk(&store, "fail", "bad", &[], &[]);
        let after_bad = mk(&store, "ok", "after bad", &[out(bad)], &[]);
        let good: Vec<Name> = (0..20).map(|i| mk(&store, "ok", &format!("good {i}"), &[], &[])).collect();
        let mut targets = vec![out(after_bad)];
        targets.extend(good.iter().map(|g| out(*g)));
        let exec = Scripted::new(&store);
        let report = force(&store, &exec, &targets, Options { jobs: 1, keep_going });
        assert_eq!(report.failures.len(), 1);
        assert!(report.targets[0].is_err());
        assert!(!exec.ran().contains(&after_bad));
        if keep_going {
            assert!(report.targets[1..].iter().all(Result::is_ok));
        } else {
            assert!(report.targets[1..].iter().any(Result::is_err), "without -k the run stops at the failure");
        }
    }
}

#[test]
fn a_failed_chain_of_any_length_is_skipped_without_deep_recursion() {
    let (_d, store) = store();
    let mut prev = mk(&store, "fail", "root", &[], &[]);
    let root = prev;
    for i in 0..20_000 {
        prev = mk(&store, "ok", &format!("{i}"), &[out(prev)], &[]);
    }
    let report = force(&store, &Scripted::new(&store), &[out(prev)], Options { jobs: 2, keep_going: false });
    assert_eq!(report.ran, 0);
    assert_eq!(report.failures[0].thunk, root);
    assert!(report.targets[0].as_ref().unwrap_err().contains(&root.to_string()));
}

#[test]
fn an_unknown_thunk_or_output_is_a_clear_error() {
    let (_d, store) = store();
    let unknown = Name::of_bytes(Kind::Thunk, b"never stored");
    let report =
        force(&store, &Scripted::new(&store), &[OutputRef::first(unknown)], Options { jobs: 1, keep_going: false });
    assert!(report.failures[0].error.message.contains(&unknown.to_string()));
    assert!(report.failures[0].error.message.contains("not in the store"));
    let t = mk(&store, "ok", "x", &[], &[]);
    let report = force(
        &store,
        &Scripted::new(&store),
        &[OutputRef { thunk: t, output: Some("nope".into()) }],
        Options { jobs: 1, keep_going: false },
    );
    assert!(report.targets[0].as_ref().unwrap_err().contains("no output `nope`"));
}

#[test]
fn consumers_of_an_unchanged_rerun_output_are_answered_by_their_resolved_name() {
    let (_d, store) = store();
    let a = mk(&store, "ok", "a", &[], &[]);
    let b = mk(&store, "ok", "b", &[out(a)], &[]);
    force(&store, &Scripted::new(&store), &[out(b)], Options { jobs: 1, keep_going: false });
    // Forget a's and b's own reductions: a runs again with the same output,
    // and b is then found under its resolved name without running.
    for t in [a, b] {
        let text = t.to_string();
        std::fs::remove_file(store.root().join("reductions").join(&text[1..2]).join(&text)).unwrap();
    }
    let exec = Scripted::new(&store);
    let report = force(&store, &exec, &[out(b)], Options { jobs: 1, keep_going: false });
    assert!(report.ok());
    assert_eq!(exec.ran(), vec![a]);
    assert_eq!(report.cached, 1);
}

#[test]
fn a_job_names_its_stored_encoding_only_when_it_runs_the_thunk_as_loaded() {
    let (_d, store) = store();
    let a = mk(&store, "ok", "a", &[], &[]);
    let b = mk(&store, "ok", "b", &[out(a)], &[]);
    let exec = Scripted::new(&store);
    assert!(force(&store, &exec, &[out(b)], Options { jobs: 2, keep_going: false }).ok());
    assert_eq!(exec.ran(), vec![a, b]);
    // b ran with a's output in place of its thunk input: another thunk,
    // whose encoding nobody stored.
    assert_eq!(*exec.stored.lock().unwrap(), vec![a]);
}

#[test]
fn an_input_naming_a_missing_output_fails_the_consumer_with_that_reason() {
    let (_d, store) = store();
    let producer = mk(&store, "ok", "p", &[], &[]);
    let bad_ref = OutputRef { thunk: producer, output: Some("nope".into()) };
    let consumer = mk(&store, "ok", "c", &[bad_ref], &[]);
    let report = force(&store, &Scripted::new(&store), &[out(consumer)], Options { jobs: 1, keep_going: false });
    assert_eq!(report.ran, 1, "the producer ran");
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].thunk, consumer);
    assert!(report.failures[0].error.message.contains("has no output `nope`"), "{}", report.failures[0].error.message);
}

#[test]
fn a_huge_job_limit_starts_only_the_threads_the_work_needs() {
    let (_d, store) = store();
    let targets: Vec<OutputRef> = (0..3).map(|i| out(mk(&store, "ok", &format!("{i}"), &[], &[]))).collect();
    let report = force(&store, &Scripted::new(&store), &targets, Options { jobs: 1_000_000, keep_going: false });
    assert!(report.ok());
    assert_eq!(report.ran, 3);
}

/// Runs chains the way a worker does: stores the thunks as sent and
/// forces them with the scripted executor; records each chain's length.
struct Chained<'s> {
    inner: Scripted<'s>,
    chains: Mutex<Vec<usize>>,
}

impl Executor for Chained<'_> {
    fn execute(&self, job: &Job<'_>) -> Result<Outcome, ExecError> {
        self.chains.lock().unwrap().push(1);
        self.inner.execute(job)
    }

    fn runs_chains(&self) -> bool {
        true
    }

    fn execute_chain(&self, jobs: &[Job<'_>]) -> Vec<Result<Outcome, ExecError>> {
        self.chains.lock().unwrap().push(jobs.len());
        let store = self.inner.store;
        let sent: Vec<Name> = jobs.iter().map(|j| store.put_thunk(j.thunk).unwrap()).collect();
        let targets: Vec<OutputRef> = sent.iter().map(|n| OutputRef::first(*n)).collect();
        let report = force(store, &self.inner, &targets, Options { jobs: 1, keep_going: false });
        sent.iter()
            .map(|n| match store.reduction(n) {
                Some(r) => Ok(Outcome {
                    outputs: r.outputs.into_iter().map(|(_, v)| v).collect(),
                    executable: vec![],
                    stdout: None,
                    stderr: None,
                }),
                None => Err(report.failures.first().map_or_else(|| ExecError::engine("skipped"), |f| f.error.clone())),
            })
            .collect()
    }
}

#[test]
fn chains_travel_together_and_give_the_same_values() {
    let (_d1, plain_store) = store();
    let (targets, _, count) = big_graph(&plain_store);
    let plain = force(&plain_store, &Scripted::new(&plain_store), &targets, Options { jobs: 4, keep_going: false });
    assert!(plain.ok());

    let (_d2, store) = store();
    let (targets2, _, _) = big_graph(&store);
    assert_eq!(targets, targets2, "the same graph");
    let exec = Chained { inner: Scripted::new(&store), chains: Mutex::default() };
    let report = force(&store, &exec, &targets, Options { jobs: 4, keep_going: false });
    assert!(report.ok(), "{:?}", report.failures);
    assert_eq!(report.targets, plain.targets, "chains change no value");
    // The dynamic thunk's inner thunk runs inside its chain, so the
    // scheduler finds it reduced: ran + cached is what counts.
    assert_eq!(report.ran + report.cached, plain.ran + plain.cached);
    assert!(report.ran >= count - 1, "{} ran of {count}", report.ran);
    let chains = exec.chains.lock().unwrap().clone();
    // The ten 50-long chains go in pieces of at most MAX_CHAIN.
    assert!(chains.iter().all(|&n| n <= MAX_CHAIN), "{chains:?}");
    assert!(chains.iter().filter(|&&n| n == MAX_CHAIN).count() >= 10, "{chains:?}");
    // The long chains alone save 460 requests (50 thunks in 4 requests,
    // ten times); diamonds and fan-ins travel one thunk at a time.
    assert!(chains.len() <= count - 460, "{} requests for {count} thunks", chains.len());
}

#[test]
fn a_thunk_with_two_consumers_does_not_chain_and_a_failure_skips_the_rest_of_its_chain() {
    let (_d, store) = store();
    let top = mk(&store, "ok", "top", &[], &[]);
    let left = mk(&store, "ok", "left", &[out(top)], &[]);
    let right = mk(&store, "ok", "right", &[out(top)], &[]);
    let a = mk(&store, "ok", "a", &[], &[]);
    let b = mk(&store, "fail", "b", &[out(a)], &[]);
    let c = mk(&store, "ok", "c", &[out(b)], &[]);
    let exec = Chained { inner: Scripted::new(&store), chains: Mutex::default() };
    let targets = [out(left), out(right), out(c)];
    let report = force(&store, &exec, &targets, Options { jobs: 1, keep_going: true });
    assert!(report.targets[0].is_ok() && report.targets[1].is_ok());
    let failed: Vec<Name> = report.failures.iter().map(|f| f.thunk).collect();
    assert_eq!(failed, vec![b], "b failed once; c was skipped, not failed");
    assert!(report.targets[2].as_ref().unwrap_err().contains(&b.to_string()));
    let chains = exec.chains.lock().unwrap().clone();
    // top alone (two consumers), left and right alone, a+b+c together.
    let mut sorted = chains.clone();
    sorted.sort();
    assert_eq!(sorted, vec![1, 1, 1, 3], "{chains:?}");
    assert!(!exec.inner.ran().contains(&c), "c never ran");
}

/// A batching engine: records each batch's units, answers the units
/// marked `slow` only after every other unit of the run has started
/// (or a deadline), and drops the answers of units marked `silent`.
struct Batched<'s> {
    inner: Scripted<'s>,
    batches: Mutex<Vec<usize>>,
    /// Labels in the order their answers were handed back.
    answered: Mutex<Vec<String>>,
}

impl<'s> Batched<'s> {
    fn new(store: &'s Store) -> Self {
        Batched { inner: Scripted::new(store), batches: Mutex::default(), answered: Mutex::default() }
    }
}

impl Executor for Batched<'_> {
    fn execute(&self, job: &Job<'_>) -> Result<Outcome, ExecError> {
        self.batches.lock().unwrap().push(1);
        let answer = self.inner.execute(job);
        self.answered.lock().unwrap().push(job.thunk.function.args[2].clone());
        answer
    }

    fn runs_batches(&self) -> bool {
        true
    }

    fn execute_batch(&self, units: &[&[Job<'_>]], done: &(dyn Fn(usize, Vec<Result<Outcome, ExecError>>) + Sync)) {
        self.batches.lock().unwrap().push(units.len());
        let label = |u: &[Job<'_>]| u[0].thunk.function.args[2].clone();
        let mut slow = Vec::new();
        for (i, unit) in units.iter().enumerate() {
            let l = label(unit);
            if l.starts_with("slow") {
                slow.push(i);
            } else if !l.starts_with("silent") {
                let answer = vec![self.inner.execute(&unit[0])];
                self.answered.lock().unwrap().push(l);
                done(i, answer);
            }
        }
        if slow.is_empty() {
            return;
        }
        // Hold the slow ones until their quick siblings' consumer ran.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !self.answered.lock().unwrap().iter().any(|l| l.starts_with("consumer")) {
            assert!(std::time::Instant::now() < deadline, "the consumer never started");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        for i in slow {
            let answer = vec![self.inner.execute(&units[i][0])];
            self.answered.lock().unwrap().push(label(units[i]));
            done(i, answer);
        }
    }
}

#[test]
fn ready_independent_thunks_go_to_a_batching_engine_in_one_call_with_the_same_values() {
    let (_d1, plain_store) = store();
    let (targets, _, count) = big_graph(&plain_store);
    let plain = force(&plain_store, &Scripted::new(&plain_store), &targets, Options { jobs: 64, keep_going: false });
    let (_d2, store) = store();
    big_graph(&store);
    let exec = Batched::new(&store);
    let report = force(&store, &exec, &targets, Options { jobs: 64, keep_going: false });
    assert!(report.ok(), "{:?}", report.failures);
    assert_eq!(report.targets, plain.targets, "batches change no value");
    assert_eq!(report.ran, count);
    let batches = exec.batches.lock().unwrap().clone();
    assert_eq!(batches.iter().sum::<usize>(), count, "every thunk in exactly one batch");
    assert!(batches.iter().all(|&n| n <= 64), "{batches:?}");
    // The 200 leaves, the 10 chain heads and 100 diamond tops are ready
    // at once: the first batch fills the job limit.
    assert_eq!(batches[0], 64, "{batches:?}");
}

#[test]
fn a_quick_units_consumer_starts_before_its_slow_batch_sibling_is_answered() {
    let (_d, store) = store();
    let slow = mk(&store, "ok", "slow", &[], &[]);
    let quick = mk(&store, "ok", "quick", &[], &[]);
    let consumer = mk(&store, "ok", "consumer", &[out(quick)], &[]);
    let exec = Batched::new(&store);
    let report = force(&store, &exec, &[out(slow), out(consumer)], Options { jobs: 8, keep_going: false });
    assert!(report.ok(), "{:?}", report.failures);
    assert_eq!(exec.batches.lock().unwrap()[0], 2, "slow and quick travel together");
    assert_eq!(*exec.answered.lock().unwrap(), ["quick", "consumer", "slow"]);
}

#[test]
fn a_failure_in_a_batch_leaves_its_siblings_answered_and_an_unanswered_unit_fails() {
    let (_d, store) = store();
    let bad = mk(&store, "fail", "bad", &[], &[]);
    let good: Vec<Name> = (0..5).map(|i| mk(&store, "ok", &format!("good {i}"), &[], &[])).collect();
    let silent = mk(&store, "ok", "silent", &[], &[]);
    let mut targets = vec![out(bad), out(silent)];
    targets.extend(good.iter().map(|g| out(*g)));
    let exec = Batched::new(&store);
    // Without -k: the batch was already running, so its siblings count.
    let report = force(&store, &exec, &targets, Options { jobs: 8, keep_going: false });
    assert_eq!(*exec.batches.lock().unwrap(), [7]);
    assert_eq!(report.ran, 5);
    assert!(report.targets[2..].iter().all(Result::is_ok), "{:?}", report.targets);
    let failed: Vec<Name> = report.failures.iter().map(|f| f.thunk).collect();
    assert!(failed.contains(&bad) && failed.contains(&silent), "{failed:?}");
    let why = &report.failures.iter().find(|f| f.thunk == silent).unwrap().error.message;
    assert!(why.contains("gave no answer"), "{why}");
}

#[test]
fn force_observed_reports_each_target_as_it_settles_with_its_own_failure() {
    let (_d, store) = store();
    let a = mk(&store, "ok", "a", &[], &[]);
    let bad = mk(&store, "fail", "bad", &[], &[]);
    let after = mk(&store, "ok", "after", &[out(bad)], &[]);
    let mut seen = Vec::new();
    let targets = [out(a), out(bad), out(after)];
    let report = force_observed(
        &store,
        &Scripted::new(&store),
        &targets,
        Options { jobs: 2, keep_going: true },
        &mut |i, result, failure| seen.push((i, result.is_ok(), failure.map(|f| f.thunk))),
    );
    assert_eq!(report.ran, 1);
    seen.sort_by_key(|s| s.0);
    assert_eq!(seen, [(0, true, None), (1, false, Some(bad)), (2, false, None)]);
}
