//! Real projects from Debian source packages, built plainly and through
//! gg-cc in the same folder: every object, archive, library and program
//! must be identical, the project's own tests must pass, and a rebuild from
//! a warm cache must be all hits. (Needs network access to Debian's
//! archive the first time, and root to enable deb-src; see
//! integration/fetch-source.sh.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{text, Scratch};

/// The unpacked source of a Debian package (fetched once, then cached).
pub fn debian_source(pkg: &str) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../integration/fetch-source.sh");
    let out = Command::new(script).arg(pkg).output().unwrap();
    assert!(out.status.success(), "cannot fetch the Debian source of {pkg}:\n{}", text(&out.stderr));
    PathBuf::from(text(&out.stdout).trim())
}

/// Runs a shell command in `dir`; with `gg`, gg-cc's folder is first on
/// PATH and the scratch store is used.
pub fn sh(s: &Scratch, dir: &Path, script: &str, gg: bool) -> String {
    let mut c = Command::new("sh");
    // Every compile's scan is checked against what the compiler read.
    c.args(["-ec", script]).current_dir(dir).env("GG_DIR", s.store()).env("GG_VERIFY_SCAN", "1");
    if gg {
        let bin = Path::new(env!("CARGO_BIN_EXE_gg-cc")).parent().unwrap();
        c.env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()));
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "`{script}` failed in {}:\n{}{}",
        dir.display(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Every ELF file and `ar` archive (thin or not) under `dir`, by relative
/// path.
pub fn build_outputs(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                stack.push(p);
            } else if meta.is_file() {
                let bytes = std::fs::read(&p).unwrap();
                if bytes.starts_with(b"\x7fELF") || bytes.starts_with(b"!<arch>\n") || bytes.starts_with(b"!<thin>\n") {
                    out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), bytes);
                }
            }
        }
    }
    out
}

pub fn assert_same_outputs(plain: &BTreeMap<PathBuf, Vec<u8>>, gg: &BTreeMap<PathBuf, Vec<u8>>, what: &str) {
    let objects = plain.keys().filter(|p| p.extension().is_some_and(|e| e == "o")).count();
    assert!(objects > 0, "{what}: the plain build made no objects");
    assert_eq!(plain.keys().collect::<Vec<_>>(), gg.keys().collect::<Vec<_>>(), "{what}: different sets of outputs");
    let differ: Vec<&PathBuf> = plain.iter().filter(|(p, b)| gg[*p] != **b).map(|(p, _)| p).collect();
    assert!(differ.is_empty(), "{what}: these outputs differ from the plain build: {differ:?}");
}

fn count_objects(outputs: &BTreeMap<PathBuf, Vec<u8>>) -> u64 {
    outputs.keys().filter(|p| p.extension().is_some_and(|e| e == "o")).count() as u64
}

fn stat(s: &Scratch, label: &str) -> u64 {
    let st = s.ok(&["stats"]);
    let line = st.lines().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("no `{label}` in\n{st}"));
    line[label.len()..].split_whitespace().next().unwrap().parse().unwrap()
}

/// After a warm rebuild: every compile was a direct hit, none compiled.
fn assert_all_hits(s: &Scratch, objects: u64, what: &str) {
    let st = s.ok(&["stats"]);
    assert_eq!(stat(s, "misses"), 0, "{what}: a warm rebuild compiled something:\n{st}");
    assert_eq!(stat(s, "  direct hits"), objects, "{what}: every object should be a hit:\n{st}");
    assert!(!st.contains("not recorded"), "{what}:\n{st}");
}

#[test]
fn lua_builds_with_make_and_cc_gg_cc_identically_and_rebuilds_from_the_cache() {
    let s = Scratch::new();
    let orig = debian_source("lua5.4").parent().unwrap().join("lua5.4_5.4.4.orig.tar.gz");
    sh(&s, s.path(), &format!("tar xzf {}", orig.display()), false);
    let tree = s.path().join("lua-5.4.4");
    let smoke = "src/lua -e 'local t = {} for i = 1, 10 do t[i] = i * i end print(table.concat(t, \",\"))' && \
                 echo 'print(string.format(\"%d\", 6 * 7))' > x.lua && src/luac -o x.luac x.lua && src/lua x.luac";
    sh(&s, &tree, "make -j2 linux CC='cc -std=gnu99'", false);
    let plain = build_outputs(&tree);
    assert_eq!(sh(&s, &tree, smoke, false), "1,4,9,16,25,36,49,64,81,100\n42\n");
    sh(&s, &tree, "make clean", false);
    sh(&s, &tree, "make -j2 linux CC='gg-cc -std=gnu99'", true);
    assert_same_outputs(&plain, &build_outputs(&tree), "lua through gg-cc");
    assert_eq!(sh(&s, &tree, smoke, false), "1,4,9,16,25,36,49,64,81,100\n42\n");
    s.ok(&["stats", "--zero"]);
    sh(&s, &tree, "make clean && make -j2 linux CC='gg-cc -std=gnu99'", true);
    assert_same_outputs(&plain, &build_outputs(&tree), "lua from a warm cache");
    assert_all_hits(&s, count_objects(&plain), "lua");
}

