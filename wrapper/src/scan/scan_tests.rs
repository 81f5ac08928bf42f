//! Scans of small header trees built in temp folders.

use std::fs;
use std::path::{Path, PathBuf};

use gg_core::{Name, Store};

use super::facts::{entry_path, forget_hash, parsed_for, Origin};
use super::*;
use crate::args::{classify_for, Classified};
use crate::invoke::Invocation;
use crate::toolchain::{Family, Half, Toolchain};

/// A toolchain whose default include folders are `sys` (no real compiler
/// folders: the trees stay hermetic).
pub(super) fn fake_toolchain(sys: &[String]) -> Toolchain {
    Toolchain {
        family: Family::Gcc,
        half: Half::C,
        driver: "/usr/bin/gcc".into(),
        files: vec![],
        includes: sys.to_vec(),
        search: sys.to_vec(),
        stages: vec![],
        loader: None,
        launcher: None,
        stamps: vec![],
        id: "test".into(),
    }
}

/// Scans the compile `args` run in `cwd` (by the toolchain's driver).
pub(super) fn run_scan(store: &Store, toolchain: &Toolchain, cwd: &Path, args: &[&str]) -> Scanned {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let compile = match classify_for(&args, crate::invoke::is_cxx_driver(Path::new(&toolchain.driver))) {
        Classified::Compile(c) => c,
        Classified::Local(why) => panic!("not a compile: {why}"),
    };
    // The fake toolchain's folders serve both languages.
    let mut toolchain = toolchain.clone();
    if toolchain.id == "test" {
        toolchain.half = Half::of(compile.lang);
    }
    assert_eq!(toolchain.half, Half::of(compile.lang), "the test discovers the half its compile runs");
    let toolchain = &toolchain;
    let inv = Invocation { compiler: PathBuf::from(&toolchain.driver), arg0: "gcc".into(), args: args.clone() };
    let job = Job { store, inv: &inv, toolchain, args: &args, compile: &compile, cwd: cwd.to_path_buf(), engine: None };
    scan(&job)
}

/// A temp tree with a store and a fake toolchain whose system folder is
/// `<tree>/sys`.
struct Tree {
    dir: tempfile::TempDir,
    store: Store,
    toolchain: Toolchain,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("store")).unwrap();
        let root = dir.path().canonicalize().unwrap();
        let toolchain = fake_toolchain(&[format!("{}/sys", root.display())]);
        fs::create_dir_all(root.join("sys")).unwrap();
        Tree { dir, store, toolchain }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }

    fn path(&self, rel: &str) -> String {
        format!("{}/{rel}", self.root().display())
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.root().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    fn scan(&self, args: &[&str]) -> Scanned {
        // Each scan as if by a new gg-cc process (or gg ninja round).
        crate::snapshot::begin();
        run_scan(&self.store, &self.toolchain, &self.root(), args)
    }

    /// The inputs as paths relative to the tree; panics on a fallback.
    fn inputs(&self, args: &[&str]) -> Vec<String> {
        match self.scan(args) {
            Scanned::Inputs(v) => {
                let root = format!("{}/", self.root().display());
                v.iter().map(|p| p.strip_prefix(&root).unwrap_or(p).to_string()).collect()
            }
            Scanned::Fallback(why) => panic!("unexpected fallback: {why}"),
        }
    }

    fn fallback(&self, args: &[&str]) -> String {
        match self.scan(args) {
            Scanned::Fallback(why) => why,
            Scanned::Inputs(v) => panic!("expected a fallback, got {v:?}"),
        }
    }
}

#[test]
fn quoted_names_search_the_includers_folder_and_angled_ones_do_not() {
    let t = Tree::new();
    t.write("src/main.c", "#include \"q.h\"\n#include <b.h>\nint main(void) { return 0; }\n");
    t.write("src/q.h", "");
    t.write("src/b.h", "");
    t.write("inc/q.h", "");
    t.write("inc/b.h", "");
    let got = t.inputs(&["-c", "src/main.c", "-Iinc"]);
    assert_eq!(got, ["src/main.c", "inc/b.h", "inc/q.h", "src/q.h"]);
}

#[test]
fn a_header_missing_from_an_earlier_folder_is_found_in_a_later_one() {
    let t = Tree::new();
    t.write("main.c", "#include <sub/x.h>\n");
    fs::create_dir_all(t.root().join("a/sub")).unwrap();
    t.write("b/sub/x.h", "#include \"y.h\"\n");
    t.write("b/sub/y.h", "");
    assert_eq!(t.inputs(&["-c", "main.c", "-Ia", "-Ib"]), ["main.c", "b/sub/x.h", "b/sub/y.h"]);
}

