//! Forcing: reduce a graph of thunks to values.
//!
//! The graph is discovered from the targets: each thunk is loaded from the
//! store, and each of its thunk inputs (`T…#out`) becomes a node in turn.
//! Nodes live in a `Vec` indexed by [`NodeId`]; all state sits in that one
//! table, and [`Forcer::settle`] is the single place a node leaves the
//! running set, so the ready queue and the waiter lists stay in step.
//!
//! ```text
//!            inputs pending                 all inputs are values
//!   New ───────────────────────▶ Waiting ───────────────────────▶ Ready
//!    │  reduction already stored    │ an input failed               │ dispatched
//!    ▼                              ▼                               ▼
//!   Done ◀──────────────────────── ... ─────── Skipped    Running ─┬─▶ Done
//!                                                                  └─▶ Failed
//! ```
//!
//! A node is ready when every input resolves to a value. An input whose
//! producer's output is itself a thunk (a dynamic thunk) resolves through
//! that thunk's first output, so the consumer waits on it in turn. Before
//! running, a ready thunk's inputs are replaced by their values; that
//! resolved thunk has its own name, and its reduction is recorded too, so a
//! producer that re-ran with identical output lets its consumers hit the
//! cache. Executors run on up to `jobs` threads and report over a channel;
//! the scheduler thread owns the graph. An engine with a cost per request
//! (`Executor::runs_batches`) gets everything that became ready at once in
//! one call, and reports each unit of it as it ends.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use crate::engine::{ExecError, Executor, Job, Outcome};
use crate::interrupt;
use crate::name::{Name, OutputRef};
use crate::store::{Reduction, Store};
use crate::thunk::{Object, Thunk};

/// Stack for executor threads; they do little beyond waiting on a process
/// or a socket.
const WORKER_STACK: usize = 1 << 20;

/// Thunks sent in one chain at most.
const MAX_CHAIN: usize = 16;

/// Index of a node in the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeId(u32);

/// How to force.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Thunks running at once.
    pub jobs: usize,
    /// Keep running what does not depend on a failure (`-k`).
    pub keep_going: bool,
}

/// What a target reduced to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub value: Name,
    /// The output was an executable file.
    pub executable: bool,
}

/// One failed thunk.
#[derive(Debug)]
pub struct Failure {
    pub thunk: Name,
    pub error: ExecError,
}

/// What forcing did.
#[derive(Debug, Default)]
pub struct Report {
    /// Per target, in order: its value, or why it has none.
    pub targets: Vec<Result<Resolved, String>>,
    /// Thunks executed.
    pub ran: usize,
    /// Thunks answered from stored reductions.
    pub cached: usize,
    /// Thunks that failed, in the order they failed.
    pub failures: Vec<Failure>,
    /// What thunks that ran printed on stderr (warnings): thunk, blob.
    pub stderr: Vec<(Name, Name)>,
    /// The run stopped early because of SIGINT/SIGTERM/SIGHUP.
    pub interrupted: bool,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failures.is_empty() && self.targets.iter().all(Result::is_ok)
    }
}

#[derive(Debug)]
enum State {
    New,
    /// Blocked on this many registrations with other nodes.
    Waiting(u32),
    Ready,
    Running,
    Done(Reduction),
    /// The thunk could not run or failed; the message says why.
    Failed(String),
    /// A thunk it depends on failed.
    Skipped(Name),
}

#[derive(Debug)]
struct Node {
    name: Name,
    /// Shared with the units that carry it: a compile's thunk with
    /// hundreds of inputs is not copied to be sent.
    thunk: Option<Arc<Thunk>>,
    state: State,
    waiters: Vec<Waiter>,
}

#[derive(Clone, Copy, Debug)]
enum Waiter {
    Node(NodeId),
    Target(usize),
}

/// Where resolving a reference stands.
enum Resolution {
    Value(Resolved),
    Pending(NodeId),
    /// The producer failed, or depends on a failure (the root cause).
    Failed(String, Name),
    /// The producer succeeded but has no such output.
    Broken(String),
}

/// Forces `targets` with `executor`, recording reductions in `store`.
pub fn force(store: &Store, executor: &dyn Executor, targets: &[OutputRef], options: Options) -> Report {
    force_observed(store, executor, targets, options, &mut |_, _, _| {})
}

/// Called as soon as target `i` has its answer, with the failure of the
/// thunk it names when that thunk failed itself (not when it was skipped).
pub type TargetObserver<'o> = dyn FnMut(usize, &Result<Resolved, String>, Option<&Failure>) + 'o;

