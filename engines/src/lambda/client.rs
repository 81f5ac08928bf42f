//! The Lambda engine (`GG_ENGINE=lambda`): an [`Executor`] that runs each
//! ready thunk or chain as one synchronous invocation of the gg function.
//!
//! Before invoking, it asks the bucket for the chain's reductions (another
//! machine may have run it). Small inputs travel inline; the rest are put
//! in S3 unless known to be there. Small outputs come back inline; the
//! rest stay in S3 until something needs them here. A function error or a
//! lost invocation is retried, then reported with the thunk; when the
//! service itself cannot be used (refused, unavailable, S3 failing) the
//! thunks run locally with a warning, or fail under `GG_REMOTE_STRICT=1`
//! (the policy shared with the remote engine, [`Fallback`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use gg_core::engine::local::LocalExecutor;
use gg_core::engine::{ExecError, Executor, Job, Outcome};
use gg_core::store::Reduction;
use gg_core::{Kind, Name, Store, Thunk};

use gg_wire::payload::{reduction_key, Answer, Invocation, INLINE_BUDGET};

use super::attempts::{self, Ended, Timing, ATTEMPTS};
use super::blobs::Bucket;
use super::invoke::Invoker;
use crate::fallback::Fallback;

/// Inputs and outputs up to this size travel inside the payloads.
pub const INLINE_LIMIT: u64 = 64 * 1024;

/// Runs thunks as Lambda invocations.
#[derive(Debug)]
pub struct LambdaExecutor {
    store: Store,
    bucket: Bucket,
    invoker: Arc<Invoker>,
    local: LocalExecutor,
    /// Runs thunks here, or fails them, when the service cannot be used.
    fallback: Fallback,
    /// Durations, counts of invocations, retries and duplicates, and
    /// whether the function is taken as silent (see `attempts`).
    pub timing: Timing,
    /// Thunks answered from reductions in the bucket.
    pub bucket_hits: AtomicUsize,
}

/// Why a chain was not run remotely.
enum Unusable {
    /// The thunks themselves are at fault, or the function kept failing:
    /// report it.
    Report(String),
    /// The service (or S3) cannot be used: run locally unless strict.
    Service(String),
}

impl LambdaExecutor {
    /// `straggler` is the least time before an invocation with no answer
    /// is duplicated (`GG_STRAGGLER_SECS`).
    pub fn new(store: Store, bucket: Bucket, invoker: Invoker, strict: bool, straggler: Duration) -> LambdaExecutor {
        LambdaExecutor {
            local: LocalExecutor::new(store.clone()),
            store,
            bucket,
            invoker: Arc::new(invoker),
            fallback: Fallback::new(strict, "the lambda engine cannot run thunks", "running them locally"),
            timing: Timing::new(straggler),
            bucket_hits: AtomicUsize::new(0),
        }
    }

    fn run(&self, chain: &[&Thunk]) -> Vec<Result<Outcome, ExecError>> {
        if let Some(outcomes) = self.answer_from_bucket(chain) {
            self.bucket_hits.fetch_add(chain.len(), Ordering::Relaxed);
            gg_core::tally::add(gg_core::tally::Source::RemoteHit, chain.len());
            return outcomes.into_iter().map(Ok).collect();
        }
        if gg_core::interrupt::interrupted() {
            return chain.iter().map(|_| Err(ExecError::engine("interrupted"))).collect();
        }
        if let Some(why) = self.timing.silent() {
            return self.fallback.answer(chain.len(), &why, || self.run_local(chain));
        }
        let why = match self.run_remote(chain) {
            Ok(answers) => {
                gg_core::tally::add(gg_core::tally::Source::RanRemotely, answers.iter().filter(|a| a.is_ok()).count());
                return answers;
            }
            Err(Unusable::Report(why)) => return chain.iter().map(|_| Err(ExecError::engine(why.clone()))).collect(),
            Err(Unusable::Service(why)) => why,
        };
        self.fallback.answer(chain.len(), &why, || self.run_local(chain))
    }

    /// Thunks that ran locally because the service could not be used.
    pub fn fallbacks(&self) -> usize {
        self.fallback.ran_locally()
    }

