//! The store under concurrent writers, and corruption caught.

use std::process::Stdio;

use crate::support::{text, Scratch};

#[test]
fn sixteen_processes_writing_the_same_and_different_blobs_leave_a_consistent_store() {
    let s = Scratch::new();
    let mut files = Vec::new();
    for i in 0..20 {
        files.push(s.write(
            &format!("shared/{i}"),
            &format!("shared {i}\n").repeat(5000),
        ));
    }
    let mut children = Vec::new();
    for p in 0..16 {
        let mut args: Vec<String> = vec!["put".into()];
        args.extend(files.iter().map(|f| f.display().to_string()));
        for i in 0..10 {
            args.push(
                s.write(&format!("own/{p}/{i}"), &format!("own {p} {i}\n"))
                    .display()
                    .to_string(),
            );
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        children.push(
            s.cmd(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout).lines().count(), 30);
    }
    let report = s.ok(&["fsck"]);
    assert!(
        report.contains(&format!("checked {} entries", 20 + 16 * 10)),
        "{report}"
    );
    assert!(report.ends_with(": 0 corrupt"), "{report}");
    let leftovers = std::fs::read_dir(s.store().join("tmp")).unwrap().count();
    assert_eq!(leftovers, 0, "no temp file left behind");
}

#[test]
fn a_truncated_or_altered_blob_is_caught() {
    let s = Scratch::new();
    s.write("a.txt", "aaaa\n");
    s.write("b.txt", "bbbb\n");
    let a = s
        .ok(&["put", "a.txt"])
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let b = s
        .ok(&["put", "b.txt"])
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let blob = |n: &str| s.store().join("blobs").join(&n[1..2]).join(n);
    std::fs::write(blob(&a), "aa").unwrap();
    std::fs::write(blob(&b), "BBBB\n").unwrap();
    let out = s.run(&["fsck"]);
    assert!(!out.status.success());
    let report = text(&out.stdout);
    assert!(
        report.contains(&a) && report.contains("size 2 instead of 5"),
        "{report}"
    );
    assert!(
        report.contains(&b) && report.contains("do not match"),
        "{report}"
    );
    assert!(report.ends_with(": 2 corrupt\n"), "{report}");
    assert!(
        s.run(&["fsck"]).status.success(),
        "corrupt entries were moved aside"
    );
}
