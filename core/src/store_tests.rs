//! Unit tests for the store and `fsck`.

use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::fsck::fsck;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("gg")).unwrap();
    (dir, store)
}

#[test]
fn a_put_blob_reads_back_under_its_name() {
    let (_d, s) = store();
    let n = s.put_bytes(Kind::Value, b"int main;").unwrap();
    assert_eq!(n, Name::of_value(b"int main;"));
    assert!(s.has(&n));
    assert_eq!(s.get(&n).unwrap(), b"int main;");
    assert!(matches!(s.get(&Name::of_value(b"other")), Err(StoreError::Missing(_))));
}

#[test]
fn blobs_and_reductions_are_read_only_and_their_folders_made_again_when_gone() {
    let (d, s) = store();
    let n = s.put_bytes(Kind::Value, b"first").unwrap();
    let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&s.blob(&n).unwrap()), 0o444);
    // A clean elsewhere removed the folders this process wrote into.
    fs::remove_dir_all(d.path().join("gg/blobs")).unwrap();
    fs::remove_dir_all(d.path().join("gg/reductions")).unwrap();
    let again = s.put_bytes(Kind::Value, b"first").unwrap();
    assert_eq!(s.get(&again).unwrap(), b"first");
    assert_eq!(mode(&s.blob(&again).unwrap()), 0o444);
    let red = Reduction { outputs: vec![("o".into(), again)], stdout: None, stderr: None, executable: vec![] };
    let t = Name::of_bytes(Kind::Thunk, b"t");
    s.set_reduction(&t, &red).unwrap();
    assert_eq!(s.local_reduction(&t), Some(red));
    assert!(fs::read_dir(d.path().join("gg/tmp")).unwrap().next().is_none(), "no temp file is left");
}

#[test]
fn putting_a_file_names_its_contents() {
    let (d, s) = store();
    let f = d.path().join("a.c");
    fs::write(&f, b"int a;").unwrap();
    let n = s.put_file(&f).unwrap();
    assert_eq!(n, Name::of_value(b"int a;"));
    assert!(f.exists(), "put copies, it does not move");
    let mode = fs::metadata(s.blob_path(&n)).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o444);
}

#[test]
fn a_right_sized_but_wrong_blob_is_refused_by_a_verifying_read_and_moved_aside() {
    let (_d, s) = store();
    let n = s.put_bytes(Kind::Value, b"0123456789").unwrap();
    let p = s.blob_path(&n);
    fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(&p, b"9876543210").unwrap();
    assert_eq!(s.get(&n).unwrap(), b"9876543210", "a plain read checks only the size");
    let e = s.get_verified(&n).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    assert!(!p.exists(), "the corrupt blob is moved aside");
    let good = s.put_bytes(Kind::Value, b"0123456789").unwrap();
    assert_eq!(s.get_verified(&good).unwrap(), b"0123456789");
}

#[test]
fn a_truncated_blob_is_caught_on_read() {
    let (_d, s) = store();
    let n = s.put_bytes(Kind::Value, b"0123456789").unwrap();
    let p = s.blob_path(&n);
    fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(&p, b"01234").unwrap();
    assert!(!s.has(&n));
    let e = s.get(&n).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains(&n.to_string()));
    assert!(matches!(s.blob(&n), Err(StoreError::Corrupt { .. })));
}

#[test]
fn fsck_moves_aside_an_altered_blob_and_keeps_good_ones() {
    let (_d, s) = store();
    let good = s.put_bytes(Kind::Value, b"good").unwrap();
    let bad = s.put_bytes(Kind::Value, b"evil").unwrap();
    let p = s.blob_path(&bad);
    fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(&p, b"EVIL").unwrap(); // same size: only re-hashing finds it
    assert!(s.has(&bad), "a same-size change passes the cheap check");
    let report = fsck(&s).unwrap();
    assert_eq!(report.corrupt.len(), 1, "{report:?}");
    assert_eq!(report.corrupt[0].0, p);
    assert!(report.corrupt[0].2.exists());
    assert!(!s.has(&bad));
    assert!(s.has(&good));
    assert!(fsck(&s).unwrap().corrupt.is_empty());
}

