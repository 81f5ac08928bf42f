use super::*;
use crate::tool_cache::tests::{cache_at, edit_record, only_record};

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

#[test]
fn the_fast_split_of_unquoted_commands_agrees_with_the_full_one() {
    for cmd in [
        "/usr/bin/cc -DX=1 -I../inc -O2 -c a.c -o a.o",
        ": && cc -o t t.o libx.a -lm && :",
        "rm -f x && ar qc x a.o",
        "cc -c a.c > log",
        "cc -c $FLAGS a.c",
        "cc -c *.c",
        "cc -c a.c; true",
        "cc -c a.c &",
        "CFLAGS=x cc -c a.c",
        "cc ~/a.c",
        "cc a.c #x",
        "cc a{b}.c",
        "&& cc",
        "cc &&",
        "",
    ] {
        let plain = plain_steps(cmd).and_then(finish_steps);
        let full = quoted_steps(cmd).and_then(finish_steps);
        assert_eq!(plain.is_ok(), full.is_ok(), "{cmd:?}: {plain:?} against {full:?}");
        if let (Ok(p), Ok(f)) = (plain, full) {
            assert_eq!(p, f, "{cmd:?}");
        }
    }
}
