//! One gg-cc compile: a direct-mode lookup, and on a miss either the
//! thunk sent to the engine (when one is configured: see `remote.rs`) or
//! the real compiler run in place with a depfile added (ccache's "depend
//! mode"), after which the thunk that depfile describes is recorded with
//! its reduction, so the next identical compile, here or on any engine,
//! is a hit.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use gg_core::{fsutil, Kind, Name, Reduction};

use crate::depfile;
use crate::deps::{self, user_only_depfile};
use crate::job::Job;
use crate::log::debug;
use crate::manifest::{self, Entry};
use crate::prepare::{commit, prepare};
use crate::stats::{self, Event};
use crate::toolchain::{Family, Toolchain};
use crate::write_out::write_out;

/// How many names of the store's `tmp/` a miss looks at for temps of
/// killed writers: the folder holds only writes in flight, so this bound
/// is reached only after many kills, and later misses finish the sweep.
const STALE_SWEEP_LIMIT: usize = 256;

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
    if let (Some(key), Ok(source)) = (&key, &source) {
        match manifest::lookup(job.store, key, &|| job.travel(source, key)) {
            Ok((entry, origin)) => match serve_hit(job, &entry) {
                Ok(()) => {
                    gg_core::tally::add(origin.source(), 1);
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
    fsutil::remove_dead_temps_beside(Path::new(&out));
    let depfile = depfile.as_ref().map(|(path, bytes)| (Path::new(path), bytes.as_slice()));
    write_out(&blob, Path::new(&out), depfile)?;
    crate::ran::mark();
    // Served: a closed stream is the caller's choice, not a reason to compile.
    let _ = std::io::stdout().write_all(&stdout);
    let _ = std::io::stderr().write_all(&stderr);
    Ok(())
}

fn compile_in_place(job: &Job<'_>, key: Option<&str>) -> Result<i32> {
    if let Err(why) = crate::writable::check(job.store) {
        return Err(plain(job, &why));
    }
    let (output, result) = match compile_here(job, key, true)? {
        Here::Plain(why) => return Err(plain(job, why)),
        Here::Failed { code, output } => {
            crate::ran::mark();
            let _ = std::io::stdout().write_all(&output.stdout);
            let _ = std::io::stderr().write_all(&output.stderr);
            stats::note(job.store, &Event::Uncacheable("compile failed".into()));
            return Ok(code);
        }
        Here::Done { output, result } => (output, result),
    };
    crate::ran::mark();
    let _ = std::io::stdout().write_all(&output.stdout);
    let _ = std::io::stderr().write_all(&output.stderr);
    match result {
        Ok(done) => {
            stats::note(job.store, &done.event);
            Ok(0)
        }
        Err(e) => {
            eprintln!("gg-cc: error: {e:#}");
            Ok(1)
        }
    }
}

/// What a compile run in place came to.
#[derive(Debug)]
pub enum Here {
    /// gg's own trouble before anything was printed (the store took no
    /// depfile): the compile is to be run plain, for this reason.
    Plain(&'static str),
    /// The compiler failed: its exit code and what it printed.
    Failed { code: i32, output: std::process::Output },
    /// The compiler succeeded and printed `output`; the object and depfile
    /// are written and the compile recorded, unless `result` says why not
    /// (then nothing is left behind, and the compile must count as failed:
    /// running it again would print everything twice).
    Done { output: std::process::Output, result: Result<Done> },
}

/// A compile done in place.
#[derive(Debug)]
pub struct Done {
    /// Recorded, or why not (for the stats).
    pub event: Event,
    /// Every file it read, as the compiler listed them (the source first).
    pub read: Vec<String>,
    /// The object's name in the store, if recorded.
    pub object: Option<Name>,
}

/// Runs the real compiler in place with a depfile added (ccache's depend
/// mode), writes the object and, with `write_depfile`, the user's depfile,
/// then records the thunk the depfile describes with its reduction, so
/// the next identical compile, here or on any engine, is a hit.
pub fn compile_here(job: &Job<'_>, key: Option<&str>, write_depfile: bool) -> Result<Here> {
    let c = job.compile;
    let out = c.output_path();
    // What a killed gg-cc (or compiler) left for this output and in the
    // store: cheap here, where a compile follows.
    fsutil::remove_dead_temps_beside(&job.cwd.join(&out));
    if let Some(d) = job.depfile_request() {
        fsutil::remove_dead_temps_beside(&job.cwd.join(job.user_depfile(d)));
    }
    job.store.sweep_dead_temps(STALE_SWEEP_LIMIT);
    let tmp_out = fsutil::temp_beside(&job.cwd.join(&out));
    let dep_tmp = job.store.temp_path("deps");
    let mut args: Vec<String> = c.args.clone();
    args.push("-o".into());
    args.push(tmp_out.to_string_lossy().into_owned());
    args.extend(deps::compile_flags(c, &dep_tmp));
    let mut cmd = Command::new(&job.inv.compiler);
    {
        use std::os::unix::process::CommandExt;
        cmd.arg0(&job.inv.arg0);
    }
    let started = manifest::now_ns();
    let output = cmd
        .args(&args)
        .current_dir(&job.cwd)
        .output()
        .with_context(|| format!("cannot run `{}`", job.inv.compiler.display()))?;
    if !output.status.success()
        && memchr::memmem::find(&output.stderr, dep_tmp.as_os_str().as_encoded_bytes()).is_some()
    {
        // The store filled up (or went read-only) under the depfile: the
        // failure is gg's, so the user sees the plain compile, not this one.
        let _ = fs::remove_file(&tmp_out);
        let _ = fs::remove_file(&dep_tmp);
        return Ok(Here::Plain("its dependency file could not be written"));
    }
    if !output.status.success() {
        let _ = fs::remove_file(&tmp_out);
        let _ = fs::remove_file(&dep_tmp);
        // The compiler removes its output when it fails: an object left
        // from before must not look up to date.
        let _ = fs::remove_file(job.cwd.join(&out));
        return Ok(Here::Failed { code: exit_code(output.status), output });
    }
    gg_core::tally::add(gg_core::tally::Source::RanHere, 1);
    let result = finish(job, key, &out, (&tmp_out, &dep_tmp), started, &output, write_depfile);
    if result.is_err() {
        let _ = fs::remove_file(&tmp_out);
        let _ = fs::remove_file(&dep_tmp);
    }
    Ok(Here::Done { output, result })
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
    // The object and the full depfile the compiler wrote, in temp files.
    (tmp_out, dep_tmp): (&Path, &Path),
    started: i128,
    output: &std::process::Output,
    write_depfile: bool,
) -> Result<Done> {
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
    crate::inputs::verify_in_place(job, &inputs)?;
    if let Some((path, bytes)) = user_dep.as_ref().filter(|_| write_depfile) {
        crate::write_out::write_depfile(&job.cwd.join(path), bytes)?;
    }
    let out = job.cwd.join(out);
    fs::rename(tmp_out, &out).with_context(|| format!("cannot write `{}`", out.display()))?;
    let Some(key) = key else {
        return Ok(Done { event: Event::Uncacheable("source unreadable".into()), read: inputs, object: None });
    };
    Ok(match record(job, key, &inputs, &out, started, output, user_dep.as_ref()) {
        Ok((event, object)) => Done { event, read: inputs, object },
        Err(e) => {
            debug(&format!("not recorded: {e:#}"));
            Done { event: Event::Uncacheable("recording failed".into()), read: inputs, object: None }
        }
    })
}

/// Hashes the inputs, builds the thunk and stores its reduction and the
/// manifest entry.
fn record(
    job: &Job<'_>,
    key: &str,
    deps: &[String],
    out: &Path,
    started: i128,
    output: &std::process::Output,
    user_dep: Option<&(String, Vec<u8>)>,
) -> Result<(Event, Option<Name>)> {
    let prepared = match prepare(job, deps, Some(started))? {
        Ok(p) => p,
        Err(uncacheable) => return Ok((uncacheable, None)),
    };
    let object = job.store.put_file(out)?;
    let keep = |bytes: &[u8]| -> Result<Option<Name>> {
        Ok(if bytes.is_empty() { None } else { Some(job.store.put_bytes(Kind::Value, bytes)?) })
    };
    let mut outputs = vec![(prepared.thunk.outputs[0].clone(), object)];
    // The thunk's second output, as any engine would have stored it.
    if let Some(list) = prepared.thunk.outputs.get(1) {
        outputs.push((list.clone(), job.store.put_bytes(Kind::Value, &depfile::to_canonical(deps))?));
    }
    let reduction =
        Reduction { outputs, stdout: keep(&output.stdout)?, stderr: keep(&output.stderr)?, executable: vec![] };
    commit(job, key, prepared, &reduction, user_dep)?;
    Ok((Event::Miss { bytes: object.size() }, Some(object)))
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// Whether gg models this compiler's depfile layout for `-MMD`.
pub fn handles_user_only_deps(t: &Toolchain) -> bool {
    matches!(t.family, Family::Gcc | Family::Clang)
}
