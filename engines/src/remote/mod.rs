//! The remote engine: an [`Executor`] that runs each ready thunk (or ready
//! chain) on one of a pool of gg-workers (docs/protocol.md). It uploads
//! only the blobs a worker lacks (and remembers what each has), spreads
//! thunks over the workers, sends the ready thunks bound for one worker in
//! one request, leaves large outputs where they were made until needed,
//! moves on to another worker when one does not answer, and runs locally,
//! with a warning, when none does (`GG_REMOTE_STRICT=1` makes that an
//! error instead, the policy shared with the Lambda engine).
//!
//! Here: the engine's state and set-up. The unit loop's decisions (which
//! worker, failover, stragglers, stalls, fallback) are in `units.rs` and
//! `pick.rs`; they reach the workers through a [`transport::Transport`],
//! HTTP here (`attempt.rs`, `blobs.rs`) and a fake in their tests.

mod attempt;
mod blobs;
mod pick;
mod pinned;
mod pool;
mod tls;
mod transport;
mod units;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gg_core::config::EngineConfig;
use gg_core::engine::local::LocalExecutor;
use gg_core::engine::{ExecError, Executor, Job, Outcome};
use gg_core::{Name, Store, Thunk};

use crate::fallback::Fallback;
use transport::Transport;

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
    straggler: crate::straggler::Straggler,
    /// Runs thunks here when no worker answers, and re-runs producers of
    /// outputs lost with their worker when none is left.
    local: LocalExecutor,
    /// The thunk (every input a value) that made each output left on a
    /// worker: how to make it again if that worker is lost.
    producers: Mutex<HashMap<Name, Arc<Thunk>>>,
    /// Threads for attempts.
    pool: pool::Pool,
    /// How attempts reach the workers and the local engine.
    transport: Box<dyn Transport>,
    /// Thunks of the units being run whose encoding the store holds (by
    /// the thunk's address; the entry holds the thunk, so the address is
    /// not another's while it is there): see [`Inner::stored_names`].
    stored: Mutex<HashMap<usize, (Arc<Thunk>, Name)>>,
}

/// Runs thunks on gg-workers.
#[derive(Debug)]
pub struct RemoteExecutor {
    inner: Arc<Inner>,
    next: AtomicUsize,
    /// Runs thunks here, or fails them, when no worker answers.
    fallback: Fallback,
    /// Thunks started again on another worker because the first was slow.
    pub duplicated: AtomicUsize,
}

/// How the client trusts `https://` workers.
#[derive(Debug)]
pub(crate) enum Trust {
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
        RemoteExecutor::with_tls(store, urls, token, strict, trust, Box::new(transport::Http))
    }

    fn with_tls(
        store: Store,
        urls: &[String],
        token: Option<String>,
        strict: bool,
        trust: Option<Trust>,
        transport: Box<dyn Transport>,
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
        let agent = agent_with(agent, trust);
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
        RemoteExecutor {
            inner: Arc::new(Inner {
                local: LocalExecutor::new(store.clone()),
                store,
                agent,
                workers,
                token,
                straggler: crate::straggler::Straggler::new(Duration::from_secs_f64(
                    gg_core::env::DEFAULT_STRAGGLER_SECS,
                )),
                producers: Mutex::default(),
                pool: pool::Pool::default(),
                transport,
                stored: Mutex::default(),
            }),
            // Many short-lived clients (one gg-cc per compile) must not all
            // start with the first worker.
            next: AtomicUsize::new(std::process::id() as usize),
            fallback: Fallback::new(strict, "no worker answered", "running thunks locally"),
            duplicated: AtomicUsize::new(0),
        }
    }

    /// The remote engine `GG_ENGINE=remote` asks for, from the
    /// configuration [`crate::Engine::from_env`] read: `GG_WORKERS`,
    /// `GG_TOKEN` (or `GG_TOKEN_FILE`), `GG_WORKER_CA` (a CA that signed
    /// `https://` workers' certificates, trusted besides the system's),
    /// `GG_WORKER_FINGERPRINT` (the certificates themselves, pinned instead)
    /// and `GG_REMOTE_STRICT`.
    pub fn from_config(store: &Store, c: &EngineConfig) -> anyhow::Result<RemoteExecutor> {
        use anyhow::bail;
        let workers = c.workers.clone().unwrap_or_default();
        if workers.is_empty() {
            bail!("the remote engine needs workers: GG_WORKERS=URL[,URL…] or `workers` in the config file");
        }
        let token = token(c)?;
        let tls = trust(c, workers.iter().any(|u| u.starts_with("https://")))?;
        let strict = c.strict.unwrap_or(false);
        let mut r = RemoteExecutor::with_tls(store.clone(), &workers, token, strict, tls, Box::new(transport::Http));
        if let Some(secs) = c.straggler_secs {
            Arc::get_mut(&mut r.inner).expect("not shared yet").straggler.min = Duration::from_secs_f64(secs);
        }
        Ok(r)
    }

    /// Thunks that ran locally because no worker answered.
    pub fn fallbacks(&self) -> usize {
        self.fallback.ran_locally()
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
                if let Ok(s) = serde_json::from_str::<gg_wire::protocol::Status>(&text) {
                    total += s.slots;
                    w.slots.store(s.slots.max(1), Ordering::Relaxed);
                }
            }
        }
        (total > 0).then_some(total)
    }
}

