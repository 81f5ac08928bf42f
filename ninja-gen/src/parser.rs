//! The manifest parser: statements, scopes and the checks Ninja makes.
//!
//! When things are evaluated decides what a manifest means, so this follows
//! Ninja's order exactly:
//!
//! - a top-level `name = value` is evaluated when read, in the current file
//!   scope (so `x = $x more` appends), and replaces the binding;
//! - a `build` statement's indented bindings are each evaluated when read in
//!   the *file* scope: they do not see the statement's earlier bindings, nor
//!   `$in`/`$out`;
//! - its paths are evaluated after its bindings, in its own scope (its
//!   bindings, then the file scope chain), again without `$in`/`$out`;
//! - its `pool` and `dyndep` are evaluated as rule variables right away;
//!   everything else a rule binds is evaluated later, per edge (`eval.rs`);
//! - `include` parses a file into the current scope, `subninja` into a new
//!   child scope, whose rules and variables the parent never sees.
//!
//! Errors use Ninja's messages and stop the parse.

use crate::canon::canonicalize_into;
use crate::error::ParseError;
use crate::eval::Escape;
use crate::eval_string::{EvalPiece, EvalString};
use crate::graph::{Edge, EdgeCounts, EdgeId, Graph, NodeId, Rule, RuleKey, ScopeId, DEFAULT_POOL, ROOT_SCOPE};
use crate::intern::Sym;
use crate::lexer::{Lexer, Piece, Token};
use crate::loader::{describe_io_error, FileReader};

/// The Ninja version whose manifest language this parser implements; a
/// manifest with a greater `ninja_required_version` is refused.
pub const NINJA_VERSION: &str = "1.13.0";

/// What to do with a `phony` edge that lists its own output as an input
/// (old CMake wrote `build all: phony all`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PhonyCycleAction {
    /// Drop the self-reference and record a warning (Ninja's default).
    #[default]
    Warn,
    /// Keep it, so that the graph has the cycle (`ninja -w phonycycle=err`).
    Error,
}

/// Parser settings.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// See [`PhonyCycleAction`].
    pub phony_cycle: PhonyCycleAction,
    /// How deeply `include`/`subninja` may nest. Ninja has no limit (a file
    /// including itself exhausts its stack); this parser must not crash.
    pub max_include_depth: u32,
    /// The longest string a variable, path or rule variable may evaluate to.
    /// `x = $x$x` repeated doubles `x` each line; Ninja runs out of memory,
    /// this parser reports an error instead (and so does evaluation later).
    pub max_value_len: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions { phony_cycle: PhonyCycleAction::Warn, max_include_depth: 64, max_value_len: 64 << 20 }
    }
}

/// Parses the manifest at `path` (and what it includes) into a graph.
pub fn parse(path: &str, reader: &mut dyn FileReader, options: &ParseOptions) -> Result<Graph, ParseError> {
    let mut graph = Graph::new();
    graph.max_value_len = options.max_value_len;
    let mut parser = Parser { graph, reader, options, depth: 0 };
    let bytes = parser
        .reader
        .read_file(path)
        .map_err(|e| ParseError::whole_file(path, format!("loading '{path}': {}", describe_io_error(&e))))?;
    parser.parse_bytes(path, &bytes, ROOT_SCOPE)?;
    Ok(parser.graph)
}

/// State shared by the files of one parse.
struct Parser<'r, 'o> {
    graph: Graph,
    reader: &'r mut dyn FileReader,
    options: &'o ParseOptions,
    depth: u32,
}

impl Parser<'_, '_> {
    fn parse_bytes(&mut self, filename: &str, bytes: &[u8], scope: ScopeId) -> Result<(), ParseError> {
        // Ninja's lexer stops at a NUL byte: nothing after it is ever read.
        let bytes = &bytes[..memchr::memchr(0, bytes).unwrap_or(bytes.len())];
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            ParseError::at(filename, valid, e.valid_up_to(), "invalid UTF-8 (manifests are read as UTF-8)".into())
        })?;
        let mut file = FileParser {
            p: self,
            lex: Lexer::new(filename, text),
            scope,
            pieces: Vec::new(),
            paths: Vec::new(),
            value: Vec::new(),
            buf: String::new(),
            canon: String::new(),
        };
        file.run()
    }
}

