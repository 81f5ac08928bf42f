//! The jail: a thunk run inside its own user, mount, PID, network, IPC and
//! UTS namespaces by bubblewrap (`bwrap`), where the only files are its
//! sandbox folder (read-write, at its real path, so `@@GG_ROOT@@` and the
//! captured-output rewriting mean what they mean outside), the machine's
//! system folders read-only (`/usr` and its usr-merge links, for hand-made
//! thunks that name `/usr/bin/gcc`, with `/etc/alternatives` and the
//! loader's cache; nothing there belongs to a client), a
//! private `/proc`, a minimal `/dev` and an empty `/tmp`. The store, its
//! reductions, other sandboxes, the rest of `/etc` and `/home` are not
//! mounted at all.
//!
//! The thunk runs as `nobody` inside, with no capabilities, under
//! resource limits ([`LIMITS`]); bwrap's init is PID 1 of the namespace,
//! so when the function exits every process it left behind (even one that
//! called `setsid`) is killed by the kernel. A worker jails every thunk;
//! the local engine does when `GG_SANDBOX=strict`.
//!
//! bwrap 0.8 (Debian 12) cannot set `argv[0]`, which compilers read (the
//! shipped launcher finds its target by it, clang picks its mode by it), so
//! the jail starts the function through [`EXEC_HELPER`], a tiny static
//! program that sets the limits and execs its first argument with the rest
//! as `argv`.

use std::ffi::OsString;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::fsutil::ctx;

/// The value of `GG_SANDBOX` that jails every thunk of the local engine.
pub const STRICT: &str = "strict";

/// Where the exec helper appears inside the jail.
const HELPER_IN_JAIL: &str = "/.gg-exec";

/// Folders of the machine bound read-only (or recreated as the symlinks
/// they are, on a usr-merged system) when they exist.
const SYSTEM_FOLDERS: &[&str] = &["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"];

/// Files of `/etc` bound read-only when they exist: the alternatives'
/// links that `/usr/bin/cc` and friends go through on Debian, and the
/// loader's cache. Nothing else of `/etc` (accounts, keys, settings).
const SYSTEM_FILES: &[&str] = &["/etc/alternatives", "/etc/ld.so.cache"];

/// Resource limits of every jailed process, soft and hard, set by the
/// exec helper before it starts the function, in this order: private
/// writable memory per process (`RLIMIT_DATA`, bytes), processes of the
/// jail's user (`RLIMIT_NPROC`), bytes per written file (`RLIMIT_FSIZE`),
/// core files (`RLIMIT_CORE`: none). Generous for a link of a large C++
/// program; they stop a runaway thunk, not a careful one.
pub const LIMITS: [u64; 4] = [16 << 30, 4096, 8 << 30, 0];

/// How the local engine isolates thunks, from `GG_SANDBOX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A sandbox folder only (the default on a client's own machine).
    Plain,
    /// Every thunk in a jail.
    Strict,
}

impl Mode {
    /// `GG_SANDBOX`: unset, empty or `plain` is [`Mode::Plain`], `strict`
    /// is [`Mode::Strict`]; anything else is an error naming both.
    pub fn parse(value: Option<&str>) -> Result<Mode, String> {
        match value.unwrap_or("") {
            "" | "plain" => Ok(Mode::Plain),
            STRICT => Ok(Mode::Strict),
            other => Err(format!("GG_SANDBOX=`{other}`: expected `plain` or `strict`")),
        }
    }
}

/// A ready jail: bwrap found, the exec helper in place.
#[derive(Debug, Clone)]
pub struct Jail {
    bwrap: PathBuf,
    helper: PathBuf,
    /// Arguments every run shares: namespaces and the system folders.
    common: Vec<OsString>,
}

impl Jail {
    /// A jail for thunks of the store at `store`. Fails when bwrap is not
    /// installed, when user namespaces are disabled, or when the store lies
    /// inside a system folder the jail would expose.
    pub fn new(store: &Path) -> Result<Jail, String> {
        let bwrap = find_bwrap().ok_or("the jail needs bubblewrap (`bwrap`; Debian package `bubblewrap`)")?;
        let store = std::fs::canonicalize(store).map_err(|e| format!("store `{}`: {e}", store.display()))?;
        let mut common: Vec<OsString> = [
            "--unshare-user",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--uid",
            "65534",
            "--gid",
            "65534",
            "--hostname",
            "gg",
            "--die-with-parent",
            "--new-session",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        for folder in SYSTEM_FOLDERS {
            let path = Path::new(folder);
            let Ok(meta) = std::fs::symlink_metadata(path) else { continue };
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(path).map_err(|e| format!("{folder}: {e}"))?;
                common.extend(["--symlink".into(), target.into_os_string(), folder.into()]);
            } else if meta.is_dir() {
                let real = std::fs::canonicalize(path).map_err(|e| format!("{folder}: {e}"))?;
                if store.starts_with(&real) {
                    return Err(format!(
                        "the store `{}` lies inside `{folder}`, which the jail shows to every thunk",
                        store.display()
                    ));
                }
                common.extend(["--ro-bind".into(), folder.into(), folder.into()]);
            }
        }
        for file in SYSTEM_FILES {
            if Path::new(file).exists() {
                common.extend(["--ro-bind".into(), file.into(), file.into()]);
            }
        }
        common.extend(["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"].iter().map(OsString::from));
        let helper = install_helper(&store).map_err(|e| e.to_string())?;
        common.extend(["--ro-bind".into(), helper.clone().into_os_string(), HELPER_IN_JAIL.into()]);
        let jail = Jail { bwrap, helper, common };
        jail.probe()?;
        Ok(jail)
    }

