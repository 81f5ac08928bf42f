//! A store that cannot take a write (read-only, full) never makes gg-cc
//! worse than the plain compiler: one compile, its messages once, the
//! object written, and at most one line saying the store was skipped.

use crate::support::{in_mount_namespace, text, Scratch, STORE_FULL, STORE_READ_ONLY};

const WARNS: &str = "int f(void) { int unused; return 0; }\n";

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn a_miss_with_a_read_only_store_compiles_once_with_one_warning() {
    let s = Scratch::new();
    s.write("w.c", WARNS);
    let out = in_mount_namespace(&s.cc(&["gcc", "-Wall", "-c", "w.c", "-o", "w.o"]), STORE_READ_ONLY);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(s.path().join("w.o").is_file(), "the object was written");
    assert_eq!(count(&err, "unused variable"), 1, "the compiler's messages once:\n{err}");
    assert!(!err.contains("fatal error"), "{err}");
    assert_eq!(count(&err, "gg-cc: warning:"), 1, "one line about the store:\n{err}");
}

#[test]
fn a_failing_compile_with_a_read_only_store_runs_once() {
    let s = Scratch::new();
    s.write("bad.c", "int f(void) { return nope; }\n");
    let out = in_mount_namespace(&s.cc(&["gcc", "-c", "bad.c", "-o", "bad.o"]), STORE_READ_ONLY);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert_eq!(count(&err, "error:"), 1, "the error once:\n{err}");
    assert!(!s.path().join("bad.o").exists());
}

#[test]
fn a_hit_from_a_read_only_store_is_served_once() {
    let s = Scratch::new();
    s.write("w.c", WARNS);
    let warm = s.cc(&["gcc", "-Wall", "-c", "w.c", "-o", "w.o"]).output().unwrap();
    assert!(warm.status.success(), "{}", text(&warm.stderr));
    std::fs::remove_file(s.path().join("w.o")).unwrap();
    let out = in_mount_namespace(&s.cc(&["gcc", "-Wall", "-c", "w.c", "-o", "w.o"]), STORE_READ_ONLY);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(s.path().join("w.o").is_file(), "the hit wrote the object");
    assert_eq!(count(&err, "unused variable"), 1, "the replayed messages once, no second compile:\n{err}");
    assert!(!err.contains("gg-cc"), "a hit needs no write, so nothing to say:\n{err}");
}

#[test]
fn a_miss_with_a_full_store_compiles_plainly_with_one_warning() {
    let s = Scratch::new();
    s.write("w.c", WARNS);
    let out = in_mount_namespace(&s.cc(&["gcc", "-Wall", "-c", "w.c", "-o", "w.o", "-MD"]), STORE_FULL);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(s.path().join("w.o").is_file() && s.path().join("w.d").is_file(), "object and depfile written");
    assert_eq!(count(&err, "unused variable"), 1, "{err}");
    assert_eq!(count(&err, "gg-cc: warning:"), 1, "one line about the store:\n{err}");
}

#[test]
fn gg_ninja_with_a_store_too_small_for_the_toolchain_runs_those_steps_here_and_builds() {
    let s = Scratch::new();
    s.write(
        "build.ninja",
        "rule cc\n  command = cc -O2 -MD -MF $out.d -c $in -o $out\n  deps = gcc\n  depfile = $out.d\n\
         rule link\n  command = cc $in -o $out\n\
         build main.o: cc main.c\n\
         build app: link main.o\n",
    );
    s.write("main.c", "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n");
    // 4 MiB holds the compile's record (it runs in place on the local
    // engine) but not the linker the link's thunk carries.
    let setup = "mkdir -p \"$GG_DIR\"; mount -t tmpfs -o size=4m tmpfs \"$GG_DIR\"";
    let out = in_mount_namespace(&s.cmd(&["ninja"]), setup);
    let (stdout, err) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}{err}");
    assert_eq!(count(&err, "gg ninja: warning:"), 1, "one line about the engine:\n{err}");
    let app = std::process::Command::new(s.path().join("app")).output().unwrap();
    assert_eq!(text(&app.stdout), "hi\n");
    let ninja = std::process::Command::new("ninja").arg("-n").current_dir(s.path()).output().unwrap();
    assert!(text(&ninja.stdout).contains("no work to do"), "ninja agrees: {}", text(&ninja.stdout));
}
