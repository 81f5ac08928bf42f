//! What a `gg ninja` run must build: the edges its targets need, and among
//! them the dirty ones, by Ninja's rules: an output is missing or older
//! than an input (header dependencies from `.ninja_deps` or the depfile
//! included), the command changed since `.ninja_log` recorded it, the
//! recorded dependencies are missing or stale, or an input is itself
//! being rebuilt. Order-only inputs are built first but dirty nothing.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;

use anyhow::{bail, Result};
use gg_ninja::build_log::{self, BuildLog};
use gg_ninja::deps_log::DepsLog;
use gg_ninja::{EdgeId, Graph, NodeId};

/// The dirty edges, inputs before consumers, and what the logs tell of
/// their header dependencies.
#[derive(Debug, Default)]
pub struct Plan {
    pub order: Vec<EdgeId>,
    /// For `deps = gcc` edges: the recorded dependencies, when no file
    /// among them changed since they were recorded (so they are what a
    /// compile would read now).
    pub fresh_deps: HashMap<EdgeId, Vec<String>>,
}

/// Modification times in nanoseconds; `None` for a missing file.
#[derive(Debug, Default)]
pub struct Mtimes {
    /// Every node of the graph, stat'ed up front in parallel.
    nodes: Vec<Option<i128>>,
    /// Other paths (from the deps log), and nodes written since.
    cache: HashMap<String, Option<i128>>,
}

fn stat(path: &str) -> Option<i128> {
    std::fs::metadata(path).ok().map(|m| i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()))
}

impl Mtimes {
    /// Stats every node of `graph` on all cores: a large build has a
    /// hundred thousand files to look at before anything can start.
    pub fn of_graph(graph: &Graph) -> Mtimes {
        use rayon::prelude::*;
        let ids: Vec<NodeId> = graph.node_ids().collect();
        let nodes = ids.par_iter().map(|&id| stat(graph.path(id))).collect();
        Mtimes { nodes, cache: HashMap::new() }
    }

    pub fn get(&mut self, path: &str) -> Option<i128> {
        if let Some(m) = self.cache.get(path) {
            return *m;
        }
        let m = stat(path);
        self.cache.insert(path.to_string(), m);
        m
    }

    /// A node's time, as stat'ed up front (or since it was written).
    pub fn node(&mut self, graph: &Graph, id: NodeId) -> Option<i128> {
        match self.nodes.get(id.index()) {
            Some(m) if !self.cache.contains_key(graph.path(id)) => *m,
            _ => self.get(graph.path(id)),
        }
    }

    /// Forgets a path (after an edge wrote it).
    pub fn forget(&mut self, path: &str) {
        let m = stat(path);
        self.cache.insert(path.to_string(), m);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Visiting,
    Done { dirty: bool },
}

/// Plans the build of `targets`.
pub fn plan(graph: &Graph, targets: &[NodeId], build: &BuildLog, deps: &DepsLog) -> Result<Plan> {
    let mtimes = Mtimes::of_graph(graph);
    let mut p = Planner { graph, build, deps, marks: HashMap::new(), mtimes, plan: Plan::default() };
    for &t in targets {
        p.visit_node(t, None)?;
    }
    Ok(p.plan)
}

struct Planner<'g> {
    graph: &'g Graph,
    build: &'g BuildLog,
    deps: &'g DepsLog,
    marks: HashMap<EdgeId, Mark>,
    mtimes: Mtimes,
    plan: Plan,
}

/// Work for the explicit stack: enter an edge, or finish it once its
/// inputs are done.
enum Step {
    Enter(EdgeId),
    Leave(EdgeId),
}

