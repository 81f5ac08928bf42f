//! The canonical thunk encoding, written field by field. It is the same
//! bytes serde_json makes of the wire shape in `thunk.rs` (sorted keys, no
//! spaces; a test holds the two equal), without building every
//! `NAME=path` string and the whole wire value first: a client names,
//! stores and sends each of thousands of thunks with hundreds of inputs.

use crate::thunk::{Object, Thunk, IR_VERSION};

/// The canonical encoding of `t`.
pub(crate) fn canonical(t: &Thunk) -> Vec<u8> {
    let paths: usize = t.values.iter().chain(&t.executables).map(|o| o.path.len() + 64).sum();
    let mut out = Vec::with_capacity(256 + paths + t.function.args.iter().map(|a| a.len() + 3).sum::<usize>());
    let mut scratch = String::with_capacity(256);
    out.extend_from_slice(format!("{{\"_gg\":{IR_VERSION},\"cwd\":").as_bytes());
    string(&mut out, &t.cwd);
    if !t.depfiles.is_empty() {
        out.extend_from_slice(b",\"depfiles\":");
        strings(&mut out, t.depfiles.iter().map(String::as_str));
    }
    out.extend_from_slice(b",\"executables\":");
    objects(&mut out, &mut scratch, &t.executables);
    out.extend_from_slice(b",\"function\":{\"args\":");
    strings(&mut out, t.function.args.iter().map(String::as_str));
    out.extend_from_slice(b",\"envars\":");
    strings(&mut out, t.function.envars.iter().map(String::as_str));
    out.extend_from_slice(b",\"hash\":\"");
    scratch.clear();
    t.function.hash.push_to(&mut scratch);
    out.extend_from_slice(scratch.as_bytes());
    out.extend_from_slice(b"\"},\"outputs\":");
    strings(&mut out, t.outputs.iter().map(String::as_str));
    out.extend_from_slice(b",\"thunks\":");
    let thunks: Vec<String> = t.thunks.iter().map(|i| format!("{}={}", i.output, i.path)).collect();
    strings(&mut out, thunks.iter().map(String::as_str));
    out.extend_from_slice(format!(",\"timeout\":{},\"values\":", t.timeout).as_bytes());
    objects(&mut out, &mut scratch, &t.values);
    out.push(b'}');
    out
}

/// A JSON string, escaped as serde_json escapes it (control characters,
/// `"` and `\` only). Paths almost never need it: those are copied whole
/// after one pass that the compiler vectorises.
fn string(out: &mut Vec<u8>, s: &str) {
    // A fold, not `all`: without an early exit the loop is vectorised.
    if !s.bytes().fold(false, |bad, b| bad | (b < 0x20) | (b == b'"') | (b == b'\\')) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    serde_json::to_writer(&mut *out, s).expect("writing to memory cannot fail");
}

fn strings<'a>(out: &mut Vec<u8>, items: impl Iterator<Item = &'a str>) {
    out.push(b'[');
    for (i, s) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, s);
    }
    out.push(b']');
}

/// `["NAME=path",…]`, each string built in `scratch`.
fn objects(out: &mut Vec<u8>, scratch: &mut String, items: &[Object]) {
    out.push(b'[');
    for (i, o) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        scratch.clear();
        o.hash.push_to(scratch);
        scratch.push('=');
        scratch.push_str(&o.path);
        string(out, scratch);
    }
    out.push(b']');
}
