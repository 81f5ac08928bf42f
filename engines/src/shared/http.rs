//! A remote cache over HTTP: `GET BASE/KEY` (200 with the entry, 404 for
//! none) and `PUT BASE/KEY`. Any server that stores what is PUT and
//! serves it back will do (nginx with WebDAV, bazel-remote, a gg-worker's
//! `/v1/cache/`). Credentials in the URL (`http://user:pass@host/`) go as
//! basic authentication; a worker gets its bearer token.

use std::io::Read;
use std::time::Duration;

use base64::Engine as _;
use gg_core::config::EngineConfig;
use gg_core::shared::{Backend, Fault};

#[derive(Debug)]
pub struct Http {
    agent: ureq::Agent,
    /// No trailing slash.
    base: String,
    /// The `Authorization` header's value, if any.
    auth: Option<String>,
}

impl Http {
    /// A plain HTTP server at `url` (the base under which keys go).
    pub fn plain(url: &str, timeout: Duration) -> Result<Http, String> {
        let (scheme, rest) = url.split_once("://").expect("a scheme");
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (auth, host) = match authority.rsplit_once('@') {
            Some((user, host)) => {
                let basic = base64::engine::general_purpose::STANDARD.encode(user);
                (Some(format!("Basic {basic}")), host)
            }
            None => (None, authority),
        };
        if host.is_empty() {
            return Err(format!("`{url}` names no host"));
        }
        let path = path.trim_end_matches('/');
        let base = if path.is_empty() { format!("{scheme}://{host}") } else { format!("{scheme}://{host}/{path}") };
        let trust = (scheme == "https").then(|| crate::remote::Trust::Roots(ureq::tls::TlsConfig::default()));
        Ok(Http { agent: crate::remote::agent_with(gg_wire::timeouts::cache_agent(timeout), trust), base, auth })
    }

    /// A gg-worker at `host_port`, over TLS with `tls`, trusted and
    /// authenticated as the remote engine's workers are (`[engine]`).
    pub fn worker(tls: bool, host_port: &str, c: &EngineConfig, timeout: Duration) -> Result<Http, String> {
        let host = host_port.trim_end_matches('/');
        if host.is_empty() || host.contains('/') {
            return Err(format!("`{host_port}`: a worker's cache is named gg://HOST:PORT or ggs://HOST:PORT"));
        }
        let trust = crate::remote::trust(c, tls).map_err(|e| format!("{e:#}"))?;
        let token = crate::remote::token(c).map_err(|e| format!("{e:#}"))?;
        let scheme = if tls { "https" } else { "http" };
        Ok(Http {
            agent: crate::remote::agent_with(gg_wire::timeouts::cache_agent(timeout), trust),
            base: format!("{scheme}://{host}/v1/cache"),
            auth: token.map(|t| format!("Bearer {t}")),
        })
    }

    fn url(&self, key: &str) -> String {
        format!("{}/{key}", self.base)
    }
}

/// A status that is not success: 5xx means the server is in trouble
/// (down), anything else refuses this one call.
fn status_fault(what: &str, status: u16) -> Fault {
    let why = format!("{what}: HTTP {status}");
    if status >= 500 {
        Fault::Unreachable(why)
    } else {
        Fault::Refused(why)
    }
}

impl Backend for Http {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Fault> {
        let url = self.url(key);
        let what = || format!("GET {url}");
        let mut req = self.agent.get(&url);
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        let resp = req.call().map_err(|e| Fault::Unreachable(format!("{}: {e}", what())))?;
        match resp.status().as_u16() {
            200 => {
                let mut body = Vec::new();
                resp.into_body()
                    .into_reader()
                    .take(u64::MAX)
                    .read_to_end(&mut body)
                    .map_err(|e| Fault::Unreachable(format!("{}: reading the answer: {e}", what())))?;
                Ok(Some(body))
            }
            404 => Ok(None),
            s => Err(status_fault(&what(), s)),
        }
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), Fault> {
        let url = self.url(key);
        let mut req = self.agent.put(&url);
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        let resp = req.send(bytes).map_err(|e| Fault::Unreachable(format!("PUT {url}: {e}")))?;
        match resp.status().as_u16() {
            200..=299 => Ok(()),
            s => Err(status_fault(&format!("PUT {url}"), s)),
        }
    }
}
