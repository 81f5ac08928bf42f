//! Which files travel with a compile sent away: the include scanner's
//! superset (no process), or, where the scanner cannot be sure or
//! `GG_SCAN=preprocessor` asks, the preprocessor's own list (`cc -M`).
//! Either only decides what the sandbox holds: the compile's exact list
//! comes back from the compile itself (see `thunkgen::DEPS_OUTPUT`).
//! With `GG_VERIFY_SCAN=1` the scanner is checked against the compiler.

use anyhow::Result;

use crate::interned::Interned;
use crate::job::Job;
use crate::scan::{self, Scanned};
use crate::stats::{self, Event};

/// A file the compiler read that the scanner did not list.
#[derive(Debug)]
pub struct Missed {
    pub source: String,
    pub header: String,
}

impl std::fmt::Display for Missed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the include scanner missed `{}`, which compiling `{}` reads", self.header, self.source)
    }
}

impl std::error::Error for Missed {}

/// The files a compile's thunk carries.
#[derive(Debug)]
pub struct Chosen {
    /// The source first; absolute and normal (see [`interned`]).
    pub files: Vec<Interned>,
    /// Chosen by the scanner (a superset), not the preprocessor (exact):
    /// a compile that fails on them is run in place before it is
    /// reported, in case the scanner missed what it failed on.
    pub scanned: bool,
}

/// The files to send, or `None` when the preprocessor fails (the compile
/// in place then reports the error as the compiler words it). With
/// `GG_VERIFY_SCAN=1` a scanner miss is an error ([`Missed`]).
pub fn choose(job: &Job<'_>) -> Result<Option<Chosen>> {
    let exact = |files: Option<Vec<String>>| {
        files.map(|files| Chosen { files: files.iter().map(|p| interned(job, p)).collect(), scanned: false })
    };
    if !job.compile.lang.preprocessed_by_compiler() {
        return Ok(exact(Some(vec![job.compile.source.clone()])));
    }
    if gg_core::env::scan_with_preprocessor() {
        return Ok(exact(preprocessor(job)?));
    }
    match scan::scan(job) {
        Scanned::Inputs(files) => {
            if gg_core::env::verify_scan() {
                let Some(read) = preprocessor(job)? else { return Ok(None) };
                verify(job, &files, &read)?;
            }
            Ok(Some(Chosen { files, scanned: true }))
        }
        Scanned::Fallback(why) => {
            crate::log::debug(&format!("the include scanner falls back to the preprocessor: {why}"));
            stats::note(job.store, &Event::ScanFallback(why));
            Ok(exact(preprocessor(job)?))
        }
    }
}

/// `p` (relative to the job's folder, or absolute) as an absolute, normal,
/// interned path: the scanner's paths are already, a depfile's or the
/// deps log's are made so.
pub fn interned(job: &Job<'_>, p: &str) -> Interned {
    if crate::path::is_normal_absolute(p) {
        return Interned::new(p);
    }
    // Joining and normalising is pure: remembered per thread and working
    // folder, as a round's depfiles spell the same headers the same way
    // thousands of times.
    type Relative = (std::path::PathBuf, gg_core::fxhash::FxMap<String, Interned>);
    thread_local! {
        static RELATIVE: std::cell::RefCell<Relative> = Default::default();
    }
    RELATIVE.with(|r| {
        let mut r = r.borrow_mut();
        if r.0 != job.cwd {
            r.0 = job.cwd.clone();
            r.1.clear();
        }
        if let Some(i) = r.1.get(p) {
            return i.clone();
        }
        let i = Interned::new(&job.absolute(p));
        r.1.insert(p.to_string(), i.clone());
        i
    })
}

/// The preprocessor's list (`cc -M`), source first.
fn preprocessor(job: &Job<'_>) -> Result<Option<Vec<String>>> {
    let Some(text) = crate::deps::scan(job)? else { return Ok(None) };
    match crate::depfile::inputs(&text) {
        Ok(files) => Ok(Some(files)),
        Err(e) => {
            crate::log::debug(&format!("the dependency scan is unreadable: {e}"));
            Ok(None)
        }
    }
}

/// Errs naming the first file of `exact` (what the compiler read) that
/// `scanned` lacks; both may be relative to the job's folder.
pub fn verify(job: &Job<'_>, scanned: &[Interned], exact: &[String]) -> Result<(), Missed> {
    let have: std::collections::HashSet<&str> = scanned.iter().map(Interned::as_str).collect();
    match exact.iter().find(|p| !have.contains(job.absolute(p).as_str())) {
        Some(header) => {
            let missed = Missed { source: job.compile.source.clone(), header: header.clone() };
            stats::note(job.store, &Event::ScanMissed);
            Err(missed)
        }
        None => Ok(()),
    }
}

/// With `GG_VERIFY_SCAN=1`, on a compile that ran in place: the scanner
/// against the list the compiler wrote (no second preprocessor run).
pub fn verify_in_place(job: &Job<'_>, exact: &[String]) -> Result<(), Missed> {
    if !gg_core::env::verify_scan() || !job.compile.lang.preprocessed_by_compiler() {
        return Ok(());
    }
    match scan::scan(job) {
        Scanned::Inputs(files) => verify(job, &files, exact),
        Scanned::Fallback(why) => {
            stats::note(job.store, &Event::ScanFallback(why));
            Ok(())
        }
    }
}
