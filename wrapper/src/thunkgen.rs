//! The compile thunk: the original source and every header at their
//! absolute paths re-rooted under the sandbox, the whole toolchain as
//! executables, and the compiler run in the re-rooted working directory
//! with `-nostdinc -isystem <root>/<dir>` for each default include folder
//! and `-ffile-prefix-map=<root>=`, so that the object is the one a direct
//! compile makes (the sandbox root never reaches it, or the thunk's name).

use std::path::Path;

use gg_core::thunk::ROOT_PLACEHOLDER;
use gg_core::{Function, IrError, Name, Object, Thunk};

use crate::args::table::{self, Role};
use crate::args::{Compile, Mode};
use crate::toolchain::{launch_key, Toolchain};

/// Environment variables that change what a compile reads or writes; they
/// are part of every cache key, and given to the thunk (paths re-rooted).
pub const ENV_INPUTS: &[&str] =
    &["CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH", "OBJC_INCLUDE_PATH", "SOURCE_DATE_EPOCH"];

/// Where the stage launchers sit in the sandbox.
const LAUNCH_DIR: &str = "gg/launch";

/// Everything a compile thunk is made from.
#[derive(Debug)]
pub struct Parts<'a> {
    pub toolchain: &'a Toolchain,
    pub arg0: &'a str,
    pub compile: &'a Compile,
    /// The absolute working directory.
    pub cwd: &'a Path,
    /// Source, headers and other input files: absolute path and hash.
    pub inputs: &'a [(String, Name)],
    /// The values of [`ENV_INPUTS`] that are set.
    pub env: &'a [(String, String)],
}

/// `/a/b` as a sandbox path (`a/b`).
fn rel(abs: &str) -> String {
    abs.trim_start_matches('/').to_string()
}

/// `/a/b` as seen inside the sandbox (`@@GG_ROOT@@/a/b`); relative paths
/// are left alone (the thunk runs in the re-rooted working directory).
fn reroot(path: &str) -> String {
    if path.starts_with('/') {
        format!("{ROOT_PLACEHOLDER}{path}")
    } else {
        path.to_string()
    }
}

/// Re-roots the path argument of one command-line word, if it has one.
fn reroot_arg(word: &str, prev_wants_path: bool) -> (String, bool) {
    if prev_wants_path {
        return (reroot(word), false);
    }
    if let Some((opt, joined)) = table::lookup(word) {
        let path_like = matches!(opt.role, Role::IncludeDir | Role::InputFile)
            || matches!(opt.name, "--sysroot" | "--sysroot=" | "-B" | "-isysroot" | "-iprefix");
        if path_like {
            return match joined {
                Some(v) if !v.is_empty() => (format!("{}{}", opt.name, reroot(v)), false),
                _ => (word.to_string(), true),
            };
        }
    }
    (word.to_string(), false)
}

