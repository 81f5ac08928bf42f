//! The option table for gcc and clang: one sorted static list describing
//! how each option takes its argument and what it means for gg.
//!
//! Options not in the table pass through: they are given to the compiler
//! and hashed like everything else, never rejected. The table only has to
//! know options whose *argument* must be recognised (so that it is not
//! mistaken for a source file), options that change what a call is
//! (`-c`, `-E`, `-M`…), and options gg must not distribute.

/// How an option takes its argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// No argument: `-c`.
    None,
    /// Attached only: `-Wl,…`, `-std=c11`, `-O2` (matched as a prefix).
    Joined,
    /// The next word only: `-Xlinker x`.
    Separate,
    /// Attached or the next word: `-I dir`, `-Idir`.
    JoinedOrSeparate,
}

/// What an option means for gg.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Hashed and passed through.
    Plain,
    /// The argument names an include folder (`-I`, `-isystem`…).
    IncludeDir,
    /// The argument names a file the compile reads (`-include`, `-specs=`…).
    InputFile,
    /// `-o`.
    Output,
    /// `-c`, `-S`, `-E`: what the call produces.
    Mode,
    /// `-x`.
    Language,
    /// The `-M` family: dependency output, which gg produces itself.
    Deps,
    /// `-Wp,…` (may carry `-MD,file`) and `-Wa,…` (may carry `--MD`).
    PassThrough,
    /// Cannot be cached or distributed: run the real compiler locally.
    Local(&'static str),
    /// Asks the compiler about itself (`--version`, `-dumpmachine`,
    /// `-print-…`): the driver answers and compiles nothing, whatever else
    /// the line holds.
    Query,
}

/// One table row.
#[derive(Clone, Copy, Debug)]
pub struct Opt {
    pub name: &'static str,
    pub arg: Arg,
    pub role: Role,
}

const fn o(name: &'static str, arg: Arg, role: Role) -> Opt {
    Opt { name, arg, role }
}

use Arg::{Joined as J, JoinedOrSeparate as JS, None as N, Separate as S};
use Role::{Deps, IncludeDir, InputFile, Language, Local, Mode, Output, PassThrough, Plain, Query};

/// Every option gg must recognise, sorted by name (a test checks it).
/// Joined options match as prefixes; the longest match wins.
pub static OPTIONS: &[Opt] = &[
    o("-###", N, Query),
    o("--coverage", N, Local("coverage output (.gcno) is written beside the object")),
    o("--help", N, Query),
    o("--help=", J, Query),
    o("--include", JS, InputFile),
    o("--print-", J, Query),
    o("--sysroot", JS, Local(INCLUDES)),
    o("--sysroot=", J, Local(INCLUDES)),
    o("--target", S, Local(INCLUDES)),
    o("--target-help", N, Query),
    o("--target=", J, Local(INCLUDES)),
    o("--version", N, Query),
    o("-A", JS, Plain),
    o("-B", JS, Local("-B (compiler parts from another folder)")),
    o("-D", JS, Plain),
    o("-E", N, Mode),
    o("-F", JS, IncludeDir),
    o("-G", JS, Plain),
    o("-I", JS, IncludeDir),
    o("-L", JS, Plain),
    o("-M", N, Deps),
    o("-MD", N, Deps),
    o("-MF", JS, Deps),
    o("-MG", N, Local("-MG (missing headers treated as generated)")),
    o("-MM", N, Deps),
    o("-MMD", N, Deps),
    o("-MP", N, Deps),
    o("-MQ", JS, Deps),
    o("-MT", JS, Deps),
    o("-S", N, Mode),
    o("-T", JS, Plain),
    o("-U", JS, Plain),
    // autoconf tries `-V` (and `-qversion`, `-version`) for a version;
    // gcc and clang reject all three, whatever follows.
    o("-V", N, Query),
    o("-Wa,", J, PassThrough),
    o("-Wl,", J, Plain),
    o("-Wp,", J, PassThrough),
    o("-Xassembler", S, Local("-Xassembler")),
    o("-Xclang", S, Plain),
    o("-Xlinker", S, Plain),
    o("-Xpreprocessor", S, Local("-Xpreprocessor")),
    o("-aux-info", S, Local("-aux-info writes an extra file")),
    o("-b", JS, Plain),
    o("-c", N, Mode),
    // Names for auxiliary outputs (gcc 11+): a separate argument, which
    // must not be taken for a source.
    o("-dumpbase", S, Plain),
    o("-dumpbase-ext", S, Plain),
    o("-dumpdir", S, Plain),
    o("-dumpfullversion", N, Query),
    o("-dumpmachine", N, Query),
    o("-dumpspecs", N, Query),
    o("-dumpversion", N, Query),
    o("-fauto-profile", N, Local(PROFILE)),
    o("-fauto-profile=", J, Local(PROFILE)),
    o("-fcallgraph-info", N, Local(EXTRA)),
    o("-fcallgraph-info=", J, Local(EXTRA)),
    o("-fcoverage-mapping", N, Plain),
    o("-fdump-", J, Local(EXTRA)),
    o("-flto", N, Local("-flto (objects named after -o)")),
    o("-flto=", J, Local("-flto (objects named after -o)")),
    o("-fplugin=", J, Local("-fplugin (a compiler plugin)")),
    o("-fprofile-arcs", N, Local("coverage output (.gcno) is written beside the object")),
    o("-fprofile-generate", N, Local(PROFILE)),
    o("-fprofile-generate=", J, Local(PROFILE)),
    o("-fprofile-instr-use=", J, InputFile),
    o("-fprofile-sample-use=", J, InputFile),
    o("-fprofile-use", N, Local(PROFILE)),
    o("-fprofile-use=", J, Local(PROFILE)),
    o("-frandom-seed=", J, Plain),
    o("-fstack-usage", N, Local(EXTRA)),
    o("-fsyntax-only", N, Local("-fsyntax-only (no output)")),
    o("-ftest-coverage", N, Local("coverage output (.gcno) is written beside the object")),
    o("-gsplit-dwarf", N, Local("-gsplit-dwarf writes a .dwo file")),
    o("-help", N, Query),
    o("-idirafter", JS, IncludeDir),
    o("-imacros", JS, InputFile),
    o("-imultilib", JS, Plain),
    o("-include", JS, InputFile),
    o("-iprefix", JS, Plain),
    o("-iquote", JS, IncludeDir),
    o("-isysroot", JS, Local(INCLUDES)),
    o("-isystem", JS, IncludeDir),
    o("-iwithprefix", JS, IncludeDir),
    o("-iwithprefixbefore", JS, IncludeDir),
    o("-l", JS, Plain),
    o("-m16", N, Local(INCLUDES)),
    o("-m32", N, Local(INCLUDES)),
    o("-mx32", N, Local(INCLUDES)),
    o("-nostdinc", N, Plain),
    o("-nostdinc++", N, Local(INCLUDES)),
    o("-o", JS, Output),
    o("-print-", J, Query),
    o("-qversion", N, Query),
    o("-save-temps", N, Local("-save-temps writes extra files")),
    o("-save-temps=", J, Local("-save-temps writes extra files")),
    o("-specs", S, InputFile),
    o("-specs=", J, InputFile),
    o("-stdlib=", J, Local(INCLUDES)),
    o("-target", S, Local(INCLUDES)),
    o("-u", JS, Plain),
    o("-version", N, Query),
    o("-x", JS, Language),
    o("-z", S, Plain),
];

