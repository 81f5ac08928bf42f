//! Unit tests for the thunk encoding: every hash input matters, nothing
//! else does, and bad thunks are refused with the field and value named.

use super::*;

fn v(s: &str) -> Name {
    Name::of_value(s.as_bytes())
}

fn t(s: &str) -> Name {
    Name::of_bytes(Kind::Thunk, s.as_bytes())
}

fn obj(path: &str, hash: Name) -> Object {
    Object { path: path.into(), hash }
}

/// A thunk with every field set, built from parts tests can vary.
struct Parts {
    function: Function,
    values: Vec<Object>,
    executables: Vec<Object>,
    thunks: Vec<ThunkInput>,
    outputs: Vec<String>,
    cwd: String,
    timeout: u64,
}

type Change = Box<dyn FnOnce(&mut Parts)>;
type JsonEdit = Box<dyn FnOnce(&mut serde_json::Value)>;

fn parts() -> Parts {
    Parts {
        function: Function {
            hash: v("cc"),
            args: vec!["cc".into(), "-c".into(), "a.c".into(), format!("-I{ROOT_PLACEHOLDER}/inc")],
            envars: vec!["PATH=/usr/bin".into(), "LANG=C".into()],
        },
        values: vec![obj("src/a.c", v("a.c")), obj("inc/a.h", v("a.h"))],
        executables: vec![obj("bin/cc", v("cc")), obj("bin/as", v("as"))],
        thunks: vec![
            ThunkInput {
                path: "inc/gen.h".into(),
                output: OutputRef { thunk: t("gen"), output: Some("gen.h".into()) },
            },
            ThunkInput { path: "inc/gen2.h".into(), output: OutputRef::first(t("gen2")) },
        ],
        outputs: vec!["src/a.o".into()],
        cwd: "src".into(),
        timeout: 60,
    }
}

fn build(p: Parts) -> Result<Thunk, IrError> {
    Thunk::new(p.function, p.values, p.executables, p.thunks, p.outputs, p.cwd, p.timeout)
}

fn name_with(change: impl FnOnce(&mut Parts)) -> Name {
    let mut p = parts();
    change(&mut p);
    build(p).unwrap().name()
}

#[test]
fn changing_any_single_input_changes_the_name() {
    let base = name_with(|_| {});
    let changes: Vec<(&str, Change)> = vec![
        (
            "function hash",
            Box::new(|p| {
                p.function.hash = v("cc2");
                p.executables[0].hash = v("cc2");
            }),
        ),
        ("an arg", Box::new(|p| p.function.args[2] = "b.c".into())),
        ("an envar", Box::new(|p| p.function.envars[0] = "PATH=/bin".into())),
        ("an object's hash", Box::new(|p| p.values[0].hash = v("a.c changed"))),
        ("an object's path", Box::new(|p| p.values[0].path = "src/b.c".into())),
        ("a thunk input", Box::new(|p| p.thunks[0].output.output = Some("other.h".into()))),
        ("an output name", Box::new(|p| p.outputs[0] = "src/b.o".into())),
        ("the cwd", Box::new(|p| p.cwd = String::new())),
        ("the timeout", Box::new(|p| p.timeout = 61)),
        (
            "a value becoming an executable",
            Box::new(|p| {
                let o = p.values.remove(0);
                p.executables.push(o);
            }),
        ),
    ];
    for (what, change) in changes {
        assert_ne!(name_with(change), base, "changing {what} must change the name");
    }
}

#[test]
fn the_encoding_ignores_the_order_objects_and_envars_were_given_in() {
    let base = name_with(|_| {});
    let shuffled = name_with(|p| {
        p.values.reverse();
        p.executables.reverse();
        p.thunks.reverse();
        p.function.envars.reverse();
    });
    assert_eq!(base, shuffled);
}

