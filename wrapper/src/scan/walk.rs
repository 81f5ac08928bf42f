//! One scan: a worklist over files, starting at the `-include`/`-imacros`
//! files and the source. Every directive of every branch is followed, and
//! every candidate place a name could be found in that holds a regular
//! file is taken (and scanned in turn): whichever one the compiler picks
//! is then among the inputs. Computed includes wait until the worklist is
//! empty, then are expanded with every define seen so far; new files may
//! bring new defines, so this repeats until nothing new is found.
//!
//! What a header leads to does not depend on who includes it (every
//! branch is taken, a quoted name is looked for beside the header itself,
//! `#include_next` searches every folder), so a scan keeps, for the
//! round, each header's *closure*: every file reached from it. A later
//! scan that reaches the header takes the closure whole instead of
//! walking it again. A closure that meets a computed include is not kept
//! (its meaning depends on the defines seen elsewhere): such headers are
//! walked every time.

use std::collections::VecDeque;
use std::sync::{Arc, LazyLock};

use super::directive::{Directive, Spec};
use super::dirs::Dirs;
use super::facts::{facts_with, Facts};
use super::found::{self, Places};
use super::fxhash::FxSet;
use super::macros::Macros;
use crate::path::normalize;
use crate::snapshot::RoundMemo;

/// A computed operand waiting for the defines that resolve it.
#[derive(Debug)]
struct Pending {
    file: String,
    operand: String,
    /// `#include` (scan what is found) rather than `__has_include`.
    include: bool,
    /// Read only if the operand is defined (see
    /// [`Directive::IncludeIfDefined`]).
    if_defined: bool,
}

/// Every file reached from one header: the closures of the headers its
/// walk took whole (`parts`), and the files it found beyond them, with
/// whether each was followed (rather than only probed by
/// `__has_include`) and the facts of those it followed (for defines,
/// should another file need them). Kept as parts, not flattened: the
/// closures of a project's headers share the library's (`<vector>`: some
/// 400 files), which a scan then takes once, not once per header.
#[derive(Debug)]
pub(crate) struct Closure {
    files: Vec<(Arc<str>, bool)>,
    parts: Vec<Arc<Closure>>,
    facts: Vec<Arc<Facts>>,
}

/// Closures by search folders and header, for the round; `None` for a
/// header whose closure cannot be kept.
static CLOSURES: LazyLock<RoundMemo<Option<Arc<Closure>>>> = LazyLock::new(RoundMemo::default);

/// Closures taken whole so far (tests: proof that they are).
#[cfg(test)]
pub(crate) static ABSORBED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Whether a walk works out closures of the headers it reaches (the
/// compile's own walk), only takes those already known (a walk working one
/// out), or neither (tests of the plain walk).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Closures {
    Make,
    Reuse,
    Off,
}

#[derive(Debug)]
pub(crate) struct Walk<'a> {
    folders: &'a [String],
    /// The store root that keeps directives across runs.
    store: Option<&'a std::path::Path>,
    dirs: Dirs,
    /// Every file found, in discovery order, and the same as a set.
    /// Paths are interned (see [`found::intern`]) and the sets keyed by
    /// their address: a closure taken whole adds hundreds of files to each
    /// of thousands of scans, and copying and hashing every path in each
    /// was most of what a scan cost.
    found: Vec<Arc<str>>,
    found_set: FxSet<usize>,
    /// Of `found`, those not taken from a closure.
    own: Vec<Arc<str>>,
    /// Files whose directives were (or are queued to be) followed.
    queued: FxSet<usize>,
    queue: VecDeque<(Arc<str>, Arc<Facts>)>,
    /// Scanned files, in order: where the defines come from.
    scanned: Vec<Arc<Facts>>,
    /// The search folders' number (see [`found::chain_id`]).
    chain: u64,
    /// `chain \0 first folder \0 name \0 include` keys already searched.
    searched: FxSet<String>,
    /// Where the next key is built (a search allocates nothing when its
    /// question was asked before).
    key: String,
    closures: Closures,
    /// Closures taken whole (their parts too, each once), and how many of
    /// them (and of `scanned`) have given their defines to the macros.
    used: Vec<Arc<Closure>>,
    /// Those taken for a header this walk reached itself.
    parts: Vec<Arc<Closure>>,
    /// Every closure in `used`, by address.
    used_set: FxSet<usize>,
    pending: Vec<Pending>,
}

