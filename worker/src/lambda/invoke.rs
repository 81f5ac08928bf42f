//! The Invoke API, synchronously (`RequestResponse`), signed with SigV4.
//! Throttling (429) and Lambda's own 5xx are retried with backoff for as
//! long as `patience` allows; a function error is told apart from a
//! service error both the way AWS says it (`X-Amz-Function-Error` on a
//! 200) and the way emulators do (a 500 whose body is the function's
//! `errorType`/`errorMessage`).

use std::io::Read;
use std::time::{Duration, Instant};

use serde::Deserialize;
use ureq::http::Request;

use crate::aws::sign::{sign, Service};
use crate::aws::Credentials;

/// One function on one endpoint.
#[derive(Debug)]
pub struct Invoker {
    agent: ureq::Agent,
    url: String,
    endpoint: String,
    function: String,
    region: String,
    creds: Credentials,
    /// How long to keep retrying a throttled or unavailable service.
    pub patience: Duration,
}

/// How an invocation ended, when not with the function's answer.
#[derive(Debug)]
pub enum InvokeError {
    /// The function ran and failed (its error, or it crashed or timed out).
    Function { kind: String, message: String },
    /// No answer in time, or the connection broke: the function may have
    /// died with its environment.
    Lost(String),
    /// The request is wrong and retrying will not help: credentials,
    /// permissions, no such function, payload too large.
    Refused { status: u16, message: String },
    /// Throttled or unavailable for longer than `patience`.
    Unavailable(String),
}

impl std::fmt::Display for InvokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InvokeError::Function { kind, message } => write!(f, "the function failed: {kind}: {message}"),
            InvokeError::Lost(why) => write!(f, "no answer from the function: {why}"),
            InvokeError::Refused { status, message } => {
                write!(f, "the Invoke API refused the call ({status}): {message}")
            }
            InvokeError::Unavailable(why) => write!(f, "the Invoke API stayed unavailable: {why}"),
        }
    }
}

/// The error body of the Invoke API (`message` or `Message`) or of a
/// function (`errorType`, `errorMessage`).
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    #[serde(rename = "errorMessage")]
    error_message: Option<String>,
    #[serde(alias = "Message")]
    message: Option<String>,
    #[serde(rename = "Type")]
    kind: Option<String>,
    #[serde(rename = "retryAfterSeconds")]
    retry_after: Option<String>,
}

impl Invoker {
    /// `endpoint` `None` means AWS's own for `region`; `timeout` bounds
    /// one invocation (the function's own timeout plus a margin).
    pub fn new(endpoint: Option<&str>, function: &str, region: &str, creds: Credentials, timeout: Duration) -> Invoker {
        let endpoint = match endpoint {
            Some(e) => e.trim_end_matches('/').to_string(),
            None => format!("https://lambda.{region}.amazonaws.com"),
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(Some(timeout))
            .max_idle_connections(1024)
            .max_idle_connections_per_host(1024)
            .build()
            .new_agent();
        let url = format!("{endpoint}/2015-03-31/functions/{function}/invocations");
        Invoker {
            agent,
            url,
            endpoint,
            function: function.into(),
            region: region.into(),
            creds,
            patience: Duration::from_secs(600),
        }
    }

    pub fn describe(&self) -> String {
        format!("function `{}` at {}", self.function, self.endpoint)
    }

    /// The function's answer to `payload`.
    pub fn invoke(&self, payload: &[u8]) -> Result<Vec<u8>, InvokeError> {
        let start = Instant::now();
        let mut delay = Duration::from_millis(200);
        loop {
            match self.invoke_once(payload) {
                Err(InvokeError::Unavailable(why)) => {
                    if start.elapsed() + delay > self.patience {
                        return Err(InvokeError::Unavailable(why));
                    }
                    // Jitter keeps a thousand throttled callers from
                    // coming back in step.
                    let jitter =
                        Duration::from_millis(u64::from(std::process::id() ^ start.elapsed().subsec_nanos()) % 100);
                    std::thread::sleep(delay + jitter);
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
                other => return other,
            }
        }
    }

    fn invoke_once(&self, payload: &[u8]) -> Result<Vec<u8>, InvokeError> {
        let mut req = Request::post(&self.url)
            .header("Content-Type", "application/json")
            .header("X-Amz-Invocation-Type", "RequestResponse")
            .body(payload.to_vec())
            .map_err(|e| InvokeError::Refused { status: 0, message: format!("bad URL `{}`: {e}", self.url) })?;
        sign(&mut req, payload, Service::Lambda, &self.region, &self.creds)
            .map_err(|message| InvokeError::Refused { status: 0, message })?;
        let resp = self.agent.run(req).map_err(|e| InvokeError::Lost(format!("{}: {e}", self.url)))?;
        let status = resp.status().as_u16();
        let function_error =
            resp.headers().get("X-Amz-Function-Error").and_then(|v| v.to_str().ok()).map(str::to_string);
        let mut body = Vec::new();
        resp.into_body()
            .into_with_config()
            .limit(2 * super::payload::PAYLOAD_LIMIT as u64)
            .reader()
            .read_to_end(&mut body)
            .map_err(|e| InvokeError::Lost(format!("reading the answer: {e}")))?;
        let error = || serde_json::from_slice::<ErrorBody>(&body).unwrap_or_default();
        let text = || String::from_utf8_lossy(&body).chars().take(500).collect::<String>();
        if let Some(kind) = function_error {
            let e = error();
            return Err(InvokeError::Function {
                kind: e.error_type.unwrap_or(kind),
                message: e.error_message.unwrap_or_else(text),
            });
        }
        match status {
            200 => Ok(body),
            429 => {
                let e = error();
                let after = e.retry_after.map(|s| format!(" (retry after {s} s)")).unwrap_or_default();
                Err(InvokeError::Unavailable(format!("throttled{after}: {}", e.message.unwrap_or_else(text))))
            }
            _ => {
                let e = error();
                if let (Some(kind), Some(message)) = (e.error_type, e.error_message.clone()) {
                    return Err(InvokeError::Function { kind, message });
                }
                let message = e.message.or(e.error_message).unwrap_or_else(text);
                let message = match e.kind {
                    Some(k) => format!("{k}: {message}"),
                    None => message,
                };
                if status >= 500 {
                    Err(InvokeError::Unavailable(format!("status {status}: {message}")))
                } else {
                    Err(InvokeError::Refused { status, message })
                }
            }
        }
    }
}
