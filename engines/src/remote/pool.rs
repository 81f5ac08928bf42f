//! A pool of threads for attempts. Attempts run detached (a straggler's
//! may outlive its answer), and a burst starts a thousand of them: a new
//! thread for each cost more than the request itself (stack set-up and
//! tear-down, with a TLB shootdown per exit), so finished threads wait a
//! while for the next attempt instead of exiting.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

type Task = Box<dyn FnOnce() + Send>;

/// How long an idle thread waits for work before it exits.
const IDLE: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub(super) struct Pool {
    tx: Mutex<mpsc::Sender<Task>>,
    rx: Arc<Mutex<mpsc::Receiver<Task>>>,
    idle: Arc<AtomicUsize>,
}

impl Default for Pool {
    fn default() -> Pool {
        let (tx, rx) = mpsc::channel();
        Pool { tx: Mutex::new(tx), rx: Arc::new(Mutex::new(rx)), idle: Arc::default() }
    }
}

impl Pool {
    /// Runs `task` on an idle thread, or on a new one if none is idle.
    pub(super) fn spawn(&self, task: impl FnOnce() + Send + 'static) {
        // Claim an idle thread; if there is none, start one. A claimed
        // thread may be just timing out: it then takes the task before it
        // exits (it checks the queue once more).
        let claimed = self.idle.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok();
        self.tx.lock().expect("pool").send(Box::new(task)).expect("the pool owns its receiver");
        if !claimed {
            let (rx, idle) = (Arc::clone(&self.rx), Arc::clone(&self.idle));
            let started = std::thread::Builder::new().name("gg-attempt".into()).spawn(move || worker(&rx, &idle));
            if started.is_err() {
                // Out of threads: the task waits for one that finishes.
                eprintln!("gg: warning: cannot start a thread; an attempt waits for a free one");
            }
        }
    }
}

fn worker(rx: &Mutex<mpsc::Receiver<Task>>, idle: &AtomicUsize) {
    loop {
        let next = rx.lock().expect("pool").recv_timeout(IDLE);
        match next {
            Ok(task) => {
                task();
                idle.fetch_add(1, Ordering::AcqRel);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Leave only if nobody claimed this thread meanwhile.
                if idle.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok() {
                    return;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}
