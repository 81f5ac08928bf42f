use std::fs;
use std::path::Path;
use std::process::Command;

use gg_core::{Name, OutputRef};

use super::*;
use crate::tool::tests::force;

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