/// Whether `name` is a plain relative path (no `.`, `..` or empty part):
/// then `dir/name` needs no normalising.
fn is_plain(name: &str) -> bool {
    !name.starts_with('/') && name.split('/').all(|p| !p.is_empty() && p != "." && p != "..")
}

/// `name` (not plain) under `dir`, normalised: the path, and the folder
/// and file name to look it up by.
fn place(dir: &str, name: &str) -> (String, String, String) {
    let path = if name.starts_with('/') { normalize(name) } else { normalize(&format!("{dir}/{name}")) };
    let (base, file) = path.rsplit_once('/').unwrap_or(("", &path));
    let base = if base.is_empty() { "/" } else { base };
    (path.clone(), base.to_string(), file.to_string())
}

/// An interned path's key in a walk's sets: its address.
fn key(path: &Arc<str>) -> usize {
    Arc::as_ptr(path) as *const u8 as usize
}

fn parent(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((p, _)) => p,
    }
}

impl<'a> Walk<'a> {
    pub(crate) fn new(folders: &'a [String], store: Option<&'a std::path::Path>) -> Walk<'a> {
        Walk {
            folders,
            store,
            dirs: Dirs::default(),
            found: Vec::new(),
            found_set: FxSet::with_capacity_and_hasher(1024, Default::default()),
            own: Vec::new(),
            queued: FxSet::with_capacity_and_hasher(1024, Default::default()),
            queue: VecDeque::new(),
            scanned: Vec::new(),
            chain: found::chain_id(folders),
            searched: FxSet::default(),
            key: String::with_capacity(256),
            closures: Closures::Off,
            used: Vec::new(),
            parts: Vec::new(),
            used_set: FxSet::default(),
            pending: Vec::new(),
        }
    }

    /// This walk with closures made, taken, or neither.
    pub(crate) fn with_closures(mut self, closures: Closures) -> Self {
        self.closures = closures;
        self
    }

    /// Adds `path` (absolute, normalised) as found; with `follow`, its own
    /// directives are followed too.
    fn take(&mut self, path: &Arc<str>, meta: &std::fs::Metadata, follow: bool) {
        if self.found_set.insert(key(path)) {
            self.found.push(Arc::clone(path));
            self.own.push(Arc::clone(path));
        }
        if follow && !self.queued.contains(&key(path)) {
            if self.closures != Closures::Off {
                if let Some(c) = self.closure(path, meta) {
                    self.absorb(path, c);
                    return;
                }
            }
            self.queue_file(path, meta);
        }
    }

    fn queue_file(&mut self, path: &Arc<str>, meta: &std::fs::Metadata) {
        // A file that cannot be read is left to the compiler to report;
        // it is already among the inputs.
        if let Ok(f) = facts_with(path, meta, self.store) {
            self.queued.insert(key(path));
            self.queue.push_back((Arc::clone(path), f));
        }
    }

    /// The closure of the header at `path`: this round's, or (making
    /// closures) worked out now by a walk of its own.
    fn closure(&mut self, path: &Arc<str>, meta: &std::fs::Metadata) -> Option<Arc<Closure>> {
        use std::fmt::Write as _;
        self.key.clear();
        let _ = write!(self.key, "{:x}\0{path}", self.chain);
        if let Some(known) = CLOSURES.get(&self.key) {
            return known;
        }
        if self.closures != Closures::Make {
            return None;
        }
        let mut sub = Walk::new(self.folders, self.store).with_closures(Closures::Reuse);
        sub.queue_file(path, meta);
        let made = match sub.drain() {
            Ok(()) if sub.pending.is_empty() => {
                let files = sub.own.iter().map(|f| (Arc::clone(f), sub.queued.contains(&key(f)))).collect();
                Some(Arc::new(Closure { files, parts: sub.parts, facts: sub.scanned }))
            }
            _ => None,
        };
        self.key.clear();
        let _ = write!(self.key, "{:x}\0{path}", self.chain);
        CLOSURES.put(&self.key, made.clone());
        made
    }

    /// Takes every file of `c` (the closure of `path`) as found, those it
    /// followed as followed.
    fn absorb(&mut self, path: &Arc<str>, c: Arc<Closure>) {
        #[cfg(test)]
        ABSORBED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.queued.insert(key(path));
        self.parts.push(Arc::clone(&c));
        // Parts are taken depth first, each once per walk.
        let mut todo = vec![c];
        while let Some(c) = todo.pop() {
            if !self.used_set.insert(Arc::as_ptr(&c) as usize) {
                continue;
            }
            for (f, followed) in &c.files {
                if self.found_set.insert(key(f)) {
                    self.found.push(Arc::clone(f));
                }
                if *followed {
                    self.queued.insert(key(f));
                }
            }
            todo.extend(c.parts.iter().cloned());
            self.used.push(c);
        }
    }

    /// Starts at a file already known to exist (the source): walked
    /// itself, never taken as a closure.
    pub(crate) fn start(&mut self, path: &str, meta: &std::fs::Metadata) {
        let path = found::intern(path);
        if self.found_set.insert(key(&path)) {
            self.found.push(Arc::clone(&path));
            self.own.push(Arc::clone(&path));
        }
        if !self.queued.contains(&key(&path)) {
            self.queue_file(&path, meta);
        }
    }

    /// Searches `name` in `first` (if any) then every search folder,
    /// taking every regular file found.
    pub(crate) fn search(&mut self, first: Option<&str>, name: &str, follow: bool) {
        if name.is_empty() {
            return;
        }
        use std::fmt::Write as _;
        let first = if name.starts_with('/') { Some("/") } else { first };
        self.key.clear();
        let _ = write!(self.key, "{:x}\0{}\0{name}\0", self.chain, first.unwrap_or(""));
        let question = self.key.len() - 1;
        self.key.push(if follow { '1' } else { '0' });
        if self.searched.contains(self.key.as_str()) {
            return;
        }
        self.searched.insert(self.key.clone());
        let places = match found::get(&self.key[..question]) {
            Some(p) => p,
            None => {
                let p = self.probe(first, name);
                found::put(&self.key[..question], p.clone());
                p
            }
        };
        for (path, meta) in places.iter() {
            self.take(path, meta, follow);
        }
    }

    /// Every regular file `name` is found as, searching `first` (if any)
    /// then every search folder.
    fn probe(&mut self, first: Option<&str>, name: &str) -> Places {
        let plain = is_plain(name);
        let rest = if name.starts_with('/') { &[][..] } else { self.folders };
        let mut places = Vec::new();
        for dir in first.into_iter().chain(rest.iter().map(String::as_str)) {
            if plain {
                if let Some(meta) = self.dirs.regular_file(dir, name) {
                    let path = if dir == "/" { format!("/{name}") } else { format!("{dir}/{name}") };
                    places.push((found::intern(&path), meta));
                }
            } else {
                let (path, base, file) = place(dir, name);
                if let Some(meta) = self.dirs.regular_file(&base, &file) {
                    places.push((found::intern(&path), meta));
                }
            }
        }
        places.into()
    }

    /// Follows the directives of the queued files until none is left.
    /// `Err` is why the scan cannot be trusted.
    fn drain(&mut self) -> Result<(), String> {
        while let Some((path, facts)) = self.queue.pop_front() {
            let own = parent(&path).to_string();
            let path: &str = &path;
            for d in &facts.parsed.directives {
                let (spec, follow) = match d {
                    Directive::Include(s) => (s, true),
                    Directive::HasInclude(s) => (s, false),
                    Directive::Define(..) => continue,
                    Directive::Embed => return Err(format!("#embed in `{path}`")),
                    Directive::IncludeIfDefined(op) => {
                        let p = Pending { file: path.into(), operand: op.clone(), include: true, if_defined: true };
                        self.pending.push(p);
                        continue;
                    }
                };
                match spec {
                    Spec::Quote(n) => self.search(Some(&own), n, follow),
                    Spec::Angle(n) => self.search(None, n, follow),
                    Spec::Computed(op) => {
                        let p = Pending { file: path.into(), operand: op.clone(), include: follow, if_defined: false };
                        self.pending.push(p);
                    }
                }
            }
            self.scanned.push(facts);
        }
        Ok(())
    }

    /// Runs to the fixpoint; the files found, in discovery order.
    pub(crate) fn finish(mut self, args: &[String]) -> Result<Vec<crate::interned::Interned>, String> {
        let mut macros: Option<Macros> = None;
        let (mut merged, mut merged_closures) = (0, 0);
        loop {
            self.drain()?;
            if self.pending.is_empty() {
                break;
            }
            // Defines are only gathered when some operand needs them.
            let m = macros.get_or_insert_with(|| {
                let mut m = Macros::default();
                m.add_args(args);
                m
            });
            for f in &self.scanned[merged..] {
                m.add_file(f);
            }
            merged = self.scanned.len();
            // And those of the files in the closures taken whole.
            for c in &self.used[merged_closures..] {
                for f in &c.facts {
                    m.add_file(f);
                }
            }
            merged_closures = self.used.len();
            let mut names = Vec::new();
            for p in &self.pending {
                for spec in m.expand(&p.operand).names {
                    names.push((parent(&p.file).to_string(), spec, p.include));
                }
            }
            for (own, spec, follow) in names {
                match spec {
                    Spec::Quote(n) => self.search(Some(&own), &n, follow),
                    Spec::Angle(n) => self.search(None, &n, follow),
                    Spec::Computed(_) => {}
                }
            }
            if self.queue.is_empty() {
                break;
            }
        }
        if let Some(m) = &macros {
            for p in &self.pending {
                // Defined nowhere: the compiler skips it too. A name
                // reserved to the implementation may be one of the
                // compiler's own macros, which the scanner does not know.
                let reserved = p.operand.starts_with("__")
                    || p.operand.starts_with('_') && p.operand[1..].starts_with(|c: char| c.is_ascii_uppercase());
                if p.if_defined && !reserved && !m.is_defined(&p.operand) {
                    continue;
                }
                if let Some(why) = m.expand(&p.operand).unresolved {
                    return Err(format!("computed include `{}` in `{}` ({why})", p.operand, p.file));
                }
            }
        }
        // The source first, then the rest sorted: the same list however
        // much was taken from closures.
        if self.found.len() > 2 {
            self.found[1..].sort_unstable();
        }
        Ok(self.found.into_iter().map(crate::interned::Interned::from_interned).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_dots_are_placed_by_normalising() {
        assert!(is_plain("c/d.h") && !is_plain("./d.h") && !is_plain("a//b.h") && !is_plain("/x.h"));
        assert_eq!(place("/a/b", "../d.h"), ("/a/d.h".into(), "/a".into(), "d.h".into()));
        assert_eq!(place("/", "x.h"), ("/x.h".into(), "/".into(), "x.h".into()));
        assert_eq!(place("/a", "/abs/./y.h"), ("/abs/y.h".into(), "/abs".into(), "y.h".into()));
        assert_eq!(place("/a", "../../z.h"), ("/z.h".into(), "/".into(), "z.h".into()));
        assert_eq!(parent("/a/b.h"), "/a");
        assert_eq!(parent("/b.h"), "/");
    }
}
