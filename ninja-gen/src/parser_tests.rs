//! Tests of the manifest parser: every construct, and every error message.
//! Evaluation order and scoping have their own file, `eval_tests.rs`.

use crate::*;

pub(crate) fn parse_ok(text: &str) -> Graph {
    parse_str("build.ninja", text).unwrap_or_else(|e| panic!("unexpected error:\n{e}"))
}

pub(crate) fn parse_err(text: &str) -> ParseError {
    match parse_str("build.ninja", text) {
        Ok(_) => panic!("parsed, but should not have:\n{text}"),
        Err(e) => e,
    }
}

/// Parses `build.ninja` with the other files given available to include.
pub(crate) fn parse_files(main: &str, others: &[(&str, &str)]) -> Result<Graph, ParseError> {
    let mut reader = MemoryReader::new();
    reader.add("build.ninja", main);
    for (name, text) in others {
        reader.add(name, *text);
    }
    parse("build.ninja", &mut reader, &ParseOptions::default())
}

/// The edge producing `output`.
pub(crate) fn edge_of(g: &Graph, output: &str) -> EdgeId {
    let node = g.lookup_node(output).unwrap_or_else(|| panic!("no node {output}"));
    g.producer(node).unwrap_or_else(|| panic!("nothing builds {output}"))
}

pub(crate) fn command_of(g: &Graph, output: &str) -> String {
    g.command(edge_of(g, output))
}

fn paths(g: &Graph, ids: &[NodeId]) -> Vec<String> {
    ids.iter().map(|&n| g.path(n).to_string()).collect()
}

const CAT: &str = "rule cat\n  command = cat $in > $out\n";

#[test]
fn a_rule_and_a_build_make_one_edge_with_its_command() {
    let g = parse_ok(&format!("{CAT}build out: cat in1 in2\n"));
    assert_eq!(g.edges().len(), 1);
    assert_eq!(command_of(&g, "out"), "cat in1 in2 > out");
    let e = g.edge(edge_of(&g, "out"));
    assert_eq!(g.rule(e.rule()).name(), "cat");
    assert_eq!(paths(&g, e.explicit_inputs()), ["in1", "in2"]);
    assert_eq!(g.node(g.lookup_node("in1").unwrap()).out_edges(), &[edge_of(&g, "out")]);
}

#[test]
fn every_kind_of_output_and_input_is_parsed_in_its_place() {
    let g = parse_ok(&format!("{CAT}build o1 o2 | io1 io2: cat i1 i2 | ii1 || oo1 oo2 |@ v1 v2\n"));
    let e = g.edge(edge_of(&g, "o1"));
    assert_eq!(paths(&g, e.explicit_outputs()), ["o1", "o2"]);
    assert_eq!(paths(&g, e.implicit_outputs()), ["io1", "io2"]);
    assert_eq!(paths(&g, e.outputs()), ["o1", "o2", "io1", "io2"]);
    assert_eq!(paths(&g, e.explicit_inputs()), ["i1", "i2"]);
    assert_eq!(paths(&g, e.implicit_inputs()), ["ii1"]);
    assert_eq!(paths(&g, e.order_only_inputs()), ["oo1", "oo2"]);
    assert_eq!(paths(&g, e.inputs()), ["i1", "i2", "ii1", "oo1", "oo2"]);
    assert_eq!(paths(&g, e.validations()), ["v1", "v2"]);
    assert_eq!(edge_of(&g, "io2"), edge_of(&g, "o1"));
    let v1 = g.lookup_node("v1").unwrap();
    assert_eq!(g.node(v1).validation_out_edges(), &[edge_of(&g, "o1")]);
    assert!(g.node(v1).out_edges().is_empty());
    // `$in` and `$out` leave out everything implicit.
    assert_eq!(command_of(&g, "o1"), "cat i1 i2 > o1 o2");
}

#[test]
fn sections_may_be_empty_and_need_no_spaces_around_pipes() {
    let g = parse_ok(&format!("{CAT}build o|io: cat||oo|@v\nbuild p: cat | ii\n"));
    let e = g.edge(edge_of(&g, "o"));
    assert_eq!(paths(&g, e.implicit_outputs()), ["io"]);
    assert!(e.explicit_inputs().is_empty());
    assert_eq!(paths(&g, e.order_only_inputs()), ["oo"]);
    assert_eq!(paths(&g, e.validations()), ["v"]);
    assert_eq!(paths(&g, g.edge(edge_of(&g, "p")).implicit_inputs()), ["ii"]);
}