    /// A command that runs `program` as `arg0` with `args` in the jail of
    /// the sandbox at `root`, in `cwd` (inside `root`). The caller sets the
    /// environment, which bwrap passes on unchanged.
    pub fn command(&self, root: &Path, cwd: &Path, program: &Path, arg0: &str, args: &[String]) -> Command {
        let mut cmd = Command::new(&self.bwrap);
        cmd.args(&self.common);
        cmd.arg("--bind").arg(root).arg(root);
        // Last: the rest of the jail's root is read-only, so a write
        // outside the sandbox and /tmp fails at once.
        cmd.args(["--remount-ro", "/"]);
        cmd.arg("--chdir").arg(cwd);
        cmd.arg("--").arg(HELPER_IN_JAIL).arg(program).arg(arg0).args(args);
        cmd.current_dir(cwd);
        cmd
    }

    /// Runs `true` in an empty jail, so a machine where bwrap cannot work
    /// (user namespaces disabled) is found out at start, not per thunk.
    fn probe(&self) -> Result<(), String> {
        let dir = self.helper.parent().expect("the helper has a folder");
        let out = self
            .command(dir, dir, Path::new("/usr/bin/true"), "true", &[])
            .env_clear()
            .output()
            .map_err(|e| format!("cannot run `{}`: {e}", self.bwrap.display()))?;
        if !out.status.success() {
            return Err(format!(
                "bubblewrap cannot make a jail here ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(())
    }
}

fn find_bwrap() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]).map(|d| d.join("bwrap")).find(|p| p.is_file())
}

