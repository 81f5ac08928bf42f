//! Classification cases from what CMake, autotools, Meson and the Linux
//! kernel's Makefiles pass.

use super::*;
use crate::args::QUERY;

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

fn compile(s: &str) -> Compile {
    match classify(&words(s)) {
        Classified::Compile(c) => c,
        Classified::Local(why) => panic!("`{s}` should be a compile, not local: {why}"),
    }
}

fn local_reason(s: &str) -> String {
    match classify(&words(s)) {
        Classified::Local(why) => why,
        Classified::Compile(c) => panic!("`{s}` should run locally, got {c:?}"),
    }
}

#[test]
fn a_cmake_compile_line_is_a_compile_with_its_depfile_request() {
    let c = compile("-DFOO -I/src/inc -isystem /opt/inc -O2 -g -std=gnu11 -MD -MT CMakeFiles/z.dir/a.c.o -MF CMakeFiles/z.dir/a.c.o.d -o CMakeFiles/z.dir/a.c.o -c /src/a.c");
    assert_eq!(c.source, "/src/a.c");
    assert_eq!(c.lang, Lang::C);
    assert_eq!(c.mode, Mode::Object);
    assert_eq!(c.output.as_deref(), Some("CMakeFiles/z.dir/a.c.o"));
    let d = c.deps.unwrap();
    assert!(!d.user_only && !d.via_wp && !d.phony);
    assert_eq!(d.file.as_deref(), Some("CMakeFiles/z.dir/a.c.o.d"));
    assert_eq!(d.targets, vec![("CMakeFiles/z.dir/a.c.o".to_string(), false)]);
    assert_eq!(c.args, words("-DFOO -I/src/inc -isystem /opt/inc -O2 -g -std=gnu11 -c /src/a.c"));
    assert_eq!(c.args[c.source_index], "/src/a.c");
}

#[test]
fn autotools_and_kernel_depfile_forms_are_understood() {
    let c = compile("-DHAVE_CONFIG_H -I. -g -O2 -MT lapi.o -MD -MP -MF .deps/lapi.Tpo -c -o lapi.o lapi.c");
    let d = c.deps.unwrap();
    assert!(d.phony);
    assert_eq!(d.file.as_deref(), Some(".deps/lapi.Tpo"));
    let k = compile("-Wp,-MMD,fs/.inode.o.d -nostdinc -Iinclude -c -o fs/inode.o fs/inode.c");
    let d = k.deps.unwrap();
    assert!(d.via_wp && d.user_only);
    assert_eq!(d.file.as_deref(), Some("fs/.inode.o.d"));
    assert!(!k.args.iter().any(|a| a.starts_with("-Wp")), "{:?}", k.args);
}

#[test]
fn joined_and_separate_arguments_are_not_mistaken_for_sources() {
    let c = compile("-include config.h -imacros m.h -I inc -Iinc2 -x c -c weird.src -o out.o -Xclang -fno-pch");
    assert_eq!(c.source, "weird.src");
    assert_eq!(c.lang, Lang::C, "-x c applies to the source after it");
    assert_eq!(c.input_files, vec!["config.h", "m.h"]);
    let c = compile("-c a.cpp -ofoo.o");
    assert_eq!((c.lang, c.output.as_deref()), (Lang::Cxx, Some("foo.o")));
}

#[test]
fn languages_follow_the_extension() {
    for (src, lang) in [
        ("a.c", Lang::C),
        ("a.cc", Lang::Cxx),
        ("a.C", Lang::Cxx),
        ("a.S", Lang::AsmCpp),
        ("a.s", Lang::Asm),
        ("a.i", Lang::PreprocessedC),
    ] {
        assert_eq!(compile(&format!("-c {src}")).lang, lang, "{src}");
    }
    // A C++ driver reads `.c` and `.i` as C++, unless `-x` says otherwise.
    let cxx = |line: &str| match classify_for(&line.split_whitespace().map(str::to_string).collect::<Vec<_>>(), true) {
        Classified::Compile(c) => c.lang,
        Classified::Local(why) => panic!("`{line}` runs locally: {why}"),
    };
    assert_eq!(cxx("-c a.c"), Lang::Cxx);
    assert_eq!(cxx("-c a.i"), Lang::PreprocessedCxx);
    assert_eq!(cxx("-c a.S"), Lang::AsmCpp);
    assert_eq!(cxx("-x c -c a.c"), Lang::C);
    assert_eq!(compile("-S a.c").mode, Mode::Assembly);
    assert_eq!(compile("-S a.c").output_path(), "a.s");
    assert_eq!(compile("-c dir/a.c").output_path(), "a.o");
}

