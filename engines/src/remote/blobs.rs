//! Moving blobs between the client and its workers. Outputs stay on the
//! worker that made them until something needs them elsewhere: a thunk
//! sent to another worker, a local fallback, or the caller (`fetch`). A
//! blob that no reachable worker holds any more is made again by re-running
//! the thunk that produced it (recorded when its result came back), on a
//! worker if one answers, else locally.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use gg_core::engine::{ExecError, Executor as _, Job};
use gg_core::{Name, Thunk};

use super::{read, Attempt, Inner, Remote};
use gg_wire::spool::{spool, SpoolError};

/// Connections used at once to upload one request's missing blobs.
const UPLOAD_LANES: usize = 8;

/// Recoveries nested deeper than this mean a cycle or a runaway.
const MAX_RECOVERY_DEPTH: usize = 64;

/// One blob on its way to one worker: `None` while in flight, then
/// whether it arrived.
#[derive(Debug, Default)]
pub(super) struct Flight {
    state: Mutex<Option<bool>>,
    landed: Condvar,
}

impl Flight {
    fn wait(&self) -> bool {
        let mut st = self.state.lock().expect("flight");
        loop {
            match *st {
                Some(ok) => return ok,
                None => st = self.landed.wait(st).expect("flight"),
            }
        }
    }
}

/// Lands an attempt's flights exactly once: with its outcome, or as
/// failed if it unwinds first.
struct Landing<'a> {
    w: &'a Remote,
    flights: &'a [(Name, Arc<Flight>)],
}

impl Landing<'_> {
    fn land(self, ok: bool) {
        self.finish(ok);
        std::mem::forget(self);
    }

    fn finish(&self, ok: bool) {
        let mut uploading = self.w.uploading.lock().expect("uploading");
        for (h, f) in self.flights {
            uploading.remove(h);
            *f.state.lock().expect("flight") = Some(ok);
            f.landed.notify_all();
        }
    }
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        self.finish(false);
    }
}

impl Inner {
    /// Makes sure `w` holds every object of the thunks. Blobs another
    /// attempt is already sending there are waited for, not sent twice.
    pub(super) fn upload(&self, w: &Remote, thunks: &[Arc<Thunk>]) -> Result<(), Attempt> {
        let mut mine = Vec::new();
        let mut theirs = Vec::new();
        {
            let known = w.known.lock().expect("known");
            let mut uploading = w.uploading.lock().expect("uploading");
            let mut seen = HashSet::new();
            for h in thunks.iter().flat_map(|t| t.objects().map(|(o, _)| o.hash)) {
                if known.contains(&h) || !seen.insert(h) {
                    continue;
                }
                match uploading.get(&h) {
                    Some(f) => theirs.push(Arc::clone(f)),
                    None => {
                        let f = Arc::new(Flight::default());
                        uploading.insert(h, Arc::clone(&f));
                        mine.push((h, f));
                    }
                }
            }
        }
        // Whatever happens below, the flights taken are landed, so that
        // nobody waits for ever.
        let landing = Landing { w, flights: &mine };
        let sent = self.send_missing(w, &mine.iter().map(|(h, _)| *h).collect::<Vec<_>>());
        landing.land(sent.is_ok());
        sent?;
        for f in theirs {
            if !f.wait() {
                return Err(Attempt::Unreachable("an upload to this worker failed".into()));
            }
        }
        Ok(())
    }

    /// Asks `w` which of `wanted` it lacks and sends those.
    fn send_missing(&self, w: &Remote, wanted: &[Name]) -> Result<(), Attempt> {
        if wanted.is_empty() {
            return Ok(());
        }
        let body = serde_json::to_string(&wanted).expect("names serialise");
        let missing: Vec<Name> = self.call_json(self.auth(self.agent.post(format!("{}/v1/missing", w.url))), body)?;
        // An intermediate made on another worker comes through here first.
        for name in &missing {
            self.obtain(name, 0)?;
        }
        // Several connections at once: many small blobs are bound by round
        // trips, not bandwidth.
        let results = gg_wire::fanout::map(&missing, UPLOAD_LANES, |name| self.put(w, name));
        results.into_iter().collect::<Result<(), Attempt>>()?;
        w.known.lock().expect("known").extend(wanted.iter().copied());
        Ok(())
    }

    fn put(&self, w: &Remote, name: &Name) -> Result<(), Attempt> {
        // Sent from its file: a large blob never sits whole in memory.
        let file = self
            .store
            .blob(name)
            .map_err(|e| e.to_string())
            .and_then(|p| std::fs::File::open(&p).map_err(|e| format!("cannot read `{}`: {e}", p.display())));
        let file = file.map_err(|e| Attempt::Failed(ExecError::engine(e)))?;
        let resp = self.auth(self.agent.put(format!("{}/v1/blobs/{name}", w.url))).send(&file);
        let (code, text) = read(resp)?;
        match code {
            200 => Ok(()),
            // Too large for this worker's limit: every worker would say so.
            413 | 401 => Err(Attempt::Failed(ExecError::engine(format!("uploading `{name}`: {code} {}", text.trim())))),
            _ => Err(Attempt::Unreachable(format!("uploading `{name}`: {code} {text}"))),
        }
    }

