use std::fs;
use std::path::Path;
use std::process::Command;

use gg_core::{Name, OutputRef};

use super::driver::*;
use super::options::*;
use super::script::*;
use super::search::*;
use super::*;
use crate::tool::tests::force;
use gg_wrapper::toolchain;

fn thunk_or_reason(store: &Store, command: &str, cwd: &Path, inputs: &dyn Fn(&str) -> Input) -> Result<Linked, String> {
    match link_thunk(store, command, cwd, inputs).unwrap() {
        Model::Thunk(l) => Ok(l),
        Model::Local(why) => Err(why),
    }
}

fn sh(dir: &Path, script: &str) {
    let out = Command::new("sh").args(["-c", script]).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A small C project: two objects for an archive, a program using them
/// and libm, a shared library needing libm, a program using only it.
fn project(dir: &Path) {
    let files = [
        ("a.c", "int a(void) { return 1; }\n"),
        ("b.c", "#include <math.h>\nint b(double x) { return (int)floor(x); }\n"),
        ("t.c", "#include <stdio.h>\n#include <math.h>\nint a(void); int b(double);\nint main(int c, char **v) { printf(\"%d %f\\n\", a() + b(2.5), sqrt(c)); return 0; }\n"),
        ("y.c", "#include <math.h>\ndouble y(double x) { return sin(x) + cos(x); }\n"),
        ("u.c", "#include <stdio.h>\ndouble y(double);\nint main(void) { printf(\"%f\\n\", y(1)); return 0; }\n"),
    ];
    for (name, text) in files {
        fs::write(dir.join(name), text).unwrap();
    }
    sh(dir, "mkdir -p obj && for f in a b t u; do gcc -O2 -g -c $f.c -o obj/$f.o || exit 1; done && gcc -O2 -g -fPIC -c y.c -o obj/y.o && ar qc libab.a obj/a.o obj/b.o");
}

#[test]
fn forced_links_make_the_program_and_library_a_direct_link_makes() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    project(dir);
    let store = Store::open(dir.join(".gg")).unwrap();
    let rpath = dir.display().to_string();
    let cases = [
        format!(": && /usr/bin/cc -O2 -g obj/t.o -o t -Wl,-rpath,{rpath} libab.a -lm && :"),
        "cc -fPIC -O2 -g -shared -Wl,-soname,liby.so.1 -o liby.so.1.0 obj/y.o -lm".to_string(),
        "cc -O2 -static obj/t.o libab.a -lm -o t-static".to_string(),
        "g++ -O2 obj/t.o libab.a -o t-cxx".to_string(),
        "cc obj/t.o -L. -lab -Wl,--as-needed -lm -Wl,-z,relro,-z,now -o t-l".to_string(),
    ];
    for command in &cases {
        let linked =
            thunk_or_reason(&store, command, dir, &|_| Input::File).unwrap_or_else(|why| panic!("{command}: {why}"));
        let out = dir.join(&linked.outputs[0]);
        sh(dir, command);
        let direct = fs::read(&out).unwrap();
        fs::remove_file(&out).unwrap();
        let forced = force(&store, &linked.thunk).unwrap_or_else(|e| panic!("{command}: {e}"));
        assert!(forced == direct, "{command}: the forced output differs from the direct link");
    }
}

#[test]
fn every_file_ld_traces_is_an_object_of_the_thunk() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    project(dir);
    let store = Store::open(dir.join(".gg")).unwrap();
    for command in ["cc -O2 obj/t.o libab.a -lm -o t", "g++ -static obj/t.o libab.a -o t-static"] {
        let linked = thunk_or_reason(&store, command, dir, &|_| Input::File).unwrap();
        let paths: Vec<&str> =
            linked.thunk.values.iter().chain(&linked.thunk.executables).map(|o| o.path.as_str()).collect();
        let out = Command::new("sh").args(["-c", &format!("{command} -Wl,--trace")]).current_dir(dir).output().unwrap();
        assert!(out.status.success());
        let traced = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(traced.lines().count() > 5, "{traced}");
        for file in traced.lines() {
            let at = tool::sandbox_path(&tool::absolute(dir, file.trim()));
            assert!(paths.contains(&at.as_str()), "{command}: ld opens `{file}`, which the thunk lacks");
        }
    }
}

