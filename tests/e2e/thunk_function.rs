//! A thunk is a function: a compile thunk recorded by gg-cc in place,
//! forced from a store that holds no result for it, gives the very blob the
//! compile wrote in place, and the same diagnostics, on every engine (the
//! local sandbox, a gg-worker, the Lambda function on its emulator). The
//! cases are the flags real builds use: `dpkg-buildflags`, `-g`/`-g3`,
//! every kind of prefix map, `__FILE__`, absolute and relative sources and
//! include folders, `-MD`, with gcc, g++ and clang.

use std::path::Path;
use std::process::Command;

use crate::lambda::Cloud;
use crate::support::{blob_path, text, Scratch};
use crate::worker::start;

/// One compile: the compiler, the folder it runs in (relative to the
/// project), its arguments before `-o`, and the object.
struct Case {
    compiler: &'static str,
    dir: &'static str,
    args: Vec<String>,
    object: String,
}

/// What the compile wrote in place, and the thunk gg-cc recorded for it.
struct Recorded {
    thunk: String,
    object: Vec<u8>,
    stderr: String,
    /// The reduction's outputs as recorded in place: the object and the
    /// list of what the compile read.
    outputs: serde_json::Value,
}

/// The outputs of `thunk`'s reduction in the store at `store`.
fn reduction_outputs(store: &Path, thunk: &str) -> serde_json::Value {
    for shard in std::fs::read_dir(store.join("reductions")).unwrap() {
        if let Ok(bytes) = std::fs::read(shard.unwrap().path().join(thunk)) {
            let red: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            return red["outputs"].clone();
        }
    }
    panic!("no reduction of {thunk} in {}", store.display());
}

fn project(s: &Scratch) {
    s.write(
        "src/main.c",
        "#include <stdio.h>\n#include \"util.h\"\n#include \"where.h\"\n\
         int main(void) { int unused; printf(\"%s %s %d\\n\", __FILE__, WHERE, twice(VALUE)); return 0; }\n",
    );
    s.write("include/util.h", "#define VALUE 21\nstatic inline int twice(int x) { return 2 * x; }\n");
    s.write("include/where.h", "#define WHERE __FILE__\n");
    // C++ in a `.c` file: g++ compiles it as C++ (cc1plus, C++ headers).
    s.write(
        "src/cxx.c",
        "#include <string>\n#include \"util.h\"\nstd::string seven() { return std::to_string(VALUE); }\n",
    );
    s.write(
        "src/list.cc",
        "#include <vector>\n#include <string>\n#include \"util.h\"\n\
         std::string name() { std::vector<int> v{VALUE}; return std::string(__FILE__) + std::to_string(v[0]); }\n",
    );
}

/// The flag sets, with `R` standing for the project folder.
fn cases(root: &str) -> Vec<Case> {
    // What dpkg-buildflags gives every Debian package (bookworm), for a
    // package built in the project folder.
    let dpkg = format!(
        "-g -O2 -ffile-prefix-map={root}=. -fstack-protector-strong -Wformat -Werror=format-security \
         -Wdate-time -D_FORTIFY_SOURCE=2"
    );
    let table: Vec<(&str, &str, String, &str)> = vec![
        ("gcc", "", format!("{dpkg} -Wall -Iinclude -c src/main.c"), "c"),
        ("clang", "", format!("{dpkg} -Wall -Iinclude -c src/main.c"), "c"),
        ("g++", "", format!("{dpkg} -Iinclude -c src/list.cc"), "cc"),
        ("g++", "", format!("{dpkg} -Iinclude -c src/cxx.c"), "gxx-c"),
        ("clang++", "", format!("-g -O1 -ffile-prefix-map={root}=. -Iinclude -c src/list.cc"), "cc"),
        ("gcc", "", "-g -Iinclude -c src/main.c".into(), "plain-g"),
        ("gcc", "", format!("-g3 -fdebug-prefix-map={root}=/usr/src/p -Iinclude -c src/main.c"), "g3"),
        ("clang", "", format!("-g -fdebug-prefix-map={root}=/usr/src/p -Iinclude -c src/main.c"), "debug-map"),
        ("gcc", "", format!("-O2 -fmacro-prefix-map={root}/=  -Iinclude -c src/main.c"), "macro-map"),
        ("clang", "", format!("-O2 -fmacro-prefix-map={root}/= -Iinclude -c src/main.c"), "macro-map"),
        (
            "gcc",
            "",
            format!(
                "-g -fdebug-prefix-map==/x -fmacro-prefix-map=/usr/include=/inc -I{root}/include -c {root}/src/main.c"
            ),
            "empty-old",
        ),
        ("gcc", "src", format!("-g -ffile-prefix-map={root}/src=S -I../include -MD -c main.c"), "subdir-md"),
        (
            "clang",
            "src",
            format!("-g -ffile-prefix-map={root}=. -I{root}/include -MD -MF main.dep -c {root}/src/main.c"),
            "abs-md",
        ),
        (
            "gcc",
            "",
            format!("-g -O2 -ffile-prefix-map=include=INC -fprofile-prefix-map={root}=. -Iinclude -c src/main.c"),
            "relative-map",
        ),
    ];
    table
        .into_iter()
        .enumerate()
        .map(|(i, (compiler, dir, args, tag))| Case {
            compiler,
            dir,
            args: args.split_whitespace().map(str::to_string).collect(),
            object: format!("o{i}-{tag}.o"),
        })
        .collect()
}

