//! Parses a manifest, evaluates every edge's command, and prints how long
//! that took:
//!
//! ```sh
//! python3 ninja-gen/bench/gen-manifest.py /tmp/bench   # writes /tmp/bench/build.ninja
//! cargo run --release -p gg-ninja --example parse-bench -- /tmp/bench/build.ninja
//! ```
//!
//! Output: one line, `edges=N nodes=N command_bytes=N parse_ms=X eval_ms=X total_ms=X`.
//! With `--print-commands` after the path, every non-phony edge's command is
//! printed first, one per line (to compare with `ninja -t commands`).

use std::process::ExitCode;
use std::time::Instant;

use gg_ninja::{parse, DiskReader, Escape, ParseOptions};

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: parse-bench BUILD.NINJA");
        return ExitCode::from(2);
    };
    let start = Instant::now();
    let graph = match parse(&path, &mut DiskReader, &ParseOptions::default()) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let print = std::env::args().nth(2).as_deref() == Some("--print-commands");
    let parsed = Instant::now();
    let mut command_bytes = 0usize;
    let mut command = String::new();
    for edge in graph.edge_ids() {
        command.clear();
        if let Err(e) = graph.edge_var_into(edge, "command", Escape::Shell, &mut command) {
            eprintln!("edge {}: {e}", edge.index());
            return ExitCode::FAILURE;
        }
        command_bytes += command.len();
        if print && !graph.is_phony(edge) {
            println!("{command}");
        }
    }
    let done = Instant::now();
    let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1000.0;
    println!(
        "edges={} nodes={} command_bytes={} parse_ms={:.1} eval_ms={:.1} total_ms={:.1}",
        graph.edges().len(),
        graph.nodes().len(),
        command_bytes,
        ms(start, parsed),
        ms(parsed, done),
        ms(start, done)
    );
    ExitCode::SUCCESS
}
