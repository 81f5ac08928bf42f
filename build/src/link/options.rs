//! GNU ld's command line: its option table (binutils 2.40) and a parser
//! that reads an ld command as ld's own `getopt_long_only` does, into what
//! the thunk must carry ([`LdLine`]): the files ld reads, the `-L`
//! folders, the output, and the options that shape a shared library.

use gg_core::thunk::ROOT_PLACEHOLDER;

use crate::tool;

/// How an ld option takes its argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Arg {
    No,
    Required,
    /// Only as `--name=value`.
    Optional,
}

/// What an ld option means for the thunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Role {
    /// Reads nothing: passed on as written.
    Keep,
    /// `-L`: a search folder.
    Dir,
    /// `-l`: a library, searched for.
    Lib,
    /// A file read (re-rooted).
    File,
    /// A linker script (`-T`), read and searched for file names.
    Script,
    /// The output.
    Output,
    /// A plugin ld loads (`-plugin`).
    Plugin,
    /// A plugin option (the LTO wrapper's path, the resolution file).
    PluginOpt,
    /// `-Bstatic` and its aliases: `-l` finds archives only.
    Static,
    /// `-Bdynamic` and its aliases.
    Dynamic,
    Push,
    Pop,
    /// Makes a shared library.
    Shared,
    Soname,
    Rpath,
    RpathLink,
    /// No default search folders.
    NoStdlib,
    /// `-m`: the emulation, whose default script names the search folders.
    Emulation,
    Local(&'static str),
}

use Arg::{No, Optional as Opt, Required as Req};

