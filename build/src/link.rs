//! The link model: a link by the gcc driver (`cc objs… -o prog -lm`, `cc
//! -shared -Wl,-soname,libx.so.5 -o libx.so.5.2.0 objs…`) becomes one
//! thunk that runs GNU ld itself with the command line the driver would
//! give it, on exactly the files it reads.
//!
//! - **The command line comes from the driver**: `cc ARGS -###` prints the
//!   `collect2` command (crt files, `-L` folders, `-plugin`, default
//!   libraries). On GNU/Linux collect2 hands its arguments to ld unchanged
//!   (it only steps in for LTO, which runs locally), so the thunk runs ld
//!   with them: one program, which spawns nothing. What the driver and ld
//!   print is kept in the store across runs, while they and the
//!   installation files the driver names keep their stamps (see
//!   [`crate::tool`]), so that a warm build spawns nothing to model.
//! - **ld runs under `--sysroot=<sandbox root>`**: checked on binutils 2.40,
//!   ld then reads the absolute paths in linker scripts (`libc.so` names
//!   `/lib/x86_64-linux-gnu/libc.so.6`), its default search folders, the
//!   `-rpath`/`-rpath-link` folders and `ld.so.conf` under the sandbox, and
//!   the output is byte-identical (the sysroot is not recorded). Absolute
//!   paths on the command line are re-rooted; `-rpath` and
//!   `-dynamic-linker`, which are written into the output, are not.
//! - **Every file ld reads is an object at its path here**: inputs, each
//!   `-l` as ld finds it (`.so` before `.a` unless static, `-L` folders
//!   then the default ones from `ld --verbose`), what linker scripts name,
//!   and for each shared library the libraries its DT_NEEDED names, which
//!   ld looks for to check symbols: every candidate in every folder ld may
//!   search (so a search order slightly off cannot pick another file).
//!   `ld.so.conf` is shipped flattened (ld resolves its `include` globs
//!   outside the sysroot).
//! - Shared libraries made by other thunks do not exist yet: their
//!   soname, DT_NEEDED and runpath come from the link that makes them
//!   ([`Linked::library`], handed back as [`Input::SharedLibrary`]).
//! - **A thin archive** (Meson's internal static libraries) holds its
//!   members' paths, not their bytes: ld opens each at the archive's
//!   folder as the command names it followed by that path, so each member
//!   is an object of the thunk there. The paths come from the archive's
//!   bytes, or, for one another thunk makes, from its archive step
//!   ([`crate::archive::Archived::info`], handed back as [`Input::Archive`]).
//!
//! Anything else runs locally with the reason: other drivers (clang),
//! compiles in the same command, LTO (`-flto`, or an input holding GCC
//! LTO objects, for which ld's plugin would run `lto-wrapper`), `-fuse-ld`,
//! response files, linker options that write more files or print, unknown
//! linker options.

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use gg_core::thunk::ROOT_PLACEHOLDER;
use gg_core::{Kind, Store, Thunk};
use serde::{Deserialize, Serialize};

use crate::thin;
use crate::tool::{self, DiskCache, FileMemo, Input, Model, Objects, Output, Run, SharedInfo, Source, Tool};
use gg_wrapper::toolchain;

/// A link as a thunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Linked {
    pub thunk: Thunk,
    /// The output paths as the command writes them, in the order of
    /// `thunk.outputs`.
    pub outputs: Vec<String>,
    /// For a shared library, what a link against it needs to know (pass it
    /// back as [`Input::SharedLibrary`]).
    pub library: Option<SharedInfo>,
}

/// Environment variables that change what the driver or ld reads, in
/// ways the thunk (which has an empty environment) would not reproduce.
/// (`LD_RUN_PATH` is also written into the output, and searched outside
/// the sysroot.) `LD_LIBRARY_PATH`, which ld searches for DT_NEEDED
/// libraries, is given to the thunk re-rooted (ld does not put the sysroot
/// before it).
const ENV_LOCAL: &[&str] = &["COMPILER_PATH", "GCC_EXEC_PREFIX", "LD_RUN_PATH", "LDEMULATION"];

/// The thunk for a link command (a shell command line as Ninja runs it)
/// run in `cwd`; or why it must run locally.
///
/// `inputs` says where each file ld reads comes from. It is asked about
/// every path the command names and every candidate a search forms (in
/// the `-L` folders, beside linker scripts, in the folders searched for
/// DT_NEEDED libraries), written relative to `cwd` or absolute, normalised
/// as Ninja normalises paths; for anything no thunk makes, answer
/// [`Input::File`] (a path that is no file then counts as absent).
pub fn link_thunk(store: &Store, command: &str, cwd: &Path, inputs: &dyn Fn(&str) -> Input) -> Result<Model<Linked>> {
    Ok(match model(store, command, cwd, inputs)? {
        Ok(linked) => Model::Thunk(linked),
        Err(why) => Model::Local(format!("link: {why}")),
    })
}

/// Unwraps a `Result<T, String>`, or returns `Ok(Err(why))`: the step
/// must run locally for that reason.
macro_rules! or_local {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(why) => return Ok(Err(why)),
        }
    };
}

