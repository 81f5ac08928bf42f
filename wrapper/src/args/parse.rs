//! Classifying a compiler command line: a single compile gg can cache, or
//! a call that must run the real compiler locally (with the reason, which
//! feeds the statistics and the log). Classification is never an error.

use std::path::Path;

use super::query::{self, QUERY};
use super::table::{self, Arg, Role};

/// The language of the source, as `-x` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    C,
    Cxx,
    /// `.S`: assembler that goes through the preprocessor.
    AsmCpp,
    /// `.s`: plain assembler.
    Asm,
    /// `.i`/`.ii`: already preprocessed.
    PreprocessedC,
    PreprocessedCxx,
}

impl Lang {
    fn from_x(x: &str) -> Option<Lang> {
        Some(match x {
            "c" | "c-header" => Lang::C,
            "c++" | "c++-header" => Lang::Cxx,
            "assembler-with-cpp" => Lang::AsmCpp,
            "assembler" => Lang::Asm,
            "cpp-output" => Lang::PreprocessedC,
            "c++-cpp-output" => Lang::PreprocessedCxx,
            _ => return None,
        })
    }

    /// The language of a source named without `-x`. A C++ driver (`g++`,
    /// `clang++`) reads `.c` and `.i` files as C++: it runs the C++
    /// compiler on them and searches the C++ headers.
    fn from_extension(path: &str, cxx_driver: bool) -> Option<Lang> {
        let ext = Path::new(path).extension()?.to_str()?;
        Some(match ext {
            "c" if cxx_driver => Lang::Cxx,
            "i" if cxx_driver => Lang::PreprocessedCxx,
            "c" => Lang::C,
            "cc" | "cp" | "cxx" | "cpp" | "CPP" | "c++" | "C" => Lang::Cxx,
            "S" | "sx" => Lang::AsmCpp,
            "s" => Lang::Asm,
            "i" => Lang::PreprocessedC,
            "ii" => Lang::PreprocessedCxx,
            _ => return None,
        })
    }

    /// Whether the preprocessor runs (and so a depfile lists headers).
    pub fn preprocessed_by_compiler(self) -> bool {
        matches!(self, Lang::C | Lang::Cxx | Lang::AsmCpp)
    }

    /// Whether the C++ compiler (`cc1plus`) compiles it.
    pub fn is_cxx(self) -> bool {
        matches!(self, Lang::Cxx | Lang::PreprocessedCxx)
    }
}

/// What the call produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `-c`: an object file.
    Object,
    /// `-S`: assembler source.
    Assembly,
}

/// How the user asked for a dependency file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepRequest {
    /// `-MMD`: system headers left out.
    pub user_only: bool,
    /// Given as `-Wp,-MD,file` (straight to the preprocessor: the default
    /// target is then the source's base name with `.o`, whatever `-o` is).
    pub via_wp: bool,
    /// The depfile path (`-MF`, or the `-Wp,` form's file), if named.
    pub file: Option<String>,
    /// `-MT` (raw) and `-MQ` (quoted) targets, in order: (text, quoted).
    pub targets: Vec<(String, bool)>,
    /// `-MP`: a phony target per header.
    pub phony: bool,
}

/// A single compile gg can cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compile {
    /// Every argument after expanding `@file`s, minus `-o`, the dependency
    /// options and the source; in order.
    pub args: Vec<String>,
    /// Where the source sits in `args` (it is kept there: `-x` applies to
    /// what follows it).
    pub source_index: usize,
    pub source: String,
    pub lang: Lang,
    pub mode: Mode,
    /// `-o` as given, if given.
    pub output: Option<String>,
    pub deps: Option<DepRequest>,
    /// Files named by path-taking options (`-include`, `-fprofile-use=`…).
    pub input_files: Vec<String>,
    /// `-nostdinc`: the default include folders are not searched.
    pub nostdinc: bool,
}

impl Compile {
    /// The output path: `-o`, else the source's base name with `.o`/`.s`.
    pub fn output_path(&self) -> String {
        if let Some(o) = &self.output {
            return o.clone();
        }
        let stem = Path::new(&self.source).file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        match self.mode {
            Mode::Object => format!("{stem}.o"),
            Mode::Assembly => format!("{stem}.s"),
        }
    }
}

impl Compile {
    /// The preprocessor's default depfile target: the source's base name
    /// with `.o` (used when no `-o` reaches it).
    pub fn output_path_for_deps(&self) -> String {
        let stem = Path::new(&self.source).file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        format!("{stem}.o")
    }
}

/// The verdict on a command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Classified {
    Compile(Compile),
    /// Run the real compiler as is; the reason is counted in the stats.
    Local(String),
}

fn local(why: impl Into<String>) -> Classified {
    Classified::Local(why.into())
}

/// Classifies `args` (without the compiler itself; `@file`s already
/// expanded).
pub fn classify(args: &[String]) -> Classified {
    classify_for(args, false)
}

/// [`classify`] for a driver that is (`cxx_driver`) or is not a C++ one
/// (see [`crate::invoke::is_cxx_driver`]): the sources' languages follow.
pub fn classify_for(args: &[String], cxx_driver: bool) -> Classified {
    match classify_words(args, cxx_driver) {
        // The scan stops at the first word that makes the call local; a
        // query option further on still makes the whole call a query (the
        // driver answers it and compiles nothing), and so does `-v` alone,
        // which only the end of the scan can tell from a verbose link.
        Classified::Local(why) if why != QUERY && query::is_query(args) => local(QUERY),
        verdict => verdict,
    }
}

