//! The worker's HTTP/1.1 front (docs/protocol.md): connections, TLS,
//! keep-alive, authentication, limits and routing onto [`Service`].
//!
//! One thread per connection, blocking; a TLS handshake runs on the
//! connection's thread, under the same deadline as the request head.
//! Request heads are parsed by `httparse`; bodies must carry a
//! Content-Length (every client gg ships sends one). A first version used
//! tiny_http, whose connection pool can leave a new connection unserved
//! for ever when several arrive at once while earlier keep-alive
//! connections sit idle: a remote build with parallel uploads hung on it.

mod conn;
mod head;
pub mod tls;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use gg_core::Name;
use gg_wire::protocol::ExecuteRequest;
use subtle::ConstantTimeEq;

use crate::service::{BlobFile, Service, ServiceError};
use conn::{Gate, Socket, Transport};
use head::{read_head, Head};

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: String,
    /// Required bearer token, if any.
    pub token: Option<String>,
    /// Allow a non-loopback address without a token.
    pub insecure_no_auth: bool,
    pub store_dir: PathBuf,
    pub jobs: usize,
    /// Largest request body accepted (413 above it).
    pub max_body: u64,
    /// The limit for thunks that set none; `None`: no limit.
    pub thunk_timeout: Option<Duration>,
    /// Serve TLS with this certificate chain and key (PEM files).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Run every thunk in a jail (off only with `--no-jail`).
    pub jail: bool,
    /// Keep the store within this many bytes (0: no limit).
    pub max_size: u64,
}

/// How long connections may take and how many may wait.
#[derive(Debug, Clone)]
struct Limits {
    /// Connections served at once; more are closed straight away.
    connections: usize,
    /// From accepting a connection (TLS handshake included), or from the
    /// first byte of a later request, to its complete head. A whole-head
    /// deadline, not one per read: a head trickling in a byte at a time
    /// is cut off as surely as a silent one.
    head: Duration,
    /// An authenticated connection may sit idle between requests, or a
    /// body pause, this long.
    idle: Duration,
    /// Connections that have not made a request with the token yet, from
    /// one address and in all (see [`Gate`]).
    pending_per_peer: usize,
    pending: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            connections: 4096,
            head: Duration::from_secs(10),
            idle: Duration::from_secs(120),
            pending_per_peer: 256,
            pending: 1024,
        }
    }
}

/// A bound server, ready to run.
#[derive(Debug)]
pub struct Worker {
    listener: TcpListener,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    service: Service,
    token: Option<String>,
    max_body: u64,
    tls: Option<Arc<rustls::ServerConfig>>,
    /// The TLS certificate's fingerprint, for clients to pin.
    fingerprint: Option<String>,
    limits: Limits,
    gate: Gate,
    connections: AtomicUsize,
}

/// How a request was answered.
enum Reply {
    /// Status, body, close the connection after.
    Body(u16, Vec<u8>, bool),
    /// A blob's file, sent from disk.
    File(BlobFile, bool),
    /// Streamed already; `false` if writing it failed.
    Streamed(bool),
}

impl Worker {
    /// Binds the address, refusing to expose an unauthenticated worker
    /// beyond loopback.
    pub fn bind(opts: &ServeOptions) -> Result<Worker> {
        let addr: SocketAddr =
            opts.listen.parse().with_context(|| format!("--listen `{}`: not an address:port", opts.listen))?;
        if !addr.ip().is_loopback() && opts.token.is_none() && !opts.insecure_no_auth {
            bail!(
                "refusing to listen on {addr} without a token: anyone who can reach it could run programs here; \
                 give --token-file, or --insecure-no-auth to accept that"
            );
        }
        let (tls, fingerprint) = match &opts.tls {
            Some((cert, key)) => {
                let (config, fingerprint) = tls::server_config(cert, key)?;
                (Some(config), Some(fingerprint))
            }
            None => (None, None),
        };
        let store = gg_core::Store::open(&opts.store_dir)
            .with_context(|| format!("cannot open the store at `{}`", opts.store_dir.display()))?;
        let listener = TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
        let jobs = opts.jobs.max(1);
        let mut service = Service::new(store, jobs, jobs * 4);
        service.set_default_timeout(opts.thunk_timeout);
        service.set_max_size(opts.max_size);
        let limits = Limits::default();
        service.set_jail(opts.jail).map_err(|e| {
            anyhow::anyhow!("{e}; install gg-jail beside gg-worker and allow user namespaces, or give --no-jail to run thunks unjailed (see docs/protocol.md)")
        })?;
        let shared = Shared {
            service,
            token: opts.token.clone(),
            max_body: opts.max_body,
            tls,
            fingerprint,
            gate: Gate::new(limits.pending_per_peer, limits.pending),
            limits,
            connections: AtomicUsize::new(0),
        };
        Ok(Worker { listener, shared: Arc::new(shared) })
    }

