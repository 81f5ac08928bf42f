//! The local engine: runs a ready thunk in a fresh sandbox on this machine,
//! with exactly the declared arguments and environment, and stores its
//! outputs. This is also what a worker runs for its clients.

use std::process::Command;
use std::time::Duration;

use crate::engine::{ExecError, Executor, FailKind, Job, Outcome};
use crate::jail::{self, Jail};
use crate::name::{Kind, Name};
use crate::process::{self, Ended};
use crate::sandbox::SandboxPool;
use crate::store::Store;
use crate::thunk::{Thunk, ROOT_PLACEHOLDER};

/// At most this much of a failing function's stderr is kept in the error.
const STDERR_LIMIT: usize = 1 << 20;

/// Runs thunks in sandboxes under the store's `sandboxes/` folder.
#[derive(Debug)]
pub struct LocalExecutor {
    store: Store,
    pool: SandboxPool,
    /// Applied when a thunk's timeout is 0; `None` = no limit.
    pub default_timeout: Option<Duration>,
    /// Leave sandboxes in place after the run (`GG_KEEP_SANDBOX=1`), to debug.
    pub keep_sandboxes: bool,
    /// No thunk may run past this (a Lambda invocation's deadline): one
    /// that would is killed and fails as timed out, rather than the whole
    /// environment being killed with it.
    deadline: std::sync::Mutex<Option<std::time::Instant>>,
    /// Whether thunks run in a jail (`GG_SANDBOX`, or the worker's choice).
    mode: Result<jail::Mode, String>,
    /// The jail, made on the first jailed run (starting its keeper
    /// once costs milliseconds that a plain run should not pay).
    jail: std::sync::OnceLock<Result<Jail, String>>,
}

impl LocalExecutor {
    /// Runs a chain here, one thunk after another, each resolved from the
    /// outputs of those before it; `fetch` first brings a member's objects
    /// from wherever a remote engine left them. Once one fails, the rest
    /// are answered as skipped.
    pub fn execute_chain_with(
        &self,
        chain: &[impl std::borrow::Borrow<Thunk>],
        fetch: &dyn Fn(&[Name]) -> Result<(), ExecError>,
    ) -> Vec<Result<Outcome, ExecError>> {
        let mut made: std::collections::HashMap<Name, Vec<(String, Name)>> = std::collections::HashMap::new();
        let mut answers = Vec::new();
        for thunk in chain {
            let thunk = thunk.borrow();
            if answers.iter().any(Result::is_err) {
                answers.push(Err(ExecError::engine("not run: a thunk before it in its chain failed")));
                continue;
            }
            let t = std::sync::Arc::new(thunk.resolved_from(&made));
            let objects: Vec<Name> = t.objects().map(|(o, _)| o.hash).collect();
            let answer = fetch(&objects).and_then(|()| self.execute(&Job { name: t.name(), thunk: &t, stored: None }));
            if let Ok(o) = &answer {
                made.insert(thunk.name(), thunk.outputs.iter().cloned().zip(o.outputs.iter().copied()).collect());
            }
            answers.push(answer);
        }
        answers
    }

    pub fn new(store: Store) -> LocalExecutor {
        let keep_sandboxes = crate::env::keep_sandbox();
        LocalExecutor {
            store,
            pool: SandboxPool::default(),
            default_timeout: None,
            keep_sandboxes,
            deadline: std::sync::Mutex::new(None),
            mode: crate::env::sandbox(),
            jail: std::sync::OnceLock::new(),
        }
    }

    /// Runs every thunk in a jail (`Strict`) or in a plain sandbox,
    /// whatever `GG_SANDBOX` says.
    pub fn set_mode(&mut self, mode: jail::Mode) {
        self.mode = Ok(mode);
    }

    /// Makes the jail now, if thunks are to be jailed, so that a machine
    /// that cannot jail them is told at start.
    pub fn check_jail(&self) -> Result<(), String> {
        self.jail_for_run().map(|_| ())
    }