fn model(store: &Store, command: &str, cwd: &Path, inputs: &dyn Fn(&str) -> Input) -> Result<Result<Linked, String>> {
    let steps = or_local!(tool::shell_steps(command));
    let [argv] = steps.as_slice() else { return Ok(Err(format!("{} steps", steps.len()))) };
    if let Some(var) = ENV_LOCAL.iter().find(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty())) {
        return Ok(Err(format!("{var} is set")));
    }
    or_local!(check_driver_args(&argv[1..]));
    let driver = or_local!(driver_link(store, argv, cwd));
    let Some(ld) = Tool::find(store, &driver.ld, false)? else { return Ok(Err(format!("`{}` not found", driver.ld))) };
    if !ld.version.starts_with("GNU ld") {
        return Ok(Err(format!("`{}` is not GNU ld (BFD)", driver.ld)));
    }
    let line = or_local!(parse_ld(&driver.args));
    let defaults =
        if line.nostdlib { Vec::new() } else { or_local!(default_search_dirs(store, &ld, line.emulation.as_deref())) };
    let library_path: Vec<String> = std::env::var("LD_LIBRARY_PATH")
        .unwrap_or_default()
        .split(':')
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect();

    let mut reader = Reader::new(store, cwd, inputs, &line, defaults);
    or_local!(reader.read_all(&line)?);
    let conf = ld_so_conf(&ld);
    let more_dirs: Vec<String> = library_path.iter().chain(&conf.dirs).cloned().collect();
    or_local!(reader.read_needed(&line, &more_dirs)?);
    let Reader { mut objects, shared, .. } = reader;
    if let Some((path, text)) = &conf.file {
        let name = store.put_bytes(Kind::Value, text.as_bytes()).context("cannot store ld.so.conf")?;
        or_local!(objects.add(tool::sandbox_path(path), Source::Value(name)));
    }
    or_local!(ld.place(store, &mut objects)?);
    let out = tool::sandbox_path(&tool::absolute(cwd, &line.output));
    if objects.contains(&out) {
        return Ok(Err(format!("the output `{}` is also an input", line.output)));
    }

    let mut args = vec![format!("--sysroot={ROOT_PLACEHOLDER}")];
    args.extend(line.args.iter().cloned());
    let mut function = ld.function(&ld.path, args);
    if !library_path.is_empty() {
        let dirs: Vec<String> = library_path.iter().map(|d| tool::reroot(d)).collect();
        function.envars.push(format!("LD_LIBRARY_PATH={}", dirs.join(":")));
    }
    let (values, executables, thunks) = objects.into_parts();
    let cwd_rel = tool::sandbox_path(&cwd.to_string_lossy());
    let thunk = or_local!(Thunk::new(function, values, executables, thunks, vec![out], cwd_rel, 0)
        .map_err(|e| format!("the thunk is not valid: {e}")));
    let library = line.shared.then(|| {
        let mut needed = BTreeSet::new();
        for s in &shared {
            needed.insert(s.name.clone());
            needed.extend(s.needed.iter().cloned());
        }
        SharedInfo { soname: line.soname.clone(), needed: needed.into_iter().collect(), runpath: line.rpath.clone() }
    });
    Ok(Ok(Linked { thunk, outputs: vec![line.output.clone()], library }))
}

/// Driver options that make a link gg does not model (or no link at all).
fn check_driver_args(args: &[String]) -> Result<(), String> {
    let mut words = args.iter().peekable();
    while let Some(a) = words.next() {
        let a = a.as_str();
        let why = match a {
            _ if a.starts_with('@') => "a response file",
            _ if a.starts_with("-flto") => "LTO (-flto)",
            _ if a.starts_with("-fuse-ld=") => "another linker (-fuse-ld)",
            _ if a.starts_with("-B") => "-B",
            _ if a.starts_with("--sysroot") || a == "-isysroot" => "--sysroot",
            _ if a.starts_with("-specs") || a.starts_with("--specs") => "-specs",
            _ if a.starts_with("-save-temps") => "-save-temps",
            _ if a.starts_with("-print-") || a.starts_with("-dump") || a.starts_with("--print") => "not a link",
            "-c" | "-S" | "-E" | "-M" | "-MM" | "-###" | "-v" | "--version" | "--help" | "-fsyntax-only" => {
                "not a link"
            }
            "-x" => "-x",
            "-Xlinker" if words.peek().is_some_and(|w| w.starts_with('@')) => "a linker response file",
            _ if a.starts_with("-Wl,") && a.split(',').any(|w| w.starts_with('@')) => "a linker response file",
            _ => continue,
        };
        return Err(format!("{why} (`{a}`)"));
    }
    Ok(())
}

/// What the driver would run: ld (as collect2 would find it) and its
/// arguments.
#[derive(Debug)]
struct DriverLink {
    ld: String,
    args: Vec<String>,
}

/// Asks the driver for its link command (`-###`).
fn driver_link(store: &Store, argv: &[String], cwd: &Path) -> Result<DriverLink, String> {
    let name = &argv[0];
    let driver = if name.contains('/') { Some(cwd.join(name)).filter(|p| p.is_file()) } else { toolchain::which(name) };
    let Some(driver) = driver else { return Err(format!("`{name}` not found")) };
    let version = tool::probe(store, &driver, &["--version"]).unwrap_or_default();
    let machine = tool::probe(store, &driver, &["-dumpmachine"]).unwrap_or_default();
    if version.contains("clang") || !version.contains("Free Software Foundation") || machine.trim().is_empty() {
        return Err(format!("`{name}` is not the gcc driver"));
    }
    let mut run = Run::new(&driver, &[]);
    run.argv0 = Some(name.clone());
    run.args = argv[1..].iter().cloned().chain(["-###".to_string()]).collect();
    run.cwd = Some(cwd.to_path_buf());
    let watch = |out: &Output| installation_files(&commands_of(&out.stderr), &argv[1..]);
    let out = run.output(store, &watch).map_err(|e| format!("cannot run `{name}`: {e}"))?;
    if !out.success {
        return Err(format!("`{name} -###` fails: {}", out.stderr.lines().last().unwrap_or("")));
    }
    let commands = commands_of(&out.stderr);
    let [program] = commands.as_slice() else {
        return Err(format!("the driver runs {} programs (a compile and a link?)", commands.len()));
    };
    let base = program[0].rsplit('/').next().unwrap_or("");
    let ld = if base == "collect2" {
        // collect2 runs `real-ld` or `collect-ld` from the compiler's
        // folders if there is one, else `ld` from there or from PATH.
        let prog_name =
            |p: &str| tool::probe(store, &driver, &[&format!("-print-prog-name={p}")]).map(|s| s.trim().to_string());
        for special in ["real-ld", "collect-ld"] {
            if prog_name(special).as_deref() != Some(special) {
                return Err(format!("the compiler has its own `{special}`"));
            }
        }
        match prog_name("ld") {
            Some(p) if p.contains('/') => p,
            _ => toolchain::which("ld").map(|p| p.to_string_lossy().into_owned()).ok_or("no `ld` on PATH")?,
        }
    } else if base == "ld" || base.ends_with("-ld") || base.starts_with("ld.") {
        program[0].clone()
    } else {
        return Err(format!("the driver runs `{}`, not a linker", program[0]));
    };
    Ok(DriverLink { ld, args: program[1..].to_vec() })
}

/// The commands `gcc -###` prints (on stderr), split into words.
fn commands_of(text: &str) -> Vec<Vec<String>> {
    text.lines().filter(|l| l.starts_with(' ')).map(split_gcc_line).collect()
}

/// The files and folders of the compiler's installation that the driver
/// chose for `commands`: the absolute paths in them (as words, `-L`
/// folders, plugin options) that none of its arguments `args` holds.
/// Those the arguments hold are the link's own (its inputs, the output,
/// `-rpath` folders), which change with every build.
fn installation_files(commands: &[Vec<String>], args: &[String]) -> Vec<String> {
    let mut files = BTreeSet::new();
    for word in commands.iter().flatten() {
        let path = ["-L", "-plugin-opt="].iter().find_map(|p| word.strip_prefix(p)).unwrap_or(word);
        if path.starts_with('/') && !args.iter().any(|a| a.contains(path)) {
            files.insert(path.to_string());
        }
    }
    files.into_iter().collect()
}

