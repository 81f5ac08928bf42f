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

use gg_wire::aws::sign::{sign, Service};
use gg_wire::aws::Credentials;

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
        sign(&mut req, Some(payload), Service::Lambda, &self.region, &self.creds)
            .map_err(|message| InvokeError::Refused { status: 0, message })?;
        let resp = self.agent.run(req).map_err(|e| InvokeError::Lost(format!("{}: {e}", self.url)))?;
        let status = resp.status().as_u16();
        let function_error =
            resp.headers().get("X-Amz-Function-Error").and_then(|v| v.to_str().ok()).map(str::to_string);
        let mut body = Vec::new();
        resp.into_body()
            .into_with_config()
            .limit(2 * gg_wire::payload::PAYLOAD_LIMIT as u64)
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

#[cfg(test)]
mod tests {
    //! The emulator neither throttles nor answers errors the way AWS does,
    //! so these answer the Invoke API's documented responses from a
    //! loopback socket.
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    /// Serves `answers` (status line, extra headers, body) in order, one
    /// per connection; returns the endpoint.
    fn serve(answers: Vec<(&'static str, &'static str, &'static str)>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for (status, headers, body) in answers {
                let (mut stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut len = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body_in = vec![0; len];
                std::io::Read::read_exact(&mut reader, &mut body_in).unwrap();
                let reply = format!(
                    "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(reply.as_bytes()).unwrap();
            }
        });
        url
    }

    fn invoker(url: &str) -> Invoker {
        let creds = Credentials { access_key: "AK".into(), secret_key: "SK".into(), session_token: None };
        Invoker::new(Some(url), "gg", "us-east-1", creds, Duration::from_secs(5))
    }

    #[test]
    fn throttling_is_retried_with_backoff() {
        let url = serve(vec![
            ("429 Too Many Requests", "", r#"{"Type":"User","message":"Rate Exceeded.","retryAfterSeconds":"1"}"#),
            ("429 Too Many Requests", "", r#"{"message":"Rate Exceeded."}"#),
            ("200 OK", "", r#"{"results":[],"failures":[]}"#),
        ]);
        let start = Instant::now();
        let body = invoker(&url).invoke(b"{}").unwrap();
        assert_eq!(body, br#"{"results":[],"failures":[]}"#);
        assert!(start.elapsed() >= Duration::from_millis(600), "it backed off: {:?}", start.elapsed());
    }

    #[test]
    fn throttling_past_patience_is_an_error_saying_so() {
        let url = serve(vec![("429 Too Many Requests", "", r#"{"message":"Rate Exceeded."}"#); 3]);
        let mut inv = invoker(&url);
        inv.patience = Duration::from_millis(500);
        let e = inv.invoke(b"{}").unwrap_err();
        assert!(matches!(e, InvokeError::Unavailable(_)) && e.to_string().contains("Rate Exceeded"), "{e}");
    }

    #[test]
    fn function_errors_are_read_the_aws_way_and_the_emulator_way() {
        let aws = r#"{"errorMessage":"S3 GET failed","errorType":"gg.S3","stackTrace":[]}"#;
        let url =
            serve(vec![("200 OK", "X-Amz-Function-Error: Unhandled\r\n", aws), ("500 Internal Server Error", "", aws)]);
        let inv = invoker(&url);
        for _ in 0..2 {
            match inv.invoke(b"{}") {
                Err(InvokeError::Function { kind, message }) => {
                    assert_eq!((kind.as_str(), message.as_str()), ("gg.S3", "S3 GET failed"));
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_refusal_is_not_retried() {
        let url = serve(vec![(
            "403 Forbidden",
            "",
            r#"{"Type":"User","message":"The security token included in the request is invalid."}"#,
        )]);
        match invoker(&url).invoke(b"{}") {
            Err(InvokeError::Refused { status: 403, message }) => {
                assert!(message.contains("security token"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}
