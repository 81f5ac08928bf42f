//! The shared tier over a folder back end: what one store writes back,
//! another reads through, checked; faults are misses.

use std::sync::atomic::Ordering;

use super::dir::Dir;
use super::*;
use crate::Kind;

fn tier(remote: &Path, store: &Store, read_only: bool) -> Shared {
    let url = format!("file://{}", remote.display());
    Shared::new(url, Box::new(Dir::new(remote.to_path_buf())), read_only, store.root())
}

fn reduction_of(store: &Store, object: &[u8]) -> (Name, Reduction) {
    let out = store.put_bytes(Kind::Value, object).unwrap();
    let err = store.put_bytes(Kind::Value, b"a warning\n").unwrap();
    let red = Reduction { outputs: vec![("a.o".into(), out)], stdout: None, stderr: Some(err), executable: vec![] };
    (Name::of_bytes(Kind::Thunk, object), red)
}

#[test]
fn a_reduction_written_back_by_one_store_is_read_through_by_another_with_its_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let remote = dir.path().join("remote");
    std::fs::create_dir(&remote).unwrap();
    let a = Store::open(dir.path().join("a")).unwrap();
    assert!(a.attach_shared(tier(&remote, &a, false)));
    let (thunk, red) = reduction_of(&a, b"object bytes");
    a.set_reduction(&thunk, &red).unwrap();
    a.shared().unwrap().finish();
    assert_eq!(a.shared().unwrap().counts.writes.load(Ordering::Relaxed), 3, "two blobs, then the reduction");
    let b = Store::open(dir.path().join("b")).unwrap();
    assert!(b.attach_shared(tier(&remote, &b, false)));
    assert!(b.local_reduction(&thunk).is_none());
    assert_eq!(b.reduction(&thunk), Some(red.clone()));
    assert_eq!(b.get(&red.outputs[0].1).unwrap(), b"object bytes");
    assert!(b.local_reduction(&thunk).is_some(), "kept locally once read");
    assert_eq!(b.shared().unwrap().counts.hits.load(Ordering::Relaxed), 1);
    // A thunk nobody ran is a miss.
    assert!(b.reduction(&Name::of_bytes(Kind::Thunk, b"other")).is_none());
    assert_eq!(b.shared().unwrap().counts.misses.load(Ordering::Relaxed), 1);
}

#[test]
fn a_blob_with_other_bytes_than_its_name_or_a_damaged_reduction_is_a_miss() {
    let dir = tempfile::tempdir().unwrap();
    let remote = dir.path().join("remote");
    std::fs::create_dir(&remote).unwrap();
    let a = Store::open(dir.path().join("a")).unwrap();
    a.attach_shared(tier(&remote, &a, false));
    let (thunk, red) = reduction_of(&a, b"object bytes");
    a.set_reduction(&thunk, &red).unwrap();
    a.shared().unwrap().finish();
    // The object's entry replaced by bytes of the same size.
    std::fs::write(remote.join(blob_key(&red.outputs[0].1)), b"OBJECT BYTES").unwrap();
    let b = Store::open(dir.path().join("b")).unwrap();
    b.attach_shared(tier(&remote, &b, false));
    assert!(b.reduction(&thunk).is_none());
    assert!(!b.has(&red.outputs[0].1), "the wrong bytes are not kept");
    assert!(b.local_reduction(&thunk).is_none());
    assert_eq!(b.shared().unwrap().counts.errors.load(Ordering::Relaxed), 1);
    // A truncated reduction record.
    let (thunk2, red2) = reduction_of(&a, b"second");
    a.set_reduction(&thunk2, &red2).unwrap();
    a.shared().unwrap().finish();
    let path = remote.join(reduction_key(&thunk2));
    let text = std::fs::read(&path).unwrap();
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    assert!(b.reduction(&thunk2).is_none());
    assert_eq!(b.shared().unwrap().counts.errors.load(Ordering::Relaxed), 2);
}

