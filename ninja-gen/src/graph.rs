//! The build graph a manifest describes: nodes (files, by canonical path),
//! edges (build statements), rules, pools and the variable scopes.
//!
//! Plain data in `Vec`s indexed by typed ids. An edge keeps its node lists in
//! one boxed slice (outputs, then inputs, then validations) with counts for
//! each kind, which keeps a 50,000-edge graph to one allocation per edge for
//! its nodes. Rule variables stay unevaluated ([`EvalString`]) and are
//! evaluated per edge on demand (see `eval.rs`); build-level bindings and
//! top-level variables are stored evaluated, as Ninja does.

use crate::eval_string::EvalString;
use crate::hash::FxHashMap;
use crate::intern::{PathTable, Sym, Symbols, FIRST_RULE_KEY};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub(crate) u32);

        impl $name {
            /// The id as an index into the graph's list of these.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id_type!(
    /// A file of the build (an input, an output or both).
    NodeId
);
id_type!(
    /// A build statement.
    EdgeId
);
id_type!(
    /// A rule.
    RuleId
);
id_type!(
    /// A pool.
    PoolId
);
id_type!(
    /// A variable scope: the top-level file's, or one per `subninja`.
    ScopeId
);

/// The scope of the top-level manifest (and of the files it `include`s).
pub const ROOT_SCOPE: ScopeId = ScopeId(0);
/// The pool edges are in when they name none: unlimited.
pub const DEFAULT_POOL: PoolId = PoolId(0);
/// The built-in `console` pool (depth 1, with the terminal).
pub const CONSOLE_POOL: PoolId = PoolId(1);
/// The built-in `phony` rule.
pub const PHONY_RULE: RuleId = RuleId(0);

/// A file, identified by its canonical path.
#[derive(Debug)]
pub struct Node {
    pub(crate) path: Box<str>,
    pub(crate) in_edge: Option<EdgeId>,
    pub(crate) out_edges: Vec<EdgeId>,
    pub(crate) validation_out_edges: Vec<EdgeId>,
}

impl Node {
    /// The canonical path (see [`crate::canonicalize_path`]).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The edge that builds this file, if any.
    pub fn in_edge(&self) -> Option<EdgeId> {
        self.in_edge
    }

    /// The edges that take this file as an input of any kind.
    pub fn out_edges(&self) -> &[EdgeId] {
        &self.out_edges
    }

    /// The edges that name this file as a validation (`|@`).
    pub fn validation_out_edges(&self) -> &[EdgeId] {
        &self.validation_out_edges
    }
}

/// A build statement.
#[derive(Debug)]
pub struct Edge {
    pub(crate) rule: RuleId,
    pub(crate) pool: PoolId,
    /// The file scope the statement appeared in.
    pub(crate) scope: ScopeId,
    /// The statement's own indented bindings, evaluated. Ninja gives an edge
    /// its own scope only when it has some, and that changes lookups (see
    /// `eval.rs`), so "empty" is meaningful.
    pub(crate) bindings: Box<[(Sym, Box<str>)]>,
    /// Outputs (explicit, implicit), inputs (explicit, implicit, order-only),
    /// validations.
    pub(crate) nodes: Box<[NodeId]>,
    pub(crate) counts: EdgeCounts,
    pub(crate) dyndep: Option<NodeId>,
}

/// How many nodes of each kind an edge's `nodes` holds, in order.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EdgeCounts {
    pub(crate) explicit_outs: u32,
    pub(crate) implicit_outs: u32,
    pub(crate) explicit_ins: u32,
    pub(crate) implicit_ins: u32,
    pub(crate) order_only_ins: u32,
    pub(crate) validations: u32,
}

impl Edge {
    fn span(&self, skip: u32, take: u32) -> &[NodeId] {
        &self.nodes[skip as usize..(skip + take) as usize]
    }

    fn outs_len(&self) -> u32 {
        self.counts.explicit_outs + self.counts.implicit_outs
    }

    fn ins_len(&self) -> u32 {
        self.counts.explicit_ins + self.counts.implicit_ins + self.counts.order_only_ins
    }

    /// The rule the statement names.
    pub fn rule(&self) -> RuleId {
        self.rule
    }

