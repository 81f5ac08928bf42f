//! A real compile and link as thunks: the same object as running the
//! compiler directly, and a program that runs.

use std::process::Command;

use crate::support::{text, Scratch};

const MAIN_C: &str = "#include <stdio.h>\n#include \"greet.h\"\nint main(void) { greet(\"thunks\"); return 0; }\n";
const GREET_C: &str =
    "#include <stdio.h>\n#include \"greet.h\"\nvoid greet(const char *who) { printf(\"hello, %s\\n\", who); }\n";
const GREET_H: &str = "void greet(const char *who);\n";

/// Compiles with `-O2 -g`; the debug info names the sandbox as the
/// compilation directory unless the root placeholder is mapped back to the
/// project folder (the sandbox path itself is never part of the thunk).
fn compile_thunk(s: &Scratch, src: &str, obj: &str) -> String {
    let map = format!("-ffile-prefix-map=@@GG_ROOT@@={}", s.path().display());
    s.ok(&[
        "create-thunk",
        "--function",
        "/usr/bin/gcc=usr/bin/gcc",
        "--value",
        src,
        "--value",
        "greet.h",
        "--output",
        obj,
        "--envar",
        "PATH=/usr/bin",
        "--placeholder",
        obj,
        "--",
        "gcc",
        "-O2",
        "-g",
        &map,
        "-c",
        src,
        "-o",
        obj,
    ])
}

#[test]
fn a_forced_compile_thunk_makes_the_same_object_as_the_compiler() {
    let s = Scratch::new();
    s.write("main.c", MAIN_C);
    s.write("greet.c", GREET_C);
    s.write("greet.h", GREET_H);
    let main = compile_thunk(&s, "main.c", "main.o");
    let greet = compile_thunk(&s, "greet.c", "greet.o");
    let link = s.ok(&[
        "create-thunk",
        "--function",
        "/usr/bin/gcc=usr/bin/gcc",
        "--thunk",
        &format!("{main}=main.o"),
        "--thunk",
        &format!("{greet}=greet.o"),
        "--output",
        "hello",
        "--envar",
        "PATH=/usr/bin",
        "--placeholder",
        "hello",
        "--",
        "gcc",
        "main.o",
        "greet.o",
        "-o",
        "hello",
    ]);
    assert!(std::fs::read_to_string(s.path().join("hello")).unwrap().contains(&link));
    s.ok(&["force", "-j", "2", "hello", "main.o", "greet.o"]);

    for (src, obj) in [("main.c", "main.o"), ("greet.c", "greet.o")] {
        let direct = s.path().join(format!("direct-{obj}"));
        let st = Command::new("gcc")
            .args(["-O2", "-g", "-c", src, "-o"])
            .arg(&direct)
            .current_dir(s.path())
            .status()
            .unwrap();
        assert!(st.success());
        let same = std::fs::read(s.path().join(obj)).unwrap() == std::fs::read(&direct).unwrap();
        assert!(same, "{obj} differs from a direct compile");
    }
    let run = Command::new(s.path().join("hello")).output().unwrap();
    assert_eq!(text(&run.stdout), "hello, thunks\n");

    // Forcing again is answered from the reductions: nothing runs.
    std::fs::remove_file(s.path().join("hello")).unwrap();
    let placeholder = s.path().join("hello");
    gg_placeholder(&s, &link, &placeholder);
    let out = s.cmd(&["force", "hello"]).env("PATH", "/nonexistent").output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&Command::new(&placeholder).output().unwrap().stdout), "hello, thunks\n");
}

fn gg_placeholder(s: &Scratch, thunk: &str, path: &std::path::Path) {
    std::fs::write(path, format!("/* gg placeholder: {thunk} */\n")).unwrap();
    let described = s.ok(&["describe", path.to_str().unwrap()]);
    assert!(described.contains(&format!("thunk {thunk}")), "{described}");
}

#[test]
fn a_compile_error_fails_the_thunk_with_the_compilers_message_and_keeps_the_placeholder() {
    let s = Scratch::new();
    s.write("bad.c", "int main(void) { return undeclared; }\n");
    s.write("greet.h", GREET_H);
    let t = compile_thunk(&s, "bad.c", "bad.o");
    let err = s.fails(&["force", "bad.o"]);
    assert!(err.contains(&t) && err.contains("exited with status 1"), "{err}");
    assert!(err.contains("'undeclared' undeclared"), "the compiler's message is shown: {err}");
    let left = std::fs::read_to_string(s.path().join("bad.o")).unwrap();
    assert!(left.starts_with("/* gg placeholder: "), "no partial output: {left}");
}
