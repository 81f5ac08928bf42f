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

use super::{attempt, Attempt, RemoteExecutor};

/// A unit's end on one worker: the worker, the unit, how long it took,
/// and its answers.
type Report = (usize, usize, Duration, attempt::UnitAnswer);

/// A thunk or a ready chain, run as one.
type Chain = Arc<Vec<Arc<Thunk>>>;

/// Units sent in one request at the least (a request costs a round trip
/// and a slot's wait on the worker).
const PER_REQUEST: usize = 64;

/// A worker's share of a batch as requests: one per core of this machine
/// while each keeps [`PER_REQUEST`] units, so that encoding the thunks
/// here, and parsing them there, runs on every core (a round of a
/// thousand compiles sent as one request was one thread's work on each
/// side).
fn split<T>(batch: Vec<T>) -> Vec<Vec<T>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parts = (batch.len() / PER_REQUEST).clamp(1, cores);
    let size = batch.len().div_ceil(parts);
    let mut out = Vec::with_capacity(parts);
    let mut rest = batch.into_iter().peekable();
    while rest.peek().is_some() {
        out.push(rest.by_ref().take(size).collect());
    }
    out
}

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
                    for part in split(batch) {
                        self.launch(w, part, &tx);
                    }
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
                            self.inner.straggler.record(took / u.chain.len() as u32);
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
                    gg_core::tally::add(
                        gg_core::tally::Source::RanRemotely,
                        answers.iter().filter(|a| a.is_ok()).count(),
                    );
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
                let after = self.inner.straggler.after();
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize};

    use gg_core::{Function, Name, Object, Store};

    use super::super::transport::Transport;
    use super::super::Inner;
    use super::*;

    /// What a fake worker does with the units sent to it.
    #[derive(Debug, Clone, Copy)]
    enum Does {
        /// Runs them at once.
        Answer,
        /// Is not there (connection refused and the like).
        Refuse,
        /// Cannot set the run up (its disk, its sandbox).
        Break,
        /// Runs them and the thunks themselves fail.
        FailThunks,
        /// Answers only after this long.
        Late(Duration),
        /// Never answers, until the test ends.
        Hang,
    }

    /// What the fake saw, shared with the test.
    #[derive(Debug, Default)]
    struct Seen {
        /// Workers attempts went to, in order.
        sent: Mutex<Vec<usize>>,
        /// Chains run locally.
        local: AtomicUsize,
        /// Lets hanging workers go at the end of a test.
        released: AtomicBool,
    }

    #[derive(Debug)]
    struct Fake {
        does: Vec<Does>,
        seen: Arc<Seen>,
    }

    /// An outcome that says who made it.
    fn made_by(who: &str) -> Outcome {
        Outcome { outputs: vec![Name::of_value(who.as_bytes())], executable: vec![], stdout: None, stderr: None }
    }

    impl Transport for Fake {
        fn attempt_each(
            &self,
            _: &Inner,
            w: usize,
            units: &[&[Arc<Thunk>]],
            on_unit: &mut dyn FnMut(usize, attempt::UnitAnswer),
        ) {
            self.seen.sent.lock().unwrap().push(w);
            let answer = |unit: &[Arc<Thunk>]| -> attempt::UnitAnswer {
                match self.does[w] {
                    Does::Answer | Does::Late(_) => Ok(unit.iter().map(|_| Ok(made_by(&format!("w{w}")))).collect()),
                    Does::Refuse => Err(Attempt::Unreachable("connection refused".into())),
                    Does::Break => Err(Attempt::Engine("the worker's disk is full".into())),
                    Does::FailThunks => Err(Attempt::Failed(ExecError::engine("the compiler crashed"))),
                    Does::Hang => Err(Attempt::Unreachable("hung up at last".into())),
                }
            };
            let wait = match self.does[w] {
                Does::Late(d) => d,
                Does::Hang => Duration::from_secs(60),
                _ => Duration::ZERO,
            };
            let start = Instant::now();
            while start.elapsed() < wait && !self.seen.released.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(10));
            }
            for (k, unit) in units.iter().enumerate() {
                on_unit(k, answer(unit));
            }
        }

        fn run_local(&self, _: &Inner, chain: &[Arc<Thunk>]) -> Vec<Result<Outcome, ExecError>> {
            self.seen.local.fetch_add(1, Ordering::Relaxed);
            chain.iter().map(|_| Ok(made_by("local"))).collect()
        }
    }

    /// An engine over fake workers doing `does`, trying them in order,
    /// and what its transport saw.
    fn engine(does: &[Does], strict: bool) -> (RemoteExecutor, Arc<Seen>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let urls: Vec<String> = (0..does.len()).map(|i| format!("http://w{i}")).collect();
        let seen = Arc::new(Seen::default());
        let fake = Fake { does: does.to_vec(), seen: Arc::clone(&seen) };
        let mut r = RemoteExecutor::with_tls(store, &urls, None, strict, None, Box::new(fake));
        // Stragglers and stalls within a test's patience.
        Arc::get_mut(&mut r.inner).unwrap().straggler.min = Duration::from_millis(50);
        // The first pick is worker 0, not one chosen by the process id.
        r.next.store(0, Ordering::Relaxed);
        (r, seen, dir)
    }

    fn unit(input: &str) -> Chain {
        let f = Name::of_value(b"tool");
        let t = Thunk::new(
            Function { hash: f, args: vec!["tool".into()], envars: vec![] },
            vec![Object { path: "in".into(), hash: Name::of_value(input.as_bytes()) }],
            vec![Object { path: "tool".into(), hash: f }],
            vec![],
            vec!["out".into()],
            String::new(),
            0,
        )
        .unwrap();
        Arc::new(vec![Arc::new(t)])
    }

    #[test]
    fn a_stored_thunk_is_read_back_while_its_job_runs_and_only_if_it_hashes_to_its_name() {
        use gg_core::engine::Job;
        let (r, _seen, _dir) = engine(&[Does::Answer], false);
        let t = Arc::clone(&unit("a")[0]);
        let encoded = t.encode();
        let name = r.inner.store.put_bytes(gg_core::Kind::Thunk, &encoded).unwrap();
        // Equal, but another thunk in memory: nothing says it is stored.
        let twin = Arc::new(Thunk::clone(&t));
        let job = Job { name, thunk: &t, stored: Some(name) };
        {
            let _held = r.inner.hold_stored(std::slice::from_ref(&job));
            let both = [Arc::clone(&t), Arc::clone(&twin)];
            assert_eq!(r.inner.stored_names(&both), vec![Some(name), None]);
            assert_eq!(r.inner.read_stored(&name), Some(encoded.clone()));
            // Other bytes of the same size under its name are not sent.
            let path = r.inner.store.blob_path(&name);
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
            let mut other = encoded.clone();
            other[encoded.len() - 2] ^= 1;
            std::fs::write(&path, &other).unwrap();
            assert_eq!(r.inner.read_stored(&name), None);
        }
        assert_eq!(r.inner.stored_names(&[Arc::clone(&t)]), vec![None], "forgotten when its job ends");
    }

    /// One unit's answers, one per thunk.
    type Answers = Vec<Result<Outcome, ExecError>>;

    /// Runs `units` and collects each one's answers, checking that each
    /// is answered exactly once.
    fn run(r: &RemoteExecutor, units: Vec<Chain>) -> Vec<Answers> {
        let n = units.len();
        let answers: Mutex<Vec<Option<Answers>>> = Mutex::new((0..n).map(|_| None).collect());
        r.run_units(units, &|i, a| {
            let old = answers.lock().unwrap()[i].replace(a);
            assert!(old.is_none(), "unit {i} answered twice");
        });
        answers.into_inner().unwrap().into_iter().map(|a| a.expect("every unit answered")).collect()
    }

    fn only_outcome(answers: &[Result<Outcome, ExecError>]) -> &Outcome {
        assert_eq!(answers.len(), 1);
        answers[0].as_ref().expect("an outcome")
    }

    fn only_error(answers: &[Result<Outcome, ExecError>]) -> String {
        assert_eq!(answers.len(), 1);
        match &answers[0] {
            Ok(_) => panic!("an error was expected"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_batch_goes_in_one_request_per_core_while_each_keeps_its_share() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let sizes = |n: usize| split((0..n).collect::<Vec<_>>()).iter().map(Vec::len).collect::<Vec<_>>();
        assert_eq!(sizes(3), [3], "a small batch is one request");
        assert_eq!(sizes(PER_REQUEST * 2 - 1), [PER_REQUEST * 2 - 1]);
        let big = sizes(PER_REQUEST * cores * 4 + 1);
        assert_eq!(big.len(), cores);
        assert_eq!(big.iter().sum::<usize>(), PER_REQUEST * cores * 4 + 1, "nothing lost or sent twice");
        assert!(big.iter().max().unwrap() - big.iter().min().unwrap() <= cores, "even shares: {big:?}");
        let order: Vec<usize> = split((0..1000).collect::<Vec<_>>()).concat();
        assert_eq!(order, (0..1000).collect::<Vec<_>>(), "in the round's order");
    }

    #[test]
    fn a_unit_fails_over_to_another_worker_when_one_does_not_answer() {
        let (r, seen, _dir) = engine(&[Does::Refuse, Does::Answer], false);
        let answers = run(&r, vec![unit("a")]);
        assert_eq!(only_outcome(&answers[0]), &made_by("w1"));
        assert_eq!(*seen.sent.lock().unwrap(), vec![0, 1]);
        assert!(!r.inner.workers[0].alive.load(Ordering::Relaxed), "the silent worker is written off");
        assert_eq!((r.fallbacks(), seen.local.load(Ordering::Relaxed)), (0, 0));
        // Later units do not try it again.
        run(&r, vec![unit("b")]);
        assert_eq!(*seen.sent.lock().unwrap(), vec![0, 1, 1]);
    }

    #[test]
    fn a_failing_thunk_is_reported_not_retried_elsewhere() {
        let (r, seen, _dir) = engine(&[Does::FailThunks, Does::Answer], false);
        let answers = run(&r, vec![unit("a")]);
        assert!(only_error(&answers[0]).contains("the compiler crashed"));
        assert_eq!(*seen.sent.lock().unwrap(), vec![0]);
        assert!(r.inner.workers[0].alive.load(Ordering::Relaxed));
    }

    #[test]
    fn a_straggler_is_started_again_elsewhere_and_the_first_answer_wins() {
        let (r, seen, _dir) = engine(&[Does::Late(Duration::from_secs(20)), Does::Answer], false);
        let start = Instant::now();
        let answers = run(&r, vec![unit("a")]);
        assert_eq!(only_outcome(&answers[0]), &made_by("w1"), "the duplicate's answer, not the straggler's");
        assert!(start.elapsed() < Duration::from_secs(10), "did not wait for the straggler");
        assert_eq!(*seen.sent.lock().unwrap(), vec![0, 1]);
        assert_eq!(r.duplicated.load(Ordering::Relaxed), 1);
        assert!(r.inner.workers[0].stalled.load(Ordering::Relaxed), "nothing new goes to the straggler");
        assert!(r.inner.workers[0].alive.load(Ordering::Relaxed), "but it is not written off");
        seen.released.store(true, Ordering::Relaxed);
    }

    #[test]
    fn a_unit_stalled_on_its_only_worker_is_given_up_after_three_periods_and_run_locally() {
        let (r, seen, _dir) = engine(&[Does::Hang], false);
        let start = Instant::now();
        let answers = run(&r, vec![unit("a")]);
        assert!(start.elapsed() < Duration::from_secs(10), "gave up without waiting for the worker");
        assert_eq!(only_outcome(&answers[0]), &made_by("local"));
        assert_eq!(r.duplicated.load(Ordering::Relaxed), 0, "there was nowhere to duplicate it");
        assert!(!r.inner.workers[0].alive.load(Ordering::Relaxed), "the silent worker is written off");
        assert_eq!((r.fallbacks(), seen.local.load(Ordering::Relaxed)), (1, 1));
        seen.released.store(true, Ordering::Relaxed);
    }

    #[test]
    fn when_no_worker_answers_every_unit_runs_locally() {
        let (r, seen, _dir) = engine(&[Does::Refuse, Does::Refuse], false);
        let answers = run(&r, vec![unit("a"), unit("b")]);
        for a in &answers {
            assert_eq!(only_outcome(a), &made_by("local"));
        }
        assert!(r.inner.workers.iter().all(|w| !w.alive.load(Ordering::Relaxed)));
        assert_eq!((r.fallbacks(), seen.local.load(Ordering::Relaxed)), (2, 2));
    }

    #[test]
    fn strict_mode_fails_the_units_naming_the_workers_instead_of_running_them_locally() {
        let (r, seen, _dir) = engine(&[Does::Refuse, Does::Refuse], true);
        let answers = run(&r, vec![unit("a"), unit("b")]);
        for a in &answers {
            let e = only_error(a);
            assert!(e.contains("no worker answered (GG_REMOTE_STRICT=1)"), "{e}");
            assert!(e.contains("http://w0: connection refused") && e.contains("http://w1"), "{e}");
        }
        assert_eq!((r.fallbacks(), seen.local.load(Ordering::Relaxed)), (0, 0));
    }

    #[test]
    fn strict_mode_names_a_stalled_worker() {
        let (r, seen, _dir) = engine(&[Does::Hang], true);
        let e = only_error(&run(&r, vec![unit("a")])[0]);
        assert!(e.contains("http://w0: no answer"), "{e}");
        assert_eq!(seen.local.load(Ordering::Relaxed), 0);
        seen.released.store(true, Ordering::Relaxed);
    }

    #[test]
    fn a_run_every_worker_failed_to_set_up_is_reported_not_hidden_by_a_local_run() {
        let (r, seen, _dir) = engine(&[Does::Break, Does::Break], false);
        let e = only_error(&run(&r, vec![unit("a")])[0]);
        assert!(e.contains("the worker's disk is full"), "{e}");
        assert_eq!(*seen.sent.lock().unwrap(), vec![0, 1], "tried on each worker once");
        assert!(r.inner.workers.iter().all(|w| w.alive.load(Ordering::Relaxed)), "both keep getting work");
        assert_eq!(seen.local.load(Ordering::Relaxed), 0);
    }
}