/// Splits one command line as `gcc -###` prints it: words separated by
/// spaces, some in double quotes with `\"`, `\\` and `\$` escaped.
fn split_gcc_line(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        let mut word = String::new();
        if first == '"' {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => word.extend(chars.next()),
                    c => word.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        words.push(word);
    }
    words
}

/// How an ld option takes its argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arg {
    No,
    Required,
    /// Only as `--name=value`.
    Optional,
}

/// What an ld option means for the thunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// Reads nothing: passed on as written.
    Keep,
    /// `-L`: a search folder.
    Dir,
    /// `-l`: a library, searched for.
    Lib,
    /// A file read (re-rooted).
    File,
    /// A linker script (`-T`), read and searched for file names.
    Script,
    /// The output.
    Output,
    /// A plugin ld loads (`-plugin`).
    Plugin,
    /// A plugin option (the LTO wrapper's path, the resolution file).
    PluginOpt,
    /// `-Bstatic` and its aliases: `-l` finds archives only.
    Static,
    /// `-Bdynamic` and its aliases.
    Dynamic,
    Push,
    Pop,
    /// Makes a shared library.
    Shared,
    Soname,
    Rpath,
    RpathLink,
    /// No default search folders.
    NoStdlib,
    /// `-m`: the emulation, whose default script names the search folders.
    Emulation,
    Local(&'static str),
}

use Arg::{No, Optional as Opt, Required as Req};

/// GNU ld's options (binutils 2.40), by long name without dashes, sorted
/// (a test checks it). Unknown options run locally.
#[rustfmt::skip]
const LONG: &[(&str, Arg, Role)] = &[
    ("Bdynamic", No, Role::Dynamic),
    ("Bgroup", No, Role::Keep),
    ("Bno-symbolic", No, Role::Keep),
    ("Bshareable", No, Role::Shared),
    ("Bstatic", No, Role::Static),
    ("Bsymbolic", No, Role::Keep),
    ("Bsymbolic-functions", No, Role::Keep),
    ("EB", No, Role::Keep),
    ("EL", No, Role::Keep),
    ("Map", Req, Role::Local("a link map (-Map)")),
    ("Tbss", Req, Role::Keep),
    ("Tdata", Req, Role::Keep),
    ("Tldata-segment", Req, Role::Keep),
    ("Trodata-segment", Req, Role::Keep),
    ("Ttext", Req, Role::Keep),
    ("Ttext-segment", Req, Role::Keep),
    ("accept-unknown-input-arch", No, Role::Keep),
    ("allow-multiple-definition", No, Role::Keep),
    ("allow-shlib-undefined", No, Role::Keep),
    ("architecture", Req, Role::Keep),
    ("as-needed", No, Role::Keep),
    ("audit", Req, Role::Keep),
    ("auxiliary", Req, Role::Keep),
    ("build-id", Opt, Role::Keep),
    ("call_shared", No, Role::Dynamic),
    ("check-sections", No, Role::Keep),
    ("compress-debug-sections", Opt, Role::Keep),
    ("copy-dt-needed-entries", No, Role::Keep),
    ("cref", No, Role::Local("a cross-reference table (--cref)")),
    ("ctf-share-types", Req, Role::Keep),
    ("ctf-variables", No, Role::Keep),
    ("dT", Req, Role::Script),
    ("dc", No, Role::Keep),
    ("default-imported-symver", No, Role::Keep),
    ("default-script", Req, Role::Script),
    ("default-symver", No, Role::Keep),
    ("defsym", Req, Role::Keep),
    ("demangle", Opt, Role::Keep),
    ("dependency-file", Req, Role::Local("a dependency file (--dependency-file)")),
    ("disable-multiple-abs-defs", No, Role::Keep),
    ("disable-new-dtags", No, Role::Keep),
    ("discard-all", No, Role::Keep),
    ("discard-locals", No, Role::Keep),
    ("discard-none", No, Role::Keep),
    ("dn", No, Role::Static),
    ("dp", No, Role::Keep),
    ("dy", No, Role::Dynamic),
    ("dynamic-linker", Req, Role::Keep),
    ("dynamic-list", Req, Role::File),
    ("dynamic-list-cpp-new", No, Role::Keep),
    ("dynamic-list-cpp-typeinfo", No, Role::Keep),
    ("dynamic-list-data", No, Role::Keep),
    ("eh-frame-hdr", No, Role::Keep),
    ("emit-relocs", No, Role::Keep),
    ("enable-new-dtags", No, Role::Keep),
    ("end-group", No, Role::Keep),
    ("entry", Req, Role::Keep),
    ("error-handling-script", Req, Role::Local("an error-handling script")),
    ("error-unresolved-symbols", No, Role::Keep),
    ("exclude-libs", Req, Role::Keep),
    ("export-dynamic", No, Role::Keep),
    ("export-dynamic-symbol", Req, Role::Keep),
    ("export-dynamic-symbol-list", Req, Role::File),
    ("fatal-warnings", No, Role::Keep),
    ("filter", Req, Role::Keep),
    ("fini", Req, Role::Keep),
    ("format", Req, Role::Keep),
    ("gc-keep-exported", No, Role::Keep),
    ("gc-sections", No, Role::Keep),
    ("gpsize", Req, Role::Keep),
    ("hash-size", Req, Role::Keep),
    ("hash-style", Req, Role::Keep),
    ("help", No, Role::Local("--help")),
    ("ignore-unresolved-symbol", Req, Role::Keep),
    ("init", Req, Role::Keep),
    ("just-symbols", Req, Role::File),
    ("ld-generated-unwind-info", No, Role::Keep),
    ("library", Req, Role::Lib),
    ("library-path", Req, Role::Dir),
    ("mri-script", Req, Role::Local("an MRI script")),
    ("no-accept-unknown-input-arch", No, Role::Keep),
    ("no-allow-shlib-undefined", No, Role::Keep),
    ("no-as-needed", No, Role::Keep),
    ("no-check-sections", No, Role::Keep),
    ("no-copy-dt-needed-entries", No, Role::Keep),
    ("no-ctf-variables", No, Role::Keep),
    ("no-define-common", No, Role::Keep),
    ("no-demangle", No, Role::Keep),
    ("no-dynamic-linker", No, Role::Keep),
    ("no-eh-frame-hdr", No, Role::Keep),
    ("no-export-dynamic", No, Role::Keep),
    ("no-fatal-warnings", No, Role::Keep),
    ("no-gc-sections", No, Role::Keep),
    ("no-keep-memory", No, Role::Keep),
    ("no-ld-generated-unwind-info", No, Role::Keep),
    ("no-omagic", No, Role::Keep),
    ("no-pie", No, Role::Keep),
    ("no-print-gc-sections", No, Role::Keep),
    ("no-print-map-discarded", No, Role::Keep),
    ("no-relax", No, Role::Keep),
    ("no-strip-discarded", No, Role::Keep),
    ("no-undefined", No, Role::Keep),
    ("no-undefined-version", No, Role::Keep),
    ("no-warn-execstack", No, Role::Keep),
    ("no-warn-mismatch", No, Role::Keep),
    ("no-warn-rwx-segments", No, Role::Keep),
    ("no-warn-search-mismatch", No, Role::Keep),
    ("no-whole-archive", No, Role::Keep),
    ("noinhibit-exec", No, Role::Keep),
    ("non_shared", No, Role::Static),
    ("nostdlib", No, Role::NoStdlib),
    ("oformat", Req, Role::Keep),
    ("omagic", No, Role::Keep),
    ("orphan-handling", Req, Role::Keep),
    ("output", Req, Role::Output),
    ("package-metadata", Opt, Role::Keep),
    ("pic-executable", No, Role::Keep),
    ("pie", No, Role::Keep),
    ("plugin", Req, Role::Plugin),
    ("plugin-opt", Req, Role::PluginOpt),
    ("pop-state", No, Role::Pop),
    ("print-gc-sections", No, Role::Keep),
    ("print-map", No, Role::Local("a link map (--print-map)")),
    ("print-map-discarded", No, Role::Keep),
    ("print-memory-usage", No, Role::Local("--print-memory-usage")),
    ("print-output-format", No, Role::Local("--print-output-format")),
    ("print-sysroot", No, Role::Local("--print-sysroot")),
    ("push-state", No, Role::Push),
    ("reduce-memory-overheads", No, Role::Keep),
    ("relax", No, Role::Keep),
    ("relocatable", No, Role::Keep),
    ("require-defined", Req, Role::Keep),
    ("retain-symbols-file", Req, Role::File),
    ("rpath", Req, Role::Rpath),
    ("rpath-link", Req, Role::RpathLink),
    ("script", Req, Role::Script),
    ("section-start", Req, Role::Keep),
    ("shared", No, Role::Shared),
    ("soname", Req, Role::Soname),
    ("sort-common", Opt, Role::Keep),
    ("sort-section", Req, Role::Keep),
    ("spare-dynamic-tags", Req, Role::Keep),
    ("start-group", No, Role::Keep),
    ("static", No, Role::Static),
    ("stats", No, Role::Keep),
    ("strip-all", No, Role::Keep),
    ("strip-debug", No, Role::Keep),
    ("strip-discarded", No, Role::Keep),
    ("sysroot", Req, Role::Local("a sysroot of its own (--sysroot)")),
    ("target-help", No, Role::Local("--target-help")),
    ("trace", No, Role::Local("--trace (prints what it reads)")),
    ("trace-symbol", Req, Role::Keep),
    ("undefined", Req, Role::Keep),
    ("undefined-version", No, Role::Keep),
    ("unique", Opt, Role::Keep),
    ("unresolved-symbols", Req, Role::Keep),
    ("verbose", Opt, Role::Local("--verbose")),
    ("version", No, Role::Local("--version")),
    ("version-exports-section", Req, Role::Keep),
    ("version-script", Req, Role::File),
    ("warn-common", No, Role::Keep),
    ("warn-constructors", No, Role::Keep),
    ("warn-execstack", No, Role::Keep),
    ("warn-multiple-gp", No, Role::Keep),
    ("warn-once", No, Role::Keep),
    ("warn-rwx-segments", No, Role::Keep),
    ("warn-section-align", No, Role::Keep),
    ("warn-shared-textrel", No, Role::Keep),
    ("warn-textrel", No, Role::Keep),
    ("warn-unresolved-symbols", No, Role::Keep),
    ("whole-archive", No, Role::Keep),
    ("wrap", Req, Role::Keep),
];

