//! Options that change where headers are found in ways the scanner's
//! model (the job's search folders, all candidates) does not cover: with
//! one of these the caller runs the preprocessor instead.

/// Options matched by prefix (joined and separate forms alike).
const PREFIXES: &[&str] = &[
    "-iprefix",
    "-iwithprefix",
    "-iwithsysroot",
    "--sysroot",
    "-isysroot",
    "-stdlib=",
    "--target=",
    "-imultilib",
    "-imultiarch",
    "-cxx-isystem",
    "-iframework",
    "-isystem-after",
    "-ivfsoverlay",
    "--include",
    "--imacros",
    "-include-pch",
    "-fmodules",
    "-fmodule-",
    "--gcc-toolchain",
    "--gcc-install-dir",
    "-Wp,",
    "-Xpreprocessor",
    "-Xclang",
    "-F",
    "-B",
];

/// Options matched exactly.
const EXACT: &[&str] =
    &["-I-", "-nostdinc++", "-target", "-m32", "-mx32", "-m16", "-traditional-cpp", "-traditional", "-trigraphs"];

/// Folder options whose value may start with `=` or `$SYSROOT` (a folder
/// inside the sysroot, which the job's folders do not resolve).
const FOLDERS: &[&str] = &["-I", "-iquote", "-isystem", "-idirafter"];

/// The first argument the scanner cannot model, if any.
pub(crate) fn unsupported(args: &[String]) -> Option<&str> {
    for opt in FOLDERS {
        let values = crate::args::option_values(args, &[opt]);
        if values.iter().any(|v| v.starts_with('=') || v.starts_with("$SYSROOT")) {
            return Some(opt);
        }
    }
    args.iter()
        .map(String::as_str)
        .find(|a| EXACT.contains(a) || PREFIXES.iter().any(|p| a.starts_with(p)))
        .map(|a| PREFIXES.iter().chain(EXACT).find(|p| a.starts_with(**p)).copied().unwrap_or(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn search_path_options_outside_the_model_are_named() {
        assert_eq!(unsupported(&args(&["-c", "-O2", "-Iinc", "-isystem", "/x", "-nostdinc"])), None);
        assert_eq!(unsupported(&args(&["-c", "--sysroot=/sr"])), Some("--sysroot"));
        assert_eq!(unsupported(&args(&["-iprefix", "/p", "-iwithprefix", "q"])), Some("-iprefix"));
        assert_eq!(unsupported(&args(&["-I-"])), Some("-I-"));
        assert_eq!(unsupported(&args(&["-m32"])), Some("-m32"));
        assert_eq!(unsupported(&args(&["-Fframeworks"])), Some("-F"));
        assert_eq!(unsupported(&args(&["-fmodules-ts"])), Some("-fmodules"));
        assert_eq!(unsupported(&args(&["-include-pch", "x.pch"])), Some("-include-pch"));
        assert_eq!(unsupported(&args(&["-isystem", "=/usr/include/x"])), Some("-isystem"));
        assert_eq!(unsupported(&args(&["-I$SYSROOT/inc"])), Some("-I"));
    }
}
