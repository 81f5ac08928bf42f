//! The remote engine's unit loop: runs a batch of independent units
//! (thunks or ready chains) on the workers, those bound for one worker in
//! one request, failing over when a worker does not answer, starting a
//! straggler again elsewhere (the first answer wins), giving up on workers
//! that stall, and handing units no worker will run to the fallback
//! policy. It reaches workers only through the engine's
//! [`Transport`](super::transport::Transport), so its decisions can be
//! tested against a fake one.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use gg_core::engine::{ExecError, Outcome};
use gg_core::Thunk;

use super::{attempt, Attempt, Inner, RemoteExecutor};

impl Inner {
    /// How long before a running attempt counts as a straggler: four times
    /// the median of recent durations, and at least `straggler_min`.
    pub(super) fn straggler_after(&self) -> Duration {
        let d = self.durations.lock().expect("durations");
        let mut v: Vec<Duration> = d.iter().rev().take(64).copied().collect();
        v.sort();
        let median = v.get(v.len() / 2).copied().unwrap_or_default();
        (median * 4).max(self.straggler_min)
    }

    pub(super) fn record(&self, took: Duration) {
        let mut d = self.durations.lock().expect("durations");
        d.push(took);
        if d.len() > 256 {
            d.drain(..128);
        }
    }
}

/// A unit's end on one worker: the worker, the unit, how long it took,
/// and its answers.
type Report = (usize, usize, Duration, attempt::UnitAnswer);

/// A thunk or a ready chain, run as one.
type Chain = Arc<Vec<Arc<Thunk>>>;

/// Where one unit of a batch stands.
struct Unit {
    chain: Chain,
    /// Workers it was sent to.
    tried: HashSet<usize>,
    /// Attempts still running.
    running: usize,
    /// When it was last started somewhere: how long it has been waiting.
    since: Instant,
    /// Straggler periods with nowhere else to send it.
    stalls: usize,
    engine_error: Option<String>,
    answered: bool,
}

impl RemoteExecutor {
    /// Sends `batch` (units by index, each already counted in the
    /// worker's `in_flight`) to `w` in one request, on a pool thread.
    fn launch(&self, w: usize, batch: Vec<(usize, Chain)>, tx: &mpsc::Sender<Report>) {
        let (inner, tx) = (Arc::clone(&self.inner), tx.clone());
        // Detached: a straggler's attempt may outlive the answer.
        self.inner.pool.spawn(move || {
            let start = Instant::now();
            let chains: Vec<&[Arc<Thunk>]> = batch.iter().map(|(_, c)| c.as_slice()).collect();
            let remote = &inner.workers[w];
            inner.transport.attempt_each(&inner, w, &chains, &mut |k, answer| {
                remote.in_flight.fetch_sub(1, Ordering::Relaxed);
                let _ = tx.send((w, batch[k].0, start.elapsed(), answer));
            });
        });
    }

