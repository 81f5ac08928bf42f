//! The file tree a jailed function sees. The keeper builds the part every
//! run shares once, at start ([`build_base`]): a tmpfs holding the machine's
//! system folders bound read-only, `/etc`'s two files, a minimal `/dev`,
//! and empty folders to mount on; then it is made read-only. Each run's
//! first process (PID 1 of its PID namespace, in its own mount namespace)
//! copies that tree onto the stage with one recursive bind and adds what is
//! its own ([`enter`]): a private `/proc`, an empty `/tmp` and `/dev/shm`,
//! and the sandbox folder read-write at its own path. Then `pivot_root`
//! makes that tree the root and the machine's tree is detached, so nothing
//! else (the store, other sandboxes, `/home`, the rest of `/etc`) has a
//! path.
//!
//! The shared part is read-only, so no run can leave anything in it for
//! another; every folder a run creates is on a tmpfs of its own. Nothing is
//! undone after a run: the kernel drops its mounts with its namespace.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::{SYSTEM_FILES, SYSTEM_FOLDERS};

/// Device files a compiler or a shell script may open.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// Folders every run gets a tmpfs of its own on.
const PRIVATE: &[&str] = &["/tmp", "/dev/shm"];

/// Whether the jail can hold a store at `store` (a canonical path): not
/// below the shared tree's `/etc`, `/dev` or `/proc`, except in a folder
/// of [`PRIVATE`] (the system folders are refused by
/// [`super::Jail::new`] already).
pub fn can_hold(store: &Path) -> bool {
    PRIVATE.iter().any(|p| store.starts_with(p))
        || !top_folder(store).is_some_and(|t| ["etc", "dev", "proc"].contains(&t.as_str()))
}

const NONE: Option<&str> = None;

/// The top folder of `path` (`tmp` for `/tmp/x/y`).
pub fn top_folder(path: &Path) -> Option<String> {
    match path.components().nth(1)? {
        Component::Normal(c) => Some(c.to_string_lossy().into_owned()),
        _ => None,
    }
}

/// Builds the shared tree at `base` (an empty folder) for runs whose
/// sandboxes lie below the top folder `top`.
pub fn build_base(base: &Path, top: &str) -> Result<(), String> {
    mount(Some("tmpfs"), base, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some("mode=0755"))
        .map_err(|e| format!("cannot mount the jail's root at `{}`: {e}", base.display()))?;
    let at = |p: &str| base.join(p.trim_start_matches('/'));
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
            mount(Some(&host), &dev.join(name), NONE, MsFlags::MS_BIND, NONE)
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
    mkdir(&dev.join("shm"), 0o755)?;
    remount_read_only(&dev)?;

    mkdir(&at("/proc"), 0o555)?;
    mkdir(&at("/tmp"), 0o755)?;
    if !base.join(top).exists() && !PRIVATE.iter().any(|p| base.join(top) == at(p)) {
        mkdir(&base.join(top), 0o755)?;
    }
    // The shared root read-only last: nothing a run does can reach it.
    remount_read_only(base)
}