#[test]
fn a_program_links_against_a_shared_library_another_thunk_makes() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    project(dir);
    let store = Store::open(dir.join(".gg")).unwrap();
    let make_lib = "cc -fPIC -O2 -g -shared -Wl,-soname,liby.so.1 -o liby.so.1.0 obj/y.o -lm";
    let lib = thunk_or_reason(&store, make_lib, dir, &|_| Input::File).unwrap();
    let info = lib.library.clone().expect("a shared library reports what it needs");
    assert_eq!(info.soname.as_deref(), Some("liby.so.1"));
    assert!(info.needed.iter().any(|n| n == "libm.so.6") && info.needed.iter().any(|n| n == "libc.so.6"), "{info:?}");
    let lib_name = store.put_thunk(&lib.thunk).unwrap();
    let made = OutputRef::first(lib_name);
    // The program does not name libm: ld finds it through liby's DT_NEEDED.
    let use_lib = format!("cc -O2 obj/u.o -o u liby.so.1.0 -Wl,-rpath,{}", dir.display());
    let inputs = |p: &str| match p {
        "liby.so.1.0" => Input::SharedLibrary(made.clone(), info.clone()),
        _ => Input::File,
    };
    let program = thunk_or_reason(&store, &use_lib, dir, &inputs).unwrap();
    assert!(program.library.is_none());
    assert_eq!(program.thunk.thunks.len(), 1, "liby comes from its thunk");
    let libm = program.thunk.values.iter().chain(&program.thunk.executables).any(|o| o.path.ends_with("/libm.so.6"));
    assert!(libm, "ld looks for liby's libm.so.6: the thunk must hold it");
    let without_info = |p: &str| match p {
        "liby.so.1.0" => Input::Output(made.clone()),
        _ => Input::File,
    };
    let why = thunk_or_reason(&store, &use_lib, dir, &without_info).unwrap_err();
    assert!(why.contains("what it needs is unknown"), "{why}");

    sh(dir, &format!("{make_lib} && {use_lib}"));
    let direct = fs::read(dir.join("u")).unwrap();
    let forced = force(&store, &program.thunk).unwrap();
    assert!(forced == direct, "the forced program differs from the direct link");
    assert!(force(&store, &lib.thunk).unwrap() == fs::read(dir.join("liby.so.1.0")).unwrap());
}

#[test]
fn links_gg_does_not_model_run_locally_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    project(dir);
    let store = Store::open(dir.join(".gg")).unwrap();
    let made = OutputRef::first(Name::of_value(b"x").with_kind(gg_core::Kind::Thunk));
    let cases = [
        ("cc obj/t.o -o t | tee log", "shell operator"),
        ("cc obj/t.o -o t && strip t", "2 steps"),
        ("cc -c a.c -o a.o", "not a link"),
        ("cc a.c -o a", "runs 3 programs"),
        ("cc -flto obj/t.o libab.a -lm -o t", "LTO"),
        ("cc -fuse-ld=gold obj/t.o libab.a -lm -o t", "-fuse-ld"),
        ("cc obj/t.o libab.a -lm -Wl,@link.rsp -o t", "response file"),
        ("cc @args", "response file"),
        ("cc obj/t.o libab.a -lm -Wl,-Map,t.map -o t", "link map"),
        ("cc obj/t.o libab.a -lm -Wl,--frobnicate -o t", "linker option `--frobnicate`"),
        ("cc obj/t.o libab.a -lm -Wl,--sysroot=/ -o t", "--sysroot"),
        ("cc obj/t.o libab.a -lm -Wl,--trace -o t", "--trace"),
        ("cc obj/t.o libab.a -lm -lnosuchlibrary -o t", "-lnosuchlibrary is not found"),
        ("cc obj/t.o missing.a -o t", "`missing.a` does not exist"),
        ("cc --no-such-option-gg obj/t.o -o t", "fails"),
        ("cc obj/t.o libab.a -lm -B/tmp -o t", "-B"),
        ("cc obj/t.o libab.a -lm -Wl,-T,nosuch.ld -o t", "does not exist"),
        ("no-such-compiler-gg obj/t.o -o t", "not found"),
        ("/bin/cp obj/t.o t", "not the gcc driver"),
    ];
    for (command, why) in cases {
        let reason = thunk_or_reason(&store, command, dir, &|_| Input::File).unwrap_err();
        assert!(reason.starts_with("link: ") && reason.contains(why), "{command}: {reason:?}, expected {why:?}");
    }
    if toolchain::which("clang").is_some() {
        let reason = thunk_or_reason(&store, "clang obj/t.o -o t", dir, &|_| Input::File).unwrap_err();
        assert!(reason.contains("not the gcc driver"), "{reason}");
    }
    let shared_output = |p: &str| if p == "liby.so" { Input::Output(made.clone()) } else { Input::File };
    let reason = thunk_or_reason(&store, "cc obj/u.o liby.so -o u", dir, &shared_output).unwrap_err();
    assert!(reason.contains("shared library made in this build"), "{reason}");
}

