//! The compile path on the local engine: a direct-mode lookup, and on a
//! miss the real compiler run in place with a depfile added (ccache's
//! "depend mode"), after which the thunk that depfile describes is
//! recorded with its reduction, so the next identical compile, here or on
//! any engine, is a hit.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use gg_core::{fsutil, Kind, Name, Reduction, Store};

use crate::args::{Compile, DepRequest};
use crate::depfile;
use crate::has_include;
use crate::invoke::Invocation;
use crate::log::debug;
use crate::manifest::{self, Entry, FileEntry};
use crate::stats::{self, Event};
use crate::thunkgen::{self, Parts, ENV_INPUTS};
use crate::toolchain::{Family, Toolchain};

/// Environment variables that change the compiler's diagnostics (which are
/// stored and replayed), so they are part of the key too.
const ENV_DIAGNOSTICS: &[&str] = &["LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES"];

/// How many names of the store's `tmp/` a miss looks at for temps of
/// killed writers: the folder holds only writes in flight, so this bound
/// is reached only after many kills, and later misses finish the sweep.
const STALE_SWEEP_LIMIT: usize = 256;

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
    fn env_inputs(&self) -> Vec<(String, String)> {
        ENV_INPUTS.iter().filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v))).collect()
    }

    /// The direct-mode key: everything but the headers.
    pub(crate) fn direct_key(&self, source: &Name) -> String {
        let mut h = blake3::Hasher::new();
        let mut put = |s: &str| {
            h.update(s.as_bytes());
            h.update(b"\0");
        };
        put(&format!("gg-cc manifest {}", manifest::MANIFEST_VERSION));
        put(&self.toolchain.id);
        put(&self.inv.arg0);
        for a in self.args {
            put(a);
        }
        put("cwd");
        put(&self.cwd.to_string_lossy());
        for k in ENV_INPUTS.iter().chain(ENV_DIAGNOSTICS) {
            put(k);
            put(&std::env::var(k).unwrap_or_else(|_| "\u{1}unset".into()));
        }
        put(&self.compile.source);
        put(&source.to_string());
        h.finalize().to_hex().to_string()
    }

    /// `p` as an absolute path, `.` and `..` resolved lexically: inside a
    /// sandbox every folder is real, so that is where the compiler will look.
    fn absolute(&self, p: &str) -> String {
        let joined = if p.starts_with('/') { p.to_string() } else { self.cwd.join(p).to_string_lossy().into_owned() };
        normalize(&joined)
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
    pub(crate) fn depfile_request(&self) -> Option<&DepRequest> {
        self.compile.deps.as_ref().filter(|_| self.compile.lang.preprocessed_by_compiler())
    }

    /// The depfile path the user gets: `-MF`, else (driver form) the
    /// output with its suffix replaced by `.d`.
    pub(crate) fn user_depfile(&self, d: &DepRequest) -> String {
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

/// Runs one compile: a hit writes the stored outputs, a miss compiles in
/// place and records. Returns the exit code.
pub fn run(job: &Job<'_>) -> Result<i32> {
    let source = Name::of_file(Path::new(&job.compile.source));
    let key = match &source {
        Ok(s) => Some(job.direct_key(s)),
        Err(e) => {
            debug(&format!("cannot hash `{}` ({e}); compiling without the cache", job.compile.source));
            None
        }
    };
    if let Some(key) = &key {
        match manifest::lookup(job.store, key) {
            Ok(entry) => match serve_hit(job, &entry) {
                Ok(()) => {
                    stats::note(job.store, &Event::DirectHit);
                    return Ok(0);
                }
                Err(e) => debug(&format!("direct-mode entry for `{}` unusable: {e:#}", job.compile.source)),
            },
            Err(why) => debug(&format!("direct-mode miss for `{}`: {why:?}", job.compile.source)),
        }
    }
    if let (Some(engine), Some(key)) = (job.engine, key.as_deref()) {
        match crate::remote::compile(job, engine, key) {
            Ok(Some(code)) => return Ok(code),
            Ok(None) => debug("running this compile in place instead"),
            // Nothing reached the user yet (say, the store could not take
            // the inputs): the in-place compile decides, and warns once if
            // the store is the reason.
            Err(e) if !crate::ran::already() => debug(&format!("running this compile in place instead: {e:#}")),
            Err(e) => return Err(e),
        }
    }
    compile_in_place(job, key.as_deref())
}

/// Writes a hit's object, depfile and diagnostics, each re-hashed first.
fn serve_hit(job: &Job<'_>, entry: &Entry) -> Result<()> {
    let red = job.store.reduction(&entry.thunk).context("no reduction recorded for the thunk")?;
    let object = red.get(None).context("the reduction has no output")?;
    let (blob, _) = job.store.verified(&object, false)?;
    // Everything served is re-hashed like the object: a right-sized but
    // wrong depfile or message is a miss, never a hit.
    let stderr = match red.stderr {
        Some(n) => job.store.get_verified(&n)?,
        None => Vec::new(),
    };
    let depfile = match (job.depfile_request(), &entry.depfile) {
        (Some(d), Some(text)) => Some((job.user_depfile(d), job.store.get_verified(text)?)),
        (Some(_), None) => anyhow::bail!("the entry has no depfile"),
        _ => None,
    };
    let stdout = match red.stdout {
        Some(n) => job.store.get_verified(&n)?,
        None => Vec::new(),
    };
    let out = job.compile.output_path();
    if let Some((path, bytes)) = depfile {
        fsutil::write_atomic(Path::new(&path), &bytes).with_context(|| format!("cannot write `{path}`"))?;
    }
    fsutil::remove_dead_temps_beside(Path::new(&out));
    write_object(&blob, Path::new(&out)).with_context(|| format!("cannot write `{out}`"))?;
    crate::ran::mark();
    // Served: a closed stream is the caller's choice, not a reason to compile.
    let _ = std::io::stdout().write_all(&stdout);
    let _ = std::io::stderr().write_all(&stderr);
    Ok(())
}

fn compile_in_place(job: &Job<'_>, key: Option<&str>) -> Result<i32> {
    let c = job.compile;
    if let Err(why) = crate::writable::check(job.store) {
        return Err(plain(job, &why));
    }
    let out = c.output_path();
    // What a killed gg-cc (or compiler) left for this output and in the
    // store: cheap here, where a compile follows.
    fsutil::remove_dead_temps_beside(Path::new(&out));
    if let Some(d) = job.depfile_request() {
        fsutil::remove_dead_temps_beside(Path::new(&job.user_depfile(d)));
    }
    job.store.sweep_dead_temps(STALE_SWEEP_LIMIT);
    let tmp_out = fsutil::temp_beside(Path::new(&out));
    let dep_tmp = job.store.temp_path("deps");
    let mut args: Vec<String> = c.args.clone();
    args.push("-o".into());
    args.push(tmp_out.to_string_lossy().into_owned());
    args.extend(dep_flags(job, &dep_tmp));
    let mut cmd = Command::new(&job.inv.compiler);
    {
        use std::os::unix::process::CommandExt;
        cmd.arg0(&job.inv.arg0);
    }
    let started = manifest::now_ns();
    let output = cmd.args(&args).output().with_context(|| format!("cannot run `{}`", job.inv.compiler.display()))?;
    if !output.status.success()
        && memchr::memmem::find(&output.stderr, dep_tmp.as_os_str().as_encoded_bytes()).is_some()
    {
        // The store filled up (or went read-only) under the depfile: the
        // failure is gg's, so the user sees the plain compile, not this one.
        let _ = fs::remove_file(&tmp_out);
        let _ = fs::remove_file(&dep_tmp);
        return Err(plain(job, "its dependency file could not be written"));
    }
    crate::ran::mark();
    let _ = std::io::stdout().write_all(&output.stdout);
    let _ = std::io::stderr().write_all(&output.stderr);
    if !output.status.success() {
        let _ = fs::remove_file(&tmp_out);
        let _ = fs::remove_file(&dep_tmp);
        stats::note(job.store, &Event::Uncacheable("compile failed".into()));
        return Ok(exit_code(output.status));
    }
    // The compiler ran and printed; from here on an error must not run it
    // again (the fallback would print everything twice): report and fail.
    match finish(job, key, &out, &tmp_out, &dep_tmp, started, &output) {
        Ok(event) => {
            stats::note(job.store, &event);
            Ok(0)
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp_out);
            let _ = fs::remove_file(&dep_tmp);
            eprintln!("gg-cc: error: {e:#}");
            Ok(1)
        }
    }
}

/// Warns once and replaces this process with the real compiler, run as
/// called: a store that cannot take writes must not fail a build that the
/// compiler alone would finish.
fn plain(job: &Job<'_>, why: &str) -> anyhow::Error {
    crate::writable::warn(job.store, why);
    stats::note(job.store, &Event::Local("the store cannot take writes".into()));
    crate::exec_real(job.inv)
}

/// After a successful compile: the user's depfile, then the output (so a
/// failure leaves no object behind), then the record.
fn finish(
    job: &Job<'_>,
    key: Option<&str>,
    out: &str,
    tmp_out: &Path,
    dep_tmp: &Path,
    started: i128,
    output: &std::process::Output,
) -> Result<Event> {
    let c = job.compile;
    let dep_text = fs::read_to_string(dep_tmp);
    let _ = fs::remove_file(dep_tmp);
    let inputs = match dep_text.as_deref().map_err(|e| e.to_string()).and_then(depfile::inputs) {
        Ok(i) => i,
        Err(e) if c.lang.preprocessed_by_compiler() => anyhow::bail!("the compiler's depfile is unreadable: {e}"),
        Err(_) => vec![c.source.clone()],
    };
    let user_dep = match job.depfile_request() {
        Some(d) => {
            let text = if d.user_only {
                user_only_depfile(job, d, &inputs)
            } else {
                dep_text.as_deref().unwrap_or_default().as_bytes().to_vec()
            };
            Some((job.user_depfile(d), text))
        }
        None => None,
    };
    if let Some((path, bytes)) = &user_dep {
        fsutil::write_atomic(Path::new(path), bytes).with_context(|| format!("cannot write `{path}`"))?;
    }
    fs::rename(tmp_out, out).with_context(|| format!("cannot write `{out}`"))?;
    let Some(key) = key else { return Ok(Event::Uncacheable("source unreadable".into())) };
    Ok(match record(job, key, &inputs, out, started, output, user_dep.as_ref()) {
        Ok(event) => event,
        Err(e) => {
            debug(&format!("not recorded: {e:#}"));
            Event::Uncacheable("recording failed".into())
        }
    })
}

/// Dependency options for the real compile: always the full list (system
/// headers included) into our temp file, with the user's targets, so that
/// with `-MD` the file is exactly what the user asked for.
pub(crate) fn dep_flags(job: &Job<'_>, dep_tmp: &Path) -> Vec<String> {
    let tmp = dep_tmp.to_string_lossy().into_owned();
    let c = job.compile;
    if !c.lang.preprocessed_by_compiler() {
        return Vec::new();
    }
    let Some(d) = &c.deps else { return vec!["-MD".into(), "-MF".into(), tmp] };
    let mut flags = Vec::new();
    if d.via_wp {
        flags.push(format!("-Wp,-MD,{tmp}{}", if d.phony { ",-MP" } else { "" }));
    } else {
        flags.extend(["-MD".into(), "-MF".into(), tmp]);
        if d.phony {
            flags.push("-MP".into());
        }
        if d.targets.is_empty() {
            // What the driver would have added for the real `-o`.
            let target = c.output.clone().unwrap_or_else(|| c.output_path_for_deps());
            flags.extend(["-MQ".into(), target]);
        }
    }
    for (t, quoted) in &d.targets {
        flags.push(if *quoted { "-MQ" } else { "-MT" }.into());
        flags.push(t.clone());
    }
    flags
}

/// The `-MMD` depfile: the full list without system headers, laid out as
/// gcc lays it out.
pub(crate) fn user_only_depfile(job: &Job<'_>, d: &DepRequest, inputs: &[String]) -> Vec<u8> {
    let c = job.compile;
    let system: Vec<&String> = job.toolchain.includes(c.lang).iter().collect();
    let user_isystem = user_system_dirs(&c.args);
    let is_system = |p: &str| {
        let abs = job.absolute(p);
        system.iter().any(|s| abs.starts_with(&format!("{s}/")))
            || user_isystem.iter().any(|s| abs.starts_with(&format!("{}/", job.absolute(s))))
    };
    let deps: Vec<String> =
        inputs.iter().enumerate().filter(|(i, p)| *i == 0 || !is_system(p)).map(|(_, p)| p.clone()).collect();
    let targets: Vec<String> = if d.targets.is_empty() {
        let default = if d.via_wp {
            c.output_path_for_deps()
        } else {
            c.output.clone().unwrap_or_else(|| c.output_path_for_deps())
        };
        vec![depfile::quote(&default)]
    } else {
        d.targets.iter().map(|(t, q)| if *q { depfile::quote(t) } else { t.clone() }).collect()
    };
    match job.toolchain.family {
        Family::Gcc => depfile::write_gcc(&targets, &deps, d.phony),
        Family::Clang => depfile::write_clang(&targets, &deps, d.phony),
    }
    .into_bytes()
}

/// Folders named by `-isystem`/`-idirafter` (their headers are system headers).
fn user_system_dirs(args: &[String]) -> Vec<String> {
    crate::args::option_values(args, &["-isystem", "-idirafter"])
}

/// Hashes the inputs, builds the thunk and stores its reduction and the
/// manifest entry.
fn record(
    job: &Job<'_>,
    key: &str,
    deps: &[String],
    out: &str,
    started: i128,
    output: &std::process::Output,
    user_dep: Option<&(String, Vec<u8>)>,
) -> Result<Event> {
    let prepared = match prepare(job, deps, started)? {
        Ok(p) => p,
        Err(uncacheable) => return Ok(uncacheable),
    };
    let object = job.store.put_file(Path::new(out))?;
    let keep = |bytes: &[u8]| -> Result<Option<Name>> {
        Ok(if bytes.is_empty() { None } else { Some(job.store.put_bytes(Kind::Value, bytes)?) })
    };
    let reduction = Reduction {
        outputs: vec![(prepared.thunk.outputs[0].clone(), object)],
        stdout: keep(&output.stdout)?,
        stderr: keep(&output.stderr)?,
        executable: vec![],
    };
    commit(job, key, prepared, &reduction, user_dep)?;
    Ok(Event::Miss { bytes: object.size() })
}

/// A compile's thunk and the manifest's view of its inputs.
pub struct Prepared {
    pub thunk: gg_core::Thunk,
    pub(crate) files: Vec<FileEntry>,
    /// The inputs with their hashes, as the thunk holds them.
    pub(crate) inputs: Vec<(String, Name)>,
    /// The places `__has_include` probes could find a header in, and
    /// whether each existed.
    pub(crate) probes: Vec<(String, bool)>,
    /// Where a header shadowing one read would appear.
    pub(crate) shadows: crate::shadow::Shadows,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared").field("thunk", &self.thunk.name()).finish()
    }
}

