use std::cell::Cell;
use std::time::Duration;

use super::*;

/// Forces `thunk` on the local engine; its first output's bytes, or the
/// failure with the function's stderr.
pub(crate) fn force(store: &Store, thunk: &gg_core::Thunk) -> Result<Vec<u8>, String> {
    use gg_core::scheduler::{self, Options};
    let name = store.put_thunk(thunk).unwrap();
    let exec = gg_core::engine::local::LocalExecutor::new(store.clone());
    let report = scheduler::force(store, &exec, &[OutputRef::first(name)], Options { jobs: 1, keep_going: false });
    if let Some(f) = report.failures.first() {
        return Err(format!("{}\n{}", f.error.message, String::from_utf8_lossy(&f.error.stderr)));
    }
    match &report.targets[0] {
        Ok(r) => Ok(store.get(&r.value).unwrap()),
        Err(e) => Err(e.clone()),
    }
}

fn words(step: &[&str]) -> Vec<String> {
    step.iter().map(|w| w.to_string()).collect()
}

#[test]
fn cmake_archive_commands_split_into_steps_without_the_no_ops() {
    let cmd = ": && /usr/bin/cmake -E rm -f libx.a && /usr/bin/ar qc libx.a  a.o b.o && /usr/bin/ranlib libx.a && :";
    assert_eq!(
        shell_steps(cmd).unwrap(),
        vec![
            words(&["/usr/bin/cmake", "-E", "rm", "-f", "libx.a"]),
            words(&["/usr/bin/ar", "qc", "libx.a", "a.o", "b.o"]),
            words(&["/usr/bin/ranlib", "libx.a"]),
        ]
    );
}

#[test]
fn quotes_and_backslashes_are_removed_as_the_shell_does() {
    assert_eq!(
        shell_steps(r#"cc 'a b.o' "c\"d.o" e\ f.o "-DX=\$y" x"y"'z'"#).unwrap(),
        vec![words(&["cc", "a b.o", "c\"d.o", "e f.o", "-DX=$y", "xyz"])]
    );
    assert_eq!(shell_steps("cc \"a\\nb\"").unwrap(), vec![words(&["cc", "a\\nb"])]);
}

#[test]
fn other_shell_syntax_is_refused_with_a_reason() {
    for cmd in [
        "ar qc x.a a.o | tee log",
        "ar qc x.a a.o > log",
        "ar qc x.a < list",
        "ar qc x.a a.o; ranlib x.a",
        "ar qc x.a a.o || true",
        "ar qc x.a a.o &",
        "ar qc x.a $OBJS",
        "ar qc x.a \"$OBJS\"",
        "ar qc x.a `cat list`",
        "ar qc x.a *.o",
        "ar qc x.a a?.o",
        "(ar qc x.a a.o)",
        "AR=1 ar qc x.a a.o",
        "ar qc ~/x.a a.o",
        "ar qc x.a a.o # comment",
        "ar qc x.a 'a.o",
        "ar qc x.a a.o &&",
        "&& ar qc x.a a.o",
        "ar qc x.a a.o\nranlib x.a",
    ] {
        assert!(shell_steps(cmd).is_err(), "{cmd:?} should be refused");
    }
}

#[test]
fn an_equals_sign_after_a_slash_is_no_assignment() {
    assert_eq!(shell_steps("./a=b/tool x").unwrap(), vec![words(&["./a=b/tool", "x"])]);
}

#[test]
fn paths_are_normalised_lexically_as_ninja_does() {
    assert_eq!(normalize("a/./b/../c"), "a/c");
    assert_eq!(normalize("../x/../../y"), "../../y");
    assert_eq!(normalize("./x.o"), "x.o");
    assert_eq!(normalize("/usr/lib/gcc/x/12/../../../y/crt1.o"), "/usr/lib/y/crt1.o");
    assert_eq!(normalize("/../a"), "/a");
    assert_eq!(normalize("a/.."), ".");
    assert_eq!(absolute(Path::new("/b/c"), "../d/./e.o"), "/b/d/e.o");
    assert_eq!(sandbox_path("/usr//lib/x"), "usr/lib/x");
}

#[test]
fn only_absolute_paths_move_under_the_sandbox_root() {
    assert_eq!(reroot("/usr/lib/../lib64/crt1.o"), format!("{ROOT_PLACEHOLDER}/usr/lib64/crt1.o"));
    assert_eq!(reroot("./CMakeFiles/a.o"), "CMakeFiles/a.o");
}

#[test]
fn shared_library_names_are_recognised() {
    assert!(is_shared_name("libx.so"));
    assert!(is_shared_name("/b/libx.so.5.2.0"));
    assert!(!is_shared_name("libx.a"));
    assert!(!is_shared_name("x.so.o/x.o"));
}

#[test]
fn a_path_holds_one_file_and_data_wanted_as_a_program_is_executable() {
    let a = Name::of_value(b"a");
    let b = Name::of_value(b"b");
    let mut o = Objects::default();
    o.add("x".into(), Source::Value(a)).unwrap();
    o.add("x".into(), Source::Value(a)).unwrap();
    assert!(o.add("x".into(), Source::Value(b)).is_err());
    o.add_executable("x".into(), a).unwrap();
    o.add("y".into(), Source::Value(b)).unwrap();
    let (values, executables, thunks) = o.into_parts();
    assert_eq!(values, vec![Object { path: "y".into(), hash: b }]);
    assert_eq!(executables, vec![Object { path: "x".into(), hash: a }]);
    assert!(thunks.is_empty());
}

#[test]
fn a_tool_ships_its_libraries_and_starts_through_its_loader() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ar = Tool::find(&store, "ar", true).unwrap().expect("binutils is installed");
    assert!(ar.version.starts_with("GNU ar"), "{}", ar.version);
    let paths: Vec<&str> = ar.files.iter().map(|(p, _)| p.as_str()).collect();
    assert!(paths.iter().any(|p| p.contains("libbfd")), "{paths:?}");
    assert!(paths.iter().any(|p| p.contains("libc.so.6")), "{paths:?}");
    assert!(paths.contains(&ar.path.as_str()) && paths.contains(&ar.real.as_str()), "{paths:?}");
    assert!(paths.iter().any(|p| p.ends_with("bfd-plugins/liblto_plugin.so")), "the LTO plugin: {paths:?}");
    assert!(!paths.iter().any(|p| p.contains("LLVMgold")), "LLVM's plugin needs libLLVM: {paths:?}");
    let f = ar.function("ar", vec!["--version".into()]);
    assert!(f.args[0].starts_with(ROOT_PLACEHOLDER) && f.args[0].contains("ld-linux"), "{:?}", f.args);
    assert_eq!(f.args[1], "--library-path");
    assert!(f.args[2].split(':').all(|d| d.starts_with(ROOT_PLACEHOLDER)), "{:?}", f.args);
    assert_eq!(&f.args[3..5], ["--argv0", "ar"]);
    assert_eq!(f.args[5], reroot(&ar.real));
    assert_eq!(f.args[6], "--version");
    assert!(Tool::find(&store, "no-such-program-gg", false).unwrap().is_none());
}