#[test]
fn the_option_tables_are_sorted() {
    assert!(LONG.windows(2).all(|w| w[0].0 < w[1].0), "LONG must be sorted and without duplicates");
    assert!(SHORT.windows(2).all(|w| w[0].0 < w[1].0), "SHORT must be sorted and without duplicates");
}

#[test]
fn gcc_command_lines_split_with_their_quotes() {
    let line = r#" /usr/lib/gcc/x86_64-linux-gnu/12/collect2 -plugin /p.so "-plugin-opt=-fresolution=/tmp/cc1.res" "--hash-style=gnu" "a \"b\" \$c\\d" """#;
    assert_eq!(
        split_gcc_line(line),
        [
            "/usr/lib/gcc/x86_64-linux-gnu/12/collect2",
            "-plugin",
            "/p.so",
            "-plugin-opt=-fresolution=/tmp/cc1.res",
            "--hash-style=gnu",
            "a \"b\" $c\\d",
            "",
        ]
    );
}

#[test]
fn a_kept_driver_link_rests_on_the_installation_files_it_names_not_on_the_links_own() {
    let text = concat!(
        "Using built-in specs.\n",
        r#" /usr/lib/gcc/x86_64-linux-gnu/12/collect2 -plugin /usr/lib/gcc/x86_64-linux-gnu/12/liblto_plugin.so "#,
        r#""-plugin-opt=/usr/lib/gcc/x86_64-linux-gnu/12/lto-wrapper" "-plugin-opt=-fresolution=/tmp/cc1.res" "#,
        r#"-o /b/prog /usr/lib/x86_64-linux-gnu/Scrt1.o -L/usr/lib/gcc/x86_64-linux-gnu/12 -L/b/lib "#,
        r#"/b/a.o -rpath /b/lib -lm"#,
        "\nCOLLECT_GCC_OPTIONS='-o' '/b/prog'\n",
    );
    let args: Vec<String> =
        ["-o", "/b/prog", "/b/a.o", "-L/b/lib", "-Wl,-rpath,/b/lib", "-lm"].iter().map(|a| a.to_string()).collect();
    assert_eq!(
        installation_files(&commands_of(text), &args),
        [
            "/usr/lib/gcc/x86_64-linux-gnu/12",
            "/usr/lib/gcc/x86_64-linux-gnu/12/collect2",
            "/usr/lib/gcc/x86_64-linux-gnu/12/liblto_plugin.so",
            "/usr/lib/gcc/x86_64-linux-gnu/12/lto-wrapper",
            "/usr/lib/x86_64-linux-gnu/Scrt1.o",
        ]
    );
}

fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