#[test]
fn the_encoding_is_canonical_json_that_round_trips() {
    let thunk = build(parts()).unwrap();
    let bytes = thunk.encode();
    assert!(Thunk::looks_like_thunk(&bytes));
    assert!(!bytes.contains(&b' ') || thunk.function.args.iter().any(|a| a.contains(' ')));
    let back = Thunk::decode(&bytes).unwrap();
    assert_eq!(back, thunk);
    assert_eq!(back.encode(), bytes);
    // A pretty-printed spelling decodes to the same thunk and name.
    let pretty = serde_json::to_vec_pretty(&serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()).unwrap();
    assert_eq!(Thunk::decode(&pretty).unwrap().name(), thunk.name());
}

#[test]
fn the_root_placeholder_is_hashed_verbatim() {
    let thunk = build(parts()).unwrap();
    let text = String::from_utf8(thunk.encode()).unwrap();
    assert!(text.contains(&format!("-I{ROOT_PLACEHOLDER}/inc")), "{text}");
    // Spelling the root out instead is a different thunk: only the
    // placeholder keeps the name independent of where it runs.
    assert_ne!(name_with(|p| p.function.args[3] = "-I/tmp/sandbox/inc".into()), thunk.name());
}

fn decode_err(edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut json: serde_json::Value = serde_json::from_slice(&build(parts()).unwrap().encode()).unwrap();
    edit(&mut json);
    Thunk::decode(&serde_json::to_vec(&json).unwrap()).unwrap_err().to_string()
}

#[test]
fn bad_thunks_are_refused_naming_the_field_and_value() {
    let cases: Vec<(JsonEdit, &[&str])> = vec![
        (Box::new(|j| j["surprise"] = 1.into()), &["unknown field `surprise`"]),
        (Box::new(|j| j["function"]["extra"] = 1.into()), &["unknown field `extra`"]),
        (Box::new(|j| j["values"][0] = "Vnothash=src/a.c".into()), &["values[", "Vnothash"]),
        (
            Box::new(|j| j["values"][0] = format!("{}=/etc/passwd", v("x")).into()),
            &["values", "/etc/passwd", "absolute"],
        ),
        (Box::new(|j| j["values"][0] = format!("{}=src/../../x", v("x")).into()), &["values", "src/../../x", ".."]),
        (Box::new(|j| j["values"][0] = format!("{}=bin/cc", v("x")).into()), &["bin/cc", "two objects at one path"]),
        (
            Box::new(|j| j["values"][0] = format!("{}=bin/cc/x", v("x")).into()),
            &["bin/cc/x", "inside the file `bin/cc`"],
        ),
        (Box::new(|j| j["outputs"] = serde_json::json!(["a.o", "a.o"])), &["outputs", "a.o", "named twice"]),
        (Box::new(|j| j["outputs"] = serde_json::json!(["a=b"])), &["outputs", "a=b", "cannot contain `=`"]),
        (
            Box::new(|j| j["outputs"] = serde_json::json!(["src/a.c/x.o"])),
            &["outputs", "inside the input file `src/a.c`"],
        ),
        (Box::new(|j| j["outputs"] = serde_json::json!(["inc"])), &["outputs", "`inc`", "holding the input `inc/a.h`"]),
        (Box::new(|j| j["outputs"] = serde_json::json!([])), &["outputs", "at least one"]),
        (Box::new(|j| j["cwd"] = "/home".into()), &["cwd", "/home"]),
        (
            Box::new(|j| j["function"]["hash"] = v("other").to_string().into()),
            &["function.hash", "not among the executables"],
        ),
        (Box::new(|j| j["function"]["envars"] = serde_json::json!(["A=1", "A=2"])), &["envars", "A=", "twice"]),
        (Box::new(|j| j["function"]["envars"] = serde_json::json!(["noequals"])), &["envars", "noequals"]),
        (Box::new(|j| j["function"]["args"] = serde_json::json!([])), &["function.args"]),
        (Box::new(|j| j["thunks"][0] = format!("{}#x=a", v("x")).into()), &["thunks[0]", "must name a thunk"]),
        (Box::new(|j| j["_gg"] = 99.into()), &["version 99"]),
        (Box::new(|j| j.as_object_mut().unwrap().remove("cwd").map(drop).unwrap()), &["missing field `cwd`"]),
    ];
    for (edit, needles) in cases {
        let msg = decode_err(edit);
        for n in needles {
            assert!(msg.contains(n), "error `{msg}` should mention `{n}`");
        }
    }
}