/// ld's one-letter options (a letter then its argument, joined or not).
#[rustfmt::skip]
const SHORT: &[(char, Arg, Role)] = &[
    ('(', No, Role::Keep),
    (')', No, Role::Keep),
    ('A', Req, Role::Keep),
    ('E', No, Role::Keep),
    ('F', Req, Role::Keep),
    ('G', Req, Role::Keep),
    ('I', Req, Role::Keep),
    ('L', Req, Role::Dir),
    ('M', No, Role::Local("a link map (-M)")),
    ('N', No, Role::Keep),
    ('O', Req, Role::Keep),
    ('R', Req, Role::Local("-R (a file's symbols, or an rpath)")),
    ('S', No, Role::Keep),
    ('T', Req, Role::Script),
    ('V', No, Role::Local("-V")),
    ('X', No, Role::Keep),
    ('Y', Req, Role::Local("-Y (the default search path)")),
    ('a', Req, Role::Keep),
    ('b', Req, Role::Keep),
    ('c', Req, Role::Local("an MRI script")),
    ('d', No, Role::Keep),
    ('e', Req, Role::Keep),
    ('f', Req, Role::Keep),
    ('g', No, Role::Keep),
    ('h', Req, Role::Soname),
    ('i', No, Role::Keep),
    ('l', Req, Role::Lib),
    ('m', Req, Role::Emulation),
    ('n', No, Role::Keep),
    ('o', Req, Role::Output),
    ('q', No, Role::Keep),
    ('r', No, Role::Keep),
    ('s', No, Role::Keep),
    ('t', No, Role::Local("-t (prints what it reads)")),
    ('u', Req, Role::Keep),
    ('v', No, Role::Local("-v")),
    ('x', No, Role::Keep),
    ('y', Req, Role::Keep),
    ('z', Req, Role::Keep),
];

/// One thing ld reads, in command-line order. The flag says whether `-l`
/// finds archives only there (`-Bstatic`).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Read {
    /// An input file (an object, an archive, a shared library or a script).
    File(String, bool),
    /// A file an option names (a version script, a symbol list).
    Data(String),
    /// A linker script given with `-T`.
    Script(String),
    /// `-lNAME`.
    Lib(String, bool),
}

/// An ld command line, understood.
#[derive(Debug, Default, PartialEq, Eq)]
struct LdLine {
    /// The arguments the thunk gives ld (after `--sysroot`).
    args: Vec<String>,
    reads: Vec<Read>,
    /// `-L` folders, as written.
    dirs: Vec<String>,
    output: String,
    shared: bool,
    soname: Option<String>,
    rpath: Vec<String>,
    rpath_link: Vec<String>,
    plugin: Option<String>,
    nostdlib: bool,
    emulation: Option<String>,
}

