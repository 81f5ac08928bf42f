//! `gg ninja`'s translation of a Ninja build: the dirty edges of a parsed
//! manifest found by Ninja's rules ([`dirty`]), each classified
//! (compile, archive, link, or a command run here), compiles turned into
//! thunks and forced together on the engine with the archives and links
//! that consume them, everything else run here in graph order, and
//! `.ninja_log`/`.ninja_deps` written as Ninja writes them ([`logs`]), so
//! plain `ninja` and `gg ninja` take turns on one build folder. [`Build`]
//! drives one pass; the command line (gg's `ninja` subcommand) reads the
//! manifest and loops while the manifest regenerates itself.

pub mod color;
mod compile_round;
pub mod dirty;
mod exec;
mod kind;
pub mod logs;
mod state;
mod steps;

#[cfg(test)]
mod dirty_tests;

pub use exec::Build;

/// How the build runs.
#[derive(Debug)]
pub struct Options {
    pub jobs: usize,
    /// Failures that stop the build (0: none does).
    pub keep_going: usize,
    pub verbose: bool,
    pub keep_remote: bool,
    /// Whether commands' escape sequences are printed (else stripped), by
    /// Ninja's rule (see [`color`]).
    pub color: bool,
    /// Compiles that miss run in place and are recorded, as gg-cc's depend
    /// mode does (the local engine: no sandbox, no scan).
    pub in_place: bool,
}
