//! The worker's HTTP/1.1 front (docs/protocol.md): connections, keep-alive,
//! authentication, size limits and routing onto [`Service`].
//!
//! One thread per connection, blocking. Request heads are parsed by
//! `httparse`; bodies must carry a Content-Length (every client gg ships
//! sends one). A first version used tiny_http, whose connection pool can
//! leave a new connection unserved for ever when several arrive at once
//! while earlier keep-alive connections sit idle: a remote build with
//! parallel uploads hung on it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use gg_core::Name;
use subtle::ConstantTimeEq;

use crate::protocol::ExecuteRequest;
use crate::service::{Service, ServiceError};

/// The largest request head accepted.
const MAX_HEAD: usize = 64 * 1024;

/// Connections served at once; more are closed straight away.
const MAX_CONNECTIONS: usize = 4096;

/// A connection silent this long (idle, or a request trickling in) is
/// closed, so slow clients cannot hold threads for ever.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

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
    /// Run every thunk in a jail (off only with `--no-jail`).
    pub jail: bool,
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
    connections: std::sync::atomic::AtomicUsize,
}

/// A parsed request head.
struct Head {
    method: String,
    path: String,
    content_length: Option<u64>,
    chunked: bool,
    authorization: Option<String>,
    expect_continue: bool,
    close: bool,
    /// `Accept: application/x-ndjson`: stream an execute answer.
    stream: bool,
}

