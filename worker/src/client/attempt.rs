//! One attempt to run a thunk or a ready chain on one worker: upload what
//! it lacks, ask it to execute, and read the answer. Small outputs come
//! back inline; larger ones stay on the worker until needed (the client
//! remembers where, and which thunk made them).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use gg_core::engine::{ExecError, FailKind, Outcome};
use gg_core::{Name, Object, Thunk};

use super::{read, Attempt, Inner, Remote};
use crate::protocol::{ExecuteRequest, ExecuteResponse};

impl Inner {
    /// Runs `chain` (each thunk may consume outputs of the ones before it)
    /// on `w`. `Ok` holds one answer per thunk; an `Err` means the worker
    /// itself did not answer properly and another may be tried.
    pub(super) fn attempt(&self, w: &Remote, chain: &[Arc<Thunk>]) -> Result<Vec<Result<Outcome, ExecError>>, Attempt> {
        self.upload(w, chain)?;
        let thunks = chain.iter().map(|t| String::from_utf8(t.encode()).expect("thunk encodings are UTF-8")).collect();
        let body = serde_json::to_string(&ExecuteRequest { thunks }).expect("serialises");
        let mut busy = 0;
        let resp: ExecuteResponse = loop {
            let req = self.auth(self.agent.post(format!("{}/v1/execute", w.url)));
            let (code, text) = read(req.header("Content-Type", "application/json").send(&body))?;
            match code {
                200 => {
                    break serde_json::from_str(&text)
                        .map_err(|e| Attempt::Unreachable(format!("unreadable answer: {e}")))?
                }
                // Busy: wait for a slot there (the scheduler keeps at most
                // as many thunks in flight as it has jobs).
                503 if busy < 600 && !gg_core::interrupt::interrupted() => {
                    busy += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                503 => return Err(Attempt::Unreachable(format!("busy for a minute: {}", text.trim()))),
                400 | 401 | 413 => {
                    return Err(Attempt::Failed(ExecError::engine(format!(
                        "the worker refused the thunk ({code}): {}",
                        text.trim()
                    ))))
                }
                _ => return Err(Attempt::Unreachable(format!("{code} {}", text.trim()))),
            }
        };
        for f in &resp.failures {
            match f.kind.as_str() {
                // The worker lost a blob: forget what it holds; retry.
                "missing" => {
                    w.known.lock().expect("known").clear();
                    return Err(Attempt::Unreachable(f.message.clone()));
                }
                // Its disk or sandbox failed, not the thunk: try another
                // worker, without writing this one off.
                "engine" => return Err(Attempt::Engine(format!("{} (on {})", f.message, w.url))),
                _ => {}
            }
        }
        let mut results: HashMap<Name, crate::protocol::Result> =
            resp.results.into_iter().map(|r| (r.thunk, r)).collect();
        let mut answers = Vec::with_capacity(chain.len());
        // Outputs of the chain so far, by the name each thunk was sent under.
        let mut made: HashMap<Name, Vec<(String, Name)>> = HashMap::new();
        for (i, thunk) in chain.iter().enumerate() {
            let sent = thunk.name();
            if let Some(f) = resp.failures.iter().find(|f| f.thunk == sent) {
                answers.push(Err(self.failure(w, f)));
                continue;
            }
            let Some(result) = results.remove(&sent) else {
                if i == 0 {
                    return Err(Attempt::Unreachable("the worker returned no result for the thunk".into()));
                }
                answers.push(Err(ExecError::engine("not run: a thunk before it in its chain failed")));
                continue;
            };
            let names_match = result.outputs.len() == thunk.outputs.len()
                && result.outputs.iter().zip(&thunk.outputs).all(|(o, want)| o.name == *want);
            if !names_match {
                return Err(Attempt::Unreachable("the worker's outputs do not match the thunk's".into()));
            }
            // The thunk as it would have been sent alone: what re-runs it.
            let standalone = Arc::new(resolve_from(thunk, &made));
            let mut outputs = Vec::new();
            for o in &result.outputs {
                match &o.data {
                    Some(data) => self.accept_inline(&o.hash, data)?,
                    // The scheduler reads a thunk output at once.
                    None if o.hash.is_thunk() => self.fetch_from(w, &o.hash)?,
                    None => {
                        w.known.lock().expect("known").insert(o.hash);
                        self.producers.lock().expect("producers").insert(o.hash, Arc::clone(&standalone));
                    }
                }
                outputs.push(o.hash);
            }
            for n in result.stdout.iter().chain(&result.stderr) {
                self.fetch_from(w, n)?;
            }
            made.insert(sent, result.outputs.iter().map(|o| (o.name.clone(), o.hash)).collect());
            answers.push(Ok(Outcome {
                outputs,
                executable: result.executable,
                stdout: result.stdout,
                stderr: result.stderr,
            }));
        }
        Ok(answers)
    }

    fn failure(&self, w: &Remote, f: &crate::protocol::Failure) -> ExecError {
        use base64::Engine as _;
        let kind = match f.kind.as_str() {
            "exit" => FailKind::Exit,
            "timeout" => FailKind::Timeout,
            "output" => FailKind::Output,
            _ => FailKind::Engine,
        };
        let stderr = base64::engine::general_purpose::STANDARD.decode(&f.stderr).unwrap_or_default();
        ExecError { kind, message: format!("{} (on {})", f.message, w.url), stderr }
    }
}

/// `thunk` with each input from an earlier member of its chain replaced by
/// the value it produced (every input a value, as if sent alone).
pub(super) fn resolve_from(thunk: &Thunk, made: &HashMap<Name, Vec<(String, Name)>>) -> Thunk {
    let mut t = thunk.clone();
    let inputs = std::mem::take(&mut t.thunks);
    for input in inputs {
        let value = made.get(&input.output.thunk).and_then(|outs| match &input.output.output {
            Some(o) => outs.iter().find(|(n, _)| n == o).map(|(_, v)| *v),
            None => outs.first().map(|(_, v)| *v),
        });
        match value {
            Some(hash) => t.values.push(Object { path: input.path, hash }),
            None => t.thunks.push(input),
        }
    }
    t.values.sort();
    t
}
