//! What a worker does, independent of how requests arrive (HTTP in
//! `http/`, or one Lambda invocation at a time in `lambda/function.rs`):
//! answer which blobs it lacks, take and serve verified blobs, run thunks
//! in the local engine's sandbox with at most `jobs` at once (a request of
//! independent thunks runs them side by side on the slots free when it
//! starts), and report its status.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use gg_core::engine::local::LocalExecutor;
use gg_core::scheduler::{self, Options};
use gg_core::store::is_canonical_thunk;
use gg_core::{Kind, Name, OutputRef, Store, Thunk};
use gg_wire::protocol::{Answer, ExecuteRequest, ExecuteResponse, Failure, Output, Result as ThunkResult, Status};

mod cache;
mod stream;
pub use stream::BlobFile;

/// Why a request is refused; the transport maps it to a status code.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Bad input from the client (400).
    #[error("{0}")]
    BadRequest(String),
    /// Uploaded bytes do not match their name (422); nothing was stored.
    #[error("{0}")]
    Mismatch(String),
    #[error("`{0}` is not on this worker")]
    NotFound(Name),
    /// No such cache entry (404).
    #[error("{0}")]
    Absent(String),
    /// Every slot is busy and the queue is full (503).
    #[error("the worker is busy ({running} running, {queued} queued); retry later")]
    Busy { running: usize, queued: usize },
    #[error("{0}")]
    Internal(String),
}

/// A bounded counting semaphore: `jobs` holders, at most `queue` waiting.
#[derive(Debug)]
struct Slots {
    jobs: usize,
    queue: usize,
    state: Mutex<(usize, usize)>,
    freed: Condvar,
}

/// Slots held by one request: released together when it ends.
#[derive(Debug)]
struct Slot<'a>(&'a Slots, usize);

impl Slots {
    /// One slot, waiting in the queue for it if need be, plus up to
    /// `want - 1` more if they are free right now: a batch never waits
    /// for more than one, so it cannot stall behind a long thunk.
    fn acquire(&self, want: usize) -> Result<Slot<'_>, ServiceError> {
        let mut st = self.state.lock().expect("slots");
        if st.0 >= self.jobs {
            if st.1 >= self.queue {
                return Err(ServiceError::Busy { running: st.0, queued: st.1 });
            }
            st.1 += 1;
            while st.0 >= self.jobs {
                st = self.freed.wait(st).expect("slots");
            }
            st.1 -= 1;
        }
        let n = want.clamp(1, self.jobs - st.0);
        st.0 += n;
        Ok(Slot(self, n))
    }

    fn counts(&self) -> (usize, usize) {
        *self.state.lock().expect("slots")
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.state.lock().expect("slots").0 -= self.1;
        match self.1 {
            1 => self.0.freed.notify_one(),
            _ => self.0.freed.notify_all(),
        }
    }
}

/// A worker's state: its store, its executor and its slots.
#[derive(Debug)]
pub struct Service {
    store: Store,
    executor: LocalExecutor,
    slots: Slots,
    /// Outputs up to this size come back inline in execute responses.
    pub inline_limit: u64,
    /// Execute requests answered so far.
    executed: AtomicU64,
    size: Arc<StoreSize>,
    /// The store's size limit (`--max-size`; 0: none), kept after each
    /// execute request (see `gg_core::evict`).
    max_size: u64,
    /// When each request running now was admitted (nanoseconds since the
    /// epoch, by request): a clean keeps what they may still need.
    in_flight: Mutex<Vec<(u64, i128)>>,
    next_request: AtomicU64,
}

/// The store's size: its last scan plus what was stored since. Walking a
/// large store takes seconds, so status answers from the last scan and
/// starts a new one in the background when that is older than
/// [`RESCAN_AFTER`].
#[derive(Debug, Default)]
struct StoreSize {
    /// Bytes, when scanned; when the last scan started; one running.
    state: Mutex<(u64, Option<Instant>, bool)>,
    /// Bytes stored since the last scan started.
    added: AtomicU64,
}

const RESCAN_AFTER: Duration = Duration::from_secs(10);