/// Reads ld's arguments (without `argv[0]`) the way ld's option parser does
/// (`getopt_long_only`: `-name` and `--name` alike, except that a single
/// dash before `o` is always `-o`).
fn parse_ld(words: &[String]) -> Result<LdLine, String> {
    let mut line = LdLine { output: "a.out".into(), ..LdLine::default() };
    let mut static_mode = vec![false];
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        i += 1;
        if !w.starts_with('-') || w == "-" {
            if w == "-" {
                return Err("input from stdin".into());
            }
            line.reads.push(Read::File(w.clone(), *static_mode.last().expect("a mode")));
            line.args.push(tool::reroot(w));
            continue;
        }
        let (dashes, body) = if let Some(b) = w.strip_prefix("--") { (2, b) } else { (1, &w[1..]) };
        let (name, joined) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let long = if dashes == 1 && body.starts_with('o') {
            None
        } else {
            LONG.binary_search_by(|(n, _, _)| n.cmp(&name)).ok().map(|k| LONG[k])
        };
        // (spelling of the option, its value, role, how the value is joined)
        let (spelling, value, role, sep) = match long {
            Some((_, arg, role)) => {
                let value = match (arg, joined) {
                    (No, Some(_)) => return Err(format!("the linker option `{w}`")),
                    (No, None) | (Opt, None) => None,
                    (_, Some(v)) => Some(v.to_string()),
                    (Req, None) => {
                        let v = words.get(i).ok_or(format!("`{w}` without its argument"))?;
                        i += 1;
                        Some(v.clone())
                    }
                };
                let sep = if joined.is_some() { Some("=") } else { None };
                (format!("{}{name}", &w[..dashes]), value, role, sep)
            }
            None if dashes == 1 => {
                let letter = body.chars().next().expect("a word longer than `-`");
                let Some(&(_, arg, role)) = SHORT.iter().find(|(c, _, _)| *c == letter) else {
                    return Err(format!("the linker option `{w}`"));
                };
                let rest = &body[letter.len_utf8()..];
                let value = match arg {
                    No if rest.is_empty() => None,
                    No => return Err(format!("the linker option `{w}`")),
                    _ if !rest.is_empty() => Some(rest.to_string()),
                    _ => {
                        let v = words.get(i).ok_or(format!("`{w}` without its argument"))?;
                        i += 1;
                        Some(v.clone())
                    }
                };
                let sep = if rest.is_empty() { None } else { Some("") };
                (format!("-{letter}"), value, role, sep)
            }
            None => return Err(format!("the linker option `{w}`")),
        };
        // Passes the option on, its value joined as it was.
        let keep = |line: &mut LdLine, value: Option<&str>| match (value, sep) {
            (Some(v), Some(sep)) => line.args.push(format!("{spelling}{sep}{v}")),
            (Some(v), None) => line.args.extend([spelling.clone(), v.to_string()]),
            (None, _) => line.args.push(spelling.clone()),
        };
        let v = value.clone().unwrap_or_default();
        match role {
            Role::Keep => keep(&mut line, value.as_deref()),
            Role::Local(why) => return Err(why.into()),
            Role::Dir => {
                if v.starts_with('=') || v.starts_with("$SYSROOT") {
                    return Err(format!("a search folder in the sysroot (`-L{v}`)"));
                }
                line.dirs.push(tool::normalize(&v));
                keep(&mut line, Some(&tool::reroot(&v)));
            }
            Role::Lib => {
                line.reads.push(Read::Lib(v.clone(), *static_mode.last().expect("a mode")));
                keep(&mut line, Some(&v));
            }
            Role::File | Role::Plugin => {
                if role == Role::Plugin {
                    line.plugin = Some(v.clone());
                } else {
                    line.reads.push(Read::Data(v.clone()));
                }
                keep(&mut line, Some(&tool::reroot(&v)));
            }
            Role::Script => {
                line.reads.push(Read::Script(v.clone()));
                keep(&mut line, Some(&tool::reroot(&v)));
            }
            Role::Output => {
                line.output = v.clone();
                keep(&mut line, Some(&tool::reroot(&v)));
            }
            Role::PluginOpt => {
                let opt = if v.starts_with('/') {
                    tool::reroot(&v)
                } else if v.starts_with("-fresolution=") {
                    // gcc's temp file name would change the thunk's name
                    // every time; the plugin writes it only for LTO.
                    format!("-fresolution={ROOT_PLACEHOLDER}/gg-ld.res")
                } else {
                    v.clone()
                };
                keep(&mut line, Some(&opt));
            }
            Role::Static | Role::Dynamic => {
                *static_mode.last_mut().expect("a mode") = role == Role::Static;
                keep(&mut line, None);
            }
            Role::Push => {
                static_mode.push(*static_mode.last().expect("a mode"));
                keep(&mut line, None);
            }
            Role::Pop => {
                if static_mode.len() > 1 {
                    static_mode.pop();
                }
                keep(&mut line, None);
            }
            Role::Shared => {
                line.shared = true;
                keep(&mut line, None);
            }
            Role::Soname => {
                line.soname = Some(v.clone());
                keep(&mut line, value.as_deref());
            }
            Role::Rpath | Role::RpathLink => {
                let list = if role == Role::Rpath { &mut line.rpath } else { &mut line.rpath_link };
                list.extend(v.split(':').filter(|d| !d.is_empty()).map(str::to_string));
                keep(&mut line, value.as_deref());
            }
            Role::NoStdlib => {
                line.nostdlib = true;
                keep(&mut line, None);
            }
            Role::Emulation => {
                line.emulation = Some(v.clone());
                keep(&mut line, value.as_deref());
            }
        }
    }
    Ok(line)
}

/// ld's default search folders for an emulation (its default script's
/// `SEARCH_DIR`s, which are under the sysroot), as paths on this machine.
fn default_search_dirs(store: &Store, ld: &Tool, emulation: Option<&str>) -> Result<Vec<String>, String> {
    let mut args = vec!["--verbose"];
    if let Some(e) = emulation {
        args.splice(0..0, ["-m", e]);
    }
    let text = tool::probe(store, Path::new(&ld.real), &args).unwrap_or_default();
    let sysroot = tool::probe(store, Path::new(&ld.real), &["--print-sysroot"]).unwrap_or_default();
    if !sysroot.trim().is_empty() && sysroot.trim() != "/" {
        return Err(format!("`{}` has a sysroot of its own (`{}`)", ld.path, sysroot.trim()));
    }
    if let Some(d) = text.split("SEARCH_DIR(\"").skip(1).find(|d| !d.starts_with('=')) {
        let d = d.split('"').next().unwrap_or(d);
        return Err(format!("`{}` searches `{d}` outside its sysroot", ld.path));
    }
    Ok(text
        .split("SEARCH_DIR(\"")
        .skip(1)
        .filter_map(|s| s.split_once("\")").map(|(d, _)| d))
        .map(|d| tool::normalize(d.strip_prefix('=').unwrap_or(d)))
        .collect())
}