/// How a request was answered.
enum Reply {
    /// Status, body, close the connection after.
    Body(u16, Vec<u8>, bool),
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
        let store = gg_core::Store::open(&opts.store_dir)
            .with_context(|| format!("cannot open the store at `{}`", opts.store_dir.display()))?;
        let listener = TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
        let jobs = opts.jobs.max(1);
        let mut service = Service::new(store, jobs, jobs * 4);
        service.set_jail(opts.jail).map_err(|e| {
            anyhow::anyhow!("{e}; install bubblewrap, or give --no-jail to run thunks unjailed (see docs/protocol.md)")
        })?;
        let shared = Shared {
            service,
            token: opts.token.clone(),
            max_body: opts.max_body,
            connections: std::sync::atomic::AtomicUsize::new(0),
        };
        Ok(Worker { listener, shared: Arc::new(shared) })
    }

    /// The address actually bound (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound socket has an address")
    }

    /// Serves until the process ends: a thread per connection.
    pub fn run(self) {
        use std::sync::atomic::Ordering;
        for stream in self.listener.incoming() {
            let Ok(stream) = stream else { continue };
            if self.shared.connections.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                self.shared.connections.fetch_sub(1, Ordering::SeqCst);
                continue; // dropped: the client sees the connection close
            }
            let shared = Arc::clone(&self.shared);
            let spawned = std::thread::Builder::new().stack_size(256 * 1024).spawn(move || {
                shared.connection(stream);
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
    fn connection(&self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
        let Ok(write_half) = stream.try_clone() else { return };
        let mut reader = BufReader::new(stream);
        let mut writer = write_half;
        loop {
            let head = match read_head(&mut reader) {
                Ok(Some(h)) => h,
                Ok(None) => return,
                Err(msg) => {
                    let _ = respond(&mut writer, 400, msg.as_bytes(), true);
                    return;
                }
            };
            match self.request(&head, &mut reader, &mut writer) {
                Reply::Body(code, body, close) => {
                    if respond(&mut writer, code, &body, close).is_err() || close {
                        return;
                    }
                }
                Reply::Streamed(ok) => {
                    if !ok || head.close {
                        return;
                    }
                }
            }
        }
    }

    /// Handles one request.
    fn request(&self, head: &Head, reader: &mut impl Read, writer: &mut impl Write) -> Reply {
        if !self.authorized(head) {
            return Reply::Body(401, b"missing or wrong bearer token\n".to_vec(), true);
        }
        if head.chunked {
            return Reply::Body(411, b"chunked bodies are not supported: send a Content-Length\n".to_vec(), true);
        }
        let length = head.content_length.unwrap_or(0);
        if length > self.max_body {
            return Reply::Body(
                413,
                format!("request body over the {} byte limit\n", self.max_body).into_bytes(),
                true,
            );
        }
        if head.expect_continue && writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
            return Reply::Body(400, Vec::new(), true);
        }
        // Grow as bytes arrive: a large Content-Length alone reserves nothing.
        let mut body = Vec::with_capacity(length.min(1 << 20) as usize);
        if let Err(e) = reader.take(length).read_to_end(&mut body) {
            return Reply::Body(400, format!("cannot read the request body: {e}\n").into_bytes(), true);
        }
        if (body.len() as u64) < length {
            return Reply::Body(400, b"the request body ended early\n".to_vec(), true);
        }
        if head.stream && head.method == "POST" && head.path == "/v1/execute" {
            return match self.execute_streamed(&body, writer) {
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

    /// An execute request answered line by line (docs/protocol.md): one
    /// JSON [`Answer`](crate::protocol::Answer) per thunk as it settles,
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
            (method, path) if path.starts_with("/v1/blobs/") => match path["/v1/blobs/".len()..].parse::<Name>() {
                Err(e) => Err(ServiceError::BadRequest(e.to_string())),
                Ok(name) if method == "PUT" => s.put_blob(&name, body).map(|()| Vec::new()),
                Ok(name) if method == "GET" => s.get_blob(&name),
                Ok(_) => Err(ServiceError::BadRequest(format!("{method} is not allowed on blobs"))),
            },
            _ => return Err(Routed::NoRoute),
        };
        r.map_err(Routed::Failed)
    }
}

fn error_code(e: &ServiceError) -> u16 {
    match e {
        ServiceError::BadRequest(_) => 400,
        ServiceError::Mismatch(_) => 422,
        ServiceError::NotFound(_) => 404,
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

/// Reads one request head; `Ok(None)` at a clean end of the connection.
fn read_head(reader: &mut impl BufRead) -> Result<Option<Head>, String> {
    let mut raw = Vec::new();
    loop {
        // Bounded even within one line: a head without newlines cannot grow.
        let room = (MAX_HEAD + 1).saturating_sub(raw.len()) as u64;
        let n = (&mut *reader)
            .take(room)
            .read_until(b'\n', &mut raw)
            .map_err(|e| format!("cannot read the request: {e}"))?;
        if raw.len() > MAX_HEAD {
            return Err("request head too large".into());
        }
        if n == 0 {
            return if raw.is_empty() { Ok(None) } else { Err("the connection closed inside a request head".into()) };
        }
        if raw == b"\r\n" || raw == b"\n" {
            raw.clear(); // a stray empty line between requests
            continue;
        }
        if raw.ends_with(b"\r\n\r\n") || raw.ends_with(b"\n\n") || raw.ends_with(b"\n\r\n") {
            break;
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(&raw) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err("incomplete request head".into()),
        Err(e) => return Err(format!("malformed request head: {e}")),
    }
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .map(str::trim)
    };
    // One Content-Length, digits only (RFC 9112): anything else could be
    // read differently by a proxy in front.
    let lengths: Vec<&str> = req
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("content-length"))
        .filter_map(|h| std::str::from_utf8(h.value).ok())
        .map(str::trim)
        .collect();
    let content_length = match lengths.as_slice() {
        [] => None,
        [v] if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
            Some(v.parse::<u64>().map_err(|_| format!("bad Content-Length `{v}`"))?)
        }
        _ => return Err(format!("bad or repeated Content-Length: {lengths:?}")),
    };
    Ok(Some(Head {
        method: req.method.unwrap_or("").to_string(),
        path: req.path.unwrap_or("").to_string(),
        content_length,
        // Any transfer coding is refused (411): bodies come with a length.
        chunked: header("transfer-encoding").is_some(),
        authorization: header("authorization").map(str::to_string),
        expect_continue: header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")),
        close: header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close")) || req.version == Some(0),
        stream: header("accept").is_some_and(|v| v.contains("application/x-ndjson")),
    }))
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
