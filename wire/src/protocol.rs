//! The JSON bodies of the worker API (documented in docs/protocol.md):
//! what the remote engine (gg-engines) sends and `gg-worker serve`
//! answers; the Lambda payload's answer is the same execute response.

use gg_core::Name;
use serde::{Deserialize, Serialize};

/// `POST /v1/execute`: thunks in their canonical JSON encoding, in an order
/// where each thunk's thunk inputs come earlier in the list or are already
/// reduced on the worker.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecuteRequest {
    pub thunks: Vec<Encoded>,
}

impl ExecuteRequest {
    /// The request body for these canonical encodings, each embedded as
    /// the JSON object it is (see [`Encoded`]); written by hand, as no
    /// serialiser copies bytes through unexamined.
    pub fn body<'a>(encodings: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
        let mut body = b"{\"thunks\":[".to_vec();
        for (i, e) in encodings.into_iter().enumerate() {
            debug_assert!(e.first() == Some(&b'{'), "a canonical encoding is a JSON object");
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(e);
        }
        body.extend_from_slice(b"]}");
        body
    }
}

/// A thunk's encoding as it travels in an execute request: either a JSON
/// string holding it, or the encoding itself embedded as the JSON object
/// it is (what gg's clients send: escaping a compile's thunk of hundreds
/// of inputs, and unescaping it on the worker, cost as much as making
/// it). Either way the thunk is named by the exact bytes of its encoding,
/// so an object must be embedded byte for byte, without added spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded(pub Vec<u8>);

impl Encoded {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<String> for Encoded {
    fn from(text: String) -> Encoded {
        Encoded(text.into_bytes())
    }
}

impl<'de> Deserialize<'de> for Encoded {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Encoded, D::Error> {
        let raw = <Box<serde_json::value::RawValue>>::deserialize(d)?;
        let text = raw.get();
        if text.starts_with('"') {
            let s: String = serde_json::from_str(text).map_err(serde::de::Error::custom)?;
            Ok(Encoded(s.into_bytes()))
        } else if text.starts_with('{') {
            Ok(Encoded(text.as_bytes().to_vec()))
        } else {
            Err(serde::de::Error::custom("a thunk is its encoding: a JSON object or a string holding one"))
        }
    }
}

/// One output of a thunk that ran (or was already reduced).
#[derive(Debug, Serialize, Deserialize)]
pub struct Output {
    pub name: String,
    pub hash: Name,
    pub size: u64,
    /// The bytes, base64, when the output is small.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Result {
    pub thunk: Name,
    pub outputs: Vec<Output>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<Name>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub executable: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Failure {
    pub thunk: Name,
    /// `exit`, `timeout`, `output` or `engine` (missing objects included).
    pub kind: String,
    pub message: String,
    /// The function's stderr, base64.
    pub stderr: String,
}

impl Failure {
    /// The failure as the engines report it, its stderr decoded; an
    /// unknown kind counts as the engine's.
    pub fn to_exec_error(&self) -> gg_core::engine::ExecError {
        use base64::Engine as _;
        use gg_core::engine::FailKind;
        let kind = match self.kind.as_str() {
            "exit" => FailKind::Exit,
            "timeout" => FailKind::Timeout,
            "output" => FailKind::Output,
            "missing" => FailKind::Missing,
            _ => FailKind::Engine,
        };
        let stderr = base64::engine::general_purpose::STANDARD.decode(&self.stderr).unwrap_or_default();
        gg_core::engine::ExecError { kind, message: self.message.clone(), stderr }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ExecuteResponse {
    pub results: Vec<Result>,
    pub failures: Vec<Failure>,
}

/// One line of a streamed `POST /v1/execute` answer (`Accept:
/// application/x-ndjson`): the answer for `thunks[i]`, sent as soon as
/// that thunk has one. Exactly one of the three is set.
#[derive(Debug, Serialize, Deserialize)]
pub struct Answer {
    pub i: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Result>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Not run: a thunk it consumes failed (the message says which).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// `GET /v1/status`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Status {
    pub version: String,
    pub ir: u32,
    pub slots: usize,
    pub running: usize,
    pub queued: usize,
    /// The blob store's size as of its last scan plus what was stored
    /// since (rescanned in the background at most every 10 s).
    pub store_bytes: u64,
    /// Execute requests answered since the worker started.
    #[serde(default)]
    pub executed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thunk_sent_as_an_object_or_as_a_string_is_the_same_bytes_and_nothing_else_is_a_thunk() {
        let thunk = br#"{"_gg":1,"cwd":"","function":{"args":["cc","a \"q\" \\ b"]}}"#;
        let body = ExecuteRequest::body([&thunk[..], &thunk[..]]);
        let raw: ExecuteRequest = serde_json::from_slice(&body).unwrap();
        assert_eq!(raw.thunks, [Encoded(thunk.to_vec()), Encoded(thunk.to_vec())]);
        let quoted = serde_json::json!({ "thunks": [String::from_utf8(thunk.to_vec()).unwrap()] }).to_string();
        let quoted: ExecuteRequest = serde_json::from_str(&quoted).unwrap();
        assert_eq!(quoted.thunks[0].as_bytes(), thunk, "a string holds the same encoding");
        for bad in [r#"{"thunks":[1]}"#, r#"{"thunks":[["a"]]}"#, r#"{"thunks":[{"a":1}],"x":2}"#] {
            assert!(serde_json::from_str::<ExecuteRequest>(bad).is_err(), "{bad}");
        }
    }
}