/// Hashes the inputs and builds the thunk; `Err(event)` when the compile
/// must not be recorded (the event says why).
pub(crate) fn prepare(job: &Job<'_>, deps: &[String], started: i128) -> Result<Result<Prepared, Event>> {
    let time_fixed = std::env::var_os("SOURCE_DATE_EPOCH").is_some();
    if !time_fixed && job.args.iter().any(|a| uses_time_macros(a.as_bytes())) {
        return Ok(Err(Event::Uncacheable("an argument uses __DATE__/__TIME__".into())));
    }
    let now = manifest::now_ns();
    let mut paths: Vec<String> = vec![job.absolute(&job.compile.source)];
    for p in deps.iter().chain(&job.compile.input_files) {
        let abs = job.absolute(p);
        if !paths.contains(&abs) {
            paths.push(abs);
        }
    }
    let mut inputs = Vec::with_capacity(paths.len());
    let mut files = Vec::with_capacity(paths.len());
    let mut probes: Vec<(String, bool)> = Vec::new();
    let mut folders = None;
    // Probed headers that exist join the inputs as they are found (below),
    // so the list grows while it is walked.
    let mut next = 0;
    while next < paths.len() {
        let p = &paths[next].clone();
        next += 1;
        // Changed while the compiler ran: what it read is not what we hash.
        if manifest::changed_since(Path::new(p), started) {
            return Ok(Err(Event::Uncacheable(format!("`{}` changed during the compile", short(p)))));
        }
        let stat = manifest::stat_of(Path::new(p), now);
        let bytes = fs::read(p).with_context(|| format!("cannot read input `{p}`"))?;
        if !time_fixed && uses_time_macros(&bytes) {
            return Ok(Err(Event::Uncacheable(format!("`{}` uses __DATE__/__TIME__", short(p)))));
        }
        // Files the assembler pulls in are in no depfile (ccache refuses
        // these too).
        if memchr::memmem::find(&bytes, b".incbin").is_some()
            || (!job.compile.lang.preprocessed_by_compiler() || job.compile.lang == crate::args::Lang::AsmCpp)
                && memchr::memmem::find(&bytes, b".include").is_some()
        {
            return Ok(Err(Event::Uncacheable(format!("`{}` uses .incbin or .include", short(p)))));
        }
        if memchr::memmem::find(&bytes, b"__has_include").is_some() {
            let Ok(found) = has_include::probes(&bytes) else {
                return Ok(Err(Event::Uncacheable(format!("`{}` uses __has_include through a macro", short(p)))));
            };
            let folders = folders.get_or_insert_with(|| job.search_folders());
            for probe in &found {
                for place in has_include::candidates(probe, p, folders) {
                    if probes.iter().any(|(q, _)| *q == place) {
                        continue;
                    }
                    let exists = Path::new(&place).exists();
                    // Created while the compiler ran: it may have seen it absent.
                    if exists && manifest::changed_since(Path::new(&place), started) {
                        return Ok(Err(Event::Uncacheable(format!("`{}` changed during the compile", short(&place)))));
                    }
                    // A header found only by a probe is an input too: the
                    // thunk must carry it for the probe to find it there.
                    if exists && Path::new(&place).is_file() && !paths.contains(&place) {
                        paths.push(place.clone());
                    }
                    probes.push((place, exists));
                }
            }
        }
        let hash = Name::of_value(&bytes);
        inputs.push((p.clone(), hash));
        files.push(FileEntry { path: p.clone(), hash, stat });
    }
    // The locale's files travel like any input (hashed once per process).
    let locale = crate::locale::for_thunk();
    for f in &locale.files {
        inputs.push((f.clone(), locale_hash(f)?));
    }
    let env = job.env_inputs();
    let parts = Parts {
        toolchain: job.toolchain,
        arg0: &job.inv.arg0,
        compile: job.compile,
        cwd: &job.cwd,
        inputs: &inputs,
        env: &env,
        locale,
    };
    let thunk = thunkgen::compile_thunk(&parts)?;
    debug(&format!("recorded thunk {} for `{}`", thunk.name(), job.compile.source));
    if job.engine.is_some() || gg_core::env::store_inputs() {
        store_inputs(job, &inputs, &thunk)?;
    }
    // Where a header shadowing one read would appear (see `shadow`); the
    // source is named, not searched.
    let headers: Vec<&str> = files.iter().skip(1).map(|f| f.path.as_str()).collect();
    let shadows = crate::shadow::Shadows::record(job.search_folders(), &headers, started, now);
    Ok(Ok(Prepared { thunk, files, inputs, probes, shadows }))
}

