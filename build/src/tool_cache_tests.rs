//! Tests of the stamps, memos and records kept across processes; the
//! helpers are shared with `tool_tests.rs`, which checks `tools/` records.

use std::cell::Cell;

use super::*;

/// The caches in `dir`, trusting stamps at once (the files of a test are
/// seconds old at most).
pub(crate) fn cache_at(dir: &Path) -> DiskCache<'_> {
    DiskCache { root: dir, settle: Duration::ZERO }
}

/// The only record under `dir` (`files/`, `runs/`, `tools/`).
pub(crate) fn only_record(dir: &Path) -> PathBuf {
    let records: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .flat_map(|shard| fs::read_dir(shard.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    records[0].clone()
}

/// Rewrites a record's JSON.
pub(crate) fn edit_record(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut json: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    edit(&mut json);
    fs::write(path, serde_json::to_vec(&json).unwrap()).unwrap();
}

const BIG: usize = FILE_RECORD_MIN_SIZE as usize;

/// A file fact (its size plus its first byte) in a fresh process: a new
/// memo has nothing in memory. Counts the computations in `computed`.
fn fact_in_new_process(cache: DiskCache<'_>, path: &Path, computed: &Cell<u32>) -> u64 {
    let memo: FileMemo<u64> = FileMemo::new(Some("test"), |value, stamp| *value >= stamp.size());
    memo.get(cache, path, |p| {
        computed.set(computed.get() + 1);
        let bytes = fs::read(p)?;
        Ok(bytes.len() as u64 + u64::from(bytes[0]))
    })
    .unwrap()
}

#[test]
fn a_file_fact_is_read_back_from_the_store_while_the_file_keeps_its_stamp() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache_at(dir.path());
    let file = dir.path().join("libx.so");
    fs::write(&file, vec![1; BIG]).unwrap();
    let computed = Cell::new(0);
    assert_eq!(fact_in_new_process(cache, &file, &computed), BIG as u64 + 1);
    assert_eq!(fact_in_new_process(cache, &file, &computed), BIG as u64 + 1);
    assert_eq!(computed.get(), 1, "the second process reads the record");

    // Same size, mtime set back: the ctime still tells.
    let mtime = fs::metadata(&file).unwrap().modified().unwrap();
    fs::write(&file, vec![2; BIG]).unwrap();
    fs::File::options().write(true).open(&file).unwrap().set_modified(mtime).unwrap();
    assert_eq!(fact_in_new_process(cache, &file, &computed), BIG as u64 + 2);
    assert_eq!(computed.get(), 2);
    assert_eq!(fact_in_new_process(cache, &file, &computed), BIG as u64 + 2);
    assert_eq!(computed.get(), 2, "the record was replaced");
}

#[test]
fn a_corrupt_or_implausible_file_record_is_ignored_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache_at(dir.path());
    let file = dir.path().join("libx.so");
    fs::write(&file, vec![1; BIG]).unwrap();
    let computed = Cell::new(0);
    fact_in_new_process(cache, &file, &computed);
    let record = only_record(&dir.path().join("files"));
    for garbage in [&b""[..], b"{\"path\":", b"\x00\xff not json"] {
        fs::write(&record, garbage).unwrap();
        assert_eq!(fact_in_new_process(cache, &file, &computed), BIG as u64 + 1);
    }
    edit_record(&record, |r| r["value"] = 7.into());
    assert_eq!(fact_in_new_process(cache, &file, &computed), BIG as u64 + 1, "a value no file of that size has");
    assert_eq!(computed.get(), 5);
    assert_eq!(fact_in_new_process(cache, &file, &computed), BIG as u64 + 1);
    assert_eq!(computed.get(), 5, "the record is sound again");
}

#[test]
fn small_files_and_files_changed_just_now_are_remembered_in_memory_only() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("crt1.o");
    fs::write(&small, [1; 100]).unwrap();
    let computed = Cell::new(0);
    fact_in_new_process(cache_at(dir.path()), &small, &computed);
    let fresh = dir.path().join("libx.so");
    fs::write(&fresh, vec![1; BIG]).unwrap();
    let waiting = DiskCache { root: dir.path(), settle: SETTLE };
    fact_in_new_process(waiting, &fresh, &computed);
    assert!(!dir.path().join("files").exists(), "no record was written");

    let memo: FileMemo<u64> = FileMemo::new(Some("test"), |_, _| true);
    let count = |_: &Path| {
        computed.set(computed.get() + 1);
        Ok(1)
    };
    memo.get(waiting, &fresh, count).unwrap();
    memo.get(waiting, &fresh, count).unwrap();
    assert_eq!(computed.get(), 3, "once per process");
}

