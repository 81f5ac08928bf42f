//! A small S3 client: get, put and exists on one bucket, signed with SigV4.
//! Custom endpoints (an S3-compatible server, or a local one in tests) are
//! addressed path-style, `ENDPOINT/BUCKET/KEY`; AWS itself
//! virtual-host-style. Transient failures (5xx, `SlowDown`, a dropped
//! connection) are retried with backoff; anything else is an error naming
//! the bucket, the key, S3's code and its message.

use std::io::Read;
use std::time::Duration;

use ureq::http::{Method, Request};

use super::credentials::Credentials;
use super::sign::{sign, Service};

/// One bucket on one endpoint.
#[derive(Debug)]
pub struct S3 {
    agent: ureq::Agent,
    /// `scheme://host[:port]`, no trailing slash.
    endpoint: String,
    bucket: String,
    region: String,
    /// Path-style (`ENDPOINT/BUCKET/KEY`) rather than `BUCKET.HOST/KEY`.
    path_style: bool,
    creds: Credentials,
    /// Calls made before a transient failure is returned.
    attempts: u32,
}

/// A failed S3 call: which (method, bucket, key, endpoint) and why.
#[derive(Debug)]
pub struct S3Error {
    pub call: String,
    pub fail: S3Fail,
}

#[derive(Debug)]
pub enum S3Fail {
    /// S3 answered with an error status, its code and message.
    Status { status: u16, code: String, message: String },
    /// No answer (connection refused, reset, timed out).
    Transport(String),
}

impl std::fmt::Display for S3Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.fail {
            S3Fail::Status { status, code, message } => write!(f, "{}: {status} {code}: {message}", self.call),
            S3Fail::Transport(why) => write!(f, "{}: cannot reach the server: {why}", self.call),
        }
    }
}

impl std::error::Error for S3Error {}

impl S3Error {
    /// Whether trying again may help: the credentials or bucket being wrong
    /// will not change.
    pub fn is_transient(&self) -> bool {
        match &self.fail {
            S3Fail::Status { status, code, .. } => *status >= 500 || *status == 429 || code == "SlowDown",
            S3Fail::Transport(_) => true,
        }
    }

    fn status(&self) -> Option<u16> {
        match &self.fail {
            S3Fail::Status { status, .. } => Some(*status),
            S3Fail::Transport(_) => None,
        }
    }
}

const ATTEMPTS: u32 = 4;

/// Why `bucket` cannot be a bucket's name (S3's rules: 3 to 63
/// characters, lowercase letters, digits, dots and hyphens, starting and
/// ending with a letter or digit), or `None`.
pub fn bad_bucket_name(bucket: &str) -> Option<String> {
    let ok_chars = bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ends = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let ok = (3..=63).contains(&bucket.len()) && ok_chars && ends(bucket.bytes().next()) && ends(bucket.bytes().last());
    (!ok).then(|| {
        format!(
            "`{bucket}` is not a valid S3 bucket name: 3 to 63 lowercase letters, digits, dots and hyphens, \
             starting and ending with a letter or digit"
        )
    })
}

impl S3 {
    /// `endpoint` `None` means AWS's own for `region`.
    pub fn new(endpoint: Option<&str>, bucket: &str, region: &str, creds: Credentials) -> S3 {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(Some(Duration::from_secs(300)))
            .max_idle_connections(512)
            .max_idle_connections_per_host(512)
            .build()
            .new_agent();
        let (endpoint, path_style) = match endpoint {
            Some(e) => (e.trim_end_matches('/').to_string(), true),
            None => (format!("https://s3.{region}.amazonaws.com"), false),
        };
        S3 { agent, endpoint, bucket: bucket.into(), region: region.into(), path_style, creds, attempts: ATTEMPTS }
    }

