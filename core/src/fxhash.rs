//! A fast, non-cryptographic hasher for per-process maps of paths and file
//! names (the include scanner's, a thunk's checks of its hundreds of
//! paths), looked up thousands of times per compile, where std's
//! DoS-resistant SipHash costs more than the rest of the lookup. The keys
//! are the user's own paths, not an attacker's.

use std::hash::{BuildHasherDefault, Hasher};

/// Multiply-rotate over 8-byte words, as rustc's FxHash does.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fx(u64);

const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(c.try_into().unwrap())).wrapping_mul(K);
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        // The length keeps "ab" and "ab\0" apart.
        let last = u64::from_le_bytes(tail) ^ ((rest.len() as u64) << 59);
        self.0 = (self.0.rotate_left(5) ^ last).wrapping_mul(K);
    }

    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(i)).wrapping_mul(K);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub type FxBuild = BuildHasherDefault<Fx>;
pub type FxMap<K, V> = std::collections::HashMap<K, V, FxBuild>;
pub type FxSet<K> = std::collections::HashSet<K, FxBuild>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_keys_hash_equal_and_near_keys_apart() {
        let h = |s: &str| {
            let mut f = Fx::default();
            f.write(s.as_bytes());
            f.finish()
        };
        assert_eq!(h("/usr/include/stdio.h"), h("/usr/include/stdio.h"));
        assert_ne!(h("/usr/include/stdio.h"), h("/usr/include/stdio.i"));
        assert_ne!(h("ab"), h("ab\0"));
        let mut set: FxSet<String> = FxSet::default();
        assert!(set.insert("a".into()) && !set.insert("a".into()) && set.insert("b".into()));
    }
}