/// GNU ld's options (binutils 2.40), by long name without dashes, sorted
/// (a test checks it). Unknown options run locally.
#[rustfmt::skip]
pub(super) const LONG: &[(&str, Arg, Role)] = &[
    ("Bdynamic", No, Role::Dynamic),
    ("Bgroup", No, Role::Keep),
    ("Bno-symbolic", No, Role::Keep),
    ("Bshareable", No, Role::Shared),
    ("Bstatic", No, Role::Static),
    ("Bsymbolic", No, Role::Keep),
    ("Bsymbolic-functions", No, Role::Keep),
    ("EB", No, Role::Keep),
    ("EL", No, Role::Keep),
    ("Map", Req, Role::Local("a link map (-Map)")),
    ("Tbss", Req, Role::Keep),
    ("Tdata", Req, Role::Keep),
    ("Tldata-segment", Req, Role::Keep),
    ("Trodata-segment", Req, Role::Keep),
    ("Ttext", Req, Role::Keep),
    ("Ttext-segment", Req, Role::Keep),
    ("accept-unknown-input-arch", No, Role::Keep),
    ("allow-multiple-definition", No, Role::Keep),
    ("allow-shlib-undefined", No, Role::Keep),
    ("architecture", Req, Role::Keep),
    ("as-needed", No, Role::Keep),
    ("audit", Req, Role::Keep),
    ("auxiliary", Req, Role::Keep),
    ("build-id", Opt, Role::Keep),
    ("call_shared", No, Role::Dynamic),
    ("check-sections", No, Role::Keep),
    ("compress-debug-sections", Opt, Role::Keep),
    ("copy-dt-needed-entries", No, Role::Keep),
    ("cref", No, Role::Local("a cross-reference table (--cref)")),
    ("ctf-share-types", Req, Role::Keep),
    ("ctf-variables", No, Role::Keep),
    ("dT", Req, Role::Script),
    ("dc", No, Role::Keep),
    ("default-imported-symver", No, Role::Keep),
    ("default-script", Req, Role::Script),
    ("default-symver", No, Role::Keep),
    ("defsym", Req, Role::Keep),
    ("demangle", Opt, Role::Keep),
    ("dependency-file", Req, Role::Local("a dependency file (--dependency-file)")),
    ("disable-multiple-abs-defs", No, Role::Keep),
    ("disable-new-dtags", No, Role::Keep),
    ("discard-all", No, Role::Keep),
    ("discard-locals", No, Role::Keep),
    ("discard-none", No, Role::Keep),
    ("dn", No, Role::Static),
    ("dp", No, Role::Keep),
    ("dy", No, Role::Dynamic),
    ("dynamic-linker", Req, Role::Keep),
    ("dynamic-list", Req, Role::File),
    ("dynamic-list-cpp-new", No, Role::Keep),
    ("dynamic-list-cpp-typeinfo", No, Role::Keep),
    ("dynamic-list-data", No, Role::Keep),
    ("eh-frame-hdr", No, Role::Keep),
    ("emit-relocs", No, Role::Keep),
    ("enable-new-dtags", No, Role::Keep),
    ("end-group", No, Role::Keep),
    ("entry", Req, Role::Keep),
    ("error-handling-script", Req, Role::Local("an error-handling script")),
    ("error-unresolved-symbols", No, Role::Keep),
    ("exclude-libs", Req, Role::Keep),
    ("export-dynamic", No, Role::Keep),
    ("export-dynamic-symbol", Req, Role::Keep),
    ("export-dynamic-symbol-list", Req, Role::File),
    ("fatal-warnings", No, Role::Keep),
    ("filter", Req, Role::Keep),
    ("fini", Req, Role::Keep),
    ("format", Req, Role::Keep),
    ("gc-keep-exported", No, Role::Keep),
    ("gc-sections", No, Role::Keep),
    ("gpsize", Req, Role::Keep),
    ("hash-size", Req, Role::Keep),
    ("hash-style", Req, Role::Keep),
    ("help", No, Role::Local("--help")),
    ("ignore-unresolved-symbol", Req, Role::Keep),
    ("init", Req, Role::Keep),
    ("just-symbols", Req, Role::File),
    ("ld-generated-unwind-info", No, Role::Keep),
    ("library", Req, Role::Lib),
    ("library-path", Req, Role::Dir),
    ("mri-script", Req, Role::Local("an MRI script")),
    ("no-accept-unknown-input-arch", No, Role::Keep),
    ("no-allow-shlib-undefined", No, Role::Keep),
    ("no-as-needed", No, Role::Keep),
    ("no-check-sections", No, Role::Keep),
    ("no-copy-dt-needed-entries", No, Role::Keep),
    ("no-ctf-variables", No, Role::Keep),
    ("no-define-common", No, Role::Keep),
    ("no-demangle", No, Role::Keep),
    ("no-dynamic-linker", No, Role::Keep),
    ("no-eh-frame-hdr", No, Role::Keep),
    ("no-export-dynamic", No, Role::Keep),
    ("no-fatal-warnings", No, Role::Keep),
    ("no-gc-sections", No, Role::Keep),
    ("no-keep-memory", No, Role::Keep),
    ("no-ld-generated-unwind-info", No, Role::Keep),
    ("no-omagic", No, Role::Keep),
    ("no-pie", No, Role::Keep),
    ("no-print-gc-sections", No, Role::Keep),
    ("no-print-map-discarded", No, Role::Keep),
    ("no-relax", No, Role::Keep),
    ("no-strip-discarded", No, Role::Keep),
    ("no-undefined", No, Role::Keep),
    ("no-undefined-version", No, Role::Keep),
    ("no-warn-execstack", No, Role::Keep),
    ("no-warn-mismatch", No, Role::Keep),
    ("no-warn-rwx-segments", No, Role::Keep),
    ("no-warn-search-mismatch", No, Role::Keep),
    ("no-whole-archive", No, Role::Keep),
    ("noinhibit-exec", No, Role::Keep),
    ("non_shared", No, Role::Static),
    ("nostdlib", No, Role::NoStdlib),
    ("oformat", Req, Role::Keep),
    ("omagic", No, Role::Keep),
    ("orphan-handling", Req, Role::Keep),
    ("output", Req, Role::Output),
    ("package-metadata", Opt, Role::Keep),
    ("pic-executable", No, Role::Keep),
    ("pie", No, Role::Keep),
    ("plugin", Req, Role::Plugin),
    ("plugin-opt", Req, Role::PluginOpt),
    ("pop-state", No, Role::Pop),
    ("print-gc-sections", No, Role::Keep),
    ("print-map", No, Role::Local("a link map (--print-map)")),
    ("print-map-discarded", No, Role::Keep),
    ("print-memory-usage", No, Role::Local("--print-memory-usage")),
    ("print-output-format", No, Role::Local("--print-output-format")),
    ("print-sysroot", No, Role::Local("--print-sysroot")),
    ("push-state", No, Role::Push),
    ("reduce-memory-overheads", No, Role::Keep),
    ("relax", No, Role::Keep),
    ("relocatable", No, Role::Keep),
    ("require-defined", Req, Role::Keep),
    ("retain-symbols-file", Req, Role::File),
    ("rpath", Req, Role::Rpath),
    ("rpath-link", Req, Role::RpathLink),
    ("script", Req, Role::Script),
    ("section-start", Req, Role::Keep),
    ("shared", No, Role::Shared),
    ("soname", Req, Role::Soname),
    ("sort-common", Opt, Role::Keep),
    ("sort-section", Req, Role::Keep),
    ("spare-dynamic-tags", Req, Role::Keep),
    ("start-group", No, Role::Keep),
    ("static", No, Role::Static),
    ("stats", No, Role::Keep),
    ("strip-all", No, Role::Keep),
    ("strip-debug", No, Role::Keep),
    ("strip-discarded", No, Role::Keep),
    ("sysroot", Req, Role::Local("a sysroot of its own (--sysroot)")),
    ("target-help", No, Role::Local("--target-help")),
    ("trace", No, Role::Local("--trace (prints what it reads)")),
    ("trace-symbol", Req, Role::Keep),
    ("undefined", Req, Role::Keep),
    ("undefined-version", No, Role::Keep),
    ("unique", Opt, Role::Keep),
    ("unresolved-symbols", Req, Role::Keep),
    ("verbose", Opt, Role::Local("--verbose")),
    ("version", No, Role::Local("--version")),
    ("version-exports-section", Req, Role::Keep),
    ("version-script", Req, Role::File),
    ("warn-common", No, Role::Keep),
    ("warn-constructors", No, Role::Keep),
    ("warn-execstack", No, Role::Keep),
    ("warn-multiple-gp", No, Role::Keep),
    ("warn-once", No, Role::Keep),
    ("warn-rwx-segments", No, Role::Keep),
    ("warn-section-align", No, Role::Keep),
    ("warn-shared-textrel", No, Role::Keep),
    ("warn-textrel", No, Role::Keep),
    ("warn-unresolved-symbols", No, Role::Keep),
    ("whole-archive", No, Role::Keep),
    ("wrap", Req, Role::Keep),
];