/// This machine's `ld.so.conf` as ld reads it: the folders in order, and
/// the file to ship (where ld looks for it, flattened).
#[derive(Debug, Default)]
struct LdSoConf {
    dirs: Vec<String>,
    file: Option<(String, String)>,
}

fn ld_so_conf(ld: &Tool) -> LdSoConf {
    // ld tries `<prefix>/etc/ld.so.conf`, then `/etc/ld.so.conf`.
    let prefix = Path::new(&ld.real).parent().and_then(Path::parent).map(|p| p.to_string_lossy().into_owned());
    let candidates = [prefix.map(|p| format!("{p}/etc/ld.so.conf")), Some("/etc/ld.so.conf".to_string())];
    for path in candidates.into_iter().flatten() {
        let mut dirs = Vec::new();
        if parse_ld_so_conf(Path::new(&path), &mut dirs, 0) {
            let text: String = dirs.iter().map(|d| format!("{d}\n")).collect();
            return LdSoConf { dirs, file: Some((path, text)) };
        }
    }
    LdSoConf::default()
}

/// Appends the folders `path` lists (following `include` globs); false if
/// there is no such file.
fn parse_ld_so_conf(path: &Path, dirs: &mut Vec<String>, depth: u32) -> bool {
    let Ok(text) = fs::read_to_string(path) else { return false };
    if depth > 8 {
        return true;
    }
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(patterns) = line.strip_prefix("include").filter(|r| r.starts_with([' ', '\t'])) {
            for pattern in patterns.split_whitespace() {
                let base = path.parent().unwrap_or(Path::new("/"));
                for file in glob(&base.join(pattern)) {
                    parse_ld_so_conf(&file, dirs, depth + 1);
                }
            }
        } else if line.strip_prefix("hwcap").is_some_and(|r| r.starts_with([' ', '\t'])) {
            continue;
        } else {
            for dir in line.split([' ', '\t', ',', ':', '=']).filter(|d| d.starts_with('/')) {
                if !dirs.iter().any(|d| d == dir) {
                    dirs.push(dir.to_string());
                }
            }
        }
    }
    true
}

/// The files matching `pattern`, whose last component may hold `*` and
/// `?`, sorted.
fn glob(pattern: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (pattern.parent(), pattern.file_name()) else { return Vec::new() };
    let name = name.to_string_lossy();
    if !name.contains(['*', '?']) {
        return if pattern.is_file() { vec![pattern.to_path_buf()] } else { Vec::new() };
    }
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut found: Vec<PathBuf> =
        entries.flatten().filter(|e| wildcard(&name, &e.file_name().to_string_lossy())).map(|e| e.path()).collect();
    found.sort();
    found
}

fn wildcard(pattern: &str, name: &str) -> bool {
    match pattern.chars().next() {
        None => name.is_empty(),
        Some('*') => {
            (0..=name.len()).filter(|&i| name.is_char_boundary(i)).any(|i| wildcard(&pattern[1..], &name[i..]))
        }
        Some('?') => name.chars().next().is_some_and(|c| wildcard(&pattern[1..], &name[c.len_utf8()..])),
        Some(p) => name.starts_with(p) && wildcard(&pattern[p.len_utf8()..], &name[p.len_utf8()..]),
    }
}

/// A shared library ld loads, as far as linking against it goes.
#[derive(Debug)]
struct Shared {
    /// The name a DT_NEEDED entry would give it (soname, else file name).
    name: String,
    needed: Vec<String>,
    /// DT_RUNPATH folders, `$ORIGIN` expanded.
    runpath: Vec<String>,
}

impl Shared {
    fn new(abs: &str, soname: Option<String>, needed: Vec<String>, runpath: &[String]) -> Shared {
        let (dir, file) = abs.rsplit_once('/').unwrap_or(("", abs));
        let dir = if dir.is_empty() { "/" } else { dir };
        Shared {
            name: soname.unwrap_or_else(|| file.to_string()),
            needed,
            runpath: runpath.iter().map(|r| expand_origin(r, dir)).collect(),
        }
    }
}

/// What a found file is to ld.
enum Found {
    /// An object, an archive, or anything else ld reads without following.
    Plain,
    /// An object or archive holding GCC LTO bytecode.
    Lto,
    /// A thin archive: the member paths it names (or why they are unknown).
    Thin(Result<Vec<String>, String>),
    Script(String),
    Shared(Shared),
}

/// Collects the objects of a link thunk: every file ld reads.
struct Reader<'a> {
    store: &'a Store,
    cwd: &'a Path,
    inputs: &'a dyn Fn(&str) -> Input,
    /// `-L` folders then the default ones, as paths here.
    search: Vec<String>,
    objects: Objects,
    /// The shared libraries ld loads, in the order found.
    shared: Vec<Shared>,
    scripts: HashSet<String>,
}

/// A step of reading: `Err` is why the link must run locally.
type Step = Result<(), String>;

