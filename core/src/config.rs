//! Configuration: `GG_*` environment variables override a project file
//! (`gg.toml`, found in the working directory or a parent), which
//! overrides the user's file (`$XDG_CONFIG_HOME/gg/config.toml`, else
//! `~/.config/gg/config.toml`). No file is needed: defaults are the local
//! engine and no workers.
//!
//! ```toml
//! [engine]
//! kind = "remote"                     # GG_ENGINE: local or remote
//! workers = ["http://w1:7878"]        # GG_WORKERS (comma-separated)
//! token_file = "/etc/gg/token"        # GG_TOKEN_FILE (GG_TOKEN: the token)
//! strict = true                       # GG_REMOTE_STRICT=1
//! straggler_secs = 10                 # GG_STRAGGLER_SECS
//!
//! # kind = "lambda": the function and its bucket (docs/lambda.md)
//! function = "gg"                     # GG_LAMBDA_FUNCTION
//! bucket = "my-gg-blobs"              # GG_S3_BUCKET
//! region = "eu-west-1"                # GG_LAMBDA_REGION (else AWS_REGION…)
//! lambda_endpoint = "http://…"        # GG_LAMBDA_ENDPOINT (default: AWS)
//! s3_endpoint = "http://…"            # GG_S3_ENDPOINT (default: AWS)
//! invoke_timeout_secs = 960           # GG_LAMBDA_TIMEOUT
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The `[engine]` table; every field optional.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    pub kind: Option<String>,
    pub workers: Option<Vec<String>>,
    pub token_file: Option<PathBuf>,
    pub strict: Option<bool>,
    pub straggler_secs: Option<f64>,
    pub function: Option<String>,
    pub bucket: Option<String>,
    pub region: Option<String>,
    pub lambda_endpoint: Option<String>,
    pub s3_endpoint: Option<String>,
    pub invoke_timeout_secs: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    engine: EngineConfig,
}

/// The effective engine settings: environment over project file over user
/// file. A file that cannot be parsed is an error naming it.
pub fn engine() -> Result<EngineConfig, String> {
    let mut c = EngineConfig::default();
    for file in [user_file(), project_file()].into_iter().flatten() {
        merge(&mut c, read(&file)?);
    }
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let Some(k) = env("GG_ENGINE") {
        c.kind = Some(k);
    }
    if let Some(w) = env("GG_WORKERS") {
        c.workers = Some(w.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect());
    }
    if let Some(f) = env("GG_TOKEN_FILE") {
        c.token_file = Some(f.into());
    }
    if let Some(s) = env("GG_REMOTE_STRICT") {
        c.strict = Some(s == "1");
    }
    if let Some(s) = env("GG_STRAGGLER_SECS") {
        c.straggler_secs = Some(s.parse().map_err(|_| format!("GG_STRAGGLER_SECS=`{s}`: not a number"))?);
    }
    for (var, field) in [
        ("GG_LAMBDA_FUNCTION", &mut c.function),
        ("GG_S3_BUCKET", &mut c.bucket),
        ("GG_LAMBDA_REGION", &mut c.region),
        ("GG_LAMBDA_ENDPOINT", &mut c.lambda_endpoint),
        ("GG_S3_ENDPOINT", &mut c.s3_endpoint),
    ] {
        if let Some(v) = env(var) {
            *field = Some(v);
        }
    }
    if let Some(s) = env("GG_LAMBDA_TIMEOUT") {
        c.invoke_timeout_secs = Some(s.parse().map_err(|_| format!("GG_LAMBDA_TIMEOUT=`{s}`: not a number"))?);
    }
    Ok(c)
}

fn merge(into: &mut EngineConfig, from: EngineConfig) {
    into.kind = from.kind.or(into.kind.take());
    into.workers = from.workers.or(into.workers.take());
    into.token_file = from.token_file.or(into.token_file.take());
    into.strict = from.strict.or(into.strict);
    into.straggler_secs = from.straggler_secs.or(into.straggler_secs);
    into.function = from.function.or(into.function.take());
    into.bucket = from.bucket.or(into.bucket.take());
    into.region = from.region.or(into.region.take());
    into.lambda_endpoint = from.lambda_endpoint.or(into.lambda_endpoint.take());
    into.s3_endpoint = from.s3_endpoint.or(into.s3_endpoint.take());
    into.invoke_timeout_secs = from.invoke_timeout_secs.or(into.invoke_timeout_secs);
}

fn read(path: &Path) -> Result<EngineConfig, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    toml::from_str::<File>(&text).map(|f| f.engine).map_err(|e| format!("`{}`: {e}", path.display()))
}

fn user_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("gg/config.toml")).filter(|p| p.is_file())
}

fn project_file() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors().map(|d| d.join("gg.toml")).find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_read_and_unknown_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gg.toml");
        std::fs::write(&p, "[engine]\nkind = \"remote\"\nworkers = [\"http://a:1\", \"http://b:2\"]\nstrict = true\n")
            .unwrap();
        let c = read(&p).unwrap();
        assert_eq!(c.kind.as_deref(), Some("remote"));
        assert_eq!(c.workers.unwrap().len(), 2);
        assert_eq!(c.strict, Some(true));
        std::fs::write(&p, "[engine]\nworkerz = []\n").unwrap();
        let e = read(&p).unwrap_err();
        assert!(e.contains("gg.toml") && e.contains("workerz"), "{e}");
    }

    #[test]
    fn later_sources_override_earlier_ones_field_by_field() {
        let mut c = EngineConfig { kind: Some("remote".into()), strict: Some(true), ..Default::default() };
        merge(
            &mut c,
            EngineConfig { workers: Some(vec!["http://x:1".into()]), strict: Some(false), ..Default::default() },
        );
        assert_eq!(c.kind.as_deref(), Some("remote"));
        assert_eq!(c.strict, Some(false));
        assert_eq!(c.workers.unwrap(), ["http://x:1"]);
    }

    #[test]
    fn the_lambda_settings_are_read_and_merged() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gg.toml");
        let text = "[engine]\nkind = \"lambda\"\nfunction = \"gg-build\"\nbucket = \"blobs\"\n\
                    s3_endpoint = \"http://127.0.0.1:9000\"\ninvoke_timeout_secs = 30\n";
        std::fs::write(&p, text).unwrap();
        let mut c = read(&p).unwrap();
        assert_eq!((c.function.as_deref(), c.bucket.as_deref()), (Some("gg-build"), Some("blobs")));
        assert_eq!(c.invoke_timeout_secs, Some(30.0));
        merge(
            &mut c,
            EngineConfig { bucket: Some("other".into()), region: Some("eu-west-1".into()), ..Default::default() },
        );
        assert_eq!(c.bucket.as_deref(), Some("other"));
        assert_eq!(c.s3_endpoint.as_deref(), Some("http://127.0.0.1:9000"), "kept from the earlier source");
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
    }
}
