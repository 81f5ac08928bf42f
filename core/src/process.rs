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

use crate::interrupt;

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

/// At most this much of each stream is kept; the rest is read and dropped
/// (a runaway function must not exhaust memory).
const STREAM_LIMIT: usize = 16 << 20;

/// After the group is killed, how long to wait for the pipes to close. A
/// process that left the group (`setsid`) may hold them open for ever.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// Runs `cmd` (stdin from /dev/null) as the leader of a new process group
/// until it exits or `timeout` passes, then kills the group and reaps it.
pub fn run(cmd: &mut Command, timeout: Option<Duration>) -> io::Result<Run> {
    use std::os::unix::process::CommandExt;
    let mut child = cmd.process_group(0).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    interrupt::register(child.id());
    let result = supervise(&mut child, timeout);
    // Whatever happened, leave no process behind. The leader is a zombie
    // (or still running) until reaped below, so its pid, and with it the
    // group id, cannot have been reused.
    interrupt::kill_group(child.id());
    let status = child.wait();
    interrupt::unregister(child.id());
    let (exited, stdout, stderr) = result?;
    Ok(Run { ended: if exited { Ended::Exited(status?) } else { Ended::TimedOut }, stdout, stderr })
}

fn supervise(child: &mut Child, timeout: Option<Duration>) -> io::Result<(bool, Vec<u8>, Vec<u8>)> {
    let pidfd = pidfd(child.id())?;
    let mut out = Stream::new(child.stdout.take().expect("piped"))?;
    let mut err = Stream::new(child.stderr.take().expect("piped"))?;
    // A timeout too large to add is no timeout.
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let exited = loop {
        let Some(ms) = millis_until(deadline) else { break false };
        if poll_outputs(pidfd.as_raw_fd(), &mut out, &mut err, ms)? == Some(true) {
            break true;
        }
    };
    interrupt::kill_group(child.id());
    // Every writer in the group is dead now; give stragglers that escaped
    // it a short grace, then stop reading.
    let grace = Instant::now() + DRAIN_GRACE;
    Ok((exited, out.finish(grace)?, err.finish(grace)?))
}

/// Milliseconds to wait in `poll` (-1: for ever), or `None` once past.
fn millis_until(deadline: Option<Instant>) -> Option<i32> {
    let Some(d) = deadline else { return Some(-1) };
    let left = d.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return None;
    }
    Some(left.as_millis().clamp(1, i32::MAX as u128) as i32)
}

/// One `poll` of up to `ms` on `first` and the two output streams,
/// reading what the streams have. `None`: interrupted (poll again); else
/// whether `first` is ready.
fn poll_outputs<A: Read + AsRawFd, B: Read + AsRawFd>(
    first: RawFd,
    out: &mut Stream<A>,
    err: &mut Stream<B>,
    ms: i32,
) -> io::Result<Option<bool>> {
    let mut fds = [pollfd(first), pollfd(out.fd()), pollfd(err.fd())];
    // SAFETY: three valid pollfds; a closed stream has fd -1, which poll
    // ignores.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 3, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted { Ok(None) } else { Err(e) };
    }
    if fds[1].revents != 0 {
        out.read_some()?;
    }
    if fds[2].revents != 0 {
        err.read_some()?;
    }
    Ok(Some(fds[0].revents != 0))
}

fn pollfd(fd: RawFd) -> libc::pollfd {
    libc::pollfd { fd, events: libc::POLLIN, revents: 0 }
}

pub(crate) fn pidfd(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("pidfd_open failed (gg needs Linux 5.3 or later): {e}")));
    }
    // SAFETY: the syscall returned a fresh descriptor that we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// How long a jailed run may take to end once gg asked for it to be
/// killed: the keeper kills it at once, so this only bounds a keeper gone
/// wrong.
const KILL_GRACE: Duration = Duration::from_secs(10);

/// Waits on a run in the jail: `answer` is the run's stream to the jail
/// keeper, which ends once every process of the run is gone; `stdout` and
/// `stderr` are the read ends of the function's pipes. At `timeout` (or
/// on an interrupt) gg shuts the stream for writing, and the keeper kills
/// the run.
pub(crate) fn watch_jailed(
    answer: std::os::unix::net::UnixStream,
    stdout: OwnedFd,
    stderr: OwnedFd,
    timeout: Option<Duration>,
) -> io::Result<Run> {
    let socket = answer.as_raw_fd();
    interrupt::register_jailed(socket);
    let result = supervise_jailed(answer, stdout, stderr, timeout);
    interrupt::unregister_jailed(socket);
    let (reply, killed, stdout, stderr) = result?;
    use std::os::unix::process::ExitStatusExt;
    let ended = match crate::jail::wire::parse_answer(&reply) {
        crate::jail::wire::Answer::Status(raw) => Ended::Exited(ExitStatus::from_raw(raw)),
        crate::jail::wire::Answer::Error(m) => return Err(io::Error::other(format!("the jail: {m}"))),
        crate::jail::wire::Answer::None if killed => Ended::TimedOut,
        // Killed by an interrupt, as an unjailed group would be.
        crate::jail::wire::Answer::None if interrupt::interrupted() => {
            Ended::Exited(ExitStatus::from_raw(libc::SIGKILL))
        }
        crate::jail::wire::Answer::None => {
            return Err(io::Error::other("the jail keeper ended the run without a status (is `gg-jail` gone?)"))
        }
    };
    Ok(Run { ended, stdout, stderr })
}

