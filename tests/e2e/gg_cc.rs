//! gg-cc against the real gcc: objects and depfiles identical to direct
//! compiles, hits and misses for the right reasons, local runs that are
//! indistinguishable from the compiler.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{text, Scratch};

/// A small project whose header and source are old enough for their stat
/// to be trusted by direct mode.
fn project() -> Scratch {
    let s = Scratch::new();
    s.write("src/main.c", "#include <stdio.h>\n#include \"util.h\"\nint main(void) {\n  printf(\"%d\\n\", twice(VALUE));\n  return 0;\n}\n");
    s.write("include/util.h", "#define VALUE 21\nstatic inline int twice(int x) { return 2 * x; }\n");
    age(&s);
    s
}

fn age(s: &Scratch) {
    let st = Command::new("find")
        .arg(s.path())
        .args(["-type", "f", "-exec", "touch", "-d", "1 hour ago", "{}", "+"])
        .status()
        .unwrap();
    assert!(st.success());
}

fn stats(s: &Scratch) -> String {
    s.ok(&["stats"])
}

fn counter(s: &Scratch, label: &str) -> u64 {
    let st = stats(s);
    let line = st.lines().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("no `{label}` in\n{st}"));
    line[label.len()..].split_whitespace().next().unwrap().parse().unwrap()
}

fn run_ok(mut c: Command) -> Output {
    let out = c.output().unwrap();
    assert!(out.status.success(), "{:?} failed:\n{}", c, text(&out.stderr));
    out
}

fn direct(cwd: &Path, args: &[&str]) -> Output {
    run_ok({
        let mut c = Command::new("gcc");
        c.args(args).current_dir(cwd);
        c
    })
}

fn same_file(a: &Path, b: &Path) -> bool {
    std::fs::read(a).unwrap() == std::fs::read(b).unwrap()
}

#[test]
fn objects_are_identical_to_direct_compiles_on_a_miss_and_on_a_hit() {
    let s = project();
    let root = s.path().to_str().unwrap().to_string();
    let abs_src = format!("{root}/src/main.c");
    let abs_inc = format!("-I{root}/include");
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("", vec!["-O0".into(), "-Iinclude".into(), "src/main.c".into()]),
        ("", vec!["-O2".into(), "-g".into(), "-Iinclude".into(), "src/main.c".into()]),
        ("", vec!["-O2".into(), "-g".into(), abs_inc.clone(), abs_src.clone()]),
        ("src", vec!["-O0".into(), "-g".into(), "-I../include".into(), "main.c".into()]),
        ("src", vec!["-O2".into(), abs_inc, abs_src]),
    ];
    for (i, (dir, flags)) in cases.iter().enumerate() {
        let cwd = s.path().join(dir);
        let mut args: Vec<String> = vec!["gcc".into(), "-c".into()];
        args.extend(flags.iter().cloned());
        args.extend(["-o".into(), format!("{root}/gg{i}.o")]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut direct_args: Vec<&str> = args[1..args.len() - 1].to_vec();
        let direct_out = format!("{root}/direct{i}.o");
        direct_args.push(&direct_out);
        direct(&cwd, &direct_args);
        for round in ["miss", "hit"] {
            let _ = std::fs::remove_file(format!("{root}/gg{i}.o"));
            run_ok({
                let mut c = s.cc(&args);
                c.current_dir(&cwd);
                c
            });
            assert!(
                same_file(Path::new(&format!("{root}/gg{i}.o")), Path::new(&direct_out)),
                "case {i} ({flags:?}) differs on the {round}"
            );
        }
    }
    assert_eq!(counter(&s, "misses"), cases.len() as u64, "{}", stats(&s));
    assert_eq!(counter(&s, "  direct hits"), cases.len() as u64);
}

#[test]
fn each_input_that_matters_causes_a_miss_and_touch_does_not() {
    let s = project();
    let compile = |extra_env: &[(&str, &str)], extra_args: &[&str]| {
        let mut args = vec!["gcc", "-c", "-Iinclude", "src/main.c", "-o", "main.o"];
        args.extend_from_slice(extra_args);
        let mut c = s.cc(&args);
        for (k, v) in extra_env {
            c.env(k, v);
        }
        run_ok(c);
    };
    let misses = || counter(&s, "misses");
    compile(&[], &[]);
    compile(&[], &[]);
    assert_eq!((misses(), counter(&s, "  direct hits")), (1, 1));
    // Touching without changing: still a hit.
    std::thread::sleep(std::time::Duration::from_millis(20));
    Command::new("touch").arg(s.path().join("include/util.h")).status().unwrap();
    compile(&[], &[]);
    assert_eq!(misses(), 1, "touch alone must not miss");
    let mut expected = 1;
    let mut check = |what: &str, env: &[(&str, &str)], args: &[&str]| {
        compile(env, args);
        expected += 1;
        assert_eq!(misses(), expected, "{what} must cause a miss");
        compile(env, args);
        assert_eq!(misses(), expected, "{what}: the second identical call must hit");
    };
    check("a -D", &[], &["-DEXTRA=1"]);
    check("CPATH", &[("CPATH", "/nonexistent")], &[]);
    check("C_INCLUDE_PATH", &[("C_INCLUDE_PATH", "/nonexistent")], &[]);
    check("SOURCE_DATE_EPOCH", &[("SOURCE_DATE_EPOCH", "1700000000")], &[]);
    s.write("include/util.h", "#define VALUE 22\nstatic inline int twice(int x) { return 2 * x; }\n");
    check("a changed header", &[], &[]);
}

