//! `gg masquerade-dir DIR`: a folder of links named like compilers that all
//! point at gg-cc, to put first on PATH (how distro builders use ccache).
//! gg-cc then runs the next real compiler of that name on PATH.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

const NAMES: &[&str] = &["cc", "gcc", "g++", "c++", "clang", "clang++"];

pub fn run(dir: &Path) -> Result<ExitCode> {
    let me = std::env::current_exe().context("cannot find the gg executable")?;
    let gg_cc = me.with_file_name("gg-cc");
    if !gg_cc.is_file() {
        bail!("`{}` not found: gg-cc is installed beside gg", gg_cc.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let mut names: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
    // Versioned names present on PATH (gcc-12, clang-14…).
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            let Ok(entries) = std::fs::read_dir(&d) else { continue };
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if gg_wrapper::invoke::is_compiler_name(&n) && n.contains('-') && !names.contains(&n) {
                    names.push(n);
                }
            }
        }
    }
    for n in &names {
        let link = dir.join(n);
        let tmp = gg_core::fsutil::temp_beside(&link);
        std::os::unix::fs::symlink(&gg_cc, &tmp).with_context(|| format!("cannot create `{}`", tmp.display()))?;
        std::fs::rename(&tmp, &link).with_context(|| format!("cannot create `{}`", link.display()))?;
    }
    println!("{}: {} links to {}; put it first on PATH", dir.display(), names.len(), gg_cc.display());
    Ok(ExitCode::SUCCESS)
}