    /// The pool the edge runs in ([`DEFAULT_POOL`] if it names none).
    pub fn pool(&self) -> PoolId {
        self.pool
    }

    /// The file scope the statement appeared in.
    pub fn scope(&self) -> ScopeId {
        self.scope
    }

    /// All outputs: the explicit ones, then the implicit ones (after `|`).
    pub fn outputs(&self) -> &[NodeId] {
        self.span(0, self.outs_len())
    }

    /// The outputs `$out` names.
    pub fn explicit_outputs(&self) -> &[NodeId] {
        self.span(0, self.counts.explicit_outs)
    }

    /// The outputs after `|`, which `$out` leaves out.
    pub fn implicit_outputs(&self) -> &[NodeId] {
        self.span(self.counts.explicit_outs, self.counts.implicit_outs)
    }

    /// All inputs: explicit, implicit (after `|`), then order-only (after `||`).
    pub fn inputs(&self) -> &[NodeId] {
        self.span(self.outs_len(), self.ins_len())
    }

    /// The inputs `$in` names.
    pub fn explicit_inputs(&self) -> &[NodeId] {
        self.span(self.outs_len(), self.counts.explicit_ins)
    }

    /// The inputs after `|`: dependencies `$in` leaves out.
    pub fn implicit_inputs(&self) -> &[NodeId] {
        self.span(self.outs_len() + self.counts.explicit_ins, self.counts.implicit_ins)
    }

    /// The inputs after `||`: built first, but not dependencies for staleness.
    pub fn order_only_inputs(&self) -> &[NodeId] {
        self.span(self.outs_len() + self.counts.explicit_ins + self.counts.implicit_ins, self.counts.order_only_ins)
    }

    /// The validations (after `|@`): built along with the edge, not before it.
    pub fn validations(&self) -> &[NodeId] {
        self.span(self.outs_len() + self.ins_len(), self.counts.validations)
    }

    /// The `dyndep` file, if the edge names one (always one of its inputs).
    pub fn dyndep(&self) -> Option<NodeId> {
        self.dyndep
    }

    /// Whether the statement had indented bindings of its own.
    pub fn has_bindings(&self) -> bool {
        !self.bindings.is_empty()
    }
}

/// The variables a rule may bind, in the order of their symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleKey {
    Command,
    Depfile,
    Dyndep,
    Deps,
    MsvcDepsPrefix,
    Description,
    Generator,
    Pool,
    Restat,
    Rspfile,
    RspfileContent,
}

impl RuleKey {
    /// Every key, in order.
    pub const ALL: [RuleKey; 11] = [
        RuleKey::Command,
        RuleKey::Depfile,
        RuleKey::Dyndep,
        RuleKey::Deps,
        RuleKey::MsvcDepsPrefix,
        RuleKey::Description,
        RuleKey::Generator,
        RuleKey::Pool,
        RuleKey::Restat,
        RuleKey::Rspfile,
        RuleKey::RspfileContent,
    ];

    /// The variable's name, e.g. `rspfile_content`.
    pub fn name(self) -> &'static str {
        crate::intern::PREDEFINED[FIRST_RULE_KEY as usize + self as usize]
    }

    /// The key named `name`, if a rule may bind it.
    pub fn from_name(name: &str) -> Option<RuleKey> {
        RuleKey::ALL.into_iter().find(|k| k.name() == name)
    }

    pub(crate) fn from_sym(sym: Sym) -> Option<RuleKey> {
        let i = sym.0.checked_sub(FIRST_RULE_KEY)?;
        RuleKey::ALL.get(i as usize).copied()
    }
}

/// A rule: a name and its unevaluated bindings.
#[derive(Debug)]
pub struct Rule {
    pub(crate) name: Box<str>,
    pub(crate) bindings: [Option<EvalString>; 11],
    pub(crate) phony: bool,
}

impl Rule {
    pub(crate) fn new(name: &str) -> Self {
        Rule { name: name.into(), bindings: Default::default(), phony: false }
    }

    /// The rule's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True for the built-in `phony` rule.
    pub fn is_phony(&self) -> bool {
        self.phony
    }

    /// The unevaluated binding of `key`, if the rule has one.
    pub fn binding(&self, key: RuleKey) -> Option<&EvalString> {
        self.bindings[key as usize].as_ref()
    }

