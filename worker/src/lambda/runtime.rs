//! The Lambda Runtime API loop of a custom runtime: ask for the next
//! invocation, run the handler, post its response or its error, forever.
//! `AWS_LAMBDA_RUNTIME_API` is `host:port` on AWS; some emulators give a
//! full URL with a path prefix, and both are accepted.

use std::io::Read;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

const VERSION: &str = "2018-06-01";

/// Why an invocation failed, as the error endpoint takes it.
#[derive(Debug, Serialize)]
pub struct FunctionError {
    #[serde(rename = "errorType")]
    pub kind: String,
    #[serde(rename = "errorMessage")]
    pub message: String,
    #[serde(rename = "stackTrace")]
    pub stack: Vec<String>,
}

impl FunctionError {
    pub fn new(kind: &str, message: impl Into<String>) -> FunctionError {
        FunctionError { kind: kind.into(), message: message.into(), stack: Vec::new() }
    }
}

/// The Runtime API's base URL (`…/2018-06-01`) from
/// `AWS_LAMBDA_RUNTIME_API`.
pub fn base_url(api: &str) -> String {
    let api = api.trim_end_matches('/');
    if api.starts_with("http://") || api.starts_with("https://") {
        format!("{api}/{VERSION}")
    } else {
        format!("http://{api}/{VERSION}")
    }
}

/// One invocation handed out by `next`.
#[derive(Debug)]
pub struct Request {
    pub id: String,
    pub payload: Vec<u8>,
    /// When the invocation will be cut off, if the Runtime API said.
    pub deadline: Option<Instant>,
}

/// `Lambda-Runtime-Deadline-Ms` as an instant: milliseconds since the
/// epoch on AWS; emulators send small numbers, taken as milliseconds from
/// now.
pub fn deadline_from(ms: u64) -> Instant {
    let now = Instant::now();
    let epoch_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    if ms >= 1_000_000_000_000 {
        now + Duration::from_millis(ms.saturating_sub(epoch_ms))
    } else {
        now + Duration::from_millis(ms)
    }
}

/// A client of one Runtime API.
#[derive(Debug)]
pub struct Runtime {
    base: String,
    agent: ureq::Agent,
}

impl Runtime {
    pub fn new(api: &str) -> Runtime {
        // `next` blocks until an invocation comes, however long that is.
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(5)))
            .build()
            .new_agent();
        Runtime { base: base_url(api), agent }
    }

    /// Waits for the next invocation.
    pub fn next(&self) -> Result<Request, String> {
        let url = format!("{}/runtime/invocation/next", self.base);
        let resp = self.agent.get(&url).call().map_err(|e| format!("GET {url}: {e}"))?;
        let status = resp.status().as_u16();
        let id = resp.headers().get("Lambda-Runtime-Aws-Request-Id").and_then(|v| v.to_str().ok()).map(str::to_string);
        let deadline = resp
            .headers()
            .get("Lambda-Runtime-Deadline-Ms")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map(deadline_from);
        let mut payload = Vec::new();
        resp.into_body()
            .into_with_config()
            .limit(2 * gg_wire::payload::PAYLOAD_LIMIT as u64)
            .reader()
            .read_to_end(&mut payload)
            .map_err(|e| format!("GET {url}: reading the payload: {e}"))?;
        if status != 200 {
            return Err(format!("GET {url}: status {status}: {}", String::from_utf8_lossy(&payload)));
        }
        let id = id.ok_or_else(|| format!("GET {url}: no Lambda-Runtime-Aws-Request-Id header"))?;
        Ok(Request { id, payload, deadline })
    }

    /// Posts a successful invocation's response.
    pub fn respond(&self, id: &str, body: &[u8]) -> Result<(), String> {
        self.post(&format!("{}/runtime/invocation/{id}/response", self.base), None, body)
    }

    /// Posts an invocation's failure.
    pub fn fail(&self, id: &str, error: &FunctionError) -> Result<(), String> {
        let body = serde_json::to_vec(error).expect("serializable");
        self.post(&format!("{}/runtime/invocation/{id}/error", self.base), Some(&error.kind), &body)
    }

    /// Reports that the function could not start (bad configuration).
    pub fn init_failed(&self, error: &FunctionError) -> Result<(), String> {
        let body = serde_json::to_vec(error).expect("serializable");
        self.post(&format!("{}/runtime/init/error", self.base), Some(&error.kind), &body)
    }

    fn post(&self, url: &str, error_type: Option<&str>, body: &[u8]) -> Result<(), String> {
        let mut req = self.agent.post(url).header("Content-Type", "application/json");
        if let Some(kind) = error_type {
            req = req.header("Lambda-Runtime-Function-Error-Type", kind);
        }
        let resp = req.send(body).map_err(|e| format!("POST {url}: {e}"))?;
        match resp.status().as_u16() {
            200..=299 => Ok(()),
            s => Err(format!("POST {url}: status {s}")),
        }
    }
}

/// Serves invocations until the Runtime API goes away. A handler that
/// panics is reported as that invocation's error; the loop goes on.
pub fn serve(
    runtime: &Runtime,
    handler: &(dyn Fn(&Request) -> Result<Vec<u8>, FunctionError> + std::panic::RefUnwindSafe),
) -> Result<(), String> {
    loop {
        let req = runtime.next()?;
        let outcome = std::panic::catch_unwind(|| handler(&req)).unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(FunctionError::new("Runtime.Panic", format!("gg-worker panicked: {what}")))
        });
        let posted = match outcome {
            Ok(body) => runtime.respond(&req.id, &body),
            Err(e) => runtime.fail(&req.id, &e),
        };
        if let Err(e) = posted {
            // The invocation may have timed out meanwhile; the next one
            // is still worth serving.
            eprintln!("gg-worker: cannot answer invocation {}: {e}", req.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_of_the_api_address_are_accepted() {
        assert_eq!(base_url("127.0.0.1:9001"), "http://127.0.0.1:9001/2018-06-01");
        assert_eq!(base_url("http://127.0.0.1:9001/.rt"), "http://127.0.0.1:9001/.rt/2018-06-01");
        assert_eq!(base_url("http://127.0.0.1:9001/.rt/gg/"), "http://127.0.0.1:9001/.rt/gg/2018-06-01");
    }

    #[test]
    fn deadlines_are_read_as_epoch_milliseconds_or_as_a_duration() {
        let epoch_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let left = deadline_from(epoch_ms + 30_000).saturating_duration_since(Instant::now());
        assert!(left > Duration::from_secs(29) && left <= Duration::from_secs(30), "{left:?}");
        let left = deadline_from(600_000).saturating_duration_since(Instant::now());
        assert!(left > Duration::from_secs(599) && left <= Duration::from_secs(600), "{left:?}");
        assert!(deadline_from(epoch_ms - 5_000) <= Instant::now(), "a past deadline is now");
    }
}