#[test]
fn fsck_catches_a_broken_reduction_and_a_misnamed_file() {
    let (_d, s) = store();
    let t = Name::of_bytes(Kind::Thunk, b"t");
    s.set_reduction(
        &t,
        &Reduction {
            outputs: vec![("a.o".into(), Name::of_value(b"o"))],
            stdout: None,
            stderr: None,
            executable: vec![],
        },
    )
    .unwrap();
    let rp = s.root().join("reductions").join(&t.to_string()[1..2]).join(t.to_string());
    fs::set_permissions(&rp, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(&rp, b"{\"outputs\":[[").unwrap();
    assert_eq!(s.reduction(&t), None, "an unreadable record is a miss");
    fs::create_dir_all(s.root().join("blobs/zz")).unwrap();
    fs::write(s.root().join("blobs/zz/not-a-name"), b"x").unwrap();
    let report = fsck(&s).unwrap();
    assert_eq!(report.corrupt.len(), 2, "{report:?}");
}

#[test]
fn reductions_round_trip() {
    let (_d, s) = store();
    let t = Name::of_bytes(Kind::Thunk, b"t");
    assert_eq!(s.reduction(&t), None);
    let r = Reduction {
        outputs: vec![("a.o".into(), Name::of_value(b"o")), ("a.d".into(), Name::of_value(b"d"))],
        stdout: None,
        stderr: Some(Name::of_value(b"warning")),
        executable: vec!["a.d".into()],
    };
    s.set_reduction(&t, &r).unwrap();
    let back = s.reduction(&t).unwrap();
    assert_eq!(back, r);
    assert_eq!(back.get(None), Some(Name::of_value(b"o")));
    assert_eq!(back.get(Some("a.d")), Some(Name::of_value(b"d")));
    assert_eq!(back.get(Some("zz")), None);
    assert!(back.is_executable(Some("a.d")) && !back.is_executable(None));
}

#[test]
fn executables_get_an_executable_copy_and_the_blob_stays_read_only() {
    let (_d, s) = store();
    let n = s.put_bytes(Kind::Value, b"#!/bin/sh\n").unwrap();
    let x = s.executable(&n).unwrap();
    assert_eq!(fs::metadata(&x).unwrap().permissions().mode() & 0o777, 0o555);
    assert_eq!(fs::metadata(s.blob_path(&n)).unwrap().permissions().mode() & 0o777, 0o444);
    assert_eq!(s.executable(&n).unwrap(), x);
}

#[test]
fn adopting_a_thunk_encoding_names_it_as_a_thunk() {
    use crate::thunk::{Function, Object};
    let (d, s) = store();
    let f = Name::of_value(b"sh");
    let thunk = Thunk::new(
        Function { hash: f, args: vec!["sh".into()], envars: vec![] },
        vec![],
        vec![Object { path: "sh".into(), hash: f }],
        vec![],
        vec!["out".into()],
        String::new(),
        0,
    )
    .unwrap();
    let p = d.path().join("gg/tmp/out");
    fs::write(&p, thunk.encode()).unwrap();
    assert_eq!(s.adopt_output(&p).unwrap(), thunk.name());
    assert!(!p.exists());
    let mut pretty = thunk.encode();
    pretty.push(b'\n');
    fs::write(&p, &pretty).unwrap();
    assert_eq!(s.adopt_output(&p).unwrap().kind(), Kind::Value, "only the canonical encoding is a thunk");
}

#[test]
fn many_threads_writing_the_same_and_different_blobs_leave_a_consistent_store() {
    let (_d, s) = store();
    std::thread::scope(|scope| {
        for i in 0..16 {
            let s = &s;
            scope.spawn(move || {
                for j in 0..50 {
                    s.put_bytes(Kind::Value, format!("shared {j}").repeat(1000).as_bytes()).unwrap();
                    s.put_bytes(Kind::Value, format!("own {i} {j}").as_bytes()).unwrap();
                }
            });
        }
    });
    let report = fsck(&s).unwrap();
    assert!(report.corrupt.is_empty());
    assert_eq!(report.checked, 50 + 16 * 50);
    assert_eq!(fs::read_dir(s.root().join("tmp")).unwrap().count(), 0, "no temp file left behind");
}

#[test]
fn a_same_size_alteration_is_caught_before_a_thunk_uses_the_blob() {
    let (_d, s) = store();
    let n = s.put_bytes(Kind::Value, b"good").unwrap();
    let p = s.blob_path(&n);
    fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(&p, b"evil").unwrap();
    let e = s.verified(&n, false).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains(&n.to_string()));
    assert!(!p.exists(), "the corrupt blob was moved aside");
    let good = s.put_bytes(Kind::Value, b"fine").unwrap();
    assert_eq!(s.verified(&good, true).unwrap().0, s.executable(&good).unwrap());
}