/// [`force`], telling `on_target` about each target as it settles: a
/// worker streams each thunk's answer of a batch as it comes, so a client
/// can start the consumers of a quick thunk before its slow siblings end.
pub fn force_observed(
    store: &Store,
    executor: &dyn Executor,
    targets: &[OutputRef],
    options: Options,
    on_target: &mut TargetObserver<'_>,
) -> Report {
    let mut forcer = Forcer {
        store,
        nodes: Vec::new(),
        ids: HashMap::new(),
        ready: VecDeque::new(),
        fresh: Vec::new(),
        report: Report::default(),
        targets: targets.iter().map(|t| TargetState::Pending(t.clone())).collect(),
        on_target,
    };
    // `fresh` is a stack: resolving targets last-first makes the first
    // target and its inputs evaluate (and become ready) first, as in Ninja.
    for i in (0..targets.len()).rev() {
        forcer.resolve_target(i);
    }
    forcer.evaluate_fresh();
    forcer.run(executor, options);
    forcer.finish()
}

enum TargetState {
    Pending(OutputRef),
    Resolved(Result<Resolved, String>),
}

struct Forcer<'s, 'o> {
    store: &'s Store,
    nodes: Vec<Node>,
    ids: HashMap<Name, NodeId>,
    ready: VecDeque<NodeId>,
    /// Nodes created but not yet evaluated (kept explicit so a long chain
    /// does not recurse).
    fresh: Vec<NodeId>,
    report: Report,
    targets: Vec<TargetState>,
    on_target: &'o mut TargetObserver<'o>,
}

struct Done {
    id: NodeId,
    result: Result<Outcome, ExecError>,
}

/// A job, or a chain of jobs, sent to an executor as one: each node, its
/// name, the thunk to run, and the name that thunk is stored under when
/// it is the one loaded, unchanged (see [`Job::stored`]).
type Unit = Vec<(NodeId, Name, Arc<Thunk>, Option<Name>)>;

/// What an executor thread tells the scheduler.
enum Message {
    /// A unit's answers.
    Unit(Vec<Done>),
    /// The thread finished its batch and is free.
    Idle,
}

impl Forcer<'_, '_> {
    fn node(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[id.0 as usize]
    }

    /// The node for thunk `name`, created (state New) on first sight.
    fn node_for(&mut self, name: Name) -> NodeId {
        if let Some(&id) = self.ids.get(&name) {
            return id;
        }
        let id = NodeId(u32::try_from(self.nodes.len()).expect("fewer than 2^32 thunks"));
        self.nodes.push(Node { name, thunk: None, state: State::New, waiters: Vec::new() });
        self.ids.insert(name, id);
        self.fresh.push(id);
        id
    }

    /// Follows `r` as far as it goes now: to a value, to a node that has
    /// not finished, or to a failure.
    fn resolve(&mut self, r: &OutputRef) -> Resolution {
        let mut thunk = r.thunk;
        let mut output = r.output.clone();
        loop {
            let id = self.node_for(thunk);
            let node = &self.nodes[id.0 as usize];
            let (value, executable) = match &node.state {
                State::Done(red) => (red.get(output.as_deref()), red.is_executable(output.as_deref())),
                State::Failed(why) => return Resolution::Failed(format!("thunk `{thunk}` failed: {why}"), thunk),
                State::Skipped(cause) => {
                    return Resolution::Failed(format!("depends on failed thunk `{cause}`"), *cause)
                }
                _ => return Resolution::Pending(id),
            };
            match value {
                Some(v) if v.is_thunk() => {
                    thunk = v;
                    output = None;
                }
                Some(value) => return Resolution::Value(Resolved { value, executable }),
                None => {
                    let o = output.unwrap_or_default();
                    return Resolution::Broken(format!("thunk `{thunk}` has no output `{o}`"));
                }
            }
        }
    }

    fn resolve_target(&mut self, i: usize) {
        let TargetState::Pending(r) = &self.targets[i] else {
            return;
        };
        let r = r.clone();
        let (result, cause) = match self.resolve(&r) {
            Resolution::Value(v) => (Ok(v), None),
            Resolution::Failed(why, cause) => (Err(why), Some(cause)),
            Resolution::Broken(why) => (Err(why), None),
            Resolution::Pending(id) => return self.node(id).waiters.push(Waiter::Target(i)),
        };
        let failure =
            cause.filter(|c| *c == r.thunk).and_then(|c| self.report.failures.iter().rev().find(|f| f.thunk == c));
        (self.on_target)(i, &result, failure);
        self.targets[i] = TargetState::Resolved(result);
    }