#[test]
fn the_collect2_line_is_rerooted_except_what_the_output_records() {
    let r = ROOT_PLACEHOLDER;
    let line = parse_ld(&words(
        "-plugin /usr/lib/gcc/x/12/liblto_plugin.so -plugin-opt=/usr/lib/gcc/x/12/lto-wrapper \
         -plugin-opt=-fresolution=/tmp/ccAbCdEf.res -plugin-opt=-pass-through=-lgcc --build-id -m elf_x86_64 \
         --as-needed -dynamic-linker /lib64/ld-linux-x86-64.so.2 -pie -o t /usr/lib/gcc/x/12/../../../x/Scrt1.o \
         -L/usr/lib/gcc/x/12 -L/usr/lib/gcc/x/12/../../../x -Lrel obj/t.o -rpath /b/lib libab.a -lm \
         --push-state -Bstatic -lfoo --pop-state -lbar -z relro --version-script=v.map",
    ))
    .unwrap();
    assert_eq!(
        line.args,
        words(&format!(
            "-plugin {r}/usr/lib/gcc/x/12/liblto_plugin.so -plugin-opt={r}/usr/lib/gcc/x/12/lto-wrapper \
             -plugin-opt=-fresolution={r}/gg-ld.res -plugin-opt=-pass-through=-lgcc --build-id -m elf_x86_64 \
             --as-needed -dynamic-linker /lib64/ld-linux-x86-64.so.2 -pie -o t {r}/usr/lib/x/Scrt1.o \
             -L{r}/usr/lib/gcc/x/12 -L{r}/usr/lib/x -Lrel obj/t.o -rpath /b/lib libab.a -lm \
             --push-state -Bstatic -lfoo --pop-state -lbar -z relro --version-script=v.map"
        ))
    );
    assert_eq!(
        line.reads,
        [
            Read::File("/usr/lib/gcc/x/12/../../../x/Scrt1.o".into(), false),
            Read::File("obj/t.o".into(), false),
            Read::File("libab.a".into(), false),
            Read::Lib("m".into(), false),
            Read::Lib("foo".into(), true),
            Read::Lib("bar".into(), false),
            Read::Data("v.map".into()),
        ]
    );
    assert_eq!(line.dirs, ["/usr/lib/gcc/x/12", "/usr/lib/x", "rel"]);
    assert_eq!(
        (line.output.as_str(), line.rpath.as_slice(), line.emulation.as_deref()),
        ("t", &["/b/lib".to_string()][..], Some("elf_x86_64"))
    );
    assert_eq!(line.plugin.as_deref(), Some("/usr/lib/gcc/x/12/liblto_plugin.so"));
    assert!(!line.shared);
}

#[test]
fn ld_options_are_read_as_ld_reads_them() {
    let line = parse_ld(&words("-shared -soname libx.so.1 -h libx.so.2 -omagic --output=lib.so -static -lz -Bdynamic -l:libw.a -rpath-link=/a:/b")).unwrap();
    assert!(line.shared);
    assert_eq!(line.soname.as_deref(), Some("libx.so.2"));
    assert_eq!(line.output, "lib.so", "`-omagic` is `-o magic`; the last output wins");
    assert_eq!(line.reads, [Read::Lib("z".into(), true), Read::Lib(":libw.a".into(), false)]);
    assert_eq!(line.rpath_link, ["/a", "/b"]);
    assert_eq!(line.args, words("-shared -soname libx.so.1 -h libx.so.2 -omagic --output=lib.so -static -lz -Bdynamic -l:libw.a -rpath-link=/a:/b"));
    assert!(parse_ld(&words("--omagic")).unwrap().reads.is_empty(), "`--omagic` is the flag");
    for (args, why) in [
        ("--frobnicate", "`--frobnicate`"),
        ("-Map x.map", "link map"),
        ("--sysroot=/x", "sysroot"),
        ("-T", "without its argument"),
        ("--no-as-needed=1", "`--no-as-needed=1`"),
        ("-L=/usr/lib", "in the sysroot"),
        ("-", "stdin"),
        ("-sx", "`-sx`"),
    ] {
        let err = parse_ld(&words(args)).unwrap_err();
        assert!(err.contains(why), "{args}: {err}");
    }
}

