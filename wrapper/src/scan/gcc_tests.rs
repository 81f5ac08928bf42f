//! The scanner against the real preprocessors: every file `gcc -M`
//! (`g++`, `clang`, `clang++`) lists must be among the scanner's inputs.

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

/// The half of `driver`'s toolchain that compiles `source`.
fn toolchain_for(store: &Store, driver: &str, source: &str) -> toolchain::Toolchain {
    let path = which::which(driver).unwrap();
    let words = ["-c".to_string(), source.to_string()];
    let crate::args::Classified::Compile(c) = crate::args::classify_for(&words, crate::invoke::is_cxx_driver(&path))
    else {
        panic!("`{driver} -c {source}` is a compile")
    };
    toolchain::discover(store, &path, toolchain::Half::of(c.lang)).unwrap()
}

fn compare(driver: &str, source: &str, text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let store = Store::open(root.join("store")).unwrap();
    let toolchain = toolchain_for(&store, driver, source);
    fs::create_dir_all(root.join("inc/sub")).unwrap();
    fs::write(root.join("inc/local.h"), "#pragma once\n#include \"sub/more.h\"\nint local(void);\n").unwrap();
    fs::write(root.join("inc/sub/more.h"), "#include <limits.h>\n").unwrap();
    fs::write(root.join(source), text).unwrap();
    let args = ["-c", source, "-Iinc", "-O2"];
    let expected = preprocessor_inputs(driver, &root, &args);
    assert!(expected.len() > 10, "{expected:?}");
    let Scanned::Inputs(got) = run_scan(&store, &toolchain, &root, &args) else { panic!("fallback") };
    let got: Vec<String> = got.iter().map(|p| p.to_string()).collect();
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
    fs::write(root.join("main.c"), "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n").unwrap();
    let cxx = "#include <vector>\n#include <string>\n#include <map>\n#include <iostream>\n#include <algorithm>\n";
    fs::write(root.join("main.cpp"), cxx).unwrap();
    for (source, min) in [("main.c", 10), ("main.cpp", 100)] {
        let toolchain = toolchain_for(&store, "g++", source);
        let args = ["-c", source];
        let time = |label: &str, forget: bool, n: u32| {
            let start = Instant::now();
            let mut files = 0;
            for _ in 0..n {
                if forget {
                    super::facts::forget();
                    super::dirs::forget();
                }
                let Scanned::Inputs(got) = run_scan(&store, &toolchain, &root, &args) else { panic!("fallback") };
                let got: Vec<String> = got.iter().map(|p| p.to_string()).collect();
                files = got.len();
            }
            eprintln!("{source} {label}: {:?} per scan, {files} files", start.elapsed() / n);
            assert!(files > min);
        };
        time("cold", true, 1);
        time("store entries only", true, 5);
        time("hot", false, 50);
    }
}

#[test]
fn every_file_gxx_reads_for_the_whole_standard_library_is_scanned() {
    compare("g++", "all.cpp", "#include <bits/stdc++.h>\n#include \"local.h\"\nint main() { return local(); }\n");
}

#[test]
fn every_file_gcc_reads_for_posix_headers_is_scanned() {
    let headers = [
        "assert.h",
        "ctype.h",
        "errno.h",
        "fenv.h",
        "float.h",
        "inttypes.h",
        "locale.h",
        "math.h",
        "setjmp.h",
        "signal.h",
        "stdarg.h",
        "stdatomic.h",
        "stdbool.h",
        "stddef.h",
        "stdint.h",
        "tgmath.h",
        "threads.h",
        "time.h",
        "uchar.h",
        "wchar.h",
        "wctype.h",
        "complex.h",
        "dirent.h",
        "fcntl.h",
        "pthread.h",
        "unistd.h",
        "sys/stat.h",
        "sys/types.h",
        "sys/socket.h",
        "sys/mman.h",
        "sys/wait.h",
        "netinet/in.h",
        "arpa/inet.h",
        "poll.h",
        "regex.h",
        "glob.h",
        "dlfcn.h",
        "termios.h",
        "sys/ioctl.h",
        "immintrin.h",
    ];
    let text: String = headers.iter().map(|h| format!("#include <{h}>\n")).collect();
    compare("gcc", "posix.c", &format!("{text}#include \"local.h\"\nint main(void) {{ return local(); }}\n"));
}

#[test]
fn every_file_clang_reads_is_scanned() {
    let text = "#include <stdio.h>\n#include <stdatomic.h>\n#include <immintrin.h>\n#include \"local.h\"\n\
                int main(void) { return local(); }\n";
    compare("clang", "main.c", text);
    compare("clang++", "main.cpp", "#include <bits/stdc++.h>\n#include \"local.h\"\nint main() { return local(); }\n");
}

#[test]
fn gcc_s_implicit_stdc_predef_is_scanned_in_a_file_with_no_system_header() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let store = Store::open(root.join("store")).unwrap();
    let toolchain = toolchain_for(&store, "gcc", "bare.c");
    fs::write(root.join("bare.c"), "int f(void) { return 1; }\n").unwrap();
    let args = ["-c", "bare.c"];
    let expected = preprocessor_inputs("gcc", &root, &args);
    assert!(expected.iter().any(|f| f.ends_with("/stdc-predef.h")), "gcc pre-includes it here: {expected:?}");
    let Scanned::Inputs(got) = run_scan(&store, &toolchain, &root, &args) else { panic!("fallback") };
    let got: Vec<String> = got.iter().map(|p| p.to_string()).collect();
    let missing: Vec<&String> = expected.iter().filter(|f| !got.contains(f)).collect();
    assert!(missing.is_empty(), "gcc reads files the scanner missed: {missing:?}");
    // `-nostdinc` turns the pre-include off; the scanner then does not look.
    let args = ["-c", "bare.c", "-nostdinc"];
    let Scanned::Inputs(got) = run_scan(&store, &toolchain, &root, &args) else { panic!("fallback") };
    let got: Vec<String> = got.iter().map(|p| p.to_string()).collect();
    assert_eq!(got.len(), 1, "{got:?}");
}