    /// The jail to run in, `None` for a plain sandbox.
    fn jail_for_run(&self) -> Result<Option<&Jail>, String> {
        match self.mode.clone()? {
            jail::Mode::Plain => Ok(None),
            jail::Mode::Strict => self
                .jail
                .get_or_init(|| Jail::new(self.store.root()))
                .as_ref()
                .map(Some)
                .map_err(|e| format!("cannot jail thunks (GG_SANDBOX=strict, or a worker without --no-jail): {e}")),
        }
    }

    /// Sets (or clears) the time no run may go past.
    pub fn set_deadline(&self, deadline: Option<std::time::Instant>) {
        *self.deadline.lock().expect("deadline") = deadline;
    }

    /// The thunk's own timeout, or the time left before the deadline when
    /// that is shorter (then `true`).
    fn limit(&self, thunk: &Thunk) -> (Option<Duration>, bool) {
        let own = self.timeout(thunk);
        let left =
            self.deadline.lock().expect("deadline").map(|d| d.saturating_duration_since(std::time::Instant::now()));
        match (own, left) {
            (Some(o), Some(l)) if l < o => (Some(l), true),
            (None, Some(l)) => (Some(l), true),
            (o, _) => (o, false),
        }
    }

    fn timeout(&self, thunk: &Thunk) -> Option<Duration> {
        match thunk.timeout {
            0 => self.default_timeout,
            s => Some(Duration::from_secs(s)),
        }
    }

    fn run(&self, thunk: &Thunk) -> Result<Outcome, ExecError> {
        let engine_err = |e: std::io::Error| ExecError::engine(e.to_string());
        let mut sandbox = self.pool.take(&self.store, self.keep_sandboxes).map_err(engine_err)?;
        sandbox.materialize(&self.store, thunk)?;
        let root = sandbox.root().to_str().ok_or_else(|| ExecError::engine("the store path is not UTF-8"))?.to_string();
        let subst = |s: &String| s.replace(ROOT_PLACEHOLDER, &root);

        let jail = self.jail_for_run().map_err(ExecError::engine)?;
        let program = sandbox.root().join(thunk.function_path());
        let arg0 = subst(&thunk.function.args[0]);
        let args: Vec<String> = thunk.function.args[1..].iter().map(subst).collect();
        let cwd = sandbox.root().join(&thunk.cwd);
        let env: Vec<(&str, String)> = thunk
            .function
            .envars
            .iter()
            .map(|e| {
                let (k, v) = e.split_once('=').expect("validated envars");
                (k, v.replace(ROOT_PLACEHOLDER, &root))
            })
            .collect();
        let (timeout, by_deadline) = self.limit(thunk);
        let run = match jail {
            Some(jail) => {
                let request = jail::Request {
                    root: sandbox.root().to_path_buf(),
                    cwd,
                    program,
                    argv: std::iter::once(&arg0).chain(&args).map(Into::into).collect(),
                    env: env.iter().map(|(k, v)| format!("{k}={v}").into()).collect(),
                };
                jail.run(&request, timeout)
            }
            None => {
                use std::os::unix::process::CommandExt;
                let mut cmd = Command::new(&program);
                cmd.arg0(arg0).args(args).current_dir(&cwd).env_clear().envs(env);
                process::run(&mut cmd, timeout)
            }
        }
        .map_err(|e| {
            ExecError::engine(format!("cannot run `{}` ({}): {e}", thunk.function.args[0], thunk.function.hash))
        })?;
        sandbox.check_inputs(&self.store)?;
        let mut stderr = unroot(&run.stderr, &root);
        let stdout = unroot(&run.stdout, &root);
        let fail = |kind, message: String, mut stderr: Vec<u8>| {
            stderr.truncate(STDERR_LIMIT);
            Err(ExecError { kind, message, stderr })
        };
        match run.ended {
            Ended::TimedOut => {
                let secs = timeout.unwrap_or_default().as_secs_f64();
                let message = if by_deadline {
                    format!(
                        "ran into the engine's deadline (a Lambda invocation's timeout) after {secs:.1}s; its \
                         process group was killed"
                    )
                } else {
                    format!("timed out after {secs}s; its process group was killed")
                };
                return fail(FailKind::Timeout, message, stderr);
            }
            Ended::Exited(status) if !status.success() => {
                use std::os::unix::process::ExitStatusExt;
                let message = match (status.code(), status.signal()) {
                    (Some(code), _) => format!("exited with status {code}"),
                    (None, Some(sig)) => format!("killed by signal {sig}"),
                    _ => format!("failed ({status})"),
                };
                return fail(FailKind::Exit, message, stderr);
            }
            Ended::Exited(_) => {}
        }
        // Every process of the run is gone (in the jail, with its PID
        // namespace), so no folder can be swapped for a link after collect
        // has checked it (`beneath`: no link in any component is followed).
        let (mut outputs, executable) = match sandbox.collect(&self.store, thunk) {
            Ok(outputs) => outputs,
            Err(e) => return fail(e.kind, e.message, std::mem::take(&mut stderr)),
        };
        // Read back from the store, never through the sandbox: the
        // function may have left links there.
        for d in &thunk.depfiles {
            let i = thunk.outputs.iter().position(|o| o == d).expect("validated: a depfile is an output");
            let canonical = self
                .store
                .get(&outputs[i])
                .map_err(|e| e.to_string())
                .and_then(|bytes| crate::depfile::canonical(&bytes, &root));
            match canonical {
                Ok(bytes) => {
                    outputs[i] =
                        self.store.put_bytes(Kind::Value, &bytes).map_err(|e| ExecError::engine(e.to_string()))?;
                }
                Err(why) => {
                    return fail(
                        FailKind::Output,
                        format!("declared dependency file `{d}` is unreadable: {why}"),
                        stderr,
                    )
                }
            }
        }
        self.pool.give_back(sandbox);
        Ok(Outcome { outputs, executable, stdout: self.keep_stream(&stdout)?, stderr: self.keep_stream(&stderr)? })
    }