#[test]
fn fsck_removes_temp_files_and_sandboxes_left_by_dead_runs_but_not_fresh_ones() {
    let (_d, s) = store();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 24 * 3600);
    let stale_tmp = s.root().join("tmp/put.1.tmp");
    fs::write(&stale_tmp, b"half").unwrap();
    fs::File::options().write(true).open(&stale_tmp).unwrap().set_modified(old).unwrap();
    let stale_box = s.root().join("sandboxes/run.1");
    fs::create_dir_all(stale_box.join("usr")).unwrap();
    fs::File::open(&stale_box).unwrap().set_modified(old).unwrap();
    let fresh_tmp = s.root().join("tmp/put.2.tmp");
    fs::write(&fresh_tmp, b"in progress").unwrap();
    let report = fsck(&s).unwrap();
    assert_eq!(report.stale_removed, 2);
    assert!(!stale_tmp.exists() && !stale_box.exists());
    assert!(fresh_tmp.exists(), "a write in progress is left alone");
}

#[test]
fn concurrent_first_uses_of_an_executable_keep_one_inode() {
    use std::os::unix::fs::MetadataExt;
    let (_d, s) = store();
    let n = s.put_bytes(Kind::Value, &vec![7u8; 4 << 20]).unwrap();
    let stamps: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8).map(|_| scope.spawn(|| s.verified(&n, true).unwrap())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ino = fs::metadata(&stamps[0].0).unwrap().ino();
    assert!(stamps.iter().all(|(p, st)| *st == stamps[0].1 && fs::metadata(p).unwrap().ino() == ino));
    assert_eq!(Stamp::of_path(&s.executable(&n).unwrap()).unwrap(), stamps[0].1, "no later writer replaced it");
}

#[test]
fn a_blob_changed_after_verification_is_hashed_again_and_refused() {
    let (_d, s) = store();
    let n = s.put_bytes(Kind::Value, b"original\n").unwrap();
    s.verified(&n, false).unwrap();
    let p = s.blob_path(&n);
    std::thread::sleep(std::time::Duration::from_millis(10));
    fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(&p, b"ORIGINAL\n").unwrap(); // same size, new mtime
    assert!(matches!(s.verified(&n, false), Err(StoreError::Corrupt { .. })));
}

#[test]
fn a_sweep_removes_temps_of_dead_writers_only() {
    let d = tempfile::tempdir().unwrap();
    let s = Store::open(d.path()).unwrap();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = s.root().join(format!("tmp/deps.{dead}.3.abc.tmp"));
    let live = s.temp_path("deps");
    let foreign = s.root().join("tmp/put.1.tmp");
    for p in [&stale, &live, &foreign] {
        fs::write(p, b"x").unwrap();
    }
    s.sweep_dead_temps(100);
    assert!(!stale.exists(), "the dead writer's temp is gone");
    assert!(live.exists() && foreign.exists());
}

