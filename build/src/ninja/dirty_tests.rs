//! Ninja's dirty rules, one at a time, after Ninja's graph_test.cc: each
//! test builds a small manifest over files with chosen modification
//! times and the logs a previous run would have left, and checks which
//! edges [`plan`] decides to rebuild. Paths are absolute (a temporary
//! folder), so the tests need not change the working directory.

use std::fs::File;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use gg_ninja::build_log::{hash_command, BuildLog, LogEntry};
use gg_ninja::deps_log::DepsLog;
use gg_ninja::Graph;

use super::dirty::{plan, Plan};

/// A build folder with files at chosen times, and the logs of a previous
/// run.
struct Fixture {
    dir: tempfile::TempDir,
    build_log: BuildLog,
    deps_log: DepsLog,
}

/// Seconds since the epoch that stand for "a while ago": times in the
/// tests count from here.
const BASE: u64 = 1_700_000_000;

fn nanos(t: u64) -> i128 {
    i128::from(BASE + t) * 1_000_000_000
}

impl Fixture {
    fn new() -> Fixture {
        Fixture { dir: tempfile::tempdir().unwrap(), build_log: BuildLog::new(), deps_log: DepsLog::new() }
    }

    /// The absolute path of `name`.
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    /// Writes `name` with its modification time `t` seconds after [`BASE`].
    fn file(&self, name: &str, t: u64) {
        let path = PathBuf::from(self.path(name));
        std::fs::write(&path, name).unwrap();
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(BASE + t))
            .unwrap();
    }

    /// The manifest `text`, with `$D` standing for the folder.
    fn graph(&self, text: &str) -> Graph {
        gg_ninja::parse_str("build.ninja", &text.replace("$D", &self.dir.path().to_string_lossy())).unwrap()
    }

    /// Records in `.ninja_log` that `out` was built by its edge's command
    /// as it is now (`same_command`), or by another one.
    fn logged(&mut self, g: &Graph, out: &str, same_command: bool) {
        let path = self.path(out);
        let e = g.producer(g.lookup_path(&path).unwrap()).unwrap();
        let command = if same_command { g.command_for_log(e) } else { "an older command".to_string() };
        self.build_log.insert(LogEntry {
            output: path,
            command_hash: hash_command(&command),
            start_ms: 0,
            end_ms: 1,
            mtime: 0,
        });
    }

    /// Records in `.ninja_deps` that `out`, written at `t`, read `inputs`.
    fn deps(&mut self, out: &str, t: u64, inputs: &[&str]) {
        let paths: Vec<String> = inputs.iter().map(|i| self.path(i)).collect();
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        self.deps_log.record(&self.path(out), u64::try_from(nanos(t)).unwrap(), &refs).unwrap();
    }

    /// The plan for building `target`.
    fn plan(&self, g: &Graph, target: &str) -> Plan {
        let node = g.lookup_path(&self.path(target)).unwrap();
        plan(g, &[node], &self.build_log, &self.deps_log).unwrap()
    }

    /// The first output of each edge the plan rebuilds, by file name, in
    /// build order.
    fn dirty(&self, g: &Graph, target: &str) -> Vec<String> {
        let plan = self.plan(g, target);
        plan.order
            .iter()
            .map(|&e| {
                let out = g.path(g.edge(e).outputs()[0]);
                out.rsplit('/').next().unwrap().to_string()
            })
            .collect()
    }
}

const CC: &str = "rule cc\n  command = cc -c $in -o $out\n";

#[test]
fn an_output_newer_than_its_inputs_with_the_same_command_is_clean() {
    let mut f = Fixture::new();
    let g = f.graph(&format!("{CC}build $D/out.o: cc $D/in.c\n"));
    f.file("in.c", 1);
    f.file("out.o", 2);
    f.logged(&g, "out.o", true);
    assert_eq!(f.dirty(&g, "out.o"), Vec::<String>::new());
}

#[test]
fn a_missing_output_is_dirty() {
    let mut f = Fixture::new();
    let g = f.graph(&format!("{CC}build $D/out.o: cc $D/in.c\n"));
    f.file("in.c", 1);
    f.logged(&g, "out.o", true);
    assert_eq!(f.dirty(&g, "out.o"), ["out.o"]);
}

#[test]
fn one_missing_output_of_several_makes_the_edge_dirty() {
    let mut f = Fixture::new();
    let g = f.graph(&format!("{CC}build $D/out.o $D/out.lst: cc $D/in.c\n"));
    f.file("in.c", 1);
    f.file("out.o", 2);
    f.logged(&g, "out.o", true);
    f.logged(&g, "out.lst", true);
    assert_eq!(f.dirty(&g, "out.o"), ["out.o"]);
}

