use std::fs;
use std::os::unix::fs::PermissionsExt;

use super::*;

#[test]
fn the_family_is_read_from_the_name_with_its_triple_and_version() {
    let cases = [
        ("ar", Some(Family::Gnu)),
        ("/usr/bin/ar", Some(Family::Gnu)),
        ("x86_64-linux-gnu-ar", Some(Family::Gnu)),
        ("gcc-ar", Some(Family::GccWrapper)),
        ("gcc-ar-12", Some(Family::GccWrapper)),
        ("/usr/bin/x86_64-linux-gnu-gcc-ar-12", Some(Family::GccWrapper)),
        ("llvm-ar", Some(Family::Llvm)),
        ("llvm-ar-14", Some(Family::Llvm)),
        ("/usr/lib/llvm-14/bin/llvm-ar", Some(Family::Llvm)),
        ("var", None),
        ("cmake", None),
        ("ar-tool", None),
    ];
    for (name, family_) in cases {
        assert_eq!(family(name, "ar"), family_, "{name}");
    }
    assert_eq!(family("gcc-ranlib-12", "ranlib"), Some(Family::GccWrapper));
    assert_eq!(family("x86_64-linux-gnu-ranlib", "ranlib"), Some(Family::Gnu));
    assert_eq!(family("llvm-ranlib", "ranlib"), Some(Family::Llvm));
    assert_eq!(family("ranlib", "ar"), None);
}

/// A wrapper script in `dir` running `body`.
fn wrapper(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn a_wrapper_is_asked_which_plugin_it_passes_to_the_program_it_finds_on_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join(".gg")).unwrap();
    let like_gcc_ar = wrapper(dir.path(), "my-gcc-ar", "exec ar --plugin /opt/gcc/./liblto_plugin.so \"-$1\"");
    assert_eq!(wrapped_plugin(&store, &like_gcc_ar, "ar").unwrap(), "/opt/gcc/liblto_plugin.so");
    let like_gcc_ranlib = wrapper(dir.path(), "my-gcc-ranlib", "exec ranlib --plugin /opt/p.so \"$@\"");
    assert_eq!(wrapped_plugin(&store, &like_gcc_ranlib, "ranlib").unwrap(), "/opt/p.so");

    let own_ar = wrapper(dir.path(), "own-gcc-ar", "exec /usr/bin/ar --version");
    let why = wrapped_plugin(&store, &own_ar, "ar").unwrap_err();
    assert!(why.contains("does not run `ar --plugin") && why.contains("GNU ar"), "{why}");
    let no_plugin = wrapper(dir.path(), "plain-gcc-ar", "exec ar \"-$1\"");
    assert!(wrapped_plugin(&store, &no_plugin, "ar").is_err());
    let failing = wrapper(dir.path(), "bad-gcc-ar", "echo 'bad-gcc-ar: Cannot find plugin' >&2; exit 1");
    assert!(wrapped_plugin(&store, &failing, "ar").unwrap_err().contains("Cannot find plugin"));
}

#[test]
fn gcc_ar_is_the_gnu_ar_on_path_with_gccs_lto_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join(".gg")).unwrap();
    let archiver = Archiver::find(&store, "gcc-ar").unwrap().unwrap();
    assert_eq!(archiver.family, Family::GccWrapper);
    assert_eq!(archiver.tool.path, tool::normalize(&toolchain::which("ar").unwrap().to_string_lossy()));
    let out = std::process::Command::new("gcc").arg("-print-file-name=liblto_plugin.so").output().unwrap();
    let plugin = archiver.plugin.as_ref().map(|(p, _)| p.as_str());
    assert_eq!(plugin, Some(String::from_utf8_lossy(&out.stdout).trim()));
    assert_eq!(archiver.check_ranlib(&store, "gcc-ranlib"), Ok(()));
    assert!(archiver.check_ranlib(&store, "ranlib").unwrap_err().contains("does not go with gcc-ar"));
    let f = archiver.function("csrDT", vec!["libx.a".into(), "a.o".into()]);
    let tail = &f.args[f.args.len() - 5..];
    assert_eq!(tail[0], "--plugin");
    assert_eq!(tail[2..], ["-csrDT", "libx.a", "a.o"], "the key as gcc-ar passes it");
}

#[test]
fn llvm_ar_runs_itself_and_llvm_ranlib_is_llvm_ar() {
    if toolchain::which("llvm-ar").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join(".gg")).unwrap();
    let archiver = Archiver::find(&store, "llvm-ar").unwrap().unwrap();
    assert_eq!((archiver.family, archiver.plugin.is_none()), (Family::Llvm, true));
    if toolchain::which("llvm-ranlib").is_some() {
        assert_eq!(archiver.check_ranlib(&store, "llvm-ranlib"), Ok(()));
    }
    assert!(archiver.check_ranlib(&store, "ranlib").is_err());
    let f = archiver.function("qc", vec!["x.a".into()]);
    assert!(f.args.ends_with(&["qc".to_string(), "x.a".into()]), "{:?}", f.args);
    assert!(Archiver::find(&store, "ar").unwrap().unwrap().family == Family::Gnu);
}