/// Compiles `case` plainly, then through gg-cc (a miss, storing every
/// input), and checks the two wrote the same object, depfile and messages.
fn record(s: &Scratch, case: &Case) -> Recorded {
    let cwd = s.path().join(case.dir);
    let mut args: Vec<&str> = case.args.iter().map(String::as_str).collect();
    args.extend(["-o", &case.object]);
    let depfile = depfile_of(case);
    let plain = Command::new(case.compiler).args(&args).current_dir(&cwd).output().unwrap();
    assert!(plain.status.success(), "{} {args:?}:\n{}", case.compiler, text(&plain.stderr));
    let plain_object = std::fs::read(cwd.join(&case.object)).unwrap();
    let plain_dep = depfile.as_ref().map(|d| std::fs::read(cwd.join(d)).unwrap());
    std::fs::remove_file(cwd.join(&case.object)).unwrap();

    let mut cc_args = vec![case.compiler];
    cc_args.extend(&args);
    let out = s.cc(&cc_args).current_dir(&cwd).env("GG_STORE_INPUTS", "1").env("GG_LOG", "debug").output().unwrap();
    let log = text(&out.stderr);
    assert!(out.status.success(), "gg-cc {args:?}:\n{log}");
    let thunk = log
        .lines()
        .find_map(|l| l.strip_prefix("gg-cc: recorded thunk "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("{} {args:?}: no thunk recorded:\n{log}", case.compiler))
        .to_string();
    let object = std::fs::read(cwd.join(&case.object)).unwrap();
    assert!(object == plain_object, "{} {args:?}: gg-cc's object differs from the compiler's", case.compiler);
    if let Some(d) = &depfile {
        assert_eq!(std::fs::read(cwd.join(d)).ok(), plain_dep, "{} {args:?}: depfiles differ", case.compiler);
    }
    let diagnostics: String = log.lines().filter(|l| !l.starts_with("gg-cc: ")).map(|l| format!("{l}\n")).collect();
    assert_eq!(diagnostics, text(&plain.stderr), "{} {args:?}: gg-cc's messages differ", case.compiler);
    let outputs = reduction_outputs(&s.store(), &thunk);
    assert_eq!(outputs.as_array().map(Vec::len), Some(2), "{args:?}: the object and the list it read: {outputs}");
    Recorded { thunk, object, stderr: text(&plain.stderr), outputs }
}

fn depfile_of(case: &Case) -> Option<String> {
    let i = case.args.iter().position(|a| a == "-MF");
    match i {
        Some(i) => Some(case.args[i + 1].clone()),
        None if case.args.iter().any(|a| a == "-MD") => Some(case.object.replace(".o", ".d")),
        None => None,
    }
}

/// Forces every recorded thunk at once with `gg` (made by `gg_cmd`) in a
/// store that has their inputs but no results, and checks each output is
/// the object written in place and each thunk's messages are the
/// compiler's.
fn force_everywhere(s: &Scratch, engine: &str, recorded: &[(String, Recorded)], gg_cmd: &dyn Fn(&[&str]) -> Command) {
    let _ = std::fs::remove_dir_all(s.store().join("reductions"));
    let mut args = vec!["force"];
    args.extend(recorded.iter().map(|(_, r)| r.thunk.as_str()));
    let out = gg_cmd(&args).output().unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{engine}: forcing failed:\n{stderr}");
    assert!(!stderr.contains("sandboxes"), "{engine}: a sandbox path shows:\n{stderr}");
    let stdout = text(&out.stdout);
    for (what, r) in recorded {
        let value = stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{} ", r.thunk)))
            .unwrap_or_else(|| panic!("{engine}: {what}: {} not forced:\n{stdout}", r.thunk));
        let forced = std::fs::read(blob_path(&s.store(), value.trim())).unwrap_or_default();
        assert!(
            forced == r.object,
            "{engine}: {what}: the thunk {} gave {value}, not the object written in place",
            r.thunk
        );
        // The list of what it read too: the root it ran under, and the
        // width the compiler wraps lines at, never show.
        assert_eq!(
            reduction_outputs(&s.store(), &r.thunk),
            r.outputs,
            "{engine}: {what}: the thunk's outputs differ from the compile in place"
        );
        // Each thunk's messages are replayed whole, whatever the order.
        assert!(
            stderr.contains(&r.stderr),
            "{engine}: {what}: the thunk's messages differ from the compiler's:\n--- in place\n{}--- forced\n{stderr}",
            r.stderr
        );
    }
    let reductions = std::fs::read_dir(s.store().join("reductions")).map_or(0, |d| d.count());
    assert!(reductions > 0, "{engine}: nothing was recorded");
}

#[test]
fn a_compile_thunk_gives_the_in_place_object_on_every_engine() {
    let s = Scratch::new();
    project(&s);
    let root = s.path().to_str().unwrap().to_string();
    let recorded: Vec<(String, Recorded)> = cases(&root)
        .iter()
        .map(|c| (format!("{} {} (in `{}`)", c.compiler, c.args.join(" "), c.dir), record(&s, c)))
        .collect();
    // The cases really differ: prefix maps change the objects.
    let distinct: std::collections::BTreeSet<&Vec<u8>> = recorded.iter().map(|(_, r)| &r.object).collect();
    assert!(distinct.len() > recorded.len() / 2, "the flag matrix collapsed to {} objects", distinct.len());
    assert!(recorded.iter().any(|(_, r)| r.stderr.contains("unused")), "no case printed a warning");

    force_everywhere(&s, "local sandbox", &recorded, &|args| s.cmd(args));

    let worker = start(&s.path().join("worker-store"), &[]);
    force_everywhere(&s, "worker", &recorded, &|args| {
        let mut c = s.cmd(args);
        c.env("GG_ENGINE", "remote").env("GG_WORKERS", &worker.url).env("GG_REMOTE_STRICT", "1");
        c
    });
    assert!(has_results(&s.path().join("worker-store")), "the worker ran nothing");

    let cloud = Cloud::start(&s, 2);
    force_everywhere(&s, "Lambda", &recorded, &|args| cloud.gg(&s, args));
    assert!(!cloud.objects("reductions").is_empty(), "the function ran nothing");
}

fn has_results(store: &Path) -> bool {
    std::fs::read_dir(store.join("reductions")).is_ok_and(|mut d| d.next().is_some())
}

#[test]
fn a_build_entered_through_a_symlink_names_the_folder_the_user_sees_in_place_and_in_the_sandbox() {
    let s = Scratch::new();
    project(&s);
    let link = s.path().join("entered");
    std::os::unix::fs::symlink(s.path(), &link).unwrap();
    // As a shell that `cd`s through the link leaves it: PWD names the
    // link, getcwd the real folder; compilers record PWD.
    let args = ["-g", "-Iinclude", "-c", "src/main.c", "-o", "linked.o"];
    let plain = Command::new("gcc").args(args).current_dir(&link).env("PWD", &link).output().unwrap();
    assert!(plain.status.success(), "{}", text(&plain.stderr));
    let plain_object = std::fs::read(s.path().join("linked.o")).unwrap();
    let dwarf = Command::new("readelf").args(["--debug-dump=info", "linked.o"]).current_dir(s.path()).output().unwrap();
    assert!(text(&dwarf.stdout).contains(link.to_str().unwrap()), "gcc records PWD as the compile folder");
    std::fs::remove_file(s.path().join("linked.o")).unwrap();

    let mut cc_args = vec!["gcc"];
    cc_args.extend(args);
    let out = s
        .cc(&cc_args)
        .current_dir(&link)
        .env("PWD", &link)
        .env("GG_STORE_INPUTS", "1")
        .env("GG_LOG", "debug")
        .output()
        .unwrap();
    let log = text(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(std::fs::read(s.path().join("linked.o")).unwrap() == plain_object, "gg-cc's object differs");
    let thunk = log.lines().find_map(|l| l.strip_prefix("gg-cc: recorded thunk ")).unwrap().split_whitespace().next();
    let thunk = thunk.unwrap().to_string();
    let outputs = reduction_outputs(&s.store(), &thunk);
    let recorded = Recorded { thunk, object: plain_object, stderr: String::new(), outputs };
    force_everywhere(&s, "local sandbox", &[("a compile entered through a symlink".into(), recorded)], &|a| s.cmd(a));
}