/// The hash of a locale file, computed once per process.
fn locale_hash(path: &str) -> Result<Name> {
    static HASHES: std::sync::Mutex<Vec<(String, Name)>> = std::sync::Mutex::new(Vec::new());
    let mut known = HASHES.lock().expect("locale hashes");
    if let Some((_, n)) = known.iter().find(|(p, _)| p == path) {
        return Ok(*n);
    }
    let n = Name::of_file(Path::new(path)).with_context(|| format!("cannot read the locale file `{path}`"))?;
    known.push((path.to_string(), n));
    Ok(n)
}

/// Records the reduction and the manifest entry.
pub(crate) fn commit(
    job: &Job<'_>,
    key: &str,
    prepared: Prepared,
    reduction: &Reduction,
    user_dep: Option<&(String, Vec<u8>)>,
) -> Result<()> {
    let name = prepared.thunk.name();
    job.store.set_reduction(&name, reduction)?;
    let depfile = match user_dep {
        Some((_, bytes)) => Some(job.store.put_bytes(Kind::Value, bytes)?),
        None => None,
    };
    manifest::add(
        job.store,
        key,
        Entry { files: prepared.files, thunk: name, depfile, probes: prepared.probes, shadows: prepared.shadows },
    )?;
    Ok(())
}

/// Copies a stored object to `out` atomically, with the mode a compiler
/// would give it (0666 less the umask), not the store's read-only one.
pub(crate) fn write_object(blob: &Path, out: &Path) -> std::io::Result<()> {
    // SAFETY: umask only swaps a process-wide mask; gg-cc is one thread here.
    let mask = unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m
    };
    fsutil::copy_atomic_with_mode(blob, out, 0o666 & !(mask as u32))
}

