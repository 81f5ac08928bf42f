//! Every `GG_*` environment variable gg reads, in one place: [`VARS`]
//! names each with the config key it overrides, its default and what it
//! does (the README's table of variables is checked against it by a
//! test), and one typed getter per variable reads it. Nothing else in gg
//! reads a `GG_*` variable; the Lambda function reads its own ones here
//! too, through [`function_vars`], from the environment it is handed
//! (the process's, or a test's).
//!
//! One rule for every variable: unset and empty are the same (a build
//! system that passes `GG_ENGINE=` through means "not set"). Switches are
//! on for `1` only, so a value like `0` or `no` never turns one on.
//! Variables of the engine settings are the top layer of
//! [`crate::config`].

use std::ffi::OsString;
use std::path::PathBuf;
use std::str::FromStr;

use crate::engine::kind::EngineKind;
use crate::jail;

/// One variable: its name, the config key it overrides (`""` for none),
/// its default and what it does, as the README's table shows them.
#[derive(Debug, PartialEq, Eq)]
pub struct Var {
    pub name: &'static str,
    pub key: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
}

/// Defines each variable as a constant and [`VARS`], the table of them
/// all, from one list, so a variable cannot be missing from the table.
macro_rules! vars {
    ($($id:ident: $name:literal, $key:literal, $default:literal, $meaning:literal;)*) => {
        $(pub const $id: Var = Var { name: $name, key: $key, default: $default, meaning: $meaning };)*
        /// Every `GG_*` variable, in the README's order.
        pub const VARS: &[Var] = &[$($id),*];
    };
}

