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
        /// Kill a thunk that sets no timeout of its own after this many
        /// seconds (0: never).
        #[arg(long, value_name = "SECS", default_value_t = 3600)]
        thunk_timeout: u64,
        /// Serve HTTPS with this certificate chain (PEM, leaf first).
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The private key of --tls-cert (PEM).
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Serve HTTPS with a self-signed certificate, made on first use and
        /// kept in the store's `tls/` folder; clients pin its fingerprint
        /// (printed on start) with GG_WORKER_FINGERPRINT.
        #[arg(long, conflicts_with = "tls_cert")]
        tls_self_signed: bool,
        /// Keep the store within this size (`5G`, `512M`, bytes; `0`: no
        /// limit), least recently used files first; what requests in
        /// flight need stays.
        #[arg(long, value_name = "SIZE", default_value = "5G")]
        max_size: String,
        /// Run thunks in plain sandbox folders, not in jails: any client
        /// can then read and overwrite what other clients sent and got
        /// (for machines without user namespaces, serving
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
    let Command::Serve {
        listen,
        token_file,
        insecure_no_auth,
        dir,
        jobs,
        max_body,
        thunk_timeout,
        tls_cert,
        tls_key,
        tls_self_signed,
        max_size,
        no_jail,
    } = Cli::parse().command
    else {
        return gg_worker::lambda::serve_from_env().map_err(anyhow::Error::msg);
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
    let tls = match tls_self_signed {
        true => Some(gg_worker::http::tls::self_signed(&store_dir.join("tls"), &certificate_names(&listen))?),
        false => tls_cert.zip(tls_key),
    };
    let opts = ServeOptions {
        listen,
        token,
        insecure_no_auth,
        jobs: jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)),
        max_body,
        thunk_timeout: (thunk_timeout > 0).then(|| std::time::Duration::from_secs(thunk_timeout)),
        tls,
        store_dir,
        jail: !no_jail,
        max_size: gg_core::evict::parse_size(&max_size)
            .map_err(|why| anyhow::anyhow!("--max-size `{max_size}`: {why}"))?,
    };
    let worker = Worker::bind(&opts)?;
    if !worker.addr().ip().is_loopback() && !worker.is_tls() {
        eprintln!(
            "gg-worker: warning: serving {} without TLS: the token and every blob cross the network in clear; \
             give --tls-cert and --tls-key",
            worker.addr()
        );
    }
    if let Some(f) = worker.fingerprint() {
        eprintln!("gg-worker: TLS certificate SHA-256 fingerprint {f} (clients may pin it: GG_WORKER_FINGERPRINT)");
    }
    // Clients and tests read the bound address from this line.
    let scheme = if worker.is_tls() { "https" } else { "http" };
    println!("gg-worker listening on {scheme}://{}", worker.addr());
    use std::io::Write;
    std::io::stdout().flush()?;
    worker.run();
    Ok(())
}

/// The names a self-signed certificate is made for: loopback, the machine's
/// name and the address listened on (pinning ignores them; they let a
/// client that trusts the certificate as a CA check the name too).
fn certificate_names(listen: &str) -> Vec<String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    if let Some(host) = std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_string()) {
        names.extend((!host.is_empty()).then_some(host));
    }
    if let Ok(addr) = listen.parse::<std::net::SocketAddr>() {
        if !addr.ip().is_unspecified() && !addr.ip().is_loopback() {
            names.push(addr.ip().to_string());
        }
    }
    names
}
