//! gg's build translation: what a whole-build frontend (`gg ninja`) needs
//! beyond gg-cc's compiler models. Compiles planned ahead ([`plan`]),
//! archives and links modelled as thunks ([`archive`], [`link`]), the
//! tools they run discovered and cached across runs ([`tool`]), and
//! [`ninja`]: a Ninja graph's dirty edges found by Ninja's rules and run,
//! compiles, archives and links as thunks on the engine, the rest here.
//!
//! Dependencies point one way: `gg` (the command line) → this crate →
//! gg-wrapper (classification, toolchains, the compile thunk) → gg-core.

pub mod archive;
pub mod archiver;
pub mod link;
pub mod ninja;
pub mod plan;
pub mod thin;
pub mod tool;
mod tool_cache;