#[test]
fn linker_scripts_name_files_and_libraries() {
    let libc = "/* GNU ld script\n   Use the shared library. */\nOUTPUT_FORMAT(elf64-x86-64)\nGROUP ( /lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/libc_nonshared.a  AS_NEEDED ( /lib64/ld-linux-x86-64.so.2 ) )\n";
    assert_eq!(
        script_inputs(libc).unwrap(),
        [
            "/lib/x86_64-linux-gnu/libc.so.6",
            "/usr/lib/x86_64-linux-gnu/libc_nonshared.a",
            "/lib64/ld-linux-x86-64.so.2"
        ]
    );
    assert_eq!(script_inputs("GROUP ( libgcc_s.so.1 -lgcc )").unwrap(), ["libgcc_s.so.1", "-lgcc"]);
    assert_eq!(script_inputs("INPUT(a.o, \"b c.o\")").unwrap(), ["a.o", "b c.o"]);
    let sections = "ENTRY(_start)\nSECTIONS { .text : { *(.text) } .data : { *(.data) } }\n";
    assert!(script_inputs(sections).unwrap().is_empty());
    assert!(script_inputs("INCLUDE other.ld").unwrap_err().contains("INCLUDE"));
    assert!(script_inputs("SEARCH_DIR(/opt/lib)").unwrap_err().contains("SEARCH_DIR"));
}

#[test]
fn ld_so_conf_is_flattened_in_the_order_ld_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("conf.d")).unwrap();
    fs::write(d.join("ld.so.conf"), "# comment\n/first\ninclude conf.d/*.conf\nhwcap 1 x\n/last:/last2, /first\n")
        .unwrap();
    fs::write(d.join("conf.d/b.conf"), "/b # trailing\n").unwrap();
    fs::write(d.join("conf.d/a.conf"), "/a1\n/a2\n").unwrap();
    fs::write(d.join("conf.d/c.txt"), "/not-included\n").unwrap();
    let mut dirs = Vec::new();
    assert!(parse_ld_so_conf(&d.join("ld.so.conf"), &mut dirs, 0));
    assert_eq!(dirs, ["/first", "/a1", "/a2", "/b", "/last", "/last2"]);
    assert!(!parse_ld_so_conf(&d.join("missing.conf"), &mut dirs, 0));
    assert!(wildcard("*.conf", "x86_64-linux-gnu.conf"));
    assert!(wildcard("a?c*", "abc"));
    assert!(!wildcard("*.conf", "x.conf.bak"));
}

#[test]
fn runpath_tokens_expand_to_the_folders_they_may_mean() {
    assert_eq!(expand_origin("$ORIGIN/../lib:${ORIGIN}", "/p/bin"), "/p/bin/../lib:/p/bin");
    assert_eq!(expand_tokens("/opt/$LIB"), ["/opt/lib", "/opt/lib64", "/opt/lib/x86_64-linux-gnu"]);
    assert_eq!(expand_tokens("/opt/lib"), ["/opt/lib"]);
}

