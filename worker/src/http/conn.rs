//! A connection's transport (plain TCP or TLS over it), the deadlines its
//! reads run under, and the gate that keeps connections which have not
//! shown the token yet from crowding out clients that hold it.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A TCP stream whose every read waits at most until the deadline, when
/// one is set, else at most `idle`. The deadline is checked below TLS, on
/// each socket read, so that a handshake trickling in byte by byte is cut
/// off as surely as a plain head.
#[derive(Debug)]
pub(super) struct Socket {
    tcp: TcpStream,
    pub deadline: Option<Instant>,
    idle: Duration,
    /// The read timeout last set, so that reads without a deadline (bodies)
    /// do not pay a system call each to set it again.
    applied: Option<Duration>,
    /// Set once a byte has arrived: the gate closes silent connections first.
    heard: Arc<AtomicBool>,
}

impl Socket {
    pub fn new(tcp: TcpStream, idle: Duration, heard: Arc<AtomicBool>) -> Socket {
        // A client that stops reading its answer must not hold a thread.
        let _ = tcp.set_write_timeout(Some(idle));
        Socket { tcp, deadline: None, idle, applied: None, heard }
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let wait = match self.deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "the request head took too long"));
                }
                left
            }
            None => self.idle,
        };
        if self.applied != Some(wait) {
            self.tcp.set_read_timeout(Some(wait))?;
            self.applied = Some(wait);
        }
        let n = self.tcp.read(buf)?;
        if n > 0 {
            self.heard.store(true, Ordering::Relaxed);
        }
        Ok(n)
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// What a connection speaks.
#[derive(Debug)]
pub(super) enum Transport {
    Plain(Socket),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, Socket>>),
}

impl Transport {
    pub fn socket(&mut self) -> &mut Socket {
        match self {
            Transport::Plain(s) => s,
            Transport::Tls(t) => &mut t.sock,
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf),
            Transport::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write(buf),
            Transport::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.flush(),
            Transport::Tls(t) => t.flush(),
        }
    }
}

/// Connections not yet past a request with the token ("pending"): at most
/// `per_peer` from one address and `total` in all. A connection over
/// either limit makes room by closing the oldest silent pending one (no
/// byte arrived yet) of its address, or of any address for the total; if
/// none is silent, the newcomer is closed instead. A client holding the
/// token sends its head at once, so it is pending for moments and is never
/// the oldest silent one: a flood of idle connections only displaces
/// itself.
#[derive(Debug)]
pub(super) struct Gate {
    per_peer: usize,
    total: usize,
    state: Mutex<GateState>,
}

#[derive(Debug, Default)]
struct GateState {
    next: u64,
    /// By arrival order: the oldest first.
    pending: BTreeMap<u64, Entry>,
}

#[derive(Debug)]
struct Entry {
    peer: IpAddr,
    tcp: TcpStream,
    heard: Arc<AtomicBool>,
}

impl Entry {
    /// No byte read and none waiting in the kernel.
    fn silent(&self) -> bool {
        if self.heard.load(Ordering::Relaxed) {
            return false;
        }
        let mut byte = 0u8;
        // SAFETY: a one-byte buffer owned here; MSG_PEEK leaves the byte
        // for the connection's thread and MSG_DONTWAIT never blocks.
        let n =
            unsafe { libc::recv(self.tcp.as_raw_fd(), (&raw mut byte).cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT) };
        // Nothing waiting, or the peer already left: either way, no client.
        n <= 0
    }
}

/// A connection's place at the gate; leaves it when dropped.
#[derive(Debug)]
pub(super) struct Pass<'a> {
    gate: &'a Gate,
    id: Option<u64>,
}

impl Gate {
    pub fn new(per_peer: usize, total: usize) -> Gate {
        Gate { per_peer: per_peer.max(1), total: total.max(1), state: Mutex::default() }
    }