#[test]
fn an_output_older_than_an_input_is_dirty() {
    let mut f = Fixture::new();
    let g = f.graph(&format!("{CC}build $D/out.o: cc $D/in.c | $D/implicit.h\n"));
    f.file("in.c", 1);
    f.file("implicit.h", 1);
    f.file("out.o", 2);
    f.logged(&g, "out.o", true);
    assert!(f.dirty(&g, "out.o").is_empty());
    // An implicit input counts as an explicit one does.
    f.file("implicit.h", 3);
    assert_eq!(f.dirty(&g, "out.o"), ["out.o"]);
    f.file("implicit.h", 1);
    f.file("in.c", 3);
    assert_eq!(f.dirty(&g, "out.o"), ["out.o"]);
}

#[test]
fn a_changed_command_makes_the_edge_dirty() {
    let mut f = Fixture::new();
    let g = f.graph(&format!("{CC}build $D/out.o: cc $D/in.c\n"));
    f.file("in.c", 1);
    f.file("out.o", 2);
    f.logged(&g, "out.o", false);
    assert_eq!(f.dirty(&g, "out.o"), ["out.o"]);
}

#[test]
fn an_output_the_build_log_does_not_know_is_dirty() {
    let f = Fixture::new();
    let g = f.graph(&format!("{CC}build $D/out.o: cc $D/in.c\n"));
    f.file("in.c", 1);
    f.file("out.o", 2);
    assert_eq!(f.dirty(&g, "out.o"), ["out.o"]);
}

#[test]
fn a_generator_edge_is_not_dirtied_by_its_command() {
    let mut f = Fixture::new();
    let g = f.graph("rule gen\n  command = cmake .\n  generator = 1\nbuild $D/build.ninja: gen $D/CMakeLists.txt\n");
    f.file("CMakeLists.txt", 1);
    f.file("build.ninja", 2);
    f.logged(&g, "build.ninja", false);
    assert!(f.dirty(&g, "build.ninja").is_empty());
    // Its inputs still count.
    f.file("CMakeLists.txt", 3);
    assert_eq!(f.dirty(&g, "build.ninja"), ["build.ninja"]);
}

const GCC_DEPS: &str = "rule cc\n  command = cc -MD -MF $out.d -c $in -o $out\n  deps = gcc\n  depfile = $out.d\n";

#[test]
fn recorded_deps_older_than_the_output_are_fresh_and_clean() {
    let mut f = Fixture::new();
    let g = f.graph(&format!("{GCC_DEPS}build $D/out.o: cc $D/in.c\n"));
    f.file("in.c", 1);
    f.file("a.h", 1);
    f.file("out.o", 2);
    f.logged(&g, "out.o", true);
    f.deps("out.o", 2, &["in.c", "a.h"]);
    let plan = f.plan(&g, "out.o");
    assert!(plan.order.is_empty());
    let e = g.producer(g.lookup_path(&f.path("out.o")).unwrap()).unwrap();
    assert_eq!(plan.fresh_deps.get(&e), Some(&vec![f.path("in.c"), f.path("a.h")]));
}

#[test]
fn a_recorded_dep_newer_than_the_output_is_dirty() {
    let mut f = Fixture::new();
    let g = f.graph(&format!("{GCC_DEPS}build $D/out.o: cc $D/in.c\n"));
    f.file("in.c", 1);
    f.file("a.h", 3);
    f.file("out.o", 2);
    f.logged(&g, "out.o", true);
    f.deps("out.o", 2, &["in.c", "a.h"]);
    let plan = f.plan(&g, "out.o");
    assert_eq!(plan.order.len(), 1);
    // The list is stale: the compile must find its inputs again.
    assert!(plan.fresh_deps.is_empty());
}

#[test]
fn a_missing_recorded_dep_is_dirty() {
    let mut f = Fixture::new();
    let g = f.graph(&format!("{GCC_DEPS}build $D/out.o: cc $D/in.c\n"));
    f.file("in.c", 1);
    f.file("out.o", 2);
    f.logged(&g, "out.o", true);
    f.deps("out.o", 2, &["in.c", "gone.h"]);
    let plan = f.plan(&g, "out.o");
    assert_eq!(plan.order.len(), 1);
    assert!(plan.fresh_deps.is_empty());
}

#[test]
fn an_output_without_recorded_deps_is_dirty() {
    let mut f = Fixture::new();
    let g = f.graph(&format!("{GCC_DEPS}build $D/out.o: cc $D/in.c\n"));
    f.file("in.c", 1);
    f.file("out.o", 2);
    f.logged(&g, "out.o", true);
    assert_eq!(f.dirty(&g, "out.o"), ["out.o"]);
}

#[test]
fn an_output_newer_than_its_recorded_deps_is_dirty() {
    // Written after the deps were recorded: by something else than the
    // edge, so what it read is unknown.
    let mut f = Fixture::new();
    let g = f.graph(&format!("{GCC_DEPS}build $D/out.o: cc $D/in.c\n"));
    f.file("in.c", 1);
    f.file("out.o", 3);
    f.logged(&g, "out.o", true);
    f.deps("out.o", 2, &["in.c"]);
    assert_eq!(f.dirty(&g, "out.o"), ["out.o"]);
}