/// The caches in `dir`, trusting stamps at once (the files of a test are
/// seconds old at most).
fn cache_at(dir: &Path) -> DiskCache<'_> {
    DiskCache { root: dir, settle: Duration::ZERO }
}

/// The only record under `dir` (`files/`, `runs/`, `tools/`).
fn only_record(dir: &Path) -> PathBuf {
    let records: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .flat_map(|shard| fs::read_dir(shard.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    records[0].clone()
}

/// Rewrites a record's JSON.
fn edit_record(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut json: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    edit(&mut json);
    fs::write(path, serde_json::to_vec(&json).unwrap()).unwrap();
}

const BIG: usize = FILE_RECORD_MIN_SIZE as usize;

/// A file fact (its size plus its first byte) in a fresh process: a new
/// memo has nothing in memory. Counts the computations in `computed`.
fn fact_in_new_process(cache: DiskCache<'_>, path: &Path, computed: &Cell<u32>) -> u64 {
    let memo: FileMemo<u64> = FileMemo::new(Some("test"), |value, stamp| *value >= stamp.size);
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

#[test]
fn a_discovered_tool_is_read_back_until_a_file_it_lists_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let cache = cache_at(&store);
    // A copy of ar: a program whose stamp the test can change.
    let real = fs::canonicalize(toolchain::which("ar").expect("binutils is installed")).unwrap();
    let ar = dir.path().join("ar");
    fs::copy(&real, &ar).unwrap();
    let find = |cache: DiskCache<'_>| {
        let stamp = Stamp::of(&ar).unwrap();
        Tool::recorded_or_discovered(cache, &ar, &ar, stamp, false).unwrap()
    };
    let tool = find(cache);
    assert!(tool.version.starts_with("GNU ar"), "{}", tool.version);
    let record = only_record(&store.join("tools"));
    let json: serde_json::Value = serde_json::from_slice(&fs::read(&record).unwrap()).unwrap();
    let watched: Vec<&str> = json["watched"].as_array().unwrap().iter().map(|w| w[0].as_str().unwrap()).collect();
    assert!(tool.files.iter().all(|(f, _)| watched.contains(&f.as_str())), "{watched:?}");

    edit_record(&record, |r| r["tool"]["version"] = "from the record".into());
    assert_eq!(find(cache).version, "from the record");
    edit_record(&record, |r| r["watched"][0][1] = serde_json::Value::Null);
    assert_eq!(find(cache), tool, "a file it looked at changed");
    edit_record(&record, |r| r["tool"]["version"] = "from the record".into());
    fs::write(&ar, fs::read(&real).unwrap()).unwrap();
    assert_eq!(find(cache), tool, "the program changed");
    for shard in fs::read_dir(store.join("tools")).unwrap() {
        for record in fs::read_dir(shard.unwrap().path()).unwrap() {
            fs::write(record.unwrap().path(), "not json").unwrap();
        }
    }
    assert_eq!(find(cache), tool, "a corrupt record");
}
