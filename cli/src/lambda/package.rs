//! `gg lambda package`: the deployment zip of the custom runtime. Lambda
//! runs `bootstrap` from the zip's root; here that is a two-line script
//! starting the packaged gg-worker through the packaged dynamic loader
//! with the packaged libraries, so the function does not depend on which
//! C library the runtime image has. Entries are sorted and dated
//! 1980-01-01, so the same gg-worker always gives the same zip.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// What Lambda runs. `LAMBDA_TASK_ROOT` is where the zip was unpacked.
const BOOTSTRAP: &str = r#"#!/bin/sh
# gg's Lambda custom runtime: gg-worker with the loader and libraries it
# was linked against, whatever the runtime image has.
root=${LAMBDA_TASK_ROOT:-$(dirname "$0")}
exec "$root/lib/LOADER" --library-path "$root/lib" "$root/bin/gg-worker" lambda
"#;

/// One file of the zip.
struct Entry {
    name: String,
    bytes: Vec<u8>,
    mode: u32,
}

/// The gg-worker beside this gg, else the one on PATH.
pub fn default_worker() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let beside = exe.with_file_name("gg-worker");
    if beside.is_file() {
        return Ok(beside);
    }
    gg_wrapper::toolchain::which("gg-worker").context("no gg-worker beside gg nor on PATH: give --worker PATH")
}

/// The zip's entries for `worker`: bootstrap, bin/gg-worker, lib/….
fn entries(worker: &Path) -> Result<Vec<Entry>> {
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("cannot read `{}`", p.display()));
    let interp = gg_wrapper::toolchain::interpreter_of(worker)
        .with_context(|| format!("`{}` is not a dynamically linked 64-bit ELF program", worker.display()))?;
    let loader = std::fs::canonicalize(&interp).with_context(|| format!("cannot find the loader `{interp}`"))?;
    let loader_name = file_name(Path::new(&interp))?;
    let mut out = vec![
        Entry { name: "bootstrap".into(), bytes: BOOTSTRAP.replace("LOADER", &loader_name).into_bytes(), mode: 0o755 },
        Entry { name: "bin/gg-worker".into(), bytes: read(worker)?, mode: 0o755 },
        Entry { name: format!("lib/{loader_name}"), bytes: read(&loader)?, mode: 0o755 },
    ];
    let libs = gg_wrapper::toolchain::loaded_libraries(worker);
    if libs.is_empty() {
        bail!("the loader lists no libraries for `{}`", worker.display());
    }
    for lib in libs {
        // Under the name the loader looks up, whatever file it leads to.
        out.push(Entry { name: format!("lib/{}", file_name(&lib)?), bytes: read(&lib)?, mode: 0o644 });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|a, b| a.name == b.name);
    Ok(out)
}

fn file_name(p: &Path) -> Result<String> {
    p.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .with_context(|| format!("no file name in `{}`", p.display()))
}

/// Writes the zip for `worker` to `out` (through a temp file: never a
/// truncated zip); returns the entries' names.
pub fn write(worker: &Path, out: &Path) -> Result<Vec<String>> {
    let entries = entries(worker)?;
    gg_core::fsutil::write_atomic_with(out, None, |file| {
        let mut zip = ZipWriter::new(file);
        for e in &entries {
            let options = SimpleFileOptions::default()
                .compression_method(CompressionMethod::Deflated)
                .last_modified_time(DateTime::default())
                .unix_permissions(e.mode);
            zip.start_file(e.name.as_str(), options).map_err(std::io::Error::other)?;
            zip.write_all(&e.bytes)?;
        }
        zip.finish().map_err(std::io::Error::other)?.sync_all()
    })
    .with_context(|| format!("cannot write `{}`", out.display()))?;
    Ok(entries.into_iter().map(|e| e.name).collect())
}
