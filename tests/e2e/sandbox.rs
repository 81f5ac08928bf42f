//! The sandbox contract: only declared files, only declared environment,
//! children killed at the timeout, and the sandbox location never matters.

use std::time::{Duration, Instant};

use crate::support::{sh_thunk, text, Scratch};

#[test]
fn a_thunk_cannot_read_an_undeclared_file() {
    let s = Scratch::new();
    s.write("declared.txt", "declared\n");
    s.write("secret.txt", "secret\n");
    s.ok(&["put", "secret.txt"]);
    let t = s.ok(&sh_thunk("cat declared.txt > out && cat secret.txt >> out", "out", &["--value", "declared.txt"]));
    let err = s.fails(&["force", &t]);
    assert!(err.contains("secret.txt"), "{err}");
    assert!(err.contains(&t), "the failing thunk is named: {err}");
    let t = s.ok(&sh_thunk("cat declared.txt > out", "out", &["--value", "declared.txt"]));
    let value = s.ok(&["force", &t]);
    assert!(value.starts_with(&t) && value.contains(" V"), "{value}");
}

#[test]
fn a_thunk_inherits_no_environment_variable() {
    let s = Scratch::new();
    s.ok(&sh_thunk("/usr/bin/env > out", "out", &["--envar", "ONLY=this", "--placeholder", "out"]));
    let out = s.cmd(&["force", "out"]).env("LEAK_ME", "1").env("HOME", "/root").output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let env = std::fs::read_to_string(s.path().join("out")).unwrap();
    let mut names: Vec<&str> = env.lines().map(|l| l.split('=').next().unwrap()).collect();
    names.sort();
    // dash itself exports PWD; nothing comes from the caller.
    assert_eq!(names, ["ONLY", "PWD"], "{env}");
}

#[test]
fn the_timeout_kills_the_function_and_its_children() {
    let s = Scratch::new();
    let pidfile = s.path().join("child.pid");
    let script = format!("sleep 300 & echo $! > {}; sleep 300; echo done > out", pidfile.display());
    let t = s.ok(&sh_thunk(&script, "out", &["--timeout", "1"]));
    let start = Instant::now();
    let err = s.fails(&["force", &t]);
    assert!(err.contains("timed out after 1s"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(20));
    let pid = std::fs::read_to_string(&pidfile).unwrap().trim().to_string();
    // The background child is gone (or a zombie awaiting its reaper).
    std::thread::sleep(Duration::from_millis(200));
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(state.is_empty() || state.contains(") Z "), "child {pid} still alive: {state}");
}

#[test]
fn the_sandbox_root_placeholder_does_not_change_the_name_or_the_output() {
    let a = Scratch::new();
    let b = Scratch::new();
    let mut values = Vec::new();
    for s in [&a, &b] {
        s.write("in.txt", "input\n");
        let t = s.ok(&sh_thunk(
            "cat @@GG_ROOT@@/in.txt > out; echo \"$ROOT\" | grep -c /sandboxes/ >> out",
            "out",
            &["--value", "in.txt", "--envar", "ROOT=@@GG_ROOT@@"],
        ));
        values.push((t.clone(), s.ok(&["force", &t])));
        let blob = values.last().unwrap().1.split(' ').nth(1).unwrap().to_string();
        let path = s.store().join("blobs").join(&blob[1..2]).join(&blob);
        assert_eq!(std::fs::read_to_string(path).unwrap(), "input\n1\n");
    }
    assert_ne!(a.store(), b.store());
    assert_eq!(values[0], values[1], "same thunk name and output from two sandbox folders");
}

#[test]
fn a_thunk_writing_to_its_input_in_place_cannot_corrupt_the_store() {
    let s = Scratch::new();
    s.write("in.txt", "original\n");
    // chmod first so the write also happens when not running as root.
    let t = s.ok(&sh_thunk("chmod u+w in.txt; echo tampered > in.txt; echo x > out", "out", &["--value", "in.txt"]));
    let err = s.fails(&["force", &t]);
    assert!(err.contains("input `in.txt` was modified in place"), "{err}");
    let fsck = s.run(&["fsck"]);
    assert!(fsck.status.success(), "the altered entry was moved aside: {}", text(&fsck.stdout));
}

#[test]
fn a_sandbox_holds_exactly_the_declared_files_and_output_folders() {
    let s = Scratch::new();
    s.write("src/a.c", "a\n");
    s.write("inc/a.h", "h\n");
    s.write("stray.txt", "not declared\n");
    let t = s.ok(&sh_thunk(
        "cd @@GG_ROOT@@ && find . -mindepth 1 | LC_ALL=C sort > /dev/shm/gg-sandbox-listing.$$ && mv /dev/shm/gg-sandbox-listing.$$ obj/listing",
        "obj/listing",
        &["--value", "src/a.c", "--value", "inc/a.h", "--cwd", "src"],
    ));
    let out = s.ok(&["force", &t]);
    let value = out.split(' ').nth(1).unwrap();
    let listing = std::fs::read_to_string(crate::support::blob_path(&s.store(), value)).unwrap();
    assert_eq!(listing, "./bin\n./bin/sh\n./inc\n./inc/a.h\n./obj\n./src\n./src/a.c\n");
}

#[test]
fn warnings_of_a_successful_thunk_are_shown() {
    let s = Scratch::new();
    let t = s.ok(&sh_thunk("echo 'warning: shadowed variable' >&2; echo ok > out", "out", &[]));
    let out = s.run(&["force", &t]);
    assert!(out.status.success());
    assert!(text(&out.stderr).contains("warning: shadowed variable"), "{}", text(&out.stderr));
}

#[test]
fn an_in_place_edit_of_an_input_that_sets_its_mtime_back_is_caught() {
    let s = Scratch::new();
    s.write("in.txt", "original\n");
    let name = s.ok(&["hash", "in.txt"]).split_whitespace().next().unwrap().to_string();
    // Same size, same inode, the mtime restored to the nanosecond: only
    // the ctime tells.
    let t = s.ok(&sh_thunk(
        "touch -r in.txt ref; chmod u+w in.txt; printf X 1<>in.txt; touch -r ref in.txt; echo x > out",
        "out",
        &["--value", "in.txt"],
    ));
    let err = s.fails(&["force", &t]);
    assert!(err.contains("input `in.txt` was modified in place") && err.contains(&name), "{err}");
    assert!(!crate::support::blob_path(&s.store(), &name).exists(), "the altered blob is no longer in the store");
    let aside = std::fs::read_dir(s.store().join("corrupt")).unwrap().count();
    assert_eq!(aside, 1, "the altered blob was moved to corrupt/");
}

#[test]
fn an_output_under_a_folder_swapped_for_a_link_is_refused_and_the_outside_file_kept() {
    let s = Scratch::new();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("out");
    std::fs::write(&victim, "not the thunk's\n").unwrap();
    let script = format!("rm -rf d; ln -s {} d", outside.path().display());
    let t = s.ok(&sh_thunk(&script, "d/out", &[]));
    let err = s.fails(&["force", &t]);
    assert!(err.contains("`d/out`") && err.contains("`d`, which is a symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "not the thunk's\n", "the outside file is untouched");
}
