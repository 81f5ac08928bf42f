//! The thunk: one build step named by the content of everything it uses.
//!
//! # Encoding (IR version 2)
//!
//! A thunk is hashed over its canonical JSON encoding: keys sorted, no
//! whitespace, objects sorted by path, envars sorted by name. The first key,
//! `_gg`, is the IR version, so a blob can be recognised as a thunk by its
//! first bytes (`{"_gg":`). Example (wrapped here for reading):
//!
//! ```text
//! {"_gg":2,"cwd":"src",
//!  "executables":["VKq…1f2a0=bin/cc"],
//!  "function":{"args":["cc","-c","a.c","-o","a.o","-I@@GG_ROOT@@/inc"],
//!              "envars":["PATH=/usr/bin"],"hash":"VKq…1f2a0"},
//!  "outputs":["src/a.o"],
//!  "thunks":["T9x…2c1#gen.h=inc/gen.h"],
//!  "timeout":600,
//!  "values":["V3n…d4=src/a.c"]}
//! ```
//!
//! - `function.hash` names the program to run; it must be one of the
//!   `executables`, and runs from the first path it is placed at.
//!   `function.args` is the whole argv (argv\[0\] included); `envars` is the
//!   whole environment, `NAME=value`.
//! - `values` and `executables` are `NAME=path`; `thunks` are
//!   `T…#output=path` (a bare `T…` is the first output). Paths are relative
//!   to the sandbox root, normalised, with no `..`; no two objects share a
//!   path and no object sits inside another.
//! - `outputs` are paths relative to the sandbox root; the first is the
//!   thunk's default output. Their order is kept, so it is part of the hash.
//! - `cwd` is where the function starts, relative to the root (`""` = root).
//! - `timeout` is in seconds; 0 means the engine's default.
//! - `depfiles` (left out when empty, so thunks without it keep their
//!   names) lists outputs that are Make dependency files. After the run
//!   every engine rewrites each into its canonical form: the first rule's
//!   dependencies, one per line, unescaped, the sandbox root written back
//!   as `/`. A compiler spells paths under the sandbox root and wraps long
//!   lines at a width the root's length shifts; the canonical list is the
//!   same wherever the thunk ran, so the output stays a function of it.
//! - [`ROOT_PLACEHOLDER`] in an arg or envar is replaced at run time by the
//!   absolute sandbox root, so where a thunk runs never changes its name.
//!   The other way round, every engine writes the sandbox root back as the
//!   `/` it stands for in what the function prints (stdout, stderr), so
//!   where a thunk ran never shows in its result either (version 2).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::fxhash::{FxMap, FxSet};
use crate::name::{Kind, Name, OutputRef};
use crate::relpath;

/// The IR version folded into every thunk's encoding, and hence its name;
/// bump it whenever the meaning of a thunk changes.
pub const IR_VERSION: u32 = 2;

/// Stands for the absolute path of the sandbox root in args and envars.
pub const ROOT_PLACEHOLDER: &str = "@@GG_ROOT@@";

/// The bytes every canonical thunk encoding starts with.
pub const MAGIC: &[u8] = b"{\"_gg\":";

/// A blob placed at a path in the sandbox.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Object {
    pub path: String,
    pub hash: Name,
}

/// An output of another thunk placed at a path in the sandbox.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ThunkInput {
    pub path: String,
    pub output: OutputRef,
}

/// What to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    pub hash: Name,
    pub args: Vec<String>,
    pub envars: Vec<String>,
}

/// A validated thunk in canonical order. Build one with [`Thunk::new`],
/// which sorts and checks; fields are public for reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thunk {
    pub function: Function,
    pub values: Vec<Object>,
    pub executables: Vec<Object>,
    pub thunks: Vec<ThunkInput>,
    pub outputs: Vec<String>,
    pub cwd: String,
    pub timeout: u64,
    /// Outputs that are Make dependency files (see the module docs).
    pub depfiles: Vec<String>,
}

