//! A compile's thunk from its dependency list: every input read and
//! hashed (with the checks that make a compile uncacheable: time macros,
//! `.incbin`, files changed during the compile, `__has_include` probes),
//! the thunk built ([`prepare`]), and after it ran, its reduction and
//! direct-mode entry recorded ([`commit`]).

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use gg_core::fxhash::FxSet;
use gg_core::{Kind, Name, Reduction};

use crate::has_include;
use crate::interned::Interned;
use crate::job::Job;
use crate::log::debug;
use crate::manifest::{self, Entry, FileEntry};
use crate::stats::Event;
use crate::thunkgen::{self, Parts};

/// A compile's thunk and the manifest's view of its inputs.
pub struct Prepared {
    /// Shared with the engine that runs it (not copied to be sent).
    pub thunk: std::sync::Arc<gg_core::Thunk>,
    /// The thunk's name (from its encoding, made once: a thunk with
    /// hundreds of inputs is named, stored and sent, and encoding it is a
    /// good part of a client's work per compile).
    pub name: Name,
    /// The inputs read, with their hashes and stats (the thunk's values
    /// but the locale's files). Nothing else is kept per input: `gg ninja`
    /// holds a round's thousands of compiles at once.
    pub(crate) files: Vec<FileEntry>,
    /// An input uses `__FILE__` or `__builtin_FILE` (see `basedir`).
    pub(crate) file_macro: bool,
    /// The places `__has_include` probes could find a header in, and
    /// whether each existed.
    pub(crate) probes: Vec<(String, bool)>,
    /// Where a header shadowing one read would appear.
    pub(crate) shadows: crate::shadow::Shadows,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared").field("thunk", &self.name).finish()
    }
}

/// Hashes the inputs and builds the thunk; `Err(event)` when the compile
/// must not be recorded (the event says why). `started`: when the compile
/// (or the scan that chose `deps`) started here, so that an input changed
/// since is caught; `None` when nothing ran yet (the thunk will run on
/// exactly what is hashed now).
pub fn prepare(job: &Job<'_>, deps: &[String], started: Option<i128>) -> Result<Result<Prepared, Event>> {
    prepare_interned(job, deps.iter().map(|p| crate::inputs::interned(job, p)).collect(), started)
}

/// [`prepare`] of paths made absolute, normal and interned already (the
/// scanner's; see [`crate::inputs::interned`]).
pub fn prepare_interned(job: &Job<'_>, deps: Vec<Interned>, started: Option<i128>) -> Result<Result<Prepared, Event>> {
    let store = match (job.engine.is_some(), gg_core::env::store_inputs()) {
        (true, _) => Inputs::Known,
        (false, true) => Inputs::Copied,
        (false, false) => Inputs::Left,
    };
    prepare_with(job, deps, started, store)
}

/// What becomes of a thunk's inputs when it is prepared.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Inputs {
    /// Nothing: the compile runs in place.
    Left,
    /// Known to the store where they are, copied in only if this process's
    /// engine reads them (see `Store::know_file_as`).
    Known,
    /// Copied into the store, for another process to force the thunk
    /// (`GG_STORE_INPUTS=1`).
    Copied,
}

/// [`prepare`], storing the thunk and making every input and the
/// toolchain known to the store, so that this process's engine can force
/// it wherever it runs it (`gg ninja`'s compiles).
/// `deps` are absolute and normal (interned, see [`crate::inputs::interned`]).
pub fn prepare_stored(job: &Job<'_>, deps: Vec<Interned>, started: Option<i128>) -> Result<Result<Prepared, Event>> {
    prepare_with(job, deps, started, Inputs::Known)
}

