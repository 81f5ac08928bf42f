//! gg-worker: a thin executor that runs thunks for remote clients. The
//! service (blobs, execution, status) knows nothing of HTTP, so the same
//! core can later answer Lambda invocations.

pub mod aws;
pub mod client;
pub mod engine;
pub mod http;
pub mod lambda;
pub mod protocol;
pub mod service;
pub mod spool;

pub use http::{ServeOptions, Worker};
pub use service::{Service, ServiceError};
