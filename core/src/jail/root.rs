//! The file tree a jailed function sees, built afresh for every run by the
//! run's first process (PID 1 of its PID namespace, in its own mount
//! namespace): a small tmpfs as `/`, the machine's system folders bound
//! read-only, a private `/proc`, a minimal `/dev`, an empty `/tmp`, and
//! the sandbox folder read-write at its own path. Then `pivot_root` makes
//! that tree the root and the machine's tree is detached, so nothing else
//! (the store, other sandboxes, `/home`, the rest of `/etc`) has a path.
//!
//! Everything here is a handful of mount calls in a namespace that exists
//! only for this run: nothing is undone afterwards, the kernel drops it all
//! when the run's last process is gone.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::{SYSTEM_FILES, SYSTEM_FOLDERS};

/// Device files a compiler or a shell script may open.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// Makes the jail's tree at `stage` (an empty folder) with `sandbox` in
/// it, and enters it. On return the process's root is the new tree and
/// its working folder is `/`.
pub fn enter(stage: &Path, sandbox: &Path) -> Result<(), String> {
    let none: Option<&str> = None;
    mount(Some("tmpfs"), stage, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some("mode=0755"))
        .map_err(|e| format!("cannot mount the jail's root at `{}`: {e}", stage.display()))?;
    let at = |p: &str| stage.join(p.trim_start_matches('/'));

    for folder in SYSTEM_FOLDERS {
        let Ok(meta) = std::fs::symlink_metadata(folder) else { continue };
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(folder).map_err(|e| format!("{folder}: {e}"))?;
            std::os::unix::fs::symlink(&target, at(folder)).map_err(|e| format!("symlink {folder}: {e}"))?;
        } else if meta.is_dir() {
            mkdir(&at(folder), 0o755)?;
            bind_read_only(Path::new(folder), &at(folder))?;
        }
    }
    mkdir(&at("/etc"), 0o755)?;
    for file in SYSTEM_FILES {
        let Ok(meta) = std::fs::metadata(file) else { continue };
        if meta.is_dir() {
            mkdir(&at(file), 0o755)?;
        } else {
            std::fs::write(at(file), b"").map_err(|e| format!("{file}: {e}"))?;
        }
        bind_read_only(Path::new(file), &at(file))?;
    }

    let dev = at("/dev");
    mkdir(&dev, 0o755)?;
    mount(Some("tmpfs"), &dev, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC, Some("mode=0755"))
        .map_err(|e| format!("cannot mount /dev: {e}"))?;
    for name in DEVICES {
        let host = Path::new("/dev").join(name);
        if host.exists() {
            std::fs::write(dev.join(name), b"").map_err(|e| format!("/dev/{name}: {e}"))?;
            mount(Some(&host), &dev.join(name), none, MsFlags::MS_BIND, none)
                .map_err(|e| format!("cannot bind /dev/{name}: {e}"))?;
        }
    }
    for (name, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        std::os::unix::fs::symlink(target, dev.join(name)).map_err(|e| format!("/dev/{name}: {e}"))?;
    }
    mkdir(&dev.join("shm"), 0o1777)?;

    let proc = at("/proc");
    mkdir(&proc, 0o555)?;
    mount(Some("proc"), &proc, Some("proc"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC, none)
        .map_err(|e| format!("cannot mount /proc: {e}"))?;
    let tmp = at("/tmp");
    mkdir(&tmp, 0o1777)?;
    mount(Some("tmpfs"), &tmp, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some("mode=1777"))
        .map_err(|e| format!("cannot mount /tmp: {e}"))?;

    let inside: PathBuf = stage.join(sandbox.strip_prefix("/").map_err(|_| "the sandbox path is relative")?);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(&inside)
        .map_err(|e| format!("cannot make `{}`: {e}", inside.display()))?;
    mount(Some(sandbox), &inside, none, MsFlags::MS_BIND, none)
        .map_err(|e| format!("cannot bind the sandbox `{}`: {e}", sandbox.display()))?;

    // The root itself read-only last: a write anywhere but the sandbox,
    // /tmp and /dev fails at once.
    mount(
        none,
        stage,
        none,
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        none,
    )
    .map_err(|e| format!("cannot make the jail's root read-only: {e}"))?;
    nix::unistd::chdir(stage).map_err(|e| format!("chdir: {e}"))?;
    // The old root goes on top of the new one and is detached at once.
    nix::unistd::pivot_root(".", ".").map_err(|e| format!("pivot_root: {e}"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| format!("cannot detach the machine's tree: {e}"))?;
    nix::unistd::chdir("/").map_err(|e| format!("chdir: {e}"))?;
    Ok(())
}

fn mkdir(path: &Path, mode: u32) -> Result<(), String> {
    std::fs::create_dir(path).map_err(|e| format!("cannot make `{}`: {e}", path.display()))?;
    // The umask must not narrow /tmp's 1777.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot chmod `{}`: {e}", path.display()))
}

/// Binds `from` (with everything mounted below it) at `to`, read-only,
/// without set-user-ID programs or devices. `mount_setattr` changes the
/// whole subtree at once and only adds restrictions, so flags the machine
/// locked on a mount (`nodev`, `noexec`) never make it fail.
fn bind_read_only(from: &Path, to: &Path) -> Result<(), String> {
    let none: Option<&str> = None;
    mount(Some(from), to, none, MsFlags::MS_BIND | MsFlags::MS_REC, none)
        .map_err(|e| format!("cannot bind `{}`: {e}", from.display()))?;
    set_read_only(to).map_err(|e| format!("cannot make `{}` read-only: {e}", from.display()))
}

/// The kernel's `struct mount_attr` (Linux 5.12).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;
const AT_RECURSIVE: libc::c_uint = 0x8000;

fn set_read_only(path: &Path) -> io::Result<()> {
    let path = CString::new(path.as_os_str().as_bytes()).map_err(|_| io::Error::other("a NUL in a path"))?;
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: a valid C path and a fully initialised mount_attr of the
    // size passed; the kernel only reads them.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            path.as_ptr(),
            AT_RECURSIVE,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ENOSYS) {
            return Err(io::Error::other("the jail needs Linux 5.12 or later (mount_setattr)"));
        }
        return Err(e);
    }
    Ok(())
}
