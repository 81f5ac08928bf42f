//! Paths interned for the process: each text has one `Arc`, so maps of
//! per-file work are keyed by its address. A round of `gg ninja` prepares
//! thousands of compiles that each name hundreds of the same headers;
//! hashing and comparing every path's text in every map it passes through
//! (scan sets, the round's stat and facts, shadow places) was a good part
//! of a compile's cost to the client.
//!
//! The table lives as long as the process (a path once seen is likely to
//! be seen again; a round's paths are a few thousand).

use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::ops::Deref;
use std::sync::{Arc, LazyLock, Mutex};

use gg_core::fxhash::{Fx, FxSet};

/// Shards of the table: `-j` threads intern at once.
static PATHS: LazyLock<[Mutex<FxSet<Arc<str>>>; 16]> = LazyLock::new(Default::default);

/// The one `Arc` for `path`.
pub(crate) fn intern(path: &str) -> Arc<str> {
    let h = BuildHasherDefault::<Fx>::default().hash_one(path);
    let mut shard = PATHS[(h as usize) % PATHS.len()].lock().expect("paths");
    if let Some(p) = shard.get(path) {
        return Arc::clone(p);
    }
    let p: Arc<str> = path.into();
    shard.insert(Arc::clone(&p));
    p
}

/// A path with one `Arc` per text in the process: equal paths are the
/// same address, which is what it hashes and compares by.
#[derive(Clone)]
pub struct Interned(Arc<str>);

impl Interned {
    /// `path`'s one copy.
    pub fn new(path: &str) -> Interned {
        Interned(intern(path))
    }

    /// Wraps an `Arc` that [`intern`] gave (the scanner keeps those).
    pub(crate) fn from_interned(path: Arc<str>) -> Interned {
        debug_assert!(Arc::ptr_eq(&path, &intern(&path)), "`{path}` was not interned");
        Interned(path)
    }

    /// Its key in maps by address.
    pub fn addr(&self) -> usize {
        Arc::as_ptr(&self.0) as *const u8 as usize
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Interned {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Interned {
    fn eq(&self, other: &Interned) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Interned {}

impl Hash for Interned {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.addr().hash(state);
    }
}

impl PartialEq<str> for Interned {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Interned {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Interned {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl fmt::Debug for Interned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Interned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Written as the text it is (manifests keep paths as plain strings).
impl serde::Serialize for Interned {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Read as text and interned: a manifest's hundreds of paths are mostly
/// ones the process holds already, so reading one allocates little.
impl<'de> serde::Deserialize<'de> for Interned {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Interned, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = Interned;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a path")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Interned, E> {
                Ok(Interned::new(v))
            }
        }
        d.deserialize_str(Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_are_one_address_and_different_ones_are_not() {
        let a = Interned::new("/usr/include/stdio.h");
        let b = Interned::new(&String::from("/usr/include/stdio.h"));
        let c = Interned::new("/usr/include/stdlib.h");
        assert_eq!(a.addr(), b.addr());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, "/usr/include/stdio.h");
        assert_eq!(Interned::from_interned(intern("/x.h")), Interned::new("/x.h"));
    }

    #[test]
    fn a_path_reads_back_as_the_same_interned_text() {
        let a = Interned::new("/usr/include/stdio.h");
        let bytes = postcard::to_allocvec(&a).unwrap();
        assert_eq!(postcard::to_allocvec("/usr/include/stdio.h").unwrap(), bytes, "written as plain text");
        let back: Interned = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.addr(), a.addr());
    }
}