/// Builds the thunk for a compile.
pub fn compile_thunk(p: &Parts<'_>) -> Result<Thunk, IrError> {
    let c = p.compile;
    // argv[0] inside the sandbox: gcc finds its own parts from it.
    let mut args = vec![reroot(p.arg0)];
    let mut wants_path = false;
    for (i, a) in c.args.iter().enumerate() {
        if i == c.source_index {
            args.push(reroot(a));
            continue;
        }
        let (word, next) = reroot_arg(a, wants_path);
        args.push(word);
        wants_path = next;
    }
    args.push("-nostdinc".into());
    // With the user's own -nostdinc the default folders are not searched.
    let defaults: &[String] = if c.nostdinc { &[] } else { p.toolchain.includes(c.lang) };
    for dir in defaults {
        args.push("-isystem".into());
        args.push(reroot(dir));
    }
    args.push(format!("-ffile-prefix-map={ROOT_PLACEHOLDER}="));
    // With the launchers, gcc finds cc1 and as under -B first, and so
    // starts them through the shipped loader (clang runs its stages in
    // process).
    let launcher = p.toolchain.launcher.filter(|_| p.toolchain.loader.is_some());
    if launcher.is_some() && p.toolchain.family == crate::toolchain::Family::Gcc {
        args.push(format!("-B{ROOT_PLACEHOLDER}/{LAUNCH_DIR}/"));
    }
    let output = c.output_path();
    args.push("-o".into());
    args.push(reroot(&output));
    if c.mode == Mode::Assembly && !c.args.iter().any(|a| a == "-S") {
        args.push("-S".into());
    }

    let cwd = p.cwd.to_string_lossy();
    let out_abs = if output.starts_with('/') { output } else { format!("{}/{output}", cwd.trim_end_matches('/')) };
    let values = p.inputs.iter().map(|(path, hash)| Object { path: rel(path), hash: *hash }).collect();
    let mut executables: Vec<Object> =
        p.toolchain.files.iter().map(|(path, hash)| Object { path: rel(path), hash: *hash }).collect();
    let driver_rel = rel(&p.toolchain.driver);
    let driver_hash = driver_hash(p.toolchain);
    if !executables.iter().any(|o| o.path == driver_rel) {
        executables.push(Object { path: driver_rel, hash: driver_hash });
    }
    // The driver finds the assembler on PATH: the toolchain's own folders.
    let mut bin_dirs: Vec<String> = Vec::new();
    for (path, _) in p.toolchain.files.iter().filter(|(path, _)| !path.contains(".so")) {
        if let Some(dir) = Path::new(path).parent() {
            let d = reroot(&dir.to_string_lossy());
            if !bin_dirs.contains(&d) {
                bin_dirs.push(d);
            }
        }
    }
    // Shared libraries come from the thunk too, not from the machine.
    let mut lib_dirs: Vec<String> = Vec::new();
    for (path, _) in &p.toolchain.files {
        let file = Path::new(path).file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        if file.contains(".so") && !file.starts_with("ld-linux") {
            let d = reroot(&Path::new(path).parent().expect("absolute").to_string_lossy());
            if !lib_dirs.contains(&d) {
                lib_dirs.push(d);
            }
        }
    }
    // The compiler's temporary files stay inside the sandbox too.
    let mut envars = vec![format!("PATH={}", bin_dirs.join(":")), format!("TMPDIR={ROOT_PLACEHOLDER}")];
    let mut function = driver_hash;
    match (launcher, &p.toolchain.loader) {
        (Some(launcher), Some(loader)) => {
            // Every program, the driver included, starts through the
            // shipped loader with the shipped libraries.
            function = launcher;
            envars.push(format!("GG_LOADER={}", reroot(loader)));
            envars.push(format!("GG_LIBRARY_PATH={}", lib_dirs.join(":")));
            for (name, path) in &p.toolchain.stages {
                executables.push(Object { path: format!("{LAUNCH_DIR}/{name}"), hash: launcher });
                envars.push(format!("{}={}", launch_key(name), reroot(path)));
            }
            // The driver's launcher is found by argv[0]'s base name.
            let arg0_name =
                Path::new(p.arg0).file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            if !p.toolchain.stages.iter().any(|(n, _)| *n == arg0_name) {
                envars.push(format!("{}={}", launch_key(&arg0_name), reroot(&p.toolchain.driver)));
            }
        }
        _ if !lib_dirs.is_empty() => envars.push(format!("LD_LIBRARY_PATH={}", lib_dirs.join(":"))),
        _ => {}
    }
    for (k, v) in p.env {
        let value =
            if k == "SOURCE_DATE_EPOCH" { v.clone() } else { v.split(':').map(reroot).collect::<Vec<_>>().join(":") };
        envars.push(format!("{k}={value}"));
    }
    Thunk::new(
        Function { hash: function, args, envars },
        values,
        executables,
        vec![],
        vec![rel(&out_abs)],
        rel(&cwd),
        0,
    )
}

/// The hash of the driver binary (it is among the toolchain's files,
/// under its resolved path).
fn driver_hash(t: &Toolchain) -> Name {
    let real = std::fs::canonicalize(&t.driver).map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    t.files.iter().find(|(p, _)| *p == real || *p == t.driver).map(|(_, n)| *n).expect("discovery hashes the driver")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_path_arguments_are_rerooted() {
        assert_eq!(reroot_arg("-I/usr/x", false), (format!("-I{ROOT_PLACEHOLDER}/usr/x"), false));
        assert_eq!(reroot_arg("-Irel", false), ("-Irel".to_string(), false));
        assert_eq!(reroot_arg("-isystem", false), ("-isystem".to_string(), true));
        assert_eq!(reroot_arg("/opt/inc", true), (format!("{ROOT_PLACEHOLDER}/opt/inc"), false));
        assert_eq!(reroot_arg("-DPATH=\"/usr/share\"", false), ("-DPATH=\"/usr/share\"".to_string(), false));
        assert_eq!(
            reroot_arg("-fprofile-instr-use=/p/a.profdata", false),
            (format!("-fprofile-instr-use={ROOT_PLACEHOLDER}/p/a.profdata"), false)
        );
    }
}
