//! `gg ninja` on a real CMake project from its Debian source package
//! (json-c, configured with `-G Ninja` and cmake/gg.cmake): outputs
//! identical to plain `ninja`, on the local engine and on two workers;
//! plain `ninja` agrees afterwards that nothing is left to do; touching a
//! source rebuilds only what depends on it; a broken source fails with the
//! compiler's message and leaves no stale object; `ninja -t gg` through
//! the shim; colour codes in what commands print follow Ninja's rule;
//! Meson's gcc-ar and thin archives become thunks.

use std::path::{Path, PathBuf};

use crate::projects::{assert_same_outputs, build_outputs, debian_source, sh};
use crate::support::{text, Scratch};

fn module() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../cmake/gg.cmake")
}

/// json-c copied into the scratch folder, with a plain build's outputs.
pub fn json_c(s: &Scratch) -> (PathBuf, std::collections::BTreeMap<PathBuf, Vec<u8>>) {
    let tree = s.path().join("json-c");
    sh(s, s.path(), &format!("cp -a {} {}", debian_source("json-c").display(), tree.display()), false);
    sh(s, &tree, &configure(false), false);
    sh(s, &tree, "ninja -C build > /dev/null", false);
    let plain = build_outputs(&tree.join("build"));
    (tree, plain)
}

pub fn configure(gg: bool) -> String {
    let flag = if gg { format!("-DCMAKE_PROJECT_TOP_LEVEL_INCLUDES={}", module().display()) } else { String::new() };
    format!("rm -rf build && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo {flag} > /dev/null 2>&1")
}

/// The objects whose compile lines a `gg ninja` run printed.
/// The numbers of gg ninja's summary line: hits here, remote hits, ran
/// remotely, ran here.
pub fn tally(log: &str) -> [u64; 4] {
    let line = log.lines().find(|l| l.starts_with("gg ninja: ") && l.contains(" remote hit(s), "));
    let line = line.unwrap_or_else(|| panic!("no summary line:\n{log}"));
    let n: Vec<u64> = line.split(|c: char| !c.is_ascii_digit()).filter_map(|w| w.parse().ok()).collect();
    [n[0], n[1], n[2], n[3]]
}