#[test]
fn a_different_compiler_binary_causes_a_miss() {
    let s = project();
    // A compiler of our own at a fixed path: a copy of clang, which finds
    // its headers relative to itself, so `lib/clang` beside its folder
    // leads to them.
    let bin = s.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::create_dir(s.path().join("lib")).unwrap();
    let clang =
        std::fs::canonicalize(text(&Command::new("which").arg("clang").output().unwrap().stdout).trim()).unwrap();
    let resources = clang.parent().unwrap().join("../lib/clang");
    std::os::unix::fs::symlink(resources, s.path().join("lib/clang")).unwrap();
    let cc = bin.join("clang");
    let install = |extra: &[u8]| {
        let tmp = bin.join("clang.new");
        let mut bytes = std::fs::read(&clang).unwrap();
        bytes.extend_from_slice(extra);
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        std::fs::rename(&tmp, &cc).unwrap();
    };
    install(b"");
    let compile = || run_ok(s.cc(&[cc.to_str().unwrap(), "-c", "-Iinclude", "src/main.c", "-o", "main.o"]));
    compile();
    compile();
    assert_eq!((counter(&s, "misses"), counter(&s, "  direct hits")), (1, 1), "{}", stats(&s));
    install(b"a new release");
    compile();
    assert_eq!(counter(&s, "misses"), 2, "a changed compiler must miss");
}

#[test]
fn user_depfiles_are_written_exactly_as_gcc_writes_them() {
    let s = project();
    s.write("src/sp ace$.h", "#define SPACE 1\n");
    s.write(
        "src/dep.c",
        "#include <stdio.h>\n#include \"sp ace$.h\"\n#include \"util.h\"\nint f(void) { return SPACE; }\n",
    );
    age(&s);
    let cases: Vec<Vec<&str>> = vec![
        vec!["-MD"],
        vec!["-MD", "-MF", "OUT/x.dep"],
        vec!["-MD", "-MT", "custom target", "-MF", "OUT/x.dep"],
        vec!["-MD", "-MQ", "quoted $target", "-MP", "-MF", "OUT/x.dep"],
        vec!["-MMD"],
        vec!["-MMD", "-MP", "-MT", "a", "-MQ", "b c", "-MF", "OUT/x.dep"],
        vec!["-Wp,-MMD,OUT/x.dep"],
        vec!["-Wp,-MD,OUT/x.dep,-MP"],
    ];
    let mut compared = 0;
    for (i, (compiler, flags)) in ["gcc", "clang"].iter().flat_map(|c| cases.iter().map(move |f| (*c, f))).enumerate() {
        if compiler == "clang" && flags[0].starts_with("-Wp,") {
            continue; // clang's preprocessor takes no -MD,file through -Wp
        }
        for (who, dir) in [("direct", format!("d{i}")), ("gg", format!("g{i}"))] {
            let out_dir = s.path().join(&dir);
            std::fs::create_dir_all(&out_dir).unwrap();
            let flags: Vec<String> = flags.iter().map(|f| f.replace("OUT", &dir)).collect();
            let mut args: Vec<String> =
                vec!["-c".into(), "-Iinclude".into(), "src/dep.c".into(), "-o".into(), format!("{dir}/dep.o")];
            args.extend(flags);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            if who == "direct" {
                run_ok({
                    let mut c = Command::new(compiler);
                    c.args(&args).current_dir(s.path());
                    c
                });
            } else {
                let mut full = vec![compiler];
                full.extend_from_slice(&args);
                run_ok(s.cc(&full));
            }
        }
        let read = |dir: &str| {
            let f = std::fs::read_dir(s.path().join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| !p.to_string_lossy().ends_with(".o"));
            std::fs::read_to_string(f.unwrap_or_else(|| panic!("case {i}: no depfile in {dir}"))).unwrap()
        };
        let (want, got) = (
            read(&format!("d{i}")).replace(&format!("d{i}"), "X"),
            read(&format!("g{i}")).replace(&format!("g{i}"), "X"),
        );
        assert_eq!(got, want, "case {i}: {compiler} {flags:?}");
        compared += 1;
    }
    assert_eq!(compared, 14, "8 gcc cases and 6 clang cases");
}

