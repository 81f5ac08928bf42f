//! How the unit loop reaches the workers and, when none will run a unit,
//! the local engine. The engine's own transport is HTTP (`attempt.rs`,
//! `blobs.rs`); the loop's tests put a fake one in its place that fails,
//! hangs or answers late on cue.

use std::fmt::Debug;
use std::sync::Arc;

use gg_core::engine::{ExecError, Outcome};
use gg_core::Thunk;

use super::attempt::UnitAnswer;
use super::Inner;

pub(super) trait Transport: Debug + Send + Sync {
    /// Runs independent `units` on worker `w` in one request and calls
    /// `on_unit(k, answer)` exactly once per unit, as soon as unit `k` is
    /// answered. Blocks: the loop calls it on a pool thread of its own.
    fn attempt_each(
        &self,
        inner: &Inner,
        w: usize,
        units: &[&[Arc<Thunk>]],
        on_unit: &mut dyn FnMut(usize, UnitAnswer),
    );

    /// Runs a chain here, one thunk after another, for a unit no worker
    /// would run.
    fn run_local(&self, inner: &Inner, chain: &[Arc<Thunk>]) -> Vec<Result<Outcome, ExecError>>;
}

/// The gg-worker HTTP API (docs/protocol.md).
#[derive(Debug)]
pub(super) struct Http;

impl Transport for Http {
    fn attempt_each(
        &self,
        inner: &Inner,
        w: usize,
        units: &[&[Arc<Thunk>]],
        on_unit: &mut dyn FnMut(usize, UnitAnswer),
    ) {
        inner.attempt_each(&inner.workers[w], units, on_unit);
    }

    fn run_local(&self, inner: &Inner, chain: &[Arc<Thunk>]) -> Vec<Result<Outcome, ExecError>> {
        // Objects left on workers are brought in first.
        inner.local.execute_chain_with(chain, &|objects| inner.fetch(objects))
    }
}
