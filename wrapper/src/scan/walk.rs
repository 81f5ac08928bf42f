//! One scan: a worklist over files, starting at the `-include`/`-imacros`
//! files and the source. Every directive of every branch is followed, and
//! every candidate place a name could be found in that holds a regular
//! file is taken (and scanned in turn): whichever one the compiler picks
//! is then among the inputs. Computed includes wait until the worklist is
//! empty, then are expanded with every define seen so far; new files may
//! bring new defines, so this repeats until nothing new is found.

use std::collections::VecDeque;
use std::sync::Arc;

use super::directive::{Directive, Spec};
use super::dirs::Dirs;
use super::facts::{facts_with, Facts};
use super::fxhash::FxSet;
use super::macros::Macros;
use crate::path::normalize;

/// A computed operand waiting for the defines that resolve it.
#[derive(Debug)]
struct Pending {
    file: String,
    operand: String,
    /// `#include` (scan what is found) rather than `__has_include`.
    include: bool,
}

#[derive(Debug)]
pub(crate) struct Walk<'a> {
    folders: &'a [String],
    /// The store root that keeps directives across runs.
    store: Option<&'a std::path::Path>,
    dirs: Dirs,
    /// Every file found, in discovery order, and the same as a set.
    found: Vec<String>,
    found_set: FxSet<String>,
    /// Files whose directives were (or are queued to be) followed.
    queued: FxSet<String>,
    queue: VecDeque<(String, Arc<Facts>)>,
    /// Scanned files, in order: where the defines come from.
    scanned: Vec<Arc<Facts>>,
    /// `first folder \0 name \0 include` keys already searched.
    searched: FxSet<String>,
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
            found_set: FxSet::default(),
            queued: FxSet::default(),
            queue: VecDeque::new(),
            scanned: Vec::new(),
            searched: FxSet::default(),
            pending: Vec::new(),
        }
    }

    /// Adds `path` (absolute, normalised) as found; with `follow`, its own
    /// directives are followed too.
    fn take(&mut self, path: &str, meta: &std::fs::Metadata, follow: bool) {
        // Most names lead to files found before: look before allocating.
        if !self.found_set.contains(path) {
            self.found_set.insert(path.to_string());
            self.found.push(path.to_string());
        }
        if follow && !self.queued.contains(path) {
            // A file that cannot be read is left to the compiler to report;
            // it is already among the inputs.
            if let Ok(f) = facts_with(path, meta, self.store) {
                self.queued.insert(path.to_string());
                self.queue.push_back((path.to_string(), f));
            }
        }
    }

    /// Starts at a file already known to exist (the source).
    pub(crate) fn start(&mut self, path: &str, meta: &std::fs::Metadata) {
        self.take(path, meta, true);
    }

    /// Searches `name` in `first` (if any) then every search folder,
    /// taking every regular file found.
    pub(crate) fn search(&mut self, first: Option<&str>, name: &str, follow: bool) {
        if name.is_empty() {
            return;
        }
        let key = format!("{}\0{name}\0{}", first.unwrap_or(""), u8::from(follow));
        if !self.searched.insert(key) {
            return;
        }
        let plain = is_plain(name);
        let folders = self.folders;
        let first = if name.starts_with('/') { Some("/") } else { first };
        let rest = if name.starts_with('/') { &[][..] } else { folders };
        for dir in first.into_iter().chain(rest.iter().map(String::as_str)) {
            if plain {
                if let Some(meta) = self.dirs.regular_file(dir, name) {
                    let path = if dir == "/" { format!("/{name}") } else { format!("{dir}/{name}") };
                    self.take(&path, &meta, follow);
                }
            } else {
                let (path, base, file) = place(dir, name);
                if let Some(meta) = self.dirs.regular_file(&base, &file) {
                    self.take(&path, &meta, follow);
                }
            }
        }
    }

    /// Follows the directives of the queued files until none is left.
    /// `Err` is why the scan cannot be trusted.
    fn drain(&mut self) -> Result<(), String> {
        while let Some((path, facts)) = self.queue.pop_front() {
            let own = parent(&path).to_string();
            for d in &facts.parsed.directives {
                let (spec, follow) = match d {
                    Directive::Include(s) => (s, true),
                    Directive::HasInclude(s) => (s, false),
                    Directive::Define(..) => continue,
                    Directive::Embed => return Err(format!("#embed in `{path}`")),
                };
                match spec {
                    Spec::Quote(n) => self.search(Some(&own), n, follow),
                    Spec::Angle(n) => self.search(None, n, follow),
                    Spec::Computed(op) => {
                        self.pending.push(Pending { file: path.clone(), operand: op.clone(), include: follow });
                    }
                }
            }
            self.scanned.push(facts);
        }
        Ok(())
    }

    /// Runs to the fixpoint; the files found, in discovery order.
    pub(crate) fn finish(mut self, args: &[String]) -> Result<Vec<String>, String> {
        let mut macros: Option<Macros> = None;
        let mut merged = 0;
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
                if let Some(why) = m.expand(&p.operand).unresolved {
                    return Err(format!("computed include `{}` in `{}` ({why})", p.operand, p.file));
                }
            }
        }
        Ok(self.found)
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
