//! One jailed run, in two processes:
//!
//! - the **init**, cloned by the keeper into a mount and a PID namespace of
//!   its own (it is PID 1 there), reads the request, builds the jail's tree
//!   ([`super::root`]), forks the function and waits for it, or for gg to
//!   give up on the run (a byte or the end of the run's stream: a timeout,
//!   Ctrl-C, or gg gone). Either way it then kills every process left in
//!   the namespace (even one that called `setsid`), reaps them all, writes
//!   the function's status and exits;
//! - the **function** enters a user namespace of its own where it is
//!   `nobody` (so it holds no capability over the mounts, and loses every
//!   capability at `execve`), sets the resource limits, and executes the
//!   thunk's program with the thunk's `argv[0]`.
//!
//! The init holds the only copy of the run's stream that outlives the
//! keeper's loop, and the function's copy closes at `execve`, so gg sees
//! the stream end exactly when the init exits: after every process of the
//! run is gone. gg collects outputs only then.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::{kill, signal, SigHandler, Signal};
use nix::unistd::{fork, ForkResult, Pid};

use super::wire::{self, Request};
use super::LIMITS;

/// Clones the run's init; the keeper goes on at once.
pub fn start(
    base: &Path,
    stage: &Path,
    stream: &UnixStream,
    stdout: &OwnedFd,
    stderr: &OwnedFd,
) -> std::io::Result<()> {
    let flags = libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::SIGCHLD;
    // SAFETY: clone without a new stack behaves as fork, into new
    // namespaces; the keeper is single-threaded, so the child is a whole
    // copy of it that may run anything.
    let pid = unsafe { libc::syscall(libc::SYS_clone, flags as libc::c_ulong, 0usize, 0usize, 0usize, 0usize) };
    match pid {
        -1 => Err(std::io::Error::last_os_error()),
        0 => init(base, stage, stream, stdout, stderr),
        _ => Ok(()),
    }
}

/// The run's PID 1: never returns.
fn init(base: &Path, stage: &Path, stream: &UnixStream, stdout: &OwnedFd, stderr: &OwnedFd) -> ! {
    let mut s = stream;
    let fail = |mut s: &UnixStream, m: String| -> ! {
        let _ = s.write_all(&wire::error_line(&m));
        std::process::exit(1)
    };
    // Only the keeper listens for requests.
    let _ = nix::unistd::close(super::procfs::CONTROL);
    // Should the keeper die, so does the run.
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    // SAFETY: restoring the default action installs no handler code; the
    // init must wait for its children, which SIG_IGN would prevent.
    let _ = unsafe { signal(Signal::SIGCHLD, SigHandler::SigDfl) };
    let request = match Request::read_from(&mut s) {
        Ok(r) => r,
        Err(e) => fail(stream, format!("cannot read the request: {e}")),
    };
    if let Err(e) = super::root::enter(stage, base, request.root()) {
        fail(stream, e);
    }
    // SAFETY: the init is single-threaded.
    let function = match unsafe { fork() } {
        Ok(ForkResult::Child) => function(&request, stdout, stderr),
        Ok(ForkResult::Parent { child }) => child,
        Err(e) => fail(stream, format!("cannot fork the function: {e}")),
    };
    // SAFETY: closing descriptors this process holds and no longer uses;
    // the function has its own copies.
    unsafe {
        libc::close(stdout.as_raw_fd());
        libc::close(stderr.as_raw_fd());
    }
    let status = watch(stream, function);
    // As PID 1, kill(-1) reaches every other process of the namespace; all
    // of them are this process's children or were orphaned to it, so once
    // waitpid finds none, none is left.
    let _ = kill(Pid::from_raw(-1), Signal::SIGKILL);
    loop {
        // SAFETY: waits for any child; the status is not wanted.
        let pid = unsafe { libc::waitpid(-1, std::ptr::null_mut(), 0) };
        if pid < 0 && nix::errno::Errno::last() != nix::errno::Errno::EINTR {
            break;
        }
    }
    // A run killed at gg's request has no status to report.
    if let Some(status) = status {
        let _ = s.write_all(&wire::status_line(status));
    }
    std::process::exit(0)
}