    /// Lets a new connection in as pending, making room if needed; `None`
    /// if there is no room (the caller closes it).
    pub fn enter(&self, peer: IpAddr, tcp: &TcpStream, heard: &Arc<AtomicBool>) -> Option<Pass<'_>> {
        let mut st = self.state.lock().expect("gate");
        let from_peer = st.pending.values().filter(|e| e.peer == peer).count();
        if from_peer >= self.per_peer && !st.evict(Some(peer)) {
            return None;
        }
        if st.pending.len() >= self.total && !st.evict(None) {
            return None;
        }
        let Ok(tcp) = tcp.try_clone() else { return None };
        let id = st.next;
        st.next += 1;
        st.pending.insert(id, Entry { peer, tcp, heard: Arc::clone(heard) });
        Some(Pass { gate: self, id: Some(id) })
    }

    /// Connections pending now.
    #[cfg(test)]
    fn pending(&self) -> usize {
        self.state.lock().expect("gate").pending.len()
    }
}

impl GateState {
    /// Closes the oldest silent pending connection (of `peer`, if given).
    fn evict(&mut self, peer: Option<IpAddr>) -> bool {
        let oldest =
            self.pending.iter().find(|(_, e)| peer.is_none_or(|p| p == e.peer) && e.silent()).map(|(id, _)| *id);
        let Some(id) = oldest else { return false };
        let e = self.pending.remove(&id).expect("found above");
        // Its thread's blocked read returns at once and it ends.
        let _ = e.tcp.shutdown(Shutdown::Both);
        true
    }
}

impl Pass<'_> {
    /// The connection made a request with the token: it no longer counts
    /// against the limits.
    pub fn admit(&mut self) {
        if let Some(id) = self.id.take() {
            self.gate.state.lock().expect("gate").pending.remove(&id);
        }
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        self.admit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair(l: &TcpListener) -> (TcpStream, TcpStream) {
        let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        (client, l.accept().unwrap().0)
    }

    #[test]
    fn past_the_limit_the_oldest_silent_connection_of_the_same_peer_is_closed() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let gate = Gate::new(2, 100);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let (mut c1, s1) = pair(&l);
        let (mut c2, s2) = pair(&l);
        let (_c3, s3) = pair(&l);
        let flag = || Arc::new(AtomicBool::new(false));
        let _p1 = gate.enter(ip, &s1, &flag()).unwrap();
        // The second has sent a byte: not silent, so it is kept.
        c2.write_all(b"G").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let _p2 = gate.enter(ip, &s2, &flag()).unwrap();
        let _p3 = gate.enter(ip, &s3, &flag()).unwrap();
        assert_eq!(gate.pending(), 2);
        c1.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        assert_eq!(c1.read(&mut [0u8; 1]).unwrap(), 0, "the first, silent, connection was closed");
        c2.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        assert!(c2.read(&mut [0u8; 1]).is_err(), "the one that spoke is still open");
    }

    #[test]
    fn with_no_silent_connection_to_close_the_newcomer_is_refused_and_admitted_ones_do_not_count() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let gate = Gate::new(1, 100);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let (_c1, s1) = pair(&l);
        let (_c2, s2) = pair(&l);
        let heard = Arc::new(AtomicBool::new(true));
        let mut p1 = gate.enter(ip, &s1, &heard).unwrap();
        assert!(gate.enter(ip, &s2, &Arc::new(AtomicBool::new(false))).is_none());
        p1.admit();
        assert!(gate.enter(ip, &s2, &Arc::new(AtomicBool::new(false))).is_some());
    }

    #[test]
    fn a_deadline_bounds_a_read_however_the_bytes_trickle() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let (mut c, s) = pair(&l);
        let mut sock = Socket::new(s, Duration::from_secs(60), Arc::default());
        sock.deadline = Some(Instant::now() + Duration::from_millis(300));
        let start = Instant::now();
        let writer = std::thread::spawn(move || {
            for _ in 0..20 {
                if c.write_all(b"x").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let mut buf = [0u8; 1];
        let err = loop {
            match sock.read(&mut buf) {
                Ok(n) => assert_eq!(n, 1, "bytes until the deadline"),
                Err(e) => break e,
            }
        };
        assert!(start.elapsed() < Duration::from_secs(1), "cut off at the deadline, not per read");
        assert!(matches!(err.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock), "{err}");
        drop(sock);
        writer.join().unwrap();
    }
}
