//! `GG_LOG=debug`: why a lookup missed, what was run, on stderr.

use std::sync::OnceLock;

/// Whether `GG_LOG=debug` is set.
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(gg_core::env::log_debug)
}

/// Prints `msg` when `GG_LOG=debug`.
pub fn debug(msg: &str) {
    if enabled() {
        eprintln!("gg-cc: {msg}");
    }
}