    pub(crate) fn binding_sym(&self, sym: Sym) -> Option<&EvalString> {
        RuleKey::from_sym(sym).and_then(|k| self.binding(k))
    }
}

/// A pool: at most `depth` of its edges run at once (0: no limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub(crate) name: Box<str>,
    pub(crate) depth: u32,
}

impl Pool {
    /// The pool's name (empty for [`DEFAULT_POOL`]).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many of its edges may run at once; 0 means no limit.
    pub fn depth(&self) -> u32 {
        self.depth
    }
}

/// A file scope: top-level variables and rules of one file (and of the
/// files it `include`s); a `subninja` opens a child scope.
#[derive(Debug, Default)]
pub(crate) struct Scope {
    pub(crate) parent: Option<ScopeId>,
    pub(crate) vars: FxHashMap<Sym, String>,
    pub(crate) rules: FxHashMap<Box<str>, RuleId>,
}

/// A parsed manifest.
#[derive(Debug)]
pub struct Graph {
    pub(crate) nodes: Vec<Node>,
    pub(crate) edges: Vec<Edge>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) pools: Vec<Pool>,
    pub(crate) pool_ids: FxHashMap<Box<str>, PoolId>,
    pub(crate) scopes: Vec<Scope>,
    pub(crate) paths: PathTable,
    pub(crate) syms: Symbols,
    pub(crate) defaults: Vec<NodeId>,
    pub(crate) warnings: Vec<String>,
    /// See [`crate::ParseOptions::max_value_len`].
    pub(crate) max_value_len: usize,
}

impl Default for Graph {
    fn default() -> Self {
        Self::new()
    }
}

impl Graph {
    /// An empty graph: the root scope with the `phony` rule, and the default
    /// and `console` pools.
    pub fn new() -> Self {
        let mut g = Graph {
            nodes: Vec::new(),
            edges: Vec::new(),
            rules: Vec::new(),
            pools: Vec::new(),
            pool_ids: FxHashMap::default(),
            scopes: vec![Scope::default()],
            paths: PathTable::default(),
            syms: Symbols::default(),
            defaults: Vec::new(),
            warnings: Vec::new(),
            max_value_len: crate::ParseOptions::default().max_value_len,
        };
        let mut phony = Rule::new("phony");
        phony.phony = true;
        g.add_rule(ROOT_SCOPE, phony);
        g.add_pool("", 0);
        g.add_pool("console", 1);
        g
    }

    /// Every node, indexed by [`NodeId::index`].
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Every edge, indexed by [`EdgeId::index`], in manifest order.
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// Every rule, indexed by [`RuleId::index`] ([`PHONY_RULE`] first).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Every pool, indexed by [`PoolId::index`] ([`DEFAULT_POOL`], [`CONSOLE_POOL`] first).
    pub fn pools(&self) -> &[Pool] {
        &self.pools
    }

