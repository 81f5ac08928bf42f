//! Ctrl-C and friends: every function runs in its own process group, so
//! the terminal's SIGINT never reaches it. gg keeps a registry of running
//! groups; on SIGINT, SIGTERM or SIGHUP it kills them all and tells the
//! scheduler to start nothing new, so the run ends cleanly (sandboxes
//! removed, nothing half-written) and promptly.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Whether an interrupt was received: start no new work.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Records a running process group; if an interrupt already came, kills
/// it at once. Pair with [`unregister`].
pub fn register(pgid: u32) {
    let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    running.push(pgid);
    if interrupted() {
        kill_group(pgid);
    }
}

pub fn unregister(pgid: u32) {
    let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    running.retain(|&p| p != pgid);
}

/// Marks the run interrupted and kills every registered process group.
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    for &pgid in running.iter() {
        kill_group(pgid);
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