/// Why a thunk is refused: the field, the offending value and the reason.
#[derive(Debug, thiserror::Error)]
pub enum IrError {
    #[error("not a valid thunk encoding: {0}")]
    Json(serde_json::Error),
    #[error("unsupported IR version {0} (this gg reads version {IR_VERSION})")]
    Version(u32),
    #[error("field `{field}`: {why}: `{value}`")]
    Field { field: String, value: String, why: String },
}

fn field_err(field: impl Into<String>, value: impl fmt::Display, why: impl Into<String>) -> IrError {
    IrError::Field { field: field.into(), value: value.to_string(), why: why.into() }
}

/// The wire shape: sorted field order, so serialising it is canonical.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    _gg: u32,
    cwd: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    depfiles: Vec<String>,
    executables: Vec<String>,
    function: WireFunction,
    outputs: Vec<String>,
    thunks: Vec<String>,
    timeout: u64,
    values: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireFunction {
    args: Vec<String>,
    envars: Vec<String>,
    hash: String,
}

impl Thunk {
    /// Sorts objects and envars into canonical order and validates
    /// everything; the error names the field and value at fault.
    pub fn new(
        function: Function,
        mut values: Vec<Object>,
        mut executables: Vec<Object>,
        mut thunks: Vec<ThunkInput>,
        outputs: Vec<String>,
        cwd: String,
        timeout: u64,
    ) -> Result<Thunk, IrError> {
        values.sort();
        executables.sort();
        thunks.sort();
        let mut function = function;
        function.envars.sort_by(|a, b| envar_name(a).cmp(envar_name(b)).then(a.cmp(b)));
        let thunk = Thunk { function, values, executables, thunks, outputs, cwd, timeout, depfiles: Vec::new() };
        thunk.validate()?;
        Ok(thunk)
    }

    /// This thunk with `depfiles` marked as Make dependency files; each
    /// must be one of its outputs other than the first.
    pub fn with_depfiles(mut self, depfiles: Vec<String>) -> Result<Thunk, IrError> {
        self.depfiles = depfiles;
        // The rest was validated when it was made.
        self.validate_depfiles()?;
        Ok(self)
    }