    /// The ids of every node.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.nodes.len() as u32).map(NodeId)
    }

    /// The ids of every edge.
    pub fn edge_ids(&self) -> impl Iterator<Item = EdgeId> + '_ {
        (0..self.edges.len() as u32).map(EdgeId)
    }

    /// The node with id `id`.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    /// The edge with id `id`.
    pub fn edge(&self, id: EdgeId) -> &Edge {
        &self.edges[id.index()]
    }

    /// The rule with id `id`.
    pub fn rule(&self, id: RuleId) -> &Rule {
        &self.rules[id.index()]
    }

    /// The pool with id `id`.
    pub fn pool(&self, id: PoolId) -> &Pool {
        &self.pools[id.index()]
    }

    /// The canonical path of node `id`.
    pub fn path(&self, id: NodeId) -> &str {
        &self.nodes[id.index()].path
    }

    /// The node whose canonical path is exactly `path`.
    pub fn lookup_node(&self, path: &str) -> Option<NodeId> {
        let nodes = &self.nodes;
        self.paths.get(path, |id| &nodes[id as usize].path).map(NodeId)
    }

    /// The node for `path` after canonicalising it (`./a//b` finds `a/b`).
    pub fn lookup_path(&self, path: &str) -> Option<NodeId> {
        self.lookup_node(&crate::canon::canonicalize_path(path))
    }

    /// The edge that produces `node`, if any.
    pub fn producer(&self, node: NodeId) -> Option<EdgeId> {
        self.nodes[node.index()].in_edge
    }

    /// The pool named `name` (`console` and every declared pool).
    pub fn lookup_pool(&self, name: &str) -> Option<PoolId> {
        self.pool_ids.get(name).copied()
    }

    /// The rule named `name` as seen from `scope` (inner scopes shadow outer ones).
    pub fn lookup_rule(&self, scope: ScopeId, name: &str) -> Option<RuleId> {
        let mut s = Some(scope);
        while let Some(id) = s {
            let scope = &self.scopes[id.index()];
            if let Some(&rule) = scope.rules.get(name) {
                return Some(rule);
            }
            s = scope.parent;
        }
        None
    }

    /// The targets of `default` statements, in order.
    pub fn defaults(&self) -> &[NodeId] {
        &self.defaults
    }

    /// Outputs that no edge uses as an input: what Ninja builds with no
    /// target and no `default`.
    pub fn root_nodes(&self) -> Vec<NodeId> {
        let mut roots = Vec::new();
        for e in &self.edges {
            roots.extend(e.outputs().iter().filter(|&&n| self.nodes[n.index()].out_edges.is_empty()));
        }
        roots
    }

    /// What Ninja builds when given no target: the defaults, or else the roots.
    pub fn default_targets(&self) -> Vec<NodeId> {
        if self.defaults.is_empty() {
            self.root_nodes()
        } else {
            self.defaults.clone()
        }
    }

    /// A top-level variable's final value (as rule variables see it).
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.scope_variable(ROOT_SCOPE, name)
    }

    /// A variable's final value as seen from `scope` (walking out to the root).
    pub fn scope_variable(&self, scope: ScopeId, name: &str) -> Option<&str> {
        self.lookup_in_scope_chain(Some(scope), self.syms.get(name)?)
    }

    /// The top-level `builddir`, where Ninja keeps `.ninja_log` and `.ninja_deps`.
    pub fn builddir(&self) -> Option<&str> {
        self.variable("builddir")
    }

    /// Warnings Ninja would print while parsing (e.g. a phony edge naming itself).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// An edge's own bindings, as `(name, value)`, in the order first bound.
    pub fn edge_bindings(&self, edge: EdgeId) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.edges[edge.index()].bindings.iter().map(move |(sym, v)| (self.syms.name(*sym), &**v))
    }

    pub(crate) fn lookup_in_scope_chain(&self, mut scope: Option<ScopeId>, sym: Sym) -> Option<&str> {
        while let Some(id) = scope {
            let s = &self.scopes[id.index()];
            if let Some(v) = s.vars.get(&sym) {
                return Some(v);
            }
            scope = s.parent;
        }
        None
    }

    pub(crate) fn add_scope(&mut self, parent: ScopeId) -> ScopeId {
        self.scopes.push(Scope { parent: Some(parent), ..Scope::default() });
        ScopeId(self.scopes.len() as u32 - 1)
    }

    pub(crate) fn add_rule(&mut self, scope: ScopeId, rule: Rule) -> RuleId {
        let id = RuleId(self.rules.len() as u32);
        self.scopes[scope.index()].rules.insert(rule.name.clone(), id);
        self.rules.push(rule);
        id
    }

    pub(crate) fn add_pool(&mut self, name: &str, depth: u32) -> PoolId {
        let id = PoolId(self.pools.len() as u32);
        self.pools.push(Pool { name: name.into(), depth });
        self.pool_ids.insert(name.into(), id);
        id
    }

    /// The node for canonical `path`, created if new.
    pub(crate) fn get_node(&mut self, path: &str) -> NodeId {
        let hash = crate::hash::hash_bytes(path.as_bytes());
        let nodes = &self.nodes;
        if let Some(id) = self.paths.get_hashed(hash, path, |id| &nodes[id as usize].path) {
            return NodeId(id);
        }
        let id = self.nodes.len() as u32;
        self.nodes.push(Node {
            path: path.into(),
            in_edge: None,
            out_edges: Vec::new(),
            validation_out_edges: Vec::new(),
        });
        self.paths.insert_hashed(hash, id);
        NodeId(id)
    }
}
