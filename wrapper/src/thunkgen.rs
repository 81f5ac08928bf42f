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
/// are part of every cache key, and given to the thunk (paths re-rooted,
/// except in [`ENV_VERBATIM`]).
pub const ENV_INPUTS: &[&str] = &[
    "CPATH",
    "C_INCLUDE_PATH",
    "CPLUS_INCLUDE_PATH",
    "OBJC_INCLUDE_PATH",
    "SOURCE_DATE_EPOCH",
    "GCC_COLORS",
    "GCC_URLS",
    "TERM_URLS",
];

/// Those of [`ENV_INPUTS`] that hold no paths: the date `__DATE__` shows,
/// and how forced colours and links look in diagnostics.
const ENV_VERBATIM: &[&str] = &["SOURCE_DATE_EPOCH", "GCC_COLORS", "GCC_URLS", "TERM_URLS"];

/// Where the stage launchers sit in the sandbox.
const LAUNCH_DIR: &str = "gg/launch";

/// The compile thunk's second output: the dependency list the compiler
/// wrote, in the canonical form every engine stores (see `gg_core::thunk`).
pub const DEPS_OUTPUT: &str = "gg/compile.d";

/// Everything a compile thunk is made from.
#[derive(Debug)]
pub struct Parts<'a> {
    pub toolchain: &'a Toolchain,
    pub arg0: &'a str,
    pub compile: &'a Compile,
    /// The absolute working directory.
    pub cwd: &'a Path,
    /// Source, headers and other input files: absolute path and hash.
    pub inputs: &'a [(&'a str, Name)],
    /// The values of [`ENV_INPUTS`] that are set.
    pub env: &'a [(String, String)],
    /// The locale's envars (its files are among `inputs`).
    pub locale: &'a crate::locale::ThunkLocale,
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

/// Options that rewrite path prefixes in what the compiler writes (debug
/// info, `__FILE__`, profile and coverage data), as `OPTION=OLD=NEW`.
const PREFIX_MAPS: &[&str] = &[
    "-fcoverage-prefix-map=",
    "-fdebug-prefix-map=",
    "-ffile-prefix-map=",
    "-fmacro-prefix-map=",
    "-fprofile-prefix-map=",
];

/// A prefix map as it must read inside the sandbox, where every absolute
/// path the compiler sees starts with the root: an absolute `OLD` is
/// re-rooted, so it matches exactly the paths it matches in place and the
/// root never survives (`None`: the word is not a map, or its `OLD` is
/// relative and means the same in both places). An empty `OLD` matches
/// every path: it stays for relative ones and is repeated for the root,
/// after it so that gcc (last given, first tried) prefers the root's.
fn reroot_prefix_map(word: &str) -> Option<Vec<String>> {
    let opt = PREFIX_MAPS.iter().find(|o| word.starts_with(*o))?;
    // gcc and clang both split at the first `=`; a map without one is an
    // error the compiler reports, in the sandbox as in place.
    let (old, new) = word[opt.len()..].split_once('=')?;
    if old.starts_with('/') {
        Some(vec![format!("{opt}{ROOT_PLACEHOLDER}{old}={new}")])
    } else if old.is_empty() {
        Some(vec![word.to_string(), format!("{opt}{ROOT_PLACEHOLDER}={new}")])
    } else {
        None
    }
}

/// argv\[0\] and the user's arguments as they must read in the sandbox.
fn rerooted_args(arg0: &str, c: &Compile) -> Vec<String> {
    // argv[0] inside the sandbox: gcc finds its own parts from it. The
    // root's own map comes first: gcc tries the last map given first, and
    // clang 14 the longest, so every user map (re-rooted below) is tried
    // before it on both.
    let mut args = vec![reroot(arg0), format!("-ffile-prefix-map={ROOT_PLACEHOLDER}=")];
    let mut wants_path = false;
    for (i, a) in c.args.iter().enumerate() {
        if i == c.source_index {
            args.push(reroot(a));
            continue;
        }
        if !wants_path {
            if let Some(maps) = reroot_prefix_map(a) {
                args.extend(maps);
                continue;
            }
        }
        let (word, next) = reroot_arg(a, wants_path);
        args.push(word);
        wants_path = next;
    }
    args
}

/// The header gcc includes implicitly on glibc systems.
const PREDEF: &str = "stdc-predef.h";

/// Whether the compile read [`PREDEF`] from a default system folder without
/// being told to (gcc's implicit pre-include, which `-nostdinc` turns off).
fn preincludes_predef(p: &Parts<'_>) -> bool {
    p.toolchain.family == crate::toolchain::Family::Gcc
        && !p.compile.nostdinc
        && p.toolchain.includes(p.compile.lang).iter().any(|dir| {
            let predef = format!("{dir}/{PREDEF}");
            p.inputs.iter().any(|(path, _)| *path == predef)
        })
}