vars! {
    DIR: "GG_DIR", "[store] dir",
        "a `.gg` folder above the working directory, else `[store] dir`, else `$XDG_CACHE_HOME/gg` or `~/.cache/gg`",
        "the store's folder";
    MAX_SIZE: "GG_MAX_SIZE", "[store] max_size", "`5G`",
        "the most the store may hold (`K`, `M`, `G`, `T`: powers of 1024; `0`: no limit); least recently used files go first";
    REMOTE_CACHE: "GG_REMOTE_CACHE", "[cache] remote", "none",
        "a cache shared between machines: `s3://BUCKET/PREFIX`, `http(s)://HOST/PATH`, `gg(s)://WORKER:PORT`, `file:///FOLDER`";
    REMOTE_CACHE_READ_ONLY: "GG_REMOTE_CACHE_READ_ONLY", "[cache] read_only", "off",
        "`1`: read from the remote cache, never write to it (untrusted builds)";
    REMOTE_CACHE_TIMEOUT: "GG_REMOTE_CACHE_TIMEOUT", "[cache] timeout_secs", "0.5",
        "seconds a remote cache request may take; past it, or on a refused connection, the remote is left alone for a minute";
    BASEDIR: "GG_BASEDIR", "[cache] base_dir", "none",
        "paths under this folder are shared relative to it, so checkouts elsewhere hit (where the object cannot depend on the path)";
    SYSTEM_CONFIG: "GG_SYSTEM_CONFIG", "", "`/etc/gg/config.toml`", "the system's config file";
    ENGINE: "GG_ENGINE", "kind", "`local`", "the engine: `local`, `remote` or `lambda`";
    WORKERS: "GG_WORKERS", "workers", "none", "the remote engine's workers, comma-separated URLs";
    TOKEN: "GG_TOKEN", "", "none", "the bearer token the workers ask for";
    TOKEN_FILE: "GG_TOKEN_FILE", "token_file", "none", "a file holding the token (`GG_TOKEN` wins)";
    WORKER_CA: "GG_WORKER_CA", "ca_file", "the system's CAs only",
        "a CA certificate (PEM) trusted for `https://` workers";
    WORKER_FINGERPRINT: "GG_WORKER_FINGERPRINT", "fingerprint", "none",
        "the workers' certificates' SHA-256 fingerprints, pinned instead of any CA";
    REMOTE_STRICT: "GG_REMOTE_STRICT", "strict", "off",
        "`1`: a thunk no worker or function can run fails instead of running locally";
    STRAGGLER_SECS: "GG_STRAGGLER_SECS", "straggler_secs", "10",
        "a thunk running longer than this many seconds and four times the median starts again on another worker, or as another Lambda invocation";
    LAMBDA_FUNCTION: "GG_LAMBDA_FUNCTION", "function", "`gg`", "the Lambda function's name";
    S3_BUCKET: "GG_S3_BUCKET", "bucket", "required", "the S3 bucket the lambda engine keeps blobs in";
    LAMBDA_REGION: "GG_LAMBDA_REGION", "region",
        "`AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, else `us-east-1`",
        "the AWS region";
    LAMBDA_ENDPOINT: "GG_LAMBDA_ENDPOINT", "lambda_endpoint", "`https://lambda.REGION.amazonaws.com`",
        "the Lambda API's endpoint";
    S3_ENDPOINT: "GG_S3_ENDPOINT", "s3_endpoint",
        "`https://BUCKET.s3.REGION.amazonaws.com` (a custom endpoint is addressed path-style)",
        "the S3 endpoint; the Lambda function reads it too";
    LAMBDA_TIMEOUT: "GG_LAMBDA_TIMEOUT", "invoke_timeout_secs",
        "960 (the longest a function may run, plus a margin)", "seconds an invocation may take";
    SANDBOX: "GG_SANDBOX", "", "`plain`", "`strict` runs the local engine's thunks in a jail";
    KEEP_SANDBOX: "GG_KEEP_SANDBOX", "", "off", "`1` leaves sandbox folders in `<store>/sandboxes/`, to debug";
    DISABLE: "GG_DISABLE", "", "off", "`1`: gg-cc runs the compiler as if gg were not there";
    LOG: "GG_LOG", "", "off", "`info`: gg-cc ends with where its answer came from; `debug`: also why a lookup missed and what it recorded, and `gg ninja` names the edges it ran here";
    SCAN: "GG_SCAN", "", "the include scanner",
        "`preprocessor`: learn a compile's inputs from `cc -M` instead of the in-process include scanner";
    VERIFY_SCAN: "GG_VERIFY_SCAN", "", "off",
        "`1`: check the include scanner against the compiler's own list, failing the compile it missed a file of";
    STORE_INPUTS: "GG_STORE_INPUTS", "", "off",
        "`1`: gg-cc also stores every input and the toolchain, so the thunk can be forced anywhere";
    NINJA: "GG_NINJA", "", "off", "`1`: the `ninja` shim hands every build to `gg ninja` (read by the shim)";
    NINJA_TIMES: "GG_NINJA_TIMES", "", "off", "set: `gg ninja` prints how long parsing and planning took";
    AWS_CLI: "GG_AWS_CLI", "", "`aws`", "the AWS CLI `gg lambda deploy` runs";
    LAMBDA_TMP: "GG_LAMBDA_TMP", "", "`/tmp` in Lambda, required elsewhere",
        "the function's scratch folder, emptied after each invocation but for the store";
    LAMBDA_STORE_LIMIT: "GG_LAMBDA_STORE_LIMIT", "", "half the scratch filesystem",
        "bytes of blobs the function keeps (`gg lambda deploy` sets half the ephemeral storage)";
    LAMBDA_MARGIN: "GG_LAMBDA_MARGIN", "", "10",
        "seconds the function keeps back from each invocation's deadline to store outputs and answer";
}

/// The defaults the table states, as the code uses them.
pub const DEFAULT_STRAGGLER_SECS: f64 = 10.0;
pub const DEFAULT_LAMBDA_FUNCTION: &str = "gg";
pub const DEFAULT_LAMBDA_TIMEOUT_SECS: f64 = 960.0;
pub const DEFAULT_SYSTEM_CONFIG: &str = "/etc/gg/config.toml";
pub const DEFAULT_AWS_CLI: &str = "aws";
pub const DEFAULT_LAMBDA_MARGIN_SECS: f64 = 10.0;