/// Makes this run's tree at `stage` (an empty folder) from the shared one
/// at `base`, with `sandbox` in it, and enters it. On return the process's
/// root is the new tree and its working folder is `/`.
pub fn enter(stage: &Path, base: &Path, sandbox: &Path) -> Result<(), String> {
    mount(Some(base), stage, NONE, MsFlags::MS_BIND | MsFlags::MS_REC, NONE)
        .map_err(|e| format!("cannot bind the jail's root at `{}`: {e}", stage.display()))?;
    let at = |p: &str| stage.join(p.trim_start_matches('/'));
    mount(Some("proc"), &at("/proc"), Some("proc"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC, NONE)
        .map_err(|e| format!("cannot mount /proc: {e}"))?;
    for folder in PRIVATE {
        mount(Some("tmpfs"), &at(folder), Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some("mode=1777"))
            .map_err(|e| format!("cannot mount {folder}: {e}"))?;
    }
    // The sandbox's folders above it are made on a tmpfs of this run: the
    // private folder's it lies in, else one mounted on its top folder.
    let top = top_folder(sandbox).ok_or("the sandbox path has no top folder")?;
    if !PRIVATE.iter().any(|p| sandbox.starts_with(p)) {
        mount(
            Some("tmpfs"),
            &stage.join(&top),
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("mode=0755"),
        )
        .map_err(|e| format!("cannot mount /{top}: {e}"))?;
    }
    let inside: PathBuf = stage.join(sandbox.strip_prefix("/").map_err(|_| "the sandbox path is relative")?);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(&inside)
        .map_err(|e| format!("cannot make `{}`: {e}", inside.display()))?;
    mount(Some(sandbox), &inside, NONE, MsFlags::MS_BIND, NONE)
        .map_err(|e| format!("cannot bind the sandbox `{}`: {e}", sandbox.display()))?;
    nix::unistd::chdir(stage).map_err(|e| format!("chdir: {e}"))?;
    // The old root goes on top of the new one and is detached at once.
    nix::unistd::pivot_root(".", ".").map_err(|e| format!("pivot_root: {e}"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| format!("cannot detach the machine's tree: {e}"))?;
    nix::unistd::chdir("/").map_err(|e| format!("chdir: {e}"))?;
    Ok(())
}

fn mkdir(path: &Path, mode: u32) -> Result<(), String> {
    std::fs::create_dir(path).map_err(|e| format!("cannot make `{}`: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot chmod `{}`: {e}", path.display()))
}

/// Binds `from` (with everything mounted below it) at `to`, read-only,
/// without set-user-ID programs or devices.
fn bind_read_only(from: &Path, to: &Path) -> Result<(), String> {
    mount(Some(from), to, NONE, MsFlags::MS_BIND | MsFlags::MS_REC, NONE)
        .map_err(|e| format!("cannot bind `{}`: {e}", from.display()))?;
    set_attr(to, AT_RECURSIVE, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)
        .map_err(|e| format!("cannot make `{}` read-only: {e}", from.display()))
}

/// Makes the one mount at `path` read-only (not those below it: /dev's
/// device files stay writable).
fn remount_read_only(path: &Path) -> Result<(), String> {
    set_attr(path, 0, MOUNT_ATTR_RDONLY).map_err(|e| format!("cannot make `{}` read-only: {e}", path.display()))
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

/// `mount_setattr`: it only adds restrictions and can take a whole subtree
/// at once, so flags the machine locked on a mount (`nodev`, `noexec`)
/// never make it fail, as a remount with flags that omit them would.
fn set_attr(path: &Path, flags: libc::c_uint, set: u64) -> io::Result<()> {
    let path = CString::new(path.as_os_str().as_bytes()).map_err(|_| io::Error::other("a NUL in a path"))?;
    let attr = MountAttr { attr_set: set, attr_clr: 0, propagation: 0, userns_fd: 0 };
    // SAFETY: a valid C path and a fully initialised mount_attr of the
    // size passed; the kernel only reads them.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            path.as_ptr(),
            flags,
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

#[cfg(test)]
mod tests {
    use super::top_folder;
    use std::path::Path;

    #[test]
    fn the_top_folder_is_the_first_name_below_the_root() {
        assert_eq!(top_folder(Path::new("/tmp/x/.gg/sandboxes/run.1")).as_deref(), Some("tmp"));
        assert_eq!(top_folder(Path::new("/var/lib/gg")).as_deref(), Some("var"));
        assert_eq!(top_folder(Path::new("/")), None);
    }

    #[test]
    fn a_store_in_the_shared_trees_own_folders_is_refused_but_dev_shm_is_not() {
        assert!(super::can_hold(Path::new("/dev/shm/gg")));
        assert!(super::can_hold(Path::new("/tmp/gg")));
        assert!(super::can_hold(Path::new("/var/lib/gg")));
        assert!(!super::can_hold(Path::new("/etc/gg")));
        assert!(!super::can_hold(Path::new("/dev/gg")));
        assert!(!super::can_hold(Path::new("/proc/gg")));
    }
}