/// Writes the exec helper to `<store>/jail/exec` (once; it is the same
/// bytes for every store) and returns its path.
fn install_helper(store: &Path) -> io::Result<PathBuf> {
    let dir = store.join("jail");
    let path = dir.join("exec");
    let image = EXEC_HELPER.image();
    if std::fs::read(&path).is_ok_and(|b| b == image) {
        return Ok(path);
    }
    std::fs::create_dir_all(&dir).map_err(ctx("cannot create", &dir))?;
    let tmp = dir.join(crate::fsutil::unique_name("exec"));
    std::fs::write(&tmp, &image).map_err(ctx("cannot write", &tmp))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o555)).map_err(ctx("cannot chmod", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(ctx("cannot rename", &path))?;
    Ok(path)
}

/// A static x86-64 Linux program, `exec PROGRAM ARGV0 ARGS…`: sets the
/// [`LIMITS`], then execve of PROGRAM with `argv = [ARGV0, ARGS…]` and the
/// same environment, or exit status 127 when that fails. Setting the
/// limits here rather than between gg's fork and exec of bwrap lets gg
/// start bwrap with `posix_spawn` (a `fork` of a worker with a thousand
/// threads cost it milliseconds per thunk). Written out as machine code so
/// the jail needs no compiler and nothing of the machine's:
///
/// ```text
/// mov  $2, %edi                ; RLIMIT_DATA
/// lea  limits+0(%rip), %rsi
/// mov  $160, %eax              ; setrlimit (a failure leaves a lower limit)
/// syscall
/// …the same for RLIMIT_NPROC (6), RLIMIT_FSIZE (1), RLIMIT_CORE (4)
/// mov  (%rsp), %rdi            ; argc
/// lea  8(%rsp), %rsi           ; argv
/// lea  8(%rsi,%rdi,8), %rdx    ; envp = argv + argc + 1
/// mov  8(%rsi), %rdi           ; PROGRAM
/// add  $16, %rsi               ; &argv[2]: ARGV0, ARGS…
/// mov  $59, %eax               ; execve
/// syscall
/// mov  $127, %edi
/// mov  $60, %eax               ; exit
/// syscall
/// limits:                      ; {cur, max} per limit, from LIMITS
/// ```
#[derive(Debug)]
pub struct ExecHelper {
    code: &'static [u8],
}

pub const EXEC_HELPER: ExecHelper = ExecHelper {
    code: &[
        0xbf, 0x02, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x35, 0x69, 0x00, 0x00, 0x00, 0xb8, 0xa0, 0x00, 0x00, 0x00, 0x0f,
        0x05, 0xbf, 0x06, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x35, 0x66, 0x00, 0x00, 0x00, 0xb8, 0xa0, 0x00, 0x00, 0x00,
        0x0f, 0x05, 0xbf, 0x01, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x35, 0x63, 0x00, 0x00, 0x00, 0xb8, 0xa0, 0x00, 0x00,
        0x00, 0x0f, 0x05, 0xbf, 0x04, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x35, 0x60, 0x00, 0x00, 0x00, 0xb8, 0xa0, 0x00,
        0x00, 0x00, 0x0f, 0x05, 0x48, 0x8b, 0x3c, 0x24, 0x48, 0x8d, 0x74, 0x24, 0x08, 0x48, 0x8d, 0x54, 0xfe, 0x08,
        0x48, 0x8b, 0x7e, 0x08, 0x48, 0x83, 0xc6, 0x10, 0xb8, 0x3b, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xbf, 0x7f, 0x00,
        0x00, 0x00, 0xb8, 0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05,
    ],
};

impl ExecHelper {
    /// The ELF file: a 64-byte header, one loadable segment (the whole
    /// file, read and execute), the code right after, then the limits.
    pub fn image(&self) -> Vec<u8> {
        const BASE: u64 = 0x40_0000;
        const HEADERS: u64 = 64 + 56;
        let size = HEADERS + self.code.len() as u64 + 16 * LIMITS.len() as u64;
        let mut f = Vec::with_capacity(size as usize);
        f.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        f.extend_from_slice(&2u16.to_le_bytes()); // executable
        f.extend_from_slice(&0x3eu16.to_le_bytes()); // x86-64
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&(BASE + HEADERS).to_le_bytes()); // entry
        f.extend_from_slice(&64u64.to_le_bytes()); // program headers
        f.extend_from_slice(&0u64.to_le_bytes()); // no sections
        f.extend_from_slice(&0u32.to_le_bytes());
        for half in [64u16, 56, 1, 64, 0, 0] {
            f.extend_from_slice(&half.to_le_bytes());
        }
        f.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        f.extend_from_slice(&5u32.to_le_bytes()); // read, execute
        for word in [0, BASE, BASE, size, size, 0x1000] {
            f.extend_from_slice(&word.to_le_bytes());
        }
        f.extend_from_slice(self.code);
        for limit in LIMITS {
            f.extend_from_slice(&limit.to_le_bytes());
            f.extend_from_slice(&limit.to_le_bytes());
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_is_plain_unless_it_says_strict() {
        assert_eq!(Mode::parse(None), Ok(Mode::Plain));
        assert_eq!(Mode::parse(Some("")), Ok(Mode::Plain));
        assert_eq!(Mode::parse(Some("plain")), Ok(Mode::Plain));
        assert_eq!(Mode::parse(Some("strict")), Ok(Mode::Strict));
        assert!(Mode::parse(Some("jail")).unwrap_err().contains("expected `plain` or `strict`"));
    }

    #[test]
    fn the_exec_helper_runs_a_program_under_the_name_it_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let helper = install_helper(dir.path()).unwrap();
        let out = Command::new(&helper)
            .args(["/bin/sh", "chosen-name", "-c", "tr '\\0' ' ' </proc/$$/cmdline; echo \"$0 $V\"", "one"])
            .env_clear()
            .env("V", "kept")
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "chosen-name -c tr '\\0' ' ' </proc/$$/cmdline; echo \"$0 $V\" one one kept\n"
        );
        let missing = Command::new(&helper).args(["/nonexistent", "x"]).status().unwrap();
        assert_eq!(missing.code(), Some(127));
    }

    #[test]
    fn the_exec_helper_sets_the_limits_before_it_runs_the_program() {
        let dir = tempfile::tempdir().unwrap();
        let helper = install_helper(dir.path()).unwrap();
        // dash reports -d in KiB and -f in 512-byte blocks; -p is processes.
        let out = Command::new(&helper)
            .args(["/bin/sh", "sh", "-c", "ulimit -d; ulimit -p; ulimit -f; ulimit -c"])
            .output()
            .unwrap();
        let expected = format!("{}\n{}\n{}\n{}\n", LIMITS[0] >> 10, LIMITS[1], LIMITS[2] >> 9, LIMITS[3]);
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    }

    #[test]
    fn a_store_inside_a_system_folder_is_refused() {
        if find_bwrap().is_none() {
            eprintln!("no bwrap: skipped");
            return;
        }
        let err = Jail::new(Path::new("/usr/share")).unwrap_err();
        assert!(err.contains("lies inside `/usr`"), "{err}");
    }
}