/// The bearer token the workers ask for: `GG_TOKEN`, else the token file's.
pub(crate) fn token(c: &EngineConfig) -> anyhow::Result<Option<String>> {
    use anyhow::Context;
    Ok(match (gg_core::env::token(), &c.token_file) {
        (Some(t), _) => Some(t),
        (None, Some(f)) => {
            let t =
                std::fs::read_to_string(f).with_context(|| format!("cannot read the token file `{}`", f.display()))?;
            Some(t.trim().to_string())
        }
        _ => None,
    })
}

/// What a worker's certificate is checked against, for `https` ones:
/// pinned fingerprints, else a CA file and the system's roots.
pub(crate) fn trust(c: &EngineConfig, https: bool) -> anyhow::Result<Option<Trust>> {
    Ok(match (&c.fingerprint, &c.ca_file) {
        _ if !https => None,
        (Some(pins), _) => {
            Some(Trust::Pins(pinned::parse_pins(pins).map_err(|e| anyhow::anyhow!("GG_WORKER_FINGERPRINT: {e}"))?))
        }
        (None, ca) => Some(Trust::Roots(tls::config(ca.as_deref()).map_err(anyhow::Error::msg)?)),
    })
}

/// An agent from `config` that checks certificates as `trust` says.
pub(crate) fn agent_with(
    config: ureq::config::ConfigBuilder<ureq::typestate::AgentScope>,
    trust: Option<Trust>,
) -> ureq::Agent {
    match trust {
        None => config.build().into(),
        Some(Trust::Roots(tls)) => config.tls_config(tls).build().into(),
        Some(Trust::Pins(pins)) => {
            use ureq::unversioned::{resolver::DefaultResolver, transport::Connector as _};
            let connector = ().chain(ureq::unversioned::transport::TcpConnector::default());
            ureq::Agent::with_parts(
                config.build(),
                connector.chain(pinned::Pinned::new(pins)),
                DefaultResolver::default(),
            )
        }
    }
}

/// Thunks registered with [`Inner::hold_stored`], forgotten when dropped
/// (an attempt on a straggler that outlives it encodes its thunks).
struct Held<'a> {
    inner: &'a Inner,
    keys: Vec<usize>,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let mut stored = self.inner.stored.lock().expect("stored thunks");
        for k in &self.keys {
            stored.remove(k);
        }
    }
}

/// A thunk's address: the key of [`Inner::stored`].
fn address(thunk: &Arc<Thunk>) -> usize {
    Arc::as_ptr(thunk) as usize
}

impl Inner {
    /// Remembers, while the guard lives, the name each job's thunk is
    /// stored under, where the scheduler knows it.
    fn hold_stored(&self, jobs: &[Job<'_>]) -> Held<'_> {
        let mut stored = self.stored.lock().expect("stored thunks");
        let keys = jobs
            .iter()
            .filter_map(|j| {
                let name = j.stored?;
                stored.insert(address(j.thunk), (Arc::clone(j.thunk), name));
                Some(address(j.thunk))
            })
            .collect();
        Held { inner: self, keys }
    }

    /// The name each of `thunks` is stored under, where known.
    fn stored_names(&self, thunks: &[Arc<Thunk>]) -> Vec<Option<Name>> {
        let stored = self.stored.lock().expect("stored thunks");
        thunks
            .iter()
            .map(|t| stored.get(&address(t)).filter(|(held, _)| Arc::ptr_eq(held, t)).map(|(_, n)| *n))
            .collect()
    }

    /// A thunk's encoding read back from the store, if it is there and
    /// hashes to its name (the name is sent with it and must be the
    /// answer's: hashing is a fraction of what encoding cost).
    fn read_stored(&self, name: &Name) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.store.blob_path(name)).ok()?;
        (Name::of_bytes(name.kind(), &bytes) == *name).then_some(bytes)
    }

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

impl Executor for RemoteExecutor {
    fn execute(&self, job: &Job<'_>) -> Result<Outcome, ExecError> {
        let _held = self.inner.hold_stored(std::slice::from_ref(job));
        let mut answers = self.run(vec![Arc::clone(job.thunk)]);
        answers.pop().unwrap_or_else(|| Err(ExecError::engine("no answer")))
    }

    fn runs_chains(&self) -> bool {
        true
    }

    fn execute_chain(&self, jobs: &[Job<'_>]) -> Vec<Result<Outcome, ExecError>> {
        let _held = self.inner.hold_stored(jobs);
        self.run(jobs.iter().map(|j| Arc::clone(j.thunk)).collect())
    }

    fn runs_batches(&self) -> bool {
        true
    }

    fn execute_batch(&self, units: &[&[Job<'_>]], done: &(dyn Fn(usize, Vec<Result<Outcome, ExecError>>) + Sync)) {
        let _held: Vec<Held<'_>> = units.iter().map(|u| self.inner.hold_stored(u)).collect();
        let chains = units.iter().map(|u| Arc::new(u.iter().map(|j| Arc::clone(j.thunk)).collect())).collect();
        self.run_units(chains, done);
    }

    fn fetch(&self, names: &[Name]) -> Result<(), ExecError> {
        self.inner.fetch(names)
    }
}

impl Inner {
    /// Brings `names` into the local store from wherever they are.
    fn fetch(&self, names: &[Name]) -> Result<(), ExecError> {
        for name in names {
            self.obtain(name, 0).map_err(|e| match e {
                Attempt::Failed(e) => e,
                Attempt::Unreachable(m) | Attempt::Engine(m) => {
                    ExecError::engine(format!("cannot fetch `{name}` from the workers: {m}"))
                }
            })?;
        }
        Ok(())
    }
}
