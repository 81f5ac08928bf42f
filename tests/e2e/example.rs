//! The README's example build (examples/hello/build.sh) works, and its
//! second run is answered entirely from the cache.

use std::process::Command;

use crate::support::text;

#[test]
fn the_example_builds_runs_and_rebuilds_from_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hello");
    let copy = tmp.path().join("hello");
    let st = Command::new("cp").arg("-r").arg(&example).arg(&copy).status().unwrap();
    assert!(st.success());
    let _ = std::fs::remove_dir_all(copy.join("build"));
    let run = || {
        let out = Command::new(copy.join("build.sh"))
            .env("GG", env!("CARGO_BIN_EXE_gg"))
            .env("GG_DIR", tmp.path().join("store"))
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
