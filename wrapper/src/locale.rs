//! The locale as a compile thunk carries it. Of the locale, only the
//! character set of `LC_CTYPE` reaches what gcc writes: in a UTF-8 locale it
//! quotes with ‘…’ and prints non-ASCII identifiers as they are, otherwise
//! with '…' and escapes (clang ignores the locale). So a thunk gets
//! `LC_CTYPE=C.UTF-8` with that locale's one file shipped as an input and
//! `LOCPATH` pointing into the sandbox when the compile's locale is UTF-8,
//! and no locale at all otherwise: the same output on every engine,
//! whatever locales the machine running it has, and one thunk for every
//! UTF-8 locale.
//!
//! Translated messages are the exception: gettext reads gcc's catalogs from
//! an absolute folder no sandbox can redirect, so a compile whose messages
//! would be translated is not made a thunk at all
//! ([`translated_diagnostics`]).

use std::ffi::CStr;
use std::path::Path;
use std::sync::OnceLock;

use gg_core::thunk::ROOT_PLACEHOLDER;

/// Where glibc keeps unpacked locales, and the one a UTF-8 thunk uses.
const LOCALE_DIR: &str = "/usr/lib/locale";
const UTF8_CTYPE: &str = "/usr/lib/locale/C.utf8/LC_CTYPE";

/// Where gettext finds message catalogs (compiled into gcc).
const CATALOG_DIR: &str = "/usr/share/locale";

/// What a thunk needs to see the compile's locale.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ThunkLocale {
    /// `NAME=value` envars, the root written as the placeholder.
    pub envars: Vec<String>,
    /// Files to ship, at their absolute paths.
    pub files: Vec<String>,
}

/// The thunk's locale for this process's environment (fixed for its life).
pub fn for_thunk() -> &'static ThunkLocale {
    static LOCALE: OnceLock<ThunkLocale> = OnceLock::new();
    LOCALE.get_or_init(|| thunk_locale(ctype_codeset().as_deref(), Path::new(UTF8_CTYPE).is_file(), &env_locale()))
}

/// The decision, apart from the machine: `codeset` is what the compiler's
/// `setlocale(LC_CTYPE, "")` would give (`None`: the locale does not load),
/// `have_utf8` whether C.UTF-8's file exists here.
fn thunk_locale(codeset: Option<&str>, have_utf8: bool, env: &[(String, String)]) -> ThunkLocale {
    match codeset {
        Some("UTF-8") if have_utf8 => ThunkLocale {
            envars: vec!["LC_CTYPE=C.UTF-8".into(), format!("LOCPATH={ROOT_PLACEHOLDER}{LOCALE_DIR}")],
            files: vec![UTF8_CTYPE.into()],
        },
        // A UTF-8 locale without C.UTF-8 to stand for it (an old glibc):
        // the user's own variables, read from the machine that runs the
        // thunk.
        Some("UTF-8") => ThunkLocale { envars: env.iter().map(|(k, v)| format!("{k}={v}")).collect(), files: vec![] },
        // C, POSIX, a locale that does not load, or another character set
        // (treated as ASCII: gcc's quotes are the same).
        _ => ThunkLocale::default(),
    }
}

/// The locale variables that are set, in a fixed order.
fn env_locale() -> Vec<(String, String)> {
    ["LANG", "LC_ALL", "LC_CTYPE"]
        .iter()
        .filter_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()).map(|v| (k.to_string(), v)))
        .collect()
}

/// The character set of the environment's `LC_CTYPE` locale, asked of the C
/// library exactly as the compiler will (without touching this process's
/// own locale).
fn ctype_codeset() -> Option<String> {
    // SAFETY: newlocale with "" reads the environment and returns a fresh
    // locale object (or null), which is freed before returning; the string
    // nl_langinfo_l gives is copied out while the object lives.
    unsafe {
        let loc = libc::newlocale(libc::LC_CTYPE_MASK, c"".as_ptr(), std::ptr::null_mut());
        if loc.is_null() {
            return None;
        }
        let codeset = libc::nl_langinfo_l(libc::CODESET, loc);
        let name = (!codeset.is_null()).then(|| CStr::from_ptr(codeset).to_string_lossy().into_owned());
        libc::freelocale(loc);
        name
    }
}

