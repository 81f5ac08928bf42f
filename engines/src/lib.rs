//! gg-engines: the engines gg's commands (gg-cc, gg ninja, gg force) run
//! thunks on, and the choice between them (`engine.rs`): the local engine
//! (gg-core's sandbox), the remote engine driving a pool of gg-workers
//! (`remote/`), and the Lambda engine invoking gg's function (`lambda/`);
//! and the network back ends of the shared cache (`shared/`).
//! The two remote engines share one fallback policy (`fallback.rs`). What
//! they say to the worker and the function is in gg-wire; the executors
//! themselves are in gg-worker, which this crate does not depend on.

pub mod engine;
pub mod fallback;
pub mod lambda;
pub mod remote;
pub mod shared;
pub mod straggler;

pub use engine::Engine;