#[test]
fn what_an_entry_carries_leaves_only_the_large_object_to_fetch_and_wrong_bytes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let remote = dir.path().join("remote");
    std::fs::create_dir(&remote).unwrap();
    let a = Store::open(dir.path().join("a")).unwrap();
    a.attach_shared(tier(&remote, &a, false));
    let big = vec![7u8; CARRY_LIMIT as usize + 1];
    let (thunk, red) = reduction_of(&a, &big);
    let depfile = a.put_bytes(Kind::Value, b"a.o: a.c a.h\n").unwrap();
    a.set_reduction(&thunk, &red).unwrap();
    a.shared().unwrap().finish();
    let carried = carry(&a, &thunk, &[depfile]).unwrap();
    let small: Vec<Name> = carried.blobs.iter().map(|(n, _)| *n).collect();
    assert_eq!(small, vec![red.stderr.unwrap(), depfile], "the warning and the depfile, not the object");
    // The remote's reduction record gone: only the object is read there.
    std::fs::remove_file(remote.join(reduction_key(&thunk))).unwrap();
    let b = Store::open(dir.path().join("b")).unwrap();
    b.attach_shared(tier(&remote, &b, false));
    assert!(b.shared().unwrap().adopt(&b, &thunk, &carried));
    assert_eq!(b.local_reduction(&thunk), Some(red.clone()));
    assert_eq!(b.get(&red.outputs[0].1).unwrap(), big);
    assert_eq!(b.get(&depfile).unwrap(), b"a.o: a.c a.h\n");
    // Carried bytes that are not what their name says: refused, kept nowhere.
    let c = Store::open(dir.path().join("c")).unwrap();
    c.attach_shared(tier(&remote, &c, false));
    let mut bad = carried.clone();
    bad.blobs[1].1 = b"a.o: a.c b.h\n".to_vec();
    assert!(!c.shared().unwrap().adopt(&c, &thunk, &bad));
    assert!(!c.has(&depfile) && c.local_reduction(&thunk).is_none());
    assert_eq!(c.shared().unwrap().counts.errors.load(Ordering::Relaxed), 1);
    // A large blob the remote lost: a miss, no reduction recorded.
    std::fs::remove_file(remote.join(blob_key(&red.outputs[0].1))).unwrap();
    assert!(!c.shared().unwrap().adopt(&c, &thunk, &carried));
    assert!(c.local_reduction(&thunk).is_none());
}

#[test]
fn a_read_only_tier_reads_but_never_writes() {
    let dir = tempfile::tempdir().unwrap();
    let remote = dir.path().join("remote");
    std::fs::create_dir(&remote).unwrap();
    let a = Store::open(dir.path().join("a")).unwrap();
    a.attach_shared(tier(&remote, &a, true));
    let (thunk, red) = reduction_of(&a, b"object bytes");
    a.set_reduction(&thunk, &red).unwrap();
    a.shared().unwrap().finish();
    assert_eq!(std::fs::read_dir(&remote).unwrap().count(), 0, "nothing written");
    assert!(a.local_reduction(&thunk).is_some(), "recorded locally all the same");
}

#[test]
fn an_unreachable_remote_is_a_miss_and_is_left_alone_by_the_next_process_for_a_while() {
    let dir = tempfile::tempdir().unwrap();
    // A share that is not mounted: the folder is not there at all.
    let remote = dir.path().join("unmounted");
    let a = Store::open(dir.path().join("a")).unwrap();
    a.attach_shared(tier(&remote, &a, false));
    let thunk = Name::of_bytes(Kind::Thunk, b"t");
    assert!(a.reduction(&thunk).is_none());
    let shared = a.shared().unwrap();
    assert_eq!(shared.counts.errors.load(Ordering::Relaxed), 1);
    assert!(a.root().join("remote-down").is_file());
    // Another process of the same store does not ask, even once it is back.
    std::fs::create_dir(&remote).unwrap();
    let again = tier(&remote, &a, false);
    assert!(again.get("reductions/x").is_none());
    assert!(!again.put("blobs/x", b"x"), "nothing written while down");
    assert_eq!(std::fs::read_dir(&remote).unwrap().count(), 0);
    // Another remote is not taken for the one that was down.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    assert!(tier(&other, &a, false).put("blobs/x", b"x"));
    // A minute later it is asked again.
    let old = SystemTime::now() - DOWN_FOR - Duration::from_secs(1);
    std::fs::File::options().write(true).open(a.root().join("remote-down")).unwrap().set_modified(old).unwrap();
    assert!(tier(&remote, &a, false).put("blobs/x", b"x"));
}
