//! The jail: a thunk run inside its own user, mount, PID, network, IPC and
//! UTS namespaces, where the only files are its sandbox folder
//! (read-write, at its real path, so `@@GG_ROOT@@` and the captured-output
//! rewriting mean what they mean outside), the machine's system folders
//! read-only (`/usr` and its usr-merge links, for hand-made thunks that
//! name `/usr/bin/gcc`, with `/etc/alternatives` and the loader's cache;
//! nothing there belongs to a client), a private `/proc`, a minimal `/dev`
//! and an empty `/tmp`. The store, its reductions, other sandboxes, the
//! rest of `/etc` and `/home` have no path there at all.
//!
//! The function runs as `nobody` in a user namespace of its own, with no
//! capabilities, under resource limits ([`LIMITS`]); it is not PID 1 of
//! its PID namespace, so when the run ends every process it left behind
//! (even one that called `setsid`) is killed by the kernel. A worker jails
//! every thunk; the local engine does when `GG_SANDBOX=strict`.
//!
//! One jail keeper (`gg-jail`, [`keeper`]) per gg process makes the
//! namespaces that are slow to make once, and forks a run's cheap ones per
//! thunk ([`run`], [`root`]); this module is gg's side of it.

pub mod keeper;
mod procfs;
mod root;
mod run;
pub mod wire;

