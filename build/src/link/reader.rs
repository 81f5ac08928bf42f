//! Every file a link reads, found as ld finds it and placed in the
//! thunk ([`Reader`]): the command's inputs, each `-l` in the search
//! folders, what linker scripts name, thin archives' members, and the
//! DT_NEEDED libraries of each shared library ld loads.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use gg_core::Store;

use super::files::{classify, Found, Shared};
use super::options::{LdLine, Read};
use super::script::script_inputs;
use super::search::expand_tokens;
use crate::thin;
use crate::tool::{self, Input, Objects, Source};

/// Collects the objects of a link thunk: every file ld reads.
pub(super) struct Reader<'a> {
    pub(super) store: &'a Store,
    pub(super) cwd: &'a Path,
    pub(super) inputs: &'a dyn Fn(&str) -> Input,
    /// `-L` folders then the default ones, as paths here.
    pub(super) search: Vec<String>,
    pub(super) objects: Objects,
    /// The shared libraries ld loads, in the order found.
    pub(super) shared: Vec<Shared>,
    pub(super) scripts: HashSet<String>,
}

/// A step of reading: `Err` is why the link must run locally.
pub(super) type Step = Result<(), String>;

impl<'a> Reader<'a> {
    pub(super) fn new(
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

    pub(super) fn read_all(&mut self, line: &LdLine) -> Result<Step> {
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
    pub(super) fn find(&mut self, written: &str) -> Result<Result<Option<Found>, String>> {
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
    pub(super) fn open(&mut self, written: &str, only_static: bool, follow: bool) -> Result<Step> {
        match or_local!(self.find(written)?) {
            None => Ok(Err(format!("the input `{written}` does not exist"))),
            Some(_) if !follow => Ok(Ok(())),
            Some(found) => self.follow(written, found, only_static),
        }
    }

    /// Follows what a found input leads to.
    pub(super) fn follow(&mut self, written: &str, found: Found, only_static: bool) -> Result<Step> {
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
    pub(super) fn thin_members(&mut self, written: &str, members: Result<Vec<String>, String>) -> Result<Step> {
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
    pub(super) fn script_file(&mut self, name: &str, script_dir: &str, only_static: bool) -> Result<Step> {
        if name.starts_with('/') {
            return self.open(name, only_static, true);
        }
        let mut candidates = vec![format!("{script_dir}/{name}"), name.to_string()];
        candidates.extend(self.search.iter().map(|d| format!("{d}/{name}")));
        self.first_of(&candidates, only_static, &format!("`{name}`, which a linker script names,"))
    }

    /// `-lNAME`: the first folder holding `libNAME.so` (unless static) or
    /// `libNAME.a`; `-l:FILE` names the file itself.
    pub(super) fn library(&mut self, name: &str, only_static: bool) -> Result<Step> {
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
    pub(super) fn first_of(&mut self, candidates: &[String], only_static: bool, what: &str) -> Result<Step> {
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
    pub(super) fn read_needed(&mut self, line: &LdLine, more_dirs: &[String]) -> Result<Step> {
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
pub(super) fn lto_input(written: &str) -> String {
    format!("`{written}` holds LTO objects (ld's plugin would run lto-wrapper)")
}