/// Waits until the function ends (its wait status) or gg writes to or
/// closes the stream (`None`: the run is to be killed).
fn watch(stream: &UnixStream, function: Pid) -> Option<i32> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let pidfd = crate::process::pidfd(function.as_raw() as u32).ok()?;
    loop {
        let mut fds = [PollFd::new(stream.as_fd(), PollFlags::POLLIN), PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return None,
            Ok(_) => {}
        }
        if fds[1].revents().is_some_and(|r| !r.is_empty()) {
            let mut raw = 0;
            // SAFETY: reaps the function, which has exited; writes `raw`.
            if unsafe { libc::waitpid(function.as_raw(), &mut raw, 0) } == function.as_raw() {
                return Some(raw);
            }
        }
        if fds[0].revents().is_some_and(|r| !r.is_empty()) {
            return None;
        }
    }
}

/// The function's process: becomes `nobody` in a user namespace of its own,
/// then executes the thunk's program. Never returns.
fn function(request: &Request, stdout: &OwnedFd, stderr: &OwnedFd) -> ! {
    let fail = |m: String| -> ! {
        let _ = std::fs::File::from(stderr.try_clone().expect("dup")).write_all(format!("gg jail: {m}\n").as_bytes());
        // SAFETY: _exit ends the process without running anything else.
        unsafe { libc::_exit(127) }
    };
    if let Err(e) = become_nobody() {
        fail(e);
    }
    for (resource, limit) in [
        (nix::sys::resource::Resource::RLIMIT_DATA, LIMITS[0]),
        (nix::sys::resource::Resource::RLIMIT_NPROC, LIMITS[1]),
        (nix::sys::resource::Resource::RLIMIT_FSIZE, LIMITS[2]),
        (nix::sys::resource::Resource::RLIMIT_CORE, LIMITS[3]),
    ] {
        // A failure leaves the (lower) limit the keeper had.
        let _ = nix::sys::resource::setrlimit(resource, limit, limit);
    }
    let null = std::fs::File::open("/dev/null").map(OwnedFd::from).unwrap_or_else(|e| fail(format!("/dev/null: {e}")));
    for (from, to) in [(&null, 0), (stdout, 1), (stderr, 2)] {
        // dup2 onto itself would keep the close-on-exec flag (descriptor 0
        // is free in the run, so /dev/null may well open as 0).
        // SAFETY: fcntl and dup2 on descriptors this process holds.
        let r = unsafe {
            if from.as_raw_fd() == to {
                libc::fcntl(to, libc::F_SETFD, 0)
            } else {
                libc::dup2(from.as_raw_fd(), to)
            }
        };
        if r < 0 {
            fail(format!("dup2: {}", std::io::Error::last_os_error()));
        }
    }
    // A terminal's input cannot be pushed to from inside (TIOCSTI), and no
    // program can gain privileges by executing a set-user-ID file.
    let _ = nix::unistd::setsid();
    let _ = nix::sys::prctl::set_no_new_privs();
    if let Err(e) = nix::unistd::chdir(&request.cwd) {
        fail(format!("cannot enter `{}`: {e}", request.cwd.display()));
    }
    let (program, argv, env) = request.exec_parts().unwrap_or_else(|e| fail(e.to_string()));
    let e = nix::unistd::execve(&program, &argv, &env).unwrap_err();
    fail(format!("cannot run `{}`: {e}", request.program.display()))
}

/// Moves this process into a user namespace of its own, mapped so that it
/// is `nobody` (65534) there and the keeper's user outside: files of the
/// sandbox stay its own, it holds no capability over the run's mounts, and
/// `execve` of a program as a non-root user drops every capability.
fn become_nobody() -> Result<(), String> {
    unshare(CloneFlags::CLONE_NEWUSER).map_err(|e| format!("cannot make the function's user namespace: {e}"))?;
    super::procfs::write_proc("setgroups", "deny")?;
    super::procfs::write_proc("uid_map", "65534 0 1")?;
    super::procfs::write_proc("gid_map", "65534 0 1")
}