fn compiled(log: &str) -> Vec<String> {
    let mut v: Vec<String> =
        log.lines().filter_map(|l| l.split("Building C object ").nth(1)).map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn gg_ninja_builds_json_c_like_ninja_and_ninja_agrees_afterwards() {
    let s = Scratch::new();
    let (tree, plain) = json_c(&s);
    sh(&s, &tree, &configure(true), true);
    let launcher = std::fs::read_to_string(tree.join("build/CMakeCache.txt")).unwrap();
    assert!(
        launcher.contains("CMAKE_C_COMPILER_LAUNCHER:STRING=") && launcher.contains("gg-cc"),
        "gg.cmake set no launcher"
    );
    let log = sh(&s, &tree, "GG_LOG=debug gg ninja -C build 2>&1", true);
    assert!(log.contains("Linking C shared library libjson-c.so"), "{log}");
    // Compiles, archives and links all became thunks; only CMake's
    // symlink step for the shared library ran here.
    let local: Vec<&str> = log.lines().filter(|l| l.contains("ran locally")).collect();
    assert_eq!(local, vec!["gg ninja: `libjson-c.so.5` ran locally: `cmake` is not a compiler gg models"], "{log}");
    let [here, remote, away, ran] = tally(&log);
    assert_eq!((here, remote, away), (0, 0, 0), "a cold build found nothing:\n{log}");
    assert!(ran > 40, "every step ran here:\n{log}");
    assert_same_outputs(&plain, &build_outputs(&tree.join("build")), "json-c through gg ninja");
    assert!(sh(&s, &tree, "ninja -C build -n", false).contains("no work to do"), "ninja disagrees with gg ninja");
    assert!(sh(&s, &tree, "gg ninja -C build", true).contains("no work to do"));

    // One source touched: its two objects and what links them.
    sh(&s, &tree, "sleep 0.01 && touch json_util.c", false);
    let log = sh(&s, &tree, "gg ninja -C build", true);
    assert_eq!(
        compiled(&log),
        vec!["CMakeFiles/json-c-static.dir/json_util.c.o", "CMakeFiles/json-c.dir/json_util.c.o"],
        "{log}"
    );
    assert!(sh(&s, &tree, "ninja -C build -n", false).contains("no work to do"));

    // A broken source: the compiler's message, no object left behind.
    let good = std::fs::read(tree.join("json_util.c")).unwrap();
    let mut bad = good.clone();
    bad.extend_from_slice(b"\nint broken( { \n");
    std::fs::write(tree.join("json_util.c"), &bad).unwrap();
    let out = std::process::Command::new("sh")
        .args(["-c", "gg ninja -C build -k 0"])
        .current_dir(&tree)
        .env("GG_DIR", s.store())
        .env("PATH", path_with_gg())
        .output()
        .unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("FAILED: CMakeFiles/json-c.dir/json_util.c.o"), "{all}");
    assert!(all.contains("json_util.c:") && all.contains("error:"), "no compiler message:\n{all}");
    assert!(!tree.join("build/CMakeFiles/json-c.dir/json_util.c.o").exists(), "a stale object was left");
    assert!(!sh(&s, &tree, "ninja -C build -n", false).contains("no work to do"));
    std::fs::write(tree.join("json_util.c"), &good).unwrap();
    sh(&s, &tree, "gg ninja -C build > /dev/null", true);
    assert_same_outputs(&plain, &build_outputs(&tree.join("build")), "json-c after the fix");

    // A warm rebuild after `ninja -t clean` compiles nothing.
    sh(&s, &tree, "ninja -C build -t clean > /dev/null", false);
    let log = sh(&s, &tree, "gg ninja -C build 2>&1", true);
    assert_same_outputs(&plain, &build_outputs(&tree.join("build")), "json-c from the cache");
    let [here, remote, away, ran] = tally(&log);
    assert_eq!((here > 40, remote, away, ran), (true, 0, 0, 1), "only CMake's symlink step ran:\n{log}");
    assert!(sh(&s, &tree, "ninja -C build -n", false).contains("no work to do"), "{log}");
}

#[test]
fn gg_ninja_on_two_workers_builds_json_c_like_ninja() {
    let s = Scratch::new();
    let (tree, plain) = json_c(&s);
    let workers: Vec<crate::worker::WorkerProc> =
        (0..2).map(|i| crate::worker::start(&s.path().join(format!("worker{i}")), &[])).collect();
    let urls = workers.iter().map(|w| w.url.clone()).collect::<Vec<_>>().join(",");
    sh(&s, &tree, &configure(true), true);
    let env = format!("GG_LOG=debug GG_ENGINE=remote GG_WORKERS={urls} GG_REMOTE_STRICT=1");
    let log = sh(&s, &tree, &format!("{env} gg ninja -C build 2>&1"), true);
    assert_eq!(log.matches("ran locally").count(), 1, "only CMake's symlink step runs here:\n{log}");
    let [here, remote, away, ran] = tally(&log);
    assert_eq!((here, remote, away > 40, ran), (0, 0, true, 1), "the workers ran the thunks:\n{log}");
    assert_same_outputs(&plain, &build_outputs(&tree.join("build")), "json-c through gg ninja on two workers");
    // --keep-remote: the objects stay in the engine's store; the archives,
    // libraries and programs are written, identical.
    sh(&s, &tree, "ninja -C build -t clean > /dev/null", false);
    sh(&s, &tree, &format!("{env} gg ninja -C build --keep-remote > /dev/null 2>&1"), true);
    let kept = build_outputs(&tree.join("build"));
    assert!(kept.keys().all(|p| p.extension().is_none_or(|e| e != "o")), "objects were written");
    for (path, bytes) in &kept {
        assert_eq!(Some(bytes), plain.get(path), "{} differs", path.display());
    }
    assert!(kept.keys().any(|p| p.ends_with("libjson-c.a")) && kept.keys().any(|p| p.ends_with("test1")));
    sh(&s, &tree, &format!("{env} gg ninja -C build > /dev/null 2>&1"), true);
    assert_same_outputs(&plain, &build_outputs(&tree.join("build")), "json-c through gg ninja on two workers");
    let ran = |i: usize| s.path().join(format!("worker{i}/reductions")).read_dir().map_or(0, |d| d.count());
    assert!(ran(0) > 0 && ran(1) > 0, "both workers compiled");
    assert!(sh(&s, &tree, "ninja -C build -n", false).contains("no work to do"));
}

