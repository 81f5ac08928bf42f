//! The remote engine: an [`Executor`] that runs each ready thunk (or ready
//! chain) on one of a pool of gg-workers (docs/protocol.md). It uploads
//! only the blobs a worker lacks (and remembers what each has), spreads
//! thunks over the workers, sends the ready thunks bound for one worker in
//! one request, leaves large outputs where they were made until needed,
//! moves on to another worker when one does not answer, and runs locally,
//! with a warning, when none does (`GG_REMOTE_STRICT=1` makes that an
//! error instead).

mod attempt;
mod blobs;
mod pinned;
mod pool;
mod tls;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use gg_core::engine::local::LocalExecutor;
use gg_core::engine::{ExecError, Executor, Job, Outcome};
use gg_core::{Name, Store, Thunk};

/// One worker as the client sees it.
#[derive(Debug)]
struct Remote {
    url: String,
    /// Blobs this worker is known to hold.
    known: Mutex<HashSet<Name>>,
    /// Blobs some attempt is checking or uploading there now: others wait
    /// for it rather than send the same bytes again (a burst of a thousand
    /// thunks shares one compiler).
    uploading: Mutex<HashMap<Name, Arc<blobs::Flight>>>,
    alive: AtomicBool,
    /// An attempt there ran far past the expected time: send nothing new
    /// until something it runs comes back.
    stalled: AtomicBool,
    /// Its `--jobs`, once asked; attempts now running there.
    slots: AtomicUsize,
    in_flight: AtomicUsize,
}

/// What attempts share, including ones still running on a straggler after
/// their thunk was answered elsewhere.
#[derive(Debug)]
struct Inner {
    store: Store,
    agent: ureq::Agent,
    workers: Vec<Remote>,
    token: Option<String>,
    /// Recent thunk durations on workers, to tell a straggler.
    durations: Mutex<Vec<Duration>>,
    /// No attempt counts as a straggler before this.
    straggler_min: Duration,
    /// Runs thunks here when no worker answers, and re-runs producers of
    /// outputs lost with their worker when none is left.
    local: LocalExecutor,
    /// The thunk (every input a value) that made each output left on a
    /// worker: how to make it again if that worker is lost.
    producers: Mutex<HashMap<Name, Arc<Thunk>>>,
    /// Threads for attempts.
    pool: pool::Pool,
}

/// Runs thunks on gg-workers.
#[derive(Debug)]
pub struct RemoteExecutor {
    inner: Arc<Inner>,
    next: AtomicUsize,
    strict: bool,
    warned: AtomicBool,
    /// Thunks that ran locally because no worker answered.
    pub fallbacks: AtomicUsize,
    /// Thunks started again on another worker because the first was slow.
    pub duplicated: AtomicUsize,
}

/// How the client trusts `https://` workers.
#[derive(Debug)]
enum Trust {
    /// Certificates a trusted CA signed, for the name in the URL.
    Roots(ureq::tls::TlsConfig),
    /// Exactly these certificates (SHA-256), whoever signed them.
    Pins(Vec<pinned::Pin>),
}

/// How one attempt on one worker ended, when not with outputs.
#[derive(Clone)]
enum Attempt {
    /// The thunk itself failed: report it, do not retry elsewhere.
    Failed(ExecError),
    /// The worker did not answer properly: try another.
    Unreachable(String),
    /// The worker could not set up or collect the run (its disk, its
    /// sandbox): try another, but keep sending it work.
    Engine(String),
}

impl RemoteExecutor {
    /// `urls` like `http://host:port` or `https://…`; `token` sent as a
    /// bearer token. `https://` workers are verified against the system's
    /// roots (see [`RemoteExecutor::from_env`] for a private CA).
    pub fn new(store: Store, urls: &[String], token: Option<String>, strict: bool) -> RemoteExecutor {
        let tls = urls.iter().any(|u| u.starts_with("https://"));
        let trust = tls.then(|| Trust::Roots(tls::config(None).expect("no file to read")));
        RemoteExecutor::with_tls(store, urls, token, strict, trust)
    }