    /// Evaluates every fresh node: load it, answer it from the cache, or
    /// wait for its inputs.
    fn evaluate_fresh(&mut self) {
        while let Some(id) = self.fresh.pop() {
            if !matches!(self.node(id).state, State::New) {
                continue;
            }
            let name = self.node(id).name;
            match self.store.get_shared_thunk(&name) {
                Ok(thunk) => {
                    if let Some(red) = self.cached(&name, &thunk) {
                        self.node(id).thunk = Some(thunk);
                        self.report.cached += 1;
                        self.settle(id, State::Done(red));
                    } else {
                        self.node(id).thunk = Some(thunk);
                        self.node(id).state = State::Waiting(0);
                        self.check_inputs(id);
                    }
                }
                Err(e) => {
                    self.report.failures.push(Failure { thunk: name, error: ExecError::engine(e.to_string()) });
                    self.settle(id, State::Failed(e.to_string()));
                }
            }
        }
    }

    /// A stored reduction for `name` whose outputs are all still present.
    /// Counted as a hit here or a remote one (the shared cache's).
    fn cached(&self, name: &Name, thunk: &Thunk) -> Option<Reduction> {
        let (red, source) = match self.store.local_reduction(name) {
            Some(red) => (red, crate::tally::Source::LocalHit),
            None => (self.store.reduction(name)?, crate::tally::Source::RemoteHit),
        };
        let complete = red.outputs.len() == thunk.outputs.len()
            && red.outputs.iter().zip(&thunk.outputs).all(|((k, v), o)| k == o && self.store.has(v));
        if complete && crate::tally::first_answer(&[*name]) {
            crate::tally::add(source, 1);
        }
        complete.then_some(red)
    }

    /// Re-resolves a waiting node's inputs: ready, still waiting (on whom),
    /// or skipped because an input failed.
    fn check_inputs(&mut self, id: NodeId) {
        let inputs: Vec<OutputRef> =
            self.node(id).thunk.as_ref().expect("loaded").thunks.iter().map(|t| t.output.clone()).collect();
        let mut blocked = 0;
        for r in &inputs {
            match self.resolve(r) {
                Resolution::Value(_) => {}
                Resolution::Pending(dep) => {
                    self.node(dep).waiters.push(Waiter::Node(id));
                    blocked += 1;
                }
                Resolution::Failed(_, cause) => {
                    self.settle(id, State::Skipped(cause));
                    return;
                }
                Resolution::Broken(why) => {
                    let name = self.node(id).name;
                    let msg = format!("input `{r}`: {why}");
                    self.report.failures.push(Failure { thunk: name, error: ExecError::engine(&msg) });
                    self.settle(id, State::Failed(msg));
                    return;
                }
            }
        }
        if blocked == 0 {
            self.node(id).state = State::Ready;
            self.ready.push_back(id);
        } else {
            self.node(id).state = State::Waiting(blocked);
        }
    }

    /// The one transition into a final state: records it and wakes the
    /// waiters. A failure cascades to everything waiting on it; the cascade
    /// uses a worklist, as a failed chain can be any length.
    fn settle(&mut self, id: NodeId, state: State) {
        let mut work = vec![(id, state)];
        while let Some((id, state)) = work.pop() {
            let cause = match &state {
                State::Done(_) => None,
                State::Skipped(root) => Some(*root),
                _ => Some(self.node(id).name),
            };
            let waiters = std::mem::take(&mut self.node(id).waiters);
            self.node(id).state = state;
            for w in waiters {
                match w {
                    Waiter::Target(i) => self.resolve_target(i),
                    Waiter::Node(c) => {
                        let State::Waiting(n) = self.node(c).state else {
                            continue;
                        };
                        if let Some(root) = cause {
                            // Mark it now so a second registration is ignored.
                            self.node(c).state = State::Skipped(root);
                            work.push((c, State::Skipped(root)));
                        } else if n <= 1 {
                            self.check_inputs(c);
                        } else {
                            self.node(c).state = State::Waiting(n - 1);
                        }
                    }
                }
            }
        }
    }

