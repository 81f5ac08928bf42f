//! The table of `GG_*` variables: each getter's default and parse errors
//! (on a per-thread fake environment), and the docs agreeing with the
//! table.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

/// Runs `f` with exactly `vars` set in this thread's fake environment.
fn with<T>(vars: &[(&'static str, &str)], f: impl FnOnce() -> T) -> T {
    FAKE.with(|e| *e.borrow_mut() = vars.iter().map(|(k, v)| (*k, (*v).into())).collect());
    let out = f();
    FAKE.with(|e| e.borrow_mut().clear());
    out
}

#[test]
fn with_nothing_set_every_getter_gives_the_documented_default() {
    with(&[], || {
        assert_eq!(dir(), None, "GG_DIR: Store::locate searches");
        assert_eq!(system_config(), PathBuf::from("/etc/gg/config.toml"));
        assert_eq!(engine(), Ok(None));
        assert_eq!(engine().unwrap().unwrap_or_default(), EngineKind::Local);
        assert_eq!(
            (workers(), token(), token_file(), worker_ca(), worker_fingerprint()),
            (None, None, None, None, None)
        );
        assert_eq!(remote_strict(), None);
        assert_eq!(straggler_secs(), Ok(None));
        assert_eq!((lambda_function(), s3_bucket(), lambda_region()), (None, None, None));
        assert_eq!((lambda_endpoint(), s3_endpoint()), (None, None));
        assert_eq!(lambda_timeout(), Ok(None));
        assert_eq!(sandbox(), Ok(jail::Mode::Plain));
        assert!(!keep_sandbox() && !disable() && !log_debug() && !store_inputs() && !ninja_times());
        assert_eq!(aws_cli(), "aws");
        let f = function_vars(&|_| None).unwrap();
        assert_eq!(f, FunctionVars { margin: Duration::from_secs(10), ..FunctionVars::default() });
    });
}

#[test]
fn the_tables_defaults_are_the_ones_the_code_uses() {
    let starts = |v: &Var, value: &str| assert!(v.default.starts_with(value), "{}: `{}` vs {value}", v.name, v.default);
    starts(&ENGINE, &format!("`{}`", EngineKind::default()));
    starts(&STRAGGLER_SECS, &DEFAULT_STRAGGLER_SECS.to_string());
    starts(&LAMBDA_FUNCTION, &format!("`{DEFAULT_LAMBDA_FUNCTION}`"));
    starts(&LAMBDA_TIMEOUT, &DEFAULT_LAMBDA_TIMEOUT_SECS.to_string());
    starts(&SYSTEM_CONFIG, &format!("`{DEFAULT_SYSTEM_CONFIG}`"));
    starts(&AWS_CLI, &format!("`{DEFAULT_AWS_CLI}`"));
    starts(&LAMBDA_MARGIN, &DEFAULT_LAMBDA_MARGIN_SECS.to_string());
    starts(&SANDBOX, "`plain`");
    for v in [&REMOTE_STRICT, &KEEP_SANDBOX, &DISABLE, &LOG, &STORE_INPUTS, &NINJA, &NINJA_TIMES] {
        starts(v, "off");
    }
}

#[test]
fn values_are_read_and_empty_is_unset() {
    let vars = [
        ("GG_DIR", "/s"),
        ("GG_ENGINE", "remote"),
        ("GG_TOKEN", "sekrit"),
        ("GG_SANDBOX", "strict"),
        ("GG_KEEP_SANDBOX", "1"),
        ("GG_DISABLE", "1"),
        ("GG_LOG", "DEBUG"),
        ("GG_STORE_INPUTS", "1"),
        ("GG_NINJA_TIMES", "yes"),
        ("GG_AWS_CLI", "/opt/aws"),
        ("GG_REMOTE_STRICT", "1"),
        ("GG_STRAGGLER_SECS", "0.5"),
    ];
    with(&vars, || {
        assert_eq!((dir(), engine()), (Some("/s".into()), Ok(Some(EngineKind::Remote))));
        assert_eq!((token(), sandbox()), (Some("sekrit".into()), Ok(jail::Mode::Strict)));
        assert!(keep_sandbox() && disable() && log_debug() && store_inputs() && ninja_times());
        assert_eq!((aws_cli(), remote_strict(), straggler_secs()), ("/opt/aws".into(), Some(true), Ok(Some(0.5))));
    });
    let empty: Vec<_> = vars.iter().map(|(k, _)| (*k, "")).collect();
    with(&empty, || {
        assert_eq!((dir(), engine(), token(), remote_strict()), (None, Ok(None), None, None));
        assert!(!keep_sandbox() && !disable() && !log_debug() && !store_inputs() && !ninja_times());
        assert_eq!(aws_cli(), "aws");
    });
    with(&[("GG_KEEP_SANDBOX", "yes"), ("GG_DISABLE", "0"), ("GG_LOG", "info")], || {
        assert!(!keep_sandbox() && !disable() && !log_debug(), "switches are on for `1` only");
    });
}

#[test]
fn a_bad_value_is_an_error_naming_the_variable_and_the_value() {
    with(
        &[("GG_ENGINE", "aws"), ("GG_STRAGGLER_SECS", "ten"), ("GG_LAMBDA_TIMEOUT", "-"), ("GG_SANDBOX", "x")],
        || {
            assert_eq!(engine().unwrap_err(), "GG_ENGINE=`aws`: expected `local`, `remote` or `lambda`");
            assert_eq!(straggler_secs().unwrap_err(), "GG_STRAGGLER_SECS=`ten`: not a number");
            assert_eq!(lambda_timeout().unwrap_err(), "GG_LAMBDA_TIMEOUT=`-`: not a number");
            assert_eq!(sandbox().unwrap_err(), "GG_SANDBOX=`x`: expected `plain` or `strict`");
        },
    );
    let fake = |name: &'static str, value: &'static str| move |k: &str| (k == name).then(|| value.to_string());
    let e = function_vars(&fake("GG_LAMBDA_STORE_LIMIT", "lots")).unwrap_err();
    assert_eq!(e, "GG_LAMBDA_STORE_LIMIT=`lots`: not a number of bytes");
    let e = function_vars(&fake("GG_LAMBDA_MARGIN", "-1")).unwrap_err();
    assert_eq!(e, "GG_LAMBDA_MARGIN=`-1`: not a number of seconds");
    let f = function_vars(&fake("GG_LAMBDA_MARGIN", "2.5")).unwrap();
    assert_eq!(f.margin, Duration::from_millis(2500));
}

#[test]
fn every_name_is_a_distinct_gg_variable() {
    let mut names: Vec<&str> = VARS.iter().map(|v| v.name).collect();
    assert!(names.iter().all(|n| n.starts_with("GG_")), "{names:?}");
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), VARS.len(), "a name twice");
}