#[test]
fn ninja_t_gg_runs_gg_ninja_through_the_shim_and_anything_else_runs_ninja() {
    let s = Scratch::new();
    let shim_dir = s.path().join("shim");
    let out = s.ok(&["install-ninja-shim", shim_dir.to_str().unwrap()]);
    assert!(out.ends_with("shim/ninja"), "{out}");
    let dir = s.path().join("p");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("build.ninja"), "rule cp\n  command = cp $in $out\nbuild out.txt: cp in.txt\n").unwrap();
    std::fs::write(dir.join("in.txt"), "hello\n").unwrap();
    let path = format!("{}:{}", shim_dir.display(), path_with_gg());
    let run_with = |args: &str, gg_ninja: &str| {
        let out = std::process::Command::new("sh")
            .args(["-c", &format!("ninja {args}")])
            .current_dir(&dir)
            .env("GG_DIR", s.store())
            .env("PATH", &path)
            .env("GG_NINJA", gg_ninja)
            .output()
            .unwrap();
        assert!(out.status.success(), "ninja {args}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let run = |args: &str| run_with(args, "");
    let gg = run("-t gg");
    assert!(gg.contains("[1/1] cp in.txt out.txt"), "{gg}");
    assert_eq!(std::fs::read_to_string(dir.join("out.txt")).unwrap(), "hello\n");
    assert!(run("-n").contains("no work to do"), "the real ninja reads gg's log");
    assert!(run("--version").starts_with("1."), "the real ninja answers the rest");
    assert!(run("-C .").starts_with("ninja: Entering"), "without GG_NINJA=1 a build is the real ninja's");
    // With GG_NINJA=1 every build is gg ninja's, tools still the real one's.
    assert!(run_with("-C .", "1").starts_with("gg ninja: Entering"), "GG_NINJA=1 sends builds to gg ninja");
    assert!(run_with("-t targets", "1").contains("out.txt: cp"), "tools stay with the real ninja");
    assert!(run_with("--version", "1").starts_with("1."), "so does --version");
}

fn path_with_gg() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_gg")).parent().unwrap();
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap())
}

