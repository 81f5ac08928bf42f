//! One attempt to run a batch of units (each a thunk or a ready chain) on
//! one worker: upload what they lack, send them in one streamed execute
//! request, and hand back each unit's answers as soon as the worker has
//! sent them. Small outputs come back inline; larger ones stay on the
//! worker until needed (the client remembers where, and which thunk made
//! them).

use std::collections::HashMap;
use std::io::BufRead as _;
use std::sync::Arc;
use std::time::Duration;

use gg_core::engine::{ExecError, Outcome};
use gg_core::{Name, Thunk};

use super::{read, Attempt, Inner, Remote};
use gg_wire::protocol::{Answer, ExecuteRequest};

/// One unit's answers, or why the worker gave none.
pub(super) type UnitAnswer = Result<Vec<Result<Outcome, ExecError>>, Attempt>;

impl Inner {
    /// Runs `chain` (each thunk may consume outputs of the ones before it)
    /// on `w`. `Ok` holds one answer per thunk; an `Err` means the worker
    /// itself did not answer properly and another may be tried.
    pub(super) fn attempt(&self, w: &Remote, chain: &[Arc<Thunk>]) -> UnitAnswer {
        let mut answer = None;
        self.attempt_each(w, &[chain], &mut |_, a| answer = Some(a));
        answer.expect("every unit is answered")
    }

    /// Runs independent `units` on `w` in one request and calls
    /// `on_unit(k, answer)` exactly once per unit, as soon as the worker
    /// has answered all of unit `k`'s thunks.
    pub(super) fn attempt_each(&self, w: &Remote, units: &[&[Arc<Thunk>]], on_unit: &mut dyn FnMut(usize, UnitAnswer)) {
        // Each thunk sent, as (unit, position in it); answers by unit.
        let mut index = Vec::new();
        let mut answers: Vec<Vec<Option<Answer>>> = units.iter().map(|u| u.iter().map(|_| None).collect()).collect();
        // The names the thunks travel under, by unit.
        let mut sent: Vec<Vec<Name>> = units.iter().map(|u| Vec::with_capacity(u.len())).collect();
        let mut give = |k: usize, answer: UnitAnswer, answers: &mut Vec<Vec<Option<Answer>>>| {
            // Marks the unit answered by emptying its slots.
            if !answers[k].is_empty() {
                answers[k].clear();
                on_unit(k, answer);
            }
        };
        let ended = (|| -> Result<(), Attempt> {
            let all: Vec<Arc<Thunk>> = units.iter().flat_map(|u| u.iter().cloned()).collect();
            self.upload(w, &all)?;
            let mut stored = self.stored_names(&all).into_iter();
            let mut thunks = Vec::with_capacity(all.len());
            for (k, unit) in units.iter().enumerate() {
                for (j, t) in unit.iter().enumerate() {
                    index.push((k, j));
                    // A thunk the store holds as it is (a compile's, made
                    // and stored this round) is read back: encoding it
                    // again cost as much as making it. Else it is encoded
                    // once, and named from what is sent; the answer must
                    // carry that name.
                    let known = stored.next().flatten().and_then(|n| Some((n, self.read_stored(&n)?)));
                    let (name, encoded) = known.unwrap_or_else(|| {
                        let encoded = t.encode();
                        (Name::of_bytes(gg_core::Kind::Thunk, &encoded), encoded)
                    });
                    sent[k].push(name);
                    thunks.push(encoded);
                }
            }
            let body = ExecuteRequest::body(thunks.iter().map(Vec::as_slice));
            drop(thunks);
            let mut resp = self.send_execute(w, &body)?;
            let mut lines = std::io::BufReader::new(resp.body_mut().with_config().limit(1 << 40).reader());
            let mut line = Vec::new();
            loop {
                line.clear();
                if lines.read_until(b'\n', &mut line).map_err(|e| Attempt::Unreachable(e.to_string()))? == 0 {
                    return Ok(());
                }
                let a: Answer = serde_json::from_slice(&line)
                    .map_err(|e| Attempt::Unreachable(format!("unreadable answer: {e}")))?;
                let Some(&(k, j)) = index.get(a.i) else {
                    return Err(Attempt::Unreachable(format!("an answer for thunk {} of {}", a.i, index.len())));
                };
                let Some(slot) = answers[k].get_mut(j) else { continue }; // unit already given up
                *slot = Some(a);
                if answers[k].iter().all(Option::is_some) {
                    let got: Vec<Answer> = answers[k].iter_mut().map(|a| a.take().expect("all some")).collect();
                    let answer = self.unit_answer(w, units[k], &sent[k], got);
                    give(k, answer, &mut answers);
                }
            }
        })();
        let why = match ended {
            Err(e) => e,
            Ok(()) => Attempt::Unreachable("the worker's answer ended early".into()),
        };
        for k in 0..units.len() {
            give(k, Err(why.clone()), &mut answers);
        }
    }

    /// Sends an execute request, waiting while the worker is busy; the
    /// answer's lines are still to be read.
    fn send_execute(&self, w: &Remote, body: &[u8]) -> Result<ureq::http::Response<ureq::Body>, Attempt> {
        let mut busy = 0;
        loop {
            let req = self.auth(self.agent.post(format!("{}/v1/execute", w.url)));
            let req = req.header("Content-Type", "application/json").header("Accept", "application/x-ndjson");
            let resp = req.send(body).map_err(|e| Attempt::Unreachable(super::tls::describe(&e)))?;
            let code = resp.status().as_u16();
            if code == 200 {
                return Ok(resp);
            }
            let (_, text) = read(Ok(resp))?;
            match code {
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
        }
    }

    /// A unit's answers from the worker's: outputs taken in (or left on
    /// the worker with the thunk that made them), failures translated.
    fn unit_answer(&self, w: &Remote, chain: &[Arc<Thunk>], names: &[Name], got: Vec<Answer>) -> UnitAnswer {
        for f in got.iter().filter_map(|a| a.failure.as_ref()) {
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
        let mut answers = Vec::with_capacity(chain.len());
        // Outputs of the chain so far, by the name each thunk was sent under.
        let mut made: HashMap<Name, Vec<(String, Name)>> = HashMap::new();
        for (i, ((thunk, answer), &sent)) in chain.iter().zip(got).zip(names).enumerate() {
            if let Some(f) = &answer.failure {
                answers.push(Err(self.failure(w, f)));
                continue;
            }
            let Some(result) = answer.result else {
                if i == 0 {
                    return Err(Attempt::Unreachable("the worker returned no result for the thunk".into()));
                }
                answers.push(Err(ExecError::engine("not run: a thunk before it in its chain failed")));
                continue;
            };
            let names_match = result.thunk == sent
                && result.outputs.len() == thunk.outputs.len()
                && result.outputs.iter().zip(&thunk.outputs).all(|(o, want)| o.name == *want);
            if !names_match {
                return Err(Attempt::Unreachable("the worker's outputs do not match the thunk's".into()));
            }
            // The thunk as it would have been sent alone: what re-runs it.
            // (Without thunk inputs, the thunk itself.)
            let standalone =
                if thunk.thunks.is_empty() { Arc::clone(thunk) } else { Arc::new(thunk.resolved_from(&made)) };
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

    fn failure(&self, w: &Remote, f: &gg_wire::protocol::Failure) -> ExecError {
        let mut e = f.to_exec_error();
        e.message = format!("{} (on {})", e.message, w.url);
        e
    }
}
