//! Where this process's answers came from, counted once each wherever
//! they are decided, so that every front end tells the same story: a hit
//! in this machine's store, a hit in a remote store (the shared cache, the
//! Lambda engine's bucket), a thunk run by a remote engine (a worker, a
//! function), or run here (the local engine, a step or compile run in
//! place), some of those because the remote engine could not be used.
//! `gg ninja` and `gg force` end with [`Tally`]'s line; gg-cc logs it with
//! `GG_LOG=info`.

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::Name;

/// Where one answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    LocalHit,
    RemoteHit,
    RanRemotely,
    RanHere,
    /// Ran here because the remote engine could not run it (also counted
    /// as [`Source::RanHere`] by whatever ran it).
    FellBack,
}

static COUNTS: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];

fn slot(s: Source) -> &'static AtomicU64 {
    &COUNTS[s as usize]
}

/// Counts `n` answers from `source`.
pub fn add(source: Source, n: usize) {
    slot(source).fetch_add(n as u64, Ordering::Relaxed);
}

/// Thunks this process has an answer for (by every name it had).
static ANSWERED: Mutex<Option<HashSet<Name>>> = Mutex::new(None);

/// Notes that `names` (one thunk's) are answered; whether this is the
/// first time. A build that forces in rounds finds the thunks of earlier
/// rounds again as stored results: those are not new answers.
pub fn first_answer(names: &[Name]) -> bool {
    let mut seen = ANSWERED.lock().unwrap_or_else(|e| e.into_inner());
    let seen = seen.get_or_insert_with(HashSet::new);
    let mut new = true;
    for n in names {
        new &= seen.insert(*n);
    }
    new
}

/// The counts so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub local_hits: u64,
    pub remote_hits: u64,
    pub ran_remotely: u64,
    pub ran_here: u64,
    pub fell_back: u64,
}

pub fn now() -> Tally {
    let n = |s| slot(s).load(Ordering::Relaxed);
    Tally {
        local_hits: n(Source::LocalHit),
        remote_hits: n(Source::RemoteHit),
        ran_remotely: n(Source::RanRemotely),
        ran_here: n(Source::RanHere),
        fell_back: n(Source::FellBack),
    }
}

impl Tally {
    pub fn total(&self) -> u64 {
        self.local_hits + self.remote_hits + self.ran_remotely + self.ran_here
    }
}

impl fmt::Display for Tally {
    /// "12 hits here, 30 remote hits, 5 ran remotely, 3 ran here (1 of
    /// them because the remote engine could not)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} hit(s) here, {} remote hit(s), {} ran remotely, {} ran here",
            self.local_hits, self.remote_hits, self.ran_remotely, self.ran_here
        )?;
        if self.fell_back > 0 {
            write!(f, " ({} of them because the remote engine could not)", self.fell_back)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_answer_is_counted_under_its_source_and_the_line_says_so() {
        let before = now();
        add(Source::LocalHit, 2);
        add(Source::RemoteHit, 3);
        add(Source::RanRemotely, 1);
        add(Source::RanHere, 4);
        add(Source::FellBack, 1);
        let t = now();
        let d = Tally {
            local_hits: t.local_hits - before.local_hits,
            remote_hits: t.remote_hits - before.remote_hits,
            ran_remotely: t.ran_remotely - before.ran_remotely,
            ran_here: t.ran_here - before.ran_here,
            fell_back: t.fell_back - before.fell_back,
        };
        assert_eq!(d.total(), 10);
        let t = Name::of_bytes(crate::Kind::Thunk, b"tally test");
        assert!(first_answer(&[t]) && !first_answer(&[t]), "a thunk is answered once");
        assert_eq!(
            d.to_string(),
            "2 hit(s) here, 3 remote hit(s), 1 ran remotely, 4 ran here (1 of them because the remote engine could not)"
        );
    }
}