    fn validate(&self) -> Result<(), IrError> {
        let f = &self.function;
        if f.args.is_empty() {
            return Err(field_err("function.args", "[]", "needs at least argv[0]"));
        }
        let mut seen_env = BTreeSet::new();
        for (i, e) in f.envars.iter().enumerate() {
            let field = format!("function.envars[{i}]");
            match e.split_once('=') {
                Some((n, _)) if !n.is_empty() => {
                    if !seen_env.insert(n) {
                        return Err(field_err(field, e, "variable set twice"));
                    }
                }
                _ => return Err(field_err(field, e, "expected NAME=value")),
            }
        }
        if f.hash.kind() != Kind::Value {
            return Err(field_err("function.hash", f.hash, "must name a value (V…)"));
        }
        if !self.executables.iter().any(|o| o.hash == f.hash) {
            return Err(field_err("function.hash", f.hash, "is not among the executables"));
        }
        // Hash maps, walked in the lists' order (so the error reported is
        // always the same one): a compile's thunk has hundreds of paths.
        let count = self.values.len() + self.executables.len() + self.thunks.len();
        let mut paths: FxMap<&str, &'static str> = FxMap::with_capacity_and_hasher(count, Default::default());
        let objects = || {
            (self.values.iter().map(|o| ("values", o.path.as_str(), Some(o.hash))))
                .chain(self.executables.iter().map(|o| ("executables", o.path.as_str(), Some(o.hash))))
                .chain(self.thunks.iter().map(|t| ("thunks", t.path.as_str(), None)))
        };
        for (field, path, hash) in objects() {
            relpath::check(path).map_err(|why| field_err(field, path, why))?;
            if field == "executables" && hash.is_some_and(|h| h.kind() != Kind::Value) {
                return Err(field_err(field, path, "an executable must be a value (V…)"));
            }
            if let Some(other) = paths.insert(path, field) {
                return Err(field_err(field, path, format!("two objects at one path (also in `{other}`)")));
            }
        }
        // A path cannot be both a file and the folder of another file.
        // Each folder is looked at once: longest first, and a folder seen
        // before had its own folders seen with it.
        let mut folders: FxSet<&str> = FxSet::default();
        for (_, path, _) in objects() {
            for (i, _) in path.rmatch_indices('/') {
                let folder = &path[..i];
                if !folders.insert(folder) {
                    break;
                }
                if paths.contains_key(folder) {
                    return Err(field_err("objects", path, format!("lies inside the file `{folder}`")));
                }
            }
        }
        if self.outputs.is_empty() {
            return Err(field_err("outputs", "[]", "a thunk needs at least one output"));
        }
        let mut seen_out = BTreeSet::new();
        for out in &self.outputs {
            relpath::check(out).map_err(|why| field_err("outputs", out, why))?;
            if out.contains('=') {
                // `T…#output=path` must split at its first `=`.
                return Err(field_err("outputs", out, "an output name cannot contain `=`"));
            }
            if !seen_out.insert(out.as_str()) {
                return Err(field_err("outputs", out, "output named twice"));
            }
            for (i, _) in out.match_indices('/') {
                if paths.contains_key(&out[..i]) {
                    return Err(field_err("outputs", out, format!("lies inside the input file `{}`", &out[..i])));
                }
            }
            if folders.contains(out.as_str()) {
                let folder = format!("{out}/");
                let inner = objects().map(|(_, p, _)| p).find(|p| p.starts_with(&folder)).unwrap_or_default();
                return Err(field_err("outputs", out, format!("is a folder holding the input `{inner}`")));
            }
        }
        self.validate_depfiles()?;
        relpath::check_dir(&self.cwd).map_err(|why| field_err("cwd", &self.cwd, why))?;
        Ok(())
    }

    fn validate_depfiles(&self) -> Result<(), IrError> {
        let mut seen_dep = BTreeSet::new();
        for d in &self.depfiles {
            if !self.outputs[1..].contains(d) {
                return Err(field_err("depfiles", d, "must be one of the outputs, not the first"));
            }
            if !seen_dep.insert(d.as_str()) {
                return Err(field_err("depfiles", d, "named twice"));
            }
        }
        Ok(())
    }

    /// The canonical encoding: the bytes that are hashed and stored.
    pub fn encode(&self) -> Vec<u8> {
        crate::encode::canonical(self)
    }

    /// The canonical encoding through serde (the reference the direct
    /// writer in `encode.rs` is tested against).
    #[cfg(test)]
    pub(crate) fn encode_by_serde(&self) -> Vec<u8> {
        let wire = Wire {
            _gg: IR_VERSION,
            cwd: self.cwd.clone(),
            depfiles: self.depfiles.clone(),
            executables: self.executables.iter().map(|o| format!("{}={}", o.hash, o.path)).collect(),
            function: WireFunction {
                args: self.function.args.clone(),
                envars: self.function.envars.clone(),
                hash: self.function.hash.to_string(),
            },
            outputs: self.outputs.clone(),
            thunks: self.thunks.iter().map(|t| format!("{}={}", t.output, t.path)).collect(),
            timeout: self.timeout,
            values: self.values.iter().map(|o| format!("{}={}", o.hash, o.path)).collect(),
        };
        serde_json::to_vec(&wire).expect("a thunk always serialises")
    }

    /// The thunk's name: `T` + the digest and size of its encoding.
    pub fn name(&self) -> Name {
        Name::of_bytes(Kind::Thunk, &self.encode())
    }

