//! Home folders, and the stand-in one Debian package builds set.
//!
//! debhelper (compat 13 and later) points `HOME` at
//! `<package>/debian/.debhelper/generated/_source/home` and unsets the
//! `XDG_*` variables while `dpkg-buildpackage` runs, so that a build cannot
//! depend on the builder's dotfiles. Through that `HOME` the default store
//! would land in the package tree (wiped by every clean) and the user's
//! config file is out of sight. The store then falls back to the account's
//! real home ([`cache_home`]); the config file stays unread, as debhelper
//! intends, and [`crate::config`] says so once.

use std::ffi::CStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// `$HOME`, if set and not empty.
pub fn env_home() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

/// Whether `home` is the one debhelper sets for package builds:
/// `…/debian/.debhelper/generated/<package>/home`.
pub fn is_debhelper_home(home: &Path) -> bool {
    let mut tail = home.components().rev().filter(|c| !matches!(c, Component::CurDir));
    let mut next = || match tail.next() {
        Some(Component::Normal(n)) => n.to_str(),
        _ => None,
    };
    let (home, _package, generated, debhelper, debian) = (next(), next(), next(), next(), next());
    home == Some("home")
        && generated == Some("generated")
        && debhelper == Some(".debhelper")
        && debian == Some("debian")
}

/// The home folder of the account running this process, from the password
/// database (not `$HOME`).
pub fn account_home() -> Option<PathBuf> {
    // The real user id by system call: fakeroot, which runs the `binary`
    // targets of package builds, answers `getuid()` with 0, and root's home
    // is neither the builder's nor writable by them.
    // SAFETY: getuid has no arguments and cannot fail.
    let uid = unsafe { libc::syscall(libc::SYS_getuid) } as libc::uid_t;
    let mut size = 1024;
    loop {
        let mut buf = vec![0 as libc::c_char; size];
        // SAFETY: an all-zero passwd is valid (null pointers, zero ids).
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is to a live local; `buf` holds `size` bytes.
        let rc = unsafe { libc::getpwuid_r(uid, &mut entry, buf.as_mut_ptr(), size, &mut found) };
        if rc == libc::ERANGE && size < 1 << 20 {
            size *= 4;
            continue;
        }
        if rc != 0 || found.is_null() || entry.pw_dir.is_null() {
            return None;
        }
        // SAFETY: getpwuid_r succeeded: pw_dir points into `buf`, NUL-terminated.
        let dir = unsafe { CStr::from_ptr(entry.pw_dir) };
        let dir = Path::new(std::ffi::OsStr::from_bytes(dir.to_bytes()));
        return dir.is_absolute().then(|| dir.to_path_buf());
    }
}

/// The home whose `.cache` holds the default store: `$HOME`, unless it is
/// debhelper's stand-in (then the account's home, if it has one).
pub fn cache_home() -> Option<PathBuf> {
    let home = env_home();
    match &home {
        Some(h) if is_debhelper_home(h) => account_home().or(home),
        _ => home,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debhelpers_home_is_recognised_and_ordinary_homes_are_not() {
        for home in [
            "/build/hello-2.12/debian/.debhelper/generated/_source/home",
            "/build/hello-2.12/debian/.debhelper/generated/_source/home/",
            "debian/.debhelper/generated/_source/home",
        ] {
            assert!(is_debhelper_home(Path::new(home)), "{home}");
        }
        for home in [
            "/home/ann",
            "/root",
            "/build/hello-2.12/debian/.debhelper/generated/_source",
            "/build/hello-2.12/debian/.debhelper/home",
            "/build/x/debian/tmp/home",
            "/build/.debhelper/generated/_source/home",
        ] {
            assert!(!is_debhelper_home(Path::new(home)), "{home}");
        }
    }

    #[test]
    fn the_account_home_is_what_the_password_database_says() {
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        let entry = std::process::Command::new("getent").args(["passwd", &uid.to_string()]).output().unwrap();
        let line = String::from_utf8(entry.stdout).unwrap();
        let want = line.trim_end().split(':').nth(5).filter(|d| !d.is_empty()).map(PathBuf::from);
        assert_eq!(account_home(), want, "getent says: {line}");
    }
}
