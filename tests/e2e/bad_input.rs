//! Bad input: a clear error naming the file or name, a non-zero exit, and
//! nothing partial left at a target path.

use crate::support::{blob_path, clobber, sh_thunk, text, Scratch};

#[test]
fn a_malformed_thunk_file_is_named_with_the_field() {
    let s = Scratch::new();
    s.write("t.json", r#"{"_gg":2,"cwd":"","executables":[],"function":{"args":["x"],"envars":[],"hash":"Vzz"},"outputs":["o"],"thunks":[],"timeout":0,"values":[]}"#);
    let err = s.fails(&["describe", "t.json"]);
    assert!(err.contains("t.json") && err.contains("function.hash") && err.contains("Vzz"), "{err}");
    s.write("t2.json", "{\"_gg\":2,");
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
    clobber(&blob, "evil\n");
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
    assert!(v.starts_with("gg ") && v.contains("(gg IR 2)"), "{v}");
}

#[test]
fn a_corrupt_cached_output_is_never_written_over_a_placeholder() {
    let s = Scratch::new();
    let t = s.ok(&sh_thunk("echo good > o", "o", &["--placeholder", "o"]));
    s.ok(&["force", "o"]);
    let value = s.ok(&["hash", "o"]).split(' ').next().unwrap().to_string();
    clobber(&blob_path(&s.store(), &value), "EVIL\n");
    let placeholder = format!("/* gg placeholder: {t} */\n");
    s.write("o", &placeholder);
    let err = s.fails(&["force", "o"]);
    assert!(err.contains(&value) && err.contains("corrupt"), "{err}");
    assert_eq!(std::fs::read_to_string(s.path().join("o")).unwrap(), placeholder);
    // The bad entry was moved aside, so the next force runs the thunk again.
    s.ok(&["force", "o"]);
    assert_eq!(std::fs::read_to_string(s.path().join("o")).unwrap(), "good\n");
}

#[test]
fn a_thunk_input_naming_an_output_its_producer_lacks_is_refused() {
    let s = Scratch::new();
    let p = s.ok(&sh_thunk("echo > out", "out", &[]));
    let spec = format!("{p}#nope=in");
    let err = s.fails(&["create-thunk", "--function", "/bin/sh=sh", "--thunk", &spec, "--output", "o", "--", "sh"]);
    assert!(err.contains("has no output `nope`") && err.contains("`out`"), "{err}");
}

#[test]
fn an_ordinary_json_file_is_described_as_a_value() {
    let s = Scratch::new();
    s.write("package.json", "{\"name\": \"x\"}\n");
    let out = s.ok(&["describe", "package.json"]);
    assert!(out.starts_with("value V"), "{out}");
}

#[test]
fn interrupting_force_kills_the_functions_and_leaves_the_placeholder() {
    let s = Scratch::new();
    let pidfile = s.path().join("pid");
    let script = format!("echo $$ > {}; exec sleep 137", pidfile.display());
    s.ok(&sh_thunk(&script, "o", &["--placeholder", "o"]));
    let child = s.cmd(&["force", "o"]).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let start = std::time::Instant::now();
    while !pidfile.exists() || std::fs::read_to_string(&pidfile).unwrap().trim().is_empty() {
        assert!(start.elapsed().as_secs() < 20, "the thunk never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("interrupted"));
    let pid = std::fs::read_to_string(&pidfile).unwrap().trim().to_string();
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(state.is_empty() || state.contains(") Z "), "the function still runs: {state}");
    assert!(std::fs::read_to_string(s.path().join("o")).unwrap().starts_with("/* gg placeholder"));
    assert_eq!(std::fs::read_dir(s.store().join("sandboxes")).unwrap().count(), 0, "sandbox removed");
}