#[test]
fn a_link_against_a_thin_archive_carries_the_members_the_archive_names() {
    let dir = tempfile::tempdir().unwrap();
    let dir = fs::canonicalize(dir.path()).unwrap();
    project(&dir);
    let store = Store::open(dir.join(".gg")).unwrap();
    let make_archive = "mkdir -p lib && rm -f lib/libabt.a && gcc-ar csrDT lib/libabt.a obj/a.o obj/b.o";
    sh(&dir, make_archive);
    let sandbox = |p: &str| tool::sandbox_path(&format!("{}/{p}", dir.display()));
    for command in ["cc -O2 obj/t.o lib/libabt.a -lm -o t-thin", "cc obj/t.o -Llib -labt -lm -o t-thin-l"] {
        // The archive on disk: its members are read from its bytes.
        let linked = thunk_or_reason(&store, command, &dir, &|_| Input::File).unwrap_or_else(|why| panic!("{why}"));
        for member in ["obj/a.o", "obj/b.o"] {
            assert!(linked.thunk.values.iter().any(|v| v.path == sandbox(member)), "{command}: no `{member}`");
        }
        sh(&dir, command);
        let direct = fs::read(dir.join(&linked.outputs[0])).unwrap();
        assert!(force(&store, &linked.thunk).unwrap() == direct, "{command}: the forced link differs");

        // The archive from its thunk: the members it reported.
        let Model::Thunk(archived) =
            crate::archive::archive_thunk(&store, make_archive.rsplit("&& ").next().unwrap(), &dir, &|_| Input::File)
                .unwrap()
        else {
            panic!("the thin archive should be a thunk");
        };
        let made = OutputRef::first(store.put_thunk(&archived.thunk).unwrap());
        let inputs = |p: &str| match p {
            "lib/libabt.a" => Input::Archive(made.clone(), archived.info.clone()),
            _ => Input::File,
        };
        let linked = thunk_or_reason(&store, command, &dir, &inputs).unwrap();
        assert_eq!(linked.thunk.thunks.len(), 1, "the archive comes from its thunk");
        assert!(force(&store, &linked.thunk).unwrap() == direct, "{command}: the forced link differs");
    }
}

#[test]
fn a_thin_archive_naming_absolute_paths_or_missing_members_runs_the_link_locally() {
    let dir = tempfile::tempdir().unwrap();
    let dir = fs::canonicalize(dir.path()).unwrap();
    project(&dir);
    let store = Store::open(dir.join(".gg")).unwrap();
    sh(&dir, &format!("ar csrDT libabs.a {}/obj/a.o && cp obj/b.o gone.o && ar csrDT libgone.a gone.o", dir.display()));
    fs::remove_file(dir.join("gone.o")).unwrap();
    let cases = [("libabs.a", "by its absolute path"), ("libgone.a", "`gone.o`, a member of the thin archive")];
    for (archive, why) in cases {
        let command = format!("cc obj/t.o {archive} obj/b.o -lm -o t");
        let reason = thunk_or_reason(&store, &command, &dir, &|_| Input::File).unwrap_err();
        assert!(reason.contains(why), "{command}: {reason}");
    }
}

#[test]
fn a_link_reading_lto_objects_runs_locally_since_ld_would_run_lto_wrapper() {
    let dir = tempfile::tempdir().unwrap();
    let dir = fs::canonicalize(dir.path()).unwrap();
    project(&dir);
    fs::write(dir.join("l.c"), "int lto_function(int x) { return x * 3; }\n").unwrap();
    sh(&dir, "gcc -O2 -flto -c l.c -o obj/l.o && ar qc liblto.a obj/l.o && ar csrDT libltothin.a obj/l.o");
    let store = Store::open(dir.join(".gg")).unwrap();
    for input in ["obj/l.o", "liblto.a", "libltothin.a"] {
        let command = format!("cc obj/u.o obj/y.o {input} -lm -o u");
        let reason = thunk_or_reason(&store, &command, &dir, &|_| Input::File).unwrap_err();
        assert!(reason.contains("holds LTO objects"), "{command}: {reason}");
    }
    // An archive another thunk makes says whether its members hold LTO.
    let Model::Thunk(archived) =
        crate::archive::archive_thunk(&store, "ar qc liblto.a obj/l.o", &dir, &|_| Input::File).unwrap()
    else {
        panic!("the archive should be a thunk");
    };
    assert!(archived.info.lto);
    let made = OutputRef::first(store.put_thunk(&archived.thunk).unwrap());
    let inputs = |p: &str| match p {
        "liblto.a" => Input::Archive(made.clone(), archived.info.clone()),
        _ => Input::File,
    };
    let reason = thunk_or_reason(&store, "cc obj/u.o obj/y.o liblto.a -lm -o u", &dir, &inputs).unwrap_err();
    assert!(reason.contains("`liblto.a` holds LTO objects"), "{reason}");
    let plain = crate::archive::archive_thunk(&store, "ar qc libplain.a obj/a.o", &dir, &|_| Input::File).unwrap();
    assert!(matches!(plain, Model::Thunk(a) if !a.info.lto));
}
