//! Interning: path → node id, and variable name → symbol.
//!
//! Paths are the bulk of a manifest (two or more per edge, 60-odd bytes each),
//! so the path table stores no second copy of them: it is an open-addressing
//! table of `(hash, id)` pairs and compares candidates against the node's own
//! path, which the graph already owns. Variable names are few and repeat on
//! every edge (`cflags`, `depfile`), so each gets a small integer [`Sym`] and
//! the scopes key on that.

use crate::hash::{hash_bytes, FxHashMap};

/// An empty slot.
const EMPTY: u32 = u32::MAX;

/// Maps canonical paths to dense `u32` ids; the caller owns the strings.
#[derive(Debug, Default)]
pub(crate) struct PathTable {
    /// `(hash, id)`; `id == EMPTY` marks a free slot. Length is a power of two.
    slots: Vec<(u64, u32)>,
    len: usize,
}

impl PathTable {
    /// Finds `path`'s id; `path_of` gives the string for an id in the table.
    pub(crate) fn get<'s>(&self, path: &str, path_of: impl Fn(u32) -> &'s str) -> Option<u32> {
        self.get_hashed(hash_bytes(path.as_bytes()), path, path_of)
    }

    /// [`PathTable::get`] with `hash == hash_bytes(path)` already computed.
    pub(crate) fn get_hashed<'s>(&self, hash: u64, path: &str, path_of: impl Fn(u32) -> &'s str) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let (h, id) = self.slots[i];
            if id == EMPTY {
                return None;
            }
            if h == hash && path_of(id) == path {
                return Some(id);
            }
            i = (i + 1) & mask;
        }
    }

    /// Records that `path` (not yet in the table) has id `id`.
    #[cfg(test)]
    pub(crate) fn insert_new(&mut self, path: &str, id: u32) {
        self.insert_hashed(hash_bytes(path.as_bytes()), id);
    }

    /// [`PathTable::insert_new`] with the path's hash already computed.
    pub(crate) fn insert_hashed(&mut self, hash: u64, id: u32) {
        // Keep the load under a half so probe runs stay short.
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        self.place(hash, id);
        self.len += 1;
    }

    fn place(&mut self, hash: u64, id: u32) {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        while self.slots[i].1 != EMPTY {
            i = (i + 1) & mask;
        }
        self.slots[i] = (hash, id);
    }

    fn grow(&mut self) {
        let new_len = (self.slots.len() * 2).max(1024);
        let old = std::mem::replace(&mut self.slots, vec![(0, EMPTY); new_len]);
        for (hash, id) in old {
            if id != EMPTY {
                self.place(hash, id);
            }
        }
    }
}

/// A variable name, interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Sym(pub(crate) u32);

/// Names interned first, in this order, so their symbols are constants.
pub(crate) const PREDEFINED: [&str; 14] = [
    "in",
    "in_newline",
    "out",
    // The keys a rule may bind, in `RuleKey` order.
    "command",
    "depfile",
    "dyndep",
    "deps",
    "msvc_deps_prefix",
    "description",
    "generator",
    "pool",
    "restat",
    "rspfile",
    "rspfile_content",
];
pub(crate) const SYM_IN: Sym = Sym(0);
pub(crate) const SYM_IN_NEWLINE: Sym = Sym(1);
pub(crate) const SYM_OUT: Sym = Sym(2);
/// The symbol of the first rule key; rule key `k` is `Sym(FIRST_RULE_KEY + k)`.
pub(crate) const FIRST_RULE_KEY: u32 = 3;

/// Variable names ↔ symbols.
#[derive(Debug)]
pub(crate) struct Symbols {
    ids: FxHashMap<Box<str>, Sym>,
    names: Vec<Box<str>>,
}

impl Default for Symbols {
    fn default() -> Self {
        let mut s = Symbols { ids: FxHashMap::default(), names: Vec::new() };
        for name in PREDEFINED {
            s.intern(name);
        }
        s
    }
}

impl Symbols {
    pub(crate) fn intern(&mut self, name: &str) -> Sym {
        if let Some(&sym) = self.ids.get(name) {
            return sym;
        }
        let sym = Sym(self.names.len() as u32);
        self.names.push(name.into());
        self.ids.insert(name.into(), sym);
        sym
    }

    /// The symbol for `name` if it was ever interned. A name never interned
    /// was never bound anywhere, so it evaluates to the empty string.
    pub(crate) fn get(&self, name: &str) -> Option<Sym> {
        self.ids.get(name).copied()
    }

    pub(crate) fn name(&self, sym: Sym) -> &str {
        &self.names[sym.0 as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_table_finds_every_path_it_was_given_across_growth() {
        let paths: Vec<String> = (0..5000).map(|i| format!("obj/dir_{}/file_{i}.o", i % 7)).collect();
        let mut t = PathTable::default();
        for (i, p) in paths.iter().enumerate() {
            assert_eq!(t.get(p, |id| &paths[id as usize]), None);
            t.insert_new(p, i as u32);
        }
        for (i, p) in paths.iter().enumerate() {
            assert_eq!(t.get(p, |id| &paths[id as usize]), Some(i as u32));
        }
        assert_eq!(t.get("obj/missing.o", |id| &paths[id as usize]), None);
    }

    #[test]
    fn predefined_symbols_have_their_constant_values() {
        let s = Symbols::default();
        assert_eq!(s.get("in"), Some(SYM_IN));
        assert_eq!(s.get("in_newline"), Some(SYM_IN_NEWLINE));
        assert_eq!(s.get("out"), Some(SYM_OUT));
        assert_eq!(s.get("command"), Some(Sym(FIRST_RULE_KEY)));
        assert_eq!(s.name(Sym(FIRST_RULE_KEY + 10)), "rspfile_content");
    }
}
