//! One jailed run, in three processes forked from the keeper:
//!
//! - the **handler** makes the run's mount and PID namespaces, forks the
//!   run's first process, and then waits for it or for gg to give up on
//!   the run (a byte or the end of the run's stream: a timeout, Ctrl-C, or
//!   gg gone), which kills it;
//! - the **init**, PID 1 of the new PID namespace, builds the jail's tree
//!   ([`super::root`]), forks the function, waits for it and writes its
//!   status. When init exits, the kernel kills every process left in the
//!   namespace, even one that called `setsid`, before init is reaped;
//! - the **function** enters a user namespace of its own where it is
//!   `nobody` (so it holds no capability over the mounts, and loses every
//!   capability at `execve`), sets the resource limits, and executes the
//!   thunk's program with the thunk's `argv[0]`.
//!
//! The run's stream reaches its end for gg only when the handler and the
//! init are both gone, which is after every process of the run is gone: gg
//! collects outputs only then.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::{kill, signal, SigHandler, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, ForkResult, Pid};

use super::wire::{self, Request};
use super::LIMITS;

/// The handler: never returns.
pub fn handle(control: &OwnedFd, stage: &Path, mut stream: UnixStream, stdout: OwnedFd, stderr: OwnedFd) -> ! {
    // Only the keeper listens for requests.
    let _ = nix::unistd::close(control.as_raw_fd());
    let fail = |mut s: &UnixStream, m: String| -> ! {
        let _ = s.write_all(&wire::error_line(&m));
        std::process::exit(1)
    };
    // SAFETY: restoring the default action installs no handler code; the
    // handler must wait for its own child, which SIG_IGN would prevent.
    let _ = unsafe { signal(Signal::SIGCHLD, SigHandler::SigDfl) };
    let request = match Request::read_from(&mut stream) {
        Ok(r) => r,
        Err(e) => fail(&stream, format!("cannot read the request: {e}")),
    };
    if let Err(e) = unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID) {
        fail(&stream, format!("cannot make the run's namespaces: {e}"));
    }
    // SAFETY: the handler is single-threaded.
    let init = match unsafe { fork() } {
        Ok(ForkResult::Child) => init(stage, &request, &stream, stdout, stderr),
        Ok(ForkResult::Parent { child }) => child,
        Err(e) => fail(&stream, format!("cannot fork the run: {e}")),
    };
    drop((stdout, stderr));
    watch(&stream, init);
    std::process::exit(0)
}

/// Waits until `init` ends, killing it first if gg writes to or closes the
/// stream.
fn watch(stream: &UnixStream, init: Pid) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let pidfd = crate::process::pidfd(init.as_raw() as u32).ok();
    loop {
        let mut fds = vec![PollFd::new(stream.as_fd(), PollFlags::POLLIN)];
        if let Some(p) = &pidfd {
            fds.push(PollFd::new(p.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break,
            Ok(_) => {}
        }
        let gg_spoke = fds[0].revents().is_some_and(|r| !r.is_empty());
        let ended = fds.get(1).and_then(|f| f.revents()).is_some_and(|r| !r.is_empty());
        if gg_spoke && !ended {
            let _ = kill(init, Signal::SIGKILL);
        }
        if gg_spoke || ended {
            break;
        }
    }
    let _ = waitpid(init, None);
}

/// The run's PID 1: never returns.
fn init(stage: &Path, request: &Request, stream: &UnixStream, stdout: OwnedFd, stderr: OwnedFd) -> ! {
    let mut s = stream;
    // Should the handler die, so does the run. (The handler is outside
    // this PID namespace, so `getppid` cannot tell whether it already did;
    // then the run ends on its own or at its timeout.)
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    if let Err(e) = super::root::enter(stage, request.root()) {
        let _ = s.write_all(&wire::error_line(&e));
        std::process::exit(1);
    }
    // SAFETY: the init is single-threaded.
    let function = match unsafe { fork() } {
        Ok(ForkResult::Child) => function(request, stdout, stderr),
        Ok(ForkResult::Parent { child }) => child,
        Err(e) => {
            let _ = s.write_all(&wire::error_line(&format!("cannot fork the function: {e}")));
            std::process::exit(1);
        }
    };
    drop((stdout, stderr));
    // Reap whatever is orphaned into the namespace until the function
    // itself ends; the rest die with this process.
    let status = loop {
        let mut raw = 0;
        // SAFETY: waits for any child and writes its status to `raw`.
        let pid = unsafe { libc::waitpid(-1, &mut raw, 0) };
        if pid == function.as_raw() {
            break raw;
        }
        if pid < 0 && nix::errno::Errno::last() != nix::errno::Errno::EINTR {
            break 127 << 8;
        }
    };
    let _ = s.write_all(&wire::status_line(status));
    std::process::exit(0)
}

/// The function's process: becomes `nobody` in a user namespace of its own,
/// then executes the thunk's program. Never returns.
fn function(request: &Request, stdout: OwnedFd, stderr: OwnedFd) -> ! {
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
    for (from, to) in [(&null, 0), (&stdout, 1), (&stderr, 2)] {
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
    super::keeper::write_proc("setgroups", "deny")?;
    super::keeper::write_proc("uid_map", "65534 0 1")?;
    super::keeper::write_proc("gid_map", "65534 0 1")
}