#[test]
fn a_generated_header_is_made_locally_first_and_the_compile_and_link_that_need_it_follow_as_thunks() {
    let s = Scratch::new();
    let dir = s.path().join("p");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("build.ninja"),
        "rule gen\n  command = printf '#define VALUE 42\\n' > $out\n  description = GEN $out\n\
         rule cc\n  command = cc -O2 -MD -MF $out.d -c $in -o $out\n  deps = gcc\n  depfile = $out.d\n\
         rule link\n  command = cc $in -o $out\n\
         build gen/value.h: gen\n\
         build main.o: cc main.c || gen/value.h\n\
         build app: link main.o\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("main.c"),
        "#include <stdio.h>\n#include \"gen/value.h\"\nint main(void) { printf(\"%d\\n\", VALUE); return 0; }\n",
    )
    .unwrap();
    // Plain ninja first, for the reference bytes.
    sh(
        &s,
        &dir,
        "ninja > /dev/null && cp app app.plain && cp main.o main.o.plain && ninja -t clean > /dev/null",
        false,
    );
    let log = sh(&s, &dir, "GG_LOG=debug gg ninja 2>&1", true);
    let local: Vec<&str> = log.lines().filter(|l| l.contains("ran locally")).collect();
    assert_eq!(local.len(), 1, "{log}");
    assert!(local[0].contains("`gen/value.h`"), "{log}");
    // The generator ran before the compile that includes its output.
    let gen_at = log.find("GEN gen/value.h").unwrap();
    let cc_at = log.find("main.o").unwrap();
    assert!(gen_at < cc_at, "{log}");
    assert_eq!(sh(&s, &dir, "./app", false), "42\n");
    assert_eq!(std::fs::read(dir.join("app")).unwrap(), std::fs::read(dir.join("app.plain")).unwrap());
    assert_eq!(std::fs::read(dir.join("main.o")).unwrap(), std::fs::read(dir.join("main.o.plain")).unwrap());
    assert!(sh(&s, &dir, "ninja -n", false).contains("no work to do"), "ninja disagrees");
    // The header changes: the compile and the link run again, from a scan.
    sh(&s, &dir, "sleep 0.01 && printf '#define VALUE 7\\n' > gen/value.h", false);
    assert!(sh(&s, &dir, "gg ninja", true).contains("main.o"));
    assert_eq!(sh(&s, &dir, "./app", false), "7\n");
    assert!(sh(&s, &dir, "ninja -n", false).contains("no work to do"));
}

#[test]
fn a_header_generated_between_rounds_is_found_by_the_next_rounds_scan_on_a_worker() {
    let s = Scratch::new();
    let dir = s.path().join("p");
    std::fs::create_dir_all(dir.join("gen")).unwrap();
    // early.o is compiled (and its scan looks into gen/) in the first
    // round; the generator runs after it, then main.o's round must see the
    // header it wrote in a folder the first round had already listed.
    std::fs::write(
        dir.join("build.ninja"),
        "rule gen\n  command = printf '#define VALUE 42\\n' > $out\n  description = GEN $out\n\
         rule cc\n  command = cc -O2 -MD -MF $out.d -c $in -o $out\n  deps = gcc\n  depfile = $out.d\n\
         rule link\n  command = cc $in -o $out\n\
         build early.o: cc early.c\n\
         build gen/value.h: gen | early.o\n\
         build main.o: cc main.c || gen/value.h\n\
         build app: link main.o early.o\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("early.c"),
        "#if __has_include(\"gen/value.h\")\n#include \"gen/value.h\"\nint early = VALUE;\n#else\nint early = -1;\n#endif\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("main.c"),
        "#include <stdio.h>\n#include \"gen/value.h\"\nextern int early;\n\
         int main(void) { printf(\"%d %d\\n\", early, VALUE); return 0; }\n",
    )
    .unwrap();
    // An old folder: its listing is trusted by its stamp alone, so only a
    // fresh look in the next round can show the new header.
    sh(&s, &dir, "touch -d '1 hour ago' gen", false);
    let worker = crate::worker::start(&s.path().join("worker"), &[]);
    let env = format!("GG_LOG=debug GG_ENGINE=remote GG_WORKERS={} GG_REMOTE_STRICT=1", worker.url);
    let log = sh(&s, &dir, &format!("{env} gg ninja 2>&1"), true);
    let local: Vec<&str> = log.lines().filter(|l| l.contains("ran locally")).collect();
    assert_eq!(local.len(), 1, "only the generator runs here, no compile falls back:\n{log}");
    assert!(!log.contains("failed on the scanned inputs"), "{log}");
    assert_eq!(sh(&s, &dir, "./app", false), "-1 42\n");
    assert!(sh(&s, &dir, "ninja -n", false).contains("no work to do"), "ninja disagrees");
}