use std::io::{IoSlice, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use nix::sys::socket::{socketpair, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, UnixAddr};

use crate::process::Run;
pub use wire::Request;

/// The value of `GG_SANDBOX` that jails every thunk of the local engine.
pub const STRICT: &str = "strict";

/// The keeper's program, installed beside `gg`, `gg-cc` and `gg-worker`.
pub const KEEPER: &str = "gg-jail";

/// Folders of the machine bound read-only (or recreated as the symlinks
/// they are, on a usr-merged system) when they exist.
const SYSTEM_FOLDERS: &[&str] = &["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"];

/// Files of `/etc` bound read-only when they exist: the alternatives'
/// links that `/usr/bin/cc` and friends go through on Debian, and the
/// loader's cache. Nothing else of `/etc` (accounts, keys, settings).
const SYSTEM_FILES: &[&str] = &["/etc/alternatives", "/etc/ld.so.cache"];

/// Resource limits of every jailed process, soft and hard, in this order:
/// private writable memory per process (`RLIMIT_DATA`, bytes), processes
/// of the jail's user (`RLIMIT_NPROC`), bytes per written file
/// (`RLIMIT_FSIZE`), core files (`RLIMIT_CORE`: none). Generous for a
/// link of a large C++ program; they stop a runaway thunk, not a careful
/// one.
pub const LIMITS: [u64; 4] = [16 << 30, 4096, 8 << 30, 0];

/// How long the keeper may take to report that it is ready.
const READY_WAIT: Duration = Duration::from_secs(10);

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

/// A running jail keeper, ready for runs.
#[derive(Debug)]
pub struct Jail {
    /// Requests go here; the keeper exits when it is closed.
    control: OwnedFd,
    keeper: Mutex<Child>,
}

impl Jail {
    /// Starts the keeper for thunks of the store at `store`. Fails, saying
    /// why, when `gg-jail` is not installed beside this program, when user
    /// namespaces are disabled, or when the store lies inside a system
    /// folder the jail would show to every thunk.
    pub fn new(store: &Path) -> Result<Jail, String> {
        let program = find_keeper().ok_or_else(|| {
            format!("the jail needs `{KEEPER}`, installed beside gg (`cargo install` installs it with gg)")
        })?;
        let store = std::fs::canonicalize(store).map_err(|e| format!("store `{}`: {e}", store.display()))?;
        for folder in SYSTEM_FOLDERS {
            let real = std::fs::canonicalize(folder);
            if real.is_ok_and(|r| store.starts_with(r)) {
                return Err(format!(
                    "the store `{}` lies inside `{folder}`, which the jail shows to every thunk",
                    store.display()
                ));
            }
        }
        if !root::can_hold(&store) {
            return Err(format!("the store `{}` lies inside a folder the jail makes its own", store.display()));
        }
        let dir = store.join("jail");
        for sub in ["base", "stage"] {
            let d = dir.join(sub);
            std::fs::create_dir_all(&d).map_err(|e| format!("cannot create `{}`: {e}", d.display()))?;
        }
        let (control, theirs) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
            .map_err(|e| format!("socketpair: {e}"))?;
        use std::os::unix::process::CommandExt;
        let keeper = Command::new(&program)
            .arg(&dir)
            .stdin(Stdio::from(theirs))
            .stdout(Stdio::null())
            .env_clear()
            // Out of the terminal's process group: Ctrl-C is gg's to handle.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start `{}`: {e}", program.display()))?;
        let jail = Jail { control, keeper: Mutex::new(keeper) };
        jail.wait_ready()?;
        Ok(jail)
    }

    fn wait_ready(&self) -> Result<(), String> {
        let mut fds = [libc::pollfd { fd: self.control.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, READY_WAIT.as_millis() as i32) };
        if n <= 0 {
            return Err(format!("`{KEEPER}` did not start within {}s", READY_WAIT.as_secs()));
        }
        let mut buf = [0u8; 4096];
        let got = nix::sys::socket::recv(self.control.as_raw_fd(), &mut buf, MsgFlags::empty())
            .map_err(|e| format!("`{KEEPER}`: {e}"))?;
        match &buf[..got] {
            b"R" => Ok(()),
            [] => Err(format!("`{KEEPER}` exited at start")),
            m => Err(format!("cannot make a jail here: {}", String::from_utf8_lossy(m).trim_start_matches("E "))),
        }
    }

    /// Runs `request` in a fresh jail until it ends or `timeout` passes
    /// (then every process of it is killed), capturing its stdout and
    /// stderr. An error means nothing ran or the keeper failed.
    pub fn run(&self, request: &Request, timeout: Option<Duration>) -> std::io::Result<Run> {
        let (mine, theirs) = UnixStream::pair()?;
        let (out_r, out_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let (err_r, err_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let fds = [theirs.as_raw_fd(), out_w.as_raw_fd(), err_w.as_raw_fd()];
        nix::sys::socket::sendmsg::<UnixAddr>(
            self.control.as_raw_fd(),
            &[IoSlice::new(b"r")],
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .map_err(|e| std::io::Error::other(format!("the jail keeper is gone ({e})")))?;
        // The keeper holds its copies now; ours would keep the pipes open.
        drop((theirs, out_w, err_w));
        (&mine).write_all(&request.encode())?;
        crate::process::watch_jailed(mine, out_r, err_r, timeout)
    }
}

impl Drop for Jail {
    fn drop(&mut self) {
        // Closing the control socket ends the keeper.
        // SAFETY: shutdown has no memory-safety preconditions.
        unsafe { libc::shutdown(self.control.as_raw_fd(), libc::SHUT_RDWR) };
        if let Ok(mut k) = self.keeper.lock() {
            let _ = k.wait();
        }
    }
}

/// `gg-jail` beside the running program (or one folder up, where cargo
/// puts binaries relative to its test programs), else on `PATH`.
fn find_keeper() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let beside =
        exe.parent().into_iter().flat_map(|d| [d.to_path_buf(), d.parent().map(Path::to_path_buf).unwrap_or_default()]);
    let path = std::env::var_os("PATH").unwrap_or_default();
    beside.chain(std::env::split_paths(&path)).map(|d| d.join(KEEPER)).find(|p| {
        p.metadata()
            .is_ok_and(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0 && m.is_file())
    })
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
    fn a_store_inside_a_system_folder_is_refused() {
        let err = Jail::new(Path::new("/usr/share")).unwrap_err();
        assert!(err.contains("lies inside `/usr`") || err.contains("needs `gg-jail`"), "{err}");
    }
}