    /// Every member's reduction from the bucket, or `None`. A member that
    /// consumes an earlier one's outputs is looked up by its resolved name
    /// (those outputs as values) first: the name it has when sent alone,
    /// under which another machine, or the function, recorded it.
    fn answer_from_bucket(&self, chain: &[&Thunk]) -> Option<Vec<Outcome>> {
        let get = |n: &Name| self.bucket.s3.get(&reduction_key(n)).ok().flatten();
        let mut made: HashMap<Name, Vec<(String, Name)>> = HashMap::new();
        let mut outcomes = Vec::new();
        for thunk in chain {
            let resolved = (!thunk.thunks.is_empty()).then(|| thunk.resolved_from(&made));
            let json = resolved.filter(|r| r.thunks.is_empty()).and_then(|r| get(&r.name()));
            let json = json.or_else(|| get(&thunk.name()));
            let red: Reduction = serde_json::from_slice(&json?).ok()?;
            made.insert(thunk.name(), red.outputs.clone());
            let names: Vec<&String> = red.outputs.iter().map(|(n, _)| n).collect();
            if names != thunk.outputs.iter().collect::<Vec<_>>() {
                return None;
            }
            let outputs: Vec<Name> = red.outputs.iter().map(|(_, h)| *h).collect();
            self.bucket.learn(&outputs);
            outcomes.push(Outcome { outputs, executable: red.executable, stdout: red.stdout, stderr: red.stderr });
        }
        // What the thunks printed is replayed from the local store.
        let printed: Vec<Name> =
            outcomes.iter().flat_map(|o| o.stdout.iter().chain(o.stderr.iter()).copied()).collect();
        self.bucket.download(&printed).ok()?;
        Some(outcomes)
    }

    fn run_remote(&self, chain: &[&Thunk]) -> Result<Vec<Result<Outcome, ExecError>>, Unusable> {
        let (invocation, sent_to_s3) = self.invocation(chain).map_err(Unusable::Service)?;
        let payload = Arc::new(serde_json::to_vec(&invocation).expect("serializable"));
        let first = chain.first().map(|t| t.name().to_string()).unwrap_or_default();
        let mut reuploaded = false;
        loop {
            let body = match attempts::invoke(&self.invoker, &payload, &self.timing, &first) {
                Ended::Answer(body) => body,
                Ended::Failed(last) => {
                    return Err(Unusable::Report(format!(
                        "{} failed {ATTEMPTS} times running thunk {first}; last: {last}",
                        self.invoker.describe()
                    )))
                }
                Ended::Service(e) => return Err(Unusable::Service(format!("{}: {e}", self.invoker.describe()))),
                Ended::Silent(why) => return Err(Unusable::Service(format!("{}: {why}", self.invoker.describe()))),
                Ended::Interrupted => return Err(Unusable::Report("interrupted".into())),
            };
            let answer: Answer = serde_json::from_slice(&body)
                .map_err(|e| Unusable::Service(format!("{}: the answer is not gg's: {e}", self.invoker.describe())))?;
            if answer.failures.iter().any(|f| f.kind == "missing") && !reuploaded {
                // The bucket lost blobs it was thought to hold.
                reuploaded = true;
                self.bucket.forget(&sent_to_s3);
                self.bucket.upload(&sent_to_s3).map_err(Unusable::Service)?;
                continue;
            }
            return Ok(self.answers(chain, answer));
        }
    }

    /// The payload for `chain`, with small inputs inline and the others
    /// put in S3 first; also the names sent through S3.
    fn invocation(&self, chain: &[&Thunk]) -> Result<(Invocation, Vec<Name>), String> {
        let mut objects: Vec<Name> = chain.iter().flat_map(|t| t.objects().map(|(o, _)| o.hash)).collect();
        objects.sort_unstable();
        objects.dedup();
        let mut blobs = BTreeMap::new();
        let mut via_s3 = Vec::new();
        let mut budget = INLINE_BUDGET;
        for n in objects {
            let small = n.size() <= INLINE_LIMIT && (n.size() as usize * 4 / 3 + 4) <= budget;
            match small.then(|| self.store.get(&n).ok()).flatten() {
                Some(bytes) => {
                    let text = STANDARD.encode(bytes);
                    budget -= text.len();
                    blobs.insert(n, text);
                }
                None => via_s3.push(n),
            }
        }
        self.bucket.ensure(&via_s3)?;
        let thunks = chain.iter().map(|t| String::from_utf8(t.encode()).expect("thunk encodings are JSON")).collect();
        let inv = Invocation { bucket: self.bucket.s3.bucket().into(), thunks, blobs, inline_limit: INLINE_LIMIT };
        Ok((inv, via_s3))
    }