/// Reasons shared by several rows.
const INCLUDES: &str = "an option that changes the default include folders";
const PROFILE: &str = "profile feedback (files named after -o)";
const EXTRA: &str = "an option that writes extra files named after -o";

/// The row for `word`, and the argument attached to it if any: an exact
/// match first, then the longest joined prefix.
pub fn lookup(word: &str) -> Option<(&'static Opt, Option<&str>)> {
    if let Ok(i) = OPTIONS.binary_search_by(|o| o.name.cmp(word)) {
        return Some((&OPTIONS[i], None));
    }
    // Every name starts with `-` and one more character, and the table is
    // sorted: only the rows sharing the word's first two characters can
    // be a prefix of it (a large build looks up millions of words).
    let head = word.get(..2).filter(|h| h.starts_with('-'))?;
    let start = OPTIONS.partition_point(|o| o.name < head);
    OPTIONS[start..]
        .iter()
        .take_while(|o| o.name.starts_with(head))
        .filter(|o| matches!(o.arg, Arg::Joined | Arg::JoinedOrSeparate) && word.starts_with(o.name))
        .max_by_key(|o| o.name.len())
        .map(|o| (o, Some(&word[o.name.len()..])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_without_duplicates() {
        for pair in OPTIONS.windows(2) {
            assert!(pair[0].name < pair[1].name, "`{}` must sort before `{}`", pair[0].name, pair[1].name);
        }
    }

    #[test]
    fn exact_names_win_over_prefixes() {
        let (opt, arg) = lookup("-MD").unwrap();
        assert_eq!(opt.name, "-MD");
        assert_eq!(arg, None);
        let (opt, arg) = lookup("-MFdeps.d").unwrap();
        assert_eq!((opt.name, arg), ("-MF", Some("deps.d")));
    }

    #[test]
    fn every_name_starts_with_a_dash_and_one_more_character() {
        // `lookup` relies on it to search only the rows sharing the
        // word's first two characters.
        for o in OPTIONS {
            assert!(o.name.len() >= 2 && o.name.starts_with('-'), "`{}`", o.name);
        }
        assert!(lookup("src/a-file.c").is_none());
        assert!(lookup("-").is_none());
    }

    #[test]
    fn the_longest_prefix_wins() {
        let (opt, arg) = lookup("-iwithprefixbeforefoo").unwrap();
        assert_eq!((opt.name, arg), ("-iwithprefixbefore", Some("foo")));
        let (opt, arg) = lookup("-isystem/usr/local/include").unwrap();
        assert_eq!((opt.name, arg), ("-isystem", Some("/usr/local/include")));
        let (opt, _) = lookup("-Wp,-MD,dep.d").unwrap();
        assert_eq!(opt.role, Role::PassThrough);
    }

    #[test]
    fn unknown_options_are_not_in_the_table() {
        assert!(lookup("-fno-strict-aliasing").is_none());
        assert!(lookup("-O2").is_none());
        assert!(lookup("-Wall").is_none());
    }
}