#[test]
fn a_hit_rewrites_the_depfile_and_replays_warnings() {
    let s = project();
    s.write("src/warn.c", "int f(int x) { int unused; return x; }\n");
    age(&s);
    let args = ["gcc", "-Wall", "-c", "src/warn.c", "-o", "warn.o", "-MD", "-MF", "warn.d"];
    let first = run_ok(s.cc(&args));
    assert!(text(&first.stderr).contains("unused variable"), "{}", text(&first.stderr));
    let dep = std::fs::read_to_string(s.path().join("warn.d")).unwrap();
    std::fs::remove_file(s.path().join("warn.d")).unwrap();
    std::fs::remove_file(s.path().join("warn.o")).unwrap();
    let second = run_ok(s.cc(&args));
    assert_eq!(counter(&s, "  direct hits"), 1);
    assert_eq!(second.stderr, first.stderr, "diagnostics are replayed on a hit");
    assert_eq!(std::fs::read_to_string(s.path().join("warn.d")).unwrap(), dep);
    assert!(s.path().join("warn.o").exists());
}

#[test]
fn calls_run_locally_are_indistinguishable_from_the_compiler() {
    let s = project();
    s.write("src/bad.c", "int main(void) { return undeclared; }\n");
    for args in [
        vec!["-E", "-Iinclude", "src/main.c"],
        vec!["-c", "src/bad.c", "-o", "bad.o"],
        vec!["-Iinclude", "src/main.c", "-o", "prog"],
        vec!["-c", "-march=native", "-Iinclude", "src/main.c", "-o", "native.o"],
        vec!["--version"],
    ] {
        let want = Command::new("gcc").args(&args).current_dir(s.path()).output().unwrap();
        let mut full = vec!["gcc"];
        full.extend_from_slice(&args);
        let got = s.cc(&full).output().unwrap();
        assert_eq!(got.status.code(), want.status.code(), "{args:?}");
        assert_eq!(text(&got.stdout), text(&want.stdout), "{args:?}");
        assert_eq!(text(&got.stderr), text(&want.stderr), "{args:?}");
    }
    let st = stats(&s);
    assert!(st.contains("linking") && st.contains("-E") && st.contains("-march=native"), "{st}");
    assert!(st.contains("compile failed"), "{st}");
}

#[test]
fn date_and_time_macros_are_never_served_from_the_cache() {
    let s = project();
    s.write("src/when.c", "const char *when = __DATE__ \" \" __TIME__;\n");
    age(&s);
    for _ in 0..2 {
        run_ok(s.cc(&["gcc", "-c", "src/when.c", "-o", "when.o"]));
    }
    assert_eq!(counter(&s, "  direct hits"), 0);
    assert!(stats(&s).contains("__DATE__"), "{}", stats(&s));
}

#[test]
fn a_masquerade_folder_runs_the_real_compiler_through_gg() {
    let s = project();
    let dir = s.path().join("masq");
    s.ok(&["masquerade-dir", dir.to_str().unwrap()]);
    let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap());
    for round in 0..2 {
        let out = Command::new("gcc")
            .args(["-c", "-Iinclude", "src/main.c", "-o", "m.o"])
            .current_dir(s.path())
            .env("PATH", &path)
            .env("GG_DIR", s.store())
            .output()
            .unwrap();
        assert!(out.status.success(), "round {round}: {}", text(&out.stderr));
    }
    assert_eq!(counter(&s, "calls"), 2);
    assert_eq!(counter(&s, "  direct hits"), 1);
    // gg-cc given `gcc` explicitly with the masquerade folder first on PATH
    // still finds the real compiler, not itself.
    let out = s.cc(&["gcc", "-c", "-Iinclude", "src/main.c", "-o", "m2.o"]).env("PATH", &path).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn gg_disable_bypasses_gg_entirely_and_stats_can_be_zeroed() {
    let s = project();
    run_ok(s.cc(&["gcc", "-c", "-Iinclude", "src/main.c", "-o", "m.o"]));
    run_ok({
        let mut c = s.cc(&["gcc", "-c", "-Iinclude", "src/main.c", "-o", "m.o"]);
        c.env("GG_DISABLE", "1");
        c
    });
    assert_eq!(counter(&s, "calls"), 1);
    s.ok(&["stats", "--zero"]);
    assert_eq!(counter(&s, "calls"), 0);
}

