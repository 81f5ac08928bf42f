//! Archive and link thunks (gg-wrapper's models of GNU ar, gcc-ar and of
//! links by the gcc driver), forced with `gg force`: the static archive,
//! the program linked against it and libm, the shared library, a program
//! linked against that library, a thin archive made by gcc-ar and a program
//! linked against it are byte for byte what the commands make, also inside
//! a mount namespace where the compiler, gcc-ar and its plugin, binutils,
//! the crt files, libc's linker scripts, libm and binutils' libraries are
//! hidden.

use std::collections::HashMap;
use std::process::Command;

use gg_build::archive::archive_thunk;
use gg_build::link::link_thunk;
use gg_build::tool::{Input, Model};
use gg_core::{OutputRef, Store};

use crate::support::{blob_path, text, Scratch};

const SOURCES: &[(&str, &str)] = &[
    ("a.c", "int a(void) { return 1; }\n"),
    ("b.c", "#include <math.h>\nint b(double x) { return (int)floor(x); }\n"),
    (
        "t.c",
        "#include <stdio.h>\n#include <math.h>\nint a(void);\nint b(double);\n\
         int main(int argc, char **argv) { printf(\"%d %.3f\\n\", a() + b(2.5), sqrt(argc + 3.0)); return 0; }\n",
    ),
    ("y.c", "#include <math.h>\ndouble y(double x) { return sin(x) + cos(x); }\n"),
    ("u.c", "#include <stdio.h>\ndouble y(double);\nint main(void) { printf(\"%.3f\\n\", y(0)); return 0; }\n"),
];

fn sh(s: &Scratch, script: &str) {
    let out = Command::new("sh").args(["-c", script]).current_dir(s.path()).output().unwrap();
    assert!(out.status.success(), "{script}:\n{}", text(&out.stderr));
}

/// The steps as a CMake Ninja build writes them: (output, command).
fn commands(s: &Scratch) -> Vec<(&'static str, String)> {
    let dir = s.path().display();
    vec![
        (
            "libab.a",
            ": && /usr/bin/cmake -E rm -f libab.a && /usr/bin/ar qc libab.a obj/a.o obj/b.o && /usr/bin/ranlib libab.a && :"
                .to_string(),
        ),
        ("t", format!(": && /usr/bin/cc -O2 -g obj/t.o -o t -Wl,-rpath,{dir} libab.a -lm && :")),
        ("liby.so.1.0", ": && /usr/bin/cc -fPIC -O2 -g -shared -Wl,-soname,liby.so.1 -o liby.so.1.0 obj/y.o -lm && :".into()),
        // No -lm: ld finds libm.so.6 through liby's DT_NEEDED.
        ("u", format!(": && /usr/bin/cc -O2 -g obj/u.o -o u -Wl,-rpath,{dir} liby.so.1.0 && :")),
        // As Meson makes an internal static library, and links against it.
        ("libabt.a", "rm -f libabt.a && gcc-ar csrDT libabt.a obj/a.o obj/b.o".into()),
        ("t-thin", "cc -O2 -g obj/t.o -o t-thin -Wl,--start-group libabt.a -Wl,--end-group -lm".into()),
    ]
}

/// Builds the project directly, then stores the thunks for the same steps
/// (each product an input of the next as a thunk output); returns
/// (output, thunk name) in build order.
fn build(s: &Scratch) -> Vec<(&'static str, String)> {
    for (name, source) in SOURCES {
        s.write(name, source);
    }
    sh(s, "mkdir -p obj && for f in a b t u; do gcc -O2 -g -c $f.c -o obj/$f.o || exit 1; done && gcc -O2 -g -fPIC -c y.c -o obj/y.o");
    let steps = commands(s);
    for (_, command) in &steps {
        sh(s, command);
    }
    let store = Store::open(s.store()).unwrap();
    let mut made: HashMap<&str, Input> = HashMap::new();
    let mut thunks = Vec::new();
    for (output, command) in &steps {
        let inputs = |p: &str| made.get(p).cloned().unwrap_or(Input::File);
        let (thunk, kind): (_, Box<dyn Fn(OutputRef) -> Input>) = if output.ends_with(".a") {
            match archive_thunk(&store, command, s.path(), &inputs).unwrap() {
                Model::Thunk(archived) => {
                    assert_eq!(archived.outputs, [*output]);
                    (archived.thunk, Box::new(move |r| Input::Archive(r, archived.info.clone())))
                }
                Model::Local(why) => panic!("{command}: {why}"),
            }
        } else {
            match link_thunk(&store, command, s.path(), &inputs).unwrap() {
                Model::Thunk(linked) => {
                    assert_eq!(linked.outputs, [*output]);
                    let library = linked.library;
                    let kind = move |r| match &library {
                        Some(info) => Input::SharedLibrary(r, info.clone()),
                        None => Input::Output(r),
                    };
                    (linked.thunk, Box::new(kind))
                }
                Model::Local(why) => panic!("{command}: {why}"),
            }
        };
        let name = store.put_thunk(&thunk).unwrap();
        let input = kind(OutputRef::first(name));
        made.insert(output, input);
        thunks.push((*output, name.to_string()));
    }
    thunks
}