#[test]
fn a_key_given_twice_is_refused() {
    let text = String::from_utf8(build(parts()).unwrap().encode()).unwrap();
    let doubled = text.replacen("\"cwd\":\"src\"", "\"cwd\":\"src\",\"cwd\":\"x\"", 1);
    let msg = Thunk::decode(doubled.as_bytes()).unwrap_err().to_string();
    assert!(msg.contains("duplicate field `cwd`"), "{msg}");
}

#[test]
fn the_function_runs_from_its_executable_path() {
    let thunk = build(parts()).unwrap();
    assert_eq!(thunk.function_path(), "bin/cc");
    assert_eq!(thunk.output_index(None), Some(0));
    assert_eq!(thunk.output_index(Some("src/a.o")), Some(0));
    assert_eq!(thunk.output_index(Some("nope")), None);
}

#[test]
fn resolving_from_made_outputs_replaces_only_those_inputs() {
    let thunk = build(parts()).unwrap();
    let gen_h = v("generated header");
    let made = std::collections::HashMap::from([(t("gen"), vec![("other".into(), v("x")), ("gen.h".into(), gen_h)])]);
    let r = thunk.resolved_from(&made);
    assert!(r.values.contains(&obj("inc/gen.h", gen_h)), "the named output of `gen` is now a value");
    assert_eq!(r.thunks.len(), 1, "`gen2` was not made: it stays a thunk input");
    assert_eq!(r.thunks[0].path, "inc/gen2.h");
    let mut sorted = r.values.clone();
    sorted.sort();
    assert_eq!(r.values, sorted, "values stay in canonical order");
    let both = std::collections::HashMap::from([
        (t("gen"), vec![("gen.h".into(), gen_h)]),
        (t("gen2"), vec![("o".into(), v("g2"))]),
    ]);
    let r = thunk.resolved_from(&both);
    assert!(
        r.thunks.is_empty() && r.values.contains(&obj("inc/gen2.h", v("g2"))),
        "a bare reference takes the first output"
    );
    assert_eq!(Thunk::decode(&r.encode()).unwrap(), r, "the result is a valid thunk");
}

#[test]
fn the_direct_encoding_is_byte_for_byte_what_serde_writes() {
    // Strings JSON must escape, in every field that holds text.
    let odd = "q\"uote\\back\nnew\ttab\u{1}ctl é ✓ \u{7f}";
    let plain = build(parts()).unwrap();
    assert_eq!(plain.encode(), plain.encode_by_serde());
    let mut p = parts();
    p.function.args.push(odd.into());
    p.function.envars.push(format!("ODD={odd}"));
    p.values.push(obj(&format!("src/{odd}.h"), v(odd)));
    p.executables.push(obj(&format!("bin/{odd}"), v("x")));
    p.thunks
        .push(ThunkInput { path: format!("g/{odd}"), output: OutputRef { thunk: t(odd), output: Some(odd.into()) } });
    p.outputs = vec!["src/a.o".into(), format!("o/{odd}")];
    p.cwd = format!("src/{odd}");
    p.timeout = u64::MAX;
    let odd_thunk = build(p).unwrap();
    assert_eq!(String::from_utf8(odd_thunk.encode()).unwrap(), String::from_utf8(odd_thunk.encode_by_serde()).unwrap());
    let with_dep = odd_thunk.with_depfiles(vec![format!("o/{odd}")]).unwrap();
    assert_eq!(with_dep.encode(), with_dep.encode_by_serde());
    // Empty lists everywhere they may be empty.
    let mut p = parts();
    p.values.clear();
    p.thunks.clear();
    p.function.envars.clear();
    p.cwd = String::new();
    let bare = build(p).unwrap();
    assert_eq!(bare.encode(), bare.encode_by_serde());
}