/// Resolves `.` and `..` in an absolute path without touching the disk.
pub(crate) fn normalize(abs: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in abs.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Puts every input, the toolchain and the thunk itself in the store, so
/// that the thunk can be forced anywhere (`GG_STORE_INPUTS=1`).
pub(crate) fn store_inputs(job: &Job<'_>, inputs: &[(String, Name)], thunk: &gg_core::Thunk) -> Result<()> {
    for (p, hash) in inputs {
        if !job.store.has(hash) {
            let stored = job.store.put_file(Path::new(p))?;
            anyhow::ensure!(stored == *hash, "`{p}` changed while it was being recorded");
        }
    }
    if let Some(l) = job.toolchain.launcher {
        anyhow::ensure!(
            job.store.has(&l),
            "the stage launcher `{l}` is missing from the store; remove `toolchains/` to rebuild it"
        );
    }
    for (p, hash) in &job.toolchain.files {
        if !job.store.has(hash) {
            let stored = job.store.put_file(Path::new(p))?;
            anyhow::ensure!(stored == *hash, "toolchain file `{p}` changed since it was discovered");
        }
    }
    job.store.put_thunk(thunk)?;
    Ok(())
}

fn uses_time_macros(bytes: &[u8]) -> bool {
    ["__DATE__", "__TIME__", "__TIMESTAMP__"].iter().any(|m| memchr::memmem::find(bytes, m.as_bytes()).is_some())
}

fn short(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// Whether gg models this compiler's depfile layout for `-MMD`.
pub fn handles_user_only_deps(t: &Toolchain) -> bool {
    matches!(t.family, Family::Gcc | Family::Clang)
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn paths_are_normalised_lexically() {
        assert_eq!(normalize("/a/src/../include/./u.h"), "/a/include/u.h");
        assert_eq!(normalize("/../x"), "/x");
        assert_eq!(normalize("/a//b/"), "/a/b");
    }
}