#[test]
fn a_depfile_dep_newer_than_the_output_is_dirty_and_a_missing_depfile_too() {
    let mut f = Fixture::new();
    let rule = "rule cc\n  command = cc -MD -MF $out.d -c $in -o $out\n  depfile = $out.d\n";
    let g = f.graph(&format!("{rule}build $D/out.o: cc $D/in.c\n"));
    f.file("in.c", 1);
    f.file("a.h", 1);
    f.file("out.o", 2);
    f.logged(&g, "out.o", true);
    assert_eq!(f.dirty(&g, "out.o"), ["out.o"], "no depfile: dirty");
    std::fs::write(f.path("out.o.d"), format!("{}: {} {}\n", f.path("out.o"), f.path("in.c"), f.path("a.h"))).unwrap();
    assert!(f.dirty(&g, "out.o").is_empty());
    f.file("a.h", 3);
    assert_eq!(f.dirty(&g, "out.o"), ["out.o"]);
}

#[test]
fn a_newer_order_only_input_does_not_make_the_edge_dirty() {
    let mut f = Fixture::new();
    let g = f.graph(&format!("{CC}build $D/out.o: cc $D/in.c || $D/gen.h\n"));
    f.file("in.c", 1);
    f.file("out.o", 2);
    f.file("gen.h", 3);
    f.logged(&g, "out.o", true);
    assert!(f.dirty(&g, "out.o").is_empty());
}

#[test]
fn a_rebuilt_order_only_input_is_built_first_but_dirties_nothing() {
    let mut f = Fixture::new();
    let g = f.graph(&format!(
        "{CC}rule gen\n  command = gen $out\nbuild $D/gen.h: gen\nbuild $D/out.o: cc $D/in.c || $D/gen.h\n"
    ));
    f.file("in.c", 1);
    f.file("out.o", 2);
    f.logged(&g, "out.o", true);
    // gen.h is missing: its edge runs, the compile does not.
    assert_eq!(f.dirty(&g, "out.o"), ["gen.h"]);
}

#[test]
fn a_rebuilt_input_dirties_its_consumer_even_when_older() {
    let mut f = Fixture::new();
    let g = f.graph(&format!(
        "{CC}rule link\n  command = ld $in -o $out\nbuild $D/a.o: cc $D/a.c\nbuild $D/app: link $D/a.o\n"
    ));
    f.file("a.c", 1);
    f.file("a.o", 2);
    f.file("app", 3);
    f.logged(&g, "a.o", false);
    f.logged(&g, "app", true);
    assert_eq!(f.dirty(&g, "app"), ["a.o", "app"]);
    f.logged(&g, "a.o", true);
    assert!(f.dirty(&g, "app").is_empty());
}

#[test]
fn a_restat_edge_is_judged_by_its_output_on_disk() {
    // gg's dirty check does not use the build log's mtime for `restat`
    // edges (Ninja does, after a run that left the output untouched):
    // an output older than its input is dirty, restat or not, and one
    // newer than its input with the same command is clean.
    let mut f = Fixture::new();
    let g = f.graph("rule cp\n  command = cp-if-changed $in $out\n  restat = 1\nbuild $D/out.h: cp $D/in.h\n");
    assert!(g.is_restat(g.producer(g.lookup_path(&f.path("out.h")).unwrap()).unwrap()));
    f.file("in.h", 1);
    f.file("out.h", 2);
    f.logged(&g, "out.h", true);
    assert!(f.dirty(&g, "out.h").is_empty());
    f.file("in.h", 3);
    assert_eq!(f.dirty(&g, "out.h"), ["out.h"]);
}

#[test]
fn a_phony_edge_without_inputs_is_dirty_only_while_its_output_is_missing() {
    let f = Fixture::new();
    let g = f.graph("build $D/always: phony\n");
    let plan = f.plan(&g, "always");
    assert_eq!(plan.order.len(), 1);
    f.file("always", 1);
    assert!(f.plan(&g, "always").order.is_empty());
}

#[test]
fn a_phony_alias_follows_its_inputs() {
    let mut f = Fixture::new();
    let g = f.graph(&format!("{CC}build $D/out.o: cc $D/in.c\nbuild $D/all: phony $D/out.o\n"));
    f.file("in.c", 1);
    f.file("out.o", 2);
    f.logged(&g, "out.o", true);
    // Clean input: the alias is clean, though no file `all` exists and
    // the log knows nothing of it.
    assert!(f.dirty(&g, "all").is_empty());
    f.file("in.c", 3);
    assert_eq!(f.dirty(&g, "all"), ["out.o", "all"]);
}

#[test]
fn a_consumer_of_a_rebuilt_phony_alias_is_dirty() {
    let mut f = Fixture::new();
    let g = f.graph(&format!(
        "{CC}rule link\n  command = ld $in -o $out\nbuild $D/a.o: cc $D/a.c\nbuild $D/objs: phony $D/a.o\n\
         build $D/app: link $D/objs\n"
    ));
    f.file("a.c", 3);
    f.file("a.o", 2);
    f.file("app", 4);
    f.logged(&g, "a.o", true);
    f.logged(&g, "app", true);
    assert_eq!(f.dirty(&g, "app"), ["a.o", "objs", "app"]);
}