    fn with_tls(
        store: Store,
        urls: &[String],
        token: Option<String>,
        strict: bool,
        trust: Option<Trust>,
    ) -> RemoteExecutor {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(3)))
            .max_idle_connections_per_host(64)
            // Each connection zeroes its buffers up front; a burst opens a
            // thousand connections, and 2 × 128 KiB each (the default)
            // made that page faulting a fifth of the client's time.
            .input_buffer_size(16 * 1024)
            .output_buffer_size(64 * 1024);
        let agent = match trust {
            None => agent.build().into(),
            Some(Trust::Roots(tls)) => agent.tls_config(tls).build().into(),
            Some(Trust::Pins(pins)) => {
                use ureq::unversioned::{resolver::DefaultResolver, transport::Connector as _};
                let connector = ().chain(ureq::unversioned::transport::TcpConnector::default());
                ureq::Agent::with_parts(
                    agent.build(),
                    connector.chain(pinned::Pinned::new(pins)),
                    DefaultResolver::default(),
                )
            }
        };
        let workers = urls
            .iter()
            .map(|u| Remote {
                url: u.trim_end_matches('/').to_string(),
                known: Mutex::default(),
                uploading: Mutex::default(),
                alive: AtomicBool::new(true),
                stalled: AtomicBool::new(false),
                slots: AtomicUsize::new(2),
                in_flight: AtomicUsize::new(0),
            })
            .collect();
        let straggler_min = Duration::from_secs_f64(gg_core::env::DEFAULT_STRAGGLER_SECS);
        RemoteExecutor {
            inner: Arc::new(Inner {
                local: LocalExecutor::new(store.clone()),
                store,
                agent,
                workers,
                token,
                durations: Mutex::default(),
                straggler_min,
                producers: Mutex::default(),
                pool: pool::Pool::default(),
            }),
            // Many short-lived clients (one gg-cc per compile) must not all
            // start with the first worker.
            next: AtomicUsize::new(std::process::id() as usize),
            strict,
            warned: AtomicBool::new(false),
            fallbacks: AtomicUsize::new(0),
            duplicated: AtomicUsize::new(0),
        }
    }

    /// The remote engine `GG_ENGINE=remote` asks for, from `GG_WORKERS`,
    /// `GG_TOKEN` (or `GG_TOKEN_FILE`), `GG_WORKER_CA` (a CA that signed
    /// `https://` workers' certificates, trusted besides the system's),
    /// `GG_WORKER_FINGERPRINT` (the certificates themselves, pinned instead)
    /// and `GG_REMOTE_STRICT`; `None` for the local engine (`GG_ENGINE` unset
    /// or `local`).
    pub fn from_env(store: &Store) -> anyhow::Result<Option<RemoteExecutor>> {
        use anyhow::{bail, Context};
        use gg_core::engine::EngineKind;
        let c = gg_core::config::engine().map_err(anyhow::Error::msg)?;
        match c.kind.unwrap_or_default() {
            EngineKind::Local => return Ok(None),
            EngineKind::Remote => {}
            other => bail!("engine `{other}` (GG_ENGINE or the config file): expected `local` or `remote`"),
        }
        let workers = c.workers.unwrap_or_default();
        if workers.is_empty() {
            bail!("the remote engine needs workers: GG_WORKERS=URL[,URL…] or `workers` in the config file");
        }
        let token = match (gg_core::env::token(), &c.token_file) {
            (Some(t), _) => Some(t),
            (None, Some(f)) => {
                let t = std::fs::read_to_string(f)
                    .with_context(|| format!("cannot read the token file `{}`", f.display()))?;
                Some(t.trim().to_string())
            }
            _ => None,
        };
        let https = workers.iter().any(|u| u.starts_with("https://"));
        let tls = match (&c.fingerprint, &c.ca_file) {
            _ if !https => None,
            (Some(pins), _) => {
                Some(Trust::Pins(pinned::parse_pins(pins).map_err(|e| anyhow::anyhow!("GG_WORKER_FINGERPRINT: {e}"))?))
            }
            (None, ca) => Some(Trust::Roots(tls::config(ca.as_deref()).map_err(anyhow::Error::msg)?)),
        };
        let mut r = RemoteExecutor::with_tls(store.clone(), &workers, token, c.strict.unwrap_or(false), tls);
        if let Some(secs) = c.straggler_secs {
            Arc::get_mut(&mut r.inner).expect("not shared yet").straggler_min = Duration::from_secs_f64(secs);
        }
        Ok(Some(r))
    }

    /// The total of the workers' slots, asking each for its status; the
    /// default number of thunks in flight. `None` if none answers.
    pub fn slots(&self) -> Option<usize> {
        let inner = &self.inner;
        let mut total = 0;
        for w in &inner.workers {
            // A stopped worker accepts the connection and never answers.
            let req = inner.auth(inner.agent.get(format!("{}/v1/status", w.url)));
            let resp = req.config().timeout_global(Some(Duration::from_secs(2))).build().call();
            if let Ok((200, text)) = read(resp) {
                if let Ok(s) = serde_json::from_str::<crate::protocol::Status>(&text) {
                    total += s.slots;
                    w.slots.store(s.slots.max(1), Ordering::Relaxed);
                }
            }
        }
        (total > 0).then_some(total)
    }
}

