//! Where ld looks for libraries beyond `-L`: its default search folders
//! (from `ld --verbose`), this machine's `ld.so.conf` (flattened, its
//! `include` globs followed), and the `$ORIGIN`/`$LIB`/`$PLATFORM`
//! tokens of runpaths.

use std::fs;
use std::path::{Path, PathBuf};

use gg_core::Store;

use crate::tool::{self, Tool};

/// ld's default search folders for an emulation (its default script's
/// `SEARCH_DIR`s, which are under the sysroot), as paths on this machine.
pub(super) fn default_search_dirs(store: &Store, ld: &Tool, emulation: Option<&str>) -> Result<Vec<String>, String> {
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
pub(super) struct LdSoConf {
    pub(super) dirs: Vec<String>,
    pub(super) file: Option<(String, String)>,
}

pub(super) fn ld_so_conf(ld: &Tool) -> LdSoConf {
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
pub(super) fn parse_ld_so_conf(path: &Path, dirs: &mut Vec<String>, depth: u32) -> bool {
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
pub(super) fn glob(pattern: &Path) -> Vec<PathBuf> {
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

pub(super) fn wildcard(pattern: &str, name: &str) -> bool {
    match pattern.chars().next() {
        None => name.is_empty(),
        Some('*') => {
            (0..=name.len()).filter(|&i| name.is_char_boundary(i)).any(|i| wildcard(&pattern[1..], &name[i..]))
        }
        Some('?') => name.chars().next().is_some_and(|c| wildcard(&pattern[1..], &name[c.len_utf8()..])),
        Some(p) => name.starts_with(p) && wildcard(&pattern[p.len_utf8()..], &name[p.len_utf8()..]),
    }
}

/// `$ORIGIN` in a runpath is the folder of the library it belongs to.
pub(super) fn expand_origin(dir: &str, origin: &str) -> String {
    dir.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)
}

/// The folders a search-path entry may stand for (`$LIB`, `$PLATFORM`).
pub(super) fn expand_tokens(dir: &str) -> Vec<String> {
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