/// The variable's value; `None` when unset or empty.
fn os(v: &Var) -> Option<OsString> {
    lookup(v.name).filter(|s| !s.is_empty())
}

#[cfg(not(test))]
fn lookup(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

// Unit tests give each thread its own environment: the process's is
// shared by tests running in parallel.
#[cfg(test)]
thread_local! {
    pub(crate) static FAKE: std::cell::RefCell<Vec<(&'static str, OsString)>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[cfg(test)]
fn lookup(name: &str) -> Option<OsString> {
    FAKE.with(|f| f.borrow().iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()))
}

/// The variable's value as text; `None` when unset, empty or not UTF-8.
fn text(v: &Var) -> Option<String> {
    os(v).and_then(|s| s.into_string().ok())
}

/// A switch: on for `1` only.
fn switch(v: &Var) -> bool {
    os(v).is_some_and(|s| s == "1")
}

/// The value parsed as `T`; an error names the variable, the value and
/// `what` it should be.
fn parsed<T: FromStr>(v: &Var, value: Option<String>, what: &str) -> Result<Option<T>, String> {
    value.map(|s| s.parse().map_err(|_| format!("{}=`{s}`: {what}", v.name))).transpose()
}

/// Whether the variable is set (and not empty).
pub fn is_set(v: &Var) -> bool {
    os(v).is_some()
}

pub fn dir() -> Option<PathBuf> {
    os(&DIR).map(PathBuf::from)
}

/// `GG_MAX_SIZE` as given (parsed by [`crate::evict::parse_size`]).
pub fn max_size() -> Option<String> {
    text(&MAX_SIZE)
}

pub fn remote_cache() -> Option<String> {
    text(&REMOTE_CACHE)
}

/// `Some(false)` for any value but `1`, so `=0` overrides the file.
pub fn remote_cache_read_only() -> Option<bool> {
    text(&REMOTE_CACHE_READ_ONLY).map(|s| s == "1")
}

pub fn remote_cache_timeout() -> Result<Option<f64>, String> {
    let secs: Option<f64> = parsed(&REMOTE_CACHE_TIMEOUT, text(&REMOTE_CACHE_TIMEOUT), "not a number of seconds")?;
    match secs {
        Some(s) if !(s > 0.0 && s.is_finite()) => {
            Err(format!("{}=`{s}`: not a positive number of seconds", REMOTE_CACHE_TIMEOUT.name))
        }
        s => Ok(s),
    }
}

pub fn basedir() -> Option<String> {
    text(&BASEDIR)
}

pub fn system_config() -> PathBuf {
    os(&SYSTEM_CONFIG).map_or_else(|| DEFAULT_SYSTEM_CONFIG.into(), PathBuf::from)
}

pub fn engine() -> Result<Option<EngineKind>, String> {
    engine_from(text(&ENGINE))
}

fn engine_from(value: Option<String>) -> Result<Option<EngineKind>, String> {
    value.map(|s| s.parse().map_err(|_| format!("{}=`{s}`: {}", ENGINE.name, EngineKind::EXPECTED))).transpose()
}

pub fn workers() -> Option<Vec<String>> {
    text(&WORKERS).map(|w| w.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
}

pub fn token() -> Option<String> {
    text(&TOKEN)
}

pub fn token_file() -> Option<PathBuf> {
    os(&TOKEN_FILE).map(PathBuf::from)
}

pub fn worker_ca() -> Option<PathBuf> {
    os(&WORKER_CA).map(PathBuf::from)
}

pub fn worker_fingerprint() -> Option<String> {
    text(&WORKER_FINGERPRINT)
}

/// `Some(false)` for any value but `1`, so `GG_REMOTE_STRICT=0` overrides
/// `strict = true` in a file.
pub fn remote_strict() -> Option<bool> {
    text(&REMOTE_STRICT).map(|s| s == "1")
}

pub fn straggler_secs() -> Result<Option<f64>, String> {
    parsed(&STRAGGLER_SECS, text(&STRAGGLER_SECS), "not a number")
}

pub fn lambda_function() -> Option<String> {
    text(&LAMBDA_FUNCTION)
}

pub fn s3_bucket() -> Option<String> {
    text(&S3_BUCKET)
}

pub fn lambda_region() -> Option<String> {
    text(&LAMBDA_REGION)
}

pub fn lambda_endpoint() -> Option<String> {
    text(&LAMBDA_ENDPOINT)
}

pub fn s3_endpoint() -> Option<String> {
    text(&S3_ENDPOINT)
}

pub fn lambda_timeout() -> Result<Option<f64>, String> {
    parsed(&LAMBDA_TIMEOUT, text(&LAMBDA_TIMEOUT), "not a number")
}

/// How the local engine isolates thunks; an unknown value is an error
/// naming it.
pub fn sandbox() -> Result<jail::Mode, String> {
    jail::Mode::parse(text(&SANDBOX).as_deref())
}

pub fn keep_sandbox() -> bool {
    switch(&KEEP_SANDBOX)
}

pub fn disable() -> bool {
    switch(&DISABLE)
}

/// Whether `GG_LOG=debug` (in any case).
pub fn log_debug() -> bool {
    text(&LOG).is_some_and(|v| v.eq_ignore_ascii_case("debug"))
}

/// Whether `GG_LOG=info` or `debug` (in any case).
pub fn log_info() -> bool {
    log_debug() || text(&LOG).is_some_and(|v| v.eq_ignore_ascii_case("info"))
}

/// Whether `GG_SCAN=preprocessor` asks for the old dependency scan.
pub fn scan_with_preprocessor() -> bool {
    text(&SCAN).is_some_and(|v| v == "preprocessor")
}

pub fn verify_scan() -> bool {
    switch(&VERIFY_SCAN)
}

pub fn store_inputs() -> bool {
    switch(&STORE_INPUTS)
}

pub fn ninja_times() -> bool {
    is_set(&NINJA_TIMES)
}

pub fn aws_cli() -> String {
    text(&AWS_CLI).unwrap_or_else(|| DEFAULT_AWS_CLI.into())
}

/// The Lambda function's own variables, read through `var` (the process's
/// environment, or a test's): the function is configured by the
/// environment Lambda gives it, never by config files.
#[derive(Debug, Default, PartialEq)]
pub struct FunctionVars {
    pub tmp: Option<PathBuf>,
    pub store_limit: Option<u64>,
    pub margin: std::time::Duration,
    pub s3_endpoint: Option<String>,
}

/// Reads [`FunctionVars`]; a value that does not parse is an error naming
/// the variable and the value.
pub fn function_vars(var: &dyn Fn(&str) -> Option<String>) -> Result<FunctionVars, String> {
    let get = |v: &Var| var(v.name).filter(|s| !s.is_empty());
    let margin = get(&LAMBDA_MARGIN).map(|s| {
        let secs = s.parse().ok().and_then(|f| std::time::Duration::try_from_secs_f64(f).ok());
        secs.ok_or_else(|| format!("{}=`{s}`: not a number of seconds", LAMBDA_MARGIN.name))
    });
    Ok(FunctionVars {
        tmp: get(&LAMBDA_TMP).map(PathBuf::from),
        store_limit: parsed(&LAMBDA_STORE_LIMIT, get(&LAMBDA_STORE_LIMIT), "not a number of bytes")?,
        margin: margin.transpose()?.unwrap_or(std::time::Duration::from_secs_f64(DEFAULT_LAMBDA_MARGIN_SECS)),
        s3_endpoint: get(&S3_ENDPOINT),
    })
}

#[cfg(test)]
#[path = "env_tests.rs"]
mod tests;
