//! Build-system probes: the test compiles a configure step runs to learn
//! what the compiler accepts. They run the real compiler in place,
//! unchanged, and are counted under [`PROBE`]; nothing is recorded.
//!
//! Meson runs each probe in a fresh `meson-private/tmpXXXXXXXX/` folder,
//! CMake in `CMakeFiles/CMakeScratch/TryCompile-XXXXXX/` (before 3.24,
//! `CMakeFiles/CMakeTmp/`). The working directory and the paths on the
//! command line are part of the direct-mode key, so a recorded probe would
//! miss on every configure and leave a manifest, a reduction and an object
//! that nothing ever reads again. autoconf's `conftest.c` sits in a stable
//! folder but is one throwaway program per check, and counting its
//! hundreds of compiles as misses would hide the hit rate of the build
//! itself. Caching probes by content alone would need every path they
//! name rewritten; they are small, so compiling them costs little.

use std::path::{Component, Path};

use crate::args::Compile;

/// The reason every probe is counted under.
pub const PROBE: &str = "build-system probe (meson/CMake scratch folder, autoconf conftest)";

/// Whether `compile`, run in `cwd`, is a build-system probe: its source is
/// a `conftest.*`, or the working directory, the source or the output
/// lies in a Meson or CMake scratch folder.
pub fn is_probe(compile: &Compile, cwd: &Path) -> bool {
    if Path::new(&compile.source).file_stem().is_some_and(|s| s == "conftest") {
        return true;
    }
    let absolute = |p: &str| crate::path::normalize(&cwd.join(p).to_string_lossy());
    in_scratch_folder(cwd)
        || in_scratch_folder(Path::new(&absolute(&compile.source)))
        || in_scratch_folder(Path::new(&absolute(&compile.output_path())))
}

/// Whether `path` lies in (or is) a folder Meson or CMake makes afresh
/// for each probe.
fn in_scratch_folder(path: &Path) -> bool {
    let parts: Vec<&str> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => n.to_str(),
            _ => None,
        })
        .collect();
    parts.windows(2).any(|pair| match pair {
        ["meson-private", dir] => dir.starts_with("tmp"),
        ["CMakeFiles", dir] => *dir == "CMakeScratch" || *dir == "CMakeTmp",
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{classify, Classified};

    fn compile(line: &str) -> Compile {
        let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        match classify(&words) {
            Classified::Compile(c) => c,
            Classified::Local(why) => panic!("`{line}` runs locally: {why}"),
        }
    }

    #[test]
    fn meson_probes_are_found_by_their_working_directory_or_their_paths() {
        let c = compile("-c testfile.c -o output.obj");
        assert!(is_probe(&c, Path::new("/src/build/meson-private/tmpk2x9_a0q")));
        let c = compile(
            "-c /src/build/meson-private/tmpk2x9_a0q/testfile.c -o /src/build/meson-private/tmpk2x9_a0q/output.obj",
        );
        assert!(is_probe(&c, Path::new("/src/build")));
    }

    #[test]
    fn cmake_try_compiles_old_and_new_are_probes() {
        let c =
            compile("-c /src/build/CMakeFiles/CMakeScratch/TryCompile-a1b2c3/src.c -o CMakeFiles/cmTC_1.dir/src.c.o");
        assert!(is_probe(&c, Path::new("/src/build/CMakeFiles/CMakeScratch/TryCompile-a1b2c3")));
        let c = compile("-c /src/check.c -o CMakeFiles/cmTC_2.dir/check.c.o");
        assert!(is_probe(&c, Path::new("/src/build/CMakeFiles/CMakeTmp")), "found by the working directory");
        assert!(!is_probe(&c, Path::new("/src/build")));
    }

    #[test]
    fn an_autoconf_conftest_is_a_probe_wherever_it_is() {
        assert!(is_probe(&compile("-c -g -O2 conftest.c"), Path::new("/src/hello-2.12")));
        assert!(is_probe(&compile("-c conftest.cpp"), Path::new("/src/hello-2.12/build")));
    }

    #[test]
    fn ordinary_compiles_are_not_probes_even_beside_scratch_folders() {
        for (line, cwd) in [
            ("-c src/main.c -o main.o", "/src/proj/build"),
            ("-c ../src/tmp/a.c -o a.o", "/src/proj/build"),
            ("-c ../../src/a.c -o a.o", "/src/proj/meson-private"),
            ("-c meson-private/tmpx/../../a.c -o a.o", "/src/proj/build"),
            ("-c CMakeFiles/z.dir/a.c -o CMakeFiles/z.dir/a.c.o", "/src/proj/build"),
            ("-c conftest_helpers.c", "/src/proj"),
        ] {
            assert!(!is_probe(&compile(line), Path::new(cwd)), "`{line}` in {cwd}");
        }
    }
}
