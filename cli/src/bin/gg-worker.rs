//! `gg-worker serve`: run thunks for gg clients over HTTP; `gg-worker
//! lambda`: the same as an AWS Lambda custom runtime (docs/protocol.md,
//! docs/lambda.md).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use gg_worker::{ServeOptions, Worker};

#[derive(Parser, Debug)]
#[command(name = "gg-worker", version, about = "Run gg thunks for remote clients")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the worker API over HTTP/1.1.
    Serve {
        /// Address and port to listen on (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:7878")]
        listen: String,
        /// A file holding the bearer token clients must send.
        #[arg(long, value_name = "FILE")]
        token_file: Option<PathBuf>,
        /// Listen beyond loopback without a token: anyone who can connect
        /// can run programs on this machine.
        #[arg(long)]
        insecure_no_auth: bool,
        /// The worker's store [default: as for gg: $GG_DIR, .gg, ~/.cache/gg].
        #[arg(long, value_name = "STORE")]
        dir: Option<PathBuf>,
        /// Thunks run at once [default: the number of cores].
        #[arg(long)]
        jobs: Option<usize>,
        /// Largest request body, in bytes.
        #[arg(long, default_value_t = 1 << 30)]
        max_body: u64,
        /// Run thunks in plain sandbox folders, not in jails: any client
        /// can then read and overwrite what other clients sent and got
        /// (for machines without bubblewrap or user namespaces, serving
        /// one trusted client).
        #[arg(long)]
        no_jail: bool,
    },
    /// Serve Lambda invocations through the Runtime API
    /// (AWS_LAMBDA_RUNTIME_API): what the deployment's `bootstrap` runs.
    Lambda,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("gg-worker: error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let (listen, token_file, insecure_no_auth, dir, jobs, max_body, no_jail) = match Cli::parse().command {
        Command::Serve { listen, token_file, insecure_no_auth, dir, jobs, max_body, no_jail } => {
            (listen, token_file, insecure_no_auth, dir, jobs, max_body, no_jail)
        }
        Command::Lambda => return gg_worker::lambda::serve_from_env().map_err(anyhow::Error::msg),
    };
    let token = match token_file {
        Some(f) => {
            let t = std::fs::read_to_string(&f).with_context(|| format!("cannot read token file `{}`", f.display()))?;
            let t = t.trim().to_string();
            anyhow::ensure!(!t.is_empty(), "token file `{}` is empty", f.display());
            Some(t)
        }
        None => None,
    };
    let store_dir = match dir {
        Some(d) => d,
        None => gg_core::Store::locate().map_err(anyhow::Error::msg)?,
    };
    let opts = ServeOptions {
        listen,
        token,
        insecure_no_auth,
        store_dir,
        jobs: jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)),
        max_body,
        jail: !no_jail,
    };
    let worker = Worker::bind(&opts)?;
    // Clients and tests read the bound address from this line.
    println!("gg-worker listening on http://{}", worker.addr());
    use std::io::Write;
    std::io::stdout().flush()?;
    worker.run();
    Ok(())
}
