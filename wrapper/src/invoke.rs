//! Which real compiler a gg-cc call means: `gg-cc COMPILER ARGS…` (ccache
//! style), `gg-cc ARGS…` (the `cc` on PATH), or a masquerade link named
//! like the compiler (`gcc`, `g++-12`…), which runs the next program of
//! that name on PATH that is not gg-cc itself.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// A resolved call: the real compiler and its arguments. The compiler is
/// started with its absolute path as argv\[0\]: gcc finds its own parts
/// from argv\[0\], which through PATH could lead back to a masquerade link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Absolute path of the real compiler.
    pub compiler: PathBuf,
    /// argv\[0\] to give it (the name the user used).
    pub arg0: String,
    pub args: Vec<String>,
}

/// Names gg-cc answers to when it is not called `gg-cc`.
pub fn is_compiler_name(name: &str) -> bool {
    if name.starts_with("gg-") {
        return false;
    }
    // Drop a version suffix (`gcc-12`), then a target prefix
    // (`x86_64-linux-gnu-gcc`).
    let mut n = name;
    if let Some((head, tail)) = n.rsplit_once('-') {
        if !tail.is_empty() && tail.chars().all(|c| c.is_ascii_digit() || c == '.') {
            n = head;
        }
    }
    let last = n.rsplit('-').next().unwrap_or(n);
    matches!(last, "cc" | "gcc" | "g++" | "c++" | "clang" | "clang++")
}

/// Whether the compiler at `path` is a C++ driver (`g++`, `c++`,
/// `clang++-14`, `x86_64-linux-gnu-g++-12`): one that compiles `.c` and
/// `.i` files as C++. gcc builds such a driver apart; clang tells by the
/// name it is called by. Either way the name says it.
pub fn is_cxx_driver(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n.to_string_lossy().contains("++"))
}

/// Resolves `argv` (argv\[0\] included).
pub fn resolve(argv: &[String]) -> Result<Invocation> {
    let me = fs::canonicalize("/proc/self/exe").ok();
    let arg0 = argv.first().cloned().unwrap_or_else(|| "gg-cc".into());
    let name = Path::new(&arg0).file_name().map_or_else(|| arg0.clone(), |n| n.to_string_lossy().into_owned());
    if name != "gg-cc" && !name.starts_with("gg-cc") {
        // Masquerade: run the next `name` on PATH that is not us.
        let Some(compiler) = find_not_self(&name, me.as_deref()) else {
            bail!("no `{name}` on PATH other than gg-cc itself");
        };
        return Ok(Invocation { arg0: compiler.to_string_lossy().into_owned(), compiler, args: argv[1..].to_vec() });
    }
    if let Some(first) = argv.get(1) {
        if !first.starts_with('-') && looks_like_compiler(first) {
            let Some(compiler) = find_not_self(first, me.as_deref()) else {
                bail!("compiler `{first}` not found (or it is gg-cc itself)");
            };
            return Ok(Invocation {
                arg0: compiler.to_string_lossy().into_owned(),
                compiler,
                args: argv[2..].to_vec(),
            });
        }
    }
    let Some(compiler) = find_not_self("cc", me.as_deref()) else { bail!("no `cc` on PATH") };
    Ok(Invocation { arg0: compiler.to_string_lossy().into_owned(), compiler, args: argv[1..].to_vec() })
}

/// A first argument names the compiler if it is a path or a compiler-like
/// name and not a source file.
fn looks_like_compiler(word: &str) -> bool {
    let base = Path::new(word).file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let is_source = Path::new(word).extension().is_some_and(|e| {
        matches!(e.to_str(), Some("c" | "cc" | "cpp" | "cxx" | "C" | "S" | "s" | "i" | "ii" | "o" | "a" | "so"))
    });
    !is_source && (is_compiler_name(&base) || (word.contains('/') && Path::new(word).is_file()))
}

/// `name` (a path, or searched on PATH), skipping anything that is gg-cc.
pub fn find_not_self(name: &str, me: Option<&Path>) -> Option<PathBuf> {
    let is_me = |p: &Path| {
        let Some(me) = me else { return false };
        match (fs::canonicalize(p), fs::metadata(me)) {
            (Ok(real), Ok(mine)) => {
                real == me || fs::metadata(&real).is_ok_and(|m| m.ino() == mine.ino() && m.dev() == mine.dev())
            }
            _ => false,
        }
    };
    if name.contains('/') {
        let p = fs::canonicalize(name).ok()?;
        return (!is_me(&p)).then_some(std::path::absolute(name).unwrap_or(p));
    }
    // Every executable of that name on PATH, in order: the first that is
    // not gg-cc itself.
    let path = std::env::var_os("PATH")?;
    ::which::which_in_all(name, Some(path), cwd_or_root())
        .ok()?
        .find(|p| !is_me(p))
        .map(|p| std::path::absolute(&p).unwrap_or(p))
}

/// The working folder, for resolving relative PATH entries (`/` if it is
/// gone).
pub(crate) fn cwd_or_root() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiler_names_are_recognised() {
        for n in ["cc", "gcc", "g++", "c++", "clang", "clang++", "gcc-12", "clang-14", "x86_64-linux-gnu-gcc-12"] {
            assert!(is_compiler_name(n), "{n}");
        }
        for n in ["ld", "make", "gg-cc", "ccache", "a.c"] {
            assert!(!is_compiler_name(n), "{n}");
        }
        for n in ["g++", "/usr/bin/c++", "clang++-14", "x86_64-linux-gnu-g++-12"] {
            assert!(is_cxx_driver(Path::new(n)), "{n}");
        }
        for n in ["gcc", "/usr/bin/cc", "clang-14", "x86_64-linux-gnu-gcc-12"] {
            assert!(!is_cxx_driver(Path::new(n)), "{n}");
        }
    }

    #[test]
    fn the_first_argument_is_the_compiler_only_when_it_names_one() {
        assert!(looks_like_compiler("gcc"));
        assert!(looks_like_compiler("/usr/bin/gcc"));
        assert!(!looks_like_compiler("main.c"));
        assert!(!looks_like_compiler("-c"));
    }
}
