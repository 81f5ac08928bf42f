//! The compile thunk gg-cc records carries its whole toolchain: forced on
//! the local engine inside a mount namespace where the system compiler is
//! hidden, it still produces the object a direct compile makes.

use std::process::Command;

use crate::support::{blob_path, text, Scratch};

#[test]
fn a_recorded_compile_thunk_runs_with_the_system_compiler_hidden() {
    let s = Scratch::new();
    s.write(
        "src/main.c",
        "#include <stdio.h>\n#include \"util.h\"\nint main(void) { printf(\"%d\\n\", twice(VALUE)); return 0; }\n",
    );
    s.write("include/util.h", "#define VALUE 21\nstatic inline int twice(int x) { return 2 * x; }\n");
    let root = s.path().to_str().unwrap().to_string();
    let abs_inc = format!("-I{root}/include");
    let abs_src = format!("{root}/src/main.c");
    // (compiler, working folder, arguments before `-o`, output)
    let cases: Vec<(&str, &str, Vec<&str>, &str)> = vec![
        ("gcc", "", vec!["-c", "-Iinclude", "-O2", "-g", "src/main.c"], "a.o"),
        ("gcc", "", vec!["-c", "-Iinclude", "-O0", "src/main.c"], "b.o"),
        ("clang", "", vec!["-c", "-Iinclude", "-O2", "-g", "src/main.c"], "c.o"),
        ("gcc", "src", vec!["-c", &abs_inc, "-O2", "-g", &abs_src], "d.o"),
    ];
    for (compiler, dir, flags, obj) in cases {
        let cwd = s.path().join(dir);
        let mut args = vec![compiler];
        args.extend(&flags);
        args.extend(["-o", obj]);
        let out = s.cc(&args).current_dir(&cwd).env("GG_STORE_INPUTS", "1").env("GG_LOG", "debug").output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let log = text(&out.stderr);
        let thunk = log
            .split_whitespace()
            .find(|w| w.starts_with('T') && w.len() > 44)
            .unwrap_or_else(|| panic!("no thunk in {log}"));
        let direct = s.path().join(format!("direct-{obj}"));
        let st = Command::new(compiler).args(&args[1..args.len() - 1]).arg(&direct).current_dir(&cwd).status().unwrap();
        assert!(st.success());
        // Forget the result so that forcing must run the compiler.
        std::fs::remove_dir_all(s.store().join("reductions")).unwrap();
        let hide = "set -e; mkdir -p /tmp/gg-empty; \
            for d in /usr/lib/gcc /usr/libexec/gcc /usr/lib/llvm-*; do [ -d \"$d\" ] && mount --bind /tmp/gg-empty \"$d\"; done; \
            for f in /usr/bin/gcc* /usr/bin/g++* /usr/bin/cc /usr/bin/c++ /usr/bin/as /usr/bin/ld /usr/bin/ld.bfd /usr/bin/ld.gold \
                     /usr/bin/clang* /usr/bin/x86_64-linux-gnu-gcc* /usr/bin/x86_64-linux-gnu-as /usr/bin/x86_64-linux-gnu-ld*; do \
                [ -e \"$f\" ] && mount --bind /dev/null \"$f\"; done; \
            for c in gcc clang; do if $c --version >/dev/null 2>&1; then echo \"$c is still visible\"; exit 99; fi; done; \
            exec \"$GG\" force \"$THUNK\"";
        let out = Command::new("unshare")
            .args(["-m", "sh", "-c", hide])
            .env("GG", env!("CARGO_BIN_EXE_gg"))
            .env("THUNK", thunk)
            .env("GG_DIR", s.store())
            .current_dir(s.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "forcing with the compiler hidden failed (needs root for unshare -m):\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let value = text(&out.stdout).split_whitespace().nth(1).unwrap().to_string();
        let forced = std::fs::read(blob_path(&s.store(), &value)).unwrap();
        assert!(
            forced == std::fs::read(&direct).unwrap(),
            "{compiler} {flags:?}: the hermetic object differs from a direct compile"
        );
        assert!(
            std::fs::read(cwd.join(obj)).unwrap() == forced,
            "{compiler} {flags:?}: in-place and hermetic objects differ"
        );
    }
}
