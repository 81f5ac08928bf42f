//! Whether this call already ran the compiler or served a hit. From then
//! on gg-cc must not fall back to running the compiler again on an error:
//! the build would see every diagnostic twice, and a compile that failed
//! once would run a second time.

use std::sync::atomic::{AtomicBool, Ordering};

static RAN: AtomicBool = AtomicBool::new(false);

/// Notes that the compiler's result (its files or its messages) reached
/// the user.
pub fn mark() {
    RAN.store(true, Ordering::Relaxed);
}

/// Whether [`mark`] was called.
pub fn already() -> bool {
    RAN.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_sticks_once_made() {
        mark();
        assert!(already());
    }
}
