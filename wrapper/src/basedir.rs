//! Hits across checkouts at different paths (`GG_BASEDIR`, `[cache]
//! base_dir`, as ccache's `base_dir`): in what the shared cache keeps, a
//! path under the base folder is written relative to it, so a checkout at
//! `/ci/x` and one at `/home/me/x` share entries.
//!
//! Only where the object cannot depend on the path. A compile keeps its
//! absolute key (and hits only at the same path) when:
//! - it has debug information and no `-ffile-prefix-map`/
//!   `-fdebug-prefix-map` maps the base folder or one above it;
//! - an input uses `__FILE__` or `__builtin_FILE` and no
//!   `-ffile-prefix-map`/`-fmacro-prefix-map` covers the base folder;
//! - the object, or what the compiler printed, holds the base folder's
//!   path anyway (a check of the bytes, whatever the reason);
//! - the user's depfile would still hold it after the rewrite.
//!
//! The depfile is the one output that names paths by design: it travels
//! with the base folder replaced by a mark, and is written back with the
//! receiving checkout's folder, which is what its compiler writes there.

use std::borrow::Cow;
use std::sync::OnceLock;

/// Stands for the base folder in what travels: a control character no
/// path or argument gg meets holds.
pub const MARK: &str = "\u{1}GG_BASEDIR\u{1}";

/// The base folder, if one is set and usable (absolute, not `/`, no
/// character a depfile would escape); a bad one is refused with a warning,
/// once per process.
pub fn base() -> Option<&'static str> {
    static BASE: OnceLock<Option<String>> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = gg_core::config::cache().ok()?.base_dir?;
        match usable(&dir) {
            Ok(d) => Some(d),
            Err(why) => {
                eprintln!("gg: warning: GG_BASEDIR `{dir}`: {why}; paths stay absolute in the shared cache");
                None
            }
        }
    })
    .as_deref()
}

/// `dir` without a trailing slash, or why it cannot be a base folder.
fn usable(dir: &str) -> Result<String, &'static str> {
    let d = dir.trim_end_matches('/');
    if !dir.starts_with('/') {
        return Err("not an absolute path");
    }
    if d.is_empty() {
        return Err("`/` would make every path relative");
    }
    if d.bytes().any(|b| matches!(b, b' ' | b'\t' | b'#' | b'$' | b':' | b'\\' | b'%' | b'\n' | 1)) {
        return Err("a path a depfile would escape (space, `#`, `$`, `:`, `\\`, `%`) cannot be rewritten exactly");
    }
    Ok(crate::path::normalize(d))
}

/// `s` with each path under `base` (the folder itself, or followed by
/// `/`, at the start of `s` or after a character no path name ends in
/// a folder with) written with [`MARK`] in its place.
pub fn relative<'a>(s: &'a str, base: &str) -> Cow<'a, str> {
    if !s.contains(base) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find(base) {
        let after = &rest[at + base.len()..];
        let ends = after.is_empty() || !after.starts_with(|c: char| c.is_alphanumeric() || "_-.+~@".contains(c));
        out.push_str(&rest[..at]);
        out.push_str(if ends { MARK } else { base });
        rest = after;
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// `s` with [`MARK`] replaced by `base`: what [`relative`] undoes.
pub fn absolute(s: &str, base: &str) -> String {
    s.replace(MARK, base)
}

/// The depfile layouts gg can write again (`gg_core::depfile`).
type Writer = fn(&[String], &[String], bool) -> String;
const LAYOUTS: [(&str, Writer); 2] = [("gcc", gg_core::depfile::write_gcc), ("clang", gg_core::depfile::write_clang)];

/// The depfile layout of a compiler family.
pub fn layout(family: crate::toolchain::Family) -> &'static str {
    match family {
        crate::toolchain::Family::Gcc => "gcc",
        crate::toolchain::Family::Clang => "clang",
    }
}

/// A depfile as it travels: the layout its compiler (`layout`) wrote it in
/// (its line breaks depend on the length of the paths), then its text with
/// the base folder marked. `None` if gg cannot write it again exactly.
pub fn depfile_travelling(text: &str, base: &str, layout: &str) -> Option<String> {
    let (targets, deps, phony) = rules(text)?;
    let (_, write) = LAYOUTS.iter().find(|(name, _)| *name == layout)?;
    (write(&targets, &deps, phony) == text).then(|| format!("{layout}\n{}", relative(text, base)))
}

/// The depfile its compiler writes where the base folder is `base`, from
/// what [`depfile_travelling`] made.
pub fn depfile_here(travelling: &str, base: &str) -> Option<String> {
    let (layout, marked) = travelling.split_once('\n')?;
    let (_, write) = LAYOUTS.iter().find(|(name, _)| *name == layout)?;
    let (targets, deps, phony) = rules(marked)?;
    let here = |v: Vec<String>| v.iter().map(|p| absolute(p, base)).collect::<Vec<_>>();
    Some(write(&here(targets), &here(deps), phony))
}

/// A depfile's targets, its dependencies and whether `-MP` added a rule
/// per header; `None` for any other shape.
fn rules(text: &str) -> Option<(Vec<String>, Vec<String>, bool)> {
    let mut rules = gg_core::depfile::parse(text).ok()?.into_iter();
    let first = rules.next()?;
    let rest: Vec<_> = rules.collect();
    let phony = !rest.is_empty();
    let each_header = rest.len() + 1 == first.deps.len()
        && rest.iter().zip(first.deps.iter().skip(1)).all(|(r, d)| r.deps.is_empty() && r.targets == [d.clone()]);
    (!phony || each_header).then_some((first.targets, first.deps, phony))
}

