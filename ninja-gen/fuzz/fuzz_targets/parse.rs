//! Feeds arbitrary bytes to the manifest parser, then evaluates everything
//! the graph offers. The parser must never panic.
//!
//! The input is split at 0xFF bytes (which valid UTF-8 never contains):
//! the first part is `build.ninja`, the next ones `a`, `b`, `c`, …, which
//! it may `include` or `subninja`.

#![no_main]

use gg_ninja::{is_canonical, parse, MemoryReader, ParseOptions, RuleKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut reader = MemoryReader::new();
    let mut parts = data.split(|&b| b == 0xff);
    reader.add("build.ninja", parts.next().unwrap_or_default());
    for (i, part) in parts.take(26).enumerate() {
        let name = char::from(b'a' + i as u8).to_string();
        reader.add(&name, part);
    }
    // Small limits keep each run fast; the limits themselves are under test.
    let options = ParseOptions { max_include_depth: 8, max_value_len: 1 << 16, ..ParseOptions::default() };
    let graph = match parse("build.ninja", &mut reader, &options) {
        Ok(graph) => graph,
        Err(e) => {
            // Every error must render, with a position inside the input.
            let _ = e.to_string();
            return;
        }
    };
    for (i, node) in graph.nodes().iter().enumerate() {
        assert!(is_canonical(node.path()), "node path {:?} is not canonical", node.path());
        assert_eq!(graph.lookup_node(node.path()).map(|n| n.index()), Some(i));
    }
    for edge in graph.edge_ids() {
        for key in RuleKey::ALL {
            let _ = graph.try_edge_var(edge, key.name());
        }
        let _ = graph.edge_var_unescaped(edge, "in_newline");
        let _ = graph.command_for_log(edge);
        let e = graph.edge(edge);
        let total = e.outputs().len() + e.inputs().len() + e.validations().len();
        assert_eq!(
            total,
            e.explicit_outputs().len()
                + e.implicit_outputs().len()
                + e.explicit_inputs().len()
                + e.implicit_inputs().len()
                + e.order_only_inputs().len()
                + e.validations().len()
        );
    }
    let _ = graph.default_targets();
});
