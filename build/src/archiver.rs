//! Which archiver an archive step runs, and how its thunk runs it:
//!
//! - **GNU ar** (`ar`, `x86_64-linux-gnu-ar`, whatever says `GNU ar`),
//!   through its shipped loader, with the BFD plugins installed beside it
//!   (see [`Tool::find`]).
//! - **gcc-ar** (`gcc-ar`, `gcc-ar-12`, `x86_64-linux-gnu-gcc-ar-12`): GCC's
//!   wrapper, which finds GCC's LTO plugin and GNU ar and runs `ar --plugin
//!   PLUGIN -KEY args…`. The thunk runs that command itself, GNU ar through
//!   its shipped loader with the plugin among its files, so the archive is
//!   the one the wrapper's ar writes. (Running the wrapper in the thunk
//!   would not do: it starts ar through `PATH`, which a thunk does not
//!   have, with the machine's loader.) What the wrapper runs is asked of it:
//!   run once with a `PATH` holding only a stand-in `ar` that prints its
//!   command line, it names its plugin; the ar is then the first on the
//!   real `PATH`, where the wrapper looks after its own folders (if it found
//!   one there the stand-in does not answer, and the step runs locally).
//!   The answer is kept in the store while the wrapper and the plugin keep
//!   their stamps (see `tool_cache.rs`).
//! - **llvm-ar** (`llvm-ar`, `llvm-ar-14`): through its shipped loader; it
//!   reads LLVM bitcode itself and loads no plugin.
//!
//! A `ranlib` step after the archiver must be its kind's (`ranlib`,
//! `gcc-ranlib` with the same plugin, or `llvm-ranlib`, which is llvm-ar
//! itself): it writes the index `s` would have written.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use gg_core::{Function, Name, Store};

use crate::tool::{self, Objects, Output, Run, Tool};
use gg_wrapper::toolchain;

/// The kinds of archiver the archive model runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Gnu,
    GccWrapper,
    Llvm,
}

impl Family {
    fn name(self) -> &'static str {
        match self {
            Family::Gnu => "GNU ar",
            Family::GccWrapper => "gcc-ar",
            Family::Llvm => "llvm-ar",
        }
    }
}

/// The family a program's name says for `personality` (`ar` or `ranlib`),
/// if any: a version may follow the name, a target triple precede it.
pub fn family(program: &str, personality: &str) -> Option<Family> {
    let base = program.rsplit('/').next().unwrap_or(program);
    let stem = match base.rsplit_once('-') {
        Some((stem, version)) if !version.is_empty() && version.chars().all(|c| c.is_ascii_digit() || c == '.') => stem,
        _ => base,
    };
    let named = |name: &str| stem == name || stem.strip_suffix(name).is_some_and(|triple| triple.ends_with('-'));
    if named(&format!("gcc-{personality}")) {
        Some(Family::GccWrapper)
    } else if named(&format!("llvm-{personality}")) {
        Some(Family::Llvm)
    } else if named(personality) {
        Some(Family::Gnu)
    } else {
        None
    }
}

/// An archiver, found and ready to run in a thunk.
#[derive(Debug)]
pub struct Archiver {
    pub family: Family,
    /// The program the thunk runs (for gcc-ar, the ar it runs).
    pub tool: Arc<Tool>,
    /// gcc-ar's LTO plugin: its path and contents.
    pub plugin: Option<(String, Name)>,
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

impl Archiver {
    /// The archiver `program` (as the command names it) is; `Err` says why
    /// it is none the model runs.
    pub fn find(store: &Store, program: &str) -> Result<Result<Archiver, String>> {
        let Some(family) = family(program, "ar") else { return Ok(Err(format!("`{program}` is no archiver"))) };
        let Some(found) = toolchain::which(program) else { return Ok(Err(format!("`{program}` not found"))) };
        Ok(Ok(match family {
            Family::Gnu => {
                let ar = or_local!(gnu(store, &found, "ar", true)?);
                Archiver { family, tool: ar, plugin: None }
            }
            Family::GccWrapper => {
                let plugin = or_local!(wrapped_plugin(store, &found, "ar"));
                let Some(ar) = toolchain::which("ar") else { return Ok(Err("no `ar` on PATH".into())) };
                let ar = or_local!(gnu(store, &ar, "ar", false)?);
                let name = tool::store_file(store, Path::new(&plugin))?;
                or_local!(check_plugin(&ar, &plugin));
                Archiver { family, tool: ar, plugin: Some((plugin, name)) }
            }
            Family::Llvm => {
                let Some(ar) = Tool::find(store, &found.to_string_lossy(), false)? else {
                    return Ok(Err(format!("`{program}` not found")));
                };
                if !ar.version.contains("LLVM version") {
                    return Ok(Err(format!("`{program}` is not llvm-ar")));
                }
                Archiver { family, tool: ar, plugin: None }
            }
        }))
    }

