//! The jail keeper, the `gg-jail` program: started once per gg process that
//! jails thunks, it makes the namespaces every run shares (user, network,
//! IPC, UTS: the costly ones) and then, for each request gg sends, clones the run's first
//! process into a mount and PID namespace of its own (cheap), which runs
//! the function there ([`super::run`]). So a jailed thunk costs two forks
//! and a few dozen mount calls more than a plain one, not a new program.
//!
//! gg talks to it over a `SOCK_SEQPACKET` socket on its standard input: one
//! message per run, carrying three descriptors (a stream for the request
//! and the answer, and the function's stdout and stderr). When gg goes away
//! the socket ends and the keeper exits; each handler watches its own
//! stream, so a run whose gg is gone is killed.
//!
//! The keeper is single-threaded and forks only itself, so each run's
//! process may allocate and use the standard library freely.

use std::io::{IoSliceMut, Write};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::{signal, SigHandler, Signal};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};

use super::procfs::{write_proc, CONTROL};

/// The keeper's `main`: `gg-jail DIR`, where DIR is the store's `jail`
/// folder, holding two empty folders: `base`, where the keeper mounts the
/// tree every run shares, and `stage`, where each run mounts its own.
/// Never returns.
pub fn main() -> ! {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("gg-jail: usage: gg-jail DIR (started by gg, with its control socket as standard input)");
        std::process::exit(2);
    };
    let (base, stage) = (dir.join("base"), dir.join("stage"));
    // SAFETY: gg gives the keeper its control socket as descriptor 0 and
    // nothing else in this process uses that descriptor.
    let control = unsafe { OwnedFd::from_raw_fd(CONTROL) };
    match setup().and_then(|()| {
        let top = super::root::top_folder(&dir).ok_or("the store has no top folder")?;
        super::root::build_base(&base, &top)
    }) {
        Ok(()) => send(&control, b"R"),
        Err(e) => {
            send(&control, format!("E {e}").as_bytes());
            std::process::exit(1);
        }
    }
    serve(&control, &base, &stage)
}

/// The namespaces every run of this keeper shares: a user namespace where
/// the keeper is root (and may mount), an empty network namespace (no
/// interface is up, so nothing can be reached), and IPC and host-name
/// namespaces of its own.
fn setup() -> Result<(), String> {
    let (uid, gid) = (nix::unistd::getuid(), nix::unistd::getgid());
    unshare(
        CloneFlags::CLONE_NEWUSER
            | CloneFlags::CLONE_NEWNS
            | CloneFlags::CLONE_NEWNET
            | CloneFlags::CLONE_NEWIPC
            | CloneFlags::CLONE_NEWUTS,
    )
    .map_err(|e| format!("cannot make a user namespace ({e}); are unprivileged user namespaces disabled?"))?;
    write_proc("setgroups", "deny")?;
    write_proc("uid_map", &format!("0 {uid} 1"))?;
    write_proc("gid_map", &format!("0 {gid} 1"))?;
    nix::unistd::sethostname("gg").map_err(|e| format!("sethostname: {e}"))?;
    // Nothing mounted for a run may propagate back to the machine.
    let none: Option<&str> = None;
    nix::mount::mount(none, "/", none, nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_PRIVATE, none)
        .map_err(|e| format!("cannot make the mounts private: {e}"))?;
    // Handlers are reaped by the kernel; each waits for its own run.
    // SAFETY: setting a signal to SIG_IGN installs no handler code.
    unsafe { signal(Signal::SIGCHLD, SigHandler::SigIgn) }.map_err(|e| format!("signal: {e}"))?;
    Ok(())
}

fn send(control: &OwnedFd, message: &[u8]) {
    // A lost message means gg is gone; the next receive ends the keeper.
    let _ = nix::sys::socket::send(
        std::os::fd::AsRawFd::as_raw_fd(control),
        message,
        nix::sys::socket::MsgFlags::MSG_NOSIGNAL,
    );
}

fn serve(control: &OwnedFd, base: &std::path::Path, stage: &std::path::Path) -> ! {
    use std::os::fd::AsRawFd;
    loop {
        let mut byte = [0u8; 1];
        let mut iov = [IoSliceMut::new(&mut byte)];
        let mut space = nix::cmsg_space!([RawFd; 3]);
        let fds: Vec<OwnedFd> =
            match recvmsg::<UnixAddr>(control.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC) {
                Ok(msg) if msg.bytes == 0 => std::process::exit(0),
                Ok(msg) => msg
                    .cmsgs()
                    .into_iter()
                    .flatten()
                    .flat_map(|c| match c {
                        ControlMessageOwned::ScmRights(fds) => fds,
                        _ => Vec::new(),
                    })
                    // SAFETY: the kernel just installed these descriptors in
                    // this process for us; nothing else owns them.
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
                    .collect(),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => std::process::exit(0),
            };
        let Ok([stream, stdout, stderr]) = <[OwnedFd; 3]>::try_from(fds) else { continue };
        let stream = UnixStream::from(stream);
        match super::run::start(base, stage, &stream, &stdout, &stderr) {
            // The keeper keeps none of the run's descriptors.
            Ok(()) => {}
            Err(e) => {
                let _ =
                    (&stream).write_all(&super::wire::error_line(&format!("the jail keeper cannot start a run: {e}")));
            }
        }
    }
}