    /// The name of the thunk with every input replaced by its value, if
    /// every input has one now.
    fn resolved_name(&mut self, id: NodeId) -> Option<Name> {
        let inputs: Vec<OutputRef> =
            self.node(id).thunk.as_ref().expect("loaded").thunks.iter().map(|t| t.output.clone()).collect();
        for r in &inputs {
            if !matches!(self.resolve(r), Resolution::Value(_)) {
                return None;
            }
        }
        if self.node(id).thunk.as_ref().expect("loaded").thunks.is_empty() {
            return Some(self.node(id).name);
        }
        Some(self.resolved_thunk(id).name())
    }

    /// The thunk with every thunk input replaced by its value.
    fn resolved_thunk(&mut self, id: NodeId) -> Arc<Thunk> {
        let shared = self.node(id).thunk.clone().expect("loaded");
        if shared.thunks.is_empty() {
            return shared;
        }
        let mut thunk = Thunk::clone(&shared);
        let inputs = std::mem::take(&mut thunk.thunks);
        for t in inputs {
            let Resolution::Value(r) = self.resolve(&t.output) else { unreachable!("ready nodes have values") };
            thunk.values.push(Object { path: t.path, hash: r.value });
        }
        thunk.values.sort();
        Arc::new(thunk)
    }

    fn run(&mut self, executor: &dyn Executor, options: Options) {
        let jobs = options.jobs.max(1);
        if jobs == 1 {
            return self.run_inline(executor, options);
        }
        let chains = executor.runs_chains();
        let batches = executor.runs_batches();
        let (job_tx, job_rx) = mpsc::channel::<Vec<Unit>>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (done_tx, done_rx) = mpsc::channel::<Message>();
        std::thread::scope(|scope| {
            // Executor threads are started as work arrives (one per batch
            // in flight), so `-j 1000` on a small graph starts a few
            // threads, not a thousand.
            let mut threads = 0usize;
            let mut busy = 0usize;
            let spawn_worker = || {
                let job_rx = Arc::clone(&job_rx);
                let done_tx = done_tx.clone();
                std::thread::Builder::new().stack_size(WORKER_STACK).spawn_scoped(scope, move || loop {
                    let next = job_rx.lock().expect("job queue").recv();
                    let Ok(batch) = next else { break };
                    run_units(executor, &batch, &done_tx);
                    if done_tx.send(Message::Idle).is_err() {
                        break;
                    }
                })
            };
            let mut running = 0usize;
            loop {
                self.report.interrupted |= interrupt::interrupted();
                let stop = self.report.interrupted || (!options.keep_going && !self.report.failures.is_empty());
                let mut started = Vec::new();
                while running < jobs && !stop {
                    let Some(id) = self.ready.pop_front() else {
                        break;
                    };
                    if let Some(unit) = self.dispatch(id, chains) {
                        started.push(unit);
                        running += 1;
                    }
                }
                // A batching engine gets everything that became ready at
                // once in one call; others get one unit per call.
                let sends: Vec<Vec<Unit>> = match batches {
                    true if !started.is_empty() => vec![started],
                    true => Vec::new(),
                    false => started.into_iter().map(|u| vec![u]).collect(),
                };
                for batch in sends {
                    if busy == threads {
                        match spawn_worker() {
                            Ok(_) => threads += 1,
                            // Out of threads: the batch waits for one.
                            Err(_) if threads > 0 => {}
                            Err(e) => panic!("cannot start a worker thread: {e}"),
                        }
                    }
                    job_tx.send(batch).expect("workers are alive");
                    busy += 1;
                }
                if running == 0 {
                    break;
                }
                // Take every answer already in before starting more, so
                // that answers arriving together start their consumers
                // as one batch; nothing waits for answers still to come.
                let first = done_rx.recv().expect("a worker reports every job");
                for message in std::iter::once(first).chain(std::iter::from_fn(|| done_rx.try_recv().ok())) {
                    match message {
                        Message::Unit(done) => {
                            running -= 1;
                            self.complete_chain(done);
                            self.evaluate_fresh();
                        }
                        Message::Idle => busy -= 1,
                    }
                }
            }
            drop(job_tx);
        });
        drop(done_tx);
    }

    /// `-j 1`: every job on this thread, one after another. A worker
    /// forces each request this way, so a thousand requests start no
    /// thousand extra threads.
    fn run_inline(&mut self, executor: &dyn Executor, options: Options) {
        let chains = executor.runs_chains();
        loop {
            self.report.interrupted |= interrupt::interrupted();
            if self.report.interrupted || (!options.keep_going && !self.report.failures.is_empty()) {
                break;
            }
            let Some(id) = self.ready.pop_front() else { break };
            let Some(unit) = self.dispatch(id, chains) else { continue };
            let done = run_unit(executor, &unit);
            self.complete_chain(done);
            self.evaluate_fresh();
        }
    }