impl Inner {
    fn auth<B>(&self, req: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.token {
            Some(t) => req.header("Authorization", format!("Bearer {t}")),
            None => req,
        }
    }

    fn call_json<T: serde::de::DeserializeOwned>(
        &self,
        req: ureq::RequestBuilder<ureq::typestate::WithBody>,
        body: String,
    ) -> Result<T, Attempt> {
        let (code, text) = read(req.header("Content-Type", "application/json").send(body))?;
        match code {
            200 => serde_json::from_str(&text).map_err(|e| Attempt::Unreachable(format!("unreadable answer: {e}"))),
            400 | 401 | 413 | 422 => Err(Attempt::Failed(ExecError::engine(format!(
                "the worker refused the request ({code}): {}",
                text.trim()
            )))),
            _ => Err(Attempt::Unreachable(format!("{code} {}", text.trim()))),
        }
    }
}

/// Status and body of a response, or why there is none.
fn read(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<(u16, String), Attempt> {
    let mut resp = resp.map_err(|e| Attempt::Unreachable(tls::describe(&e)))?;
    let code = resp.status().as_u16();
    let text = resp
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_string()
        .map_err(|e| Attempt::Unreachable(e.to_string()))?;
    Ok((code, text))
}

impl Inner {
    /// How long before a running attempt counts as a straggler: four times
    /// the median of recent durations, and at least `straggler_min`.
    fn straggler_after(&self) -> Duration {
        let d = self.durations.lock().expect("durations");
        let mut v: Vec<Duration> = d.iter().rev().take(64).copied().collect();
        v.sort();
        let median = v.get(v.len() / 2).copied().unwrap_or_default();
        (median * 4).max(self.straggler_min)
    }

    fn record(&self, took: Duration) {
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
    /// The next worker to try: alive, not stalled, not tried for this
    /// thunk; among those with a free slot, the one already holding the
    /// most bytes of its inputs (ties go round the pool); when all are full,
    /// the least loaded.
    fn pick(&self, chain: &[Arc<Thunk>], tried: &HashSet<usize>) -> Option<usize> {
        let ws = &self.inner.workers;
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let held = |w: &Remote| -> u64 {
            let known = w.known.lock().expect("known");
            let objects = chain.iter().flat_map(|t| t.objects());
            objects.filter(|(o, _)| known.contains(&o.hash)).map(|(o, _)| o.hash.size()).sum()
        };
        let load = |w: &Remote| (w.in_flight.load(Ordering::Relaxed), w.slots.load(Ordering::Relaxed).max(1));
        let candidates: Vec<usize> = (0..ws.len())
            .map(|k| (start + k) % ws.len())
            .filter(|i| {
                !tried.contains(i) && ws[*i].alive.load(Ordering::Relaxed) && !ws[*i].stalled.load(Ordering::Relaxed)
            })
            .collect();
        let free: Vec<usize> = candidates.iter().copied().filter(|i| load(&ws[*i]).0 < load(&ws[*i]).1).collect();
        if free.is_empty() {
            return candidates.into_iter().min_by_key(|i| {
                let (n, s) = load(&ws[*i]);
                n * 1000 / s
            });
        }
        // `max_by_key` keeps the last maximum: iterate in reverse so that
        // ties go to the earliest in round-robin order.
        free.into_iter().rev().max_by_key(|i| held(&ws[*i]))
    }

    /// Sends `batch` (units by index, each already counted in the
    /// worker's `in_flight`) to `w` in one request, on a pool thread.
    fn launch(&self, w: usize, batch: Vec<(usize, Chain)>, tx: &mpsc::Sender<Report>) {
        let (inner, tx) = (Arc::clone(&self.inner), tx.clone());
        // Detached: a straggler's attempt may outlive the answer.
        self.inner.pool.spawn(move || {
            let start = Instant::now();
            let chains: Vec<&[Arc<Thunk>]> = batch.iter().map(|(_, c)| c.as_slice()).collect();
            let remote = &inner.workers[w];
            inner.attempt_each(remote, &chains, &mut |k, answer| {
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
    fn run_units(&self, chains: Vec<Chain>, done: &(dyn Fn(usize, Vec<Result<Outcome, ExecError>>) + Sync)) {
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
        if self.strict {
            let msg = format!("no worker answered (GG_REMOTE_STRICT=1): {}", why.join("; "));
            return chain.iter().map(|_| Err(ExecError::engine(msg.clone()))).collect();
        }
        if !self.warned.swap(true, Ordering::Relaxed) {
            eprintln!("gg: warning: no worker answered ({}); running thunks locally", why.join("; "));
        }
        self.fallbacks.fetch_add(chain.len(), Ordering::Relaxed);
        self.run_local(chain)
    }

    /// Runs a chain here, one thunk after another, after bringing in its
    /// objects from wherever they are.
    fn run_local(&self, chain: &[Arc<Thunk>]) -> Vec<Result<Outcome, ExecError>> {
        self.inner.local.execute_chain_with(chain, &|objects| self.fetch(objects))
    }

    /// Runs one unit.
    fn run(&self, chain: Vec<Arc<Thunk>>) -> Vec<Result<Outcome, ExecError>> {
        let answer = Mutex::new(Vec::new());
        self.run_units(vec![Arc::new(chain)], &|_, a| *answer.lock().expect("answer") = a);
        answer.into_inner().expect("answer")
    }
}

impl Executor for RemoteExecutor {
    fn execute(&self, job: &Job<'_>) -> Result<Outcome, ExecError> {
        let mut answers = self.run(vec![Arc::new(job.thunk.clone())]);
        answers.pop().unwrap_or_else(|| Err(ExecError::engine("no answer")))
    }

    fn runs_chains(&self) -> bool {
        true
    }

    fn execute_chain(&self, jobs: &[Job<'_>]) -> Vec<Result<Outcome, ExecError>> {
        self.run(jobs.iter().map(|j| Arc::new(j.thunk.clone())).collect())
    }

    fn runs_batches(&self) -> bool {
        true
    }

    fn execute_batch(&self, units: &[&[Job<'_>]], done: &(dyn Fn(usize, Vec<Result<Outcome, ExecError>>) + Sync)) {
        let chains = units.iter().map(|u| Arc::new(u.iter().map(|j| Arc::new(j.thunk.clone())).collect())).collect();
        self.run_units(chains, done);
    }

    fn fetch(&self, names: &[Name]) -> Result<(), ExecError> {
        for name in names {
            self.inner.obtain(name, 0).map_err(|e| match e {
                Attempt::Failed(e) => e,
                Attempt::Unreachable(m) | Attempt::Engine(m) => {
                    ExecError::engine(format!("cannot fetch `{name}` from the workers: {m}"))
                }
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gg_core::{Function, Object};

    fn thunk(input: Name) -> Thunk {
        let f = Name::of_value(b"tool");
        Thunk::new(
            Function { hash: f, args: vec!["tool".into()], envars: vec![] },
            vec![Object { path: "in".into(), hash: input }],
            vec![Object { path: "tool".into(), hash: f }],
            vec![],
            vec!["out".into()],
            String::new(),
            0,
        )
        .unwrap()
    }

    #[test]
    fn a_worker_holding_the_inputs_is_preferred_while_it_has_a_free_slot() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let urls: Vec<String> = (0..3).map(|i| format!("http://127.0.0.1:{}", 1000 + i)).collect();
        let r = RemoteExecutor::new(store, &urls, None, true);
        let big = Name::of_value(&[0u8; 4096]);
        let t = [Arc::new(thunk(big))];
        r.inner.workers[1].known.lock().unwrap().insert(big);
        for _ in 0..5 {
            assert_eq!(r.pick(&t, &HashSet::new()), Some(1));
        }
        // Full: the work goes elsewhere rather than queueing there.
        r.inner.workers[1].in_flight.store(2, Ordering::Relaxed);
        let other = r.pick(&t, &HashSet::new()).unwrap();
        assert_ne!(other, 1);
        // Already tried, dead or stalled workers are skipped.
        let tried: HashSet<usize> = [other].into();
        let third = r.pick(&t, &tried).unwrap();
        assert!(third != other && third != 1);
        r.inner.workers[third].alive.store(false, Ordering::Relaxed);
        r.inner.workers[other].stalled.store(true, Ordering::Relaxed);
        assert_eq!(r.pick(&t, &HashSet::new()), Some(1), "only the busy one is left");
    }
}
