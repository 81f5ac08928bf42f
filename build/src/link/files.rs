//! What a file ld opens is to it, from its bytes: an object or archive,
//! one holding LTO bytecode, a thin archive (with its members' paths), a
//! linker script, or a shared library (with its dynamic section). Kept in
//! the store per file (see [`FileMemo`]), so a warm build reads nothing.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use gg_core::Store;
use gg_wrapper::toolchain;
use serde::{Deserialize, Serialize};

use super::search::expand_origin;
use crate::thin;
use crate::tool::{self, DiskCache, FileMemo};

/// A shared library ld loads, as far as linking against it goes.
#[derive(Debug)]
pub(super) struct Shared {
    /// The name a DT_NEEDED entry would give it (soname, else file name).
    pub(super) name: String,
    pub(super) needed: Vec<String>,
    /// DT_RUNPATH folders, `$ORIGIN` expanded.
    pub(super) runpath: Vec<String>,
}

impl Shared {
    pub(super) fn new(abs: &str, soname: Option<String>, needed: Vec<String>, runpath: &[String]) -> Shared {
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
pub(super) enum Found {
    /// An object, an archive, or anything else ld reads without following.
    Plain,
    /// An object or archive holding GCC LTO bytecode.
    Lto,
    /// A thin archive: the member paths it names (or why they are unknown).
    Thin(Result<Vec<String>, String>),
    Script(String),
    Shared(Shared),
}

/// What the file at `path` (its bytes here; `abs`, its path in the link)
/// is to ld.
pub(super) fn classify(store: &Store, path: &Path, abs: &str) -> Result<Found> {
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
pub(super) enum FileKind {
    Plain,
    Lto,
    Thin(Result<Vec<String>, String>),
    Script(String),
    Shared(Dynamic),
}

/// [`toolchain::ElfDynamic`], as `files/` keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Dynamic {
    pub(super) soname: Option<String>,
    pub(super) needed: Vec<String>,
    pub(super) runpath: Vec<String>,
}

pub(super) fn file_kind(store: &Store, path: &Path) -> std::io::Result<FileKind> {
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
pub(super) fn dynamic_section(store: &Store, path: &Path) -> std::io::Result<Option<Dynamic>> {
    static SECTIONS: FileMemo<Option<Dynamic>> = FileMemo::new(Some("elf-dynamic"), |_, _| true);
    SECTIONS.get(DiskCache::of(store), path, |p| {
        let d = toolchain::elf_dynamic(&fs::read(p)?);
        Ok(d.map(|d| Dynamic { soname: d.soname, needed: d.needed, runpath: d.runpath }))
    })
}