fn prepare_with(
    job: &Job<'_>,
    deps: Vec<Interned>,
    started: Option<i128>,
    store: Inputs,
) -> Result<Result<Prepared, Event>> {
    let time_fixed = std::env::var_os("SOURCE_DATE_EPOCH").is_some();
    if !time_fixed && job.args.iter().any(|a| uses_time_macros(a.as_bytes())) {
        return Ok(Err(Event::Uncacheable("an argument uses __DATE__/__TIME__".into())));
    }
    let now = manifest::now_ns();
    let changed = |p: &str| started.is_some_and(|t| manifest::changed_since(Path::new(p), t));
    // The inputs in order, each once. Headers a `__has_include` probe
    // finds join them after the rest (`extra`), so that the main list can
    // be borrowed while it is walked.
    let mut paths: Vec<Interned> = Vec::with_capacity(deps.len() + 1 + job.compile.input_files.len());
    paths.push(crate::inputs::interned(job, &job.compile.source));
    paths.extend(deps);
    paths.extend(job.compile.input_files.iter().map(|p| crate::inputs::interned(job, p)));
    dedup_in_order(&mut paths);
    let listed: FxSet<usize> = paths.iter().map(Interned::addr).collect();
    let mut extra: Vec<Interned> = Vec::new();
    // Each path's hash and stat, in the order of `paths` then `extra`.
    let mut found = Vec::with_capacity(paths.len());
    let mut probes: Vec<(String, bool)> = Vec::new();
    let mut folders = None;
    let mut file_macro = false;
    let mut next = 0;
    while next < paths.len() + extra.len() {
        let p: &Interned = match paths.get(next) {
            Some(p) => p,
            None => &extra[next - paths.len()].clone(),
        };
        next += 1;
        // Changed while the compiler ran: what it read is not what we hash.
        if changed(p) {
            return Ok(Err(Event::Uncacheable(format!("`{}` changed during the compile", short(p)))));
        }
        // Read and hashed once per process (gg ninja prepares thousands of
        // compiles sharing their headers), re-read when its stat changes;
        // looked up once per round.
        let (meta, facts) = crate::scan::known(p).with_context(|| format!("cannot read input `{p}`"))?;
        let stat = crate::stamp::stat_of_meta(&meta, now);
        if !time_fixed && facts.time_macros {
            return Ok(Err(Event::Uncacheable(format!("`{}` uses __DATE__/__TIME__", short(p)))));
        }
        // Files the assembler pulls in are in no depfile (ccache refuses
        // these too).
        if facts.incbin
            || (!job.compile.lang.preprocessed_by_compiler() || job.compile.lang == crate::args::Lang::AsmCpp)
                && facts.dot_include
        {
            return Ok(Err(Event::Uncacheable(format!("`{}` uses .incbin or .include", short(p)))));
        }
        if facts.has_include {
            let Some(probed) = probes_of(p, &facts)? else {
                return Ok(Err(Event::Uncacheable(format!("`{}` uses __has_include through a macro", short(p)))));
            };
            let folders = folders.get_or_insert_with(|| job.search_folders());
            for probe in probed.iter() {
                for place in has_include::candidates(probe, p, folders) {
                    if probes.iter().any(|(q, _)| *q == place) {
                        continue;
                    }
                    // As the round sees it when nothing ran yet (`gg
                    // ninja`: the same few places for every compile);
                    // after a compile here, as the file system says now.
                    let exists = match started {
                        None => crate::snapshot::exists(&place),
                        Some(_) => Path::new(&place).exists(),
                    };
                    // Created while the compiler ran: it may have seen it absent.
                    if exists && changed(&place) {
                        return Ok(Err(Event::Uncacheable(format!("`{}` changed during the compile", short(&place)))));
                    }
                    // A header found only by a probe is an input too: the
                    // thunk must carry it for the probe to find it there.
                    let is_file = match started {
                        None => crate::snapshot::metadata(&place).is_some_and(|m| m.is_file()),
                        Some(_) => Path::new(&place).is_file(),
                    };
                    if exists && is_file {
                        let place = Interned::new(&place);
                        if !listed.contains(&place.addr()) && !extra.contains(&place) {
                            extra.push(place);
                        }
                    }
                    probes.push((place, exists));
                }
            }
        }
        file_macro |= facts.file_macro;
        found.push((facts.hash, stat));
    }
    drop(listed);
    paths.extend(extra);
    // Where a header shadowing one read would appear (see `shadow`); the
    // source is named, not searched.
    let shadows = crate::shadow::Shadows::record(job.search_folders(), &paths[1..], started, now);
    // The paths move into the entries (hundreds per compile): not
    // cloned, as every clone of a shared header's path was an atomic
    // count on a line both cores write.
    let files: Vec<FileEntry> =
        paths.into_iter().zip(found).map(|(path, (hash, stat))| FileEntry { path, hash, stat }).collect();
    // The locale's files travel like any input (hashed once per process).
    let locale = crate::locale::for_thunk();
    let mut inputs: Vec<(&str, Name)> = files.iter().map(|f| (f.path.as_str(), f.hash)).collect();
    for f in &locale.files {
        inputs.push((f, locale_hash(f)?));
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
    let encoded = thunk.encode();
    let name = Name::of_bytes(Kind::Thunk, &encoded);
    debug(&format!("recorded thunk {name} for `{}`", job.compile.source));
    if store != Inputs::Left {
        store_inputs(job, &inputs, name, &encoded, store == Inputs::Copied)?;
    }
    drop(inputs);
    Ok(Ok(Prepared { thunk: std::sync::Arc::new(thunk), name, files, file_macro, probes, shadows }))
}

/// Keeps, of what the direct-mode entry checks, only the files the compile
/// read (`read`: its own list; the thunk carried a superset): a change to a
/// header it never opened is no reason to miss.
pub fn narrow(job: &Job<'_>, prepared: &mut Prepared, read: &[String]) {
    // By address: the compile lists hundreds of paths, most of them
    // relative, which every compile of a round spells the same way.
    let mut read: FxSet<usize> = read.iter().map(|p| crate::inputs::interned(job, p).addr()).collect();
    if let Some(source) = prepared.files.first() {
        read.insert(source.path.addr());
    }
    for i in &job.compile.input_files {
        read.insert(crate::inputs::interned(job, i).addr());
    }
    prepared.files.retain(|f| read.contains(&f.path.addr()));
}

/// The `__has_include` probes of the file at `path` (whose facts are
/// `facts`), worked out once per content: every compile of a C++ project
/// reads the same few library headers that probe. `None` if a probe names
/// its header through a macro.
fn probes_of(path: &str, facts: &crate::scan::Facts) -> Result<Option<std::sync::Arc<Vec<has_include::Probe>>>> {
    type Known = gg_core::fxhash::FxMap<Name, Option<std::sync::Arc<Vec<has_include::Probe>>>>;
    static KNOWN: std::sync::LazyLock<std::sync::Mutex<Known>> = std::sync::LazyLock::new(Default::default);
    if let Some(known) = KNOWN.lock().expect("probes").get(&facts.hash) {
        return Ok(known.clone());
    }
    let bytes = fs::read(path).with_context(|| format!("cannot read input `{path}`"))?;
    // Read again: kept only if these are the bytes the facts are of.
    if Name::of_bytes(Kind::Value, &bytes) != facts.hash {
        return Ok(has_include::probes(&bytes).ok().map(std::sync::Arc::new));
    }
    let found = has_include::probes(&bytes).ok().map(std::sync::Arc::new);
    KNOWN.lock().expect("probes").insert(facts.hash, found.clone());
    Ok(found)
}

/// The hash of a locale file, worked out once per process, and through
/// the store's facts index like a header's: C.UTF-8's `LC_CTYPE` is
/// 350 KB, which every gg-cc process hashed anew (a stat and a small read
/// once the index holds it).
fn locale_hash(path: &str) -> Result<Name> {
    static HASHES: std::sync::Mutex<Vec<(String, Name)>> = std::sync::Mutex::new(Vec::new());
    let mut known = HASHES.lock().expect("locale hashes");
    if let Some((_, n)) = known.iter().find(|(p, _)| p == path) {
        return Ok(*n);
    }
    let n = crate::scan::hash_now(path)
        .or_else(|_| Name::of_file(Path::new(path)))
        .with_context(|| format!("cannot read the locale file `{path}`"))?;
    known.push((path.to_string(), n));
    Ok(n)
}

/// Records the reduction and the manifest entry.
pub fn commit(
    job: &Job<'_>,
    key: &str,
    prepared: Prepared,
    reduction: &Reduction,
    user_dep: Option<&(String, Vec<u8>)>,
) -> Result<()> {
    job.store.set_reduction(&prepared.name, reduction)?;
    record_entry(job, key, prepared, user_dep)
}

/// Records the manifest entry of a compile whose reduction is recorded
/// already (by the scheduler that forced its thunk: writing it again, and
/// sending it to a shared cache again, was work for nothing).
pub fn record_entry(job: &Job<'_>, key: &str, prepared: Prepared, user_dep: Option<&(String, Vec<u8>)>) -> Result<()> {
    let name = prepared.name;
    let depfile = match user_dep {
        Some((_, bytes)) => Some(job.store.put_bytes(Kind::Value, bytes)?),
        None => None,
    };
    // Written back if a shared cache takes writes: the source is the
    // first file, its hash the one the key was made with.
    let share = job.store.shared().filter(|s| !s.read_only()).and(prepared.files.first()).map(|source| {
        let travel = job.travel(&source.hash, key);
        let file_macro_tied = prepared.file_macro
            && travel.base.as_deref().is_some_and(|b| crate::basedir::file_macro_ties_to_path(job.args, b));
        manifest::Share { travel, file_macro_tied, layout: crate::basedir::layout(job.toolchain.family) }
    });
    manifest::add(
        job.store,
        key,
        Entry {
            files: prepared.files,
            thunk: name,
            depfile,
            probes: prepared.probes,
            shadows: prepared.shadows,
            carried: None,
        },
        share,
    )?;
    Ok(())
}

/// Stores the thunk itself (`encoded`) and makes every input and the
/// toolchain known to the store: copied in (`copy`), or known where they
/// are, copied in only when this process's engine reads one (a worker
/// that holds them all costs no copy of the 90 MB toolchain).
fn store_inputs(job: &Job<'_>, inputs: &[(&str, Name)], name: Name, encoded: &[u8], copy: bool) -> Result<()> {
    let put = |p: &str, hash: &Name| -> std::io::Result<()> {
        if copy {
            job.store.put_file_as(Path::new(p), hash)
        } else {
            job.store.know_file_as(Path::new(p), hash);
            Ok(())
        }
    };
    // Once per process and blob: the compiles of a batch share headers
    // and the whole toolchain.
    for (p, hash) in inputs {
        put(p, hash).with_context(|| format!("cannot store the input `{p}`"))?;
    }
    if let Some(l) = job.toolchain.launcher {
        anyhow::ensure!(
            job.store.has(&l),
            "the stage launcher `{l}` is missing from the store; remove `toolchains/` to rebuild it"
        );
    }
    for (p, hash) in &job.toolchain.files {
        put(p, hash).with_context(|| format!("cannot store the toolchain file `{p}`"))?;
    }
    job.store.put_named(name, encoded)?;
    Ok(())
}

/// Removes later copies of any path, keeping the first's place.
fn dedup_in_order(paths: &mut Vec<Interned>) {
    let mut seen: FxSet<usize> = FxSet::with_capacity_and_hasher(paths.len(), Default::default());
    let keep: Vec<bool> = paths.iter().map(|p| seen.insert(p.addr())).collect();
    if keep.iter().all(|k| *k) {
        return;
    }
    let mut keep = keep.into_iter();
    paths.retain(|_| keep.next().unwrap_or(true));
}

fn uses_time_macros(bytes: &[u8]) -> bool {
    ["__DATE__", "__TIME__", "__TIMESTAMP__"].iter().any(|m| memchr::memmem::find(bytes, m.as_bytes()).is_some())
}

fn short(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

#[cfg(test)]
mod tests {
    use crate::interned::Interned;

    #[test]
    fn later_copies_of_a_path_go_and_the_order_stays() {
        let mut paths: Vec<Interned> = ["/s.c", "/a.h", "/b.h", "/a.h", "/s.c", "/c.h"].map(Interned::new).to_vec();
        super::dedup_in_order(&mut paths);
        assert_eq!(paths, ["/s.c", "/a.h", "/b.h", "/c.h"]);
    }
}
