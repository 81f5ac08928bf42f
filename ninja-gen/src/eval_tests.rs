//! Tests of evaluation order, scoping and shadowing, and of `$in`/`$out`.
//! Where Ninja's behaviour is surprising, the expected value was checked
//! against Ninja 1.11 (`ninja -t commands`); the test says so.

use crate::parser_tests::{command_of, edge_of, parse_files, parse_ok};
use crate::*;

#[test]
fn a_top_level_variable_is_evaluated_when_defined() {
    let g = parse_ok("x = a\ny = $x\nx = b\nz = $x $y\n");
    assert_eq!(g.variable("y"), Some("a"));
    assert_eq!(g.variable("z"), Some("b a"));
}

#[test]
fn a_top_level_variable_can_append_to_itself() {
    let g = parse_ok("flags = -O2\nflags = $flags -g\n");
    assert_eq!(g.variable("flags"), Some("-O2 -g"));
}

#[test]
fn rule_variables_see_the_final_value_of_file_variables() {
    // Rules are evaluated after the whole manifest is read.
    let g = parse_ok("x = 1\nrule r\n  command = echo $x\nbuild a: r\nx = 2\n");
    assert_eq!(command_of(&g, "a"), "echo 2");
}

#[test]
fn build_bindings_shadow_file_variables_for_rule_variables() {
    let g = parse_ok("cflags = -O0\nrule cc\n  command = cc $cflags\nbuild a: cc\nbuild b: cc\n  cflags = -O2\n");
    assert_eq!(command_of(&g, "a"), "cc -O0");
    assert_eq!(command_of(&g, "b"), "cc -O2");
}

#[test]
fn a_build_binding_shadows_the_rules_own_binding() {
    let g = parse_ok("rule r\n  command = from-rule\n  description = d\nbuild a: r\n  command = from-build\n");
    assert_eq!(command_of(&g, "a"), "from-build");
}

#[test]
fn rule_variables_may_refer_to_each_other_and_to_build_bindings() {
    let g = parse_ok(
        "rule r\n  command = run $description\n  description = making $out with $extra\nbuild a: r\n  extra = X\n",
    );
    assert_eq!(command_of(&g, "a"), "run making a with X");
}

#[test]
fn a_rule_variable_reached_through_a_build_binding_is_not_re_evaluated() {
    // The build's `description` is already a plain string: `$out` in it was
    // evaluated at parse time, in the file scope, where it is empty.
    let g =
        parse_ok("rule r\n  command = run $description\n  description = rule\nbuild a: r\n  description = [$out]\n");
    assert_eq!(command_of(&g, "a"), "run []");
}

#[test]
fn build_bindings_are_evaluated_in_the_file_scope_only() {
    // Checked against Ninja 1.11: `y` does not see the `x` bound just above it.
    let g = parse_ok("x = filex\nrule r\n  command = $x $y\nbuild a: r\n  x = bx\n  y = ${x}-by\n");
    assert_eq!(command_of(&g, "a"), "bx filex-by");
}

#[test]
fn a_build_binding_bound_twice_keeps_the_last_value() {
    let g = parse_ok("rule r\n  command = $v\nbuild a: r\n  v = 1\n  v = 2\n");
    assert_eq!(command_of(&g, "a"), "2");
    assert_eq!(g.edge_bindings(edge_of(&g, "a")).count(), 1);
}

#[test]
fn paths_are_evaluated_in_the_build_scope_after_its_bindings() {
    // Checked against Ninja 1.11: the output is `inner/o`, not `filex/o`.
    let g = parse_ok("x = filex\nrule r\n  command = c\nbuild $x/o: r $x/i\n  x = inner\n");
    let e = g.edge(edge_of(&g, "inner/o"));
    assert_eq!(g.path(e.explicit_inputs()[0]), "inner/i");
    assert!(g.lookup_node("filex/o").is_none());
}

#[test]
fn in_and_out_mean_nothing_in_paths_and_build_bindings() {
    // Checked against Ninja 1.11: `z = $out/$in` on a build line is "/".
    let g = parse_ok("rule r\n  command = [$z]\nbuild a: r b\n  z = $out/$in\n");
    assert_eq!(command_of(&g, "a"), "[/]");
}

#[test]
fn a_file_variable_overrides_rule_variables_for_edges_without_bindings() {
    // Ninja's quirk, checked against 1.11: an edge with no bindings of its
    // own looks in its file scope *before* the rule, one with bindings after.
    let g = parse_ok(
        "description = top\nrule r\n  command = echo $description\n  description = rule\nbuild a: r\nbuild b: r\n  unrelated = 1\n",
    );
    assert_eq!(command_of(&g, "a"), "echo top");
    assert_eq!(command_of(&g, "b"), "echo rule");
}

#[test]
fn in_a_subninja_the_quirk_applies_to_the_subninjas_own_variables_only() {
    let g = parse_files(
        "description = top\nrule r\n  command = echo $description\n  description = rule\nsubninja s.ninja\n",
        &[("s.ninja", "build a: r\ndescription = sub\nbuild b: r\nsubninja t.ninja\n"), ("t.ninja", "build c: r\n")],
    )
    .unwrap();
    // `a` and `b` are in s.ninja's scope, which binds `description`.
    assert_eq!(command_of(&g, "a"), "echo sub");
    assert_eq!(command_of(&g, "b"), "echo sub");
    // t.ninja's scope binds nothing: the rule wins over the outer scopes.
    assert_eq!(command_of(&g, "c"), "echo rule");
}

#[test]
fn in_and_out_list_explicit_paths_shell_quoted() {
    // Checked against Ninja 1.11.
    let g = parse_ok("x = filex\nrule r\n  command = echo [$in] [$out]\nbuild b$ c: r a$ b 'q' $x\n");
    assert_eq!(command_of(&g, "b c"), "echo ['a b' ''\\''q'\\''' filex] ['b c']");
}