#[test]
fn dollar_escapes_give_dollar_space_and_colon() {
    let g = parse_ok("rule r\n  command = echo $$HOME $$$$ a$ b c$:d\nbuild x$ y a$:b: r in$$put\n");
    let e = edge_of(&g, "x y");
    assert_eq!(g.command(e), "echo $HOME $$ a b c:d");
    assert!(g.lookup_node("a:b").is_some());
    assert!(g.lookup_node("in$put").is_some());
}

#[test]
fn a_continuation_joins_lines_and_skips_the_next_lines_indent() {
    let g = parse_ok("rule r\n  command = a$\n      b $\n   c\nbuild out: $\n    r $\n    x $\n    y\n");
    assert_eq!(command_of(&g, "out"), "ab c");
    assert_eq!(paths(&g, g.edge(edge_of(&g, "out")).explicit_inputs()), ["x", "y"]);
}

#[test]
fn crlf_line_endings_are_accepted_everywhere() {
    let text = "x = 1\r\nrule r\r\n  command = echo $x $\r\n    more\r\n\r\n# comment\r\nbuild a: r b\r\n  y = 2\r\n";
    let g = parse_ok(text);
    assert_eq!(command_of(&g, "a"), "echo 1 more");
    assert_eq!(g.edge_bindings(edge_of(&g, "a")).collect::<Vec<_>>(), [("y", "2")]);
}

#[test]
fn comments_and_blank_lines_are_ignored_even_inside_blocks() {
    let g =
        parse_ok("# top\n\nrule r\n  # inside the rule\n  command = c\n   \n  # more\nbuild a: r # not a comment\n");
    assert_eq!(command_of(&g, "a"), "c");
    // A `#` after other text is part of the line.
    assert!(g.lookup_node("#").is_some());
}

#[test]
fn variable_names_follow_ninjas_character_sets() {
    let g = parse_ok(
        "a.b = dotted\nx = X\nx-y = dashed\nrule r\n  command = [${a.b}] [$a.b] [$x-y] [${x}-y] [$x/y]\nbuild o: r\n",
    );
    // `$name` stops at `.`, `${name}` does not; `-` belongs to names.
    assert_eq!(command_of(&g, "o"), "[dotted] [.b] [dashed] [X-y] [X/y]");
}

#[test]
fn phony_is_built_in_and_has_no_command() {
    let g = parse_ok("build all: phony a b\n");
    let e = edge_of(&g, "all");
    assert!(g.is_phony(e));
    assert_eq!(g.edge(e).rule(), PHONY_RULE);
    assert_eq!(g.command(e), "");
}

#[test]
fn a_phony_edge_naming_itself_loses_the_self_reference_with_a_warning() {
    let g = parse_ok("build a: phony a b\n");
    let e = g.edge(edge_of(&g, "a"));
    assert_eq!(paths(&g, e.explicit_inputs()), ["b"]);
    assert_eq!(g.warnings().len(), 1, "{:?}", g.warnings());
    assert!(g.warnings()[0].contains("phony target 'a' names itself as an input"));

    let mut reader = MemoryReader::new();
    reader.add("m", "build a: phony a b\n");
    let options = ParseOptions { phony_cycle: PhonyCycleAction::Error, ..ParseOptions::default() };
    let g = parse("m", &mut reader, &options).unwrap();
    assert_eq!(paths(&g, g.edge(edge_of(&g, "a")).explicit_inputs()), ["a", "b"]);
}

#[test]
fn default_statements_collect_targets_in_order() {
    let g = parse_ok(&format!("{CAT}build a: cat\nbuild b: cat\nbuild c: cat\ndefault c\ndefault a b\n"));
    assert_eq!(paths(&g, g.defaults()), ["c", "a", "b"]);
    assert_eq!(paths(&g, &g.default_targets()), ["c", "a", "b"]);
}

#[test]
fn without_defaults_the_targets_are_the_outputs_nothing_uses() {
    let g = parse_ok(&format!("{CAT}build a: cat\nbuild b: cat a\nbuild c: cat\n"));
    assert_eq!(paths(&g, &g.default_targets()), ["b", "c"]);
}

