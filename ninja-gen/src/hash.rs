//! A small, fast, non-cryptographic hasher for the parser's tables.
//!
//! The keys are paths and variable names out of a manifest the user wrote, so
//! resistance to hash flooding buys nothing, while SipHash (std's default)
//! costs a noticeable share of parse time on a 100,000-path manifest. This is
//! the multiply-rotate scheme rustc uses for its own tables ("FxHash"), eight
//! bytes at a time, with a final rotation so that the low bits, which
//! `HashMap` uses to pick a bucket, depend on every input byte.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// An odd constant with well-spread bits (from the golden ratio).
const K: u64 = 0xf135_7aea_2e62_a9c5;

/// See the module documentation.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash ^ word).wrapping_mul(K).rotate_left(5);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            // Fold the length in so that "a" and "a\0" differ.
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // The last multiply leaves the high bits best mixed; bring them down.
        self.hash.wrapping_mul(K).rotate_left(26)
    }
}

/// `BuildHasher` for [`FxHasher`].
pub type FxBuildHasher = BuildHasherDefault<FxHasher>;

/// A `HashMap` using [`FxHasher`].
pub type FxHashMap<K, V> = HashMap<K, V, FxBuildHasher>;

/// Hashes a string's bytes (no terminator, unlike `str`'s `Hash`).
#[inline]
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(bytes);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_differing_in_one_late_byte_hash_differently() {
        let a = hash_bytes(b"obj/src/module_0001/file_0001.o");
        let b = hash_bytes(b"obj/src/module_0001/file_0002.o");
        assert_ne!(a, b);
        // The bucket index comes from the low bits: they must differ too.
        assert_ne!(a & 0xffff, b & 0xffff);
    }

    #[test]
    fn a_trailing_nul_changes_the_hash() {
        assert_ne!(hash_bytes(b"a"), hash_bytes(b"a\0"));
        assert_ne!(hash_bytes(b""), hash_bytes(b"\0"));
    }
}
