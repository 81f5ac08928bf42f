//! The facts index: kept per folder, used only while a file's stamp holds,
//! never for a file read too soon after a change, merged across processes,
//! and a miss when damaged.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use gg_core::{Name, Store};

use super::{flush, forget, lookup, path_of};
use crate::scan::dirs::Stamp;

/// A store and a header folder in a temp tree.
struct Tree {
    dir: tempfile::TempDir,
    store: Store,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("store")).unwrap();
        Tree { dir, store }
    }

    fn path(&self, name: &str) -> String {
        format!("{}/inc/{name}", self.dir.path().canonicalize().unwrap().display())
    }

    /// Writes `inc/name`, last changed an hour ago unless `fresh`.
    fn write(&self, name: &str, text: &str, fresh: bool) -> String {
        let p = self.path(name);
        fs::create_dir_all(Path::new(&p).parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
        if !fresh {
            let old = SystemTime::now() - Duration::from_secs(3600);
            fs::File::options().write(true).open(&p).unwrap().set_modified(old).unwrap();
        }
        p
    }

    /// The facts of `path` as a process that just started would find them.
    fn learn(&self, path: &str) -> Name {
        forget();
        crate::scan::facts::forget();
        let meta = fs::metadata(path).unwrap();
        crate::scan::facts::facts_with(path, &meta, Some(self.store.root())).unwrap().hash
    }

    /// What a new process finds in the index for `path`.
    fn indexed(&self, path: &str) -> Option<Name> {
        forget();
        let stamp = Stamp::of_meta(&fs::metadata(path).unwrap());
        lookup(self.store.root(), path, &stamp, |_| None).map(|(h, _)| h)
    }
}

#[test]
fn a_header_met_before_is_found_by_the_next_process_with_its_directives() {
    let t = Tree::new();
    let text = "#include <stdio.h>\n#define K \"k.h\"\n#include K\n";
    let a = t.write("a.h", text, false);
    assert_eq!(t.indexed(&a), None, "nothing is indexed before a flush");
    assert_eq!(t.learn(&a), Name::of_value(text.as_bytes()));
    flush();
    assert!(path_of(t.store.root(), Path::new(&a).parent().unwrap().to_str().unwrap()).is_file());
    assert_eq!(t.indexed(&a), Some(Name::of_value(text.as_bytes())));
    // The facts a new process gets through the index are those of a read.
    forget();
    crate::scan::facts::forget();
    let via_index = super::super::facts::facts_with(&a, &fs::metadata(&a).unwrap(), Some(t.store.root())).unwrap();
    assert_eq!(via_index.hash, Name::of_value(text.as_bytes()));
    assert_eq!(via_index.size, text.len() as u64);
    assert_eq!(via_index.parsed.read_back(), super::super::lexer::lex(text.as_bytes()).read_back());
    assert!(via_index.parsed.stored_defines.is_some(), "the define of `K` stays encoded");
}

#[test]
fn a_header_changed_since_is_read_again_even_with_its_size_and_mtime_kept() {
    let t = Tree::new();
    let a = t.write("a.h", "#include \"one.h\"\n", false);
    t.learn(&a);
    flush();
    let before = fs::metadata(&a).unwrap().modified().unwrap();
    // Same length, same mtime: only the change time (and the bytes) differ.
    fs::write(&a, "#include \"two.h\"\n").unwrap();
    fs::File::options().write(true).open(&a).unwrap().set_modified(before).unwrap();
    assert_eq!(t.indexed(&a), None, "a changed stamp is a miss");
    assert_eq!(t.learn(&a), Name::of_value(b"#include \"two.h\"\n"));
}

#[test]
fn a_header_read_too_soon_after_a_change_is_not_recorded() {
    let t = Tree::new();
    let a = t.write("new.h", "int x;\n", true);
    t.learn(&a);
    flush();
    assert_eq!(t.indexed(&a), None);
}

#[test]
fn records_of_two_processes_are_merged() {
    let t = Tree::new();
    let a = t.write("a.h", "int a;\n", false);
    let b = t.write("b.h", "int b;\n", false);
    t.learn(&a);
    flush();
    t.learn(&b);
    flush();
    assert_eq!(t.indexed(&a), Some(Name::of_value(b"int a;\n")));
    assert_eq!(t.indexed(&b), Some(Name::of_value(b"int b;\n")));
}

#[test]
fn a_damaged_or_truncated_index_is_a_miss() {
    let t = Tree::new();
    let a = t.write("a.h", "int a;\n", false);
    t.learn(&a);
    flush();
    let file = path_of(t.store.root(), Path::new(&a).parent().unwrap().to_str().unwrap());
    let good = fs::read(&file).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 1;
    fs::write(&file, &bad).unwrap();
    assert_eq!(t.indexed(&a), None);
    fs::write(&file, &good[..good.len() - 3]).unwrap();
    assert_eq!(t.indexed(&a), None);
    fs::write(&file, &good).unwrap();
    assert!(t.indexed(&a).is_some(), "the intact index is read");
    // A damaged index is replaced by the next flush, with the new record.
    fs::write(&file, &bad).unwrap();
    t.learn(&a);
    flush();
    assert!(t.indexed(&a).is_some());
}

#[test]
fn a_store_that_cannot_take_the_index_only_loses_it() {
    let t = Tree::new();
    let a = t.write("a.h", "int a;\n", false);
    // `scan/dirs` is a file: no index can be written under it.
    fs::create_dir_all(t.store.root().join("scan")).unwrap();
    fs::write(t.store.root().join("scan/dirs"), "").unwrap();
    assert_eq!(t.learn(&a), Name::of_value(b"int a;\n"));
    flush();
    assert_eq!(t.indexed(&a), None);
    assert_eq!(t.learn(&a), Name::of_value(b"int a;\n"));
}
