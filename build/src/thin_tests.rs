use std::fs;
use std::process::Command;

use super::*;

fn sh(dir: &Path, script: &str) {
    let out = Command::new("sh").args(["-c", script]).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_member_paths_are_read_as_gnu_ar_and_llvm_ar_write_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("b/sub")).unwrap();
    fs::create_dir_all(d.join("o")).unwrap();
    fs::write(d.join("a.c"), "int a(void) { return 1; }\n").unwrap();
    sh(d, "gcc -c a.c -o o/a.o && cp o/a.o b/sub/m.o && cp o/a.o b/x.o");
    let b = d.join("b");
    let abs = format!("{}/o/a.o", d.display());
    let mut archivers = vec!["ar"];
    if gg_wrapper::toolchain::which("llvm-ar").is_some() {
        archivers.push("llvm-ar");
    }
    for ar in archivers {
        sh(&b, &format!("rm -f lib/t.a && mkdir -p lib && {ar} csrDT lib/t.a ../o/a.o sub/m.o x.o {abs}"));
        let names = member_paths(&fs::read(b.join("lib/t.a")).unwrap()).unwrap();
        assert_eq!(names, ["../../o/a.o", "../sub/m.o", "../x.o", abs.as_str()], "{ar}");
        sh(&b, &format!("rm -f t.a && {ar} csrDT t.a x.o"));
        assert_eq!(member_paths(&fs::read(b.join("t.a")).unwrap()).unwrap(), ["x.o"], "{ar}: a short name");
    }
}

#[test]
fn what_is_not_a_readable_thin_archive_is_an_error() {
    assert!(member_paths(b"!<arch>\n").is_err());
    assert!(member_paths(b"!<thin>\nshort").unwrap_err().contains("damaged"));
    let header = |name: &str, size: &str| format!("{name:<16}{:<32}{size:<10}`\n", "0");
    let bad_offset = format!("!<thin>\n{}", header("/99", "4"));
    assert!(member_paths(bad_offset.as_bytes()).unwrap_err().contains("`/99`"));
    let bsd = format!("!<thin>\n{}", header("#1/12", "4"));
    assert!(member_paths(bsd.as_bytes()).unwrap_err().contains("`#1/12`"));
    let table = format!("!<thin>\n{}a.o/\n\n{}", header("//", "6"), header("/0", "4"));
    assert_eq!(member_paths(table.as_bytes()).unwrap(), ["a.o"]);
    assert!(is_thin(table.as_bytes()) && !is_thin(b"!<arch>\n"));
}

#[test]
fn a_member_is_named_relative_to_the_archive_folder() {
    assert_eq!(relative("/b/lib", "/b/o/a.o"), "../o/a.o");
    assert_eq!(relative("/b", "/b/sub/m.o"), "sub/m.o");
    assert_eq!(relative("/b/x/y", "/c.o"), "../../../c.o");
    assert_eq!(relative("/", "/a/b.o"), "a/b.o");
}

#[test]
fn a_path_through_a_symbolic_link_is_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let d = fs::canonicalize(dir.path()).unwrap();
    fs::create_dir_all(d.join("real/sub")).unwrap();
    std::os::unix::fs::symlink(d.join("real"), d.join("link")).unwrap();
    assert!(without_links(&d.join("real/sub/a.o")));
    assert!(without_links(&d.join("real/sub/../a.o")));
    assert!(without_links(&d.join("real/new/dirs/a.o")), "folders made later are real");
    assert!(!without_links(&d.join("link/sub/a.o")));
    assert!(!without_links(&d.join("real/../link/a.o")));
    assert!(!without_links(&d.join("real/new/../a.o")), "`..` after a missing folder");
}
