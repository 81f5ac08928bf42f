//! Running a function's process: its own process group, stdout and stderr
//! captured through pipes, a deadline, and the whole group killed when the
//! deadline passes or the function exits (so no stray child outlives its
//! thunk).
//!
//! One `poll` over a pidfd and the two pipes waits for all three at once:
//! no helper threads, no signal handlers, no temp files (creating files is
//! the slowest thing a small thunk does on many disks).

use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How a run ended.
#[derive(Debug)]
pub enum Ended {
    Exited(ExitStatus),
    TimedOut,
}

/// A finished run and what it printed.
#[derive(Debug)]
pub struct Run {
    pub ended: Ended,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Runs `cmd` (stdin from /dev/null) as the leader of a new process group
/// until it exits or `timeout` passes, then kills the group and reaps it.
pub fn run(cmd: &mut Command, timeout: Option<Duration>) -> io::Result<Run> {
    use std::os::unix::process::CommandExt;
    let mut child = cmd.process_group(0).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let result = supervise(&mut child, timeout);
    // Whatever happened, leave no process behind. The leader is a zombie
    // (or still running) until reaped below, so its pid, and with it the
    // group id, cannot have been reused.
    kill_group(child.id());
    let status = child.wait()?;
    let (exited, stdout, stderr) = result?;
    Ok(Run { ended: if exited { Ended::Exited(status) } else { Ended::TimedOut }, stdout, stderr })
}

fn supervise(child: &mut Child, timeout: Option<Duration>) -> io::Result<(bool, Vec<u8>, Vec<u8>)> {
    let pidfd = pidfd(child.id())?;
    let mut out = Stream::new(child.stdout.take().expect("piped"))?;
    let mut err = Stream::new(child.stderr.take().expect("piped"))?;
    let deadline = timeout.map(|t| Instant::now() + t);
    let exited = loop {
        let ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break false;
                }
                left.as_millis().clamp(1, i32::MAX as u128) as i32
            }
        };
        let mut fds = [pollfd(pidfd.as_raw_fd()), pollfd(out.fd()), pollfd(err.fd())];
        // SAFETY: three valid pollfds; a closed stream has fd -1, which poll
        // ignores.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 3, ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if fds[1].revents != 0 {
            out.read_some()?;
        }
        if fds[2].revents != 0 {
            err.read_some()?;
        }
        if fds[0].revents != 0 {
            break true;
        }
    };
    kill_group(child.id());
    // Every writer is dead now, so reading to the end cannot block for long.
    Ok((exited, out.finish()?, err.finish()?))
}

fn pollfd(fd: RawFd) -> libc::pollfd {
    libc::pollfd { fd, events: libc::POLLIN, revents: 0 }
}

fn kill_group(pgid: u32) {
    // SAFETY: kill has no memory-safety preconditions; ESRCH (no such group)
    // is the normal case and is ignored.
    unsafe {
        libc::kill(-(pgid as libc::pid_t), libc::SIGKILL);
    }
}

fn pidfd(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("pidfd_open failed (gg needs Linux 5.3 or later): {e}")));
    }
    // SAFETY: the syscall returned a fresh descriptor that we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// A non-blocking pipe being drained into a buffer.
struct Stream<R> {
    pipe: Option<R>,
    buf: Vec<u8>,
}

impl<R: Read + AsRawFd> Stream<R> {
    fn new(pipe: R) -> io::Result<Stream<R>> {
        // SAFETY: fcntl on a descriptor we own.
        let r = unsafe { libc::fcntl(pipe.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Stream { pipe: Some(pipe), buf: Vec::new() })
    }

    fn fd(&self) -> RawFd {
        self.pipe.as_ref().map_or(-1, AsRawFd::as_raw_fd)
    }

    /// Reads what is available; closes the stream at end of file.
    fn read_some(&mut self) -> io::Result<()> {
        let Some(pipe) = self.pipe.as_mut() else {
            return Ok(());
        };
        let mut chunk = [0u8; 65536];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) => {
                    self.pipe = None;
                    return Ok(());
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn finish(mut self) -> io::Result<Vec<u8>> {
        while self.pipe.is_some() {
            self.read_some()?;
            if self.pipe.is_some() {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        Ok(self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Option<Duration>) -> Run {
        run(Command::new("/bin/sh").args(["-c", script]), timeout).unwrap()
    }

    #[test]
    fn a_quick_process_exits_with_its_status_and_output() {
        let r = sh("echo out; echo err >&2; exit 3", Some(Duration::from_secs(10)));
        match r.ended {
            Ended::Exited(s) => assert_eq!(s.code(), Some(3)),
            e => panic!("{e:?}"),
        }
        assert_eq!(r.stdout, b"out\n");
        assert_eq!(r.stderr, b"err\n");
    }

    #[test]
    fn large_output_on_both_streams_does_not_deadlock() {
        let r = sh("head -c 3000000 /dev/zero; head -c 3000000 /dev/zero >&2", None);
        assert_eq!(r.stdout.len(), 3_000_000);
        assert_eq!(r.stderr.len(), 3_000_000);
    }

    #[test]
    fn a_slow_process_and_its_children_are_killed_at_the_deadline() {
        let start = Instant::now();
        let r = sh("sleep 30 & sleep 30", Some(Duration::from_millis(300)));
        assert!(matches!(r.ended, Ended::TimedOut));
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_background_child_does_not_outlive_its_leader() {
        let start = Instant::now();
        // The background sleep keeps the pipes open; it must be killed when
        // the leader exits, or reading to the end would take 30 s.
        let r = sh("sleep 30 & echo started", None);
        assert!(matches!(r.ended, Ended::Exited(s) if s.success()));
        assert_eq!(r.stdout, b"started\n");
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
