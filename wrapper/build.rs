//! Builds the static stage launcher (`src/launcher/launch.c`) once, with
//! the C compiler that links gg itself, so that toolchain discovery only
//! stores it: building it there was most of an empty store's first
//! compile (a static link, some 70 ms of CPU). It must run on the machine
//! that runs the compiler's stages, which is the one gg runs on, so it is
//! built for gg's own target. Where it cannot be built (no static libc,
//! or gg cross-compiled), an empty file is left and discovery builds it
//! with the user's compiler as before.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn main() {
    println!("cargo:rerun-if-changed=src/launcher/launch.c");
    println!("cargo:rerun-if-env-changed=CC");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("launch");
    let native = std::env::var("TARGET").ok() == std::env::var("HOST").ok();
    let built = native && build(&out);
    if !built {
        std::fs::write(&out, b"").expect("OUT_DIR is writable");
    }
}

/// Compiles the launcher from stdin (no source path reaches the binary, so
/// it comes out the same bytes wherever gg is built with the same compiler).
fn build(out: &PathBuf) -> bool {
    let source = std::fs::read("src/launcher/launch.c").expect("the launcher's source is in the crate");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let child = Command::new(&cc)
        .args(["-x", "c", "-static", "-Os", "-o"])
        .arg(out)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else { return false };
    let fed = child.stdin.take().expect("piped").write_all(&source);
    let ok = child.wait().is_ok_and(|s| s.success()) && fed.is_ok();
    if !ok {
        println!(
            "cargo:warning=cannot link gg's stage launcher statically with `{cc}`: toolchain discovery will build it"
        );
    }
    ok
}
