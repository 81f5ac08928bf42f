//! The driver's side of a link: options that make a link gg does not
//! model, and the ld command the gcc driver would run, read from
//! `gcc -###` (whose output is kept across runs while the installation's
//! files keep their stamps).

use std::collections::BTreeSet;
use std::path::Path;

use gg_core::Store;
use gg_wrapper::toolchain;

use crate::tool::{self, Output, Run};

/// Driver options that make a link gg does not model (or no link at all).
pub(super) fn check_driver_args(args: &[String]) -> Result<(), String> {
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
pub(super) struct DriverLink {
    pub(super) ld: String,
    pub(super) args: Vec<String>,
}

/// Asks the driver for its link command (`-###`).
pub(super) fn driver_link(store: &Store, argv: &[String], cwd: &Path) -> Result<DriverLink, String> {
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
pub(super) fn commands_of(text: &str) -> Vec<Vec<String>> {
    text.lines().filter(|l| l.starts_with(' ')).map(split_gcc_line).collect()
}

/// The files and folders of the compiler's installation that the driver
/// chose for `commands`: the absolute paths in them (as words, `-L`
/// folders, plugin options) that none of its arguments `args` holds.
/// Those the arguments hold are the link's own (its inputs, the output,
/// `-rpath` folders), which change with every build.
pub(super) fn installation_files(commands: &[Vec<String>], args: &[String]) -> Vec<String> {
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
pub(super) fn split_gcc_line(line: &str) -> Vec<String> {
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
