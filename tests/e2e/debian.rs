//! Debian packages built as a distribution builds them, with
//! `dpkg-buildpackage -b` (so with `dpkg-buildflags`' prefix maps, hardening
//! and debhelper's environment), plainly and through gg: gg-cc from a
//! masquerade folder first on PATH on the local engine (cold, then warm)
//! and on two workers, and `gg ninja` through the ninja shim with
//! `GG_NINJA=1`, locally and on the workers. Every `.deb` must be byte for
//! byte the plain build's. lz4 builds with make, libdrm with meson and
//! Ninja. Each build starts from a fresh copy of the source at the same
//! path, as a package builder's chroot would. (Needs root and the Debian
//! archive: the build dependencies are installed if missing.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::projects::debian_source;
use crate::support::{reductions, text, Scratch};
use crate::worker::{start, WorkerProc};

/// How one build reaches gg.
enum Route<'a> {
    Plain,
    /// gg-cc links first on PATH; the workers, if any, strictly.
    GgCc(&'a [WorkerProc]),
    /// The ninja shim first on PATH with `GG_NINJA=1`.
    GgNinja(&'a [WorkerProc]),
}

/// Installs the package's build dependencies unless they are there (one
/// test at a time, and waiting for apt's lock).
fn build_deps(src: &Path, pkg: &str) {
    static APT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = APT.lock().unwrap_or_else(|e| e.into_inner());
    let ok = Command::new("dpkg-checkbuilddeps").current_dir(src).output().unwrap().status.success();
    if !ok {
        let out = Command::new("apt-get")
            .args(["build-dep", "-y", "-q", "-o", "DPkg::Lock::Timeout=600", pkg])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .unwrap();
        assert!(out.status.success(), "cannot install {pkg}'s build dependencies (needs root):\n{}", text(&out.stderr));
    }
}

/// Builds `pkg` by `route` from a fresh copy at `<scratch>/build/`, with
/// the store `store`; returns every `.deb` by name.
fn build(s: &Scratch, pkg: &str, route: &Route<'_>, store: &Path) -> BTreeMap<String, Vec<u8>> {
    let src = debian_source(pkg);
    build_deps(&src, pkg);
    let build = s.path().join("build");
    let _ = std::fs::remove_dir_all(&build);
    std::fs::create_dir_all(&build).unwrap();
    assert!(Command::new("cp").arg("-a").arg(&src).arg(&build).status().unwrap().success());
    let tree = build.join(src.file_name().unwrap());
    let mut c = Command::new("dpkg-buildpackage");
    c.args(["-b", "-us", "-uc"])
        .current_dir(&tree)
        .env("DEB_BUILD_OPTIONS", "nocheck parallel=2")
        // meson wraps the compiler in ccache or sccache when it finds one,
        // unless CC names the compiler: every route builds alike.
        .env("CC", "cc")
        .env("CCACHE_DISABLE", "1")
        .env("GG_DIR", store)
        // Every compile's scan is checked against what the compiler read.
        .env("GG_VERIFY_SCAN", "1")
        .env_remove("GG_NINJA")
        .env_remove("GG_ENGINE");
    let bin = Path::new(env!("CARGO_BIN_EXE_gg")).parent().unwrap().to_path_buf();
    let path = std::env::var("PATH").unwrap();
    let workers = match route {
        Route::Plain => None,
        Route::GgCc(ws) => {
            c.env("PATH", format!("{}:{}:{path}", masquerade(s).display(), bin.display()));
            Some(ws)
        }
        Route::GgNinja(ws) => {
            c.env("PATH", format!("{}:{}:{path}", shim(s).display(), bin.display())).env("GG_NINJA", "1");
            Some(ws)
        }
    };
    if let Some(ws) = workers.filter(|ws| !ws.is_empty()) {
        let urls: Vec<&str> = ws.iter().map(|w| w.url.as_str()).collect();
        c.env("GG_ENGINE", "remote").env("GG_WORKERS", urls.join(",")).env("GG_REMOTE_STRICT", "1");
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "dpkg-buildpackage of {pkg} failed:\n{}{}", tail(&out.stdout), tail(&out.stderr));
    let mut debs = BTreeMap::new();
    for e in std::fs::read_dir(&build).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "deb") {
            debs.insert(p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap());
        }
    }
    assert!(!debs.is_empty(), "{pkg} built no .deb");
    debs
}

