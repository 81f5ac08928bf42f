//! What the scanner keeps of a file: its directives that can make the
//! compile open another file (or name a macro such a directive could use),
//! and a few facts about its text. Produced by the lexer, kept in memory
//! and in the store by content hash.

/// How a header is named.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Spec {
    /// `"name"`: the includer's folder first, then the search folders.
    Quote(String),
    /// `<name>`: the search folders only.
    Angle(String),
    /// Anything else (`MACRO`, `MACRO(x)`): macro-expanded into one of the above.
    Computed(String),
}

/// The body of a `#define`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Body {
    /// An object-like macro's replacement text, trimmed.
    Object(String),
    /// A function-like macro: never expanded by the scanner.
    Function,
}

/// One directive that matters to the scan.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Directive {
    /// `#include`, `#include_next`, `#import`: all three search the same
    /// candidates in the scanner's all-candidates model.
    Include(Spec),
    /// A `__has_include`/`__has_include_next` argument: the file is only
    /// probed, so it is added but its own includes are not followed.
    HasInclude(Spec),
    Define(String, Body),
    /// `#embed`: reads a resource the scanner does not model.
    Embed,
    /// `#include M` in the first branch of `#ifdef M` or `#if defined(M)`
    /// (the optional-header idiom, as Lua's `LUA_USER_H`): the compiler
    /// reaches it only when `M` is defined, so a scan that finds `M`
    /// defined nowhere passes it by instead of falling back.
    IncludeIfDefined(String),
}

/// Facts about the raw text, whatever the directives say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Flags {
    pub time_macros: bool,
    pub incbin: bool,
    pub dot_include: bool,
    pub has_include: bool,
    /// `__FILE__` or `__builtin_FILE`: the text may put its own path in
    /// the object.
    pub file_macro: bool,
}

/// What [`Parsed::read_back`] gives: flags, other directives, defines.
#[cfg(test)]
pub(crate) type ReadBack = (Flags, Vec<Directive>, Vec<(String, Option<String>)>);

/// Everything the lexer extracts from one file's bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub flags: Flags,
    pub directives: Vec<Directive>,
    /// The defines of an entry read back from the store, left encoded
    /// (see `encode::decode`); the lexer puts its defines in `directives`.
    pub stored_defines: Option<super::encode::Defines>,
}

impl Parsed {
    /// Calls `f` with each define's name and object-like body (`None`:
    /// function-like), wherever it is kept.
    pub(crate) fn for_each_define(&self, mut f: impl FnMut(&str, Option<&str>)) {
        for d in &self.directives {
            if let Directive::Define(name, body) = d {
                match body {
                    Body::Object(text) => f(name, Some(text)),
                    Body::Function => f(name, None),
                }
            }
        }
        if let Some(stored) = &self.stored_defines {
            stored.for_each(f);
        }
    }

    /// What the scan reads of it, however it is kept: the flags, the
    /// directives other than defines in order, and the defines (tests).
    #[cfg(test)]
    pub(crate) fn read_back(&self) -> ReadBack {
        let others = self.directives.iter().filter(|d| !matches!(d, Directive::Define(..))).cloned().collect();
        let mut defines = Vec::new();
        self.for_each_define(|n, b| defines.push((n.to_string(), b.map(str::to_string))));
        (self.flags, others, defines)
    }
}
