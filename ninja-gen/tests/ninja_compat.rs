//! Checks against the real Ninja: the same commands from the same manifests,
//! and logs that each side writes and the other reads.
//!
//! Skipped (with a note on stderr) where no `ninja` is on the PATH. The
//! expectations hold for Ninja 1.10–1.12, which write build log v5/v6 with
//! MurmurHash64A; a 1.13+ Ninja (log v7, rapidhash) skips the hash checks.

use std::path::Path;
use std::process::Command;

use gg_ninja::build_log::{self, BuildLog, LogEntry};
use gg_ninja::deps_log::{self, DepsLog};
use gg_ninja::{parse, parse_file, FileReader, Graph, ParseOptions};

/// Ninja's version, or `None` (and a note) if it cannot be run.
fn ninja_version() -> Option<String> {
    match Command::new("ninja").arg("--version").output() {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).trim().to_string()),
        _ => {
            eprintln!("note: no runnable `ninja`; skipping the comparison with it");
            None
        }
    }
}

fn ninja(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("ninja").args(args).current_dir(dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ninja {args:?} failed:\n{text}");
    text
}

fn parse_in(dir: &Path) -> Graph {
    parse_file(dir.join("build.ninja").to_str().unwrap()).unwrap()
}

/// For every non-phony edge, our command equals `ninja -t commands -s`'s.
fn assert_same_commands(manifest: &str, extra_files: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("build.ninja"), manifest).unwrap();
    for (name, text) in extra_files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    // Include paths are relative to where Ninja runs; read them from there too.
    let graph = parse("build.ninja", &mut DirReader(dir.path().to_path_buf()), &ParseOptions::default()).unwrap();
    let mut compared = 0;
    for e in graph.edge_ids() {
        if graph.is_phony(e) {
            continue;
        }
        let target = graph.path(graph.edge(e).outputs()[0]);
        let theirs = ninja(dir.path(), &["-t", "commands", "-s", target]);
        assert_eq!(graph.command(e), theirs.strip_suffix('\n').unwrap(), "command for {target} in:\n{manifest}");
        compared += 1;
    }
    assert!(compared > 0);
}

/// Reads files relative to a directory, as Ninja run in it would.
struct DirReader(std::path::PathBuf);

impl FileReader for DirReader {
    fn read_file(&mut self, path: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.0.join(path))
    }
}

#[test]
fn commands_match_ninjas_for_scoping_corner_cases() {
    if ninja_version().is_none() {
        return;
    }
    assert_same_commands(
        "x = filex\ndescription = top\n\
         rule r\n  command = echo [$x] [$y] [$in] [$out] [$z] [$description]\n  description = rule-desc\n\
         build b$ c: r a$ b 'q' $x | imp || oo |@ val\n  x = bx\n  y = ${x}-by $x-by\n  z = $out/$in\n\
         build $x/o: r\n  x = inner\n\
         build plain: r in1 in2\n\
         x = changed-later\n\
         build imp oo val: phony\n",
        &[],
    );
}

#[test]
fn commands_match_ninjas_across_include_and_subninja() {
    if ninja_version().is_none() {
        return;
    }
    assert_same_commands(
        "v = top\nrule r\n  command = echo $v $w $in_newline\n  description = d\ninclude inc.ninja\nsubninja sub.ninja\n\
         build top.out: r a b\n",
        &[
            ("inc.ninja", "w = from-inc\nv = top2\n"),
            ("sub.ninja", "v = sub\nrule s\n  command = sub $v $w $$HOME $:\nbuild s.out: s\nbuild r.out: r x$ y\n"),
        ],
    );
}

#[test]
fn commands_match_ninjas_with_escapes_and_continuations() {
    if ninja_version().is_none() {
        return;
    }
    assert_same_commands(
        "rule r\r\n  command = printf '%s' $$x $\r\n      ${in} $\n   > $out  \r\n\
         # comment\nbuild ./out//dir/../f$ g.txt: r ./src/../i$:j.c \"quoted\" back\\slash\n",
        &[],
    );
}