/// ld's one-letter options (a letter then its argument, joined or not).
#[rustfmt::skip]
pub(super) const SHORT: &[(char, Arg, Role)] = &[
    ('(', No, Role::Keep),
    (')', No, Role::Keep),
    ('A', Req, Role::Keep),
    ('E', No, Role::Keep),
    ('F', Req, Role::Keep),
    ('G', Req, Role::Keep),
    ('I', Req, Role::Keep),
    ('L', Req, Role::Dir),
    ('M', No, Role::Local("a link map (-M)")),
    ('N', No, Role::Keep),
    ('O', Req, Role::Keep),
    ('R', Req, Role::Local("-R (a file's symbols, or an rpath)")),
    ('S', No, Role::Keep),
    ('T', Req, Role::Script),
    ('V', No, Role::Local("-V")),
    ('X', No, Role::Keep),
    ('Y', Req, Role::Local("-Y (the default search path)")),
    ('a', Req, Role::Keep),
    ('b', Req, Role::Keep),
    ('c', Req, Role::Local("an MRI script")),
    ('d', No, Role::Keep),
    ('e', Req, Role::Keep),
    ('f', Req, Role::Keep),
    ('g', No, Role::Keep),
    ('h', Req, Role::Soname),
    ('i', No, Role::Keep),
    ('l', Req, Role::Lib),
    ('m', Req, Role::Emulation),
    ('n', No, Role::Keep),
    ('o', Req, Role::Output),
    ('q', No, Role::Keep),
    ('r', No, Role::Keep),
    ('s', No, Role::Keep),
    ('t', No, Role::Local("-t (prints what it reads)")),
    ('u', Req, Role::Keep),
    ('v', No, Role::Local("-v")),
    ('x', No, Role::Keep),
    ('y', Req, Role::Keep),
    ('z', Req, Role::Keep),
];

