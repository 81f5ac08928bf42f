//! A remote cache in an S3 bucket (`s3://BUCKET/PREFIX`), reached with
//! the Lambda engine's client and settings (`GG_S3_ENDPOINT`, the region,
//! the AWS credentials). With no prefix, the keys are the Lambda engine's
//! own: what its functions computed is a hit here.

use std::time::Duration;

use gg_core::config::EngineConfig;
use gg_core::shared::{Backend, Fault};
use gg_wire::aws::{Credentials, ProcessEnv, S3};

#[derive(Debug)]
pub struct Bucket {
    s3: S3,
    /// Empty, or ending in `/`.
    prefix: String,
}

impl Bucket {
    /// `rest`: `BUCKET[/PREFIX]`, what follows `s3://`.
    pub fn new(rest: &str, c: &EngineConfig, timeout: Duration) -> Result<Bucket, String> {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if let Some(why) = gg_wire::aws::s3::bad_bucket_name(bucket) {
            return Err(why);
        }
        let prefix = prefix.trim_matches('/');
        let prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
        let creds = Credentials::find(&ProcessEnv)?;
        let region = crate::engine::lambda_region(c).map_err(|e| format!("{e:#}"))?;
        let s3 = S3::for_cache(c.s3_endpoint.as_deref(), bucket, &region, creds, timeout);
        Ok(Bucket { s3, prefix })
    }
}

fn fault(e: &gg_wire::aws::s3::S3Error) -> Fault {
    if e.is_transient() {
        Fault::Unreachable(e.to_string())
    } else {
        Fault::Refused(e.to_string())
    }
}

impl Backend for Bucket {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Fault> {
        self.s3.get(&format!("{}{key}", self.prefix)).map_err(|e| fault(&e))
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), Fault> {
        self.s3.put(&format!("{}{key}", self.prefix), bytes).map_err(|e| fault(&e))
    }
}
