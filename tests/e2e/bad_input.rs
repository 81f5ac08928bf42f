//! Bad input: a clear error naming the file or name, a non-zero exit, and
//! nothing partial left at a target path.

use crate::support::{sh_thunk, Scratch};

#[test]
fn a_malformed_thunk_file_is_named_with_the_field() {
    let s = Scratch::new();
    s.write("t.json", r#"{"_gg":1,"cwd":"","executables":[],"function":{"args":["x"],"envars":[],"hash":"Vzz"},"outputs":["o"],"thunks":[],"timeout":0,"values":[]}"#);
    let err = s.fails(&["describe", "t.json"]);
    assert!(err.contains("t.json") && err.contains("function.hash") && err.contains("Vzz"), "{err}");
    s.write("t2.json", "{\"_gg\":1,");
    let err = s.fails(&["describe", "t2.json"]);
    assert!(err.contains("t2.json"), "{err}");
}

#[test]
fn a_placeholder_pointing_at_an_unknown_thunk_is_refused_and_left_alone() {
    let s = Scratch::new();
    let other = Scratch::new();
    let t = other.ok(&sh_thunk("echo > out", "out", &[]));
    let text = format!("/* gg placeholder: {t} */\n");
    s.write("a.o", &text);
    let err = s.fails(&["force", "a.o"]);
    assert!(err.contains("a.o") && err.contains(&t) && err.contains("not in the store"), "{err}");
    assert_eq!(std::fs::read_to_string(s.path().join("a.o")).unwrap(), text);
    s.write("b.o", "/* gg placeholder: Tnonsense */\n");
    let err = s.fails(&["force", "b.o"]);
    assert!(err.contains("b.o") && err.contains("Tnonsense"), "{err}");
}

#[test]
fn a_missing_object_is_named() {
    let s = Scratch::new();
    let other = Scratch::new();
    other.write("x", "x");
    let name = other.ok(&["put", "x"]).split(' ').next().unwrap().to_string();
    let spec = format!("{name}=x");
    let err = s.fails(&["create-thunk", "--function", "/bin/sh=sh", "--value", &spec, "--output", "o", "--", "sh"]);
    assert!(err.contains(&name) && err.contains("not in the store"), "{err}");
    let err = s.fails(&["create-thunk", "--function", "/no/such/tool=t", "--output", "o", "--", "t"]);
    assert!(err.contains("/no/such/tool"), "{err}");
    let err = s.fails(&["create-thunk", "--function", "/bin/sh", "--output", "o", "--", "sh"]);
    assert!(err.contains("/bin/sh") && err.contains("absolute"), "{err}");
    let err = s.fails(&["create-thunk", "--function", "/bin/sh=sh", "--output", "../o", "--", "sh"]);
    assert!(err.contains("../o"), "{err}");
}

#[test]
fn a_hash_mismatch_in_the_store_fails_the_thunk_that_would_use_it() {
    let s = Scratch::new();
    s.write("in.txt", "good\n");
    let t = s.ok(&sh_thunk("cat in.txt > out", "out", &["--value", "in.txt", "--placeholder", "out"]));
    let name = gg_core_name(&s, "in.txt");
    let blob = s.store().join("blobs").join(&name[1..2]).join(&name);
    std::fs::write(&blob, "evil\n").unwrap();
    let err = s.fails(&["force", "out"]);
    assert!(err.contains(&name) && err.contains("corrupt") && err.contains(&t), "{err}");
    assert!(std::fs::read_to_string(s.path().join("out")).unwrap().starts_with("/* gg placeholder"));
}

#[test]
fn a_declared_output_that_is_not_produced_fails_the_thunk() {
    let s = Scratch::new();
    s.ok(&sh_thunk("echo hi > other", "out", &["--placeholder", "out"]));
    let err = s.fails(&["force", "out"]);
    assert!(err.contains("declared output `out` was not produced"), "{err}");
}

fn gg_core_name(s: &Scratch, file: &str) -> String {
    s.ok(&["hash", file]).split(' ').next().unwrap().to_string()
}

#[test]
fn the_version_names_the_ir_version() {
    let s = Scratch::new();
    let v = s.ok(&["--version"]);
    assert!(v.starts_with("gg ") && v.contains("(gg IR 1)"), "{v}");
}
