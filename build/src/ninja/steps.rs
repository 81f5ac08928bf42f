//! Archive and link edges as thunks. Their inputs are named the way the
//! engine will find them: the output of a compile (or archive, or link)
//! thunk of the same batch, a cached object's value, or a file on disk; so
//! a link thunk can consume objects that never come back to this machine.

use std::collections::HashMap;
use std::path::Path;

use crate::tool::{ArchiveInfo, Input, Model, SharedInfo};
use gg_core::{Name, OutputRef, Thunk};
use gg_ninja::{EdgeId, Graph};

/// What an edge of the batch makes, as inputs of later edges see it.
#[derive(Clone, Debug)]
pub enum Made {
    /// A thunk's output (by output name), and what it is.
    Output(OutputRef, Produced),
    /// A value already known (a cached compile).
    Value(Name),
}

/// What a thunk's output is, as far as the steps that read it need to
/// know before it exists.
#[derive(Clone, Debug)]
pub enum Produced {
    /// An object, or anything read as it is.
    Plain,
    SharedLibrary(SharedInfo),
    Archive(ArchiveInfo),
}

/// A modelled archive or link: its thunk, the paths of its outputs (as
/// the command writes them, in the order of the thunk's outputs) and what
/// they are.
#[derive(Debug)]
pub struct Step {
    pub thunk: Thunk,
    pub outputs: Vec<String>,
    pub produced: Produced,
}

/// Models archive or link edge `e`; `made` maps canonical paths made in
/// this batch to how to name them. `Err` says why it runs locally.
pub fn model(
    store: &gg_core::Store,
    graph: &Graph,
    e: EdgeId,
    cwd: &Path,
    made: &HashMap<String, Made>,
    archive: bool,
) -> anyhow::Result<Result<Step, String>> {
    let command = graph.command(e);
    let inputs = |path: &str| -> Input {
        let canon = gg_ninja::canonicalize_path(path);
        match made.get(&canon) {
            Some(Made::Output(r, Produced::Plain)) => Input::Output(r.clone()),
            Some(Made::Output(r, Produced::SharedLibrary(info))) => Input::SharedLibrary(r.clone(), info.clone()),
            Some(Made::Output(r, Produced::Archive(info))) => Input::Archive(r.clone(), info.clone()),
            Some(Made::Value(v)) => Input::Value(*v),
            None => Input::File,
        }
    };
    let step = if archive {
        match crate::archive::archive_thunk(store, &command, cwd, &inputs)? {
            Model::Thunk(a) => Step { thunk: a.thunk, outputs: a.outputs, produced: Produced::Archive(a.info) },
            Model::Local(why) => return Ok(Err(why)),
        }
    } else {
        match crate::link::link_thunk(store, &command, cwd, &inputs)? {
            Model::Thunk(l) => {
                let produced = l.library.map_or(Produced::Plain, Produced::SharedLibrary);
                Step { thunk: l.thunk, outputs: l.outputs, produced }
            }
            Model::Local(why) => return Ok(Err(why)),
        }
    };
    // The edge must declare exactly what the step writes.
    let mut declared: Vec<String> =
        graph.edge(e).outputs().iter().map(|&n| graph.path(n).to_string()).collect::<Vec<_>>();
    let mut written: Vec<String> = step.outputs.iter().map(|p| gg_ninja::canonicalize_path(p)).collect();
    declared.sort();
    written.sort();
    if declared != written {
        return Ok(Err(format!("it declares {declared:?} but writes {written:?}")));
    }
    store.put_thunk(&step.thunk)?;
    Ok(Ok(step))
}

/// What each output of `step` is, for the edges after it.
pub fn made_by(step: &Step) -> Vec<(String, Made)> {
    let name = step.thunk.name();
    step.outputs
        .iter()
        .zip(&step.thunk.outputs)
        .map(|(path, out)| {
            let r = OutputRef { thunk: name, output: Some(out.clone()) };
            (gg_ninja::canonicalize_path(path), Made::Output(r, step.produced.clone()))
        })
        .collect()
}

/// Writes a step's outputs from the store (re-hashed), executable where
/// the thunk made them so, each through a temp file and a rename.
pub fn write(store: &gg_core::Store, step: &Step, red: &gg_core::Reduction, cwd: &Path) -> anyhow::Result<()> {
    for (path, out) in step.outputs.iter().zip(&step.thunk.outputs) {
        let value = red.get(Some(out)).ok_or_else(|| anyhow::anyhow!("no output `{out}` recorded"))?;
        let (blob, _) = store.verified(&value, false)?;
        let dest = cwd.join(path);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mode = if red.is_executable(Some(out)) { 0o755 } else { 0o644 };
        gg_core::fsutil::copy_atomic_with_mode(&blob, &dest, mode)
            .map_err(|err| anyhow::anyhow!("cannot write `{}`: {err}", dest.display()))?;
    }
    Ok(())
}