#[test]
fn calls_gg_cannot_cache_run_locally_with_a_reason() {
    for (line, needle) in [
        ("a.o b.o -o prog", "linking"),
        ("a.c -o prog", "linking"),
        ("-E a.c", "-E"),
        ("-M a.c", "dependencies only"),
        ("-MM -c a.c", "dependencies only"),
        ("-c -", "stdin"),
        ("-c a.c b.c", "several source files"),
        ("-c -march=native a.c", "-march=native"),
        ("-c -mtune=native a.c", "-mtune=native"),
        ("-c a.f90", "unsupported language"),
        ("-c -x fortran a.src", "unsupported language"),
        ("-c -save-temps a.c", "-save-temps"),
        ("-c --coverage a.c", "coverage"),
        ("-c -gsplit-dwarf a.c", "-gsplit-dwarf"),
        ("-c a.c -o", "missing its argument"),
        ("-c", "no source"),
        ("-S -o - a.c", "stdout"),
        ("-c -fprofile-use a.c", "profile"),
        ("-c -fprofile-generate a.c", "profile"),
        ("-c -fstack-usage a.c", "extra files"),
        ("-c -fdump-tree-all a.c", "extra files"),
        ("-c -fsyntax-only a.c", "-fsyntax-only"),
        ("-c -fplugin=./p.so a.c", "plugin"),
        ("-c -B /opt/bin/ a.c", "-B"),
        ("-c -flto a.c", "-flto"),
        ("-c -m32 a.c", "include folders"),
        ("-c --sysroot=/sr a.c", "include folders"),
        ("-c -target aarch64-linux-gnu a.c", "include folders"),
    ] {
        let why = local_reason(line);
        assert!(why.contains(needle), "`{line}`: `{why}` should mention `{needle}`");
    }
}

#[test]
fn unknown_options_pass_through() {
    let c = compile("-c -fsome-future-flag --weird=1 -Wmystery a.c");
    assert_eq!(c.args, words("-c -fsome-future-flag --weird=1 -Wmystery a.c"));
}

#[test]
fn every_query_form_is_counted_as_a_query_not_as_a_link_or_an_error() {
    for line in [
        "-dumpmachine",
        "-dumpversion",
        "-dumpfullversion",
        "-dumpspecs",
        "--version",
        "-print-file-name=libc.so",
        "-print-prog-name=as",
        "-print-search-dirs",
        "-print-multiarch",
        "-print-libgcc-file-name",
        "-print-multi-os-directory",
        "--print-file-name=libc.so",
        "-print-resource-dir",
        "-v",
        "-V",
        "-qversion",
        "-version",
        "-###",
        "--help",
        "--help=optimizers",
        "--target-help",
    ] {
        assert_eq!(local_reason(line), QUERY, "`{line}`");
    }
}

#[test]
fn a_query_option_wins_over_what_would_otherwise_run_locally() {
    for line in
        ["-E a.c --version", "-c -march=native a.c -dumpmachine", "-o prog a.o -print-search-dirs", "-c a.c -###"]
    {
        assert_eq!(local_reason(line), QUERY, "`{line}`");
    }
    assert_eq!(local_reason("-V 12 -c a.c"), QUERY, "gcc and clang reject -V with an argument too");
}

#[test]
fn verbose_calls_that_build_something_are_not_queries() {
    assert_eq!(compile("-v -c a.c").source, "a.c");
    assert!(local_reason("-v a.o -o prog").contains("linking"));
    assert!(local_reason("-v -c -").contains("stdin"));
    assert_eq!(compile("-c a.c -o --version").output.as_deref(), Some("--version"));
}

#[test]
fn the_arguments_of_dumpbase_and_dumpdir_are_not_sources() {
    let c = compile("-c a.c -dumpbase a -dumpbase-ext .c -dumpdir obj/ -o obj/a.o");
    assert_eq!(c.source, "a.c");
    assert_eq!(c.args, words("-c a.c -dumpbase a -dumpbase-ext .c -dumpdir obj/"));
}
