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

mod driver;
mod files;
mod options;
mod reader;
mod script;
mod search;

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result};
use gg_core::thunk::ROOT_PLACEHOLDER;
use gg_core::{Kind, Store, Thunk};

use crate::tool::{self, Input, Model, SharedInfo, Source, Tool};
use driver::{check_driver_args, driver_link};
use options::parse_ld;
use reader::Reader;
use search::{default_search_dirs, ld_so_conf};

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

fn model(store: &Store, command: &str, cwd: &Path, inputs: &dyn Fn(&str) -> Input) -> Result<Result<Linked, String>> {
    let steps = or_local!(tool::shell_steps(command));
    let [argv] = steps.as_slice() else { return Ok(Err(format!("{} steps", steps.len()))) };
    if let Some(var) = gg_wrapper::env_local::local_only(gg_wrapper::env_local::Step::Link) {
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

#[cfg(test)]
mod tests;
