//! The scanner against the real preprocessor: every file `gcc -M` (and
//! `g++ -M`) lists must be among the scanner's inputs.

use std::fs;
use std::path::Path;
use std::process::Command;

use gg_core::Store;

use super::scan_tests::run_scan;
use super::Scanned;
use crate::path::normalize;
use crate::toolchain;

/// The files `driver -M` lists for `args` run in `cwd`, absolute and
/// lexically normalised.
fn preprocessor_inputs(driver: &str, cwd: &Path, args: &[&str]) -> Vec<String> {
    let out = Command::new(driver).args(["-M", "-MF", "-"]).args(args).current_dir(cwd).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rules = crate::depfile::parse(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let mut files = Vec::new();
    for dep in rules.into_iter().flat_map(|r| r.deps) {
        let abs = if dep.starts_with('/') { dep } else { format!("{}/{dep}", cwd.display()) };
        files.push(normalize(&abs));
    }
    files
}

fn compare(driver: &str, source: &str, text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let store = Store::open(root.join("store")).unwrap();
    let path = which::which(driver).unwrap();
    let toolchain = toolchain::discover(&store, &path).unwrap();
    fs::create_dir_all(root.join("inc/sub")).unwrap();
    fs::write(root.join("inc/local.h"), "#pragma once\n#include \"sub/more.h\"\nint local(void);\n").unwrap();
    fs::write(root.join("inc/sub/more.h"), "#include <limits.h>\n").unwrap();
    fs::write(root.join(source), text).unwrap();
    let args = ["-c", source, "-Iinc", "-O2"];
    let expected = preprocessor_inputs(driver, &root, &args);
    assert!(expected.len() > 10, "{expected:?}");
    let Scanned::Inputs(got) = run_scan(&store, &toolchain, &root, &args) else { panic!("fallback") };
    assert_eq!(got[0], format!("{}/{source}", root.display()), "the source comes first");
    let missing: Vec<&String> = expected.iter().filter(|f| !got.contains(f)).collect();
    assert!(missing.is_empty(), "{driver} reads files the scanner missed: {missing:?}");
    let mut unique = got.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), got.len(), "each file once");
}

#[test]
fn every_file_gcc_reads_is_scanned() {
    let text = "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include \"local.h\"\n\
                int main(void) { printf(\"%zu\\n\", strlen(\"x\")); return local(); }\n";
    compare("gcc", "main.c", text);
}

#[test]
fn every_file_gxx_reads_is_scanned() {
    let text = "#include <vector>\n#include <string>\n#include <map>\n#include <iostream>\n#include \"local.h\"\n\
                int main() { std::map<std::string, std::vector<int>> m; std::cout << m.size(); return local(); }\n";
    compare("g++", "main.cpp", text);
}

/// Times a C++ scan cold (empty caches), with only the store's entries,
/// and hot (`cargo test --release -p gg-wrapper scan_speed -- --ignored
/// --nocapture`). Clears the process caches: run it alone.
#[test]
#[ignore]
fn scan_speed() {
    use std::time::Instant;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let store = Store::open(root.join("store")).unwrap();
    let toolchain = toolchain::discover(&store, &which::which("g++").unwrap()).unwrap();
    let text = "#include <vector>\n#include <string>\n#include <map>\n#include <iostream>\n#include <algorithm>\n";
    fs::write(root.join("main.cpp"), text).unwrap();
    let args = ["-c", "main.cpp"];
    let mut time = |label: &str, forget: bool, n: u32| {
        let start = Instant::now();
        let mut files = 0;
        for _ in 0..n {
            if forget {
                super::facts::forget();
                super::dirs::forget();
            }
            let Scanned::Inputs(got) = run_scan(&store, &toolchain, &root, &args) else { panic!("fallback") };
            files = got.len();
        }
        eprintln!("{label}: {:?} per scan, {files} files", start.elapsed() / n);
        assert!(files > 50);
    };
    time("cold", true, 1);
    time("store entries only", true, 5);
    time("hot", false, 50);
}

#[test]
#[ignore]
fn lex_speed_tmp() {
    use std::time::Instant;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let store = Store::open(root.join("store")).unwrap();
    let toolchain = toolchain::discover(&store, &which::which("g++").unwrap()).unwrap();
    let text = "#include <vector>\n#include <string>\n#include <map>\n#include <iostream>\n#include <algorithm>\n";
    fs::write(root.join("main.cpp"), text).unwrap();
    let Scanned::Inputs(got) = run_scan(&store, &toolchain, &root, &["-c", "main.cpp"]) else { panic!() };
    let bytes: Vec<Vec<u8>> = got.iter().map(|p| fs::read(p).unwrap()).collect();
    let total: usize = bytes.iter().map(Vec::len).sum();
    let t = Instant::now();
    let mut worst = (std::time::Duration::ZERO, 0);
    for (i, b) in bytes.iter().enumerate() {
        let s = Instant::now();
        let _ = super::lexer::lex(b);
        if s.elapsed() > worst.0 { worst = (s.elapsed(), i); }
    }
    let b = fs::read("/usr/include/c++/12/bits/stl_algobase.h").unwrap();
    let s = Instant::now(); let _ = super::lexer::flags(&b); eprintln!("flags {:?}", s.elapsed());
    let s = Instant::now(); let d = super::lexer::directives(&b); eprintln!("directives {:?} {}", s.elapsed(), d.len());
    eprintln!("lex {total} bytes: {:?}; worst {:?} {}", t.elapsed(), worst.0, got[worst.1]);
    let t = Instant::now();
    for b in &bytes { let _ = gg_core::Name::of_value(b); }
    eprintln!("hash: {:?}", t.elapsed());
    let t = Instant::now();
    for b in &bytes { let h = gg_core::Name::of_value(b); super::facts::forget_hash(&h); let _ = super::facts::parsed_for(&h, b, Some(&root.join("store2"))); }
    eprintln!("parsed_for+write: {:?}", t.elapsed());
}