fn classify_words(args: &[String], cxx_driver: bool) -> Classified {
    let mut kept = Vec::with_capacity(args.len());
    let mut mode = None;
    let mut lang_override: Option<Option<Lang>> = None;
    let mut sources: Vec<(usize, String, Option<Lang>)> = Vec::new();
    let mut output = None;
    let mut deps = DepRequest { user_only: false, via_wp: false, file: None, targets: vec![], phony: false };
    let mut wants_deps = false;
    let mut input_files = Vec::new();
    let mut nostdinc = false;
    let mut i = 0;
    while i < args.len() {
        let word = &args[i];
        i += 1;
        if word == "-" {
            return local("input from stdin");
        }
        if !word.starts_with('-') || word.len() == 1 {
            let lang = match lang_override {
                Some(l) => l,
                None => Lang::from_extension(word, cxx_driver),
            };
            sources.push((kept.len(), word.clone(), lang));
            kept.push(word.clone());
            continue;
        }
        if word == "-march=native" || word == "-mtune=native" || word == "-mcpu=native" {
            return local(format!("{word} depends on the machine"));
        }
        let Some((opt, joined)) = table::lookup(word) else {
            kept.push(word.clone());
            continue;
        };
        let value = match (opt.arg, joined) {
            (Arg::None, _) => None,
            (Arg::Joined, j) => j.map(str::to_string),
            (Arg::JoinedOrSeparate, Some(j)) if !j.is_empty() => Some(j.to_string()),
            (Arg::Separate | Arg::JoinedOrSeparate, _) => {
                let Some(next) = args.get(i) else { return local(format!("{word} is missing its argument")) };
                i += 1;
                Some(next.clone())
            }
        };
        let separate = matches!(opt.arg, Arg::Separate | Arg::JoinedOrSeparate) && joined.is_none_or(str::is_empty);
        let keep = |kept: &mut Vec<String>| {
            kept.push(word.clone());
            if separate {
                kept.push(value.clone().unwrap_or_default());
            }
        };
        match opt.role {
            Role::Local(why) => return local(why),
            Role::Query => return local(QUERY),
            Role::Plain | Role::IncludeDir => {
                nostdinc |= opt.name == "-nostdinc";
                keep(&mut kept);
            }
            Role::InputFile => {
                input_files.push(value.clone().unwrap_or_default());
                keep(&mut kept);
            }
            Role::Output => {
                if value.as_deref() == Some("-") {
                    return local("output to stdout (-o -)");
                }
                output = value;
            }
            Role::Language => {
                let v = value.clone().unwrap_or_default();
                lang_override = if v == "none" { None } else { Some(Lang::from_x(&v)) };
                keep(&mut kept);
            }
            Role::Mode => {
                match opt.name {
                    "-E" => return local("-E (preprocess only)"),
                    "-c" => mode = mode.or(Some(Mode::Object)),
                    _ => mode = Some(Mode::Assembly),
                }
                kept.push(word.clone());
            }
            Role::Deps => match opt.name {
                "-M" | "-MM" => return local(format!("{word} (dependencies only, no compile)")),
                "-MD" => wants_deps = true,
                "-MMD" => {
                    wants_deps = true;
                    deps.user_only = true;
                }
                "-MF" => deps.file = value,
                "-MT" => deps.targets.push((value.unwrap_or_default(), false)),
                "-MQ" => deps.targets.push((value.unwrap_or_default(), true)),
                _ => deps.phony = true,
            },
            Role::PassThrough => {
                let v = value.clone().unwrap_or_default();
                let mut rest = Vec::new();
                let mut parts = v.split(',');
                while let Some(p) = parts.next() {
                    match p {
                        "-MD" | "-MMD" if opt.name == "-Wp," => {
                            let Some(f) = parts.next() else { return local(format!("{word}: no file after {p}")) };
                            wants_deps = true;
                            deps.via_wp = true;
                            deps.user_only = p == "-MMD";
                            deps.file = Some(f.to_string());
                        }
                        "-MP" if opt.name == "-Wp," => deps.phony = true,
                        p if opt.name == "-Wp," && (p.starts_with("-M") || p == "-E") => {
                            return local(format!("{word} (preprocessor option gg does not model)"));
                        }
                        p if opt.name == "-Wa," && (p.starts_with("--MD") || p == "-a" || p.starts_with("-a")) => {
                            return local(format!("{word} (assembler writes an extra file)"));
                        }
                        p => rest.push(p),
                    }
                }
                if !rest.is_empty() {
                    kept.push(format!("{}{}", opt.name, rest.join(",")));
                }
            }
        }
    }
    let Some(mode) = mode else { return local("linking (no -c or -S)") };
    let (source_index, source, lang) = match sources.as_slice() {
        [] => return local("no source file"),
        [one] => one.clone(),
        _ => return local("several source files in one call"),
    };
    let Some(lang) = lang else { return local(format!("unsupported language for `{source}`")) };
    if !wants_deps && (deps.file.is_some() || !deps.targets.is_empty() || deps.phony) {
        // -MF/-MT/-MP without -MD/-MMD do nothing in gcc; keep that.
        deps = DepRequest { user_only: false, via_wp: false, file: None, targets: vec![], phony: false };
    }
    Classified::Compile(Compile {
        args: kept,
        source_index,
        source,
        lang,
        mode,
        output,
        deps: wants_deps.then_some(deps),
        input_files,
        nostdinc,
    })
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
