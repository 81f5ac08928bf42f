//! What a remote engine does with thunks it cannot run remotely (no worker
//! answers, the Lambda service cannot be used): run them here with one
//! warning per run, or, under `GG_REMOTE_STRICT=1`, fail them. Both remote
//! engines decide through this one policy, so they cannot drift apart.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use gg_core::engine::{ExecError, Outcome};

/// One engine's fallback policy and what it has done so far.
#[derive(Debug)]
pub struct Fallback {
    strict: bool,
    /// What went wrong, as the warning and the error say it: "no worker
    /// answered".
    cannot: &'static str,
    /// What the warning says happens instead: "running thunks locally".
    instead: &'static str,
    warned: AtomicBool,
    ran: AtomicUsize,
}

impl Fallback {
    pub fn new(strict: bool, cannot: &'static str, instead: &'static str) -> Fallback {
        Fallback { strict, cannot, instead, warned: AtomicBool::new(false), ran: AtomicUsize::new(0) }
    }

    /// The answers for a chain of `len` thunks the engine could not run,
    /// `why` saying what failed: under strict, each fails naming `why`;
    /// otherwise `local()`'s, after warning (once per engine) and counting
    /// them.
    pub fn answer(
        &self,
        len: usize,
        why: &str,
        local: impl FnOnce() -> Vec<Result<Outcome, ExecError>>,
    ) -> Vec<Result<Outcome, ExecError>> {
        if self.strict {
            let msg = format!("{} (GG_REMOTE_STRICT=1): {why}", self.cannot);
            return (0..len).map(|_| Err(ExecError::engine(msg.clone()))).collect();
        }
        if !self.warned.swap(true, Ordering::Relaxed) {
            eprintln!("gg: warning: {} ({why}); {}", self.cannot, self.instead);
        }
        self.ran.fetch_add(len, Ordering::Relaxed);
        gg_core::tally::add(gg_core::tally::Source::FellBack, len);
        local()
    }

    /// Thunks that ran locally because the engine could not run them.
    pub fn ran_locally(&self) -> usize {
        self.ran.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(n: usize) -> Vec<Result<Outcome, ExecError>> {
        (0..n).map(|_| Ok(Outcome { outputs: vec![], executable: vec![], stdout: None, stderr: None })).collect()
    }

    #[test]
    fn strict_fails_every_member_naming_why_and_runs_nothing() {
        let f = Fallback::new(true, "no worker answered", "running thunks locally");
        let answers = f.answer(2, "w1: refused", || panic!("strict must not run locally"));
        assert_eq!(answers.len(), 2);
        for a in answers {
            let e = a.unwrap_err().to_string();
            assert!(e.contains("no worker answered (GG_REMOTE_STRICT=1): w1: refused"), "{e}");
        }
        assert_eq!(f.ran_locally(), 0);
    }

    #[test]
    fn otherwise_the_thunks_run_locally_and_are_counted() {
        let f = Fallback::new(false, "no worker answered", "running thunks locally");
        assert!(f.answer(2, "w1: refused", || local(2)).iter().all(Result::is_ok));
        assert!(f.answer(3, "w1: refused", || local(3)).iter().all(Result::is_ok));
        assert_eq!(f.ran_locally(), 5);
    }
}