impl<'a> Reader<'a> {
    fn new(
        store: &'a Store,
        cwd: &'a Path,
        inputs: &'a dyn Fn(&str) -> Input,
        line: &LdLine,
        defaults: Vec<String>,
    ) -> Reader<'a> {
        let mut search = line.dirs.clone();
        search.extend(defaults);
        Reader { store, cwd, inputs, search, objects: Objects::default(), shared: Vec::new(), scripts: HashSet::new() }
    }

    fn read_all(&mut self, line: &LdLine) -> Result<Step> {
        if let Some(plugin) = &line.plugin {
            let host = self.cwd.join(plugin);
            if !host.is_file() {
                return Ok(Err(format!("the linker plugin `{plugin}` does not exist")));
            }
            let name = tool::store_file(self.store, &host)?;
            let at = tool::sandbox_path(&tool::absolute(self.cwd, plugin));
            or_local!(self.objects.add_executable(at, name));
        }
        for read in &line.reads {
            or_local!(match read {
                Read::File(path, only_static) => self.open(path, *only_static, true)?,
                Read::Script(path) => self.open(path, false, true)?,
                Read::Data(path) => self.open(path, false, false)?,
                Read::Lib(name, only_static) => self.library(name, *only_static)?,
            });
        }
        Ok(Ok(()))
    }

    /// Places the file `written` names (read here through the path as
    /// written, placed at its normalised path), if there is one, and says
    /// what it is.
    fn find(&mut self, written: &str) -> Result<Result<Option<Found>, String>> {
        let normal = tool::normalize(written);
        let abs = tool::absolute(self.cwd, &normal);
        let (source, found) = match (self.inputs)(&normal) {
            Input::File => {
                let host = self.cwd.join(written);
                if !fs::metadata(&host).is_ok_and(|m| m.is_file()) {
                    return Ok(Ok(None));
                }
                let name = tool::store_file(self.store, &host)?;
                (Source::Value(name), classify(self.store, &host, &abs)?)
            }
            Input::Value(name) => {
                let blob = self.store.blob(&name).with_context(|| format!("the input `{normal}`"))?;
                (Source::Value(name), classify(self.store, &blob, &abs)?)
            }
            Input::Output(_) if tool::is_shared_name(&normal) => {
                return Ok(Err(format!(
                    "`{normal}` is a shared library made in this build, and what it needs is unknown"
                )));
            }
            Input::Output(output) => (Source::Output(output), Found::Plain),
            Input::Archive(output, info) => {
                let found = match info.thin_members {
                    _ if info.lto => Found::Lto,
                    Some(members) => Found::Thin(Ok(members)),
                    None => Found::Plain,
                };
                (Source::Output(output), found)
            }
            Input::SharedLibrary(output, info) => {
                let shared = Shared::new(&abs, info.soname, info.needed, &info.runpath);
                (Source::Output(output), Found::Shared(shared))
            }
        };
        or_local!(self.objects.add(tool::sandbox_path(&abs), source));
        Ok(Ok(Some(found)))
    }

    /// Opens a file named on the command line or in a script; `follow`:
    /// an input ld reads as a library or a script, not data for an option.
    fn open(&mut self, written: &str, only_static: bool, follow: bool) -> Result<Step> {
        match or_local!(self.find(written)?) {
            None => Ok(Err(format!("the input `{written}` does not exist"))),
            Some(_) if !follow => Ok(Ok(())),
            Some(found) => self.follow(written, found, only_static),
        }
    }

    /// Follows what a found input leads to.
    fn follow(&mut self, written: &str, found: Found, only_static: bool) -> Result<Step> {
        match found {
            Found::Plain => Ok(Ok(())),
            Found::Lto => Ok(Err(lto_input(written))),
            Found::Thin(members) => self.thin_members(written, members),
            Found::Shared(s) => {
                self.shared.push(s);
                Ok(Ok(()))
            }
            Found::Script(text) => {
                let abs = tool::absolute(self.cwd, written);
                if !self.scripts.insert(abs.clone()) {
                    return Ok(Ok(()));
                }
                let items =
                    or_local!(script_inputs(&text).map_err(|why| format!("the linker script `{written}` uses {why}")));
                let dir = abs.rsplit_once('/').map_or("/", |(d, _)| if d.is_empty() { "/" } else { d }).to_string();
                for item in items {
                    or_local!(match item.strip_prefix("-l") {
                        Some(name) => self.library(name, only_static)?,
                        None => self.script_file(&item, &dir, only_static)?,
                    });
                }
                Ok(Ok(()))
            }
        }
    }

    /// The members of the thin archive `written`: ld opens each at the
    /// archive's folder as it names the archive followed by the member's
    /// path, which must lead here where it leads in the sandbox (no
    /// symbolic link on the way) and stay inside it (not absolute).
    fn thin_members(&mut self, written: &str, members: Result<Vec<String>, String>) -> Result<Step> {
        let members = or_local!(members.map_err(|why| format!("the thin archive `{written}` holds {why}")));
        let folder = written.rfind('/').map_or("", |i| &written[..=i]);
        for member in members {
            if member.starts_with('/') {
                return Ok(Err(format!("the thin archive `{written}` names `{member}` by its absolute path")));
            }
            let path = format!("{folder}{member}");
            let what = format!("`{path}`, a member of the thin archive `{written}`,");
            if !thin::without_links(&self.cwd.join(&path)) {
                return Ok(Err(format!("{what} is reached through a symbolic link")));
            }
            match or_local!(self.find(&path)?) {
                None => return Ok(Err(format!("{what} does not exist"))),
                Some(Found::Plain) => {}
                Some(Found::Lto) => return Ok(Err(lto_input(&path))),
                Some(_) => return Ok(Err(format!("{what} is no object"))),
            }
        }
        Ok(Ok(()))
    }

    /// A file a linker script names: an absolute one under the sysroot
    /// (so at its path here), a relative one in the script's folder, the
    /// working directory, then the search folders.
    fn script_file(&mut self, name: &str, script_dir: &str, only_static: bool) -> Result<Step> {
        if name.starts_with('/') {
            return self.open(name, only_static, true);
        }
        let mut candidates = vec![format!("{script_dir}/{name}"), name.to_string()];
        candidates.extend(self.search.iter().map(|d| format!("{d}/{name}")));
        self.first_of(&candidates, only_static, &format!("`{name}`, which a linker script names,"))
    }

    /// `-lNAME`: the first folder holding `libNAME.so` (unless static) or
    /// `libNAME.a`; `-l:FILE` names the file itself.
    fn library(&mut self, name: &str, only_static: bool) -> Result<Step> {
        let files: Vec<String> = match name.strip_prefix(':') {
            Some(file) => vec![file.to_string()],
            None if only_static => vec![format!("lib{name}.a")],
            None => vec![format!("lib{name}.so"), format!("lib{name}.a")],
        };
        let candidates: Vec<String> =
            self.search.iter().flat_map(|dir| files.iter().map(move |f| format!("{dir}/{f}"))).collect();
        self.first_of(&candidates, only_static, &format!("-l{name}"))
    }

    /// Opens the first of `candidates` that exists.
    fn first_of(&mut self, candidates: &[String], only_static: bool, what: &str) -> Result<Step> {
        for c in candidates {
            if let Some(found) = or_local!(self.find(c)?) {
                return self.follow(c, found, only_static);
            }
        }
        Ok(Err(format!("{what} is not found")))
    }

    /// The libraries the shared libraries name in DT_NEEDED, which ld
    /// looks for by name: every candidate in every folder it may search
    /// (`-rpath-link`, `-rpath`, the library's runpath, `LD_LIBRARY_PATH`
    /// and `ld.so.conf` (`more_dirs`), the search folders), and what those
    /// need in turn.
    fn read_needed(&mut self, line: &LdLine, more_dirs: &[String]) -> Result<Step> {
        let mut tried: HashSet<String> = HashSet::new();
        let mut next = 0;
        while next < self.shared.len() {
            let needed = self.shared[next].needed.clone();
            let mut dirs: Vec<String> = (line.rpath_link.iter().chain(&line.rpath).chain(&self.shared[next].runpath))
                .flat_map(|d| expand_tokens(d))
                .collect();
            dirs.extend(more_dirs.iter().cloned());
            dirs.extend(self.search.iter().cloned());
            next += 1;
            for name in needed {
                let candidates = if name.contains('/') {
                    vec![tool::normalize(&name)]
                } else {
                    dirs.iter().map(|d| tool::normalize(&format!("{d}/{name}"))).collect()
                };
                for c in candidates {
                    if !tried.insert(c.clone()) {
                        continue;
                    }
                    if let Some(found) = or_local!(self.find(&c)?) {
                        or_local!(self.follow(&c, found, false)?);
                    }
                }
            }
        }
        Ok(Ok(()))
    }
}