/// One thing ld reads, in command-line order. The flag says whether `-l`
/// finds archives only there (`-Bstatic`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Read {
    /// An input file (an object, an archive, a shared library or a script).
    File(String, bool),
    /// A file an option names (a version script, a symbol list).
    Data(String),
    /// A linker script given with `-T`.
    Script(String),
    /// `-lNAME`.
    Lib(String, bool),
}

/// An ld command line, understood.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct LdLine {
    /// The arguments the thunk gives ld (after `--sysroot`).
    pub(super) args: Vec<String>,
    pub(super) reads: Vec<Read>,
    /// `-L` folders, as written.
    pub(super) dirs: Vec<String>,
    pub(super) output: String,
    pub(super) shared: bool,
    pub(super) soname: Option<String>,
    pub(super) rpath: Vec<String>,
    pub(super) rpath_link: Vec<String>,
    pub(super) plugin: Option<String>,
    pub(super) nostdlib: bool,
    pub(super) emulation: Option<String>,
}

/// Reads ld's arguments (without `argv[0]`) the way ld's option parser does
/// (`getopt_long_only`: `-name` and `--name` alike, except that a single
/// dash before `o` is always `-o`).
pub(super) fn parse_ld(words: &[String]) -> Result<LdLine, String> {
    let mut line = LdLine { output: "a.out".into(), ..LdLine::default() };
    let mut static_mode = vec![false];
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        i += 1;
        if !w.starts_with('-') || w == "-" {
            if w == "-" {
                return Err("input from stdin".into());
            }
            line.reads.push(Read::File(w.clone(), *static_mode.last().expect("a mode")));
            line.args.push(tool::reroot(w));
            continue;
        }
        let (dashes, body) = if let Some(b) = w.strip_prefix("--") { (2, b) } else { (1, &w[1..]) };
        let (name, joined) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let long = if dashes == 1 && body.starts_with('o') {
            None
        } else {
            LONG.binary_search_by(|(n, _, _)| n.cmp(&name)).ok().map(|k| LONG[k])
        };
        // (spelling of the option, its value, role, how the value is joined)
        let (spelling, value, role, sep) = match long {
            Some((_, arg, role)) => {
                let value = match (arg, joined) {
                    (No, Some(_)) => return Err(format!("the linker option `{w}`")),
                    (No, None) | (Opt, None) => None,
                    (_, Some(v)) => Some(v.to_string()),
                    (Req, None) => {
                        let v = words.get(i).ok_or(format!("`{w}` without its argument"))?;
                        i += 1;
                        Some(v.clone())
                    }
                };
                let sep = if joined.is_some() { Some("=") } else { None };
                (format!("{}{name}", &w[..dashes]), value, role, sep)
            }
            None if dashes == 1 => {
                let letter = body.chars().next().expect("a word longer than `-`");
                let Some(&(_, arg, role)) = SHORT.iter().find(|(c, _, _)| *c == letter) else {
                    return Err(format!("the linker option `{w}`"));
                };
                let rest = &body[letter.len_utf8()..];
                let value = match arg {
                    No if rest.is_empty() => None,
                    No => return Err(format!("the linker option `{w}`")),
                    _ if !rest.is_empty() => Some(rest.to_string()),
                    _ => {
                        let v = words.get(i).ok_or(format!("`{w}` without its argument"))?;
                        i += 1;
                        Some(v.clone())
                    }
                };
                let sep = if rest.is_empty() { None } else { Some("") };
                (format!("-{letter}"), value, role, sep)
            }
            None => return Err(format!("the linker option `{w}`")),
        };
        // Passes the option on, its value joined as it was.
        let keep = |line: &mut LdLine, value: Option<&str>| match (value, sep) {
            (Some(v), Some(sep)) => line.args.push(format!("{spelling}{sep}{v}")),
            (Some(v), None) => line.args.extend([spelling.clone(), v.to_string()]),
            (None, _) => line.args.push(spelling.clone()),
        };
        let v = value.clone().unwrap_or_default();
        match role {
            Role::Keep => keep(&mut line, value.as_deref()),
            Role::Local(why) => return Err(why.into()),
            Role::Dir => {
                if v.starts_with('=') || v.starts_with("$SYSROOT") {
                    return Err(format!("a search folder in the sysroot (`-L{v}`)"));
                }
                line.dirs.push(tool::normalize(&v));
                keep(&mut line, Some(&tool::reroot(&v)));
            }
            Role::Lib => {
                line.reads.push(Read::Lib(v.clone(), *static_mode.last().expect("a mode")));
                keep(&mut line, Some(&v));
            }
            Role::File | Role::Plugin => {
                if role == Role::Plugin {
                    line.plugin = Some(v.clone());
                } else {
                    line.reads.push(Read::Data(v.clone()));
                }
                keep(&mut line, Some(&tool::reroot(&v)));
            }
            Role::Script => {
                line.reads.push(Read::Script(v.clone()));
                keep(&mut line, Some(&tool::reroot(&v)));
            }
            Role::Output => {
                line.output = v.clone();
                keep(&mut line, Some(&tool::reroot(&v)));
            }
            Role::PluginOpt => {
                let opt = if v.starts_with('/') {
                    tool::reroot(&v)
                } else if v.starts_with("-fresolution=") {
                    // gcc's temp file name would change the thunk's name
                    // every time; the plugin writes it only for LTO.
                    format!("-fresolution={ROOT_PLACEHOLDER}/gg-ld.res")
                } else {
                    v.clone()
                };
                keep(&mut line, Some(&opt));
            }
            Role::Static | Role::Dynamic => {
                *static_mode.last_mut().expect("a mode") = role == Role::Static;
                keep(&mut line, None);
            }
            Role::Push => {
                static_mode.push(*static_mode.last().expect("a mode"));
                keep(&mut line, None);
            }
            Role::Pop => {
                if static_mode.len() > 1 {
                    static_mode.pop();
                }
                keep(&mut line, None);
            }
            Role::Shared => {
                line.shared = true;
                keep(&mut line, None);
            }
            Role::Soname => {
                line.soname = Some(v.clone());
                keep(&mut line, value.as_deref());
            }
            Role::Rpath | Role::RpathLink => {
                let list = if role == Role::Rpath { &mut line.rpath } else { &mut line.rpath_link };
                list.extend(v.split(':').filter(|d| !d.is_empty()).map(str::to_string));
                keep(&mut line, value.as_deref());
            }
            Role::NoStdlib => {
                line.nostdlib = true;
                keep(&mut line, None);
            }
            Role::Emulation => {
                line.emulation = Some(v.clone());
                keep(&mut line, value.as_deref());
            }
        }
    }
    Ok(line)
}