    /// A client for a cache: one attempt per call, and a connection that
    /// cannot be made or stalls for `timeout` fails (a cache that is slow
    /// to answer is a miss, not a wait).
    pub fn for_cache(endpoint: Option<&str>, bucket: &str, region: &str, creds: Credentials, timeout: Duration) -> S3 {
        let mut s3 = S3::new(endpoint, bucket, region, creds);
        s3.agent = crate::timeouts::cache_agent(timeout).build().new_agent();
        s3.attempts = 1;
        s3
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The object's bytes, `None` if there is no such key.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, S3Error> {
        match self.call(&Method::GET, key, &[]) {
            Ok(body) => Ok(Some(body)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn put(&self, key: &str, bytes: &[u8]) -> Result<(), S3Error> {
        self.call(&Method::PUT, key, bytes).map(|_| ())
    }

    pub fn exists(&self, key: &str) -> Result<bool, S3Error> {
        match self.call(&Method::HEAD, key, &[]) {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(404) => Ok(false),
            // A HEAD answer has no body to say why: a GET of the same key
            // does (`SignatureDoesNotMatch`, say).
            Err(e) if e.status().is_some_and(|s| (400..500).contains(&s)) => self.get(key).map(|b| b.is_some()),
            Err(e) => Err(e),
        }
    }

    fn url(&self, key: &str) -> String {
        if self.path_style {
            format!("{}/{}/{key}", self.endpoint, self.bucket)
        } else {
            let host = self.endpoint.trim_start_matches("https://");
            format!("https://{}.{host}/{key}", self.bucket)
        }
    }

    fn call(&self, method: &Method, key: &str, body: &[u8]) -> Result<Vec<u8>, S3Error> {
        let mut delay = Duration::from_millis(100);
        let mut attempt = 1;
        loop {
            match self.call_once(method, key, body) {
                Err(e) if e.is_transient() && attempt < self.attempts => {
                    std::thread::sleep(delay);
                    delay *= 3;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn call_once(&self, method: &Method, key: &str, body: &[u8]) -> Result<Vec<u8>, S3Error> {
        let call = || format!("S3 {method} `{}/{key}` at {}", self.bucket, self.endpoint);
        let transport = |why: String| S3Error { call: call(), fail: S3Fail::Transport(why) };
        let url = self.url(key);
        let mut req = Request::builder()
            .method(method.clone())
            .uri(&url)
            .body(body.to_vec())
            .map_err(|e| transport(format!("bad request URL `{url}`: {e}")))?;
        // Bodies go unsigned: hashing every upload with SHA-256 would cost
        // more CPU than sending it, and gg checks every blob it reads back
        // against its name anyway. Requests without a body sign the empty
        // payload.
        let signed = if body.is_empty() { Some(body) } else { None };
        sign(&mut req, signed, Service::S3, &self.region, &self.creds).map_err(transport)?;
        let resp = self.agent.run(req).map_err(|e| transport(e.to_string()))?;
        let status = resp.status().as_u16();
        let mut bytes = Vec::new();
        if *method != Method::HEAD {
            resp.into_body()
                .into_reader()
                .take(u64::MAX)
                .read_to_end(&mut bytes)
                .map_err(|e| transport(format!("reading the answer: {e}")))?;
        }
        if (200..300).contains(&status) {
            return Ok(bytes);
        }
        let text = String::from_utf8_lossy(&bytes);
        let code = xml_field(&text, "Code").unwrap_or_else(|| match status {
            404 => "NoSuchKey".into(),
            403 => "AccessDenied".into(),
            _ => "Error".into(),
        });
        let message = xml_field(&text, "Message").unwrap_or_else(|| "(no message)".into());
        Err(S3Error { call: call(), fail: S3Fail::Status { status, code, message } })
    }
}

/// The text of `<tag>…</tag>` in S3's XML error body. Error bodies are
/// flat and their fields plain text, so no XML parser is needed to show
/// them; entities are left as sent.
fn xml_field(xml: &str, tag: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml[start..end].trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials { access_key: "AK".into(), secret_key: "SK".into(), session_token: None }
    }

    #[test]
    fn urls_are_path_style_on_custom_endpoints_only() {
        let local = S3::new(Some("http://127.0.0.1:9000/"), "b", "us-east-1", creds());
        assert_eq!(local.url("blobs/V1"), "http://127.0.0.1:9000/b/blobs/V1");
        let aws = S3::new(None, "b", "eu-west-1", creds());
        assert_eq!(aws.url("blobs/V1"), "https://b.s3.eu-west-1.amazonaws.com/blobs/V1");
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        for good in ["gg-blobs", "my.bucket.1", "abc"] {
            assert_eq!(bad_bucket_name(good), None, "{good}");
        }
        for bad in ["gg", "Upper-case", "-dash-first", "under_score", &"x".repeat(64)] {
            let e = bad_bucket_name(bad).unwrap();
            assert!(e.contains(bad) && e.contains("3 to 63"), "{e}");
        }
    }

    #[test]
    fn error_bodies_give_code_and_message() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>\
                   <Message>The request signature we calculated does not match</Message></Error>";
        assert_eq!(xml_field(xml, "Code").as_deref(), Some("SignatureDoesNotMatch"));
        assert_eq!(xml_field(xml, "Message").as_deref(), Some("The request signature we calculated does not match"));
        assert_eq!(xml_field(xml, "Resource"), None);
    }

    #[test]
    fn an_unreachable_endpoint_is_a_transport_error_naming_it() {
        // Port 1 on loopback refuses at once.
        let s3 = S3::new(Some("http://127.0.0.1:1"), "b", "us-east-1", creds());
        let e = s3.get("blobs/x").unwrap_err();
        assert!(matches!(e.fail, S3Fail::Transport(_)) && e.is_transient(), "{e:?}");
        assert!(e.to_string().contains("http://127.0.0.1:1") && e.to_string().contains("b/blobs/x"), "{e}");
    }
}