/// Why a link reading `written`, which holds GCC LTO bytecode, runs
/// locally: ld's plugin would run `lto-wrapper` on it (a compile).
fn lto_input(written: &str) -> String {
    format!("`{written}` holds LTO objects (ld's plugin would run lto-wrapper)")
}

/// `$ORIGIN` in a runpath is the folder of the library it belongs to.
fn expand_origin(dir: &str, origin: &str) -> String {
    dir.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)
}

/// The folders a search-path entry may stand for (`$LIB`, `$PLATFORM`).
fn expand_tokens(dir: &str) -> Vec<String> {
    if !dir.contains('$') {
        return vec![dir.to_string()];
    }
    let mut out: Vec<String> = ["lib", "lib64", "lib/x86_64-linux-gnu"]
        .iter()
        .map(|lib| {
            dir.replace("${LIB}", lib)
                .replace("$LIB", lib)
                .replace("${PLATFORM}", "x86_64")
                .replace("$PLATFORM", "x86_64")
        })
        .filter(|d| !d.contains('$'))
        .collect();
    out.dedup();
    out
}

/// What the file at `path` (its bytes here; `abs`, its path in the link)
/// is to ld.
fn classify(store: &Store, path: &Path, abs: &str) -> Result<Found> {
    static KINDS: FileMemo<FileKind> = FileMemo::new(Some("ld-input"), |_, _| true);
    let kind = KINDS
        .get(DiskCache::of(store), path, |p| file_kind(store, p))
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok(match kind {
        FileKind::Plain => Found::Plain,
        FileKind::Lto => Found::Lto,
        FileKind::Thin(members) => Found::Thin(members),
        FileKind::Script(text) => Found::Script(text),
        FileKind::Shared(d) => Found::Shared(Shared::new(abs, d.soname, d.needed, &d.runpath)),
    })
}

/// What a file is to ld, from its bytes alone.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum FileKind {
    Plain,
    Lto,
    Thin(Result<Vec<String>, String>),
    Script(String),
    Shared(Dynamic),
}

/// [`toolchain::ElfDynamic`], as `files/` keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Dynamic {
    soname: Option<String>,
    needed: Vec<String>,
    runpath: Vec<String>,
}

fn file_kind(store: &Store, path: &Path) -> std::io::Result<FileKind> {
    let head = tool::head(path, 64)?;
    // An object or an archive: whole, for LTO bytecode.
    let plain_or_lto = || Ok(if tool::holds_lto(&fs::read(path)?) { FileKind::Lto } else { FileKind::Plain });
    if head.starts_with(b"\x7fELF") {
        // ET_DYN: a shared library, whose dynamic section ld follows.
        if head.len() >= 18 && head[16] == 3 {
            if let Some(d) = dynamic_section(store, path)? {
                return Ok(FileKind::Shared(d));
            }
        }
        return plain_or_lto();
    }
    if thin::is_thin(&head) {
        return Ok(FileKind::Thin(thin::member_paths(&fs::read(path)?)));
    }
    if head.starts_with(b"!<arch>\n") {
        return plain_or_lto();
    }
    Ok(match String::from_utf8(fs::read(path)?) {
        Ok(text) if !text.contains('\0') => FileKind::Script(text),
        _ => FileKind::Plain,
    })
}

/// The dynamic section of a shared library. Finding it reads the whole
/// file (libc is 2 MB), so it is kept in the store (see [`FileMemo`]).
fn dynamic_section(store: &Store, path: &Path) -> std::io::Result<Option<Dynamic>> {
    static SECTIONS: FileMemo<Option<Dynamic>> = FileMemo::new(Some("elf-dynamic"), |_, _| true);
    SECTIONS.get(DiskCache::of(store), path, |p| {
        let d = toolchain::elf_dynamic(&fs::read(p)?);
        Ok(d.map(|d| Dynamic { soname: d.soname, needed: d.needed, runpath: d.runpath }))
    })
}

/// The files and `-l` names a linker script reads (`INPUT`, `GROUP`,
/// `AS_NEEDED`); `Err` names a command that reads other files or changes
/// the search (`INCLUDE`, `SEARCH_DIR`, `STARTUP`).
fn script_inputs(text: &str) -> Result<Vec<String>, String> {
    let mut cleaned = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        cleaned.push_str(&rest[..start]);
        cleaned.push(' ');
        rest = match rest[start + 2..].find("*/") {
            Some(end) => &rest[start + 2 + end + 2..],
            None => "",
        };
    }
    cleaned.push_str(rest);
    let mut tokens: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut chars = cleaned.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                for q in chars.by_ref() {
                    if q == '"' {
                        break;
                    }
                    word.push(q);
                }
            }
            '(' | ')' | '{' | '}' | ';' | ',' => {
                if !word.is_empty() {
                    tokens.push(std::mem::take(&mut word));
                }
                tokens.push(c.to_string());
            }
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    tokens.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    let mut files = Vec::new();
    // The commands whose parentheses we are in.
    let mut open: Vec<String> = Vec::new();
    let mut last = String::new();
    for t in tokens {
        match t.as_str() {
            "(" => open.push(std::mem::take(&mut last)),
            ")" => {
                open.pop();
            }
            "INCLUDE" | "SEARCH_DIR" | "STARTUP" => return Err(format!("`{t}`")),
            _ if open.last().is_some_and(|c| matches!(c.as_str(), "INPUT" | "GROUP" | "AS_NEEDED")) => {
                if !matches!(t.as_str(), "AS_NEEDED" | "," | "{" | "}" | ";") {
                    files.push(t.clone());
                }
                last = t;
            }
            _ => last = t,
        }
    }
    Ok(files)
}

#[cfg(test)]
#[path = "link_tests.rs"]
mod tests;