/// Why gcc's diagnostics would be translated here (the catalog's language),
/// if they would: such a compile runs as it is, since a thunk's messages
/// cannot depend on the catalogs of the machine that runs it.
pub fn translated_diagnostics() -> Option<&'static str> {
    static WHY: OnceLock<Option<String>> = OnceLock::new();
    WHY.get_or_init(|| {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let messages = get("LC_ALL").or_else(|| get("LC_MESSAGES")).or_else(|| get("LANG"))?;
        let language = get("LANGUAGE");
        let lang = catalog_language(&messages, language.as_deref(), &|dir| has_gcc_catalog(Path::new(dir)))?;
        messages_locale_loads().then(|| format!("diagnostics translated by the `{lang}` message catalogs"))
    })
    .as_deref()
}

/// The first language (gettext's order: `LANGUAGE`, else the messages
/// locale) whose folder holds a gcc catalog; `has(dir)` asks about one
/// `…/LC_MESSAGES` folder.
fn catalog_language(messages: &str, language: Option<&str>, has: &dyn Fn(&str) -> bool) -> Option<String> {
    // gettext ignores everything in the C locale.
    if messages == "C" || messages == "POSIX" || messages.starts_with("C.") {
        return None;
    }
    let wanted: Vec<&str> = match language {
        Some(l) => l.split(':').filter(|s| !s.is_empty()).collect(),
        None => vec![messages],
    };
    for name in wanted {
        for cand in variants(name) {
            if has(&format!("{CATALOG_DIR}/{cand}/LC_MESSAGES")) {
                return Some(cand);
            }
        }
    }
    None
}

/// `ll_CC.codeset@mod` as gettext tries it: `ll_CC@mod`, `ll_CC`, `ll@mod`, `ll`.
fn variants(name: &str) -> Vec<String> {
    let (base, modifier) = match name.split_once('@') {
        Some((b, m)) => (b, Some(m)),
        None => (name, None),
    };
    let base = base.split('.').next().unwrap_or(base);
    let lang = base.split('_').next().unwrap_or(base);
    let mut out = Vec::new();
    for b in [base, lang] {
        if let Some(m) = modifier {
            out.push(format!("{b}@{m}"));
        }
        out.push(b.to_string());
    }
    out.dedup();
    out
}

fn has_gcc_catalog(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    entries.flatten().any(|e| {
        let n = e.file_name();
        let n = n.to_string_lossy();
        (n.starts_with("gcc") || n.starts_with("cpplib")) && n.ends_with(".mo")
    })
}

/// Whether `setlocale(LC_MESSAGES, "")` would succeed (else gettext does
/// not translate, whatever catalogs exist).
fn messages_locale_loads() -> bool {
    // SAFETY: as in ctype_codeset.
    unsafe {
        let loc = libc::newlocale(libc::LC_MESSAGES_MASK, c"".as_ptr(), std::ptr::null_mut());
        if loc.is_null() {
            return false;
        }
        libc::freelocale(loc);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_utf8_locale_becomes_c_utf8_shipped_into_the_sandbox() {
        let env = vec![("LANG".to_string(), "en_US.UTF-8".to_string())];
        let t = thunk_locale(Some("UTF-8"), true, &env);
        assert_eq!(t.envars, ["LC_CTYPE=C.UTF-8".to_string(), format!("LOCPATH={ROOT_PLACEHOLDER}/usr/lib/locale")]);
        assert_eq!(t.files, [UTF8_CTYPE]);
        // Without C.UTF-8 here, the user's own variables.
        assert_eq!(thunk_locale(Some("UTF-8"), false, &env).envars, ["LANG=en_US.UTF-8"]);
    }

    #[test]
    fn ascii_latin_and_missing_locales_give_the_thunk_no_locale() {
        for codeset in [None, Some("ANSI_X3.4-1968"), Some("ISO-8859-1")] {
            assert_eq!(thunk_locale(codeset, true, &[]), ThunkLocale::default());
        }
    }

    #[test]
    fn catalogs_are_looked_for_as_gettext_does() {
        assert_eq!(variants("de_DE.UTF-8@euro"), ["de_DE@euro", "de_DE", "de@euro", "de"]);
        assert_eq!(variants("fr"), ["fr"]);
        let only_de = |d: &str| d == "/usr/share/locale/de/LC_MESSAGES";
        assert_eq!(catalog_language("de_DE.UTF-8", None, &only_de), Some("de".into()));
        assert_eq!(catalog_language("C.UTF-8", Some("de"), &only_de), None, "gettext ignores LANGUAGE in C");
        assert_eq!(catalog_language("en_US.UTF-8", Some("fr:de"), &only_de), Some("de".into()));
        assert_eq!(catalog_language("en_US.UTF-8", None, &only_de), None);
    }
}