#[test]
fn a_hash_record_is_the_file_name_of_its_contents() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("libgcc.a");
    fs::write(&file, vec![7; BIG]).unwrap();
    let name = hash_in(cache_at(dir.path()), &file).unwrap();
    assert_eq!(name, Name::of_file(&file).unwrap());
    let record: serde_json::Value =
        serde_json::from_slice(&fs::read(only_record(&dir.path().join("files"))).unwrap()).unwrap();
    assert_eq!(record["value"], name.to_string());
}

/// A shell script that logs each run in `log` and prints its arguments
/// and `$GG_TEST_WORD`.
fn counting_program(dir: &Path, exit: u8) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let (program, log) = (dir.join("prog"), dir.join("log"));
    let script = format!("#!/bin/sh\necho run >> '{}'\necho \"out $*\"\nexit {exit}\n", log.display());
    fs::write(&program, script).unwrap();
    fs::set_permissions(&program, fs::Permissions::from_mode(0o755)).unwrap();
    (program, log)
}

fn runs(log: &Path) -> usize {
    fs::read_to_string(log).map_or(0, |t| t.lines().count())
}

/// `run`'s output in a fresh process (nothing in memory).
fn output_in_new_process(run: &Run, cache: DiskCache<'_>, watch: &dyn Fn(&Output) -> Vec<String>) -> Output {
    let stamp = Stamp::of(&run.program).unwrap();
    run.recorded_or_spawned(cache, &run.key(stamp).unwrap(), stamp, watch).unwrap()
}

#[test]
fn a_run_is_read_back_until_the_program_its_inputs_or_a_watched_file_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let cache = cache_at(&store);
    let (program, log) = counting_program(dir.path(), 0);
    let watched = dir.path().join("specs");
    fs::write(&watched, "a").unwrap();
    let watch = |out: &Output| {
        assert_eq!(out.stdout, "out -x\n");
        vec![watched.to_string_lossy().into_owned(), "/no/such/file".to_string()]
    };
    let run = Run::new(&program, &["-x"]);
    let out = output_in_new_process(&run, cache, &watch);
    assert_eq!((out.success, out.stdout.as_str()), (true, "out -x\n"));
    assert_eq!(output_in_new_process(&run, cache, &watch), out);
    assert_eq!(runs(&log), 1, "the second process reads the record");

    fs::write(&watched, "b").unwrap();
    output_in_new_process(&run, cache, &watch);
    assert_eq!(runs(&log), 2, "a watched file changed");
    output_in_new_process(&run, cache, &watch);
    assert_eq!(runs(&log), 2);

    let mut elsewhere = run.clone();
    elsewhere.cwd = Some(dir.path().to_path_buf());
    output_in_new_process(&elsewhere, cache, &watch);
    let mut other_env = run.clone();
    other_env.env.push(("COMPILER_PATH".into(), Some("/opt".into())));
    output_in_new_process(&other_env, cache, &watch);
    assert_eq!(runs(&log), 4, "another folder, another environment");

    fs::write(&program, fs::read(&program).unwrap()).unwrap();
    output_in_new_process(&run, cache, &watch);
    assert_eq!(runs(&log), 5, "the program was rewritten");
}

#[test]
fn a_corrupt_run_record_is_ignored_and_a_failed_run_is_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let cache = cache_at(&store);
    let (program, log) = counting_program(dir.path(), 0);
    let run = Run::new(&program, &[]);
    output_in_new_process(&run, cache, &|_| Vec::new());
    let record = only_record(&store.join("runs"));
    fs::write(&record, "{\"run\": 1}").unwrap();
    assert_eq!(output_in_new_process(&run, cache, &|_| Vec::new()).stdout, "out \n");
    edit_record(&record, |r| r["run"]["args"] = serde_json::json!(["-y"]));
    output_in_new_process(&run, cache, &|_| Vec::new());
    assert_eq!(runs(&log), 3, "a record for other arguments is not this run's");

    let failing = tempfile::tempdir().unwrap();
    let (program, log) = counting_program(failing.path(), 1);
    let run = Run::new(&program, &[]);
    assert!(!output_in_new_process(&run, cache, &|_| Vec::new()).success);
    assert!(!output_in_new_process(&run, cache, &|_| Vec::new()).success);
    assert_eq!(runs(&log), 2);
}
