//! The worker's HTTP/1.1 front (docs/protocol.md): authentication, size
//! limits and routing onto [`Service`]. Requests are served by a pool of
//! threads; how many thunks run at once is the service's business.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use gg_core::Name;
use subtle::ConstantTimeEq;
use tiny_http::{Header, Method, Request, Response, Server};

use crate::protocol::ExecuteRequest;
use crate::service::{Service, ServiceError};

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
}

/// A bound server, ready to run.
pub struct Worker {
    server: Arc<Server>,
    service: Arc<Service>,
    token: Option<String>,
    max_body: u64,
    threads: usize,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("addr", &self.addr()).field("threads", &self.threads).finish()
    }
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
        let server = Server::http(addr).map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
        let jobs = opts.jobs.max(1);
        Ok(Worker {
            server: Arc::new(server),
            service: Arc::new(Service::new(store, jobs, jobs * 4)),
            token: opts.token.clone(),
            max_body: opts.max_body,
            threads: jobs * 2 + 4,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.server.server_addr().to_ip().expect("bound to an IP address")
    }

    /// Serves until the process ends.
    pub fn run(self) {
        let this = Arc::new(self);
        let handles: Vec<_> = (0..this.threads)
            .map(|_| {
                let w = Arc::clone(&this);
                std::thread::spawn(move || {
                    while let Ok(req) = w.server.recv() {
                        w.handle(req);
                    }
                })
            })
            .collect();
        for h in handles {
            let _ = h.join();
        }
    }

    fn authorized(&self, req: &Request) -> bool {
        let Some(token) = &self.token else { return true };
        let given = req
            .headers()
            .iter()
            .find(|h| h.field.equiv("Authorization"))
            .and_then(|h| h.value.as_str().strip_prefix("Bearer "))
            .unwrap_or("");
        // Constant time: a mismatch takes as long wherever it is.
        given.len() == token.len() && bool::from(given.as_bytes().ct_eq(token.as_bytes()))
    }

    fn handle(&self, mut req: Request) {
        if !self.authorized(&req) {
            return reply(req, 401, "missing or wrong bearer token");
        }
        if req.body_length().is_some_and(|n| n as u64 > self.max_body) {
            return reply(req, 413, &format!("request body over the {} byte limit", self.max_body));
        }
        let mut body = Vec::new();
        if let Err(e) = req.as_reader().take(self.max_body + 1).read_to_end(&mut body) {
            return reply(req, 400, &format!("cannot read the request body: {e}"));
        }
        if body.len() as u64 > self.max_body {
            return reply(req, 413, &format!("request body over the {} byte limit", self.max_body));
        }
        let url = req.url().to_string();
        let method = req.method().clone();
        let result = match (&method, url.as_str()) {
            (Method::Get, "/v1/status") => json(&self.service.status()),
            (Method::Post, "/v1/missing") => match serde_json::from_slice::<Vec<Name>>(&body) {
                Ok(names) => json(&self.service.missing(&names)),
                Err(e) => Err(ServiceError::BadRequest(format!("expected a JSON list of names: {e}"))),
            },
            (Method::Post, "/v1/execute") => match serde_json::from_slice::<ExecuteRequest>(&body) {
                Ok(r) => self.service.execute(&r).and_then(|resp| json(&resp)),
                Err(e) => Err(ServiceError::BadRequest(format!("bad execute request: {e}"))),
            },
            (method, path) if path.starts_with("/v1/blobs/") => match path["/v1/blobs/".len()..].parse::<Name>() {
                Err(e) => Err(ServiceError::BadRequest(e.to_string())),
                Ok(name) if *method == Method::Put => self.service.put_blob(&name, &body).map(|()| Vec::new()),
                Ok(name) if *method == Method::Get => self.service.get_blob(&name),
                Ok(_) => Err(ServiceError::BadRequest(format!("{method} is not allowed on blobs"))),
            },
            (method, path) => return reply(req, 404, &format!("no route for {method} {path}")),
        };
        match result {
            Ok(bytes) => {
                let _ = req.respond(Response::from_data(bytes));
            }
            Err(e) => {
                let code = match e {
                    ServiceError::BadRequest(_) => 400,
                    ServiceError::Mismatch(_) => 422,
                    ServiceError::NotFound(_) => 404,
                    ServiceError::Busy { .. } => 503,
                    ServiceError::Internal(_) => 500,
                };
                reply(req, code, &e.to_string());
            }
        }
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ServiceError> {
    serde_json::to_vec(value).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// An error reply: a plain-text body saying what is wrong.
fn reply(req: Request, code: u16, message: &str) {
    let mut resp = Response::from_string(format!("{message}\n")).with_status_code(code);
    if code == 503 {
        resp = resp.with_header(Header::from_bytes(&b"Retry-After"[..], &b"1"[..]).expect("valid header"));
    }
    let _ = req.respond(resp);
}
