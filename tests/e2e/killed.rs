//! A gg-cc killed mid-compile (`kill -9`, as a stopped build does) leaves
//! temp files beside its output and in the store; the next compile of
//! that output removes them.

use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use crate::support::{text, Scratch};

/// Whether a live process (not a zombie) named `comm` (any, if empty)
/// sleeps or runs in process group `pgid`; `cc1` only counts once it sleeps.
fn in_group(pgid: i32, comm: &str) -> bool {
    let Ok(procs) = std::fs::read_dir("/proc") else { return false };
    procs.flatten().any(|p| {
        let stat = std::fs::read_to_string(p.path().join("stat")).unwrap_or_default();
        // `PID (COMM) STATE PPID PGRP …`
        let Some((head, tail)) = stat.rsplit_once(") ") else { return false };
        let name = head.split_once(" (").map_or("", |(_, n)| n);
        let fields: Vec<&str> = tail.split_whitespace().collect();
        let (state, pgrp) = (fields.first().copied(), fields.get(2).and_then(|g| g.parse::<i32>().ok()));
        let alive = if comm.is_empty() { state != Some("Z") } else { name == comm && state == Some("S") };
        pgrp == Some(pgid) && alive
    })
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn leftovers(s: &Scratch) -> Vec<String> {
    let beside = std::fs::read_dir(s.path()).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned());
    let in_store = std::fs::read_dir(s.store().join("tmp"))
        .unwrap()
        .flatten()
        .map(|e| format!("store/tmp/{}", e.file_name().to_string_lossy()));
    beside.filter(|n| n.ends_with(".tmp")).chain(in_store).collect()
}

#[test]
fn temps_of_a_gg_cc_killed_mid_compile_are_removed_by_the_next_compile() {
    let s = Scratch::new();
    s.write("w.c", "#include \"slow.h\"\nint w(void) { return 1; }\n");
    let fifo = s.path().join("slow.h");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    // The compiler blocks reading the FIFO until the test writes to it.
    let mut cc = s.cc(&["gcc", "-c", "w.c", "-o", "w.o", "-MD"]);
    let mut child = cc.process_group(0).spawn().unwrap();
    let pgid = child.id() as i32;
    wait_for("cc1 to wait on the FIFO", || in_group(pgid, "cc1"));
    // Killed the moment it appears, the driver sometimes takes its
    // compiler down with it; once it sleeps on the FIFO it stays.
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    // Let the orphaned compiler finish: it writes the temps gg-cc named.
    std::fs::write(&fifo, "\n").unwrap();
    wait_for("the orphaned compiler to finish", || !in_group(pgid, ""));
    let left = leftovers(&s);
    assert!(left.iter().any(|n| n.starts_with(".w.o.")), "the kill left an object temp: {left:?}");
    assert!(left.iter().any(|n| n.starts_with("store/tmp/deps.")), "and a depfile temp: {left:?}");

    std::fs::remove_file(&fifo).unwrap();
    s.write("slow.h", "\n");
    let again = s.cc(&["gcc", "-c", "w.c", "-o", "w.o", "-MD"]).output().unwrap();
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(leftovers(&s), Vec::<String>::new(), "nothing left behind");
}
