//! The Lambda engine's client side (`GG_ENGINE=lambda`): the executor that
//! runs each ready thunk or chain as one invocation (`client.rs`), with
//! stragglers duplicated and a silent function given up on (`attempts.rs`), the
//! Invoke API caller (`invoke.rs`), and the bucket of blobs it shares with
//! the function (`blobs.rs`). The function itself is gg-worker's
//! `lambda/`. See docs/lambda.md.

pub mod attempts;
pub mod blobs;
pub mod client;
pub mod invoke;