#[test]
fn gnu_hello_configures_and_builds_with_cc_gg_cc_in_both_spellings() {
    let src = debian_source("hello");
    for cc in ["gg-cc", "gg-cc gcc"] {
        let s = Scratch::new();
        let tree = s.path().join("hello");
        sh(&s, s.path(), &format!("cp -a {} {}", src.display(), tree.display()), false);
        sh(&s, &tree, "./configure -q CC=gcc && make -j2 -s", false);
        let plain = build_outputs(&tree);
        let plain_config = std::fs::read_to_string(tree.join("config.h")).unwrap();
        sh(&s, &tree, "make -s distclean", false);
        // configure's probes run through gg-cc and must reach the same answers.
        sh(&s, &tree, &format!("./configure -q CC='{cc}' && make -j2 -s"), true);
        assert_eq!(
            std::fs::read_to_string(tree.join("config.h")).unwrap(),
            plain_config,
            "CC='{cc}': configure concluded differently"
        );
        assert_same_outputs(&plain, &build_outputs(&tree), &format!("hello with CC='{cc}'"));
        sh(&s, &tree, "make -s check", true);
        assert_eq!(sh(&s, &tree, "./hello", false), "Hello, world!\n");
        s.ok(&["stats", "--zero"]);
        sh(&s, &tree, "make -s clean && make -j2 -s", true);
        assert_same_outputs(&plain, &build_outputs(&tree), &format!("hello from a warm cache, CC='{cc}'"));
        assert_all_hits(&s, count_objects(&plain), "hello");
    }
}

#[test]
fn json_c_builds_with_cmake_and_the_compiler_launcher_identically() {
    let s = Scratch::new();
    let tree = s.path().join("json-c");
    sh(&s, s.path(), &format!("cp -a {} {}", debian_source("json-c").display(), tree.display()), false);
    let configure = |launcher: bool| {
        let flag = if launcher { "-DCMAKE_C_COMPILER_LAUNCHER=gg-cc" } else { "" };
        format!("rm -rf build && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo {flag} > /dev/null && ninja -C build > /dev/null")
    };
    sh(&s, &tree, &configure(false), false);
    let plain = build_outputs(&tree.join("build"));
    sh(&s, &tree, &configure(true), true);
    assert_same_outputs(&plain, &build_outputs(&tree.join("build")), "json-c through the launcher");
    let tests = sh(&s, &tree.join("build"), "ctest -j2 --output-on-failure", true);
    assert!(tests.contains("100% tests passed"), "{tests}");
    s.ok(&["stats", "--zero"]);
    sh(&s, &tree, "ninja -C build -t clean > /dev/null && ninja -C build > /dev/null", true);
    assert_same_outputs(&plain, &build_outputs(&tree.join("build")), "json-c from a warm cache");
    assert_all_hits(&s, count_objects(&plain), "json-c");
}

/// Lua from its Debian source unpacked in `s`, built plainly and cleaned:
/// the tree and the plain build's outputs.
pub fn plain_lua(s: &Scratch) -> (PathBuf, BTreeMap<PathBuf, Vec<u8>>) {
    let orig = debian_source("lua5.4").parent().unwrap().join("lua5.4_5.4.4.orig.tar.gz");
    sh(s, s.path(), &format!("tar xzf {}", orig.display()), false);
    let tree = s.path().join("lua-5.4.4");
    sh(s, &tree, "make -j2 linux CC='cc -std=gnu99'", false);
    let plain = build_outputs(&tree);
    sh(s, &tree, "make clean", false);
    (tree, plain)
}

#[test]
fn lua_built_through_gg_cc_on_three_workers_one_killed_mid_build_is_identical_to_a_plain_build() {
    let s = Scratch::new();
    let (tree, plain) = plain_lua(&s);
    let mut workers: Vec<crate::worker::WorkerProc> =
        (0..3).map(|i| crate::worker::start(&s.path().join(format!("worker{i}")), &[])).collect();
    let urls = workers.iter().map(|w| w.url.clone()).collect::<Vec<_>>().join(",");
    // Strict: a compile that did not run on a worker fails the build.
    let env = format!("GG_ENGINE=remote GG_WORKERS={urls} GG_REMOTE_STRICT=1");
    // One worker is killed (-9) once it has compiled a few objects: its
    // compiles in flight go to the others.
    let build = {
        let (store, tree, env) = (s.store(), tree.clone(), env.clone());
        std::thread::spawn(move || {
            let bin = Path::new(env!("CARGO_BIN_EXE_gg-cc")).parent().unwrap();
            Command::new("sh")
                .args(["-ec", &format!("{env} make -j4 linux CC='gg-cc -std=gnu99'")])
                .current_dir(&tree)
                .env("GG_DIR", store)
                .env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()))
                .output()
                .unwrap()
        })
    };
    let reductions = |dir: &Path| -> usize {
        let shards = dir.join("reductions").read_dir().into_iter().flatten().flatten();
        shards.map(|s| s.path().read_dir().map_or(0, |d| d.count())).sum()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while reductions(&s.path().join("worker0")) < 3 && !build.is_finished() {
        assert!(std::time::Instant::now() < deadline, "worker0 never compiled anything");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(!build.is_finished(), "the build ended before worker0 had compiled 3 objects");
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(workers[0].child.id() as i32, libc::SIGKILL) };
    let _ = workers[0].child.wait();
    let out = build.join().unwrap();
    assert!(out.status.success(), "make through the workers failed:\n{}{}", text(&out.stdout), text(&out.stderr));
    assert_same_outputs(&plain, &build_outputs(&tree), "lua compiled on three workers, one killed mid-build");
    assert_eq!(stat(&s, "misses"), count_objects(&plain), "every compile went to a worker");
    let used = (1..3).filter(|i| reductions(&s.path().join(format!("worker{i}"))) > 0).count();
    assert!(used >= 1 && reductions(&s.path().join("worker0")) >= 3, "the compiles were spread over the workers");
    // A rebuild is served from the local cache without asking the workers.
    drop(workers);
    s.ok(&["stats", "--zero"]);
    sh(&s, &tree, &format!("make clean && {env} make -j4 linux CC='gg-cc -std=gnu99'"), true);
    assert_same_outputs(&plain, &build_outputs(&tree), "lua from the cache with the workers gone");
    assert_all_hits(&s, count_objects(&plain), "lua");
}
