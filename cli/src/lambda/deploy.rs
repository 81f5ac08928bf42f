//! `gg lambda deploy`: creates the function, or updates its code and
//! settings, with the AWS CLI (`aws`, or `$GG_AWS_CLI`), so the user's
//! usual AWS configuration (profiles, SSO, endpoints) applies unchanged.
//! docs/lambda.md gives the IAM policy the function's role needs.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

/// What `deploy` sets on the function.
#[derive(Debug)]
pub struct Settings<'a> {
    pub function: &'a str,
    pub region: &'a str,
    /// `--endpoint-url` for the Lambda API (an emulator, say).
    pub endpoint: Option<&'a str>,
    /// The execution role, needed only to create the function.
    pub role: Option<&'a str>,
    pub memory_mb: u32,
    pub timeout_secs: u32,
    pub tmp_mb: u32,
    /// Environment for the function (GG_S3_ENDPOINT, the store limit).
    pub env: Vec<(String, String)>,
}

/// Whether the function was created or updated.
#[derive(Debug, PartialEq, Eq)]
pub enum Deployed {
    Created,
    Updated,
}

fn aws() -> String {
    gg_core::env::aws_cli()
}

/// Runs `aws lambda ARGS…`; its stdout, or an error with its stderr.
fn lambda(s: &Settings<'_>, args: &[&str]) -> Result<String, String> {
    let cli = aws();
    let mut c = Command::new(&cli);
    if let Some(e) = s.endpoint {
        c.args(["--endpoint-url", e]);
    }
    c.args(["--region", s.region, "--output", "json", "lambda"]).args(args);
    let out =
        c.output().map_err(|e| format!("cannot run the AWS CLI `{cli}` (install awscli, or set GG_AWS_CLI): {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Creates or updates the function from `zip`.
pub fn deploy(s: &Settings<'_>, zip: &Path) -> Result<Deployed> {
    let code = format!("fileb://{}", zip.display());
    let env = format!("Variables={{{}}}", s.env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","));
    let (timeout, memory, tmp) = (s.timeout_secs.to_string(), s.memory_mb.to_string(), format!("Size={}", s.tmp_mb));
    let settings =
        ["--timeout", &timeout, "--memory-size", &memory, "--ephemeral-storage", &tmp, "--environment", &env];
    let fail = |what: &str, e: String| anyhow::anyhow!("{what} function `{}` failed:\n{e}", s.function);
    match lambda(s, &["get-function", "--function-name", s.function]) {
        Ok(_) => {
            lambda(s, &["update-function-code", "--function-name", s.function, "--zip-file", &code])
                .map_err(|e| fail("updating the code of", e))?;
            // A function takes one update at a time.
            lambda(s, &["wait", "function-updated", "--function-name", s.function])
                .map_err(|e| fail("waiting for", e))?;
            let mut args = vec!["update-function-configuration", "--function-name", s.function];
            args.extend_from_slice(&settings);
            lambda(s, &args).map_err(|e| fail("configuring", e))?;
            lambda(s, &["wait", "function-updated", "--function-name", s.function])
                .map_err(|e| fail("waiting for", e))?;
            Ok(Deployed::Updated)
        }
        Err(e) if e.contains("ResourceNotFoundException") || e.contains("Function not found") => {
            let Some(role) = s.role else {
                bail!(
                    "function `{}` does not exist yet: give --role ARN, an execution role Lambda can assume \
                     (docs/lambda.md gives its policy)",
                    s.function
                )
            };
            let mut args = vec![
                "create-function",
                "--function-name",
                s.function,
                "--runtime",
                "provided.al2023",
                "--handler",
                "bootstrap",
                "--architectures",
                "x86_64",
                "--role",
                role,
                "--zip-file",
                &code,
            ];
            args.extend_from_slice(&settings);
            lambda(s, &args).map_err(|e| fail("creating", e))?;
            lambda(s, &["wait", "function-active-v2", "--function-name", s.function])
                .map_err(|e| fail("waiting for", e))?;
            Ok(Deployed::Created)
        }
        Err(e) => Err(anyhow::anyhow!("cannot look up function `{}`:\n{e}", s.function)).context("gg lambda deploy"),
    }
}