#[test]
fn include_next_chains_take_both_headers() {
    let t = Tree::new();
    t.write("main.c", "#include <foo.h>\n");
    t.write("a/foo.h", "#pragma once\n#include_next <foo.h>\n");
    t.write("b/foo.h", "#include \"bar.h\"\n");
    t.write("b/bar.h", "");
    assert_eq!(t.inputs(&["-c", "main.c", "-Ia", "-Ib"]), ["main.c", "a/foo.h", "b/bar.h", "b/foo.h"]);
}

#[test]
fn a_computed_include_is_resolved_through_a_chain_defined_in_other_headers() {
    let t = Tree::new();
    t.write("main.c", "#include \"cfg.h\"\n#include CONFIG_HEADER\n");
    t.write("cfg.h", "#define CONFIG_HEADER CHOSEN\n#include \"cfg2.h\"\n");
    t.write("cfg2.h", "#if defined(X)\n#define CHOSEN <gen/x.h>\n#else\n#define CHOSEN \"gen/y.h\"\n#endif\n");
    t.write("inc/gen/x.h", "#include \"x_dep.h\"\n");
    t.write("inc/gen/x_dep.h", "");
    t.write("gen/y.h", "");
    let got = t.inputs(&["-c", "main.c", "-Iinc"]);
    assert_eq!(got, ["main.c", "cfg.h", "cfg2.h", "gen/y.h", "inc/gen/x.h", "inc/gen/x_dep.h"]);
}

#[test]
fn a_computed_include_from_the_command_line_is_resolved() {
    let t = Tree::new();
    t.write("main.c", "#include CFG\n");
    t.write("my_cfg.h", "");
    assert_eq!(t.inputs(&["-c", "main.c", "-DCFG=\"my_cfg.h\""]), ["main.c", "my_cfg.h"]);
}

#[test]
fn an_optional_header_named_by_a_macro_is_passed_by_when_undefined_and_taken_when_defined() {
    let t = Tree::new();
    // Lua's `LUA_USER_H` idiom.
    t.write("main.c", "#include \"lua.h\"\n");
    t.write("lua.h", "#if defined(LUA_USER_H)\n#include LUA_USER_H\n#endif\n");
    t.write("user.h", "");
    assert_eq!(t.inputs(&["-c", "main.c"]), ["main.c", "lua.h"]);
    assert_eq!(t.inputs(&["-c", "main.c", "-DLUA_USER_H=\"user.h\""]), ["main.c", "lua.h", "user.h"]);
    // Defined by a header instead: taken too.
    t.write("main.c", "#include \"cfg.h\"\n#include \"lua.h\"\n");
    t.write("cfg.h", "#define LUA_USER_H \"user.h\"\n");
    assert_eq!(t.inputs(&["-c", "main.c"]), ["main.c", "cfg.h", "lua.h", "user.h"]);
    // A name the compiler may define itself is not assumed undefined.
    t.write("main.c", "#ifdef __OPT_H\n#include __OPT_H\n#endif\n");
    assert!(t.fallback(&["-c", "main.c"]).contains("`__OPT_H` is not defined"));
}

#[test]
fn an_unresolvable_computed_include_falls_back() {
    let t = Tree::new();
    t.write("main.c", "#include \"a.h\"\n");
    t.write("a.h", "#define PICK(x) <x.h>\n#include PICK(foo)\n");
    let why = t.fallback(&["-c", "main.c"]);
    assert!(why.starts_with("computed include `PICK(foo)` in `"), "{why}");
    t.write("main.c", "#include NOWHERE\n");
    assert!(t.fallback(&["-c", "main.c"]).contains("`NOWHERE` is not defined"));
}

#[test]
fn has_include_takes_present_headers_and_ignores_absent_ones() {
    let t = Tree::new();
    t.write(
        "main.c",
        "#if __has_include(\"present.h\") && __has_include(<absent.h>)\n#endif\n\
         #if __has_include_next(<there/p.h>)\n#endif\n",
    );
    t.write("present.h", "");
    t.write("inc/there/p.h", "");
    assert_eq!(t.inputs(&["-c", "main.c", "-Iinc"]), ["main.c", "inc/there/p.h", "present.h"]);
}