#[test]
fn in_and_out_cannot_be_shadowed_by_bindings() {
    let g = parse_ok("in = top-in\nrule r\n  command = $in $out\nbuild a: r b\n  out = build-out\n");
    assert_eq!(command_of(&g, "a"), "b a");
}

#[test]
fn in_newline_joins_inputs_with_newlines() {
    let g =
        parse_ok("rule r\n  command = c\n  rspfile = $out.rsp\n  rspfile_content = $in_newline\nbuild o: r a b$ c\n");
    let e = edge_of(&g, "o");
    assert_eq!(g.rspfile_content(e), "a\n'b c'");
    assert_eq!(g.edge_var(e, "in_newline"), "a\n'b c'");
}

#[test]
fn file_variables_are_unquoted_where_they_name_files() {
    let g = parse_ok("rule r\n  command = c $depfile\n  depfile = $out.d\nbuild a$ b: r\n");
    let e = edge_of(&g, "a b");
    assert_eq!(g.depfile(e), "a b.d");
    assert_eq!(g.command(e), "c 'a b'.d");
    assert_eq!(g.edge_var_unescaped(e, "out"), "a b");
}

#[test]
fn unknown_variables_are_empty() {
    let g = parse_ok("rule r\n  command = [$nothing] [${never.bound}]\nbuild a: r\n");
    let e = edge_of(&g, "a");
    assert_eq!(g.command(e), "[] []");
    assert_eq!(g.edge_var(e, "not_a_var_anywhere"), "");
}

#[test]
fn edge_var_evaluates_any_variable_in_the_edge_scope() {
    let g = parse_ok("top = T\nrule r\n  command = c\nbuild a: r\n  own = O $top\n");
    let e = edge_of(&g, "a");
    assert_eq!(g.edge_var(e, "own"), "O T");
    assert_eq!(g.edge_var(e, "top"), "T");
    assert_eq!(g.edge_var(e, "command"), "c");
}

#[test]
fn a_cycle_among_rule_variables_is_an_error_with_ninjas_message() {
    // Ninja 1.11 says exactly this ("fatal: cycle in rule variables: …").
    let g = parse_ok("rule r\n  command = $description\n  description = $command\nbuild a: r\n");
    let e = edge_of(&g, "a");
    assert_eq!(
        g.try_edge_var(e, "command"),
        Err(EvalError::Cycle("description -> command -> description".to_string()))
    );
    assert_eq!(g.command(e), "");
    let g = parse_ok("rule r\n  command = $command\nbuild a: r\n");
    assert_eq!(g.try_edge_var(edge_of(&g, "a"), "command"), Err(EvalError::Cycle("command -> command".to_string())));
}

#[test]
fn using_a_rule_variable_twice_is_not_a_cycle() {
    // Ninja 1.11 wrongly reports "description -> description" here; 1.12 fixed it.
    let g = parse_ok("rule r\n  command = [$description] [$description]\n  description = d $out\nbuild a: r\n");
    assert_eq!(g.try_edge_var(edge_of(&g, "a"), "command").unwrap(), "[d a] [d a]");
}

#[test]
fn a_build_binding_breaks_a_rule_variable_cycle() {
    let g = parse_ok("rule r\n  command = $description\n  description = $command\nbuild a: r\n  description = d\n");
    assert_eq!(g.try_edge_var(edge_of(&g, "a"), "command").unwrap(), "d");
}

#[test]
fn a_cyclic_pool_binding_fails_the_parse() {
    let err = parse_str("m", "rule r\n  command = c\n  pool = $pool\nbuild a: r\n").unwrap_err();
    assert_eq!(err.message(), "cycle in rule variables: pool -> pool");
}

#[test]
fn the_pool_is_evaluated_before_the_edge_has_outputs() {
    // So `$out` in a rule's pool is empty, and the edge is in the default pool.
    let g = parse_ok("rule r\n  command = c\n  pool = $out\nbuild console: r\n");
    assert_eq!(g.edge(edge_of(&g, "console")).pool(), DEFAULT_POOL);
}

#[test]
fn a_variable_that_doubles_itself_stops_at_the_length_limit() {
    let mut reader = MemoryReader::new();
    reader.add("m", format!("x = ab\n{}", "x = $x$x\n".repeat(40)));
    let options = ParseOptions { max_value_len: 1 << 20, ..ParseOptions::default() };
    let e = parse("m", &mut reader, &options).unwrap_err();
    assert_eq!(e.message(), "value longer than 1048576 bytes");
    assert_eq!(e.line(), 21, "2 bytes doubled 19 times is 1 MiB; the 20th doubling fails");
}

#[test]
fn rule_variables_that_grow_exponentially_stop_at_the_length_limit() {
    let keys = ["command", "description", "depfile", "deps", "msvc_deps_prefix", "generator", "restat"];
    let mut text = String::from("rule r\n");
    for pair in keys.windows(2) {
        text.push_str(&format!("  {} = {}\n", pair[0], format!("${{{}}}", pair[1]).repeat(20)));
    }
    text.push_str("  restat = xxxxxxxxxx\nbuild a: r\n");
    let mut reader = MemoryReader::new();
    reader.add("m", text);
    let options = ParseOptions { max_value_len: 1 << 20, ..ParseOptions::default() };
    let g = parse("m", &mut reader, &options).unwrap();
    let e = edge_of(&g, "a");
    assert_eq!(g.try_edge_var(e, "command"), Err(EvalError::TooLong(1 << 20)));
    assert_eq!(g.try_edge_var(e, "generator").unwrap().len(), 10 * 20);
}
