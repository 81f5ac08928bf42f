//! Ninja's build files, read the way Ninja reads them.
//!
//! - [`parse_file`] / [`parse`]: the `build.ninja` language in full (rules,
//!   builds with every kind of input and output, pools, `default`,
//!   `include`/`subninja`, scoping and `$`-escapes) into a [`Graph`] of
//!   interned paths and edges, whose rule variables are evaluated on demand
//!   with Ninja's lookup rules ([`Graph::edge_var`]);
//! - [`deps_log`]: `.ninja_deps` (format version 4), read and written;
//! - [`build_log`]: `.ninja_log` (read v5–v7, written as v5), and the
//!   command hash Ninja records in it.
//!
//! Ninja's own behaviour is the specification, including its corners (see
//! the module documentation of `parser.rs` and `eval.rs`, and README.md).

mod atomic;
pub mod build_log;
mod canon;
pub mod deps_log;
mod error;
mod eval;
mod eval_string;
mod graph;
mod hash;
mod intern;
mod lexer;
mod loader;
mod parser;

pub use canon::{canonicalize_into, canonicalize_path, is_canonical};
pub use error::{EvalError, ParseError};
pub use eval::{shell_escape_into, Escape};
pub use eval_string::EvalString;
pub use graph::{
    Edge, EdgeId, Graph, Node, NodeId, Pool, PoolId, Rule, RuleId, RuleKey, ScopeId, CONSOLE_POOL, DEFAULT_POOL,
    PHONY_RULE, ROOT_SCOPE,
};
pub use loader::{DiskReader, FileReader, MemoryReader};
pub use parser::{parse, ParseOptions, PhonyCycleAction, NINJA_VERSION};

/// Parses the manifest at `path` from disk with the default options.
pub fn parse_file(path: &str) -> Result<Graph, ParseError> {
    parse(path, &mut DiskReader, &ParseOptions::default())
}

/// Parses manifest text held in memory, named `name` in error messages.
/// An `include` or `subninja` in it fails as a missing file.
pub fn parse_str(name: &str, text: &str) -> Result<Graph, ParseError> {
    let mut reader = MemoryReader::new();
    reader.add(name, text);
    parse(name, &mut reader, &ParseOptions::default())
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod parser_tests;

#[cfg(test)]
#[path = "eval_tests.rs"]
mod eval_tests;