#[test]
fn default_may_name_a_source_file_and_is_canonicalised() {
    let g = parse_ok(&format!("{CAT}build a: cat src/x.c\nv = src\ndefault ./$v//x.c\n"));
    assert_eq!(paths(&g, g.defaults()), ["src/x.c"]);
}

#[test]
fn pools_have_depths_and_edges_join_them_by_rule_or_binding() {
    let g = parse_ok(
        "pool link\n  depth = 2\nrule ld\n  command = ld\n  pool = link\nrule cc\n  command = cc\n\
         build a: ld\nbuild b: cc\n  pool = console\nbuild c: cc\nbuild d: ld\n  pool =\n",
    );
    let link = g.lookup_pool("link").unwrap();
    assert_eq!(g.pool(link).depth(), 2);
    assert_eq!(g.edge(edge_of(&g, "a")).pool(), link);
    assert_eq!(g.edge(edge_of(&g, "b")).pool(), CONSOLE_POOL);
    assert_eq!(g.pool(CONSOLE_POOL).depth(), 1);
    assert_eq!(g.edge(edge_of(&g, "c")).pool(), DEFAULT_POOL);
    // An empty build binding shadows the rule's pool.
    assert_eq!(g.edge(edge_of(&g, "d")).pool(), DEFAULT_POOL);
}

#[test]
fn a_pool_depth_may_come_from_a_variable() {
    let g = parse_ok("jobs = 4\npool p\n  depth = $jobs\n");
    assert_eq!(g.pool(g.lookup_pool("p").unwrap()).depth(), 4);
}

#[test]
fn rule_keys_are_all_accepted_and_flags_evaluate() {
    let g = parse_ok(
        "rule r\n  command = cc -MF $depfile $in\n  depfile = $out.d\n  deps = gcc\n  msvc_deps_prefix = Note: x\n\
         \x20 description = CC $out\n  generator = 1\n  restat = 1\n  rspfile = $out.rsp\n  rspfile_content = $in\n\
         \x20 dyndep =\nrule plain\n  command = p\nbuild o: r i\nbuild p: plain\n",
    );
    let e = edge_of(&g, "o");
    assert_eq!(g.command(e), "cc -MF o.d i");
    assert_eq!(g.depfile(e), "o.d");
    assert_eq!(g.deps(e), "gcc");
    assert_eq!(g.msvc_deps_prefix(e), "Note: x");
    assert_eq!(g.description(e), "CC o");
    assert!(g.is_generator(e) && g.is_restat(e));
    assert_eq!(g.rspfile(e), "o.rsp");
    assert_eq!(g.rspfile_content(e), "i");
    assert_eq!(g.command_for_log(e), "cc -MF o.d i;rspfile=i");
    let p = edge_of(&g, "p");
    assert!(!g.is_generator(p) && !g.is_restat(p));
    assert_eq!(g.command_for_log(p), "p");
    let rule = g.rule(g.edge(e).rule());
    assert_eq!(g.unparse(rule.binding(RuleKey::Depfile).unwrap()), "${out}.d");
    assert!(rule.binding(RuleKey::Dyndep).unwrap().is_empty());
}

#[test]
fn a_dyndep_file_must_be_an_input_and_is_recorded() {
    let g = parse_ok("rule r\n  command = r\n  dyndep = $in.dd\nbuild o: r x || x.dd\nbuild p: r y\n  dyndep =\n");
    let e = g.edge(edge_of(&g, "o"));
    assert_eq!(e.dyndep().map(|n| g.path(n)), Some("x.dd"));
    assert_eq!(g.edge(edge_of(&g, "p")).dyndep(), None);
    let err = parse_err("rule r\n  command = r\nbuild o: r x\n  dyndep = y.dd\n");
    assert_eq!(err.message(), "dyndep 'y.dd' is not an input");
    assert_eq!((err.line(), err.column()), (3, 1));
}

#[test]
fn builddir_and_required_version_are_top_level_variables() {
    let g = parse_ok("ninja_required_version = 1.7\nbuilddir = out/$sub\n");
    assert_eq!(g.builddir(), Some("out/"));
    assert_eq!(g.variable("ninja_required_version"), Some("1.7"));
    assert!(g.warnings().is_empty());
    assert!(parse_ok("builddir = b\n").warnings().is_empty());
    assert_eq!(parse_ok("ninja_required_version = 0.9\n").warnings().len(), 1);
}