    /// Stores bytes that came inline or from a worker, after checking them.
    pub(super) fn accept(&self, name: &Name, bytes: &[u8]) -> Result<(), Attempt> {
        if Name::of_bytes(name.kind(), bytes) != *name {
            return Err(Attempt::Unreachable(format!("the worker sent bytes that do not match `{name}`")));
        }
        // Named from these bytes just above: not hashed a second time.
        self.store.put_named(*name, bytes).map_err(|e| Attempt::Failed(ExecError::engine(e.to_string())))?;
        Ok(())
    }

    pub(super) fn accept_inline(&self, name: &Name, data: &str) -> Result<(), Attempt> {
        let bytes = STANDARD.decode(data).map_err(|e| Attempt::Unreachable(format!("bad inline data: {e}")))?;
        self.accept(name, &bytes)
    }

    /// Fetches a blob from `w` into the local store.
    pub(super) fn fetch_from(&self, w: &Remote, name: &Name) -> Result<(), Attempt> {
        if self.store.has(name) {
            return Ok(());
        }
        let resp = self.auth(self.agent.get(format!("{}/v1/blobs/{name}", w.url))).call();
        let mut resp = resp.map_err(|e| Attempt::Unreachable(super::tls::describe(&e)))?;
        if resp.status().as_u16() != 200 {
            return Err(Attempt::Unreachable(format!("fetching `{name}`: {}", resp.status())));
        }
        // Spooled to a file as it arrives, named on the way.
        let mut body = resp.body_mut().with_config().limit(name.size() + 1).reader();
        let spooled = spool(&self.store, name.kind(), &mut body).map_err(|e| match e {
            SpoolError::Read(e) => Attempt::Unreachable(e.to_string()),
            SpoolError::Write(e) => Attempt::Failed(ExecError::engine(format!("cannot store `{name}`: {e}"))),
        })?;
        let kept = if spooled.name != *name {
            Err(Attempt::Unreachable(format!("the worker sent bytes that do not match `{name}`")))
        } else {
            self.store
                .install_hashed(name, &spooled.path)
                .map_err(|e| Attempt::Failed(ExecError::engine(e.to_string())))
        };
        if kept.is_err() {
            let _ = std::fs::remove_file(&spooled.path);
        }
        kept
    }

    /// Brings `name` into the local store: from a worker holding it, or by
    /// making it again.
    pub(super) fn obtain(&self, name: &Name, depth: usize) -> Result<(), Attempt> {
        if self.store.has(name) {
            return Ok(());
        }
        for w in &self.workers {
            if !w.alive.load(Ordering::Relaxed) || !w.known.lock().expect("known").contains(name) {
                continue;
            }
            match self.fetch_from(w, name) {
                Ok(()) => return Ok(()),
                // It lost the blob or stopped answering: not a holder now.
                Err(Attempt::Unreachable(_)) => {
                    w.known.lock().expect("known").remove(name);
                }
                Err(e) => return Err(e),
            }
        }
        self.recover(name, depth)
    }

    /// Makes `name` again by re-running the thunk that produced it.
    fn recover(&self, name: &Name, depth: usize) -> Result<(), Attempt> {
        let producer = self.producers.lock().expect("producers").get(name).cloned();
        let Some(producer) = producer else {
            return Err(Attempt::Failed(ExecError::engine(format!(
                "`{name}` is on no reachable worker and nothing recorded how to make it again"
            ))));
        };
        if depth >= MAX_RECOVERY_DEPTH {
            return Err(Attempt::Failed(ExecError::engine(format!("recovering `{name}` nests too deep"))));
        }
        let made = match self.workers.iter().find(|w| w.alive.load(Ordering::Relaxed)) {
            Some(w) => {
                let mut results = self.attempt(w, std::slice::from_ref(&producer))?;
                match results.remove(0) {
                    Ok(o) => o.outputs,
                    Err(e) => return Err(Attempt::Failed(e)),
                }
            }
            None => {
                for (o, _) in producer.objects() {
                    self.obtain(&o.hash, depth + 1)?;
                }
                let job = Job { name: producer.name(), thunk: &producer, stored: None };
                self.local.execute(&job).map_err(Attempt::Failed)?.outputs
            }
        };
        if !made.contains(name) {
            return Err(Attempt::Failed(ExecError::engine(format!(
                "`{name}` was lost with its worker, and re-running thunk `{}` made something else: \
                 the step is not reproducible",
                producer.name()
            ))));
        }
        self.obtain_made(name)
    }

    /// After a re-run: the blob is inline (already here) or on a worker.
    fn obtain_made(&self, name: &Name) -> Result<(), Attempt> {
        if self.store.has(name) {
            return Ok(());
        }
        for w in self.workers.iter().filter(|w| w.alive.load(Ordering::Relaxed)) {
            if w.known.lock().expect("known").contains(name) && self.fetch_from(w, name).is_ok() {
                return Ok(());
            }
        }
        Err(Attempt::Unreachable(format!("`{name}` was made again but could not be fetched")))
    }
}
