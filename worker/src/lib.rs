//! gg-worker: the executor side of gg's remote engines. One service
//! (blobs, execution, status; `service.rs`) knows nothing of how requests
//! arrive, and two fronts answer with it: the HTTP server `gg-worker serve`
//! for the remote engine's pools (`http/`), and the Lambda function
//! `gg-worker lambda` for the Lambda engine (`lambda/`). The clients that
//! drive them live in gg-engines; what both sides say to each other (wire
//! types, the Lambda payload, S3) in gg-wire, which this crate imports.

pub mod http;
pub mod lambda;
pub mod service;

pub use http::{ServeOptions, Worker};
pub use service::{Service, ServiceError};