/// One path of a `build` line: its pieces in `FileParser::pieces`, and where it starts.
#[derive(Debug, Clone, Copy)]
struct PathSpan {
    start: u32,
    end: u32,
    pos: usize,
}

/// The parser of one file.
struct FileParser<'a, 'p, 'r, 'o> {
    p: &'p mut Parser<'r, 'o>,
    lex: Lexer<'a>,
    scope: ScopeId,
    /// The pieces of every path of the current statement.
    pieces: Vec<Piece<'a>>,
    paths: Vec<PathSpan>,
    /// The pieces of the current `name = value`.
    value: Vec<Piece<'a>>,
    /// Scratch for evaluated strings, and for their canonical forms.
    buf: String,
    canon: String,
}

impl<'a> FileParser<'a, '_, '_, '_> {
    fn run(&mut self) -> Result<(), ParseError> {
        loop {
            match self.lex.read_token() {
                Token::Pool => self.parse_pool()?,
                Token::Build => self.parse_edge()?,
                Token::Rule => self.parse_rule()?,
                Token::Default => self.parse_default()?,
                Token::Ident => self.parse_top_let()?,
                Token::Include => self.parse_include(false)?,
                Token::Subninja => self.parse_include(true)?,
                Token::Newline => {}
                Token::Eof => return Ok(()),
                Token::Error => return Err(self.lex.error(self.lex.describe_last_error())),
                t => return Err(self.lex.error(format!("unexpected {}", t.name()))),
            }
        }
    }

    fn too_long(&self, pos: usize) -> ParseError {
        self.lex.error_at(pos, format!("value longer than {} bytes", self.p.options.max_value_len))
    }

    fn expect(&mut self, want: Token) -> Result<(), ParseError> {
        let got = self.lex.read_token();
        if got == want {
            return Ok(());
        }
        let hint = if want == Token::Colon { " ($ also escapes ':')" } else { "" };
        Err(self.lex.error(format!("expected {}, got {}{hint}", want.name(), got.name())))
    }

    /// Reads `= value` into `self.value`.
    fn read_let_value(&mut self) -> Result<(), ParseError> {
        self.expect(Token::Equals)?;
        self.value.clear();
        self.lex.read_value(&mut self.value)
    }

    /// Reads an indented `name = value`; returns the name and where it starts.
    fn read_let(&mut self) -> Result<(&'a str, usize), ParseError> {
        let name = self.lex.read_ident().ok_or_else(|| self.lex.error("expected variable name"))?;
        let pos = self.lex.last_pos();
        self.read_let_value()?;
        Ok((name, pos))
    }

    fn parse_top_let(&mut self) -> Result<(), ParseError> {
        let name = self.lex.ident_text();
        let pos = self.lex.last_pos();
        self.read_let_value()?;
        let mut value = String::new();
        if eval_in_scope(&self.p.graph, self.scope, &[], &self.value, &mut value).is_err() {
            return Err(self.too_long(pos));
        }
        if name == "ninja_required_version" {
            self.check_version(&value, pos)?;
        }
        let graph = &mut self.p.graph;
        let sym = graph.syms.intern(name);
        graph.scopes[self.scope.index()].vars.insert(sym, value);
        Ok(())
    }

    fn check_version(&mut self, required: &str, pos: usize) -> Result<(), ParseError> {
        let (ours, theirs) = (parse_version(NINJA_VERSION), parse_version(required));
        if ours.0 > theirs.0 {
            self.p.graph.warnings.push(format!(
                "ninja executable version ({NINJA_VERSION}) greater than build file ninja_required_version \
                 ({required}); versions may be incompatible."
            ));
        } else if ours.0 < theirs.0 || ours.1 < theirs.1 {
            return Err(self.lex.error_at(
                pos,
                format!("ninja version ({NINJA_VERSION}) incompatible with build file ninja_required_version version ({required})"),
            ));
        }
        Ok(())
    }

    fn parse_rule(&mut self) -> Result<(), ParseError> {
        let name = self.lex.read_ident().ok_or_else(|| self.lex.error("expected rule name"))?;
        let name_pos = self.lex.last_pos();
        self.expect(Token::Newline)?;
        if self.p.graph.scopes[self.scope.index()].rules.contains_key(name) {
            return Err(self.lex.error_at(name_pos, format!("duplicate rule '{name}'")));
        }
        let mut rule = Rule::new(name);
        while self.lex.peek(Token::Indent) {
            let (key, key_pos) = self.read_let()?;
            let Some(key) = RuleKey::from_name(key) else {
                return Err(self.lex.error_at(key_pos, format!("unexpected variable '{key}'")));
            };
            rule.bindings[key as usize] = Some(to_eval_string(&mut self.p.graph, &self.value));
        }
        let empty = |k: RuleKey| rule.binding(k).is_none_or(EvalString::is_empty);
        if empty(RuleKey::Rspfile) != empty(RuleKey::RspfileContent) {
            return Err(self.lex.error_at(name_pos, "rspfile and rspfile_content need to be both specified"));
        }
        if empty(RuleKey::Command) {
            return Err(self.lex.error_at(name_pos, "expected 'command =' line"));
        }
        self.p.graph.add_rule(self.scope, rule);
        Ok(())
    }

    fn parse_pool(&mut self) -> Result<(), ParseError> {
        let name = self.lex.read_ident().ok_or_else(|| self.lex.error("expected pool name"))?;
        let name_pos = self.lex.last_pos();
        self.expect(Token::Newline)?;
        if self.p.graph.lookup_pool(name).is_some() {
            return Err(self.lex.error_at(name_pos, format!("duplicate pool '{name}'")));
        }
        let mut depth = None;
        while self.lex.peek(Token::Indent) {
            let (key, key_pos) = self.read_let()?;
            if key != "depth" {
                return Err(self.lex.error_at(key_pos, format!("unexpected variable '{key}'")));
            }
            self.buf.clear();
            if eval_in_scope(&self.p.graph, self.scope, &[], &self.value, &mut self.buf).is_err() {
                return Err(self.too_long(key_pos));
            }
            // Digits with an optional minus sign, like C++'s from_chars, then >= 0.
            let parsed = if self.buf.starts_with('+') { None } else { self.buf.parse::<i32>().ok() };
            match parsed.and_then(|d| u32::try_from(d).ok()) {
                Some(d) => depth = Some(d),
                None => return Err(self.lex.error_at(key_pos, "invalid pool depth")),
            }
        }
        let Some(depth) = depth else {
            return Err(self.lex.error_at(name_pos, "expected 'depth =' line"));
        };
        self.p.graph.add_pool(name, depth);
        Ok(())
    }

    fn parse_default(&mut self) -> Result<(), ParseError> {
        self.value.clear();
        let mut pos = self.lex.pos();
        self.lex.read_path(&mut self.value)?;
        if self.value.is_empty() {
            return Err(self.lex.error("expected target name"));
        }
        loop {
            self.buf.clear();
            if eval_in_scope(&self.p.graph, self.scope, &[], &self.value, &mut self.buf).is_err() {
                return Err(self.too_long(pos));
            }
            if self.buf.is_empty() {
                return Err(self.lex.error_at(pos, "empty path"));
            }
            canonicalize_into(&self.buf, &mut self.canon);
            let Some(node) = self.p.graph.lookup_node(&self.canon) else {
                return Err(self.lex.error_at(pos, format!("unknown target '{}'", self.canon)));
            };
            self.p.graph.defaults.push(node);
            self.value.clear();
            pos = self.lex.pos();
            self.lex.read_path(&mut self.value)?;
            if self.value.is_empty() {
                break;
            }
        }
        self.expect(Token::Newline)
    }

    fn parse_include(&mut self, new_scope: bool) -> Result<(), ParseError> {
        self.value.clear();
        let pos = self.lex.pos();
        self.lex.read_path(&mut self.value)?;
        let mut path = String::new();
        if eval_in_scope(&self.p.graph, self.scope, &[], &self.value, &mut path).is_err() {
            return Err(self.too_long(pos));
        }
        if self.p.depth >= self.p.options.max_include_depth {
            return Err(self.lex.error_at(pos, format!("loading '{path}': include nesting too deep")));
        }
        let bytes = match self.p.reader.read_file(&path) {
            Ok(bytes) => bytes,
            Err(e) => return Err(self.lex.error_at(pos, format!("loading '{path}': {}", describe_io_error(&e)))),
        };
        let scope = if new_scope { self.p.graph.add_scope(self.scope) } else { self.scope };
        self.p.depth += 1;
        let result = self.p.parse_bytes(&path, &bytes, scope);
        self.p.depth -= 1;
        result?;
        self.expect(Token::Newline)
    }

    /// Reads paths until a delimiter, recording each in `self.paths`.
    fn read_paths(&mut self) -> Result<usize, ParseError> {
        let before = self.paths.len();
        loop {
            let start = self.pieces.len();
            let pos = self.lex.pos();
            self.lex.read_path(&mut self.pieces)?;
            if self.pieces.len() == start {
                return Ok(self.paths.len() - before);
            }
            self.paths.push(PathSpan { start: start as u32, end: self.pieces.len() as u32, pos });
        }
    }

    fn parse_edge(&mut self) -> Result<(), ParseError> {
        // Errors found once the whole statement is read point at its start.
        let stmt_pos = self.lex.last_pos();
        self.pieces.clear();
        self.paths.clear();
        let mut counts = EdgeCounts { explicit_outs: self.read_paths()? as u32, ..EdgeCounts::default() };
        if self.lex.peek(Token::Pipe) {
            counts.implicit_outs = self.read_paths()? as u32;
        }
        if self.paths.is_empty() {
            return Err(self.lex.error("expected path"));
        }
        self.expect(Token::Colon)?;
        let rule_name = self.lex.read_ident().ok_or_else(|| self.lex.error("expected build command name"))?;
        let Some(rule) = self.p.graph.lookup_rule(self.scope, rule_name) else {
            return Err(self.lex.error(format!("unknown build rule '{rule_name}'")));
        };
        counts.explicit_ins = self.read_paths()? as u32;
        if self.lex.peek(Token::Pipe) {
            counts.implicit_ins = self.read_paths()? as u32;
        }
        if self.lex.peek(Token::Pipe2) {
            counts.order_only_ins = self.read_paths()? as u32;
        }
        if self.lex.peek(Token::PipeAt) {
            counts.validations = self.read_paths()? as u32;
        }
        self.expect(Token::Newline)?;

        let mut bindings: Vec<(Sym, Box<str>)> = Vec::new();
        while self.lex.peek(Token::Indent) {
            let (key, key_pos) = self.read_let()?;
            self.buf.clear();
            // Against the file scope: not the statement's own earlier bindings.
            if eval_in_scope(&self.p.graph, self.scope, &[], &self.value, &mut self.buf).is_err() {
                return Err(self.too_long(key_pos));
            }
            let sym = self.p.graph.syms.intern(key);
            let value: Box<str> = self.buf.as_str().into();
            match bindings.iter_mut().find(|(s, _)| *s == sym) {
                Some(slot) => slot.1 = value,
                None => bindings.push((sym, value)),
            }
        }

        let edge_id = EdgeId(self.p.graph.edges.len() as u32);
        self.p.graph.edges.push(Edge {
            rule,
            pool: DEFAULT_POOL,
            scope: self.scope,
            bindings: bindings.into_boxed_slice(),
            nodes: Box::default(),
            counts: EdgeCounts::default(),
            dyndep: None,
        });
        // Ninja looks the pool up before the edge has nodes, so `$out` is empty here.
        self.set_pool(edge_id, stmt_pos)?;
        self.add_nodes(edge_id, counts)?;
        self.drop_phony_self_reference(edge_id);
        self.set_dyndep(edge_id, stmt_pos)
    }

    fn set_pool(&mut self, edge_id: EdgeId, stmt_pos: usize) -> Result<(), ParseError> {
        self.buf.clear();
        let pool_sym = Sym(crate::intern::FIRST_RULE_KEY + RuleKey::Pool as u32);
        if let Err(e) = self.p.graph.edge_sym_into(edge_id, pool_sym, Escape::Shell, &mut self.buf) {
            return Err(self.lex.error_at(stmt_pos, e.to_string()));
        }
        if !self.buf.is_empty() {
            let Some(pool) = self.p.graph.lookup_pool(&self.buf) else {
                return Err(self.lex.error_at(stmt_pos, format!("unknown pool name '{}'", self.buf)));
            };
            self.p.graph.edges[edge_id.index()].pool = pool;
        }
        Ok(())
    }

    /// Evaluates the statement's paths in its scope and links the nodes.
    fn add_nodes(&mut self, edge_id: EdgeId, counts: EdgeCounts) -> Result<(), ParseError> {
        let outs = (counts.explicit_outs + counts.implicit_outs) as usize;
        let ins = outs + (counts.explicit_ins + counts.implicit_ins + counts.order_only_ins) as usize;
        let mut nodes = Vec::with_capacity(self.paths.len());
        for i in 0..self.paths.len() {
            let span = self.paths[i];
            let graph = &mut self.p.graph;
            let edge = &graph.edges[edge_id.index()];
            self.buf.clear();
            let pieces = &self.pieces[span.start as usize..span.end as usize];
            if eval_in_scope(graph, self.scope, &edge.bindings, pieces, &mut self.buf).is_err() {
                return Err(self.too_long(span.pos));
            }
            if self.buf.is_empty() {
                return Err(self.lex.error_at(span.pos, "empty path"));
            }
            canonicalize_into(&self.buf, &mut self.canon);
            let node = graph.get_node(&self.canon);
            let n = &mut graph.nodes[node.index()];
            if i < outs {
                match n.in_edge {
                    Some(other) if other == edge_id => {
                        let msg = format!("{} is defined as an output multiple times", self.canon);
                        return Err(self.lex.error_at(span.pos, msg));
                    }
                    Some(_) => {
                        return Err(self.lex.error_at(span.pos, format!("multiple rules generate {}", self.canon)))
                    }
                    None => n.in_edge = Some(edge_id),
                }
            } else if i < ins {
                n.out_edges.push(edge_id);
            } else {
                n.validation_out_edges.push(edge_id);
            }
            nodes.push(node);
        }
        let edge = &mut self.p.graph.edges[edge_id.index()];
        edge.nodes = nodes.into_boxed_slice();
        edge.counts = counts;
        Ok(())
    }

    /// `build all: phony all`: Ninja drops the self-reference (with a warning)
    /// unless told to keep it, for the sake of manifests old CMake wrote.
    fn drop_phony_self_reference(&mut self, edge_id: EdgeId) {
        let graph = &mut self.p.graph;
        let edge = &mut graph.edges[edge_id.index()];
        let c = edge.counts;
        let applies = graph.rules[edge.rule.index()].phony
            && c.explicit_outs == 1
            && c.implicit_outs == 0
            && c.implicit_ins == 0
            && self.p.options.phony_cycle == PhonyCycleAction::Warn;
        if !applies {
            return;
        }
        let out = edge.nodes[0];
        let ins = &edge.nodes[1..1 + (c.explicit_ins + c.order_only_ins) as usize];
        if !ins.contains(&out) {
            return;
        }
        // Explicit inputs, then order-only ones: drop `out` from each, keeping the counts right.
        let mut kept: Vec<NodeId> = vec![out];
        let explicit = &edge.nodes[1..1 + c.explicit_ins as usize];
        kept.extend(explicit.iter().filter(|&&n| n != out));
        let explicit_ins = kept.len() as u32 - 1;
        let rest = &edge.nodes[1 + c.explicit_ins as usize..];
        let order_only = &rest[..c.order_only_ins as usize];
        kept.extend(order_only.iter().filter(|&&n| n != out));
        let order_only_ins = kept.len() as u32 - 1 - explicit_ins;
        kept.extend_from_slice(&rest[c.order_only_ins as usize..]);
        edge.nodes = kept.into_boxed_slice();
        edge.counts.explicit_ins = explicit_ins;
        edge.counts.order_only_ins = order_only_ins;
        // Ninja leaves the node's out-edge in place, so it is still not a root.
        let path = graph.nodes[out.index()].path.clone();
        graph.warnings.push(format!("phony target '{path}' names itself as an input; ignoring [-w phonycycle=warn]"));
    }

    fn set_dyndep(&mut self, edge_id: EdgeId, stmt_pos: usize) -> Result<(), ParseError> {
        self.buf.clear();
        let sym = Sym(crate::intern::FIRST_RULE_KEY + RuleKey::Dyndep as u32);
        if let Err(e) = self.p.graph.edge_sym_into(edge_id, sym, Escape::None, &mut self.buf) {
            return Err(self.lex.error_at(stmt_pos, e.to_string()));
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        canonicalize_into(&self.buf, &mut self.canon);
        let node = self.p.graph.get_node(&self.canon);
        let edge = &mut self.p.graph.edges[edge_id.index()];
        if !edge.inputs().contains(&node) {
            return Err(self.lex.error_at(stmt_pos, format!("dyndep '{}' is not an input", self.canon)));
        }
        edge.dyndep = Some(node);
        Ok(())
    }
}