#[test]
fn once_and_guarded_headers_included_twice_appear_once() {
    let t = Tree::new();
    t.write("main.c", "#include \"once.h\"\n#include \"guard.h\"\n#include \"other.h\"\n#include \"once.h\"\n");
    t.write("other.h", "#include \"guard.h\"\n#include \"once.h\"\n");
    t.write("once.h", "#pragma once\nint o;\n");
    t.write("guard.h", "#ifndef GUARD_H\n#define GUARD_H\n#include \"once.h\"\n#endif\n");
    assert_eq!(t.inputs(&["-c", "main.c"]), ["main.c", "guard.h", "once.h", "other.h"]);
}

#[test]
fn an_include_file_is_found_relative_to_the_working_folder() {
    let t = Tree::new();
    t.write("src/main.c", "int x;\n");
    t.write("pre.h", "#include \"pre_dep.h\"\n");
    t.write("pre_dep.h", "");
    t.write("macros.h", "");
    let got = t.inputs(&["-c", "src/main.c", "-include", "pre.h", "-imacros", "macros.h"]);
    assert_eq!(got, ["src/main.c", "macros.h", "pre.h", "pre_dep.h"]);
}

#[test]
fn comments_strings_raw_strings_and_continuations_are_honoured() {
    let t = Tree::new();
    t.write(
        "main.cpp",
        "/* #include \"hidden1.h\" */\n// #include \"hidden2.h\"\n\
         const char *s = R\"(\n#include \"hidden3.h\"\n)\";\n\
         const char *t = \"#include \\\"hidden4.h\\\"\";\n\
         #inc\\\nlude \"split.h\"\n",
    );
    for h in ["hidden1.h", "hidden2.h", "hidden3.h", "hidden4.h", "split.h"] {
        t.write(h, "");
    }
    assert_eq!(t.inputs(&["-c", "main.cpp"]), ["main.cpp", "split.h"]);
}

#[test]
fn a_header_shadowing_a_system_one_is_taken_with_it() {
    let t = Tree::new();
    t.write("main.c", "#include <stdio.h>\n");
    t.write("mine/stdio.h", "#include_next <stdio.h>\n");
    t.write("sys/stdio.h", "#include <bits/io.h>\n");
    t.write("sys/bits/io.h", "");
    let got = t.inputs(&["-c", "main.c", "-Imine"]);
    assert_eq!(got, ["main.c", "mine/stdio.h", "sys/bits/io.h", "sys/stdio.h"]);
}

#[test]
fn options_outside_the_model_fall_back() {
    let t = Tree::new();
    t.write("main.c", "");
    assert_eq!(t.fallback(&["-c", "main.c", "-iprefix", "/p/", "-iwithprefix", "x"]), "option -iprefix");
    assert_eq!(t.fallback(&["-c", "main.c", "-I-"]), "option -I-");
    assert_eq!(t.fallback(&["-c", "main.c", "-Fframeworks"]), "option -F");
}

#[test]
fn a_missing_source_or_embed_falls_back() {
    let t = Tree::new();
    assert!(t.fallback(&["-c", "gone.c"]).contains("source"));
    t.write("main.c", "#include \"e.h\"\n");
    t.write("e.h", "const char b[] = {\n#embed \"blob.bin\"\n};\n");
    assert!(t.fallback(&["-c", "main.c"]).starts_with("#embed in `"));
}

#[test]
fn a_header_generated_after_a_scan_is_found_by_the_next_one() {
    let t = Tree::new();
    t.write("main.c", "#include <gen.h>\n");
    fs::create_dir_all(t.root().join("gen")).unwrap();
    assert_eq!(t.inputs(&["-c", "main.c", "-Igen"]), ["main.c"]);
    t.write("gen/gen.h", "#include \"gen2.h\"\n");
    assert_eq!(t.inputs(&["-c", "main.c", "-Igen"]), ["main.c", "gen/gen.h"]);
    // A header rewritten in place is read again.
    t.write("gen/gen2.h", "");
    assert_eq!(t.inputs(&["-c", "main.c", "-Igen"]), ["main.c", "gen/gen.h", "gen/gen2.h"]);
    let f1 = facts(&t.path("gen/gen.h")).unwrap();
    t.write("gen/gen.h", "#include \"gen2.h\"\n#include \"gen3.h\"\n");
    t.write("gen/gen3.h", "");
    crate::snapshot::begin();
    assert_ne!(facts(&t.path("gen/gen.h")).unwrap().hash, f1.hash);
    assert_eq!(t.inputs(&["-c", "main.c", "-Igen"]), ["main.c", "gen/gen.h", "gen/gen2.h", "gen/gen3.h"]);
}

