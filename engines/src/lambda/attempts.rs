//! One chain's invocations, as the remote engine treats a worker's
//! attempts: each invocation waits on its own thread, the caller waits on
//! all of them at once, so that
//! - an invocation with no answer past the straggler deadline (four times
//!   the median of recent invocations, at least `GG_STRAGGLER_SECS`) is
//!   duplicated, and the first answer wins: Lambda starts a new
//!   environment for it while the old one may be stuck or dead;
//! - a function error or a lost answer is invoked again at once;
//! - after [`ATTEMPTS`] invocations with no answer the function is taken
//!   as silent: the chain goes to the fallback (local, or an error under
//!   `GG_REMOTE_STRICT=1`) and, for [`SILENT_FOR`], so does every new
//!   chain, instead of each waiting out its own deadlines;
//! - an interrupt (Ctrl-C, SIGTERM) ends the wait at once; invocations
//!   still pending are abandoned (their threads end with the process).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use super::invoke::{InvokeError, Invoker};
use crate::straggler::Straggler;

/// Invocations of one chain, duplicates and retries included.
pub const ATTEMPTS: u32 = 3;
/// How long a function that answered none of a chain's invocations is
/// left alone.
pub const SILENT_FOR: Duration = Duration::from_secs(60);
/// How often the wait looks at the clock and for an interrupt.
const TICK: Duration = Duration::from_millis(100);

/// What the invocations of all chains share: recent durations, and
/// whether the function is taken as silent.
#[derive(Debug)]
pub struct Timing {
    pub straggler: Straggler,
    silent: Mutex<Option<(Instant, String)>>,
    pub invocations: AtomicUsize,
    /// Invoked again after a function error or a lost answer.
    pub retried: AtomicUsize,
    /// Invoked again because the first had not answered in time.
    pub duplicated: AtomicUsize,
}

impl Timing {
    /// `min`: no invocation counts as a straggler before it.
    pub fn new(min: Duration) -> Timing {
        Timing {
            straggler: Straggler::new(min),
            silent: Mutex::default(),
            invocations: AtomicUsize::new(0),
            retried: AtomicUsize::new(0),
            duplicated: AtomicUsize::new(0),
        }
    }

    fn record(&self, took: Duration) {
        self.straggler.record(took);
        *self.silent.lock().expect("silent") = None;
    }

    /// Why the function is taken as silent, if it answered nothing lately.
    pub fn silent(&self) -> Option<String> {
        let s = self.silent.lock().expect("silent");
        s.as_ref().filter(|(at, _)| at.elapsed() < SILENT_FOR).map(|(_, why)| why.clone())
    }
}

/// How a chain's invocations ended.
#[derive(Debug)]
pub enum Ended {
    /// The first answer's body.
    Answer(Vec<u8>),
    /// Every invocation failed in the function (the last error).
    Failed(String),
    /// The service refused or stayed unavailable.
    Service(InvokeError),
    /// No invocation answered in time: the function is taken as silent.
    Silent(String),
    Interrupted,
}

/// Invokes the function with `payload` until an answer comes (see the
/// module's rules); `what` names the chain in messages.
pub fn invoke(invoker: &Arc<Invoker>, payload: &Arc<Vec<u8>>, timing: &Timing, what: &str) -> Ended {
    let (tx, rx) = mpsc::channel();
    let launch = |tx: &mpsc::Sender<(Result<Vec<u8>, InvokeError>, Duration)>| {
        timing.invocations.fetch_add(1, Ordering::Relaxed);
        let (invoker, payload, to) = (Arc::clone(invoker), Arc::clone(payload), tx.clone());
        let started = std::thread::Builder::new().name("gg-invoke".into()).spawn(move || {
            let start = Instant::now();
            let r = invoker.invoke(&payload);
            let _ = to.send((r, start.elapsed()));
        });
        if let Err(e) = started {
            let _ = tx.send((Err(InvokeError::Lost(format!("cannot start a thread: {e}"))), Duration::ZERO));
        }
    };
    launch(&tx);
    let (mut launched, mut running, mut since) = (1, 1, Instant::now());
    loop {
        if gg_core::interrupt::interrupted() {
            return Ended::Interrupted;
        }
        match rx.recv_timeout(TICK) {
            Ok((Ok(body), took)) => {
                timing.record(took);
                return Ended::Answer(body);
            }
            Ok((Err(e @ (InvokeError::Function { .. } | InvokeError::Lost(_))), _)) => {
                running -= 1;
                if launched < ATTEMPTS {
                    timing.retried.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(100 * u64::from(launched)));
                    launch(&tx);
                    (launched, running, since) = (launched + 1, running + 1, Instant::now());
                } else if running == 0 {
                    return Ended::Failed(e.to_string());
                }
            }
            Ok((Err(e), _)) => return Ended::Service(e),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let after = timing.straggler.after();
                if since.elapsed() < after {
                    continue;
                }
                if launched < ATTEMPTS {
                    timing.duplicated.fetch_add(1, Ordering::Relaxed);
                    launch(&tx);
                    (launched, running, since) = (launched + 1, running + 1, Instant::now());
                    continue;
                }
                let why = format!(
                    "the function answered none of {launched} invocations for thunk {what} within {:.1} s of the last",
                    after.as_secs_f64()
                );
                *timing.silent.lock().expect("silent") = Some((Instant::now(), why.clone()));
                return Ended::Silent(why);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => unreachable!("the sender is held here"),
        }
    }
}