    /// Runs independent units on the workers, those bound for one worker
    /// in one request, failing over and duplicating stragglers unit by
    /// unit, and falling back to the local engine (each unit on its own
    /// thread, as the scheduler would have run them) when no worker
    /// answers. Calls `done(i, answers)` once per unit as it ends.
    pub(super) fn run_units(&self, chains: Vec<Chain>, done: &(dyn Fn(usize, Vec<Result<Outcome, ExecError>>) + Sync)) {
        let now = Instant::now();
        let mut units: Vec<Unit> = chains
            .into_iter()
            .map(|chain| Unit {
                chain,
                tried: HashSet::new(),
                running: 0,
                since: now,
                stalls: 0,
                engine_error: None,
                answered: false,
            })
            .collect();
        let (tx, rx) = mpsc::channel::<Report>();
        // Why workers were written off, once per worker, for the warning.
        let mut why: Vec<String> = Vec::new();
        let mut left = units.len();
        let tick = Duration::from_millis(200);
        std::thread::scope(|scope| {
            // Units to start on a (further) worker.
            let mut start: Vec<usize> = (0..units.len()).collect();
            let mut checked = Instant::now();
            loop {
                let mut batches: HashMap<usize, Vec<(usize, Chain)>> = HashMap::new();
                for i in start.drain(..) {
                    let u = &mut units[i];
                    match self.pick(&u.chain, &u.tried) {
                        Some(w) => {
                            u.tried.insert(w);
                            u.running += 1;
                            u.since = Instant::now();
                            // Counted now, so the next pick sees the load.
                            self.inner.workers[w].in_flight.fetch_add(1, Ordering::Relaxed);
                            batches.entry(w).or_default().push((i, Arc::clone(&u.chain)));
                        }
                        // Somewhere to go only matters when nothing runs.
                        None if u.running > 0 => {}
                        None => {
                            u.answered = true;
                            left -= 1;
                            let (chain, engine_error, why) = (Arc::clone(&u.chain), u.engine_error.take(), why.clone());
                            scope.spawn(move || done(i, self.without_workers(&chain, engine_error, why)));
                        }
                    }
                }
                for (w, batch) in batches {
                    self.launch(w, batch, &tx);
                }
                if left == 0 {
                    break;
                }
                // Short ticks, so an interrupt is noticed promptly.
                let first = match rx.recv_timeout(tick) {
                    Ok(report) => Some(report),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => unreachable!("this function holds a sender"),
                };
                for (w, i, took, result) in first.into_iter().chain(std::iter::from_fn(|| rx.try_recv().ok())) {
                    let u = &mut units[i];
                    // Zero already if its attempts were abandoned.
                    u.running = u.running.saturating_sub(1);
                    let remote = &self.inner.workers[w];
                    remote.stalled.store(false, Ordering::Relaxed);
                    if u.answered {
                        continue; // a duplicate that lost
                    }
                    let answers = match result {
                        Ok(answers) => {
                            self.inner.record(took / u.chain.len() as u32);
                            answers
                        }
                        Err(Attempt::Failed(e)) => u.chain.iter().map(|_| Err(e.clone())).collect(),
                        Err(Attempt::Engine(msg)) => {
                            u.engine_error = Some(msg);
                            if u.running == 0 {
                                start.push(i);
                            }
                            continue;
                        }
                        Err(Attempt::Unreachable(msg)) => {
                            // Its thunks go elsewhere from now on.
                            if remote.alive.swap(false, Ordering::Relaxed) {
                                why.push(format!("{}: {msg}", remote.url));
                            }
                            if u.running == 0 {
                                start.push(i);
                            }
                            continue;
                        }
                    };
                    u.answered = true;
                    left -= 1;
                    done(i, answers);
                }
                if checked.elapsed() < tick {
                    continue;
                }
                checked = Instant::now();
                if gg_core::interrupt::interrupted() {
                    for (i, u) in units.iter_mut().enumerate().filter(|(_, u)| !u.answered) {
                        u.answered = true;
                        done(i, u.chain.iter().map(|_| Err(ExecError::engine("interrupted"))).collect());
                    }
                    break;
                }
                let after = self.inner.straggler_after();
                for (i, u) in units.iter_mut().enumerate() {
                    if u.answered || u.running == 0 || u.since.elapsed() < after * u.chain.len() as u32 {
                        continue;
                    }
                    u.since = Instant::now();
                    // A straggler: start it again elsewhere; the first
                    // answer wins.
                    for w in &u.tried {
                        self.inner.workers[*w].stalled.store(true, Ordering::Relaxed);
                    }
                    if self.pick(&u.chain, &u.tried).is_some() {
                        self.duplicated.fetch_add(1, Ordering::Relaxed);
                        start.push(i);
                        continue;
                    }
                    // Nowhere left to run it: after three such periods,
                    // give up on the silent workers.
                    u.stalls += 1;
                    if u.stalls >= 3 {
                        for w in &u.tried {
                            let remote = &self.inner.workers[*w];
                            if remote.alive.swap(false, Ordering::Relaxed) {
                                why.push(format!("{}: no answer", remote.url));
                            }
                        }
                        // Its attempts are abandoned: start it as if none ran.
                        u.running = 0;
                        start.push(i);
                    }
                }
            }
        });
    }

    /// The answer for a unit no worker would run: the error every worker
    /// tried gave when they all failed to set it up (running it here would
    /// hide a broken pool), else the local engine's.
    fn without_workers(
        &self,
        chain: &[Arc<Thunk>],
        engine_error: Option<String>,
        mut why: Vec<String>,
    ) -> Vec<Result<Outcome, ExecError>> {
        if let Some(msg) = engine_error {
            return chain.iter().map(|_| Err(ExecError::engine(msg.clone()))).collect();
        }
        if why.is_empty() {
            why.push("every worker stopped answering earlier in this run".into());
        }
        let inner = &self.inner;
        self.fallback.answer(chain.len(), &why.join("; "), || inner.transport.run_local(inner, chain))
    }

    /// Runs one unit.
    pub(super) fn run(&self, chain: Vec<Arc<Thunk>>) -> Vec<Result<Outcome, ExecError>> {
        let answer = Mutex::new(Vec::new());
        self.run_units(vec![Arc::new(chain)], &|_, a| *answer.lock().expect("answer") = a);
        answer.into_inner().expect("answer")
    }
}
