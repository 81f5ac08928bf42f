//! The in-process include scanner: which files a compile could open,
//! without running the preprocessor. It answers a *superset* (a file too
//! many costs a little upload; a file too few would be a wrong build):
//! every branch of every `#if` is followed, every place a header name
//! could be found in is taken, computed includes are expanded with every
//! definition seen. What the model cannot cover is a [`Scanned::Fallback`]:
//! the caller then asks the preprocessor.
//!
//! Files: `lexer` finds directives, `directive` is what it keeps,
//! `encode` stores that by content hash, `facts` caches per-file facts in
//! the process (and directives in the store), `index` keeps those facts
//! in the store per folder for the next process, `dirs` checks existence
//! through cached folder listings, `found` keeps where each name was
//! found for the round, `fxhash` hashes those maps' keys,
//! `macros` resolves computed includes, `options` names the options
//! outside the model, `walk` is one scan.
//!
//! Costs, measured on 2 busy cores (`gcc_tests::scan_speed`, release):
//! `<stdio.h>`+`<stdlib.h>`+`<string.h>`, 71 files: about 7 ms cold and
//! 0.15–0.25 ms once the process has seen them (one `stat` per file and
//! folder); `<vector>`, `<string>`, `<map>`, `<iostream>`, `<algorithm>`,
//! 358 files, 5.4 MB: about 30 ms cold and 1 ms warm. `g++ -M` on the
//! latter takes some 30 ms per compile, every time.

mod directive;
pub(crate) mod dirs;
mod encode;
mod facts;
mod found;
pub(crate) use gg_core::fxhash;
mod index;
mod lexer;
mod macros;
mod names;
mod options;
mod walk;

pub use facts::{facts, facts_of, hash_now, known, take_written, use_store, Facts};
pub(crate) use found::{chain_id, intern};
pub use index::flush as flush_index;

use crate::job::Job;

/// What a scan found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scanned {
    /// Every file the compile could open: absolute, lexically normalised,
    /// the source first, then the rest sorted, each once.
    /// Interned: the caller's maps key them by address.
    Inputs(Vec<crate::interned::Interned>),
    /// The scanner cannot be sure; the caller runs the preprocessor
    /// instead. A short reason, counted in the stats.
    Fallback(String),
}

/// Whether scans work out header closures for later scans of the round
/// (see `walk`): worth it in a process that scans many compiles
/// (`gg ninja`), a cost in one that scans one (gg-cc).
static CLOSURES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes this process's scans keep header closures for the round.
pub fn keep_closures() {
    CLOSURES.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Scans `job`'s compile for the files it could open.
pub fn scan(job: &Job<'_>) -> Scanned {
    let compile = job.compile;
    if let Some(opt) = options::unsupported(&compile.args) {
        return Scanned::Fallback(format!("option {opt}"));
    }
    use_store(job.store.root());
    let source = job.absolute(&compile.source);
    let Some(meta) = crate::snapshot::metadata(&source).filter(|m| m.is_file()) else {
        return Scanned::Fallback("the source is not a regular file".into());
    };
    let folders = job.search_folders();
    let closures =
        if CLOSURES.load(std::sync::atomic::Ordering::Relaxed) { walk::Closures::Make } else { walk::Closures::Off };
    let mut walk = walk::Walk::new(&folders, Some(job.store.root())).with_closures(closures);
    walk.start(&source, &meta);
    // `-include`/`-imacros` files: the working folder first, then as a
    // quoted include of the source (gcc: "the remainder of the quote
    // chain"; the source's folder too, as a superset).
    // gcc reads glibc's `stdc-predef.h` before anything else unless told
    // `-nostdinc` (found through the default folders; see thunkgen).
    if job.toolchain.family == crate::toolchain::Family::Gcc && !compile.nostdinc {
        walk.search(None, "stdc-predef.h", true);
    }
    let cwd = job.absolute(".");
    let source_dir = std::path::Path::new(&source).parent().map(|p| p.to_string_lossy().into_owned());
    for name in crate::args::option_values(&compile.args, &["-include", "-imacros"]) {
        walk.search(Some(&cwd), &name, true);
        walk.search(source_dir.as_deref(), &name, true);
    }
    match walk.finish(&compile.args) {
        Ok(found) => Scanned::Inputs(found),
        Err(why) => Scanned::Fallback(why),
    }
}

#[cfg(test)]
mod gcc_tests;
#[cfg(test)]
mod scan_tests;
