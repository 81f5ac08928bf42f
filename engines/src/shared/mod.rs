//! The network back ends of the shared cache tier (`gg_core::shared`):
//! plain HTTP (`http://`, `https://`: GET and PUT of keys below a base
//! URL, as ccache's HTTP storage and bazel-remote speak, WebDAV servers
//! included), a gg-worker (`gg://`, `ggs://`: the same calls under its
//! `/v1/cache/`, with the workers' token and certificate settings) and S3
//! (`s3://BUCKET/PREFIX`, the Lambda engine's client and settings). The
//! binaries [`register`] them at start.

mod http;
mod s3;

use std::time::Duration;

use gg_core::config::CacheConfig;
use gg_core::shared::{Backend, DEFAULT_TIMEOUT_SECS};

/// Lets this process's stores use the back ends here.
pub fn register() {
    gg_core::shared::register(backend);
}

fn backend(url: &str, c: &CacheConfig) -> Result<Option<Box<dyn Backend>>, String> {
    let timeout = Duration::from_secs_f64(c.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS));
    let engine = || gg_core::config::engine();
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    Ok(Some(match scheme {
        "http" | "https" => Box::new(http::Http::plain(url, timeout)?),
        "gg" | "ggs" => Box::new(http::Http::worker(scheme == "ggs", rest, &engine()?, timeout)?),
        "s3" => Box::new(s3::Bucket::new(rest, &engine()?, timeout)?),
        _ => return Ok(None),
    }))
}