impl Planner<'_> {
    /// Whether `node` will be rebuilt (visiting its producer first).
    fn visit_node(&mut self, node: NodeId, needed_by: Option<NodeId>) -> Result<bool> {
        let Some(edge) = self.graph.producer(node) else {
            let path = self.graph.path(node);
            if self.mtimes.node(self.graph, node).is_none() {
                match needed_by {
                    Some(by) => {
                        bail!("'{path}', needed by '{}', missing and no known rule to make it", self.graph.path(by))
                    }
                    None => bail!("unknown target '{path}'"),
                }
            }
            return Ok(false);
        };
        // Deep graphs: an explicit stack rather than recursion.
        let mut stack = vec![Step::Enter(edge)];
        while let Some(step) = stack.pop() {
            match step {
                Step::Enter(e) => match self.marks.get(&e) {
                    Some(Mark::Done { .. }) => {}
                    Some(Mark::Visiting) => bail!("dependency cycle through '{}'", self.first_output(e)),
                    None => {
                        self.marks.insert(e, Mark::Visiting);
                        stack.push(Step::Leave(e));
                        let edge = self.graph.edge(e);
                        for &i in edge.inputs().iter().chain(edge.validations()) {
                            match self.graph.producer(i) {
                                Some(pe) => match self.marks.get(&pe) {
                                    Some(Mark::Visiting) => {
                                        bail!("dependency cycle: '{}' depends on itself", self.graph.path(i))
                                    }
                                    Some(Mark::Done { .. }) => {}
                                    None => stack.push(Step::Enter(pe)),
                                },
                                None => {
                                    let path = self.graph.path(i);
                                    if self.mtimes.node(self.graph, i).is_none() && !edge.validations().contains(&i) {
                                        bail!(
                                            "'{path}', needed by '{}', missing and no known rule to make it",
                                            self.first_output(e)
                                        );
                                    }
                                }
                            }
                        }
                    }
                },
                Step::Leave(e) => {
                    let dirty = self.edge_dirty(e);
                    self.marks.insert(e, Mark::Done { dirty });
                    if dirty {
                        self.plan.order.push(e);
                    }
                }
            }
        }
        Ok(matches!(self.marks.get(&edge), Some(Mark::Done { dirty: true })))
    }

    fn first_output(&self, e: EdgeId) -> String {
        self.graph.edge(e).outputs().first().map_or_else(String::new, |&n| self.graph.path(n).to_string())
    }

    fn input_rebuilt(&self, node: NodeId) -> bool {
        self.graph.producer(node).is_some_and(|pe| matches!(self.marks.get(&pe), Some(Mark::Done { dirty: true })))
    }

    /// Records the deps log's list for `e` if no file in it changed since
    /// it was recorded.
    fn note_fresh_deps(&mut self, e: EdgeId) {
        let g = self.graph;
        let Some(&first) = g.edge(e).outputs().first() else { return };
        let Some(d) = self.deps.get(g.path(first)) else { return };
        let recorded = i128::from(d.mtime);
        let paths: Vec<String> = self.deps.input_paths(d).map(str::to_string).collect();
        if paths.iter().all(|p| self.mtimes.get(p).is_some_and(|m| m <= recorded)) {
            self.plan.fresh_deps.insert(e, paths);
        }
    }

    fn edge_dirty(&mut self, e: EdgeId) -> bool {
        let g = self.graph;
        let edge = g.edge(e);
        let inputs: Vec<NodeId> = edge.explicit_inputs().iter().chain(edge.implicit_inputs()).copied().collect();
        let rebuilt = inputs.iter().any(|&i| self.input_rebuilt(i));
        if g.is_phony(e) {
            let missing = inputs.is_empty() && edge.outputs().iter().any(|&o| self.mtimes.node(g, o).is_none());
            return rebuilt || missing;
        }
        let mut dirty = rebuilt;
        // A missing output is dirty whatever the rest says.
        if edge.outputs().iter().any(|&o| self.mtimes.node(g, o).is_none()) {
            if g.deps(e) == "gcc" {
                self.note_fresh_deps(e);
            }
            return true;
        }
        let mut most_recent = inputs.iter().filter_map(|&i| self.mtimes.node(g, i)).max();
        let first = edge.outputs().first().map(|&n| g.path(n).to_string()).unwrap_or_default();
        let first_mtime = edge.outputs().first().and_then(|&n| self.mtimes.node(g, n));
        // Header dependencies: from the deps log, or the depfile.
        if g.deps(e) == "gcc" {
            match self.deps.get(&first) {
                None => dirty = true,
                Some(d) => {
                    let recorded = i128::from(d.mtime);
                    if first_mtime.is_some_and(|m| recorded < m) {
                        dirty = true;
                    }
                    let paths: Vec<String> = self.deps.input_paths(d).map(str::to_string).collect();
                    let mut fresh = true;
                    for p in &paths {
                        match self.mtimes.get(p) {
                            None => {
                                dirty = true;
                                fresh = false;
                            }
                            Some(m) => {
                                fresh &= m <= recorded;
                                most_recent = most_recent.max(Some(m));
                            }
                        }
                    }
                    if fresh {
                        self.plan.fresh_deps.insert(e, paths);
                    }
                }
            }
        } else if !g.depfile(e).is_empty() {
            match std::fs::read_to_string(g.depfile(e)).ok().and_then(|t| gg_wrapper::depfile::inputs(&t).ok()) {
                None => dirty = true,
                Some(paths) => {
                    for p in &paths {
                        match self.mtimes.get(p) {
                            None => dirty = true,
                            Some(m) => most_recent = most_recent.max(Some(m)),
                        }
                    }
                }
            }
        }
        let generator = g.is_generator(e);
        let hash = build_log::hash_command(&g.command_for_log(e));
        for &o in edge.outputs() {
            let path = g.path(o);
            match self.mtimes.node(g, o) {
                None => return true,
                Some(m) if most_recent.is_some_and(|r| m < r) => dirty = true,
                Some(_) => {}
            }
            if !generator {
                match self.build.get(path) {
                    Some(entry) if entry.command_hash == hash => {}
                    _ => dirty = true,
                }
            }
        }
        dirty
    }
}
