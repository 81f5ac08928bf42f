//! The remote engine: an [`Executor`] that runs each ready thunk on one of
//! a pool of gg-workers (docs/protocol.md). It uploads only the blobs a
//! worker lacks (and remembers what each has), spreads thunks over the
//! workers, moves on to another worker when one does not answer, and runs
//! locally, with a warning, when none does (`GG_REMOTE_STRICT=1` makes
//! that an error instead).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use gg_core::engine::local::LocalExecutor;
use gg_core::engine::{ExecError, Executor, FailKind, Job, Outcome};
use gg_core::{Name, Store, Thunk};

use crate::protocol::{ExecuteRequest, ExecuteResponse};

/// Connections used at once to upload one thunk's missing blobs.
const UPLOAD_LANES: usize = 8;

/// One worker as the client sees it.
#[derive(Debug)]
struct Remote {
    url: String,
    /// Blobs this worker is known to hold.
    known: Mutex<HashSet<Name>>,
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
}

/// Runs thunks on gg-workers.
#[derive(Debug)]
pub struct RemoteExecutor {
    inner: Arc<Inner>,
    next: AtomicUsize,
    strict: bool,
    local: LocalExecutor,
    warned: AtomicBool,
    /// Thunks that ran locally because no worker answered.
    pub fallbacks: AtomicUsize,
    /// Thunks started again on another worker because the first was slow.
    pub duplicated: AtomicUsize,
}

/// How one attempt on one worker ended, when not with outputs.
enum Attempt {
    /// The thunk itself failed: report it, do not retry elsewhere.
    Failed(ExecError),
    /// The worker did not answer properly: try another.
    Unreachable(String),
}

