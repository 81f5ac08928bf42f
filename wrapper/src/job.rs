//! A compile gg handles ([`Job`]): the parsed call with its toolchain and
//! folder, and what follows from them alone: the direct-mode key, the
//! folders a header could be found in, and where the user's depfile goes.
//! gg-cc builds one per call; gg ninja's compile plans build one per edge.

use std::path::{Path, PathBuf};

use gg_core::{Name, Store};

use crate::args::{Compile, DepRequest};
use crate::invoke::Invocation;
use crate::manifest;
use crate::path::normalize;
use crate::thunkgen::ENV_INPUTS;
use crate::toolchain::Toolchain;

/// Environment variables that change the compiler's diagnostics (which are
/// stored and replayed), so they are part of the key too.
const ENV_DIAGNOSTICS: &[&str] = &["LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES"];

/// A compile gg handles: what it needs besides the parsed arguments.
pub struct Job<'a> {
    pub store: &'a Store,
    pub inv: &'a Invocation,
    pub toolchain: &'a Toolchain,
    /// All arguments, `@file`s expanded.
    pub args: &'a [String],
    pub compile: &'a Compile,
    pub cwd: PathBuf,
    /// Where a miss runs: `None` compiles in place (the local engine);
    /// otherwise the compile thunk is sent to this engine.
    pub engine: Option<&'a dyn gg_core::engine::Executor>,
}

impl std::fmt::Debug for Job<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("compile", &self.compile).field("remote", &self.engine.is_some()).finish()
    }
}

impl Job<'_> {
    pub(crate) fn env_inputs(&self) -> Vec<(String, String)> {
        ENV_INPUTS.iter().filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v))).collect()
    }

    /// The direct-mode key: everything but the headers.
    pub fn direct_key(&self, source: &Name) -> String {
        self.key_with(source, &|s| std::borrow::Cow::Borrowed(s))
    }

    /// Where the shared cache keeps this compile's entry: under its own
    /// key (`local_key`), or, with a base folder and arguments that keep
    /// paths out of the object, under the key with paths relative to it
    /// (see `basedir`).
    pub fn travel(&self, source: &Name, local_key: &str) -> manifest::Travel {
        let own = manifest::Travel { key: local_key.to_string(), base: None, absolute_key: local_key.to_string() };
        let Some(base) = crate::basedir::base() else { return own };
        if let Some(why) = crate::basedir::args_tie_to_path(self.args, base) {
            crate::log::debug(&format!("`{}` is shared at its own path: {why}", self.compile.source));
            return own;
        }
        manifest::Travel {
            key: self.key_with(source, &|s| crate::basedir::relative(s, base)),
            base: Some(base.to_string()),
            absolute_key: local_key.to_string(),
        }
    }

    /// The key with every text that may name a path passed through `map`.
    fn key_with(&self, source: &Name, map: &dyn Fn(&str) -> std::borrow::Cow<'_, str>) -> String {
        let mut h = blake3::Hasher::new();
        let mut put = |s: &str| {
            h.update(s.as_bytes());
            h.update(b"\0");
        };
        put(&format!("gg-cc manifest {}", manifest::MANIFEST_VERSION));
        put(&self.toolchain.id);
        put(&map(&self.inv.arg0));
        for a in self.args {
            put(&map(a));
        }
        put("cwd");
        put(&map(&self.cwd.to_string_lossy()));
        for k in ENV_INPUTS.iter().chain(ENV_DIAGNOSTICS) {
            put(k);
            put(&map(&std::env::var(k).unwrap_or_else(|_| "\u{1}unset".into())));
        }
        put(&map(&self.compile.source));
        put(&source.to_string());
        h.finalize().to_hex().to_string()
    }

    /// `p` as an absolute path, `.` and `..` resolved lexically: inside a
    /// sandbox every folder is real, so that is where the compiler will look.
    pub(crate) fn absolute(&self, p: &str) -> String {
        if p.starts_with('/') {
            // Most paths (every one the scanner found) are normal already:
            // one allocation, not two.
            return normalize(p);
        }
        // Joined as text: a compile's depfile lists hundreds of paths
        // relative to the working folder, each made absolute here.
        let cwd = self.cwd.to_string_lossy();
        let mut joined = String::with_capacity(cwd.len() + 1 + p.len());
        joined.push_str(&cwd);
        if !cwd.ends_with('/') {
            joined.push('/');
        }
        joined.push_str(p);
        if crate::path::is_normal_absolute(&joined) {
            joined
        } else {
            normalize(&joined)
        }
    }

    /// Every folder a header name could be looked up in, in search order
    /// (absolute, resolved lexically, each once): the user's `-iquote`,
    /// `-I`, `CPATH`, `-isystem` and `C_INCLUDE_PATH`-style folders, the
    /// default ones (as the compiler spells them and resolved), and
    /// `-idirafter`. A superset of what one compile searches.
    pub(crate) fn search_folders(&self) -> Vec<String> {
        let user = |opt: &str| crate::args::option_values(self.args, &[opt]);
        let env = |var: &str| {
            // An empty element is the working folder.
            let value = std::env::var(var).unwrap_or_default();
            if value.is_empty() {
                Vec::new()
            } else {
                value.split(':').map(str::to_string).collect()
            }
        };
        let lang = self.compile.lang;
        let mut named: Vec<String> = Vec::new();
        named.extend(user("-iquote"));
        named.extend(user("-I"));
        named.extend(env("CPATH"));
        named.extend(user("-isystem"));
        for var in ["C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH", "OBJC_INCLUDE_PATH"] {
            named.extend(env(var));
        }
        for (spelled, resolved) in self.toolchain.search_dirs(lang).iter().zip(self.toolchain.includes(lang)) {
            named.push(spelled.clone());
            named.push(resolved.clone());
        }
        named.extend(user("-idirafter"));
        let mut folders: Vec<String> = Vec::new();
        for d in named {
            let abs = self.absolute(&d);
            if !folders.contains(&abs) {
                folders.push(abs);
            }
        }
        folders
    }

    /// The user's depfile request, if the compiler would honour it: for
    /// plain assembler (`.s`) gcc writes no depfile at all.
    pub fn depfile_request(&self) -> Option<&DepRequest> {
        self.compile.deps.as_ref().filter(|_| self.compile.lang.preprocessed_by_compiler())
    }

    /// The depfile path the user gets: `-MF`, else (driver form) the
    /// output with its suffix replaced by `.d`.
    pub fn user_depfile(&self, d: &DepRequest) -> String {
        if let Some(f) = &d.file {
            return f.clone();
        }
        let base = match &self.compile.output {
            Some(o) => o.clone(),
            None => Path::new(&self.compile.source)
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        };
        Path::new(&base).with_extension("d").to_string_lossy().into_owned()
    }
}