    /// Turns a ready node into a job, or answers it from the cache under
    /// its resolved name. With `chains`, the job grows into a chain while
    /// the last thunk's only consumer waits on nothing else.
    fn dispatch(&mut self, id: NodeId, chains: bool) -> Option<Unit> {
        let thunk = self.resolved_thunk(id);
        let name = self.node(id).name;
        // Without thunk inputs it is already resolved: no need to encode
        // it again to learn its name.
        let resolved =
            if self.node(id).thunk.as_ref().expect("loaded").thunks.is_empty() { name } else { thunk.name() };
        if resolved != name {
            if let Some(red) = self.cached(&resolved, &thunk) {
                let _ = self.store.set_reduction(&name, &red);
                self.report.cached += 1;
                self.settle(id, State::Done(red));
                self.evaluate_fresh();
                return None;
            }
        }
        self.node(id).state = State::Running;
        // Without thunk inputs it is the thunk loaded under its name.
        let stored = (resolved == name).then_some(name);
        let mut batch = vec![(id, name, thunk, stored)];
        // As sent: each member's original name -> the name it travels under.
        let mut sent: HashMap<Name, Name> = HashMap::from([(name, resolved)]);
        while chains && batch.len() < MAX_CHAIN {
            let last = batch.last().expect("not empty").0;
            let Some(next) = self.chain_successor(last, &sent) else { break };
            let thunk = self.partly_resolved_thunk(next, &sent);
            let next_name = self.node(next).name;
            sent.insert(next_name, thunk.name());
            self.node(next).state = State::Running;
            batch.push((next, next_name, thunk, None));
        }
        Some(batch)
    }

    /// The one consumer of `last` when it could travel in the same chain:
    /// `last` has no other consumer (so nothing else waits for the chain
    /// to end) and its every other input is already a value or comes from
    /// the chain. It is unregistered from the chain's waiter lists.
    fn chain_successor(&mut self, last: NodeId, sent: &HashMap<Name, Name>) -> Option<NodeId> {
        let waiters = &self.nodes[last.0 as usize].waiters;
        let mut consumers = waiters.iter().filter_map(|w| match w {
            Waiter::Node(c) => Some(*c),
            Waiter::Target(_) => None,
        });
        let next = consumers.next()?;
        if consumers.any(|c| c != next) || !matches!(self.node(next).state, State::Waiting(_)) {
            return None;
        }
        let inputs: Vec<OutputRef> =
            self.node(next).thunk.as_ref().expect("loaded").thunks.iter().map(|t| t.output.clone()).collect();
        for r in &inputs {
            match self.resolve(r) {
                Resolution::Value(_) => {}
                // Straight from a chain member (not through a dynamic thunk).
                Resolution::Pending(p) if p == self.ids[&r.thunk] && sent.contains_key(&r.thunk) => {}
                _ => return None,
            }
        }
        let members: Vec<NodeId> = sent.keys().map(|n| self.ids[n]).collect();
        for m in members {
            self.node(m).waiters.retain(|w| !matches!(w, Waiter::Node(c) if *c == next));
        }
        Some(next)
    }

    /// The thunk with each input that is already a value replaced by it,
    /// and each input from a chain member renamed to that member as sent.
    fn partly_resolved_thunk(&mut self, id: NodeId, sent: &HashMap<Name, Name>) -> Arc<Thunk> {
        let mut thunk = Thunk::clone(self.node(id).thunk.as_ref().expect("loaded"));
        let inputs = std::mem::take(&mut thunk.thunks);
        for mut t in inputs {
            match self.resolve(&t.output) {
                Resolution::Value(r) => thunk.values.push(Object { path: t.path, hash: r.value }),
                _ => {
                    t.output.thunk = sent[&t.output.thunk];
                    thunk.thunks.push(t);
                }
            }
        }
        thunk.values.sort();
        thunk.thunks.sort();
        Arc::new(thunk)
    }