impl StoreSize {
    fn refresh(self: &Arc<Self>, store: &Store) {
        {
            let mut st = self.state.lock().expect("size");
            let fresh = st.1.is_some_and(|at| at.elapsed() < RESCAN_AFTER);
            if fresh || st.2 {
                return;
            }
            st.1 = Some(Instant::now());
            st.2 = true;
            self.added.store(0, Ordering::Relaxed);
        }
        let (me, store) = (Arc::clone(self), store.clone());
        let _ = std::thread::Builder::new().name("store-size".into()).spawn(move || {
            let bytes = store_bytes(&store);
            let mut st = me.state.lock().expect("size");
            st.0 = bytes;
            st.2 = false;
        });
    }

    fn bytes(&self) -> u64 {
        self.state.lock().expect("size").0 + self.added.load(Ordering::Relaxed)
    }
}

impl Service {
    /// `jobs` thunks run at once; up to `queue` more requests wait.
    pub fn new(store: Store, jobs: usize, queue: usize) -> Service {
        let executor = LocalExecutor::new(store.clone());
        let slots = Slots { jobs: jobs.max(1), queue, state: Mutex::new((0, 0)), freed: Condvar::new() };
        let size = Arc::new(StoreSize::default());
        size.refresh(&store);
        Service {
            store,
            executor,
            slots,
            inline_limit: 64 * 1024,
            executed: AtomicU64::new(0),
            size,
            max_size: 0,
            in_flight: Mutex::new(Vec::new()),
            next_request: AtomicU64::new(0),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Keeps the store within `bytes` (0: no limit), least recently used
    /// files first, after each execute request.
    pub fn set_max_size(&mut self, bytes: u64) {
        self.max_size = bytes;
    }

    /// Jails every thunk (`true`: what `gg-worker serve` does unless given
    /// `--no-jail`) or runs them in plain sandboxes; fails, saying why,
    /// when this machine cannot jail them.
    pub fn set_jail(&mut self, on: bool) -> Result<(), String> {
        let mode = if on { gg_core::jail::Mode::Strict } else { gg_core::jail::Mode::Plain };
        self.executor.set_mode(mode);
        self.executor.check_jail()
    }

    /// No thunk runs past `deadline` (a Lambda invocation's end).
    pub fn set_deadline(&self, deadline: Option<Instant>) {
        self.executor.set_deadline(deadline);
    }

    /// The limit for thunks that set none (timeout 0); `None`: no limit.
    pub fn set_default_timeout(&mut self, limit: Option<Duration>) {
        self.executor.default_timeout = limit;
    }

    /// The names among `names` this worker does not hold.
    pub fn missing(&self, names: &[Name]) -> Vec<Name> {
        // Those present are marked used: a clean between this answer and
        // the request that needs them keeps them.
        names.iter().filter(|n| !self.store.has_used(n)).copied().collect()
    }

    /// Stores an uploaded blob after checking its size and hash.
    pub fn put_blob(&self, name: &Name, bytes: &[u8]) -> Result<(), ServiceError> {
        if bytes.len() as u64 != name.size() {
            return Err(ServiceError::Mismatch(format!(
                "`{name}`: {} bytes received, the name says {}",
                bytes.len(),
                name.size()
            )));
        }
        let actual = Name::of_bytes(name.kind(), bytes);
        if actual != *name {
            return Err(ServiceError::Mismatch(format!("`{name}`: the bytes hash to `{actual}`; nothing was stored")));
        }
        if name.kind() == Kind::Thunk && !is_canonical_thunk(bytes) {
            return Err(ServiceError::Mismatch(format!("`{name}` is named as a thunk but is not a thunk encoding")));
        }
        let new = !self.store.has(name);
        self.store.put_bytes(name.kind(), bytes).map_err(|e| ServiceError::Internal(e.to_string()))?;
        if new {
            self.size.added.fetch_add(name.size(), Ordering::Relaxed);
        }
        Ok(())
    }

    /// Runs a ready thunk or subgraph (later thunks may consume earlier
    /// ones' outputs) and reports every thunk's outputs.
    pub fn execute(&self, req: &ExecuteRequest) -> Result<ExecuteResponse, ServiceError> {
        let mut results: Vec<Option<ThunkResult>> = Vec::new();
        let mut failures = Vec::new();
        self.admit(req)?.run_each(&mut |answer| {
            if let Some(f) = answer.failure {
                failures.push(f);
            }
            if let Some(r) = answer.result {
                if results.len() <= answer.i {
                    results.resize_with(answer.i + 1, || None);
                }
                results[answer.i] = Some(r);
            }
        });
        // In the request's order, as before answers were streamed.
        Ok(ExecuteResponse { results: results.into_iter().flatten().collect(), failures })
    }

    /// Checks and stores a request's thunks and takes its slots: after
    /// this, the request runs. Errors here are the request's answer.
    ///
    /// A thunk whose exact encoding is already in the store with a
    /// reduction whose outputs are all here is answered from that
    /// reduction without being parsed: bytes with that name were checked
    /// when they were stored, and parsing a compile's thunk of hundreds
    /// of inputs was most of what a worker holding the answers did.
    pub fn admit(&self, req: &ExecuteRequest) -> Result<Admitted<'_>, ServiceError> {
        if req.thunks.is_empty() {
            return Err(ServiceError::BadRequest("no thunks to execute".into()));
        }
        let mut names = Vec::with_capacity(req.thunks.len());
        let mut known = Vec::with_capacity(req.thunks.len());
        let mut thunk_inputs = Vec::with_capacity(req.thunks.len());
        let refused = |names: &[Name], e: ServiceError| {
            self.store.take_back(names);
            e
        };
        for (i, text) in req.thunks.iter().enumerate() {
            let text = text.as_bytes();
            let sent = Name::of_bytes(Kind::Thunk, text);
            if self.store.has_used(&sent) && self.reduced(&sent) {
                names.push(sent);
                known.push(true);
                continue;
            }
            // Every path is validated again here, whatever the client did.
            let thunk = Thunk::decode(text)
                .map_err(|e| refused(&names, ServiceError::BadRequest(format!("thunks[{i}]: {e}"))))?;
            let name =
                self.store.put_thunk(&thunk).map_err(|e| refused(&names, ServiceError::Internal(e.to_string())))?;
            thunk_inputs.push(thunk.thunks.iter().map(|t| t.output.thunk).collect::<Vec<_>>());
            // The force below loads it without parsing it a second time (a
            // compile's thunk with hundreds of inputs costs more to parse
            // than to look up); what it does not load is taken back when
            // the request ends.
            self.store.hand_over(name, std::sync::Arc::new(thunk));
            names.push(name);
            known.push(false);
        }
        // As many slots as there are thunks that can start at once: those
        // consuming no other thunk of the request (a chain runs one at a
        // time, so it needs one).
        let sent: std::collections::HashSet<&Name> = names.iter().collect();
        let starts = thunk_inputs.iter().filter(|inputs| !inputs.iter().any(|t| sent.contains(t))).count();
        let slot = self.slots.acquire(starts).map_err(|e| refused(&names, e))?;
        let id = self.next_request.fetch_add(1, Ordering::Relaxed);
        self.in_flight.lock().expect("in flight").push((id, now_ns()));
        Ok(Admitted { service: self, names, known, slot, id })
    }

    /// Whether `name` has a reduction here whose outputs are all here.
    fn reduced(&self, name: &Name) -> bool {
        self.store.reduction(name).is_some_and(|red| red.outputs.iter().all(|(_, v)| self.store.has_used(v)))
    }

    /// The answer for `name` if it is reduced here: its outputs (small
    /// ones inline) and streams.
    fn result(&self, name: &Name) -> Option<ThunkResult> {
        let red = self.store.reduction(name)?;
        let mut outputs = Vec::with_capacity(red.outputs.len());
        for (path, hash) in &red.outputs {
            let data = if hash.size() <= self.inline_limit {
                self.store.get(hash).ok().map(|b| STANDARD.encode(b))
            } else {
                None
            };
            outputs.push(Output { name: path.clone(), hash: *hash, size: hash.size(), data });
        }
        Some(ThunkResult { thunk: *name, outputs, stdout: red.stdout, stderr: red.stderr, executable: red.executable })
    }

    /// Jobs running and queued, the store's size (as of its last scan),
    /// the version.
    pub fn status(&self) -> Status {
        let (running, queued) = self.slots.counts();
        self.size.refresh(&self.store);
        Status {
            version: env!("CARGO_PKG_VERSION").to_string(),
            ir: gg_core::thunk::IR_VERSION,
            slots: self.slots.jobs,
            running,
            queued,
            store_bytes: self.size.bytes(),
            executed: self.executed.load(Ordering::Relaxed),
        }
    }
}

/// An admitted execute request, holding its slots until it has run.
#[derive(Debug)]
pub struct Admitted<'a> {
    service: &'a Service,
    names: Vec<Name>,
    /// Which of them were answered from the store unparsed.
    known: Vec<bool>,
    slot: Slot<'a>,
    /// Its entry in the service's `in_flight`.
    id: u64,
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        let s = self.service;
        s.store.take_back(&self.names);
        let oldest = {
            let mut flying = s.in_flight.lock().expect("in flight");
            flying.retain(|(id, _)| *id != self.id);
            flying.iter().map(|(_, t)| *t).min()
        };
        if s.max_size > 0 {
            // What requests still running may need stays, and so do blobs
            // uploaded in the last minute, for a request about to come.
            let recent = now_ns() - 60_000_000_000;
            let own = oldest.map_or(recent, |t| t.min(recent)) - gg_core::evict::TOUCH_AFTER.as_nanos() as i128;
            if let Err(e) = s.store.settle(Some(s.max_size), Some(own)) {
                eprintln!("gg-worker: warning: {e}");
            }
        }
    }
}

