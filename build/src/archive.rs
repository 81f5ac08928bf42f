//! The archive model: a static library made by `ar`, as CMake's Ninja
//! generator writes it (`cmake -E rm -f x.a && ar qc x.a objs… && ranlib
//! x.a`), or as make and Meson do (`ar rcs x.a objs…`, `rm -f x.a &&
//! gcc-ar csrD x.a objs…`, `csrDT` for a thin archive), becomes one thunk
//! that runs the same archiver (GNU ar, the ar gcc-ar runs with its LTO
//! plugin, or llvm-ar: see `archiver.rs`) through its shipped loader on the
//! same members.
//!
//! A thunk starts from an empty sandbox, so the archive is always made
//! afresh, as in a clean build: the `rm` step has nothing to do, and `r`
//! (replace) or `q` (append) make the same archive. GNU ar already writes
//! the symbol index when it creates an archive, and `ranlib` afterwards
//! rewrites the same index: the thunk runs `ar` with `s` instead (tests
//! compare the bytes). Members are named by their file name only (no `P`),
//! so where the sandbox puts them does not show; the thunk adds `D`, which
//! Debian's ar implies anyway, so that no time stamp or owner reaches the
//! archive (`U` runs locally). `ar` indexes LTO members through the BFD
//! plugins installed beside it, so the thunk ships those too (GCC's LTO
//! plugin, not LLVM's: see [`Tool::find`](crate::tool::Tool::find)).
//!
//! A thin archive (`T`) names its members by their paths relative to its
//! folder, which come out the same in the sandbox as here when no folder
//! on the way is a symbolic link (see `thin.rs`); a member named by its
//! absolute path would name the sandbox, and runs locally. The thunk
//! reports those paths ([`Archived::info`]), since a link against the
//! archive must have the members there too.

use std::path::Path;

use anyhow::Result;
use gg_core::{Store, Thunk};

use crate::archiver::{self, Archiver};
use crate::thin;
use crate::tool::{self, ArchiveInfo, Input, Model, Objects};

/// The modifiers of `q`/`r` the model accepts: create quietly, index or
/// not, deterministic, only newer (nothing is older in a new archive),
/// thin.
const MODIFIERS: &str = "csSDuT";

/// An archive step as a thunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Archived {
    pub thunk: Thunk,
    /// The output paths as the command writes them, in the order of
    /// `thunk.outputs`.
    pub outputs: Vec<String>,
    /// What a link against the archive needs to know (pass it back as
    /// [`Input::Archive`]).
    pub info: ArchiveInfo,
}

/// The thunk for a static-library command (a shell command line as Ninja
/// runs it) run in `cwd`; or why it must run locally. `inputs` is asked
/// about each member, by its path as written (normalised as Ninja
/// normalises paths).
pub fn archive_thunk(
    store: &Store,
    command: &str,
    cwd: &Path,
    inputs: &dyn Fn(&str) -> Input,
) -> Result<Model<Archived>> {
    let local = |why: String| Ok(Model::Local(format!("archive: {why}")));
    let plan = match parse(command) {
        Ok(plan) => plan,
        Err(why) => return local(why),
    };
    let archiver = match Archiver::find(store, &plan.ar)? {
        Ok(archiver) => archiver,
        Err(why) => return local(why),
    };
    if let Some(ranlib) = &plan.ranlib {
        if let Err(why) = archiver.check_ranlib(store, ranlib) {
            return local(why);
        }
    }

    let mut objects = Objects::default();
    if let Err(why) = archiver.place(store, &mut objects)? {
        return local(why);
    }
    let archive = tool::normalize(&plan.archive);
    let archive_abs = tool::absolute(cwd, &archive);
    let out = tool::sandbox_path(&archive_abs);
    let is_thin = plan.ops.contains('T');
    if is_thin && !thin::without_links(&cwd.join(&plan.archive)) {
        return local(format!("the thin archive `{}` is reached through a symbolic link", plan.archive));
    }
    let folder = archive_abs.rsplit_once('/').map_or("/", |(d, _)| if d.is_empty() { "/" } else { d });
    let mut thin_members = Vec::new();
    let mut lto = false;
    let mut args = vec![tool::reroot(&archive)];
    for member in &plan.members {
        let normal = tool::normalize(member);
        let Some(found) = tool::find_input(store, cwd, inputs, &normal)? else {
            return local(format!("the member `{normal}` does not exist"));
        };
        lto |= found.lto;
        let member_abs = tool::absolute(cwd, &normal);
        let at = tool::sandbox_path(&member_abs);
        if at == out {
            return local("the archive is also a member".into());
        }
        if is_thin {
            if let Err(why) = thin_member(cwd, member, found.archive) {
                return local(why);
            }
            thin_members.push(thin::relative(folder, &member_abs));
        }
        if let Err(why) = objects.add(at, found.source) {
            return local(why);
        }
        args.push(tool::reroot(&normal));
    }
    if objects.contains(&out) {
        return local(format!("`{archive}` is also an input of the archive step"));
    }
    let function = archiver.function(&plan.modifiers(), args);
    let (values, executables, thunks) = objects.into_parts();
    let cwd_rel = tool::sandbox_path(&cwd.to_string_lossy());
    match Thunk::new(function, values, executables, thunks, vec![out], cwd_rel, 0) {
        Ok(thunk) => {
            let info = ArchiveInfo { thin_members: is_thin.then_some(thin_members), lto };
            Ok(Model::Thunk(Archived { thunk, outputs: vec![plan.archive], info }))
        }
        Err(e) => local(format!("the thunk is not valid: {e}")),
    }
}