#[test]
fn our_hash_of_the_command_is_the_one_ninja_logs() {
    let Some(version) = ninja_version() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("build.ninja"),
        "rule w\n  command = echo $in > $out\nrule rsp\n  command = cat $out.rsp > $out\n  rspfile = $out.rsp\n  \
         rspfile_content = $in with space\nbuild a.txt: w x y\nbuild b.txt: rsp a.txt\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("x"), "").unwrap();
    std::fs::write(dir.path().join("y"), "").unwrap();
    ninja(dir.path(), &[]);
    let log = build_log::read(&dir.path().join(".ninja_log")).unwrap();
    if log.version() > 6 {
        eprintln!("note: ninja {version} writes log v{}, hashed differently; skipping", log.version());
        return;
    }
    let graph = parse_in(dir.path());
    for output in ["a.txt", "b.txt"] {
        let edge = graph.producer(graph.lookup_node(output).unwrap()).unwrap();
        let entry = log.get(output).unwrap();
        assert_eq!(entry.command_hash, build_log::hash_command(&graph.command_for_log(edge)), "{output}");
    }
}

#[test]
fn ninja_accepts_a_build_log_we_write() {
    let Some(_) = ninja_version() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("build.ninja"), "rule w\n  command = echo $in > $out\nbuild a.txt: w src\n").unwrap();
    std::fs::write(d.join("src"), "").unwrap();
    ninja(d, &[]);
    let theirs = build_log::read(&d.join(".ninja_log")).unwrap();
    if theirs.version() > 6 {
        return;
    }
    // Replace Ninja's log with one we make from scratch.
    let graph = parse_in(d);
    let edge = graph.producer(graph.lookup_node("a.txt").unwrap()).unwrap();
    let mtime = std::fs::metadata(d.join("a.txt")).unwrap().modified().unwrap();
    let mtime_ns = mtime.duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64;
    let mut ours = BuildLog::new();
    ours.insert(LogEntry {
        output: "a.txt".into(),
        command_hash: build_log::hash_command(&graph.command(edge)),
        start_ms: 0,
        end_ms: 1,
        mtime: mtime_ns,
    });
    ours.write(&d.join(".ninja_log")).unwrap();
    let explain = ninja(d, &["-n", "-d", "explain"]);
    assert!(explain.contains("no work to do"), "ninja wants to rebuild:\n{explain}");
    // And a wrong hash makes it rebuild, so the check above means something.
    ours.insert(LogEntry { command_hash: 1, ..ours.get("a.txt").unwrap().clone() });
    ours.write(&d.join(".ninja_log")).unwrap();
    let explain = ninja(d, &["-n", "-d", "explain"]);
    assert!(explain.contains("command line changed"), "{explain}");
}

const DEPS_MANIFEST: &str = "rule gen\n  command = printf '$out: a.h sub/b.h\\n' > $out.d && touch $out\n  \
                             depfile = $out.d\n  deps = gcc\nbuild o: gen\n";

#[test]
fn we_read_the_deps_log_ninja_writes() {
    let Some(_) = ninja_version() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("build.ninja"), DEPS_MANIFEST).unwrap();
    ninja(d, &[]);
    let (log, report) = deps_log::read(&d.join(".ninja_deps")).unwrap();
    assert_eq!(report.problem, None);
    let deps = log.get("o").unwrap();
    assert_eq!(log.input_paths(deps).collect::<Vec<_>>(), ["a.h", "sub/b.h"]);
    let mtime = std::fs::metadata(d.join("o")).unwrap().modified().unwrap();
    assert_eq!(u128::from(deps.mtime), mtime.duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
}

#[test]
fn ninja_reads_the_deps_log_we_write() {
    let Some(_) = ninja_version() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("build.ninja"), DEPS_MANIFEST).unwrap();
    let mut log = DepsLog::new();
    log.record("o", 123_456_789, &["x.h", "dir/y.h", "long/path/name.hpp"]).unwrap();
    log.record("other.o", 5, &["x.h"]).unwrap();
    log.write(&d.join(".ninja_deps")).unwrap();
    let shown = ninja(d, &["-t", "deps"]);
    assert!(shown.contains("o: #deps 3, deps mtime 123456789 (STALE)"), "{shown}");
    assert!(shown.contains("    x.h\n    dir/y.h\n    long/path/name.hpp\n"), "{shown}");

    // Appending through the writer keeps it readable to Ninja too.
    let (mut w, _) = deps_log::DepsLogWriter::open(&d.join(".ninja_deps")).unwrap();
    w.record("o", 7, &["z.h"]).unwrap();
    drop(w);
    let shown = ninja(d, &["-t", "deps"]);
    assert!(shown.contains("o: #deps 1, deps mtime 7 (STALE)\n    z.h\n"), "{shown}");
}
