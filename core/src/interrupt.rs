//! Ctrl-C and friends: every function runs in its own process group, so
//! the terminal's SIGINT never reaches it. gg keeps a registry of running
//! groups; on SIGINT, SIGTERM or SIGHUP it kills them all and tells the
//! scheduler to start nothing new, so the run ends cleanly (sandboxes
//! removed, nothing half-written) and promptly.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static RUNNING: Mutex<Vec<Running>> = Mutex::new(Vec::new());

/// Something to stop on an interrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Running {
    /// A process group, killed.
    Group(u32),
    /// A jailed run's stream (a socket), shut down for writing: the jail
    /// keeper then kills the whole run.
    Jailed(i32),
}

impl Running {
    fn stop(self) {
        match self {
            Running::Group(pgid) => kill_group(pgid),
            // SAFETY: shutdown has no memory-safety preconditions; the
            // socket stays open until it is unregistered.
            Running::Jailed(fd) => unsafe {
                libc::shutdown(fd, libc::SHUT_WR);
            },
        }
    }
}

/// Whether an interrupt was received: start no new work.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Records a running process group; if an interrupt already came, kills
/// it at once. Pair with [`unregister`].
pub fn register(pgid: u32) {
    add(Running::Group(pgid));
}

pub fn unregister(pgid: u32) {
    remove(Running::Group(pgid));
}

/// Records a jailed run by the socket its keeper watches; pair with
/// [`unregister_jailed`] before the socket is closed.
pub fn register_jailed(socket: i32) {
    add(Running::Jailed(socket));
}

pub fn unregister_jailed(socket: i32) {
    remove(Running::Jailed(socket));
}

fn add(r: Running) {
    let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    running.push(r);
    if interrupted() {
        r.stop();
    }
}

fn remove(r: Running) {
    let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    running.retain(|&p| p != r);
}

/// Marks the run interrupted and kills every registered process group.
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    for r in running.iter() {
        r.stop();
    }
}

pub(crate) fn kill_group(pgid: u32) {
    // SAFETY: kill has no memory-safety preconditions; ESRCH (no such group)
    // is the normal case and is ignored.
    unsafe {
        libc::kill(-(pgid as libc::pid_t), libc::SIGKILL);
    }
}

/// Routes SIGINT, SIGTERM and SIGHUP to [`interrupt`]; a second signal
/// exits at once with status 130. Call before starting any other thread:
/// the signals are blocked in this thread, so every thread created later
/// inherits the block, and one dedicated thread waits for them. (Spawned
/// programs start with an empty signal mask.)
pub fn install_handler() {
    // SAFETY: plain libc signal-set manipulation on a local, initialised set.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, sig);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    std::thread::spawn(move || {
        loop {
            let mut sig = 0;
            // SAFETY: waits on a valid signal set; writes the signal number.
            if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
                continue;
            }
            if interrupted() {
                std::process::exit(130);
            }
            interrupt();
        }
    });
}