    /// Records a chain's answers in order; after a failure, the rest of
    /// the chain is skipped.
    fn complete_chain(&mut self, done: Vec<Done>) {
        let mut failed: Option<Name> = None;
        for d in done {
            if let Some(root) = failed {
                self.settle(d.id, State::Skipped(root));
                continue;
            }
            let ok = d.result.is_ok();
            let name = self.node(d.id).name;
            // Its inputs are all values now that the members before it are
            // done: its fully resolved name shares the reduction.
            let resolved = self.resolved_name(d.id).unwrap_or(name);
            self.complete(d, resolved);
            if !ok {
                failed = Some(name);
            }
        }
    }

    fn complete(&mut self, done: Done, resolved: Name) {
        let name = self.node(done.id).name;
        match done.result {
            Ok(outcome) => {
                let thunk = self.node(done.id).thunk.as_ref().expect("loaded");
                let red = Reduction {
                    outputs: thunk.outputs.iter().cloned().zip(outcome.outputs).collect(),
                    stdout: outcome.stdout,
                    stderr: outcome.stderr,
                    executable: outcome.executable,
                };
                self.report.ran += 1;
                crate::tally::first_answer(&[name, resolved]);
                if let Some(e) = red.stderr {
                    self.report.stderr.push((name, e));
                }
                let mut recorded = self.store.set_reduction(&name, &red);
                if recorded.is_ok() && resolved != name {
                    recorded = self.store.set_reduction(&resolved, &red);
                }
                match recorded {
                    Ok(()) => self.settle(done.id, State::Done(red)),
                    Err(e) => {
                        let msg = format!("cannot record the result: {e}");
                        self.report.failures.push(Failure { thunk: name, error: ExecError::engine(&msg) });
                        self.settle(done.id, State::Failed(msg));
                    }
                }
            }
            Err(error) => {
                let msg = error.message.clone();
                self.report.failures.push(Failure { thunk: name, error });
                self.settle(done.id, State::Failed(msg));
            }
        }
    }

    fn finish(mut self) -> Report {
        for t in std::mem::take(&mut self.targets) {
            self.report.targets.push(match t {
                TargetState::Resolved(r) => r,
                TargetState::Pending(r) => Err(format!("`{r}` was not built (stopped after a failure)")),
            });
        }
        self.report
    }
}

/// Runs one job or chain and pairs each answer with its node.
fn run_unit(executor: &dyn Executor, unit: &Unit) -> Vec<Done> {
    let jobs: Vec<Job<'_>> =
        unit.iter().map(|(_, name, thunk, stored)| Job { name: *name, thunk, stored: *stored }).collect();
    let results = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &jobs[..] {
        [one] => vec![executor.execute(one)],
        many => executor.execute_chain(many),
    }))
    .unwrap_or_else(|_| jobs.iter().map(|_| Err(ExecError::engine("the executor panicked"))).collect());
    pair(unit, results)
}

/// Runs a batch of units, reporting each unit as the executor answers it.
fn run_units(executor: &dyn Executor, batch: &[Unit], done_tx: &mpsc::Sender<Message>) {
    if let [unit] = batch {
        let _ = done_tx.send(Message::Unit(run_unit(executor, unit)));
        return;
    }
    let jobs: Vec<Vec<Job<'_>>> = batch
        .iter()
        .map(|u| u.iter().map(|(_, name, thunk, stored)| Job { name: *name, thunk, stored: *stored }).collect())
        .collect();
    let units: Vec<&[Job<'_>]> = jobs.iter().map(Vec::as_slice).collect();
    let answered: Vec<AtomicBool> = batch.iter().map(|_| AtomicBool::new(false)).collect();
    // Each unit is reported once: a second answer (or a bad index) from a
    // confused engine is dropped rather than corrupting the counts.
    let done = |i: usize, results: Vec<Result<Outcome, ExecError>>| {
        if answered.get(i).is_some_and(|a| !a.swap(true, Ordering::AcqRel)) {
            let _ = done_tx.send(Message::Unit(pair(&batch[i], results)));
        }
    };
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| executor.execute_batch(&units, &done)));
    let why = if run.is_err() { "the executor panicked" } else { "the engine gave no answer" };
    for (i, unit) in batch.iter().enumerate() {
        done(i, unit.iter().map(|_| Err(ExecError::engine(why))).collect());
    }
}

/// Pairs each answer with its node; a missing answer is a failure.
fn pair(unit: &Unit, results: Vec<Result<Outcome, ExecError>>) -> Vec<Done> {
    let mut results = results.into_iter();
    unit.iter()
        .map(|(id, ..)| Done {
            id: *id,
            result: results.next().unwrap_or_else(|| Err(ExecError::engine("the engine gave no answer"))),
        })
        .collect()
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;
