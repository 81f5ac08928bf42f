use std::fs;
use std::path::Path;
use std::process::Command;

use gg_core::{Name, OutputRef};

use super::*;
use crate::tool::tests::force;
use gg_wrapper::toolchain;

fn local_reason(command: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join(".gg")).unwrap();
    match archive_thunk(&store, command, dir.path(), &|_| Input::File).unwrap() {
        Model::Local(why) => why,
        Model::Thunk(_) => panic!("{command:?} should run locally"),
    }
}

#[test]
fn cmake_make_and_meson_archive_commands_are_understood() {
    let cmake =
        parse(": && /usr/bin/cmake -E rm -f libx.a && /usr/bin/ar qc libx.a  a.o b.o && /usr/bin/ranlib libx.a && :")
            .unwrap();
    assert_eq!(
        cmake,
        Plan {
            ar: "/usr/bin/ar".into(),
            ops: "qc".into(),
            archive: "libx.a".into(),
            members: vec!["a.o".into(), "b.o".into()],
            ranlib: Some("/usr/bin/ranlib".into()),
        }
    );
    assert_eq!(cmake.modifiers(), "qcsD");
    let make = parse("ar rcs libx.a a.o").unwrap();
    assert_eq!((make.ops.as_str(), make.ranlib.as_deref(), make.modifiers().as_str()), ("rcs", None, "rcsD"));
    assert_eq!(parse("ar -cr libx.a a.o && ranlib ./libx.a").unwrap().modifiers(), "crsD");
    let meson = parse("rm -f sub/libx.a && ar csrD sub/libx.a a.o").unwrap();
    assert_eq!((meson.archive.as_str(), meson.modifiers().as_str()), ("sub/libx.a", "csrD"));
    assert_eq!(parse("ar qcS x.a a.o && ranlib x.a").unwrap().modifiers(), "qcsD", "ranlib writes the index");
    assert_eq!(parse("ar qcS x.a a.o").unwrap().modifiers(), "qcSD");
    assert_eq!(parse("ar qc x.a").unwrap().members, Vec::<String>::new());
}

#[test]
fn anything_else_runs_locally_with_the_reason() {
    let cases = [
        ("ar qc x.a a.o | tee", "shell operator"),
        ("ar x x.a", "ar operation `x`"),
        ("ar t x.a", "ar operation `t`"),
        ("ar d x.a a.o", "ar operation `d`"),
        ("ar qcU x.a a.o", "time stamps"),
        ("ar qcP x.a a.o", "full path"),
        ("ar qcv x.a a.o", "verbose"),
        ("ar rcb a.o x.a b.o", "modifier `b`"),
        ("ar --plugin p.so qc x.a a.o", "ar option `--plugin`"),
        ("ar qc x.a --target=elf a.o", "option `--target=elf`"),
        ("ar qc", "without an archive"),
        ("/usr/bin/cp qc x.a a.o", "is no archiver"),
        ("no-such-gg-ar qc x.a a.o", "not found"),
        ("ar qc x.a a.o && gcc-ranlib x.a", "does not go with GNU ar"),
        ("gcc-ar qc x.a a.o && ranlib x.a", "does not go with gcc-ar"),
        ("ar qc x.a a.o && llvm-ranlib x.a", "does not go with GNU ar"),
        ("rm -f y.a && ar qc x.a a.o", "another file"),
        ("ar qc x.a a.o && ranlib y.a", "after ar"),
        ("ar qc x.a a.o && ranlib x.a && echo done", "after ar"),
        ("ar qc x.a a.o && strip x.a", "after ar"),
        ("ar qc x.a a.o && /usr/bin/cp x.a", "after ar"),
        ("cmake -E touch x.a", "ar operation"),
        (":", "no `ar` step"),
    ];
    for (command, why) in cases {
        let reason = local_reason(command);
        assert!(reason.starts_with("archive: ") && reason.contains(why), "{command:?}: {reason:?}, expected {why:?}");
    }
}

#[test]
fn a_missing_member_or_an_archive_among_its_members_runs_locally() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join(".gg")).unwrap();
    let model = archive_thunk(&store, "ar qc x.a missing.o", dir.path(), &|_| Input::File).unwrap();
    assert_eq!(model, Model::Local("archive: the member `missing.o` does not exist".into()));
    fs::write(dir.path().join("x.a"), "").unwrap();
    let model = archive_thunk(&store, "ar qc x.a ./x.a", dir.path(), &|_| Input::File).unwrap();
    assert_eq!(model, Model::Local("archive: the archive is also a member".into()));
}

/// Compiles `a.c` and `b.c` (with a long file name) in `dir`.
fn objects(dir: &Path) {
    fs::create_dir_all(dir.join("obj")).unwrap();
    fs::write(dir.join("a.c"), "int a(void) { return 1; }\n").unwrap();
    fs::write(dir.join("b.c"), "int b_function_with_a_long_name(void) { return 2; }\n").unwrap();
    for (src, obj) in [("a.c", "obj/a.o"), ("b.c", "obj/a_rather_long_object_file_name.o")] {
        let st = Command::new("gcc").args(["-c", "-g", src, "-o", obj]).current_dir(dir).status().unwrap();
        assert!(st.success());
    }
}

