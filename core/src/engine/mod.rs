//! Engines run ready thunks. An executor takes one thunk whose inputs are
//! all values and hands back its outputs; it knows nothing of the graph
//! (the scheduler does), so the same scheduler drives every engine.

pub mod kind;
pub mod local;

pub use kind::EngineKind;

use std::fmt;
use std::sync::Arc;

use crate::name::Name;
use crate::thunk::Thunk;

/// A thunk ready to run: `thunk` has no thunk inputs left (the scheduler
/// replaced each by the value it reduced to), except, in a chain, outputs
/// of thunks earlier in the same chain; `name` is the name the caller
/// asked for, which is what failures report.
#[derive(Debug)]
pub struct Job<'a> {
    pub name: Name,
    /// Shared, so that an engine keeping it (to send it, to re-run it)
    /// need not copy it.
    pub thunk: &'a Arc<Thunk>,
    /// The name `thunk` itself, exactly, is stored under, when the caller
    /// knows (the scheduler, for a thunk it loaded and sends unchanged):
    /// an engine that sends thunks may read their encoding back rather
    /// than encode them again. `None`: nothing is known.
    pub stored: Option<Name>,
}

/// What a successful run produced: output names in declared order, and the
/// function's stdout and stderr (stored as blobs when not empty), which are
/// kept with the reduction so a cache hit can replay them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub outputs: Vec<Name>,
    /// Names of the outputs that were executable files.
    pub executable: Vec<String>,
    pub stdout: Option<Name>,
    pub stderr: Option<Name>,
}

/// Why a run failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailKind {
    /// The function exited non-zero or was killed by a signal.
    Exit,
    /// The function ran past its timeout; its process group was killed.
    Timeout,
    /// The function succeeded but a declared output is missing or not a file.
    Output,
    /// The engine could not set up or collect the run (store, disk, spawn).
    Engine,
    /// An object of the thunk is not in the engine's store (a remote
    /// client uploads it and tries again).
    Missing,
}

/// A failed run, with what the function printed on stderr.
#[derive(Clone, Debug)]
pub struct ExecError {
    pub kind: FailKind,
    pub message: String,
    pub stderr: Vec<u8>,
}

impl ExecError {
    pub fn engine(message: impl Into<String>) -> ExecError {
        ExecError { kind: FailKind::Engine, message: message.into(), stderr: Vec::new() }
    }
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExecError {}

/// Runs ready thunks; called from many scheduler threads at once.
pub trait Executor: Sync {
    fn execute(&self, job: &Job<'_>) -> Result<Outcome, ExecError>;

    /// Whether [`Executor::execute_chain`] is worth calling: an engine
    /// with a round trip per request saves one per link of a chain.
    fn runs_chains(&self) -> bool {
        false
    }

    /// Runs a ready chain: each job after the first may take outputs of
    /// the jobs before it as thunk inputs (`T…#out` naming the earlier
    /// job's thunk as sent). Answers every job in order; once one fails,
    /// the jobs after it may be answered with any error (they are skipped).
    fn execute_chain(&self, jobs: &[Job<'_>]) -> Vec<Result<Outcome, ExecError>> {
        jobs.iter().map(|_| Err(ExecError::engine("this engine does not run chains"))).collect()
    }

    /// Whether [`Executor::execute_batch`] should get every job the
    /// scheduler can start at once: an engine with a cost per request
    /// sends a burst of independent thunks in a few requests.
    fn runs_batches(&self) -> bool {
        false
    }

    /// Runs independent units, each a job or a chain (as for
    /// [`Executor::execute_chain`]), and calls `done(i, answers)` once per
    /// unit `i` as soon as that unit is answered, from any thread, so a
    /// consumer of a quick unit need not wait for a slow sibling. Units
    /// not answered when it returns count as failed.
    fn execute_batch(&self, units: &[&[Job<'_>]], done: &(dyn Fn(usize, Vec<Result<Outcome, ExecError>>) + Sync)) {
        for (i, unit) in units.iter().enumerate() {
            done(
                i,
                match unit {
                    [one] => vec![self.execute(one)],
                    many => self.execute_chain(many),
                },
            );
        }
    }

    /// Makes sure every named blob is in the local store. An engine may
    /// leave outputs where they were made until they are needed (the
    /// remote engine keeps intermediates on its workers); the local engine
    /// has them already.
    fn fetch(&self, names: &[Name]) -> Result<(), ExecError> {
        let _ = names;
        Ok(())
    }

    /// Thunks this engine answered from results stored where it runs them
    /// (the Lambda engine's bucket) rather than by running them: a caller
    /// that tells hits from misses compares it before and after.
    fn answered_from_cache(&self) -> usize {
        0
    }
}