#[test]
fn bad_manifests_and_unknown_targets_are_clear_errors() {
    let s = Scratch::new();
    let dir = s.path().join("p");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("build.ninja"), "rule cp\n  command = cp $in $out\nbuild out: nope in\n").unwrap();
    let run = |args: &str| {
        std::process::Command::new("sh")
            .args(["-c", &format!("gg ninja {args}")])
            .current_dir(&dir)
            .env("GG_DIR", s.store())
            .env("PATH", path_with_gg())
            .output()
            .unwrap()
    };
    let out = run("");
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("build.ninja:3:") && err.contains("unknown build rule 'nope'"), "{err}");
    std::fs::write(dir.join("build.ninja"), "rule cp\n  command = cp $in $out\nbuild out: cp in\n").unwrap();
    let out = run("nosuch");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("unknown target 'nosuch'"), "{}", text(&out.stderr));
    let out = run("");
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("'in', needed by 'out', missing and no known rule to make it"), "{err}");
}

/// Runs `gg ninja` in `dir` with `env` (its stdout a pipe, as in a log);
/// its exit status and everything it printed.
fn gg_ninja_output(s: &Scratch, dir: &Path, env: &[(&str, &str)]) -> (bool, String) {
    let mut c = std::process::Command::new("sh");
    c.args(["-c", "gg ninja -k 0 2>&1"]).current_dir(dir).env("GG_DIR", s.store()).env("PATH", path_with_gg());
    c.env("GG_VERIFY_SCAN", "1");
    c.env_remove("CLICOLOR_FORCE").env("TERM", "xterm-256color");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (out.status.success(), text(&out.stdout))
}

#[test]
fn diagnostics_lose_their_colour_codes_unless_clicolor_force_as_under_ninja() {
    let s = Scratch::new();
    let dir = s.path().join("p");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("build.ninja"),
        "rule cc\n  command = cc -fdiagnostics-color=always -Wall -c $in -o $out\n\
         rule note\n  command = printf '\\033[01;36mlocal note\\033[m\\n' && touch $out\n\
         build w.o: cc w.c\n\
         build noted: note\n",
    )
    .unwrap();
    let source = "int f(void) { int unused_one; return 0; }\n";
    std::fs::write(dir.join("w.c"), source).unwrap();
    let warning = "warning: \x1b[m\x1b[Kunused variable";

    // On the engine, stdout a pipe: plain text, as Ninja prints it.
    let (ok, log) = gg_ninja_output(&s, &dir, &[("GG_LOG", "debug")]);
    assert!(ok, "{log}");
    assert!(log.contains("w.c:1:19: warning: unused variable ‘unused_one’ [-Wunused-variable]"), "{log}");
    assert!(log.contains("local note") && !log.contains('\x1b'), "escape codes in a log:\n{log}");
    assert!(!log.contains("`w.o` ran locally"), "the compile should be a thunk:\n{log}");
    let ninja = sh(&s, &dir, "ninja -t clean > /dev/null && env -u CLICOLOR_FORCE ninja", false);
    assert!(ninja.contains("w.c:1:19: warning: unused variable") && !ninja.contains('\x1b'), "{ninja}");

    // From the cache, with CLICOLOR_FORCE: the codes as the compiler wrote them.
    sh(&s, &dir, "ninja -t clean > /dev/null", false);
    let (ok, log) = gg_ninja_output(&s, &dir, &[("CLICOLOR_FORCE", "1")]);
    assert!(ok && log.contains(warning) && log.contains("\x1b[01;36mlocal note\x1b[m"), "{log}");
    sh(&s, &dir, "ninja -t clean > /dev/null", false);
    let (ok, log) = gg_ninja_output(&s, &dir, &[("CLICOLOR_FORCE", "0")]);
    assert!(ok && log.contains("warning: unused variable") && !log.contains('\x1b'), "{log}");

    // A changed source on the engine, with CLICOLOR_FORCE, then broken.
    std::fs::write(dir.join("w.c"), format!("{source}int g(void) {{ int unused_two; return 1; }}\n")).unwrap();
    let (ok, log) = gg_ninja_output(&s, &dir, &[("CLICOLOR_FORCE", "1")]);
    assert!(ok && log.contains(warning) && log.contains("unused_two"), "{log}");
    std::fs::write(dir.join("w.c"), "int broken( {\n").unwrap();
    let (ok, log) = gg_ninja_output(&s, &dir, &[("CLICOLOR_FORCE", "1")]);
    assert!(!ok && log.contains("\x1b[31mFAILED: \x1b[0mw.o") && log.contains("error: \x1b[m\x1b[K"), "{log}");
    let (ok, log) = gg_ninja_output(&s, &dir, &[]);
    assert!(!ok && log.contains("FAILED: w.o") && log.contains("error: ") && !log.contains('\x1b'), "{log}");
}

