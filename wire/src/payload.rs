//! The JSON an invocation carries each way (docs/lambda.md, "The payload"),
//! written by the Lambda client (gg-engines) and read by the function
//! (gg-worker), and the S3 keys both use. The answer is the worker's
//! execute response, so both engines read results and failures the same
//! way.

use std::collections::BTreeMap;

use gg_core::Name;
use serde::{Deserialize, Serialize};

pub use crate::protocol::ExecuteResponse as Answer;

/// Lambda refuses a synchronous payload (either way) over 6 MB.
pub const PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// Inline bytes an invocation or answer may carry, in base64, leaving room
/// under [`PAYLOAD_LIMIT`] for the thunks and the rest of the JSON.
pub const INLINE_BUDGET: usize = 4 * 1024 * 1024;

/// One invocation: a thunk or a ready chain, as `POST /v1/execute` takes
/// them, and where its blobs are.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invocation {
    /// The bucket holding `blobs/NAME` and `reductions/THUNK`.
    pub bucket: String,
    /// Canonical thunk encodings; later ones may consume earlier ones'
    /// outputs.
    pub thunks: Vec<String>,
    /// Small inputs sent along (base64), so they need no S3 round trip.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub blobs: BTreeMap<Name, String>,
    /// Outputs up to this size come back inline too (all go to S3).
    pub inline_limit: u64,
}

/// The keys of blobs and reductions in the bucket: the shared cache's
/// (`gg_core::shared`), so a bucket is also a remote cache.
pub use gg_core::shared::{blob_key, reduction_key};
