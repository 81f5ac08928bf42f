//! Tests of keeping a store within its size: sizes as written, the order
//! files go in, what running builds keep, and the running total.

use super::*;
use crate::name::Kind;
use crate::Store;
use std::process::{Child, Command};

/// [`clean`], asked again while it finds the clean lock taken: a child
/// another test forks holds this process's descriptors until it execs,
/// the clean lock's among them, so a clean here may briefly see it held.
fn clean_when_free(root: &Path, limit: u64, own: Option<i128>) -> io::Result<Cleaned> {
    for _ in 0..200 {
        let c = clean(root, limit, own)?;
        if !c.busy {
            return Ok(c);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    clean(root, limit, own)
}

#[test]
fn sizes_read_as_people_write_them_and_nonsense_is_refused() {
    assert_eq!(parse_size("5G").unwrap(), 5 << 30);
    assert_eq!(parse_size("512M").unwrap(), 512 << 20);
    assert_eq!(parse_size("100KiB").unwrap(), 100 << 10);
    assert_eq!(parse_size("2TB").unwrap(), 2 << 40);
    assert_eq!(parse_size("1.5G").unwrap(), 3 << 29);
    assert_eq!(parse_size("123").unwrap(), 123);
    assert_eq!(parse_size("0").unwrap(), 0);
    for bad in ["", "G", "lots", "5X", "-1G", "1e99G"] {
        assert!(parse_size(bad).is_err(), "{bad}");
    }
    assert_eq!(format_size(812), "812 B");
    assert_eq!(format_size(5 << 30), "5.0 GiB");
    assert_eq!(format_size(1536 << 10), "1.5 MiB");
}

/// A store with `n` blobs of 64 KiB, each last used one minute after the
/// one before (the first, `n` hours and minutes ago); returns their paths.
fn aged_store(n: usize) -> (tempfile::TempDir, Store, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s")).unwrap();
    let start = SystemTime::now() - Duration::from_secs(3600 * n as u64 + 3600);
    let paths = (0..n)
        .map(|i| {
            let name = store.put_bytes(Kind::Value, &vec![i as u8; 64 << 10]).unwrap();
            let path = store.blob_path(&name);
            let when = start + Duration::from_secs(60 * i as u64);
            fs::File::open(&path).unwrap().set_times(fs::FileTimes::new().set_modified(when)).unwrap();
            path
        })
        .collect();
    (dir, store, paths)
}

#[test]
fn a_clean_removes_the_least_recently_used_files_down_to_nine_tenths_of_the_limit() {
    let (_dir, store, paths) = aged_store(10);
    let before: u64 = paths.iter().map(|p| fs::metadata(p).unwrap().blocks() * 512).sum();
    // Room for about six of the ten: 90% of it holds five.
    let limit = before * 6 / 10;
    let c = clean_when_free(store.root(), limit, None).unwrap();
    assert_eq!(c.before, before);
    assert!(c.after <= limit * 9 / 10, "{c:?}");
    assert_eq!(c.removed, 5, "{c:?}");
    for (i, p) in paths.iter().enumerate() {
        assert_eq!(p.exists(), i >= 5, "the oldest go first: {i}");
    }
    assert_eq!(counted(store.root()), c.after, "the true size is written back");
    // Within the limit: nothing goes.
    let again = clean_when_free(store.root(), limit, None).unwrap();
    assert_eq!((again.removed, again.after), (0, c.after));
}

#[test]
fn a_file_used_again_is_kept_over_an_older_unused_one() {
    let (_dir, store, paths) = aged_store(4);
    // The oldest is read for a hit: a use moves it to the front.
    let name: crate::Name = paths[0].file_name().unwrap().to_str().unwrap().parse().unwrap();
    store.get(&name).unwrap();
    let one = fs::metadata(&paths[1]).unwrap().blocks() * 512;
    let c = clean_when_free(store.root(), one * 3, None).unwrap();
    assert_eq!(c.removed, 2, "{c:?}");
    assert!(paths[0].exists(), "used just now");
    assert!(!paths[1].exists() && !paths[2].exists() && paths[3].exists());
}

/// Another process holding the store's running lock, as a build would.
fn another_build(root: &Path) -> Child {
    // `-o`: the lock stays with flock itself, not the sleep it starts, so
    // killing it ends the hold.
    let mut child = Command::new("flock")
        .args(["-s", "-o"])
        .arg(root.join("running.lock"))
        .args(["sleep", "30"])
        .spawn()
        .expect("flock(1) from util-linux");
    // Until it holds the lock.
    for _ in 0..100 {
        if !alone(root) {
            return child;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("flock did not take the lock");
}

#[test]
fn while_another_build_runs_what_it_may_use_stays_and_alone_the_store_ends_within_its_limit() {
    let (_dir, store, paths) = aged_store(6);
    // Two files used within the hour: a compile running elsewhere may
    // still need them.
    let now = SystemTime::now();
    for p in &paths[..2] {
        fs::File::open(p).unwrap().set_times(fs::FileTimes::new().set_modified(now)).unwrap();
    }
    let one = fs::metadata(&paths[0]).unwrap().blocks() * 512;
    let mut other = another_build(store.root());
    let c = clean_when_free(store.root(), one, None).unwrap();
    assert_eq!((c.removed, c.kept_in_use), (4, 2), "{c:?}");
    assert!(paths[0].exists() && paths[1].exists());
    // A long build registered an hour and a half ago keeps what it used
    // since it started, though older than an hour.
    let start = now_ns() - 90 * 60 * 1_000_000_000;
    fs::create_dir_all(store.root().join("running")).unwrap();
    let registered = store.root().join("running").join(format!("{}.{start}", other.id()));
    let held = Command::new("flock").args(["-s", "-o"]).arg(&registered).args(["sleep", "30"]).spawn().unwrap();
    let mut held = held;
    std::thread::sleep(Duration::from_millis(200));
    let older = paths[0].with_extension("x");
    fs::write(&older, vec![1u8; 64 << 10]).unwrap();
    let eighty_ago = now - Duration::from_secs(80 * 60);
    fs::File::open(&older).unwrap().set_times(fs::FileTimes::new().set_modified(eighty_ago)).unwrap();
    let c = clean_when_free(store.root(), one, None).unwrap();
    assert!(older.exists(), "used since the long build started: {c:?}");
    let _ = held.kill();
    let _ = held.wait();
    // Its process gone, its record is found unlocked and removed.
    let c = clean_when_free(store.root(), one, None).unwrap();
    assert!(!registered.exists() && !older.exists(), "{c:?}");
    let _ = other.kill();
    let _ = other.wait();
    // Alone: down to the limit, whatever was used just now.
    let c = clean_when_free(store.root(), one, None).unwrap();
    assert!(c.after <= one, "{c:?}");
    assert_eq!(c.kept_in_use, 0);
}

#[test]
fn the_running_total_counts_what_processes_stored_and_cleans_past_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s")).unwrap();
    let limit = 1 << 20;
    // Nothing stored, nothing pending: no file is even read.
    assert_eq!(store.settle(Some(limit), None).unwrap(), None);
    store.put_bytes(Kind::Value, &vec![7u8; 300 << 10]).unwrap();
    assert_eq!(store.settle(Some(limit), None).unwrap(), None, "under the limit");
    assert_eq!(counted(store.root()), 300 << 10);
    // The same blob stored again by another process is not counted twice
    // by this one (it is there already).
    store.put_bytes(Kind::Value, &vec![7u8; 300 << 10]).unwrap();
    assert_eq!(store.settle(Some(limit), None).unwrap(), None);
    assert_eq!(counted(store.root()), 300 << 10);
    for i in 0..4u8 {
        store.put_bytes(Kind::Value, &vec![i; 300 << 10]).unwrap();
    }
    let c = store.settle(Some(limit), None).unwrap().expect("past the limit: cleaned");
    assert!(c.removed > 0 && c.after <= limit, "{c:?}");
    assert_eq!(counted(store.root()), c.after);
    assert!(!pending(store.root()));
}

#[test]
fn a_store_kept_over_its_limit_by_a_running_build_is_cleaned_by_the_last_process_even_one_that_stored_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s")).unwrap();
    let mut other = another_build(store.root());
    for i in 0..4u8 {
        store.put_bytes(Kind::Value, &vec![i; 300 << 10]).unwrap();
    }
    let c = store.settle(Some(512 << 10), None).unwrap().expect("walked");
    assert_eq!(c.removed, 0, "all in use by the other build: {c:?}");
    assert!(pending(store.root()));
    // Within the minute and not alone: no second walk.
    let quiet = Store::open(store.root()).unwrap();
    assert_eq!(quiet.settle(Some(512 << 10), None).unwrap(), None);
    let _ = other.kill();
    let _ = other.wait();
    // The last one, alone, though it stored nothing.
    let c = quiet.settle(Some(512 << 10), None).unwrap().expect("cleaned");
    assert!(c.after <= 512 << 10, "{c:?}");
    assert!(!pending(store.root()));
}