/// A Meson project: an internal static library (thin, made by gcc-ar)
/// linked into a program.
const MESON_PROJECT: &[(&str, &str)] = &[
    (
        "meson.build",
        "project('thin', 'c')\n\
         foo = static_library('foo', 'lib/a.c', 'lib/b.c', include_directories: 'lib')\n\
         executable('app', 'src/main.c', link_with: foo, include_directories: 'lib')\n",
    ),
    ("lib/foo.h", "int a(void);\nint b(int x);\n"),
    ("lib/a.c", "#include \"foo.h\"\nint a(void) { return 1; }\n"),
    ("lib/b.c", "#include \"foo.h\"\nint b(int x) { return x * 2; }\n"),
    (
        "src/main.c",
        "#include <stdio.h>\n#include \"foo.h\"\nint main(void) { printf(\"%d\\n\", a() + b(3)); return 0; }\n",
    ),
];

#[test]
fn a_meson_project_s_gcc_ar_thin_archive_and_the_link_against_it_are_thunks_with_ninja_s_bytes() {
    let s = Scratch::new();
    let dir = s.path().join("m");
    for (path, text) in MESON_PROJECT {
        std::fs::create_dir_all(dir.join(path).parent().unwrap()).unwrap();
        std::fs::write(dir.join(path), text).unwrap();
    }
    // CC named: meson wraps no ccache or sccache it finds.
    sh(&s, &dir, "CC=cc meson setup build > /dev/null && ninja -C build > /dev/null", false);
    let manifest = std::fs::read_to_string(dir.join("build/build.ninja")).unwrap();
    assert!(manifest.contains("gcc-ar $LINK_ARGS") && manifest.contains("LINK_ARGS = csrDT"), "{manifest}");
    let plain = build_outputs(&dir.join("build"));
    assert!(plain[Path::new("libfoo.a")].starts_with(b"!<thin>\n"), "Meson made no thin archive");

    sh(&s, &dir, "rm -rf build && CC=cc meson setup build > /dev/null", false);
    let log = sh(&s, &dir, "GG_LOG=debug gg ninja -C build 2>&1", true);
    assert!(!log.contains("ran locally"), "{log}");
    assert!(log.contains("gg ninja: `libfoo.a` is the thunk T"), "the archive is no thunk:\n{log}");
    assert!(log.contains("gg ninja: `app` is the thunk T"), "the link is no thunk:\n{log}");
    assert_same_outputs(&plain, &build_outputs(&dir.join("build")), "a Meson project through gg ninja");
    assert_eq!(sh(&s, &dir, "build/app", false), "7\n");
    assert!(sh(&s, &dir, "ninja -C build -n", false).contains("no work to do"), "ninja disagrees");

    // A member changes: the archive names the same paths, the link reads the new one.
    sh(&s, &dir, "sleep 0.01 && sed -i 's/x \\* 2/x * 3/' lib/b.c", false);
    let log = sh(&s, &dir, "GG_LOG=debug gg ninja -C build 2>&1", true);
    assert!(!log.contains("ran locally") && log.contains("`app` is the thunk"), "{log}");
    assert_eq!(sh(&s, &dir, "build/app", false), "10\n");
}
