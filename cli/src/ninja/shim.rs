//! `gg install-ninja-shim DIR`: a `ninja` for the front of `PATH` that runs
//! `gg ninja` for `ninja -t gg …` and the real ninja for everything else,
//! so that `ninja -t gg` works wherever a build calls ninja by name. With
//! `GG_NINJA=1` in the environment every build (`ninja`, `ninja -j8 -v`,
//! `ninja install`) goes to `gg ninja` too, while tools (`-t compdb`…) and
//! `--version` still reach the real ninja: how a package build that runs
//! `ninja` itself (debhelper, meson, CMake's build tool) is pointed at gg
//! without changing its rules.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, Result};

/// The shim: finds `-t gg` among the arguments; otherwise runs the first
/// `ninja` on PATH that is not itself.
fn script(gg: &Path) -> String {
    format!(
        r#"#!/bin/sh
# Installed by `gg install-ninja-shim`: `ninja -t gg ARGS` runs `gg ninja ARGS`;
# with GG_NINJA=1 so does every build without -t; anything else runs the
# real ninja.
gg='{gg}'
n=$#
i=0
found=
tool=
while [ $i -lt $n ]; do
    a=$1; shift; i=$((i + 1))
    case $a in -t*|--version|-h|--help) tool=1 ;; esac
    if [ -z "$found" ] && [ "$a" = -t ] && [ "${{1-}}" = gg ]; then
        shift; i=$((i + 1)); found=1; continue
    fi
    if [ -z "$found" ] && [ "$a" = -tgg ]; then found=1; continue; fi
    set -- "$@" "$a"
done
if [ -n "$found" ]; then exec "$gg" ninja "$@"; fi
if [ "${{GG_NINJA-}}" = 1 ] && [ -z "$tool" ]; then exec "$gg" ninja "$@"; fi
me=$(cd "$(dirname "$0")" && pwd -P)/$(basename "$0")
IFS=:
for d in $PATH; do
    [ -x "$d/ninja" ] || continue
    real=$(cd "$d" && pwd -P)/ninja
    [ "$real" = "$me" ] && continue
    exec "$d/ninja" "$@"
done
echo "ninja: no real ninja on PATH besides the gg shim" >&2
exit 127
"#,
        gg = gg.display()
    )
}

pub fn install(dir: &Path) -> Result<()> {
    let gg = std::env::current_exe().context("cannot find the gg binary")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let path = dir.join("ninja");
    gg_core::fsutil::write_atomic(&path, script(&gg).as_bytes())
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make `{}` executable", path.display()))?;
    println!("{}", path.display());
    Ok(())
}
