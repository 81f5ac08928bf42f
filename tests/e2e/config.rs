//! Where the store and the settings come from: `GG_DIR`, a `.gg` folder,
//! the config files' `[store] dir` and the cache home, in that order; and
//! inside a Debian package build, whose `HOME` (set by debhelper) lies in
//! the package tree, the system config still applies, the store stays out
//! of the package, and a user config that `HOME` hides is named once.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::text;

/// Everything gg reads from the environment to find its settings and its
/// store, cleared; then `HOME` and the system file set.
fn isolate(c: &mut Command, home: &Path, system: &Path) {
    for v in [
        "GG_DIR",
        "GG_ENGINE",
        "GG_WORKERS",
        "GG_LOG",
        "GG_DISABLE",
        "XDG_CACHE_HOME",
        "XDG_CONFIG_HOME",
        "XDG_CONFIG_DIRS",
        "XDG_DATA_HOME",
        "XDG_RUNTIME_DIR",
        "SOURCE_DATE_EPOCH",
    ] {
        c.env_remove(v);
    }
    c.env("HOME", home).env("GG_SYSTEM_CONFIG", system);
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

/// The store `gg stats` reports when run in `cwd` with `home`, the system
/// file `system` and the extra variables `env`.
fn store_of(cwd: &Path, home: &Path, system: &Path, env: &[(&str, &Path)]) -> PathBuf {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gg"));
    c.arg("stats").current_dir(cwd);
    isolate(&mut c, home, system);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let line = stdout.lines().find(|l| l.starts_with("store ")).unwrap_or_else(|| panic!("no store in\n{stdout}"));
    PathBuf::from(line["store".len()..].trim())
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn the_store_is_gg_dir_then_a_dot_gg_folder_then_the_configured_dir_then_the_cache_home() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let home = root.join("home");
    let proj = root.join("proj/sub");
    std::fs::create_dir_all(&proj).unwrap();
    let system = root.join("etc/gg/config.toml");
    let store = |env: &[(&str, &Path)]| store_of(&proj, &home, &system, env);
    assert_eq!(store(&[]), canonical(&home.join(".cache/gg")));
    let xdg = root.join("xdg");
    assert_eq!(store(&[("XDG_CACHE_HOME", &xdg)]), canonical(&xdg.join("gg")));
    write(&system, &format!("[store]\ndir = \"{}\"\n", root.join("system-store").display()));
    assert_eq!(store(&[("XDG_CACHE_HOME", &xdg)]), canonical(&root.join("system-store")), "the system file");
    write(&home.join(".config/gg/config.toml"), &format!("[store]\ndir = \"{}\"\n", root.join("user-store").display()));
    assert_eq!(store(&[]), canonical(&root.join("user-store")), "the user's file over the system's");
    write(&root.join("proj/gg.toml"), "[store]\ndir = \"project-store\"\n");
    assert_eq!(store(&[]), canonical(&root.join("proj/project-store")), "the project's, from its folder");
    std::fs::create_dir(root.join("proj/.gg")).unwrap();
    assert_eq!(store(&[]), canonical(&root.join("proj/.gg")), "a .gg folder over the config files");
    let env_dir = root.join("env-store");
    assert_eq!(store(&[("GG_DIR", &env_dir)]), canonical(&env_dir), "GG_DIR over everything");
}

/// A Debian source tree as `dpkg-buildpackage` leaves it for the compile:
/// (the package folder, the `HOME` debhelper sets).
fn package(root: &Path) -> (PathBuf, PathBuf) {
    let pkg = root.join("pkg");
    write(&pkg.join("hello.c"), "int hello(void) { return 42; }\n");
    let home = pkg.join("debian/.debhelper/generated/_source/home");
    std::fs::create_dir_all(&home).unwrap();
    (pkg, home)
}

fn compile(c: &mut Command) -> Output {
    let out = c.output().unwrap();
    assert!(out.status.success(), "{c:?}:\n{}", text(&out.stderr));
    out
}

#[test]
fn inside_a_package_build_the_system_config_names_the_store() {
    let t = tempfile::tempdir().unwrap();
    let (pkg, home) = package(t.path());
    let cache = t.path().join("var/cache/gg");
    let system = write(&t.path().join("etc/gg/config.toml"), &format!("[store]\ndir = \"{}\"\n", cache.display()));
    let mut c = Command::new(env!("CARGO_BIN_EXE_gg-cc"));
    c.args(["gcc", "-c", "hello.c", "-o", "hello.o"]).current_dir(&pkg);
    isolate(&mut c, &home, &system);
    let out = compile(&mut c);
    assert_eq!(text(&out.stderr), "", "nothing is hidden: no warning");
    assert!(pkg.join("hello.o").is_file());
    assert!(cache.join("stats.json").is_file(), "the store is the configured one");
    assert!(!home.join(".cache").exists(), "nothing in the package tree");
    assert_eq!(store_of(&pkg, &home, &system, &[]), canonical(&cache));
}

/// `command` run as an account whose home in the password database is
/// `real_home` (a user and mount namespace with its own /etc/passwd), or
/// `None` where namespaces are not available.
fn as_account_with_home(root: &Path, real_home: &Path, command: &Command) -> Option<Command> {
    let probe = Command::new("unshare").args(["-r", "-m", "true"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        return None;
    }
    // Inside `unshare -r` the process is uid 0.
    let passwd = write(&root.join("passwd"), &format!("root:x:0:0:root:{}:/bin/sh\n", real_home.display()));
    let mut c = Command::new("unshare");
    c.args(["-r", "-m", "sh", "-c", "mount --bind \"$0\" /etc/passwd && exec \"$@\""]);
    c.arg(&passwd).arg(command.get_program()).args(command.get_args());
    if let Some(d) = command.get_current_dir() {
        c.current_dir(d);
    }
    for (k, v) in command.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    Some(c)
}

#[test]
fn a_user_config_hidden_by_a_package_builds_home_is_named_once_and_the_store_goes_to_the_real_home() {
    let t = tempfile::tempdir().unwrap();
    let (pkg, home) = package(t.path());
    let real_home = t.path().join("ann");
    let real_config = write(&real_home.join(".config/gg/config.toml"), "[engine]\nkind = \"local\"\n");
    let no_system = t.path().join("etc/gg/config.toml");
    let cc = |args: &[&str], system: &Path, env: &[(&str, &str)]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gg-cc"));
        c.args(args).current_dir(&pkg);
        isolate(&mut c, &home, system);
        for (k, v) in env {
            c.env(k, v);
        }
        as_account_with_home(t.path(), &real_home, &c)
    };
    let Some(mut c) = cc(&["gcc", "-c", "hello.c", "-o", "hello.o"], &no_system, &[]) else {
        eprintln!("no user namespaces: the real home cannot be faked, not checked");
        return;
    };
    let stderr = text(&compile(&mut c).stderr);
    assert_eq!(stderr.matches("gg: warning:").count(), 1, "{stderr}");
    for needle in [real_config.display().to_string(), home.display().to_string(), no_system.display().to_string()] {
        assert!(stderr.contains(&needle), "the warning should name `{needle}`:\n{stderr}");
    }
    assert!(real_home.join(".cache/gg/stats.json").is_file(), "the store is in the real home");
    assert!(!home.join(".cache").exists(), "nothing in the package tree");
    // A query's output stays exactly the compiler's.
    let want = Command::new("gcc").arg("-dumpmachine").output().unwrap();
    let got = cc(&["gcc", "-dumpmachine"], &no_system, &[]).unwrap().output().unwrap();
    assert_eq!((got.stdout, text(&got.stderr)), (want.stdout, text(&want.stderr)));
    // Configured another way: no warning.
    let system = write(&no_system, "[engine]\nkind = \"local\"\n");
    for (what, env) in [("a system file", vec![]), ("GG_ENGINE", vec![("GG_ENGINE", "local")])] {
        let sys: &Path = if env.is_empty() { &system } else { &t.path().join("none") };
        let out = compile(&mut cc(&["gcc", "-c", "hello.c", "-o", "hello.o"], sys, &env).unwrap());
        assert_eq!(text(&out.stderr), "", "with {what}");
    }
}