/// Whether the last `-g…` option asks for debug information.
fn debug_info(args: &[String]) -> bool {
    let mut on = false;
    for a in args {
        if a == "-g0" {
            on = false;
        } else if a.starts_with("-g") && !a.starts_with("-gno-") {
            // `-gz`, `-gsplit-dwarf`… alone count too: a miss is safe.
            on = true;
        }
    }
    on
}

/// Whether one of the `-fX-prefix-map=OLD=NEW` options in `kinds` maps
/// `base` or a folder above it.
fn mapped(args: &[String], base: &str, kinds: &[&str]) -> bool {
    args.iter().any(|a| {
        kinds.iter().any(|k| {
            let Some(map) = a.strip_prefix(k).and_then(|r| r.strip_prefix('=')) else { return false };
            let Some((old, _)) = map.split_once('=') else { return false };
            let old = old.trim_end_matches('/');
            !old.is_empty() && (base == old || base.strip_prefix(old).is_some_and(|r| r.starts_with('/')))
        })
    })
}

/// Why this compile's object may hold the base folder's path, judged by
/// its arguments; `None` if they keep it out.
pub fn args_tie_to_path(args: &[String], base: &str) -> Option<&'static str> {
    (debug_info(args) && !mapped(args, base, &["-ffile-prefix-map", "-fdebug-prefix-map"]))
        .then_some("debug information without a prefix map covering GG_BASEDIR")
}

/// Whether `__FILE__` in its inputs would put the base folder's path in
/// the object (no map for macros covers it).
pub fn file_macro_ties_to_path(args: &[String], base: &str) -> bool {
    !mapped(args, base, &["-ffile-prefix-map", "-fmacro-prefix-map"])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn paths_under_the_base_are_marked_and_come_back_under_another() {
        let b = "/ci/x";
        assert_eq!(relative("-I/ci/x/include", b), format!("-I{MARK}/include"));
        assert_eq!(relative("/ci/x", b), MARK);
        assert_eq!(relative("-ffile-prefix-map=/ci/x=.", b), format!("-ffile-prefix-map={MARK}=."));
        // A sibling whose name starts like the base is another folder.
        assert_eq!(relative("/ci/xy/a.c /ci/x.old/a.c", b), "/ci/xy/a.c /ci/x.old/a.c");
        assert!(matches!(relative("/usr/include/stdio.h", b), Cow::Borrowed(_)));
        let text = "a.o: /ci/x/src/a.c /ci/x/include/a.h \\\n /usr/include/stdio.h\n";
        let moved = absolute(&relative(text, b), "/home/me/x");
        assert_eq!(moved, "a.o: /home/me/x/src/a.c /home/me/x/include/a.h \\\n /usr/include/stdio.h\n");
    }

    #[test]
    fn a_depfile_moved_to_another_base_is_laid_out_as_its_compiler_would_there() {
        let deps = |root: &str| -> Vec<String> {
            vec![format!("{root}/src/a.c"), "/usr/include/stdc-predef.h".into(), format!("{root}/inc/v.h")]
        };
        for (name, write) in LAYOUTS {
            for phony in [false, true] {
                let at_ci = write(&["a.o".into()], &deps("/ci/x"), phony);
                let travelling = depfile_travelling(&at_ci, "/ci/x", name).unwrap();
                let moved = depfile_here(&travelling, "/home/someone/x").unwrap();
                let there = write(&["a.o".into()], &deps("/home/someone/x"), phony);
                assert_eq!(moved, there, "{name}, -MP {phony}");
                assert_ne!(at_ci.matches('\n').count(), 0);
            }
        }
        // A layout gg does not write (hand-made spacing) does not travel.
        assert_eq!(depfile_travelling("a.o:   /ci/x/a.c\n", "/ci/x", "gcc"), None);
        assert_eq!(depfile_travelling("a.o: /ci/x/a.c \\\n  /ci/x/b.h\n", "/ci/x", "gcc"), None, "clang's");
    }

    #[test]
    fn a_base_folder_is_absolute_and_depfile_safe() {
        assert_eq!(usable("/ci/x/").unwrap(), "/ci/x");
        assert!(usable("ci/x").is_err());
        assert!(usable("/").is_err());
        assert!(usable("/ci/my x").is_err());
        assert!(usable("/ci/a:b").is_err());
    }

    #[test]
    fn debug_information_needs_a_map_over_the_base_and_file_needs_a_macro_map() {
        let b = "/ci/x";
        assert_eq!(args_tie_to_path(&args(&["-O2", "-c", "a.c"]), b), None);
        assert!(args_tie_to_path(&args(&["-g", "-O2"]), b).is_some());
        assert_eq!(args_tie_to_path(&args(&["-g", "-g0"]), b), None, "the last one counts");
        assert_eq!(args_tie_to_path(&args(&["-g", "-ffile-prefix-map=/ci/x=."]), b), None);
        assert_eq!(args_tie_to_path(&args(&["-g", "-fdebug-prefix-map=/ci=/src"]), b), None, "a folder above");
        assert!(args_tie_to_path(&args(&["-g", "-fdebug-prefix-map=/ci/x/build=."]), b).is_some(), "only below");
        assert!(args_tie_to_path(&args(&["-g", "-fmacro-prefix-map=/ci/x=."]), b).is_some(), "macros only");
        assert!(file_macro_ties_to_path(&args(&["-fdebug-prefix-map=/ci/x=."]), b));
        assert!(!file_macro_ties_to_path(&args(&["-fmacro-prefix-map=/ci/x=."]), b));
        assert!(!file_macro_ties_to_path(&args(&["-ffile-prefix-map=/ci/x/=."]), b));
    }
}
