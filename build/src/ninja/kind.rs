//! How each dirty edge is built ([`Kind`]): a compile gg models (its
//! [`CompileStep`]), an archive or a link (modelled later, once their
//! inputs are known), a phony edge, or a command run here as it is. Read
//! from the command line alone, on all cores: a large build has tens of
//! thousands of them.

use std::collections::HashMap;
use std::path::Path;

use gg_core::Store;
use gg_ninja::{EdgeId, Graph, CONSOLE_POOL};
use rayon::prelude::*;

use crate::plan::CompileStep;

/// How one edge is built.
#[derive(Debug)]
pub(super) enum Kind {
    Phony,
    Compile(Box<CompileStep>),
    /// Looks like `ar`, `gcc-ar` or `llvm-ar` (and `ranlib`): modelled once
    /// its inputs are known.
    Archive,
    /// Looks like a link by the compiler driver: likewise.
    Link,
    Local,
}

/// The kinds of the edges in `order` (phony ones included), and why each
/// edge that runs here does.
pub(super) fn classify(
    graph: &Graph,
    store: &Store,
    cwd: &Path,
    order: &[EdgeId],
) -> (HashMap<EdgeId, Kind>, Vec<(EdgeId, String)>) {
    let edges: Vec<EdgeId> = order.iter().copied().filter(|&e| !graph.is_phony(e)).collect();
    // CPU-bound (parsing commands, hashing): rayon's pool, edges' order kept.
    let models: Vec<(EdgeId, Result<CompileStep, String>)> =
        edges.par_iter().map(|&e| (e, model(graph, store, cwd, e))).collect();
    let mut kinds = HashMap::new();
    let mut local_reasons = Vec::new();
    for &e in order {
        if graph.is_phony(e) {
            kinds.insert(e, Kind::Phony);
        }
    }
    for (e, model) in models {
        let kind = match model {
            Ok(step) => Kind::Compile(Box::new(step)),
            Err(why) => match archive_or_link(graph, e) {
                Some(kind) => kind,
                None => {
                    local_reasons.push((e, why));
                    Kind::Local
                }
            },
        };
        kinds.insert(e, kind);
    }
    (kinds, local_reasons)
}

/// The one command `command` runs, as words (CMake wraps some as
/// `: && CMD && :`), if the shell would do nothing more.
fn simple(command: &str) -> Option<Vec<String>> {
    let mut steps = crate::tool::shell_steps(command).ok()?;
    (steps.len() == 1).then(|| steps.pop().expect("one"))
}

/// Whether the edge looks like an archive or a link (the models decide
/// once the inputs are known).
fn archive_or_link(graph: &Graph, e: EdgeId) -> Option<Kind> {
    if !graph.rspfile(e).is_empty() || graph.edge(e).pool() == CONSOLE_POOL {
        return None;
    }
    let steps = crate::tool::shell_steps(&graph.command(e)).ok()?;
    let base = |w: &str| Path::new(w).file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    if steps.iter().any(|s| crate::archiver::family(&s[0], "ar").is_some()) {
        return Some(Kind::Archive);
    }
    let argv = simple(&graph.command(e))?;
    let compile_only = argv.iter().any(|a| matches!(a.as_str(), "-c" | "-S" | "-E"));
    (gg_wrapper::invoke::is_compiler_name(&base(&argv[0])) && !compile_only).then_some(Kind::Link)
}

/// The compile edge `e` runs, if gg models it; `Err` says why not.
fn model(graph: &Graph, store: &Store, cwd: &Path, e: EdgeId) -> Result<CompileStep, String> {
    if !graph.rspfile(e).is_empty() {
        return Err("a response file".into());
    }
    if graph.edge(e).pool() == CONSOLE_POOL {
        return Err("the console pool".into());
    }
    let command = graph.command(e);
    let argv = simple(&command).ok_or("not a simple command")?;
    let step = CompileStep::model(store, &argv, cwd)?;
    // The edge's outputs must be what the compile writes.
    let outs: Vec<&str> = graph.edge(e).outputs().iter().map(|&n| graph.path(n)).collect();
    if outs != [gg_ninja::canonicalize_path(&step.output()).as_str()] {
        return Err(format!("its outputs {outs:?} are not the compile's `{}`", step.output()));
    }
    Ok(step)
}