/// The README's table of variables, as [`VARS`] gives it.
fn markdown() -> String {
    let mut t = String::from("| variable | config key | default | meaning |\n| --- | --- | --- | --- |\n");
    for v in VARS {
        let key = if v.key.is_empty() { String::new() } else { format!("`{}`", v.key) };
        t += &format!("| `{}` | {key} | {} | {} |\n", v.name, v.default, v.meaning);
    }
    t
}

fn doc(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Where the README's table starts and ends.
const BEGIN: &str = "<!-- The GG_* variables: generated from core/src/env.rs, checked by its tests. -->\n";
const END: &str = "<!-- End of the GG_* variables. -->";

#[test]
fn the_readmes_table_of_variables_is_the_modules() {
    let readme = doc("README.md");
    let table = readme.split(BEGIN).nth(1).and_then(|t| t.split(END).next());
    let table =
        table.unwrap_or_else(|| panic!("the README has no table between `{BEGIN}` and `{END}`:\n{}", markdown()));
    assert_eq!(table, markdown(), "paste this table into the README:\n{}", markdown());
}

/// `GG_*` names the docs use that are not settings: what gg writes into
/// thunks (`GG_ROOT`, the launcher's variables) and a test's.
const NOT_SETTINGS: &[&str] = &["GG_ROOT", "GG_LAUNCH_", "GG_LOADER", "GG_LIBRARY_PATH", "GG_"];

#[test]
fn every_variable_the_docs_name_is_in_the_table_with_the_same_default() {
    for rel in ["README.md", "docs/design.md", "docs/lambda.md", "docs/protocol.md"] {
        let text = doc(rel);
        for (i, _) in text.match_indices("GG_") {
            let name: String =
                text[i..].chars().take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_').collect();
            let known = VARS.iter().any(|v| v.name == name) || NOT_SETTINGS.contains(&name.as_str());
            assert!(known, "{rel} names `{name}`, which is not in core/src/env.rs's table");
        }
        // docs/lambda.md's table: | `GG_X` (or `GG_X=value`) | key | default |
        for row in text.lines().filter(|l| l.starts_with("| `GG_")) {
            let cells: Vec<&str> = row.split(" | ").collect();
            let name = cells[0].trim_start_matches("| `").split(['`', '=']).next().unwrap();
            let var = VARS.iter().find(|v| v.name == name).unwrap_or_else(|| panic!("{rel}: {name}"));
            assert_eq!(cells[2].trim_end_matches(" |"), var.default, "{rel}: the default of {name}");
        }
    }
}

#[test]
fn the_config_modules_example_pairs_each_key_with_its_variable() {
    let config = doc("core/src/config.rs");
    for v in VARS.iter().filter(|v| !v.key.is_empty()) {
        let key = v.key.rsplit(' ').next().unwrap();
        let line = config.lines().find(|l| l.starts_with(&format!("//! {key} = ")));
        let line = line.unwrap_or_else(|| panic!("config.rs's example has no `{key}`"));
        assert!(line.contains(&format!("# {}", v.name)), "{line}: not {}", v.name);
    }
}

#[test]
fn the_remote_cache_timeout_is_a_positive_number_and_read_only_is_a_switch() {
    with(&[("GG_REMOTE_CACHE_TIMEOUT", "0.5"), ("GG_REMOTE_CACHE_READ_ONLY", "1")], || {
        assert_eq!(remote_cache_timeout(), Ok(Some(0.5)));
        assert_eq!(remote_cache_read_only(), Some(true));
    });
    for bad in ["0", "-1", "soon", "inf"] {
        with(&[("GG_REMOTE_CACHE_TIMEOUT", bad)], || {
            let e = remote_cache_timeout().unwrap_err();
            assert!(e.contains("GG_REMOTE_CACHE_TIMEOUT") && e.contains(bad), "{e}");
        });
    }
    with(&[("GG_REMOTE_CACHE_READ_ONLY", "0")], || assert_eq!(remote_cache_read_only(), Some(false)));
}