/// Builds the thunk for a compile.
pub fn compile_thunk(p: &Parts<'_>) -> Result<Thunk, IrError> {
    let c = p.compile;
    let mut args = rerooted_args(p.arg0, c);
    if preincludes_predef(p) {
        // gcc includes this glibc header before anything else unless told
        // -nostdinc, which the thunk must be (it names the folders itself):
        // asked for by name, it is found and recorded exactly as in place,
        // and before the user's own -include files.
        args.insert(2, "-include".into());
        args.insert(3, PREDEF.into());
    }
    args.push("-nostdinc".into());
    // With the user's own -nostdinc the default folders are not searched.
    let defaults: &[String] = if c.nostdinc { &[] } else { p.toolchain.search_dirs(c.lang) };
    for dir in defaults {
        args.push("-isystem".into());
        args.push(reroot(dir));
    }
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
    // Every file the compile read, from the compiler itself: the user's
    // depfile, the deps log and the direct-mode entry are made from it,
    // whichever files the client chose to send (a superset).
    let lists_deps = c.lang.preprocessed_by_compiler();
    if lists_deps {
        args.extend([
            "-MD".into(),
            "-MF".into(),
            format!("{ROOT_PLACEHOLDER}/{DEPS_OUTPUT}"),
            "-MQ".into(),
            "gg".into(),
        ]);
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
        let value = if ENV_VERBATIM.contains(&k.as_str()) {
            v.clone()
        } else {
            v.split(':').map(reroot).collect::<Vec<_>>().join(":")
        };
        envars.push(format!("{k}={value}"));
    }
    envars.extend(p.locale.envars.iter().cloned());
    let mut outputs = vec![rel(&out_abs)];
    if lists_deps {
        outputs.push(DEPS_OUTPUT.into());
    }
    let thunk =
        Thunk::new(Function { hash: function, args, envars }, values, executables, vec![], outputs, rel(&cwd), 0)?;
    if lists_deps {
        thunk.with_depfiles(vec![DEPS_OUTPUT.into()])
    } else {
        Ok(thunk)
    }
}

/// The hash of the driver binary (it is among the toolchain's files, under
/// the path it is called by and under its resolved path: the same bytes).
/// Resolved only when the first is missing: it cost five `readlink`s per
/// compile.
fn driver_hash(t: &Toolchain) -> Name {
    let named = |path: &str| t.files.iter().find(|(p, _)| p == path).map(|(_, n)| *n);
    named(&t.driver)
        .or_else(|| named(&std::fs::canonicalize(&t.driver).ok()?.to_string_lossy()))
        .expect("discovery hashes the driver")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_prefix_maps_are_rerooted_and_relative_ones_kept() {
        let r = ROOT_PLACEHOLDER;
        assert_eq!(
            reroot_prefix_map("-ffile-prefix-map=/build/p=."),
            Some(vec![format!("-ffile-prefix-map={r}/build/p=.")])
        );
        assert_eq!(
            reroot_prefix_map("-fdebug-prefix-map=/usr/include=/inc"),
            Some(vec![format!("-fdebug-prefix-map={r}/usr/include=/inc")])
        );
        assert_eq!(reroot_prefix_map("-fmacro-prefix-map=/a=b=c"), Some(vec![format!("-fmacro-prefix-map={r}/a=b=c")]));
        assert_eq!(
            reroot_prefix_map("-fdebug-prefix-map==/x"),
            Some(vec!["-fdebug-prefix-map==/x".to_string(), format!("-fdebug-prefix-map={r}=/x")])
        );
        assert_eq!(reroot_prefix_map("-fmacro-prefix-map=src=SRC"), None);
        assert_eq!(reroot_prefix_map("-ffile-prefix-map=/no-equals"), None);
        assert_eq!(reroot_prefix_map("-fdebug-types-section"), None);
    }

    #[test]
    fn the_roots_own_map_precedes_every_user_argument() {
        let args: Vec<String> =
            ["-c", "-g", "-ffile-prefix-map=/b=.", "-I", "/inc", "/src/a.c"].iter().map(|s| s.to_string()).collect();
        let crate::args::Classified::Compile(c) = crate::args::classify(&args) else { panic!("a compile") };
        let r = ROOT_PLACEHOLDER;
        assert_eq!(
            rerooted_args("/usr/bin/gcc", &c),
            [
                format!("{r}/usr/bin/gcc"),
                format!("-ffile-prefix-map={r}="),
                "-c".into(),
                "-g".into(),
                format!("-ffile-prefix-map={r}/b=."),
                "-I".into(),
                format!("{r}/inc"),
                format!("{r}/src/a.c"),
            ]
        );
    }

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
