//! Queries: calls that ask the compiler about itself rather than build
//! anything. Build systems make many (`gcc -dumpmachine`, `--version`,
//! `-print-file-name=libc.so`, `-print-prog-name=as`, `-v` alone, and
//! autoconf's `-V`, `-qversion` and `-version` tries); they run the real
//! compiler unchanged and are counted under one reason of their own, so
//! that `gg stats` does not report them as links or as malformed lines.

use super::table::{self, Arg, Role};

/// The reason every query is counted under.
pub const QUERY: &str = "query (--version, -dumpmachine, -print-*, -v…)";

/// Whether `args` (without the compiler) make a query: a query option
/// anywhere (the driver answers it and stops, whatever else the line
/// holds), or `-v` with nothing to compile or link (the driver then prints
/// its version and configuration and exits). Arguments of other options
/// are skipped, so `-o --version` is an output name, not a query.
pub fn is_query(args: &[String]) -> bool {
    let mut verbose = false;
    let mut inputs = false;
    let mut i = 0;
    while i < args.len() {
        let word = &args[i];
        i += 1;
        if word == "-v" {
            verbose = true;
            continue;
        }
        if !word.starts_with('-') || word.len() == 1 {
            inputs = true;
            continue;
        }
        let Some((opt, joined)) = table::lookup(word) else { continue };
        if opt.role == Role::Query {
            return true;
        }
        // The driver counts what it hands the linker as input files: with
        // any of them `-v` runs a link.
        if matches!(opt.name, "-l" | "-Wl," | "-Xlinker") {
            inputs = true;
        }
        let separate = match opt.arg {
            Arg::Separate => true,
            Arg::JoinedOrSeparate => joined.is_none_or(str::is_empty),
            Arg::None | Arg::Joined => false,
        };
        if separate {
            i += 1;
        }
    }
    verbose && !inputs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn a_query_option_anywhere_makes_a_query() {
        for line in ["-dumpmachine", "-O2 -c a.c -print-search-dirs", "-E a.c --version", "-### -c a.c -o a.o"] {
            assert!(is_query(&words(line)), "`{line}`");
        }
    }

    #[test]
    fn verbose_alone_is_a_query_and_verbose_with_work_is_not() {
        assert!(is_query(&words("-v")));
        assert!(is_query(&words("-O2 -v")));
        for line in ["-v -c a.c", "-v a.o -o prog", "-v -lm", "-v -Wl,--version", "-v -E -", "-v -Xlinker x"] {
            assert!(!is_query(&words(line)), "`{line}`");
        }
    }

    #[test]
    fn an_options_argument_is_not_taken_for_a_query() {
        assert!(!is_query(&words("-c a.c -o --version")));
        assert!(!is_query(&words("-c a.c -MF -dumpmachine")));
        assert!(!is_query(&words("-x c -c a.c")));
    }
}
