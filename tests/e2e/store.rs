//! The store under concurrent writers, and corruption caught.

use std::process::Stdio;

use crate::support::{clobber, text, Scratch};

#[test]
fn sixteen_processes_writing_the_same_and_different_blobs_leave_a_consistent_store() {
    let s = Scratch::new();
    let mut files = Vec::new();
    for i in 0..20 {
        files.push(s.write(&format!("shared/{i}"), &format!("shared {i}\n").repeat(5000)));
    }
    let mut children = Vec::new();
    for p in 0..16 {
        let mut args: Vec<String> = vec!["put".into()];
        args.extend(files.iter().map(|f| f.display().to_string()));
        for i in 0..10 {
            args.push(s.write(&format!("own/{p}/{i}"), &format!("own {p} {i}\n")).display().to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        children.push(s.cmd(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap());
    }
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout).lines().count(), 30);
    }
    let report = s.ok(&["fsck"]);
    assert!(report.contains(&format!("checked {} entries", 20 + 16 * 10)), "{report}");
    assert!(report.ends_with(": 0 corrupt"), "{report}");
    let leftovers = std::fs::read_dir(s.store().join("tmp")).unwrap().count();
    assert_eq!(leftovers, 0, "no temp file left behind");
}

#[test]
fn a_truncated_or_altered_blob_is_caught() {
    let s = Scratch::new();
    s.write("a.txt", "aaaa\n");
    s.write("b.txt", "bbbb\n");
    let a = s.ok(&["put", "a.txt"]).split(' ').next().unwrap().to_string();
    let b = s.ok(&["put", "b.txt"]).split(' ').next().unwrap().to_string();
    let blob = |n: &str| s.store().join("blobs").join(&n[1..2]).join(n);
    clobber(&blob(&a), "aa");
    clobber(&blob(&b), "BBBB\n");
    let out = s.run(&["fsck"]);
    assert!(!out.status.success());
    let report = text(&out.stdout);
    assert!(report.contains(&a) && report.contains("size 2 instead of 5"), "{report}");
    assert!(report.contains(&b) && report.contains("do not match"), "{report}");
    assert!(report.ends_with(": 2 corrupt\n"), "{report}");
    assert!(s.run(&["fsck"]).status.success(), "corrupt entries were moved aside");
}

#[test]
fn the_store_is_gg_dir_else_a_dot_gg_above_else_the_user_cache() {
    let s = Scratch::new();
    s.write("proj/sub/f.txt", "located\n");
    let name = s.ok(&["hash", "proj/sub/f.txt"]).split(' ').next().unwrap().to_string();
    let blob = |store: &std::path::Path| store.join("blobs").join(&name[1..2]).join(&name);
    let put = |cwd: &str, env: &[(&str, &std::path::Path)]| {
        let mut c = s.cmd(&["put", "f.txt"]);
        c.current_dir(s.path().join(cwd)).env_remove("GG_DIR").env_remove("XDG_CACHE_HOME");
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    };
    // No GG_DIR and no .gg anywhere above: $HOME/.cache/gg.
    let home = s.path().join("home");
    put("proj/sub", &[("HOME", &home)]);
    assert!(blob(&home.join(".cache/gg")).exists());
    // XDG_CACHE_HOME wins over HOME.
    let xdg = s.path().join("xdg");
    put("proj/sub", &[("HOME", &home), ("XDG_CACHE_HOME", &xdg)]);
    assert!(blob(&xdg.join("gg")).exists());
    // A .gg folder in a parent of the working directory wins over both.
    std::fs::create_dir(s.path().join("proj/.gg")).unwrap();
    put("proj/sub", &[("HOME", &home), ("XDG_CACHE_HOME", &xdg)]);
    assert!(blob(&s.path().join("proj/.gg")).exists());
    // GG_DIR wins over everything, and may be relative to the working directory.
    put("proj/sub", &[("GG_DIR", std::path::Path::new("rel-store"))]);
    assert!(blob(&s.path().join("proj/sub/rel-store")).exists());
}

#[test]
fn a_relative_store_path_still_runs_thunks() {
    let s = Scratch::new();
    s.write("in.txt", "x\n");
    let mut c =
        s.cmd(&crate::support::sh_thunk("cat in.txt > out", "out", &["--value", "in.txt", "--placeholder", "out"]));
    let out = c.env("GG_DIR", ".rel").output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = s.cmd(&["force", "out"]).env("GG_DIR", ".rel").output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(s.path().join("out")).unwrap(), "x\n");
    assert_eq!(std::fs::read_dir(s.path().join(".rel/sandboxes")).unwrap().count(), 0, "no sandbox folder left behind");
}
