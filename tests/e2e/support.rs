//! Helpers: a scratch project folder with its own store, and running `gg`
//! in it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temp folder holding a project and its store (`GG_DIR=<dir>/.gg`).
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch { dir: tempfile::tempdir().unwrap() }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn store(&self) -> PathBuf {
        self.path().join(".gg")
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// A `gg` command run in this folder with this folder's store.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gg"));
        c.args(args).current_dir(self.path()).env("GG_DIR", self.store()).env_remove("GG_KEEP_SANDBOX");
        c
    }

    /// A `gg-cc` command run in this folder with this folder's store.
    pub fn cc(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gg-cc"));
        c.args(args).current_dir(self.path()).env("GG_DIR", self.store()).env_remove("GG_LOG");
        for v in ["CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH", "SOURCE_DATE_EPOCH", "GG_DISABLE"] {
            c.env_remove(v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs `gg` and insists it succeeds; returns trimmed stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "gg {args:?} failed:\n{}", text(&out.stderr));
        text(&out.stdout).trim().to_string()
    }

    /// Runs `gg` and insists it fails; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "gg {args:?} should have failed; stdout:\n{}", text(&out.stdout));
        text(&out.stderr)
    }
}

/// Overwrites a read-only store file (as a disk fault or a stray tool
/// might), whoever runs the tests.
pub fn clobber(path: &Path, contents: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// The path of blob `name` in the store at `store`.
pub fn blob_path(store: &Path, name: &str) -> PathBuf {
    store.join("blobs").join(&name[1..2]).join(name)
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `create-thunk` arguments for `/bin/sh -c SCRIPT` with one output.
pub fn sh_thunk<'a>(script: &'a str, output: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["create-thunk", "--function", "/bin/sh=bin/sh", "--output", output];
    v.extend_from_slice(extra);
    v.extend_from_slice(&["--", "sh", "-c", script]);
    v
}

/// How many reductions (results) the store at `store` holds.
pub fn reductions(store: &Path) -> usize {
    let Ok(shards) = std::fs::read_dir(store.join("reductions")) else { return 0 };
    shards.flatten().map(|d| std::fs::read_dir(d.path()).map_or(0, |e| e.count())).sum()
}

/// Runs `cmd` in a private mount namespace (`unshare -m`, as root) after
/// the shell `setup`, which sees `$GG_DIR` (the command's store), `$GG`
/// and `$GG_CC` (the binaries): mounts made there vanish with the command, whatever
/// happens to the test.
pub fn in_mount_namespace(cmd: &Command, setup: &str) -> Output {
    let mut c = Command::new("unshare");
    c.args(["-m", "sh", "-c", &format!("set -e; {setup}; exec \"$@\""), "sh"]);
    c.arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        c.current_dir(dir);
    }
    c.env("GG", env!("CARGO_BIN_EXE_gg")).env("GG_CC", env!("CARGO_BIN_EXE_gg-cc"));
    c.output().unwrap()
}

/// Setup for [`in_mount_namespace`]: the store, warmed by compiling
/// `warm.c` (so the toolchain is known), is read-only.
pub const STORE_READ_ONLY: &str = "echo 'int warm;' > warm.c; \"$GG_CC\" gcc -c warm.c -o warm.o; \
     mount --bind \"$GG_DIR\" \"$GG_DIR\"; mount -o remount,bind,ro \"$GG_DIR\"";

/// Setup for [`in_mount_namespace`]: the store is a fresh 4 MiB tmpfs,
/// warmed likewise, then filled to the last byte.
pub const STORE_FULL: &str = "mkdir -p \"$GG_DIR\"; mount -t tmpfs -o size=4m tmpfs \"$GG_DIR\"; \
     echo 'int warm;' > warm.c; \"$GG_CC\" gcc -c warm.c -o warm.o; \
     cat /dev/zero > \"$GG_DIR/filler\" 2>/dev/null || true";