#[test]
fn a_newer_required_version_is_refused() {
    let e = parse_err("x = 1\nninja_required_version = 1.99\n");
    assert_eq!(e.line(), 2);
    assert_eq!(
        e.message(),
        format!("ninja version ({NINJA_VERSION}) incompatible with build file ninja_required_version version (1.99)")
    );
    parse_err("ninja_required_version = 2.0\n");
}

#[test]
fn paths_are_canonicalised_into_one_node() {
    let g = parse_ok(&format!("{CAT}build ./out//a.o: cat src/../src/./a.c ../x/y/..\nbuild b: cat out/a.o\n"));
    let e = g.edge(edge_of(&g, "out/a.o"));
    assert_eq!(paths(&g, e.explicit_inputs()), ["src/a.c", "../x"]);
    assert_eq!(g.producer(g.lookup_node("out/a.o").unwrap()), g.producer(g.lookup_path("./out/a.o").unwrap()));
    assert_eq!(g.nodes().len(), 4);
    // `$in` shows the canonical path.
    assert_eq!(command_of(&g, "b"), "cat out/a.o > b");
}

#[test]
fn include_reads_a_file_into_the_same_scope() {
    let g = parse_files(
        "x = top\ninclude rules.ninja\nbuild a: r\n",
        &[("rules.ninja", "rule r\n  command = echo $x $y\ny = from-include\nx = changed\n")],
    )
    .unwrap();
    assert_eq!(command_of(&g, "a"), "echo changed from-include");
    assert_eq!(g.variable("y"), Some("from-include"));
}

#[test]
fn an_include_path_is_evaluated_in_the_current_scope() {
    let g = parse_files("d = sub\ninclude $d/r.ninja\n", &[("sub/r.ninja", "z = 1\n")]).unwrap();
    assert_eq!(g.variable("z"), Some("1"));
}

#[test]
fn subninja_gets_a_child_scope_that_the_parent_cannot_see() {
    let g = parse_files(
        "x = top\nrule r\n  command = top $x\nsubninja sub.ninja\nbuild a: r\n",
        &[("sub.ninja", "x = inner\nv = sub-only\nrule s\n  command = sub $x $v\nbuild b: s\nbuild c: r\n")],
    )
    .unwrap();
    // The parent's `x` is untouched and `v` is invisible at the top.
    assert_eq!(command_of(&g, "a"), "top top");
    assert_eq!(g.variable("v"), None);
    // The subninja sees its own variables, and the parent's rules.
    assert_eq!(command_of(&g, "b"), "sub inner sub-only");
    assert_eq!(command_of(&g, "c"), "top inner");
    assert_ne!(g.edge(edge_of(&g, "b")).scope(), ROOT_SCOPE);
    assert!(g.lookup_rule(ROOT_SCOPE, "s").is_none());
}

#[test]
fn subninja_may_redefine_a_rule_and_siblings_do_not_share_scopes() {
    let g = parse_files(
        "rule r\n  command = top\nsubninja a.ninja\nsubninja b.ninja\n",
        &[("a.ninja", "rule r\n  command = a\nbuild a: r\nx = a\n"), ("b.ninja", "build b: r\n  y = $x\n")],
    )
    .unwrap();
    assert_eq!(command_of(&g, "a"), "a");
    assert_eq!(command_of(&g, "b"), "top");
    assert_eq!(g.edge_bindings(edge_of(&g, "b")).collect::<Vec<_>>(), [("y", "")]);
}

#[test]
fn an_include_inside_a_subninja_shares_the_subninjas_scope() {
    let g = parse_files(
        "subninja sub.ninja\n",
        &[("sub.ninja", "include inc.ninja\nbuild a: r\n"), ("inc.ninja", "w = W\nrule r\n  command = $w\n")],
    )
    .unwrap();
    assert_eq!(command_of(&g, "a"), "W");
    assert_eq!(g.variable("w"), None);
    assert!(g.lookup_rule(ROOT_SCOPE, "r").is_none());
}

#[test]
fn a_file_including_itself_is_an_error_not_a_crash() {
    let e = parse_files("include build.ninja\n", &[]).unwrap_err();
    assert!(e.message().contains("include nesting too deep"), "{e}");
}