    /// Stores a captured stream if the function wrote anything to it.
    fn keep_stream(&self, bytes: &[u8]) -> Result<Option<Name>, ExecError> {
        if bytes.is_empty() {
            return Ok(None);
        }
        self.store.put_bytes(Kind::Value, bytes).map(Some).map_err(|e| ExecError::engine(e.to_string()))
    }
}

/// `bytes` with the sandbox folder written as the root it stands for: a
/// function that prints a path it was given (a compiler naming a header
/// it found through a re-rooted `-I`) prints what the path means, the same
/// on every engine and run, never where one run happened to be placed.
pub fn unroot(bytes: &[u8], root: &str) -> Vec<u8> {
    let root = root.as_bytes();
    let finder = memchr::memmem::Finder::new(root);
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(at) = finder.find(rest) {
        out.extend_from_slice(&rest[..at]);
        rest = &rest[at + root.len()..];
        if !rest.starts_with(b"/") {
            out.push(b'/');
        }
    }
    out.extend_from_slice(rest);
    out
}

impl Executor for LocalExecutor {
    fn execute(&self, job: &Job<'_>) -> Result<Outcome, ExecError> {
        let answer = self.run(job.thunk);
        if answer.is_ok() {
            crate::tally::add(crate::tally::Source::RanHere, 1);
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::unroot;

    #[test]
    fn the_sandbox_folder_reads_as_the_root_in_captured_output() {
        let root = "/s/.gg/sandboxes/run.1";
        let text = b"/s/.gg/sandboxes/run.1/usr/include/stdio.h:3: warning\nin /s/.gg/sandboxes/run.1\nsrc/a.c\n";
        assert_eq!(unroot(text, root), b"/usr/include/stdio.h:3: warning\nin /\nsrc/a.c\n");
        assert_eq!(unroot(b"no paths here", root), b"no paths here");
        assert_eq!(unroot(b"", root), b"");
    }
}
