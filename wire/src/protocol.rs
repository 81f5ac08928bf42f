//! The JSON bodies of the worker API (documented in docs/protocol.md):
//! what the remote engine (gg-engines) sends and `gg-worker serve`
//! answers; the Lambda payload's answer is the same execute response.

use gg_core::Name;
use serde::{Deserialize, Serialize};

/// `POST /v1/execute`: thunks in their canonical JSON encoding, in an order
/// where each thunk's thunk inputs come earlier in the list or are already
/// reduced on the worker.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecuteRequest {
    pub thunks: Vec<String>,
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