fn sh(dir: &Path, script: &str) {
    let st = Command::new("sh").args(["-c", script]).current_dir(dir).status().unwrap();
    assert!(st.success(), "{script}");
}

/// The name `program` on PATH leads to (`x86_64-linux-gnu-gcc-ar-12` for
/// `gcc-ar`).
fn versioned(program: &str) -> String {
    let real = fs::canonicalize(toolchain::which(program).unwrap()).unwrap();
    real.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn the_forced_thunk_makes_the_archive_the_command_makes() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    objects(dir);
    let store = Store::open(dir.join(".gg")).unwrap();
    let members = "obj/a.o obj/a_rather_long_object_file_name.o";
    let abs = format!("{0}/obj/a.o {0}/obj/a_rather_long_object_file_name.o", dir.display());
    let commands = [
        format!(
            ": && /usr/bin/cmake -E rm -f libx.a && /usr/bin/ar qc libx.a {members} && /usr/bin/ranlib libx.a && :"
        ),
        format!("ar rcs libx.a {members}"),
        format!("ar qcS libx.a {members} && ranlib libx.a"),
        format!("rm -f libx.a && ar csrD libx.a {abs}"),
        format!("ar qc {}/obj/../libx.a ./obj/../{members}", dir.display()),
        "ar qc libx.a".to_string(),
        format!("rm -f libx.a && gcc-ar csrD libx.a {members}"),
        format!("gcc-ar qc libx.a {members} && gcc-ranlib libx.a"),
        format!("{} rcs libx.a {members}", versioned("gcc-ar")),
    ];
    let mut commands = commands.to_vec();
    if toolchain::which("llvm-ar").is_some() {
        commands.push(format!("llvm-ar csrD libx.a {members}"));
        commands.push(format!("llvm-ar qc libx.a {members} && llvm-ranlib libx.a"));
    }
    for command in &commands {
        let _ = fs::remove_file(dir.join("libx.a"));
        sh(dir, command);
        let direct = fs::read(dir.join("libx.a")).unwrap();
        fs::remove_file(dir.join("libx.a")).unwrap();
        let Model::Thunk(Archived { thunk, outputs, info }) =
            archive_thunk(&store, command, dir, &|_| Input::File).unwrap()
        else {
            panic!("{command} should be a thunk");
        };
        assert_eq!((outputs.len(), info.thin_members), (1, None));
        assert_eq!(thunk.outputs, vec![tool::sandbox_path(&format!("{}/libx.a", dir.display()))]);
        let forced = force(&store, &thunk).unwrap_or_else(|e| panic!("{command}: {e}"));
        assert!(forced == direct, "{command}: the forced archive differs from the direct one");
        assert!(!dir.join("libx.a").exists(), "the thunk ran in its sandbox");
    }
}

#[test]
fn ar_qc_then_ranlib_equals_ar_with_the_index_modifier() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    objects(dir);
    let m = "obj/a.o obj/a_rather_long_object_file_name.o";
    sh(
        dir,
        &format!("ar qc 1.a {m} && ranlib 1.a && ar qcsD 2.a {m} && ar qcS 3.a {m} && ranlib 3.a && ar rcsD 4.a {m}"),
    );
    let one = fs::read(dir.join("1.a")).unwrap();
    for other in ["2.a", "3.a", "4.a"] {
        assert!(fs::read(dir.join(other)).unwrap() == one, "{other} differs from ar qc + ranlib");
    }
}

#[test]
fn members_made_by_other_thunks_are_thunk_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join(".gg")).unwrap();
    let made = OutputRef { thunk: Name::of_value(b"x").with_kind(gg_core::Kind::Thunk), output: Some("o/a.o".into()) };
    let known = Name::of_value(b"b");
    let inputs = |p: &str| match p {
        "a.o" => Input::Output(made.clone()),
        _ => Input::Value(known),
    };
    let Model::Thunk(Archived { thunk, .. }) =
        archive_thunk(&store, "ar qc x.a a.o ../b.o", dir.path(), &inputs).unwrap()
    else {
        panic!("a thunk");
    };
    let cwd = tool::sandbox_path(&dir.path().to_string_lossy());
    assert_eq!(thunk.thunks.len(), 1);
    assert_eq!((thunk.thunks[0].path.as_str(), &thunk.thunks[0].output), (format!("{cwd}/a.o").as_str(), &made));
    let parent = tool::sandbox_path(&dir.path().parent().unwrap().to_string_lossy());
    assert!(thunk.values.iter().any(|v| v.path == format!("{parent}/b.o") && v.hash == known));
    assert_eq!(thunk.cwd, cwd);
    assert!(thunk.function.args.ends_with(&["qcD".to_string(), "x.a".into(), "a.o".into(), "../b.o".into()]));
}

