//! The README's example builds work: its first command (`CC=gg-cc make`,
//! twice, the second build answered from the cache) as written there, and
//! the lower layer's examples/hello/build.sh (hand-made thunks), whose
//! second run is answered entirely from the cache.

use std::path::Path;
use std::process::Command;

use crate::support::text;

/// The repository's root.
fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The README's first command, without the `cargo install` that the test
/// build has already done: the first ```sh block, one line.
fn first_command() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let block = readme.split("```sh\n").nth(1).and_then(|b| b.split("\n```").next()).expect("a ```sh block");
    assert!(!block.contains('\n'), "the first command is one line: {block}");
    let install = "cargo install --locked --path cli && ";
    block.strip_prefix(install).unwrap_or_else(|| panic!("the first command starts with `{install}`: {block}")).into()
}

#[test]
fn the_readmes_first_command_builds_through_gg_cc_twice_the_second_time_from_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let st = Command::new("cp").arg("-r").arg(root().join("examples")).arg(tmp.path()).status().unwrap();
    assert!(st.success());
    let _ = std::fs::remove_dir_all(tmp.path().join("examples/hello/out"));
    // What `cargo install` puts on PATH: gg and gg-cc, side by side.
    let bin = Path::new(env!("CARGO_BIN_EXE_gg-cc")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let command = first_command();
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(&command).current_dir(tmp.path()).env("PATH", path).env("GG_DIR", tmp.path().join("store"));
    sh.env("GG_VERIFY_SCAN", "1");
    for v in ["CC", "CFLAGS", "MAKEFLAGS", "GG_DISABLE", "GG_LOG", "GG_ENGINE"] {
        sh.env_remove(v);
    }
    let out = sh.output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "`{command}` failed:\n{stdout}{stderr}");
    assert!(
        stdout.contains("gg-cc -O2 -Wall -c src/main.c -o out/main.o"),
        "make ran the compiles through gg-cc:\n{stdout}"
    );
    // A fresh store: the first build's three compiles missed, so the three
    // hits are the second build's.
    assert!(stdout.contains("misses                 3\n"), "{stdout}");
    assert!(stdout.contains("cache hits             3 (50.0% of cacheable calls)"), "{stdout}");
    assert!(stdout.contains("  direct hits          3\n"), "{stdout}");
    assert!(stdout.ends_with("hello, thunks\n1 word(s) in \"thunks\"\n"), "the program runs:\n{stdout}");
}

#[test]
fn the_example_builds_runs_and_rebuilds_from_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let example = root().join("examples/hello");
    let copy = tmp.path().join("hello");
    let st = Command::new("cp").arg("-r").arg(&example).arg(&copy).status().unwrap();
    assert!(st.success());
    let _ = std::fs::remove_dir_all(copy.join("build"));
    let run = || {
        let out = Command::new(copy.join("build.sh"))
            .env("GG", env!("CARGO_BIN_EXE_gg"))
            .env("GG_DIR", tmp.path().join("store"))
            .env("GG_VERIFY_SCAN", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "build.sh failed:\n{}{}", text(&out.stdout), text(&out.stderr));
        (text(&out.stdout), text(&out.stderr))
    };
    let (stdout, stderr) = run();
    assert!(stdout.contains("hello, gg runs builds as thunks\n5 word(s)"), "{stdout}");
    assert!(stderr.contains("4 thunk(s) ran, 0 answered from the cache"), "{stderr}");
    let (stdout, stderr) = run();
    assert!(stdout.contains("hello, gg runs builds as thunks"), "{stdout}");
    assert!(stderr.contains("0 thunk(s) ran, 4 answered from the cache"), "{stderr}");
}