#[test]
fn a_nul_byte_ends_the_manifest() {
    let g = parse_ok(&format!("{CAT}build a: cat\n\0garbage $ ||\n"));
    assert_eq!(g.edges().len(), 1);
}

// ---- Errors: message and position ----

fn assert_error(text: &str, line: usize, column: usize, message: &str) {
    let e = parse_err(text);
    assert_eq!(e.message(), message, "for:\n{text}");
    assert_eq!((e.line(), e.column()), (line, column), "position of `{message}` in:\n{text}");
    assert!(e.to_string().starts_with(&format!("build.ninja:{line}:{column}: {message}")), "{e}");
}

#[test]
fn an_unknown_rule_is_named() {
    assert_error("build a: nope b\n", 1, 10, "unknown build rule 'nope'");
}

#[test]
fn a_rule_defined_twice_in_a_scope_is_an_error() {
    assert_error(&format!("{CAT}{CAT}"), 3, 6, "duplicate rule 'cat'");
    assert_error("rule phony\n  command = x\n", 1, 6, "duplicate rule 'phony'");
}

#[test]
fn two_edges_building_one_file_is_an_error() {
    assert_error(&format!("{CAT}build a: cat\nbuild ./a: cat\n"), 4, 7, "multiple rules generate a");
    assert_error(&format!("{CAT}build a | b a: cat\n"), 3, 13, "a is defined as an output multiple times");
}

#[test]
fn an_unknown_pool_is_named() {
    assert_error(&format!("{CAT}build a: cat\n  pool = nope\n"), 3, 1, "unknown pool name 'nope'");
}

#[test]
fn pool_declarations_are_checked() {
    assert_error("pool p\n  depth = 1\npool p\n  depth = 2\n", 3, 6, "duplicate pool 'p'");
    assert_error("pool console\n  depth = 2\n", 1, 6, "duplicate pool 'console'");
    assert_error("pool p\n  depth = -1\n", 2, 3, "invalid pool depth");
    assert_error("pool p\n  depth = 3x\n", 2, 3, "invalid pool depth");
    assert_error("pool p\n  depth = +3\n", 2, 3, "invalid pool depth");
    assert_error("pool p\n  depth =\n", 2, 3, "invalid pool depth");
    assert_error("pool p\n  size = 1\n", 2, 3, "unexpected variable 'size'");
    assert_error("pool p\n", 1, 6, "expected 'depth =' line");
    assert_error("pool\n", 1, 5, "expected pool name");
}

#[test]
fn a_bad_dollar_escape_points_at_the_dollar() {
    assert_error("rule r\n  command = a $! b\n", 2, 15, "bad $-escape (literal $ must be written as $$)");
    assert_error("build a${b: r\n", 1, 8, "bad $-escape (literal $ must be written as $$)");
}

#[test]
fn a_build_line_without_a_colon_says_what_it_expected() {
    assert_error(&format!("{CAT}build a b\n"), 3, 10, "expected ':', got newline ($ also escapes ':')");
    assert_error(&format!("{CAT}build a || b: cat\n"), 3, 9, "expected ':', got '||' ($ also escapes ':')");
    // `=` is an ordinary character in a path.
    assert_error(&format!("{CAT}build a = b\n"), 3, 12, "expected ':', got newline ($ also escapes ':')");
}

#[test]
fn a_build_line_needs_outputs_and_a_rule_name() {
    assert_error(&format!("{CAT}build: cat\n"), 3, 6, "expected path");
    assert_error(&format!("{CAT}build | : cat\n"), 3, 9, "expected path");
    // Implicit outputs alone are enough (as in Ninja).
    let g = parse_ok(&format!("{CAT}build | x: cat\n"));
    assert_eq!(command_of(&g, "x"), "cat  > ");
    assert_error(&format!("{CAT}build a:\n"), 3, 9, "expected build command name");
}

#[test]
fn indentation_at_the_top_level_is_unexpected() {
    assert_error("x = 1\n  y = 2\n", 2, 1, "unexpected indent");
    assert_error(&format!("{CAT}build a: cat\n\n  y = 2\n"), 5, 1, "unexpected indent");
}