/// Evaluates `pieces` with `bindings` first, then the scope chain from
/// `scope`: how Ninja evaluates everything but rule variables. Fails if the
/// result would pass the graph's `max_value_len`.
fn eval_in_scope(
    graph: &Graph,
    scope: ScopeId,
    bindings: &[(Sym, Box<str>)],
    pieces: &[Piece<'_>],
    out: &mut String,
) -> Result<(), TooLong> {
    for piece in pieces {
        let text = match *piece {
            Piece::Lit(text) => text,
            Piece::Var(name) => {
                // A name never interned was never bound anywhere: empty.
                let Some(sym) = graph.syms.get(name) else { continue };
                match bindings.iter().find(|(s, _)| *s == sym) {
                    Some((_, v)) => v,
                    None => graph.lookup_in_scope_chain(Some(scope), sym).unwrap_or(""),
                }
            }
        };
        if out.len() + text.len() > graph.max_value_len {
            return Err(TooLong);
        }
        out.push_str(text);
    }
    Ok(())
}

/// An evaluated string would pass the limit.
#[derive(Debug)]
struct TooLong;

/// Stores a rule binding: adjacent literals merged, names interned.
fn to_eval_string(graph: &mut Graph, pieces: &[Piece<'_>]) -> EvalString {
    let mut out: Vec<EvalPiece> = Vec::new();
    let mut text = String::new();
    for piece in pieces {
        match *piece {
            Piece::Lit(t) => text.push_str(t),
            Piece::Var(name) => {
                if !text.is_empty() {
                    out.push(EvalPiece::Lit(std::mem::take(&mut text).into()));
                }
                out.push(EvalPiece::Var(graph.syms.intern(name)));
            }
        }
    }
    if !text.is_empty() {
        out.push(EvalPiece::Lit(text.into()));
    }
    EvalString { pieces: out }
}

/// `major.minor[.…]` as C's `atoi` reads each part (Ninja's `ParseVersion`).
fn parse_version(v: &str) -> (i64, i64) {
    let mut parts = v.splitn(3, '.');
    let major = atoi(parts.next().unwrap_or(""));
    let minor = parts.next().map_or(0, atoi);
    (major, minor)
}

/// C's `atoi`: leading spaces, a sign, then digits up to the first non-digit.
fn atoi(s: &str) -> i64 {
    let s = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg {
        -n
    } else {
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_like_atoi() {
        assert_eq!(parse_version("1.11"), (1, 11));
        assert_eq!(parse_version("1.7.2.git"), (1, 7));
        assert_eq!(parse_version("2"), (2, 0));
        assert_eq!(parse_version("x.y"), (0, 0));
        assert_eq!(parse_version(" 1x.3q"), (1, 3));
    }
}