#[test]
fn lto_objects_get_the_symbol_index_the_shipped_plugin_gives_them() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    fs::write(dir.join("l.c"), "int lto_function(int x) { return x * 3; }\n").unwrap();
    sh(dir, "gcc -O2 -flto -c l.c -o l.o && ar qc direct.a l.o && nm -s direct.a | grep -q 'lto_function in l.o'");
    let store = Store::open(dir.join(".gg")).unwrap();
    let Model::Thunk(Archived { thunk, .. }) = archive_thunk(&store, "ar qc lib.a l.o", dir, &|_| Input::File).unwrap()
    else {
        panic!("a thunk");
    };
    assert!(thunk.executables.iter().any(|o| o.path.ends_with("bfd-plugins/liblto_plugin.so")));
    let forced = force(&store, &thunk).unwrap();
    assert!(forced == fs::read(dir.join("direct.a")).unwrap(), "the index of LTO members needs the LTO plugin");

    // gcc-ar hands ar GCC's plugin itself, which the thunk ships instead.
    sh(dir, "gcc-ar qc wrapped.a l.o && nm -s wrapped.a | grep -q 'lto_function in l.o'");
    let Model::Thunk(Archived { thunk, .. }) =
        archive_thunk(&store, "gcc-ar qc lib.a l.o", dir, &|_| Input::File).unwrap()
    else {
        panic!("a thunk");
    };
    assert!(thunk.function.args.iter().any(|a| a == "--plugin"), "{:?}", thunk.function.args);
    let out = Command::new("gcc").arg("-print-file-name=liblto_plugin.so").output().unwrap();
    let gccs = tool::sandbox_path(String::from_utf8_lossy(&out.stdout).trim());
    assert!(thunk.executables.iter().any(|o| o.path == gccs), "GCC's own plugin, `{gccs}`, is shipped");
    assert!(!thunk.executables.iter().any(|o| o.path.contains("bfd-plugins")), "ar loads only the plugin it is given");
    assert!(force(&store, &thunk).unwrap() == fs::read(dir.join("wrapped.a")).unwrap());
}

#[test]
fn a_thin_archive_is_made_as_in_place_and_names_the_paths_it_reports() {
    let dir = tempfile::tempdir().unwrap();
    let dir = fs::canonicalize(dir.path()).unwrap();
    objects(&dir);
    fs::create_dir_all(dir.join("build/lib")).unwrap();
    let store = Store::open(dir.join(".gg")).unwrap();
    let long = "obj/a_rather_long_object_file_name.o";
    // (working folder, command, the archive)
    let mut cases = vec![
        ("", format!("rm -f libt.a && ar csrDT libt.a obj/a.o {long}"), "libt.a"),
        ("", format!("gcc-ar csrDT build/lib/libt.a obj/a.o ./obj/../{long}"), "build/lib/libt.a"),
        ("build", format!("rm -f libt.a && gcc-ar csrDT libt.a ../obj/a.o ../{long}"), "libt.a"),
        ("build", format!("ar qcT lib/libt.a ../obj/a.o ../{long} && ranlib lib/libt.a"), "lib/libt.a"),
    ];
    if toolchain::which("llvm-ar").is_some() {
        cases.push(("build", format!("llvm-ar csrDT lib/libt.a ../obj/a.o ../{long}"), "lib/libt.a"));
    }
    for (cwd, command, archive) in &cases {
        let cwd = dir.join(cwd);
        let path = cwd.join(archive);
        let _ = fs::remove_file(&path);
        sh(&cwd, command);
        let direct = fs::read(&path).unwrap();
        assert!(thin::is_thin(&direct), "{command}");
        fs::remove_file(&path).unwrap();
        let Model::Thunk(Archived { thunk, info, .. }) =
            archive_thunk(&store, command, &cwd, &|_| Input::File).unwrap()
        else {
            panic!("{command} should be a thunk");
        };
        assert_eq!(info.thin_members.as_deref(), Some(thin::member_paths(&direct).unwrap().as_slice()), "{command}");
        let forced = force(&store, &thunk).unwrap_or_else(|e| panic!("{command}: {e}"));
        assert!(forced == direct, "{command}: the forced thin archive differs from the direct one");
    }
}

#[test]
fn a_thin_archive_that_would_name_the_sandbox_or_resolve_a_link_runs_locally() {
    let dir = tempfile::tempdir().unwrap();
    let dir = fs::canonicalize(dir.path()).unwrap();
    objects(&dir);
    std::os::unix::fs::symlink(dir.join("obj"), dir.join("objlink")).unwrap();
    sh(&dir, "ar qc inner.a obj/a.o");
    let store = Store::open(dir.join(".gg")).unwrap();
    let cases = [
        (format!("ar csrDT t.a {}/obj/a.o", dir.display()), "by its absolute path"),
        ("ar csrDT t.a objlink/a.o".to_string(), "`objlink/a.o` is reached through a symbolic link"),
        ("ar csrDT objlink/t.a obj/a.o".to_string(), "`objlink/t.a` is reached through a symbolic link"),
        ("ar csrDT t.a inner.a".to_string(), "a thin archive of the archive `inner.a`"),
    ];
    for (command, why) in cases {
        let model = archive_thunk(&store, &command, &dir, &|_| Input::File).unwrap();
        assert!(matches!(&model, Model::Local(r) if r.contains(why)), "{command}: {model:?}, expected {why:?}");
    }
}