#[test]
fn other_unexpected_tokens_are_named() {
    assert_error("x = 1\n: y\n", 2, 1, "unexpected ':'");
    assert_error("x = 1\n|| y\n", 2, 1, "unexpected '||'");
    assert_error("x\n", 1, 2, "expected '=', got newline");
}

#[test]
fn a_rule_accepts_only_its_known_keys() {
    assert_error("rule r\n  command = c\n  cflags = -O2\n", 3, 3, "unexpected variable 'cflags'");
}

#[test]
fn a_rule_needs_a_command() {
    assert_error("rule r\n  description = d\n", 1, 6, "expected 'command =' line");
    assert_error("rule r\n  command =\n", 1, 6, "expected 'command =' line");
    assert_error("rule\n", 1, 5, "expected rule name");
    assert_error("rule r extra\n", 1, 8, "expected newline, got identifier");
}

#[test]
fn rspfile_and_rspfile_content_come_together() {
    let msg = "rspfile and rspfile_content need to be both specified";
    assert_error("rule r\n  command = c\n  rspfile = x\n", 1, 6, msg);
    assert_error("rule r\n  command = c\n  rspfile_content = x\n", 1, 6, msg);
}

#[test]
fn default_must_name_a_known_target() {
    assert_error(&format!("{CAT}build a: cat\ndefault a b\n"), 4, 11, "unknown target 'b'");
    assert_error("default\n", 1, 8, "expected target name");
    assert_error("default $x\n", 1, 9, "empty path");
}

#[test]
fn a_path_that_evaluates_to_nothing_is_an_error() {
    assert_error(&format!("{CAT}build a: cat $empty\n"), 3, 14, "empty path");
    assert_error(&format!("{CAT}build $empty: cat\n"), 3, 7, "empty path");
}

#[test]
fn a_missing_include_is_reported_at_the_include() {
    let e = parse_files("x = 1\ninclude missing.ninja\n", &[]).unwrap_err();
    assert_eq!(e.message(), "loading 'missing.ninja': No such file or directory");
    assert_eq!((e.file(), e.line(), e.column()), ("build.ninja", 2, 9));
    let e = parse_files("subninja $x\n", &[]).unwrap_err();
    assert_eq!(e.message(), "loading '': No such file or directory");
}

#[test]
fn errors_in_an_included_file_name_that_file() {
    let e = parse_files("include inc.ninja\n", &[("inc.ninja", "\nbuild x: nope\n")]).unwrap_err();
    assert_eq!((e.file(), e.line(), e.column()), ("inc.ninja", 2, 10));
    assert!(e.to_string().starts_with("inc.ninja:2:10: unknown build rule 'nope'"));
}

#[test]
fn a_missing_top_file_is_an_error_without_position() {
    let e = parse("nothing.ninja", &mut MemoryReader::new(), &ParseOptions::default()).unwrap_err();
    assert_eq!(e.to_string(), "loading 'nothing.ninja': No such file or directory");
    assert_eq!(e.line(), 0);
}

#[test]
fn lexing_errors_match_ninjas() {
    assert_error("rule r\n\tcommand = c\n", 1, 6, "expected 'command =' line");
    assert_error("x = 1\n\ty = 2\n", 2, 1, "tabs are not allowed, use spaces");
    assert_error("x = 1\n# trailing comment", 2, 1, "lexing error");
    assert_error("x = a\rb\n", 1, 6, "lexing error");
    assert_error("x = 1", 1, 6, "unexpected EOF");
    assert_error(&format!("{CAT}build a: cat"), 3, 13, "unexpected EOF");
    assert_error("x = 1\n€ = 2\n", 2, 1, "lexing error");
}

#[test]
fn invalid_utf8_is_reported_where_it_starts() {
    let mut reader = MemoryReader::new();
    reader.add("m", b"x = 1\ny = a\xff\n".to_vec());
    let e = parse("m", &mut reader, &ParseOptions::default()).unwrap_err();
    assert_eq!((e.line(), e.column()), (2, 6));
    assert!(e.message().contains("UTF-8"));
}

#[test]
fn the_error_shows_the_line_with_a_caret() {
    let e = parse_err("rule r\n  command = c\nbuild a: r $!\n");
    assert_eq!(
        e.to_string(),
        "build.ninja:3:12: bad $-escape (literal $ must be written as $$)\nbuild a: r $!\n           ^ near here"
    );
}