fn tail(b: &[u8]) -> String {
    let t = text(b);
    let lines: Vec<&str> = t.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn masquerade(s: &Scratch) -> PathBuf {
    let dir = s.path().join("masquerade");
    if !dir.exists() {
        s.ok(&["masquerade-dir", dir.to_str().unwrap()]);
    }
    dir
}

fn shim(s: &Scratch) -> PathBuf {
    let dir = s.path().join("shim");
    if !dir.exists() {
        s.ok(&["install-ninja-shim", dir.to_str().unwrap()]);
    }
    dir
}

fn assert_same(pkg: &str, what: &str, plain: &BTreeMap<String, Vec<u8>>, got: &BTreeMap<String, Vec<u8>>) {
    assert_eq!(plain.keys().collect::<Vec<_>>(), got.keys().collect::<Vec<_>>(), "{pkg}, {what}: other packages");
    let differ: Vec<&String> = plain.iter().filter(|(n, b)| got.get(*n) != Some(b)).map(|(n, _)| n).collect();
    assert!(differ.is_empty(), "{pkg}, {what}: these .debs differ from the plain build: {differ:?}");
}

/// `gg stats` of `store`, as `label value` lines.
fn stat(s: &Scratch, store: &Path, label: &str) -> u64 {
    let out = s.cmd(&["stats"]).env("GG_DIR", store).output().unwrap();
    let t = text(&out.stdout);
    let line = t.lines().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("no `{label}` in\n{t}"));
    line[label.len()..].split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn lz4_with_make_builds_identical_debs_through_gg_cc_locally_warm_and_on_workers() {
    let s = Scratch::new();
    let plain = build(&s, "lz4", &Route::Plain, &s.path().join("unused-store"));

    let local = s.path().join("store-local");
    assert_same("lz4", "gg-cc, cold", &plain, &build(&s, "lz4", &Route::GgCc(&[]), &local));
    let misses = stat(&s, &local, "misses");
    // The library's objects; the programs are compiled and linked by one
    // call each, which runs as it is.
    assert!(misses >= 4, "lz4's compiles went through gg-cc: {misses} misses");
    assert_same("lz4", "gg-cc, warm", &plain, &build(&s, "lz4", &Route::GgCc(&[]), &local));
    assert_eq!(stat(&s, &local, "  direct hits"), misses, "the warm build is all hits");

    let ws: Vec<WorkerProc> = (0..2).map(|i| start(&s.path().join(format!("worker{i}")), &[])).collect();
    let remote = s.path().join("store-remote");
    assert_same("lz4", "gg-cc on workers", &plain, &build(&s, "lz4", &Route::GgCc(&ws), &remote));
    let ran: usize = (0..2).map(|i| reductions(&s.path().join(format!("worker{i}")))).sum();
    assert!(ran as u64 >= misses, "the workers compiled lz4: {ran} results");
}

#[test]
fn libdrm_with_meson_builds_identical_debs_through_gg_cc_and_gg_ninja_locally_and_on_workers() {
    let s = Scratch::new();
    let plain = build(&s, "libdrm", &Route::Plain, &s.path().join("unused-store"));

    let cc = s.path().join("store-cc");
    assert_same("libdrm", "gg-cc", &plain, &build(&s, "libdrm", &Route::GgCc(&[]), &cc));
    assert!(stat(&s, &cc, "misses") >= 40, "libdrm's compiles went through gg-cc");

    let ninja = s.path().join("store-ninja");
    assert_same("libdrm", "gg ninja", &plain, &build(&s, "libdrm", &Route::GgNinja(&[]), &ninja));
    assert!(reductions(&ninja) >= 40, "gg ninja ran libdrm's compiles as thunks: {}", reductions(&ninja));

    let ws: Vec<WorkerProc> = (0..2).map(|i| start(&s.path().join(format!("worker{i}")), &[])).collect();
    let cc_remote = s.path().join("store-cc-remote");
    assert_same("libdrm", "gg-cc on workers", &plain, &build(&s, "libdrm", &Route::GgCc(&ws), &cc_remote));
    let ninja_remote = s.path().join("store-ninja-remote");
    assert_same("libdrm", "gg ninja on workers", &plain, &build(&s, "libdrm", &Route::GgNinja(&ws), &ninja_remote));
    let ran: usize = (0..2).map(|i| reductions(&s.path().join(format!("worker{i}")))).sum();
    assert!(ran >= 80, "the workers ran both builds' compiles: {ran} results");
}
