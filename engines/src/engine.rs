//! Which engine a command runs thunks on: `GG_ENGINE` (or the config
//! file's `kind`) chooses `local`, `remote` (gg-workers) or `lambda`.
//! gg force, gg-cc and gg ninja all start here. The configuration is read
//! once, here, and handed to the engine chosen.

use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use gg_core::config::EngineConfig;
use gg_core::engine::local::LocalExecutor;
use gg_core::engine::EngineKind;
use gg_core::engine::Executor;
use gg_core::Store;

use gg_wire::aws::{credentials, Credentials, ProcessEnv, S3};

use crate::lambda::blobs::Bucket;
use crate::lambda::client::LambdaExecutor;
use crate::lambda::invoke::Invoker;
use crate::remote::RemoteExecutor;

/// The engine chosen, ready to run thunks.
#[derive(Debug)]
pub enum Engine {
    Local(LocalExecutor),
    Remote(RemoteExecutor),
    Lambda(Box<LambdaExecutor>),
}

/// Invocations in flight by default: Lambda scales out per request.
const LAMBDA_JOBS: usize = 1000;

impl Engine {
    /// The engine the configuration asks for.
    pub fn from_env(store: &Store) -> Result<Engine> {
        let c = gg_core::config::engine().map_err(anyhow::Error::msg)?;
        match c.kind.unwrap_or_default() {
            EngineKind::Local => Ok(Engine::Local(LocalExecutor::new(store.clone()))),
            EngineKind::Remote => Ok(Engine::Remote(RemoteExecutor::from_config(store, &c)?)),
            EngineKind::Lambda => {
                let (bucket, invoker) = lambda_parts(&c, store)?;
                Ok(Engine::Lambda(Box::new(LambdaExecutor::new(
                    store.clone(),
                    bucket,
                    invoker,
                    c.strict.unwrap_or(false),
                    Duration::from_secs_f64(c.straggler_secs.unwrap_or(gg_core::env::DEFAULT_STRAGGLER_SECS)),
                ))))
            }
        }
    }

    pub fn executor(&self) -> &dyn Executor {
        match self {
            Engine::Local(e) => e,
            Engine::Remote(e) => e,
            Engine::Lambda(e) => e.as_ref(),
        }
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Engine::Local(_))
    }

    /// Thunks in flight when `-j` is not given: `local` for the local
    /// engine, the workers' slots, or a thousand invocations.
    pub fn default_jobs(&self, local: usize) -> usize {
        match self {
            Engine::Local(_) => local,
            Engine::Remote(r) => r.slots().unwrap_or(local),
            Engine::Lambda(_) => LAMBDA_JOBS,
        }
    }

    /// Lines worth telling the user after a run (local fallbacks and the
    /// like); empty when there is nothing unusual.
    pub fn summary(&self) -> Vec<String> {
        let mut lines = Vec::new();
        match self {
            Engine::Local(_) => {}
            Engine::Remote(r) => {
                let duplicated = r.duplicated.load(Ordering::Relaxed);
                if duplicated > 0 {
                    lines.push(format!("{duplicated} slow thunk(s) started again on another worker"));
                }
                let fallbacks = r.fallbacks();
                if fallbacks > 0 {
                    lines.push(format!("{fallbacks} thunk(s) ran locally because no worker answered"));
                }
            }
            Engine::Lambda(l) => {
                let t = &l.timing;
                let invocations = t.invocations.load(Ordering::Relaxed);
                let retried = t.retried.load(Ordering::Relaxed);
                if invocations > 0 {
                    lines.push(format!("{invocations} lambda invocation(s), {retried} of them retries"));
                }
                let duplicated = t.duplicated.load(Ordering::Relaxed);
                if duplicated > 0 {
                    lines.push(format!("{duplicated} slow invocation(s) started again"));
                }
                let hits = l.bucket_hits.load(Ordering::Relaxed);
                if hits > 0 {
                    lines.push(format!("{hits} thunk(s) answered from reductions in the bucket"));
                }
                let fallbacks = l.fallbacks();
                if fallbacks > 0 {
                    lines.push(format!("{fallbacks} thunk(s) ran locally because the lambda engine could not be used"));
                }
            }
        }
        lines
    }
}

/// The region the lambda engine uses: the config's, else AWS's.
pub fn lambda_region(c: &EngineConfig) -> Result<String> {
    match &c.region {
        Some(r) => Ok(r.clone()),
        None => credentials::region(&ProcessEnv).map_err(anyhow::Error::msg),
    }
}

/// The bucket and the function the configuration names, with
/// credentials: what the lambda engine and `gg lambda` commands use.
pub fn lambda_parts(c: &EngineConfig, store: &Store) -> Result<(Bucket, Invoker)> {
    let bucket = c
        .bucket
        .clone()
        .context("the lambda engine needs a bucket for its blobs: GG_S3_BUCKET=NAME or `bucket` in the config file")?;
    if let Some(why) = gg_wire::aws::s3::bad_bucket_name(&bucket) {
        bail!("GG_S3_BUCKET (or `bucket` in the config file): {why}");
    }
    let region = lambda_region(c)?;
    let creds = Credentials::find(&ProcessEnv).map_err(anyhow::Error::msg)?;
    let function = c.function.clone().unwrap_or_else(|| DEFAULT_FUNCTION.into());
    let timeout = Duration::from_secs_f64(c.invoke_timeout_secs.unwrap_or(gg_core::env::DEFAULT_LAMBDA_TIMEOUT_SECS));
    let invoker = Invoker::new(c.lambda_endpoint.as_deref(), &function, &region, creds.clone(), timeout);
    let s3 = S3::new(c.s3_endpoint.as_deref(), &bucket, &region, creds);
    Ok((Bucket::new(s3, store.clone()), invoker))
}

/// The function's name when none is configured.
pub const DEFAULT_FUNCTION: &str = gg_core::env::DEFAULT_LAMBDA_FUNCTION;