#[test]
fn a_folder_listed_long_after_its_last_change_is_reused_until_it_changes() {
    let t = Tree::new();
    t.write("main.c", "#include <late.h>\n");
    fs::create_dir_all(t.root().join("old")).unwrap();
    // Make the folder look old, so its listing is trusted by stamp alone.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    fs::File::open(t.root().join("old")).unwrap().set_modified(old).unwrap();
    assert_eq!(t.inputs(&["-c", "main.c", "-Iold"]), ["main.c"]);
    t.write("old/late.h", "");
    assert_eq!(t.inputs(&["-c", "main.c", "-Iold"]), ["main.c", "old/late.h"]);
}

#[test]
fn directives_are_kept_in_the_store_and_read_back_from_it() {
    let t = Tree::new();
    // Contents unique to this test: the in-memory cache is per process.
    let pad = "/* padding */\n".repeat(super::facts::STORE_MIN / 10);
    let text = format!("#include \"h.h\"\n// {}\n{pad}", t.root().display());
    t.write("main.c", &text);
    t.write("h.h", "");
    assert_eq!(t.inputs(&["-c", "main.c"]), ["main.c", "h.h"]);
    let small = entry_path(t.store.root(), &Name::of_value(b""));
    assert!(!small.exists(), "small files are not stored");
    let hash = Name::of_value(text.as_bytes());
    let entry = entry_path(t.store.root(), &hash);
    assert!(entry.is_file(), "the scan wrote `{}`", entry.display());

    forget_hash(&hash);
    let (p, origin) = parsed_for(&hash, text.as_bytes(), Some(t.store.root()));
    assert_eq!(origin, Origin::Store);
    assert_eq!(p.directives, super::lexer::directives(text.as_bytes()));
    assert_eq!(parsed_for(&hash, text.as_bytes(), Some(t.store.root())).1, Origin::Memory);

    // A damaged entry is ignored, re-lexed and rewritten.
    fs::write(&entry, b"gg-scan 1\ngarbage").unwrap();
    forget_hash(&hash);
    assert_eq!(parsed_for(&hash, text.as_bytes(), Some(t.store.root())).1, Origin::Lexed);
    assert!(super::encode::decode(&fs::read(&entry).unwrap()).is_some());

    // A whole scan from fresh in-memory state reads the same.
    super::facts::forget();
    super::dirs::forget();
    assert_eq!(t.inputs(&["-c", "main.c"]), ["main.c", "h.h"]);
}

#[test]
fn a_store_that_cannot_be_written_only_loses_the_cache() {
    let t = Tree::new();
    let pad = "/* padding */\n".repeat(super::facts::STORE_MIN / 10);
    let text = format!("#include \"x.h\"\n// ro {}\n{pad}", t.root().display());
    let hash = Name::of_value(text.as_bytes());
    let missing = t.root().join("no/such/store/\0bad");
    let (p, origin) = parsed_for(&hash, text.as_bytes(), Some(&missing));
    assert_eq!(origin, Origin::Lexed);
    assert_eq!(p.directives.len(), 1);
}

#[test]
fn facts_report_hash_size_and_flags() {
    let t = Tree::new();
    t.write("f.S", ".include \"m.inc\"\n.incbin \"b\"\nconst char *d = __TIME__;\n");
    let f = facts(&t.path("f.S")).unwrap();
    let bytes = fs::read(t.path("f.S")).unwrap();
    assert_eq!((f.hash, f.size), (Name::of_value(&bytes), bytes.len() as u64));
    assert!(f.dot_include && f.incbin && f.time_macros && !f.has_include);
    assert!(facts(&t.path("absent.h")).is_err());
}

#[test]
fn dotted_absolute_linked_and_folder_names_are_handled() {
    let t = Tree::new();
    let abs = t.path("abs/a.h");
    t.write("src/main.c", &format!("#include \"../up.h\"\n#include \"{abs}\"\n#include <link.h>\n#include <dir.h>\n"));
    t.write("up.h", "");
    t.write("abs/a.h", "");
    t.write("real/r.h", "");
    fs::create_dir_all(t.root().join("inc/dir.h")).unwrap();
    std::os::unix::fs::symlink(t.root().join("real/r.h"), t.root().join("inc/link.h")).unwrap();
    std::os::unix::fs::symlink(t.root().join("nowhere.h"), t.root().join("inc/dangling.h")).unwrap();
    t.write("src/more.c", "#include <dangling.h>\n");
    // A link is taken under the name it was reached by; a folder or a
    // dangling link is no header.
    assert_eq!(t.inputs(&["-c", "src/main.c", "-Iinc"]), ["src/main.c", "abs/a.h", "inc/link.h", "up.h"]);
    assert_eq!(t.inputs(&["-c", "src/more.c", "-Iinc"]), ["src/more.c"]);
}