/// Why a member of a thin archive (`written` as the command names it)
/// cannot be one in a thunk, if so.
fn thin_member(cwd: &Path, written: &str, is_archive: bool) -> Result<(), String> {
    if written.starts_with('/') {
        return Err(format!("a thin archive names `{written}` by its absolute path"));
    }
    if is_archive {
        return Err(format!("a thin archive of the archive `{written}`"));
    }
    if !thin::without_links(&cwd.join(written)) {
        return Err(format!("the thin archive's member `{written}` is reached through a symbolic link"));
    }
    Ok(())
}

/// What an archive command does, once understood.
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    ar: String,
    /// The operation (`q` or `r`) and its modifiers, as written.
    ops: String,
    archive: String,
    members: Vec<String>,
    /// The `ranlib` that runs afterwards, if any.
    ranlib: Option<String>,
}

impl Plan {
    /// The key letters the thunk runs `ar` with: the index written (`s`)
    /// when `ranlib` follows, and deterministic (`D`).
    fn modifiers(&self) -> String {
        let mut ops: String = self.ops.chars().filter(|&c| !(self.ranlib.is_some() && c == 'S')).collect();
        if self.ranlib.is_some() && !ops.contains('s') {
            ops.push('s');
        }
        if !ops.contains('D') {
            ops.push('D');
        }
        ops
    }
}

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Reads `[rm -f A &&] ar OPS A members… [&& ranlib A]`.
fn parse(command: &str) -> Result<Plan, String> {
    let steps = tool::shell_steps(command)?;
    let mut steps = steps.as_slice();
    let mut removed = None;
    if let Some(first) = steps.first() {
        let words: Vec<&str> = first.iter().map(String::as_str).collect();
        match (base(words[0]), &words[1..]) {
            ("cmake", ["-E", "rm" | "remove", "-f", path]) | ("rm", ["-f", path]) => {
                removed = Some(path.to_string());
                steps = &steps[1..];
            }
            _ => {}
        }
    }
    let Some((ar_step, rest)) = steps.split_first() else { return Err("no `ar` step".into()) };
    let ar = &ar_step[0];
    if ar_step.len() < 3 {
        return Err(format!("`{ar}` without an archive"));
    }
    if ar_step[1].starts_with("--") {
        return Err(format!("the ar option `{}`", ar_step[1]));
    }
    let ops = ar_step[1].strip_prefix('-').unwrap_or(&ar_step[1]).to_string();
    check_ops(&ops)?;
    let archive = ar_step[2].clone();
    if archive.starts_with('-') {
        return Err(format!("the option `{archive}` of ar"));
    }
    let members = ar_step[3..].to_vec();
    if let Some(m) = members.iter().find(|m| m.starts_with('-')) {
        return Err(format!("the option `{m}` of ar"));
    }
    if removed.as_ref().is_some_and(|r| tool::normalize(r) != tool::normalize(&archive)) {
        return Err("the step removes another file than the archive".into());
    }
    let ranlib = match rest {
        [] => None,
        [step] if step.len() == 2 && tool::normalize(&step[1]) == tool::normalize(&archive) => {
            if archiver::family(&step[0], "ranlib").is_none() {
                return Err(format!("the step `{}` after ar", step.join(" ")));
            }
            Some(step[0].clone())
        }
        [step, ..] => return Err(format!("the step `{}` after ar", step.join(" "))),
    };
    Ok(Plan { ar: ar.clone(), ops, archive, members, ranlib })
}

/// Accepts exactly one of `q` and `r` with modifiers from [`MODIFIERS`].
fn check_ops(ops: &str) -> Result<(), String> {
    let op: Vec<char> = ops.chars().filter(|c| "dmpqrstx".contains(*c)).collect();
    match op.as_slice() {
        ['q'] | ['r'] => {}
        ['q' | 'r', 's'] | ['s', 'q' | 'r'] => {} // `s` is also a modifier
        _ => return Err(format!("the ar operation `{ops}`")),
    }
    if let Some(c) = ops.chars().find(|c| !"qr".contains(*c) && !MODIFIERS.contains(*c)) {
        let why = match c {
            'U' => "an archive with time stamps (U)".to_string(),
            'P' => "members named by their full path (P)".to_string(),
            'v' => "verbose ar output".to_string(),
            c => format!("the ar modifier `{c}`"),
        };
        return Err(why);
    }
    Ok(())
}

#[cfg(test)]
#[path = "archive_tests.rs"]
mod tests;