    /// Each member's outcome from the function's answer, checked against
    /// the thunk sent; inline outputs are stored here, the others stay in
    /// the bucket until fetched.
    fn answers(&self, chain: &[&Thunk], answer: Answer) -> Vec<Result<Outcome, ExecError>> {
        let mut results: HashMap<Name, gg_wire::protocol::Result> =
            answer.results.into_iter().map(|r| (r.thunk, r)).collect();
        let mut failures: HashMap<Name, gg_wire::protocol::Failure> =
            answer.failures.into_iter().map(|f| (f.thunk, f)).collect();
        let mut out = Vec::new();
        for thunk in chain {
            let name = thunk.name();
            if let Some(r) = results.remove(&name) {
                out.push(self.outcome(thunk, r));
            } else if let Some(f) = failures.remove(&name) {
                out.push(Err(f.to_exec_error()));
            } else if out.iter().any(Result::is_err) {
                out.push(Err(ExecError::engine("not run: a thunk before it in its chain failed")));
            } else {
                out.push(Err(ExecError::engine(format!("the function did not answer for thunk {name}"))));
            }
        }
        out
    }

    fn outcome(&self, thunk: &Thunk, r: gg_wire::protocol::Result) -> Result<Outcome, ExecError> {
        let names: Vec<&String> = r.outputs.iter().map(|o| &o.name).collect();
        if names != thunk.outputs.iter().collect::<Vec<_>>() {
            return Err(ExecError::engine(format!(
                "the function answered outputs {names:?} for thunk {}, which declares {:?}",
                thunk.name(),
                thunk.outputs
            )));
        }
        for o in &r.outputs {
            // Outputs not inline stay in the bucket until needed here.
            if let Some(text) = &o.data {
                let bytes =
                    STANDARD.decode(text).map_err(|e| ExecError::engine(format!("output `{}`: {e}", o.name)))?;
                if Name::of_bytes(Kind::Value, &bytes) != o.hash {
                    return Err(ExecError::engine(format!(
                        "output `{}` of thunk {} came back with bytes that do not hash to `{}`",
                        o.name,
                        thunk.name(),
                        o.hash
                    )));
                }
                self.store.put_bytes(Kind::Value, &bytes).map_err(|e| ExecError::engine(e.to_string()))?;
            }
        }
        // The function put every output in the bucket.
        self.bucket.learn(&r.outputs.iter().map(|o| o.hash).collect::<Vec<_>>());
        let printed: Vec<Name> = r.stdout.iter().chain(r.stderr.iter()).copied().collect();
        self.bucket.download(&printed).map_err(ExecError::engine)?;
        Ok(Outcome {
            outputs: r.outputs.iter().map(|o| o.hash).collect(),
            executable: r.executable,
            stdout: r.stdout,
            stderr: r.stderr,
        })
    }

    fn run_local(&self, chain: &[&Thunk]) -> Vec<Result<Outcome, ExecError>> {
        self.local.execute_chain_with(chain, &|objects| self.fetch(objects))
    }
}

impl Executor for LambdaExecutor {
    fn execute(&self, job: &Job<'_>) -> Result<Outcome, ExecError> {
        self.run(&[job.thunk]).pop().expect("one answer per thunk")
    }

    fn runs_chains(&self) -> bool {
        true
    }

    fn execute_chain(&self, jobs: &[Job<'_>]) -> Vec<Result<Outcome, ExecError>> {
        let chain: Vec<&Thunk> = jobs.iter().map(|j| &**j.thunk).collect();
        self.run(&chain)
    }

    fn fetch(&self, names: &[Name]) -> Result<(), ExecError> {
        self.bucket.download(names).map_err(ExecError::engine)
    }

    fn answered_from_cache(&self) -> usize {
        self.bucket_hits.load(Ordering::Relaxed)
    }
}