    /// Whether the `ranlib` step (the program as written) goes with this
    /// archiver, so that `s` stands for it.
    pub fn check_ranlib(&self, store: &Store, ranlib: &str) -> Result<(), String> {
        let mismatch = || format!("`{ranlib}` does not go with {}", self.family.name());
        if family(ranlib, "ranlib") != Some(self.family) {
            return Err(mismatch());
        }
        let found = toolchain::which(ranlib).ok_or_else(|| format!("`{ranlib}` not found"))?;
        let gnu_ranlib = |p: &Path| {
            let version = tool::probe(store, p, &["--version"]);
            if version.is_some_and(|v| v.starts_with("GNU ranlib")) {
                Ok(())
            } else {
                Err(format!("`{}` is not GNU ranlib", p.display()))
            }
        };
        match self.family {
            Family::Gnu => gnu_ranlib(&found),
            Family::GccWrapper => {
                let plugin = wrapped_plugin(store, &found, "ranlib")?;
                if self.plugin.as_ref().is_none_or(|(p, _)| *p != plugin) {
                    return Err(mismatch());
                }
                gnu_ranlib(&toolchain::which("ranlib").ok_or("no `ranlib` on PATH")?)
            }
            Family::Llvm => {
                let real = std::fs::canonicalize(&found).map_err(|e| format!("`{ranlib}`: {e}"))?;
                if real != Path::new(&self.tool.real) {
                    return Err(mismatch());
                }
                Ok(())
            }
        }
    }

    /// Stores and places its files.
    pub fn place(&self, store: &Store, objects: &mut Objects) -> Result<Result<(), String>> {
        or_local!(self.tool.place(store, objects)?);
        if let Some((path, name)) = &self.plugin {
            or_local!(objects.add_executable(tool::sandbox_path(path), *name));
        }
        Ok(Ok(()))
    }

    /// The thunk's function: the archiver with key letters `key` and then
    /// `args` (the archive and its members, as the thunk names them).
    pub fn function(&self, key: &str, args: Vec<String>) -> Function {
        let mut all = Vec::new();
        if let Some((plugin, _)) = &self.plugin {
            // As gcc-ar passes them.
            all.extend(["--plugin".to_string(), tool::reroot(plugin)]);
            all.push(if key.starts_with('-') { key.to_string() } else { format!("-{key}") });
        } else {
            all.push(key.to_string());
        }
        all.extend(args);
        // argv[0] under the sandbox: BFD looks for its plugins beside it.
        self.tool.function(&tool::reroot(&self.tool.real), all)
    }
}

/// GNU binutils' `personality` at `path`, with its BFD plugins or not.
fn gnu(store: &Store, path: &Path, personality: &str, plugins: bool) -> Result<Result<Arc<Tool>, String>> {
    let Some(found) = Tool::find(store, &path.to_string_lossy(), plugins)? else {
        return Ok(Err(format!("`{}` not found", path.display())));
    };
    if !found.version.starts_with(&format!("GNU {personality}")) {
        return Ok(Err(format!("`{}` is not GNU {personality}", path.display())));
    }
    Ok(Ok(found))
}

/// A plugin the shipped ar can load: one that needs no library ar does not
/// load itself.
fn check_plugin(ar: &Tool, plugin: &str) -> Result<(), String> {
    let bytes = std::fs::read(plugin).map_err(|e| format!("the plugin `{plugin}`: {e}"))?;
    let needed = toolchain::elf_dynamic(&bytes).map(|d| d.needed).unwrap_or_default();
    match needed.iter().find(|n| !ar.ships_library(n)) {
        Some(n) => Err(format!("the plugin `{plugin}` needs `{n}`, which ar does not load")),
        None => Ok(()),
    }
}

/// The stand-in for the program a wrapper runs: it prints its command line.
const STAND_IN: &str = "#!/bin/sh\nprintf '%s\\n' \"$0\" \"$@\"\n";

/// The plugin the gcc-ar style wrapper at `wrapper` passes to
/// `personality` (`ar` or `ranlib`), asked of the wrapper (see the module
/// doc).
fn wrapped_plugin(store: &Store, wrapper: &Path, personality: &str) -> Result<String, String> {
    if std::env::var_os("GCC_EXEC_PREFIX").is_some() {
        return Err("GCC_EXEC_PREFIX is set".into());
    }
    let dir = store.root().join("probe");
    let stand_in = dir.join(personality);
    install_stand_in(&stand_in).map_err(|e| format!("cannot write `{}`: {e}", stand_in.display()))?;
    let mut run = Run::new(wrapper, &["gg-probe"]);
    for (key, value) in &mut run.env {
        if key == "PATH" {
            *value = Some(dir.to_string_lossy().into_owned());
        }
    }
    let watch = |out: &Output| {
        let plugin = out.stdout.lines().nth(2).unwrap_or("").to_string();
        let folder = Path::new(&plugin).parent().map(|d| d.to_string_lossy().into_owned());
        std::iter::once(plugin).chain(folder).collect()
    };
    let out = run.output(store, &watch).map_err(|e| format!("cannot run `{}`: {e}", wrapper.display()))?;
    let key = if personality == "ar" { "-gg-probe" } else { "gg-probe" };
    let lines: Vec<&str> = out.stdout.lines().collect();
    match lines.as_slice() {
        [program, "--plugin", plugin, arg]
            if Path::new(program) == stand_in && *arg == key && plugin.starts_with('/') =>
        {
            Ok(tool::normalize(plugin))
        }
        _ => Err(format!(
            "`{}` does not run `{personality} --plugin …` from PATH ({})",
            wrapper.display(),
            out.stderr.lines().next().or(lines.first().copied()).unwrap_or("no output")
        )),
    }
}

/// Writes the stand-in at `path` unless it is there already (made
/// executable before it is renamed into place).
fn install_stand_in(path: &PathBuf) -> std::io::Result<()> {
    if std::fs::read(path).is_ok_and(|b| b == STAND_IN.as_bytes()) {
        return Ok(());
    }
    std::fs::create_dir_all(path.parent().expect("a folder in the store"))?;
    gg_core::fsutil::write_atomic_with(path, Some(0o755), |f| f.write_all(STAND_IN.as_bytes()))
}

#[cfg(test)]
#[path = "archiver_tests.rs"]
mod tests;