type Jailed = (Vec<u8>, bool, Vec<u8>, Vec<u8>);

fn supervise_jailed(
    answer: std::os::unix::net::UnixStream,
    stdout: OwnedFd,
    stderr: OwnedFd,
    timeout: Option<Duration>,
) -> io::Result<Jailed> {
    let mut deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let mut reply = Stream::new(answer)?;
    let mut out = Stream::new(std::fs::File::from(stdout))?;
    let mut err = Stream::new(std::fs::File::from(stderr))?;
    let mut killed = false;
    while reply.pipe.is_some() {
        let Some(ms) = millis_until(deadline) else {
            if killed {
                return Err(io::Error::other("the jail keeper did not end a killed run"));
            }
            if let Some(s) = &reply.pipe {
                s.shutdown(std::net::Shutdown::Write)?;
            }
            killed = true;
            deadline = Some(Instant::now() + KILL_GRACE);
            continue;
        };
        if poll_outputs(reply.fd(), &mut out, &mut err, ms)? == Some(true) {
            reply.read_some()?;
        }
    }
    // Every process of the run is gone, so the pipes end at once.
    let grace = Instant::now() + DRAIN_GRACE;
    Ok((reply.finish(grace)?, killed, out.finish(grace)?, err.finish(grace)?))
}

/// A non-blocking pipe being drained into a bounded buffer.
struct Stream<R> {
    pipe: Option<R>,
    buf: Vec<u8>,
    dropped: u64,
}

impl<R: Read + AsRawFd> Stream<R> {
    fn new(pipe: R) -> io::Result<Stream<R>> {
        // SAFETY: fcntl on a descriptor we own.
        let r = unsafe { libc::fcntl(pipe.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Stream { pipe: Some(pipe), buf: Vec::new(), dropped: 0 })
    }

    fn fd(&self) -> RawFd {
        self.pipe.as_ref().map_or(-1, AsRawFd::as_raw_fd)
    }

    /// Reads what is available; closes the stream at end of file.
    fn read_some(&mut self) -> io::Result<()> {
        let Some(pipe) = self.pipe.as_mut() else { return Ok(()) };
        let mut chunk = [0u8; 65536];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) => {
                    self.pipe = None;
                    return Ok(());
                }
                Ok(n) => {
                    let keep = n.min(STREAM_LIMIT - self.buf.len());
                    self.buf.extend_from_slice(&chunk[..keep]);
                    self.dropped += (n - keep) as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads to the end, or until `grace` passes.
    fn finish(mut self, grace: Instant) -> io::Result<Vec<u8>> {
        while self.pipe.is_some() {
            let Some(ms) = millis_until(Some(grace)) else { break };
            let mut fds = [pollfd(self.fd())];
            // SAFETY: one valid pollfd.
            if unsafe { libc::poll(fds.as_mut_ptr(), 1, ms) } > 0 {
                self.read_some()?;
            }
        }
        if self.dropped > 0 {
            self.buf.extend_from_slice(format!("\n[gg: {} more bytes of output dropped]\n", self.dropped).as_bytes());
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
    fn a_child_that_leaves_the_group_cannot_hold_the_run_open() {
        let start = Instant::now();
        let r = sh("setsid sleep 30 & echo $!; sleep 0.5", Some(Duration::from_secs(10)));
        assert!(matches!(r.ended, Ended::Exited(_)));
        // That process escaped the group (a documented limit); clean it up.
        let pid: i32 = String::from_utf8_lossy(&r.stdout).trim().parse().unwrap();
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        assert!(start.elapsed() < DRAIN_GRACE + Duration::from_secs(3), "{:?}", start.elapsed());
    }

    #[test]
    fn an_enormous_timeout_means_no_timeout() {
        let r = sh("exit 0", Some(Duration::from_secs(u64::MAX)));
        assert!(matches!(r.ended, Ended::Exited(s) if s.success()));
    }

    #[test]
    fn runaway_output_is_bounded() {
        let r = sh("head -c 20000000 /dev/zero", None);
        assert!(r.stdout.len() < STREAM_LIMIT + 100);
        assert!(String::from_utf8_lossy(&r.stdout[STREAM_LIMIT..]).contains("more bytes of output dropped"));
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