impl RemoteExecutor {
    /// `urls` like `http://host:port`; `token` sent as a bearer token.
    pub fn new(store: Store, urls: &[String], token: Option<String>, strict: bool) -> RemoteExecutor {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(3)))
            .max_idle_connections_per_host(64)
            .build()
            .into();
        let workers = urls
            .iter()
            .map(|u| Remote {
                url: u.trim_end_matches('/').to_string(),
                known: Mutex::default(),
                alive: AtomicBool::new(true),
                stalled: AtomicBool::new(false),
                slots: AtomicUsize::new(2),
                in_flight: AtomicUsize::new(0),
            })
            .collect();
        let straggler_min = Duration::from_secs(10);
        RemoteExecutor {
            local: LocalExecutor::new(store.clone()),
            inner: Arc::new(Inner { store, agent, workers, token, durations: Mutex::default(), straggler_min }),
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
    /// `GG_TOKEN` (or `GG_TOKEN_FILE`) and `GG_REMOTE_STRICT`; `None` for
    /// the local engine (`GG_ENGINE` unset or `local`).
    pub fn from_env(store: &Store) -> anyhow::Result<Option<RemoteExecutor>> {
        use anyhow::{bail, Context};
        let c = gg_core::config::engine().map_err(anyhow::Error::msg)?;
        match c.kind.as_deref().unwrap_or("local") {
            "local" => return Ok(None),
            "remote" => {}
            other => bail!("engine `{other}` (GG_ENGINE or the config file): expected `local` or `remote`"),
        }
        let workers = c.workers.unwrap_or_default();
        if workers.is_empty() {
            bail!("the remote engine needs workers: GG_WORKERS=URL[,URL…] or `workers` in the config file");
        }
        let token = match (std::env::var("GG_TOKEN").ok().filter(|t| !t.is_empty()), &c.token_file) {
            (Some(t), _) => Some(t),
            (None, Some(f)) => {
                let t = std::fs::read_to_string(f)
                    .with_context(|| format!("cannot read the token file `{}`", f.display()))?;
                Some(t.trim().to_string())
            }
            _ => None,
        };
        let mut r = RemoteExecutor::new(store.clone(), &workers, token, c.strict.unwrap_or(false));
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

    /// Makes sure `w` holds every object of the thunk.
    fn upload(&self, w: &Remote, thunk: &Thunk) -> Result<(), Attempt> {
        let wanted: Vec<Name> = {
            let known = w.known.lock().expect("known");
            let mut seen = HashSet::new();
            thunk.objects().map(|(o, _)| o.hash).filter(|h| !known.contains(h) && seen.insert(*h)).collect()
        };
        if wanted.is_empty() {
            return Ok(());
        }
        let body = serde_json::to_string(&wanted).expect("names serialise");
        let missing: Vec<Name> = self.call_json(self.auth(self.agent.post(format!("{}/v1/missing", w.url))), body)?;
        // Several connections at once: many small blobs are bound by round
        // trips, not bandwidth.
        let lanes = missing.len().clamp(1, UPLOAD_LANES);
        let results: Vec<Result<(), Attempt>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..lanes)
                .map(|lane| {
                    let missing = &missing;
                    scope.spawn(move || {
                        for name in missing.iter().skip(lane).step_by(lanes) {
                            self.put(w, name)?;
                        }
                        Ok(())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(Attempt::Unreachable("upload panicked".into()))))
                .collect()
        });
        results.into_iter().collect::<Result<(), Attempt>>()?;
        w.known.lock().expect("known").extend(wanted);
        Ok(())
    }

    fn put(&self, w: &Remote, name: &Name) -> Result<(), Attempt> {
        let bytes = self.store.get(name).map_err(|e| Attempt::Failed(ExecError::engine(e.to_string())))?;
        let resp = self.auth(self.agent.put(format!("{}/v1/blobs/{name}", w.url))).send(&bytes[..]);
        let (code, text) = read(resp)?;
        match code {
            200 => Ok(()),
            // Too large for this worker's limit: every worker would say so.
            413 | 401 => Err(Attempt::Failed(ExecError::engine(format!("uploading `{name}`: {code} {}", text.trim())))),
            _ => Err(Attempt::Unreachable(format!("uploading `{name}`: {code} {text}"))),
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

    /// Fetches a blob from `w` into the local store (verified by put).
    fn fetch(&self, w: &Remote, name: &Name, inline: Option<&str>) -> Result<(), Attempt> {
        if self.store.has(name) {
            return Ok(());
        }
        let bytes = match inline {
            Some(data) => STANDARD.decode(data).map_err(|e| Attempt::Unreachable(format!("bad inline data: {e}")))?,
            None => {
                let resp = self.auth(self.agent.get(format!("{}/v1/blobs/{name}", w.url))).call();
                let mut resp = resp.map_err(|e| Attempt::Unreachable(e.to_string()))?;
                if resp.status().as_u16() != 200 {
                    return Err(Attempt::Unreachable(format!("fetching `{name}`: {}", resp.status())));
                }
                let limit = name.size() + 1;
                resp.body_mut()
                    .with_config()
                    .limit(limit)
                    .read_to_vec()
                    .map_err(|e| Attempt::Unreachable(e.to_string()))?
            }
        };
        if Name::of_bytes(name.kind(), &bytes) != *name {
            return Err(Attempt::Unreachable(format!("the worker sent bytes that do not match `{name}`")));
        }
        self.store.put_bytes(name.kind(), &bytes).map_err(|e| Attempt::Failed(ExecError::engine(e.to_string())))?;
        Ok(())
    }

    fn attempt(&self, w: &Remote, thunk: &Thunk) -> Result<Outcome, Attempt> {
        self.upload(w, thunk)?;
        let encoding = String::from_utf8(thunk.encode()).expect("thunk encodings are UTF-8");
        let body = serde_json::to_string(&ExecuteRequest { thunks: vec![encoding] }).expect("serialises");
        let mut busy = 0;
        let resp: ExecuteResponse = loop {
            let req = self.auth(self.agent.post(format!("{}/v1/execute", w.url)));
            let (code, text) = read(req.header("Content-Type", "application/json").send(&body))?;
            match code {
                200 => {
                    break serde_json::from_str(&text)
                        .map_err(|e| Attempt::Unreachable(format!("unreadable answer: {e}")))?
                }
                // Busy: wait for a slot there (the scheduler keeps at most
                // as many thunks in flight as it has jobs).
                503 if busy < 600 && !gg_core::interrupt::interrupted() => {
                    busy += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                503 => return Err(Attempt::Unreachable(format!("busy for a minute: {}", text.trim()))),
                400 | 401 | 413 => {
                    return Err(Attempt::Failed(ExecError::engine(format!(
                        "the worker refused the thunk ({code}): {}",
                        text.trim()
                    ))))
                }
                _ => return Err(Attempt::Unreachable(format!("{code} {}", text.trim()))),
            }
        };
        if let Some(f) = resp.failures.first() {
            if f.kind == "missing" {
                // The worker lost a blob: forget what it holds; retry.
                w.known.lock().expect("known").clear();
                return Err(Attempt::Unreachable(f.message.clone()));
            }
            let kind = match f.kind.as_str() {
                "exit" => FailKind::Exit,
                "timeout" => FailKind::Timeout,
                "output" => FailKind::Output,
                _ => FailKind::Engine,
            };
            let stderr = STANDARD.decode(&f.stderr).unwrap_or_default();
            return Err(Attempt::Failed(ExecError { kind, message: format!("{} (on {})", f.message, w.url), stderr }));
        }
        let sent = thunk.name();
        let Some(result) = resp.results.into_iter().find(|r| r.thunk == sent) else {
            return Err(Attempt::Unreachable("the worker returned no result for the thunk".into()));
        };
        let names_match = result.outputs.len() == thunk.outputs.len()
            && result.outputs.iter().zip(&thunk.outputs).all(|(o, want)| o.name == *want);
        if !names_match {
            return Err(Attempt::Unreachable("the worker's outputs do not match the thunk's".into()));
        }
        let mut outputs = Vec::new();
        for o in &result.outputs {
            self.fetch(w, &o.hash, o.data.as_deref())?;
            outputs.push(o.hash);
        }
        for n in result.stdout.iter().chain(&result.stderr) {
            self.fetch(w, n, None)?;
        }
        Ok(Outcome { outputs, executable: result.executable, stdout: result.stdout, stderr: result.stderr })
    }
}

/// Status and body of a response, or why there is none.
fn read(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<(u16, String), Attempt> {
    let mut resp = resp.map_err(|e| Attempt::Unreachable(e.to_string()))?;
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

type Report = (usize, Duration, Result<Outcome, Attempt>);

impl RemoteExecutor {
    /// The next worker to try: alive, not stalled, not tried for this
    /// thunk; among those with a free slot, the one already holding the
    /// most bytes of its inputs (ties go round the pool); when all are full,
    /// the least loaded.
    fn pick(&self, thunk: &Thunk, tried: &HashSet<usize>) -> Option<usize> {
        let ws = &self.inner.workers;
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let held = |w: &Remote| -> u64 {
            let known = w.known.lock().expect("known");
            thunk.objects().filter(|(o, _)| known.contains(&o.hash)).map(|(o, _)| o.hash.size()).sum()
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

    fn launch(&self, w: usize, thunk: &Arc<Thunk>, tx: &mpsc::Sender<Report>) {
        let (inner, thunk, tx) = (Arc::clone(&self.inner), Arc::clone(thunk), tx.clone());
        inner.workers[w].in_flight.fetch_add(1, Ordering::Relaxed);
        // Detached: a straggler's attempt may outlive the answer.
        std::thread::spawn(move || {
            let start = Instant::now();
            let r = inner.attempt(&inner.workers[w], &thunk);
            inner.workers[w].in_flight.fetch_sub(1, Ordering::Relaxed);
            let _ = tx.send((w, start.elapsed(), r));
        });
    }
}

impl Executor for RemoteExecutor {
    fn execute(&self, job: &Job<'_>) -> Result<Outcome, ExecError> {
        let thunk = Arc::new(job.thunk.clone());
        let (tx, rx) = mpsc::channel();
        let mut tried = HashSet::new();
        let mut why = Vec::new();
        let mut running = 0;
        if let Some(w) = self.pick(&thunk, &tried) {
            tried.insert(w);
            self.launch(w, &thunk, &tx);
            running += 1;
        }
        let mut waited = Duration::ZERO;
        let mut stalls = 0;
        while running > 0 {
            // Short ticks, so an interrupt is noticed promptly.
            let tick = Duration::from_millis(200);
            match rx.recv_timeout(tick) {
                Ok((w, took, result)) => {
                    running -= 1;
                    let remote = &self.inner.workers[w];
                    remote.stalled.store(false, Ordering::Relaxed);
                    match result {
                        Ok(outcome) => {
                            self.inner.record(took);
                            return Ok(outcome);
                        }
                        Err(Attempt::Failed(e)) => return Err(e),
                        Err(Attempt::Unreachable(msg)) => {
                            // Its thunks go elsewhere from now on.
                            remote.alive.store(false, Ordering::Relaxed);
                            why.push(format!("{}: {msg}", remote.url));
                            if let Some(next) = self.pick(&thunk, &tried) {
                                tried.insert(next);
                                self.launch(next, &thunk, &tx);
                                running += 1;
                            }
                        }
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if gg_core::interrupt::interrupted() {
                        return Err(ExecError::engine("interrupted"));
                    }
                    waited += tick;
                    if waited < self.inner.straggler_after() {
                        continue;
                    }
                    waited = Duration::ZERO;
                    // A straggler: start the thunk again elsewhere; the
                    // first answer wins.
                    for w in &tried {
                        self.inner.workers[*w].stalled.store(true, Ordering::Relaxed);
                    }
                    if let Some(next) = self.pick(&thunk, &tried) {
                        tried.insert(next);
                        self.launch(next, &thunk, &tx);
                        running += 1;
                        self.duplicated.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    // Nowhere left to run it: after three such periods,
                    // give up on the silent workers.
                    stalls += 1;
                    if stalls >= 3 {
                        for w in &tried {
                            let remote = &self.inner.workers[*w];
                            remote.alive.store(false, Ordering::Relaxed);
                            why.push(format!("{}: no answer", remote.url));
                        }
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        if why.is_empty() {
            why.push("every worker stopped answering earlier in this run".into());
        }
        if self.strict {
            return Err(ExecError::engine(format!("no worker answered (GG_REMOTE_STRICT=1): {}", why.join("; "))));
        }
        if !self.warned.swap(true, Ordering::Relaxed) {
            eprintln!("gg: warning: no worker answered ({}); running thunks locally", why.join("; "));
        }
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
        self.local.execute(job)
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
        let t = thunk(big);
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