    /// Parses any JSON spelling of a thunk (canonical or not) and validates it.
    pub fn decode(bytes: &[u8]) -> Result<Thunk, IrError> {
        let wire: Wire = serde_json::from_slice(bytes)?;
        if wire._gg != IR_VERSION {
            return Err(IrError::Version(wire._gg));
        }
        let hash = parse_name("function.hash", &wire.function.hash)?;
        let function = Function { hash, args: wire.function.args, envars: wire.function.envars };
        let values = parse_objects("values", &wire.values)?;
        let executables = parse_objects("executables", &wire.executables)?;
        let mut thunks = Vec::with_capacity(wire.thunks.len());
        for (i, t) in wire.thunks.iter().enumerate() {
            let field = format!("thunks[{i}]");
            let (r, path) = t.split_once('=').ok_or_else(|| field_err(&field, t, "expected T…#output=path"))?;
            let output = r.parse::<OutputRef>().map_err(|e| field_err(&field, t, e.why))?;
            thunks.push(ThunkInput { path: path.to_string(), output });
        }
        Thunk::new(function, values, executables, thunks, wire.outputs, wire.cwd, wire.timeout)?
            .with_depfiles(wire.depfiles)
    }

    /// Whether `bytes` look like a thunk encoding (cheap prefix test).
    pub fn looks_like_thunk(bytes: &[u8]) -> bool {
        bytes.starts_with(MAGIC)
    }

    /// Index of `output` among the declared outputs (`None` = the first).
    pub fn output_index(&self, output: Option<&str>) -> Option<usize> {
        match output {
            None => Some(0),
            Some(o) => self.outputs.iter().position(|x| x == o),
        }
    }

    /// Every path the thunk's objects occupy with the blob placed there;
    /// thunk inputs are omitted (they are resolved by the scheduler first).
    pub fn objects(&self) -> impl Iterator<Item = (&Object, bool)> {
        self.values.iter().map(|o| (o, false)).chain(self.executables.iter().map(|o| (o, true)))
    }

    /// This thunk with each input from a thunk in `made` (thunk name to its
    /// outputs, in declared order) replaced by the value it produced; the
    /// others stay thunk inputs. An engine running a chain itself (after a
    /// worker was lost, say) resolves each member from those before it.
    pub fn resolved_from(&self, made: &std::collections::HashMap<Name, Vec<(String, Name)>>) -> Thunk {
        let mut t = self.clone();
        for input in std::mem::take(&mut t.thunks) {
            let value = made.get(&input.output.thunk).and_then(|outs| match &input.output.output {
                Some(o) => outs.iter().find(|(n, _)| n == o).map(|(_, v)| *v),
                None => outs.first().map(|(_, v)| *v),
            });
            match value {
                Some(hash) => t.values.push(Object { path: input.path, hash }),
                None => t.thunks.push(input),
            }
        }
        t.values.sort();
        t
    }

    /// The path the function runs from: the first executable with its hash.
    pub fn function_path(&self) -> &str {
        let f = self.executables.iter().find(|o| o.hash == self.function.hash);
        &f.expect("validated: the function is an executable").path
    }
}

impl From<serde_json::Error> for IrError {
    // Not `#[from]`: that would also make the JSON error the `source`, and
    // error chains would print its message twice.
    fn from(e: serde_json::Error) -> IrError {
        IrError::Json(e)
    }
}

fn envar_name(e: &str) -> &str {
    e.split_once('=').map_or(e, |(n, _)| n)
}

fn parse_name(field: &str, text: &str) -> Result<Name, IrError> {
    text.parse::<Name>().map_err(|e| field_err(field, text, e.why))
}

fn parse_objects(field: &str, list: &[String]) -> Result<Vec<Object>, IrError> {
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let field = format!("{field}[{i}]");
        let (hash, path) = item.split_once('=').ok_or_else(|| field_err(&field, item, "expected NAME=path"))?;
        out.push(Object { hash: parse_name(&field, hash)?, path: path.to_string() });
    }
    Ok(out)
}

#[cfg(test)]
#[path = "thunk_tests.rs"]
mod tests;