fn now_ns() -> i128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
}

impl Admitted<'_> {
    /// Forces the request's thunks `which` (indices) on its slots. `-k`:
    /// one thunk's failure must not take its independent siblings with it.
    fn force(&self, which: &[usize], on_target: &mut scheduler::TargetObserver<'_>) -> scheduler::Report {
        let s = self.service;
        let targets: Vec<OutputRef> = which.iter().map(|&i| OutputRef::first(self.names[i])).collect();
        let options = Options { jobs: self.slot.1, keep_going: true };
        scheduler::force_observed(&s.store, &s.executor, &targets, options, on_target)
    }

    /// Runs the request and hands over each thunk's answer as soon as it
    /// has one (`thunks[i]` answers with `i`), in the order they settle:
    /// first those answered from the store unparsed (see `admit`), then
    /// the rest as they are forced.
    pub fn run_each(self, on_answer: &mut dyn FnMut(Answer)) {
        let s = self.service;
        // Counted as it starts: a client may read the status as soon as it
        // has its last answer, before the force below has returned.
        s.executed.fetch_add(1, Ordering::Relaxed);
        let mut forced = Vec::new();
        for (i, name) in self.names.iter().enumerate() {
            match self.known[i].then(|| s.result(name)).flatten() {
                Some(result) => on_answer(Answer { i, result: Some(result), failure: None, skipped: None }),
                // Not known, or its reduction went meanwhile: the force
                // loads the stored thunk.
                None => forced.push(i),
            }
        }
        if forced.is_empty() {
            return;
        }
        let mut made = 0;
        self.force(&forced, &mut |j, resolved, own| {
            let i = forced[j];
            let mut answer = Answer { i, result: None, failure: None, skipped: None };
            // Its own failure first: a reduction left from an earlier run
            // may name an output since lost, which is why it ran again.
            // Otherwise a reduction is the answer even when a thunk it
            // output then failed: the client forces that thunk itself.
            if let Some(f) = own {
                answer.failure = Some(failure(f));
            } else if let Some(result) = s.result(&self.names[i]) {
                made += result.outputs.iter().map(|o| o.size).sum::<u64>();
                answer.result = Some(result);
            } else {
                answer.skipped = Some(resolved.as_ref().err().cloned().unwrap_or_default());
            }
            on_answer(answer);
        });
        // Roughly: an output may have been stored before.
        s.size.added.fetch_add(made, Ordering::Relaxed);
    }
}

fn failure(f: &scheduler::Failure) -> Failure {
    Failure {
        thunk: f.thunk,
        kind: format!("{:?}", f.error.kind).to_lowercase(),
        message: f.error.message.clone(),
        stderr: STANDARD.encode(&f.error.stderr),
    }
}

fn store_bytes(store: &Store) -> u64 {
    let mut total = 0;
    let Ok(shards) = std::fs::read_dir(store.root().join("blobs")) else { return 0 };
    for shard in shards.flatten() {
        if let Ok(entries) = std::fs::read_dir(shard.path()) {
            total += entries.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum::<u64>();
        }
    }
    total
}
