//! Thin archives (`ar T`, Meson's internal static libraries): an archive
//! that holds its members' paths, not their bytes. The path of a member
//! named relatively is relative to the archive's folder: ld opens the
//! archive's folder as it was named, followed by that path.
//!
//! GNU ar computes those paths from the real paths of the member and the
//! archive (links resolved), ld from the archive's path as given; in a
//! sandbox, whose folders are all real, the lexical path is the real one.
//! The two agree when no folder along the paths on this machine is a
//! symbolic link ([`without_links`]); a thin archive's step or link is
//! modelled only then.

use std::path::{Component, Path, PathBuf};

const THIN_MAGIC: &[u8] = b"!<thin>\n";
const HEADER: usize = 60;

/// Whether `bytes` start like a thin archive.
pub fn is_thin(bytes: &[u8]) -> bool {
    bytes.starts_with(THIN_MAGIC)
}

/// The member paths a GNU-format thin archive names, in order, as written
/// in it; `Err` says what it holds that is not understood (a nested
/// archive's members, a BSD name).
pub fn member_paths(bytes: &[u8]) -> Result<Vec<String>, String> {
    let mut rest = bytes.strip_prefix(THIN_MAGIC).ok_or("not a thin archive")?;
    let mut names: &[u8] = &[];
    let mut members = Vec::new();
    while !rest.is_empty() {
        if rest.len() < HEADER || &rest[58..60] != b"`\n" {
            return Err("a damaged member header".into());
        }
        let field = |r: std::ops::Range<usize>| String::from_utf8_lossy(&rest[r]).trim_end().to_string();
        let name = field(0..16);
        let size: usize = field(48..58).parse().map_err(|_| "a damaged member size".to_string())?;
        let body = &rest[HEADER..];
        match name.as_str() {
            // The symbol index and the long-name table are in the archive;
            // members are not.
            "/" | "/SYM64/" | "//" => {
                let stored = size + size % 2;
                if body.len() < size {
                    return Err("a truncated table".into());
                }
                if name == "//" {
                    names = &body[..size];
                }
                rest = &body[stored.min(body.len())..];
            }
            _ => {
                members.push(member_name(&name, names)?);
                rest = body;
            }
        }
    }
    Ok(members)
}

/// A member's name: `/N` is at offset N of the long-name table, ending in
/// `/\n`; a short name is written as `name/`.
fn member_name(field: &str, table: &[u8]) -> Result<String, String> {
    let name = match field.strip_prefix('/') {
        Some(offset) => {
            let at: usize = offset.parse().map_err(|_| format!("the member name `{field}`"))?;
            let entry = table.get(at..).ok_or_else(|| format!("the member name `{field}`"))?;
            let end = entry.windows(2).position(|w| w == b"/\n").ok_or_else(|| format!("the member name `{field}`"))?;
            String::from_utf8(entry[..end].to_vec()).map_err(|_| "a member name that is not UTF-8".to_string())?
        }
        None => field.strip_suffix('/').ok_or_else(|| format!("the member name `{field}`"))?.to_string(),
    };
    if name.is_empty() {
        return Err("an empty member name".into());
    }
    Ok(name)
}

/// The path of `to` relative to the folder `from` (both absolute and
/// normalised), as a thin archive in `from` names the member `to`.
pub fn relative(from: &str, to: &str) -> String {
    let from: Vec<&str> = from.split('/').filter(|p| !p.is_empty()).collect();
    let to: Vec<&str> = to.split('/').filter(|p| !p.is_empty()).collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; from.len() - common];
    parts.extend(&to[common..]);
    parts.join("/")
}

/// Whether `path` (absolute, as written: `..` is taken after what comes
/// before it, as the kernel takes it) passes through no symbolic link
/// here, so that its real path is its lexical one. A folder that does not
/// exist yet will be made as a real one; a `..` after one is refused.
pub fn without_links(path: &Path) -> bool {
    let mut at = PathBuf::from("/");
    let mut exists = true;
    for part in path.components() {
        match part {
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir if !exists => return false,
            Component::ParentDir => {
                at.pop();
            }
            Component::Normal(name) => {
                at.push(name);
                if exists {
                    match std::fs::symlink_metadata(&at) {
                        Ok(m) if m.file_type().is_symlink() => return false,
                        Ok(_) => {}
                        Err(_) => exists = false,
                    }
                }
            }
            Component::Prefix(_) => return false,
        }
    }
    true
}

#[cfg(test)]
#[path = "thin_tests.rs"]
mod tests;