#[test]
fn cxx_and_assembler_sources_are_cached_with_identical_objects() {
    let s = project();
    s.write(
        "src/v.cc",
        "#include <vector>\n#include \"util.h\"\nint f() { std::vector<int> v{VALUE}; return twice(v[0]); }\n",
    );
    s.write("src/pp.S", "#define ANSWER 42\n.globl answer\nanswer:\n  mov $ANSWER, %eax\n  ret\n");
    s.write("src/plain.s", ".globl plain\nplain:\n  ret\n");
    age(&s);
    for (compiler, src) in [("g++", "src/v.cc"), ("gcc", "src/pp.S"), ("gcc", "src/plain.s")] {
        let direct_out = s.path().join("direct.o");
        let _ = std::fs::remove_file(s.path().join("direct.d"));
        run_ok({
            let mut c = Command::new(compiler);
            c.args(["-c", "-O2", "-g", "-Iinclude", "-MD", src, "-o"]).arg(&direct_out).current_dir(s.path());
            c
        });
        let direct_dep = std::fs::read_to_string(s.path().join("direct.d")).ok();
        for round in ["miss", "hit"] {
            let _ = std::fs::remove_file(s.path().join("gg.o"));
            let _ = std::fs::remove_file(s.path().join("gg.d"));
            run_ok(s.cc(&[compiler, "-c", "-O2", "-g", "-Iinclude", "-MD", src, "-o", "gg.o"]));
            assert!(same_file(&s.path().join("gg.o"), &direct_out), "{src}: differs on the {round}");
            // Same words (line breaks depend on the target's length).
            let words = |d: String, target: &str| -> Vec<String> {
                d.replace(target, "X").replace("\\\n", " ").split_whitespace().map(str::to_string).collect()
            };
            let dep = std::fs::read_to_string(s.path().join("gg.d")).ok().map(|d| words(d, "gg.o"));
            let want = direct_dep.clone().map(|d| words(d, &direct_out.display().to_string()));
            assert_eq!(dep, want, "{src}: depfile on the {round}");
        }
    }
    assert_eq!(counter(&s, "  direct hits"), 3, "{}", stats(&s));
}

#[test]
fn clang_objects_are_identical_to_direct_compiles() {
    let s = project();
    s.write(
        "src/v.cc",
        "#include <vector>\n#include \"util.h\"\nint f() { std::vector<int> v{VALUE}; return twice(v[0]); }\n",
    );
    age(&s);
    let root = s.path().to_str().unwrap().to_string();
    for (compiler, src) in [("clang", "src/main.c"), ("clang++", "src/v.cc")] {
        for flags in [vec!["-O0"], vec!["-O2", "-g"]] {
            let direct_out = s.path().join("direct.o");
            let mut args: Vec<String> = vec!["-c".into(), format!("-I{root}/include"), src.into()];
            args.extend(flags.iter().map(|f| f.to_string()));
            run_ok({
                let mut c = Command::new(compiler);
                c.args(&args).arg("-o").arg(&direct_out).current_dir(s.path());
                c
            });
            for round in ["miss", "hit"] {
                let _ = std::fs::remove_file(s.path().join("gg.o"));
                let mut full: Vec<&str> = vec![compiler];
                full.extend(args.iter().map(String::as_str));
                full.extend(["-o", "gg.o"]);
                run_ok(s.cc(&full));
                assert!(same_file(&s.path().join("gg.o"), &direct_out), "{compiler} {flags:?}: differs on the {round}");
            }
        }
    }
    assert_eq!(counter(&s, "  direct hits"), 4, "{}", stats(&s));
}

#[test]
fn response_files_are_expanded_and_cached() {
    let s = project();
    s.write("args.rsp", "-c -Iinclude\n'src/main.c' -o rsp.o\n");
    for _ in 0..2 {
        run_ok(s.cc(&["gcc", "@args.rsp"]));
    }
    assert_eq!((counter(&s, "misses"), counter(&s, "  direct hits")), (1, 1), "{}", stats(&s));
    direct(s.path(), &["-c", "-Iinclude", "src/main.c", "-o", "direct.o"]);
    assert!(same_file(&s.path().join("rsp.o"), &s.path().join("direct.o")));
}