/// Checks what `gg force` printed (`T… V…` per target) against the files
/// the direct build made.
fn check_forced(s: &Scratch, thunks: &[(&str, String)], stdout: &str) {
    let values: HashMap<&str, &str> =
        stdout.lines().filter_map(|l| l.split_once(' ')).map(|(t, v)| (t.trim(), v.trim())).collect();
    for (output, thunk) in thunks {
        let value = values.get(thunk.as_str()).unwrap_or_else(|| panic!("no value for {output} in:\n{stdout}"));
        let forced = std::fs::read(blob_path(&s.store(), value)).unwrap();
        let direct = std::fs::read(s.path().join(output)).unwrap();
        assert!(forced == direct, "`{output}`: the forced thunk's output differs from the direct build's");
    }
}

#[test]
fn archive_and_link_thunks_make_what_the_commands_make() {
    let s = Scratch::new();
    let thunks = build(&s);
    let mut args = vec!["force", "-j", "2"];
    args.extend(thunks.iter().map(|(_, t)| t.as_str()));
    let out = s.ok(&args);
    check_forced(&s, &thunks, &out);
    let program = s.path().join("forced-t");
    let value = out.lines().find(|l| l.starts_with(&thunks[1].1)).unwrap().split(' ').nth(1).unwrap();
    std::fs::copy(blob_path(&s.store(), value), &program).unwrap();
    let ran = Command::new("chmod").arg("+x").arg(&program).status().unwrap();
    assert!(ran.success());
    let ran = Command::new(&program).output().unwrap();
    assert_eq!(text(&ran.stdout), "3 2.000\n");
}

#[test]
fn archive_and_link_thunks_run_with_the_toolchain_and_libc_files_hidden() {
    let s = Scratch::new();
    let thunks = build(&s);
    let hide = r#"set -e; mkdir -p /tmp/gg-empty
        for d in /usr/lib/gcc /usr/libexec/gcc /usr/lib/bfd-plugins /usr/lib/x86_64-linux-gnu/bfd-plugins /etc/ld.so.conf.d; do
            [ -d "$d" ] && mount --bind /tmp/gg-empty "$d"; done
        L=/usr/lib/x86_64-linux-gnu
        for f in /usr/bin/gcc* /usr/bin/g++* /usr/bin/cc /usr/bin/c++ /usr/bin/as /usr/bin/ld /usr/bin/ld.bfd /usr/bin/ld.gold /usr/bin/ar \
                 /usr/bin/ranlib /usr/bin/cmake /usr/bin/x86_64-linux-gnu-* /etc/ld.so.conf $L/*crt*.o $L/libc.so $L/libm.so \
                 $L/libc_nonshared.a $L/libc.a $L/libm.a $L/libm.so.6 $L/libmvec.so.1 $L/libbfd-* $L/libctf* $L/libsframe* \
                 $L/libjansson* $L/libzstd.so* $L/libz.so*; do
            [ -e "$f" ] && mount --bind /dev/null "$f"; done
        for t in "gcc --version" "ld --version" "ar --version"; do
            if $t >/dev/null 2>&1; then echo "$t still works"; exit 99; fi; done
        if [ -s $L/libm.so.6 ] || [ -s $L/libc.so ]; then echo "libm or libc.so is still visible"; exit 99; fi
        exec "$GG" force $THUNKS"#;
    let names: Vec<&str> = thunks.iter().map(|(_, t)| t.as_str()).collect();
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", hide])
        .env("GG", env!("CARGO_BIN_EXE_gg"))
        .env("THUNKS", names.join(" "))
        .env("GG_DIR", s.store())
        .current_dir(s.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "forcing with the toolchain hidden failed (needs root for unshare -m):\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("6 thunk(s) ran, 0 answered from the cache"), "{}", text(&out.stderr));
    check_forced(&s, &thunks, &text(&out.stdout));
}