    /// The address actually bound (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound socket has an address")
    }

    /// Whether connections speak TLS.
    pub fn is_tls(&self) -> bool {
        self.shared.tls.is_some()
    }

    /// With TLS, the certificate's SHA-256 fingerprint (`AB:CD:…`).
    pub fn fingerprint(&self) -> Option<&str> {
        self.shared.fingerprint.as_deref()
    }

    /// Serves until the process ends: a thread per connection.
    pub fn run(self) {
        for stream in self.listener.incoming() {
            let stream = match stream {
                Ok(s) => s,
                // Out of descriptors: the backlog waits rather than the
                // loop spinning on the same error.
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            };
            if self.shared.connections.fetch_add(1, Ordering::SeqCst) >= self.shared.limits.connections {
                self.shared.connections.fetch_sub(1, Ordering::SeqCst);
                continue; // dropped: the client sees the connection close
            }
            let accepted = Instant::now();
            let shared = Arc::clone(&self.shared);
            let spawned = std::thread::Builder::new().stack_size(256 * 1024).spawn(move || {
                shared.connection(stream, accepted);
                shared.connections.fetch_sub(1, Ordering::SeqCst);
            });
            if spawned.is_err() {
                // Out of threads: the connection was dropped with the closure.
                self.shared.connections.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

impl Shared {
    fn connection(&self, stream: TcpStream, accepted: Instant) {
        let Ok(peer) = stream.peer_addr() else { return };
        let heard = Arc::new(AtomicBool::new(false));
        let Some(mut pass) = self.gate.enter(peer.ip(), &stream, &heard) else { return };
        let _ = stream.set_nodelay(true);
        let mut socket = Socket::new(stream, self.limits.idle, heard);
        socket.deadline = Some(accepted + self.limits.head);
        let transport = match &self.tls {
            None => Transport::Plain(socket),
            Some(config) => match rustls::ServerConnection::new(Arc::clone(config)) {
                Ok(c) => Transport::Tls(Box::new(rustls::StreamOwned::new(c, socket))),
                Err(_) => return,
            },
        };
        let mut conn = BufReader::new(transport);
        loop {
            let head = match read_head(&mut conn) {
                Ok(Some(h)) => h,
                Ok(None) => return,
                Err((code, msg)) => {
                    let _ = respond(conn.get_mut(), code, format!("{msg}\n").as_bytes(), true);
                    return;
                }
            };
            if !self.authorized(&head) {
                let _ = respond(conn.get_mut(), 401, b"missing or wrong bearer token\n", true);
                return;
            }
            pass.admit();
            // Bodies and the wait for the next request are bounded per
            // read only: the client has shown the token.
            conn.get_mut().socket().deadline = None;
            let reply = self.request(&head, &mut conn);
            let close = match reply {
                Reply::Body(code, body, close) => respond(conn.get_mut(), code, &body, close).is_err() || close,
                Reply::File(blob, close) => send_file(conn.get_mut(), blob).is_err() || close,
                Reply::Streamed(ok) => !ok || head.close,
            };
            if close {
                return;
            }
            // The next head: any wait for its first byte, then the
            // deadline for the rest.
            match conn.fill_buf() {
                Ok([]) | Err(_) => return,
                Ok(_) => conn.get_mut().socket().deadline = Some(Instant::now() + self.limits.head),
            }
        }
    }

    /// Handles one authorised request.
    fn request(&self, head: &Head, conn: &mut BufReader<Transport>) -> Reply {
        let length = head.content_length.unwrap_or(0);
        if length > self.max_body {
            return Reply::Body(
                413,
                format!("request body over the {} byte limit\n", self.max_body).into_bytes(),
                true,
            );
        }
        let go_on = |w: &mut Transport| w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").and_then(|()| w.flush());
        if head.expect_continue && go_on(conn.get_mut()).is_err() {
            return Reply::Body(400, Vec::new(), true);
        }
        // A worker's shared cache keeps its blobs with the others.
        let blob = head.path.strip_prefix("/v1/blobs/").or_else(|| head.path.strip_prefix("/v1/cache/blobs/"));
        if let Some(name) = blob {
            return self.blob(head, name, conn, length);
        }
        // Grow as bytes arrive: a large Content-Length alone reserves nothing.
        let mut body = Vec::with_capacity(length.min(1 << 20) as usize);
        if let Err(e) = conn.take(length).read_to_end(&mut body) {
            return Reply::Body(400, format!("cannot read the request body: {e}\n").into_bytes(), true);
        }
        if (body.len() as u64) < length {
            return Reply::Body(400, b"the request body ended early\n".to_vec(), true);
        }
        if head.stream && head.method == "POST" && head.path == "/v1/execute" {
            return match self.execute_streamed(&body, conn.get_mut()) {
                Ok(reply) => reply,
                Err(e) => Reply::Body(error_code(&e), format!("{e}\n").into_bytes(), head.close),
            };
        }
        match self.route(&head.method, &head.path, &body) {
            Ok(bytes) => Reply::Body(200, bytes, head.close),
            Err(Routed::NoRoute) => {
                Reply::Body(404, format!("no route for {} {}\n", head.method, head.path).into_bytes(), head.close)
            }
            Err(Routed::Failed(e)) => Reply::Body(error_code(&e), format!("{e}\n").into_bytes(), head.close),
        }
    }

    /// A blob request: bodies go to and from files, never whole in memory.
    fn blob(&self, head: &Head, name: &str, conn: &mut BufReader<Transport>, length: u64) -> Reply {
        let failed = |e: ServiceError, close: bool| Reply::Body(error_code(&e), format!("{e}\n").into_bytes(), close);
        // An unread body would be taken for the next request: close then.
        let unread = length > 0;
        let name = match name.parse::<Name>() {
            Ok(n) => n,
            Err(e) => return failed(ServiceError::BadRequest(e.to_string()), head.close || unread),
        };
        match head.method.as_str() {
            "GET" if !unread => match self.service.open_blob(&name) {
                Ok(blob) => Reply::File(blob, head.close),
                Err(e) => failed(e, head.close),
            },
            "PUT" => match self.service.put_blob_from(&name, conn, length) {
                Ok(()) => Reply::Body(200, Vec::new(), head.close),
                // A refused body may be partly unread: close.
                Err(e) => failed(e, true),
            },
            "GET" => failed(ServiceError::BadRequest("a GET of a blob carries no body".into()), true),
            m => failed(ServiceError::BadRequest(format!("{m} is not allowed on blobs")), head.close || unread),
        }
    }

    /// An execute request answered line by line (docs/protocol.md): one
    /// JSON [`Answer`](gg_wire::protocol::Answer) per thunk as it settles,
    /// in a chunked body, so the client can start consumers of a quick
    /// thunk while its siblings still run. Errors before the first line
    /// (a bad request, busy) are ordinary answers.
    fn execute_streamed(&self, body: &[u8], writer: &mut impl Write) -> Result<Reply, ServiceError> {
        let req = serde_json::from_slice::<ExecuteRequest>(body)
            .map_err(|e| ServiceError::BadRequest(format!("bad execute request: {e}")))?;
        let admitted = self.service.admit(&req)?;
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n";
        // The head goes with the first line and the end with the last, so
        // a one-thunk request is one write, one packet, as before.
        let mut out = head.as_bytes().to_vec();
        let mut left = req.thunks.len();
        let mut ok = true;
        // The thunks run to the end even if the client went away: their
        // reductions are cached for the next request.
        admitted.run_each(&mut |answer| {
            let line = serde_json::to_vec(&answer).expect("answers serialise");
            let _ = write!(out, "{:x}\r\n", line.len() + 1);
            out.extend_from_slice(&line);
            out.extend_from_slice(b"\n\r\n");
            left = left.saturating_sub(1);
            if left == 0 {
                out.extend_from_slice(b"0\r\n\r\n");
            }
            ok = ok && writer.write_all(&out).is_ok();
            out.clear();
        });
        if left > 0 {
            out.extend_from_slice(b"0\r\n\r\n");
            ok = ok && writer.write_all(&out).is_ok();
        }
        ok = ok && writer.flush().is_ok();
        Ok(Reply::Streamed(ok))
    }

    fn authorized(&self, head: &Head) -> bool {
        let Some(token) = &self.token else { return true };
        let given = head.authorization.as_deref().and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("");
        // Constant time: a mismatch takes as long wherever it is.
        given.len() == token.len() && bool::from(given.as_bytes().ct_eq(token.as_bytes()))
    }

    fn route(&self, method: &str, path: &str, body: &[u8]) -> Result<Vec<u8>, Routed> {
        let s = &self.service;
        let r = match (method, path) {
            ("GET", "/v1/status") => json(&s.status()),
            ("POST", "/v1/missing") => match serde_json::from_slice::<Vec<Name>>(body) {
                Ok(names) => json(&s.missing(&names)),
                Err(e) => Err(ServiceError::BadRequest(format!("expected a JSON list of names: {e}"))),
            },
            ("POST", "/v1/execute") => match serde_json::from_slice::<ExecuteRequest>(body) {
                Ok(r) => s.execute(&r).and_then(|resp| json(&resp)),
                Err(e) => Err(ServiceError::BadRequest(format!("bad execute request: {e}"))),
            },
            (m, p) if p.starts_with("/v1/cache/") => return self.cache(m, &p["/v1/cache/".len()..], body),
            _ => return Err(Routed::NoRoute),
        };
        r.map_err(Routed::Failed)
    }
}

impl Shared {
    /// `/v1/cache/reductions/THUNK` and `/v1/cache/manifests/KEY`.
    fn cache(&self, method: &str, rest: &str, body: &[u8]) -> Result<Vec<u8>, Routed> {
        let s = &self.service;
        let r = match (method, rest.split_once('/')) {
            ("GET", Some(("reductions", t))) => s.cached_reduction(t),
            ("PUT", Some(("reductions", t))) => s.put_cached_reduction(t, body).map(|()| Vec::new()),
            ("GET", Some(("manifests", k))) => s.cached_manifest(k),
            ("PUT", Some(("manifests", k))) => s.put_cached_manifest(k, body).map(|()| Vec::new()),
            _ => return Err(Routed::NoRoute),
        };
        r.map_err(Routed::Failed)
    }
}

fn error_code(e: &ServiceError) -> u16 {
    match e {
        ServiceError::BadRequest(_) => 400,
        ServiceError::Mismatch(_) => 422,
        ServiceError::NotFound(_) | ServiceError::Absent(_) => 404,
        ServiceError::Busy { .. } => 503,
        ServiceError::Internal(_) => 500,
    }
}

enum Routed {
    NoRoute,
    Failed(ServiceError),
}

fn json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ServiceError> {
    serde_json::to_vec(value).map_err(|e| ServiceError::Internal(e.to_string()))
}

fn respond(w: &mut impl Write, code: u16, body: &[u8], close: bool) -> std::io::Result<()> {
    let reason = match code {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        411 => "Length Required",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    };
    let mut head = format!("HTTP/1.1 {code} {reason}\r\nContent-Length: {}\r\n", body.len());
    if code == 503 {
        head.push_str("Retry-After: 1\r\n");
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    // One write for a small answer: one packet, one syscall.
    if body.len() <= 64 * 1024 {
        let mut all = head.into_bytes();
        all.extend_from_slice(body);
        w.write_all(&all)?;
    } else {
        w.write_all(head.as_bytes())?;
        w.write_all(body)?;
    }
    w.flush()
}

/// A 200 answer whose body is a blob's file, copied through a small buffer.
fn send_file(w: &mut impl Write, mut blob: BlobFile) -> std::io::Result<()> {
    write!(w, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", blob.size)?;
    let sent = std::io::copy(&mut (&mut blob.file).take(blob.size), w)?;
    if sent < blob.size {
        // Shorter than verified a moment ago: end the connection rather
        // than let the client wait for bytes that will not come.
        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the blob's file shrank"));
    }
    w.flush()
}
