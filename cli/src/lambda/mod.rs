//! `gg lambda …`: package the function, deploy it, and seed its bucket
//! (docs/lambda.md).

mod deploy;
mod package;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args as ClapArgs, Subcommand};
use gg_core::Store;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write the deployment zip: `bootstrap` and a self-contained gg-worker.
    Package {
        /// Where to write it.
        #[arg(short = 'o', long = "output", default_value = "gg-lambda.zip")]
        output: PathBuf,
        /// The gg-worker to package [default: the one beside gg].
        #[arg(long, value_name = "PATH")]
        worker: Option<PathBuf>,
    },
    /// Create the function, or update its code and settings (AWS CLI).
    Deploy(DeployArgs),
    /// Put files in the bucket (skipping those known to be there) and
    /// print their names, `NAME  FILE`.
    Upload {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(ClapArgs, Debug)]
pub struct DeployArgs {
    /// The function [default: the configured one, else `gg`].
    #[arg(long)]
    function: Option<String>,
    /// The execution role's ARN (needed to create the function).
    #[arg(long, value_name = "ARN")]
    role: Option<String>,
    /// A zip from `gg lambda package` [default: package now].
    #[arg(long, value_name = "FILE")]
    zip: Option<PathBuf>,
    /// Memory, in MB (Lambda gives CPU in proportion: 1769 MB is one vCPU).
    #[arg(long, default_value_t = 3008)]
    memory: u32,
    /// The function's timeout, in seconds (at most 900).
    #[arg(long, default_value_t = 900)]
    timeout: u32,
    /// Ephemeral storage (/tmp), in MB: the function's blob cache lives
    /// there, trimmed to half of it.
    #[arg(long, default_value_t = 10240)]
    tmp: u32,
}

pub fn run(cmd: &Command) -> Result<ExitCode> {
    match cmd {
        Command::Package { output, worker } => {
            let worker = match worker {
                Some(w) => w.clone(),
                None => package::default_worker()?,
            };
            let names = package::write(&worker, output)?;
            println!("{} ({} files: {})", output.display(), names.len(), names.join(", "));
            Ok(ExitCode::SUCCESS)
        }
        Command::Deploy(a) => deploy(a),
        Command::Upload { files } => upload(files),
    }
}

fn deploy(a: &DeployArgs) -> Result<ExitCode> {
    let c = gg_core::config::engine().map_err(anyhow::Error::msg)?;
    let function =
        a.function.clone().or(c.function.clone()).unwrap_or_else(|| gg_engines::engine::DEFAULT_FUNCTION.into());
    let region = gg_engines::engine::lambda_region(&c)?;
    let tmpdir = tempfile::tempdir().context("cannot create a temp folder")?;
    let zip = match &a.zip {
        Some(z) => z.clone(),
        None => {
            let z = tmpdir.path().join("gg-lambda.zip");
            package::write(&package::default_worker()?, &z)?;
            z
        }
    };
    let mut env = vec![(gg_core::env::LAMBDA_STORE_LIMIT.name.to_string(), (u64::from(a.tmp) << 19).to_string())];
    if let Some(e) = &c.s3_endpoint {
        env.push((gg_core::env::S3_ENDPOINT.name.into(), e.clone()));
    }
    let settings = deploy::Settings {
        function: &function,
        region: &region,
        endpoint: c.lambda_endpoint.as_deref(),
        role: a.role.as_deref(),
        memory_mb: a.memory,
        timeout_secs: a.timeout,
        tmp_mb: a.tmp,
        env,
    };
    let done = deploy::deploy(&settings, &zip)?;
    let verb = if done == deploy::Deployed::Created { "created" } else { "updated" };
    println!("gg lambda: function `{function}` {verb} in {region} from {}", zip.display());
    Ok(ExitCode::SUCCESS)
}

fn upload(files: &[PathBuf]) -> Result<ExitCode> {
    let root = Store::locate().map_err(anyhow::Error::msg)?;
    let store = Store::open(&root).with_context(|| format!("cannot open the store at `{}`", root.display()))?;
    let c = gg_core::config::engine().map_err(anyhow::Error::msg)?;
    let (bucket, _) = gg_engines::engine::lambda_parts(&c, &store)?;
    // Read from the files themselves, once each: the bucket needs them,
    // the local store does not.
    let names = bucket.ensure_files(files).map_err(anyhow::Error::msg)?;
    let mut out = String::new();
    for (n, f) in names.iter().zip(files) {
        out.push_str(&format!("{n}  {}\n", f.display()));
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