#[test]
fn an_unreadable_profile_runs_the_compiler_locally_with_that_reason() {
    let s = project();
    let args = ["-c", "-Iinclude", "-fprofile-instr-use=missing.profdata", "src/main.c", "-o", "p.o"];
    let want = Command::new("clang").args(args).current_dir(s.path()).output().unwrap();
    let mut full = vec!["clang"];
    full.extend(args);
    let got = s.cc(&full).output().unwrap();
    assert_eq!((got.status.code(), text(&got.stderr)), (want.status.code(), text(&want.stderr)));
    assert!(stats(&s).contains("unreadable input file `missing.profdata`"), "{}", stats(&s));
    // gcc's profile feedback names its files after -o: run locally too.
    let out = s.cc(&["gcc", "-c", "-fprofile-use", "-Iinclude", "src/main.c", "-o", "q.o"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stats(&s).contains("profile feedback"), "{}", stats(&s));
}

#[test]
fn gg_log_debug_says_why_a_lookup_missed() {
    let s = project();
    let args = ["gcc", "-c", "-Iinclude", "src/main.c", "-o", "m.o"];
    let first = run_ok({
        let mut c = s.cc(&args);
        c.env("GG_LOG", "debug");
        c
    });
    assert!(text(&first.stderr).contains("NoManifest"), "{}", text(&first.stderr));
    s.write("include/util.h", "#define VALUE 23\nstatic inline int twice(int x) { return 2 * x; }\n");
    let second = run_ok({
        let mut c = s.cc(&args);
        c.env("GG_LOG", "debug");
        c
    });
    let log = text(&second.stderr);
    assert!(log.contains("direct-mode miss") && log.contains("util.h") && log.contains("changed"), "{log}");
}

#[test]
fn outputs_gg_cannot_replace_by_a_rename_are_left_to_the_compiler() {
    let s = project();
    // A symlinked output: the compiler writes through it, the link stays.
    std::os::unix::fs::symlink("target.o", s.path().join("link.o")).unwrap();
    run_ok(s.cc(&["gcc", "-c", "-Iinclude", "src/main.c", "-o", "link.o"]));
    assert!(std::fs::symlink_metadata(s.path().join("link.o")).unwrap().file_type().is_symlink());
    assert!(std::fs::read(s.path().join("target.o")).unwrap().starts_with(b"\x7fELF"));
    // Assembly to stdout.
    let want =
        Command::new("gcc").args(["-S", "-Iinclude", "-o", "-", "src/main.c"]).current_dir(s.path()).output().unwrap();
    let got = s.cc(&["gcc", "-S", "-Iinclude", "-o", "-", "src/main.c"]).output().unwrap();
    assert_eq!(got.stdout, want.stdout);
    assert!(!s.path().join("-").exists());
    let st = stats(&s);
    assert!(st.contains("the output is not a regular file") && st.contains("output to stdout"), "{st}");
}

#[test]
fn files_the_assembler_pulls_in_are_never_served_stale() {
    let s = project();
    s.write("src/blob.S", ".section .rodata\n.globl blob\nblob: .incbin \"data.bin\"\n");
    s.write("data.bin", "AAAA");
    age(&s);
    run_ok(s.cc(&["gcc", "-c", "src/blob.S", "-o", "blob.o"]));
    s.write("data.bin", "BBBB");
    run_ok(s.cc(&["gcc", "-c", "src/blob.S", "-o", "blob.o"]));
    let obj = std::fs::read(s.path().join("blob.o")).unwrap();
    assert!(obj.windows(4).any(|w| w == b"BBBB"), "the object must hold the new data");
    assert!(stats(&s).contains(".incbin"), "{}", stats(&s));
}

#[test]
fn a_new_assembler_earlier_on_path_causes_a_miss() {
    let s = project();
    let bin = s.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let compile = || {
        run_ok({
            let mut c = s.cc(&["gcc", "-c", "-Iinclude", "src/main.c", "-o", "m.o"]);
            c.env("PATH", &path);
            c
        })
    };
    compile();
    compile();
    assert_eq!(counter(&s, "misses"), 1);
    let real_as = Command::new("gcc").arg("-print-prog-name=as").output().unwrap();
    let real_as = text(&real_as.stdout).trim().to_string();
    let real_as = if real_as.contains('/') { real_as } else { "/usr/bin/as".into() };
    std::fs::write(bin.join("as"), format!("#!/bin/sh\nexec {real_as} \"$@\"\n")).unwrap();
    std::fs::set_permissions(bin.join("as"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    compile();
    assert_eq!(counter(&s, "misses"), 2, "a different assembler must miss:\n{}", stats(&s));
}

#[test]
fn compiler_environment_gg_does_not_model_runs_locally() {
    let s = project();
    for var in ["COMPILER_PATH", "GCC_EXEC_PREFIX", "DEPENDENCIES_OUTPUT"] {
        let out = s.cc(&["gcc", "-c", "-Iinclude", "src/main.c", "-o", "m.o"]).env(var, "x.d").output().unwrap();
        let _ = out;
        assert!(stats(&s).contains(&format!("{var} is set")), "{}", stats(&s));
    }
}

#[test]
fn hit_objects_are_writable_like_the_compilers() {
    let s = project();
    for _ in 0..2 {
        let _ = std::fs::remove_file(s.path().join("m.o"));
        run_ok(s.cc(&["gcc", "-c", "-Iinclude", "src/main.c", "-o", "m.o"]));
    }
    assert_eq!(counter(&s, "  direct hits"), 1);
    let direct = s.path().join("d.o");
    direct_compile(&s, &direct);
    let mode = |p: &Path| std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions()) & 0o777;
    assert_eq!(mode(&s.path().join("m.o")), mode(&direct));
}

fn direct_compile(s: &Scratch, out: &Path) {
    run_ok({
        let mut c = Command::new("gcc");
        c.args(["-c", "-Iinclude", "src/main.c", "-o"]).arg(out).current_dir(s.path());
        c
    });
}

#[test]
fn a_failure_after_the_compile_reports_once_and_leaves_no_object() {
    let s = project();
    s.write("src/w.c", "int f(void) { int unused; return 0; }\n");
    age(&s);
    let out = s.cc(&["gcc", "-Wall", "-c", "src/w.c", "-o", "w.o", "-MD", "-MF", "nodir/w.d"]).output().unwrap();
    assert!(!out.status.success());
    assert_eq!(text(&out.stderr).matches("unused variable").count(), 1, "{}", text(&out.stderr));
    assert!(!s.path().join("w.o").exists(), "no object when the depfile cannot be written");
}

#[test]
fn arguments_that_are_not_utf8_go_straight_to_the_compiler() {
    use std::os::unix::ffi::OsStrExt;
    let s = project();
    let name = std::ffi::OsStr::from_bytes(b"\xe9.c");
    std::fs::write(s.path().join(name), "int f;\n").unwrap();
    let out = s.cc(&["gcc", "-c"]).arg(name).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(s.path().join(std::ffi::OsStr::from_bytes(b"\xe9.o")).exists());
}

/// How many calls `gg stats` counts as run locally for `why`.
fn local_count(s: &Scratch, why: &str) -> u64 {
    stats(s)
        .lines()
        .filter_map(|l| l.strip_prefix("run locally"))
        .find_map(|rest| {
            let (n, reason) = rest.trim_start().split_once("  ")?;
            (reason == why).then(|| n.parse().unwrap())
        })
        .unwrap_or(0)
}

#[test]
fn queries_print_what_the_compiler_prints_and_are_counted_as_queries() {
    use gg_wrapper::args::QUERY;
    let s = project();
    let queries: Vec<Vec<&str>> = vec![
        vec!["-dumpmachine"],
        vec!["-dumpversion"],
        vec!["--version"],
        vec!["-print-file-name=libc.so"],
        vec!["-print-prog-name=as"],
        vec!["-print-search-dirs"],
        vec!["-V"],
        vec!["-qversion"],
        vec!["-c", "-Iinclude", "src/main.c", "-o", "never.o", "-dumpmachine"],
    ];
    for args in &queries {
        let want = Command::new("gcc").args(args).current_dir(s.path()).output().unwrap();
        let mut full = vec!["gcc"];
        full.extend_from_slice(args);
        let got = s.cc(&full).output().unwrap();
        assert_eq!(got.status.code(), want.status.code(), "{args:?}");
        assert_eq!(text(&got.stdout), text(&want.stdout), "{args:?}");
        assert_eq!(text(&got.stderr), text(&want.stderr), "{args:?}");
    }
    assert!(!s.path().join("never.o").exists(), "a query compiles nothing");
    // `-v` prints the driver's own path (COLLECT_GCC), which gg-cc gives
    // absolute: only the rest is compared.
    let got = s.cc(&["gcc", "-v"]).output().unwrap();
    assert_eq!(got.status.code(), Some(0));
    assert!(text(&got.stderr).contains("gcc version"), "{}", text(&got.stderr));
    assert_eq!(local_count(&s, QUERY), queries.len() as u64 + 1, "{}", stats(&s));
    let st = stats(&s);
    assert!(!st.contains("linking") && !st.contains("missing its argument"), "{st}");
}

#[test]
fn compiles_in_build_system_scratch_folders_are_probes_and_leave_nothing_in_the_store() {
    use gg_wrapper::probe::PROBE;
    let s = project();
    let probe = "int main(void) { return 0; }\n";
    let folders = ["build/meson-private/tmpabc123", "build/CMakeFiles/CMakeScratch/TryCompile-x1y2z3", "build"];
    for dir in folders {
        let src = if dir == "build" { "conftest.c" } else { "testfile.c" };
        s.write(&format!("{dir}/{src}"), probe);
    }
    age(&s);
    for round in 0..2 {
        for dir in folders {
            let cwd = s.path().join(dir);
            let src = if dir == "build" { "conftest.c" } else { "testfile.c" };
            let _ = std::fs::remove_file(cwd.join("probe.o"));
            run_ok({
                let mut c = s.cc(&["gcc", "-c", src, "-o", "probe.o"]);
                c.current_dir(&cwd);
                c
            });
            direct(&cwd, &["-c", src, "-o", "direct.o"]);
            assert!(same_file(&cwd.join("probe.o"), &cwd.join("direct.o")), "{dir}, round {round}");
        }
    }
    assert_eq!(local_count(&s, PROBE), 6, "{}", stats(&s));
    assert_eq!((counter(&s, "misses"), counter(&s, "  direct hits")), (0, 0));
    let files_in = |sub: &str| {
        let out = Command::new("find").arg(s.store().join(sub)).args(["-type", "f"]).output().unwrap();
        text(&out.stdout).lines().count()
    };
    assert_eq!((files_in("manifests"), files_in("reductions")), (0, 0), "probes are not recorded");
    // The same compile outside a scratch folder is an ordinary miss.
    s.write("src/testfile.c", probe);
    run_ok({
        let mut c = s.cc(&["gcc", "-c", "testfile.c", "-o", "probe.o"]);
        c.current_dir(s.path().join("src"));
        c
    });
    assert_eq!(counter(&s, "misses"), 1);
    assert_eq!(files_in("manifests"), 1, "an ordinary miss is recorded where the probes were looked for");
}

/// The store's blob holding exactly `bytes`.
fn stored_blob_with(s: &Scratch, bytes: &[u8]) -> std::path::PathBuf {
    let shards = std::fs::read_dir(s.store().join("blobs")).unwrap();
    for shard in shards.flatten() {
        for f in std::fs::read_dir(shard.path()).unwrap().flatten() {
            if std::fs::read(f.path()).is_ok_and(|b| b == bytes) {
                return f.path();
            }
        }
    }
    panic!("no blob holds {:?}", text(bytes))
}

#[test]
fn a_corrupt_stored_depfile_or_message_is_a_miss_and_never_served() {
    let s = project();
    s.write("src/w.c", "int f(void) { int unused; return 0; }\n");
    age(&s);
    let args = ["gcc", "-Wall", "-c", "src/w.c", "-o", "w.o", "-MD"];
    let want = direct(s.path(), &["-Wall", "-c", "src/w.c", "-o", "w.o", "-MD"]);
    let (object, depfile) =
        (std::fs::read(s.path().join("w.o")).unwrap(), std::fs::read(s.path().join("w.d")).unwrap());
    assert!(text(&want.stderr).contains("unused variable"));
    run_ok(s.cc(&args));
    for (round, what) in [&want.stderr, &depfile].into_iter().enumerate() {
        // Same size, other bytes: only a hash tells them apart.
        crate::support::clobber(&stored_blob_with(&s, what), &"#".repeat(what.len()));
        for f in ["w.o", "w.d"] {
            std::fs::remove_file(s.path().join(f)).unwrap();
        }
        let got = run_ok(s.cc(&args));
        assert_eq!(text(&got.stderr), text(&want.stderr), "round {round}");
        assert_eq!(std::fs::read(s.path().join("w.d")).unwrap(), depfile, "round {round}");
        assert_eq!(std::fs::read(s.path().join("w.o")).unwrap(), object, "round {round}");
        assert_eq!(counter(&s, "misses"), round as u64 + 2, "round {round}: a corrupt blob must be a miss");
    }
}

/// Writes two files of the same size whose stats differ in nothing but
/// their inode: same mtime and, written back to back, the same ctime tick.
fn stat_twins(s: &Scratch, a: (&str, &str), b: (&str, &str)) {
    use std::os::unix::fs::MetadataExt;
    assert_eq!(a.1.len(), b.1.len());
    for _ in 0..50 {
        let (pa, pb) = (s.write(a.0, a.1), s.write(b.0, b.1));
        let st = Command::new("touch").args(["-d", "1 hour ago"]).arg(&pa).arg(&pb).status().unwrap();
        assert!(st.success());
        let stat = |p: &Path| {
            let m = std::fs::metadata(p).unwrap();
            (m.len(), m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec())
        };
        if stat(&pa) == stat(&pb) {
            // Old enough for direct mode to trust the stat.
            std::thread::sleep(std::time::Duration::from_millis(2100));
            return;
        }
    }
    panic!("could not write two files within one ctime tick");
}

#[test]
fn a_header_swapped_behind_the_same_stat_is_never_served_stale() {
    let s = project();
    s.write("src/c.c", "#include \"cfg.h\"\nint value = VALUE;\n");
    age(&s);
    stat_twins(&s, ("variants/a/cfg.h", "#define VALUE 1\n"), ("variants/b/cfg.h", "#define VALUE 2\n"));
    // `include` becomes a link to one of the variants.
    std::fs::rename(s.path().join("include"), s.path().join("include.orig")).unwrap();
    std::os::unix::fs::symlink("variants/a", s.path().join("include")).unwrap();
    let check = |what: &str| {
        run_ok(s.cc(&["gcc", "-c", "-Iinclude", "src/c.c", "-o", "c.o"]));
        direct(s.path(), &["-c", "-Iinclude", "src/c.c", "-o", "plain.o"]);
        assert!(same_file(&s.path().join("c.o"), &s.path().join("plain.o")), "{what}: a stale object");
    };
    check("first");
    check("again");
    assert_eq!(counter(&s, "  direct hits"), 1);
    let st = Command::new("ln").args(["-sfn", "variants/b", "include"]).current_dir(s.path()).status().unwrap();
    assert!(st.success());
    check("`include` retargeted");
    std::fs::rename(s.path().join("variants/b"), s.path().join("variants/c")).unwrap();
    std::fs::rename(s.path().join("variants/a"), s.path().join("variants/b")).unwrap();
    check("folders renamed");
}

#[test]
fn a_compiler_script_runs_locally_so_a_change_behind_it_is_never_served_stale() {
    let s = project();
    let bin = s.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let which = |name: &str| text(&Command::new("which").arg(name).output().unwrap().stdout).trim().to_string();
    std::os::unix::fs::symlink(which("gcc"), bin.join("real")).unwrap();
    let script = bin.join("cc");
    std::fs::write(&script, format!("#!/bin/sh\nexec {} \"$@\"\n", bin.join("real").display())).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let check = |plain: &str, what: &str| {
        run_ok(s.cc(&[script.to_str().unwrap(), "-c", "-Iinclude", "src/main.c", "-o", "m.o"]));
        run_ok({
            let mut c = Command::new(plain);
            c.args(["-c", "-Iinclude", "src/main.c", "-o", "plain.o"]).current_dir(s.path());
            c
        });
        assert!(same_file(&s.path().join("m.o"), &s.path().join("plain.o")), "{what}: a stale object");
    };
    check("gcc", "first");
    check("gcc", "again");
    let st = Command::new("ln").args(["-sfn", &which("clang")]).arg(bin.join("real")).status().unwrap();
    assert!(st.success());
    check("clang", "the script now runs clang");
    assert_eq!(local_count(&s, gg_wrapper::toolchain::SCRIPT), 3, "{}", stats(&s));
}

#[test]
fn a_header_that_has_include_probed_appearing_later_is_never_served_stale() {
    let s = project();
    s.write(
        "src/p.c",
        "#if __has_include(\"extra.h\")\n#include \"extra.h\"\n#else\n#define EXTRA 0\n#endif\n\
         #if __has_include(<probe/only.h>)\nint only = 1;\n#endif\nint extra = EXTRA;\n",
    );
    age(&s);
    let check = |what: &str| {
        run_ok(s.cc(&["gcc", "-c", "-Iinclude", "src/p.c", "-o", "p.o"]));
        direct(s.path(), &["-c", "-Iinclude", "src/p.c", "-o", "plain.o"]);
        assert!(same_file(&s.path().join("p.o"), &s.path().join("plain.o")), "{what}: a stale object");
    };
    check("first");
    check("again");
    assert_eq!(counter(&s, "  direct hits"), 1, "a compile that probes is still cached");
    s.write("include/extra.h", "#define EXTRA 7\n");
    check("extra.h created");
    s.write("include/probe/only.h", "\n");
    check("a header only probed created");
    std::fs::remove_file(s.path().join("include/probe/only.h")).unwrap();
    check("a header only probed removed");
    assert_eq!(counter(&s, "misses"), 3, "removed again: the entry from before it existed hits");
}

#[test]
fn a_header_created_earlier_on_the_include_path_is_never_served_stale() {
    let s = project();
    std::fs::create_dir(s.path().join("gen")).unwrap();
    // Old enough for direct mode to trust the folders' stat.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let check = |what: &str| {
        run_ok(s.cc(&["gcc", "-c", "-Igen", "-Iinclude", "src/main.c", "-o", "gen/m.o"]));
        direct(s.path(), &["-c", "-Igen", "-Iinclude", "src/main.c", "-o", "plain.o"]);
        assert!(same_file(&s.path().join("gen/m.o"), &s.path().join("plain.o")), "{what}: a stale object");
    };
    check("first");
    check("again");
    // The hit wrote its object into `gen`: the folder changed, no header
    // appeared in it.
    check("once more");
    assert_eq!(counter(&s, "  direct hits"), 2, "{}", stats(&s));
    s.write("gen/util.h", "#define VALUE 50\nstatic inline int twice(int x) { return 2 * x; }\n");
    check("gen/util.h created");
    assert_eq!(counter(&s, "misses"), 2, "{}", stats(&s));
}