#[test]
fn a_handed_over_thunk_is_given_once_then_read_from_the_store() {
    use crate::thunk::{Function, Object};
    let (_d, s) = store();
    let f = Name::of_value(b"cc");
    let make = |arg: &str| {
        Thunk::new(
            Function { hash: f, args: vec!["cc".into(), arg.into()], envars: vec![] },
            vec![],
            vec![Object { path: "cc".into(), hash: f }],
            vec![],
            vec!["out".into()],
            String::new(),
            0,
        )
        .unwrap()
    };
    let stored = make("-c");
    let name = s.put_thunk(&stored).unwrap();
    // Handed over under the stored name, it is what the next read gets…
    let marked = make("-marked");
    s.hand_over(name, std::sync::Arc::new(marked.clone()));
    assert_eq!(s.get_thunk(&name).unwrap(), marked);
    // …once: after that the store's own copy is read and checked.
    assert_eq!(s.get_thunk(&name).unwrap(), stored);
    let missing = make("-absent").name();
    assert!(matches!(s.get_thunk(&missing), Err(StoreError::Missing(_))));
    // Taken back unread (a worker's request that ended early), it is gone:
    // the next read is the store's copy, and nothing is kept.
    s.hand_over(name, std::sync::Arc::new(marked));
    s.take_back(&[name, missing]);
    assert_eq!(s.get_thunk(&name).unwrap(), stored);
}

#[test]
fn a_large_file_put_by_many_stores_at_once_is_put_under_its_lock_and_whole() {
    let (d, _) = store();
    let big: Vec<u8> = (0..(3u32 << 20)).map(|i| (i % 251) as u8).collect();
    let src = d.path().join("cc1");
    fs::write(&src, &big).unwrap();
    let name = Name::of_value(&big);
    // Separate `Store`s share no per-process table: as separate processes.
    std::thread::scope(|s| {
        for _ in 0..4 {
            let root = d.path().join("gg");
            let src = &src;
            s.spawn(move || Store::open(root).unwrap().put_file_as(src, &name).unwrap());
        }
    });
    let s = Store::open(d.path().join("gg")).unwrap();
    assert_eq!(s.get_verified(&name).unwrap(), big);
    assert!(d.path().join("gg/locks").join(name.to_string()).exists(), "no lock was taken");
    // A file that no longer has the contents it was named for is refused.
    fs::write(&src, b"changed").unwrap();
    let other = Name::of_value(b"what it was");
    let err = s.put_file_as(&src, &other).unwrap_err().to_string();
    assert!(err.contains("changed since it was hashed"), "{err}");
}

#[test]
fn a_file_known_in_place_is_copied_in_only_when_read_and_a_changed_one_is_refused_then() {
    let (dir, s) = store();
    let file = dir.path().join("input.h");
    fs::write(&file, b"int x;\n").unwrap();
    let name = Name::of_file(&file).unwrap();
    s.know_file_as(&file, &name);
    assert!(s.has(&name), "known: as good as there for the engine");
    assert!(!s.blob_path(&name).exists(), "and not copied yet");
    // Another process (a fresh handle on the store) does not know it.
    assert!(!Store::open(s.root()).unwrap().has(&name));
    assert_eq!(s.get(&name).unwrap(), b"int x;\n");
    assert!(s.blob_path(&name).exists(), "copied in when read");
    // Changed after it was hashed: reading it is an error, not other bytes.
    let other = dir.path().join("other.h");
    fs::write(&other, b"int y;\n").unwrap();
    let named = Name::of_file(&other).unwrap();
    s.know_file_as(&other, &named);
    fs::write(&other, b"int z;\n").unwrap();
    let err = s.blob(&named).unwrap_err().to_string();
    assert!(err.contains("changed since it was hashed"), "{err}");
    assert!(!s.blob_path(&named).exists());
}

#[test]
fn asking_whether_a_blob_is_there_for_a_client_marks_it_used() {
    let (_dir, s) = store();
    let name = s.put_bytes(Kind::Value, b"header").unwrap();
    let path = s.blob_path(&name);
    let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
    fs::File::open(&path).unwrap().set_times(fs::FileTimes::new().set_modified(day_ago)).unwrap();
    assert!(s.has(&name));
    assert!(fs::metadata(&path).unwrap().modified().unwrap() < day_ago + std::time::Duration::from_secs(1));
    assert!(s.has_used(&name));
    let age = fs::metadata(&path).unwrap().modified().unwrap().elapsed().unwrap();
    assert!(age < std::time::Duration::from_secs(60), "touched: {age:?}");
    assert!(!s.has_used(&Name::of_bytes(Kind::Value, b"absent")));
}