#[test]
fn a_computed_probe_is_resolved_or_falls_back() {
    let t = Tree::new();
    t.write("main.c", "#define OPT <opt.h>\n#if __has_include(OPT)\n#include OPT\n#endif\n");
    t.write("inc/opt.h", "#include \"opt_dep.h\"\n");
    t.write("inc/opt_dep.h", "");
    assert_eq!(t.inputs(&["-c", "main.c", "-Iinc"]), ["main.c", "inc/opt.h", "inc/opt_dep.h"]);
    t.write("main.c", "#if __has_include(UNKNOWN)\n#endif\n");
    assert!(t.fallback(&["-c", "main.c"]).contains("computed include `UNKNOWN`"));
}

#[test]
fn scans_from_several_threads_agree() {
    let t = Tree::new();
    t.write("main.c", "#include \"a.h\"\n#include <b.h>\n");
    t.write("a.h", "#include \"c.h\"\n");
    t.write("c.h", "");
    t.write("inc/b.h", "#include <c.h>\n");
    t.write("inc/c.h", "");
    let expected = t.inputs(&["-c", "main.c", "-Iinc"]);
    assert_eq!(expected, ["main.c", "a.h", "c.h", "inc/b.h", "inc/c.h"]);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| (0..20).map(|_| t.inputs(&["-c", "main.c", "-Iinc"])).collect::<Vec<_>>()))
            .collect();
        for h in handles {
            for got in h.join().unwrap() {
                assert_eq!(got, expected);
            }
        }
    });
}

#[test]
fn a_later_scan_in_the_round_takes_closures_whole_and_finds_the_same_files() {
    let t = Tree::new();
    t.write("a.c", "#include \"a.h\"\n#include <b.h>\n#if __has_include(<maybe.h>)\n#endif\n");
    t.write("b.c", "#include <b.h>\n#include \"a.h\"\n");
    t.write("a.h", "#pragma once\n#include \"c.h\"\n#include <b.h>\n");
    t.write("c.h", "#include \"a.h\"\n#ifdef X\n#include <d/e.h>\n#endif\n");
    t.write("inc/b.h", "#include_next <b.h>\n#if __has_include(\"maybe.h\")\n#endif\n");
    t.write("sys/b.h", "");
    t.write("inc/d/e.h", "#include \"../f.h\"\n");
    t.write("inc/f.h", "");
    t.write("inc/maybe.h", "");
    // What a walk without closures finds.
    let plain = |source: &str| {
        let folders = vec![t.path("inc"), t.path("sys")];
        let mut w = walk::Walk::new(&folders, None).with_closures(walk::Closures::Off);
        let meta = fs::metadata(t.path(source)).unwrap();
        w.start(&t.path(source), &meta);
        w.finish(&[]).unwrap().iter().map(|p| p.to_string()).collect::<Vec<String>>()
    };
    let scan_in_round = |source: &str| match run_scan(&t.store, &t.toolchain, &t.root(), &["-c", source, "-Iinc"]) {
        Scanned::Inputs(v) => v.iter().map(|p| p.to_string()).collect::<Vec<String>>(),
        Scanned::Fallback(why) => panic!("unexpected fallback: {why}"),
    };
    keep_closures();
    crate::snapshot::begin();
    let absorbed = walk::ABSORBED.load(std::sync::atomic::Ordering::SeqCst);
    let first = scan_in_round("a.c");
    let second = scan_in_round("b.c");
    // Other tests run alongside: another round may have begun meanwhile,
    // so only "at least one" can be asserted, and only if no other round.
    let rounds_same = crate::snapshot::round();
    let third = scan_in_round("a.c");
    if crate::snapshot::round() == rounds_same {
        assert!(walk::ABSORBED.load(std::sync::atomic::Ordering::SeqCst) > absorbed, "no closure was taken");
    }
    assert_eq!(first, plain("a.c"));
    assert_eq!(third, first);
    assert_eq!(second, plain("b.c"));
    assert!(first.contains(&t.path("inc/f.h")) && first.contains(&t.path("inc/maybe.h")));
}
