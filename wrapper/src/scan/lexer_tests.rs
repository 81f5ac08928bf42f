use super::*;

fn dirs(text: &str) -> Vec<Directive> {
    directives(text.as_bytes())
}

fn q(s: &str) -> Directive {
    Directive::Include(Spec::Quote(s.into()))
}

fn a(s: &str) -> Directive {
    Directive::Include(Spec::Angle(s.into()))
}

#[test]
fn the_three_include_forms_and_both_spellings_are_found() {
    let text = "#include \"a.h\"\n  #  include_next <b/c.h>\n#import <d.h>\n%:include \"e.h\"\nint x;\n";
    assert_eq!(dirs(text), [q("a.h"), a("b/c.h"), a("d.h"), q("e.h")]);
}

#[test]
fn comments_hide_directives_and_may_sit_around_the_hash() {
    let text = "/* #include \"no1.h\"\n#include \"no2.h\" */\n// #include \"no3.h\"\n\
                // continued \\\n#include \"no4.h\"\n/* c */ # /* c */ include /* c */ \"yes1.h\" // tail\n\
                #include /* spans\n lines */ \"yes2.h\"\nint y; /* *\\\n/ #include \"no5.h\" */\n\
                #include \"yes3.h\"\n";
    assert_eq!(dirs(text), [q("yes1.h"), q("yes2.h"), q("yes3.h")]);
}

#[test]
fn a_comment_closed_across_a_splice_ends_where_the_compiler_ends_it() {
    let text = "/* x *\\\n/\n#include \"yes.h\"\n";
    assert_eq!(dirs(text), [q("yes.h")]);
}

#[test]
fn literals_and_raw_strings_hide_directives() {
    let text = "const char *s = \"\\\n#include \\\"no1.h\\\"\";\n\
                auto r = R\"x(\n#include \"no2.h\"\n)\" )x\";\n\
                auto u = u8R\"(\n#include \"no3.h\"\n)\";\n\
                #include \"yes1.h\"\n\
                char c = '\"'; int big = 1'000'000;\n#include \"yes2.h\"\n";
    assert_eq!(dirs(text), [q("yes1.h"), q("yes2.h")]);
}

#[test]
fn an_unterminated_raw_string_or_quote_hides_nothing_past_its_line() {
    let text = "auto r = R\"x(never closed\n#include \"yes1.h\"\nchar c = 'a\n#include \"yes2.h\"\n";
    assert_eq!(dirs(text), [q("yes1.h"), q("yes2.h")]);
}

#[test]
fn continuations_join_directive_lines() {
    let text = "#inc\\\nlude \\\n\"split.h\"\n#define HDR \\\r\n  <gen/x.h>\n#include HDR\n";
    assert_eq!(
        dirs(text),
        [
            q("split.h"),
            Directive::Define("HDR".into(), Body::Object("<gen/x.h>".into())),
            Directive::Include(Spec::Computed("HDR".into()))
        ]
    );
}

#[test]
fn a_double_slash_inside_an_angled_name_is_not_a_comment() {
    assert_eq!(dirs("#include <a//b.h>\n"), [a("a//b.h")]);
}

#[test]
fn defines_are_object_or_function_like() {
    let text = "#define A \"a.h\" /* c */\n#define F(x) <x>\n#define E\n#undef A\n";
    assert_eq!(
        dirs(text),
        [
            Directive::Define("A".into(), Body::Object("\"a.h\"".into())),
            Directive::Define("F".into(), Body::Function),
            Directive::Define("E".into(), Body::Object(String::new())),
        ]
    );
}

#[test]
fn has_include_probes_are_taken_from_conditions_and_literal_macro_bodies() {
    let text = "#if __has_include(\"p.h\") && __has_include_next( <q.h> )\n#elif defined __has_include\n\
                #elif __has_include(M)\n#endif\n#ifdef __has_include\n#endif\n\
                #define HAVE_R __has_include(<r.h>)\n#define PROBE(x) __has_include(x)\n\
                int f(void) { return __has_include(\"not_a_directive.h\"); }\n";
    let found = dirs(text);
    let probes: Vec<_> = found.iter().filter(|d| matches!(d, Directive::HasInclude(_))).collect();
    assert_eq!(
        probes,
        [
            &Directive::HasInclude(Spec::Quote("p.h".into())),
            &Directive::HasInclude(Spec::Angle("q.h".into())),
            &Directive::HasInclude(Spec::Computed("M".into())),
            &Directive::HasInclude(Spec::Angle("r.h".into())),
        ]
    );
}

#[test]
fn computed_includes_keep_their_text_and_embed_is_reported() {
    assert_eq!(dirs("#include CFG(x)\n"), [Directive::Include(Spec::Computed("CFG(x)".into()))]);
    assert_eq!(dirs("#embed \"blob.bin\"\n"), [Directive::Embed]);
}

#[test]
fn a_hash_after_code_on_the_line_is_not_a_directive() {
    assert_eq!(dirs("int a; #include \"no.h\"\n#define S(x) #x\n"), [Directive::Define("S".into(), Body::Function)]);
}

#[test]
fn the_same_include_twice_is_kept_once() {
    assert_eq!(dirs("#include \"a.h\"\n#include \"a.h\"\n"), [q("a.h")]);
}

#[test]
fn flags_report_time_macros_and_assembler_includes() {
    let f = flags(b"const char *d = __DATE__;\n.incbin \"x\"\n");
    assert!(f.time_macros && f.incbin && !f.dot_include && !f.has_include);
    let f = flags(b"  .include \"m.inc\"\n#if __has_include(<x>)\n");
    assert!(!f.time_macros && !f.incbin && f.dot_include && f.has_include && !f.file_macro);
    assert!(flags(b"log(__FILE__);\n").file_macro && flags(b"where(__builtin_FILE());\n").file_macro);
}

#[test]
fn a_name_that_is_not_utf8_is_not_mangled_into_another() {
    let d = directives(b"#include \"caf\xe9.h\"\n");
    assert!(matches!(&d[..], [Directive::Include(Spec::Computed(_))]), "{d:?}");
}

#[test]
fn blanks_between_a_backslash_and_its_newline_still_splice() {
    let text = "#include \\  \n  \"a.h\"\n// comment \\ \t\n#include \"hidden.h\"\n/* x *\\ \n/\n#include<b//c.h>\n";
    assert_eq!(dirs(text), [q("a.h"), a("b//c.h")]);
}

#[test]
fn a_pragma_dependency_names_a_file_the_compiler_looks_up() {
    let d = dirs("#pragma GCC dependency \"parse.y\" extra text\n#pragma once\n");
    assert_eq!(d, [Directive::HasInclude(Spec::Quote("parse.y".into()))]);
}

#[test]
fn a_byte_order_mark_and_any_line_ending_are_accepted() {
    assert_eq!(directives(b"\xEF\xBB\xBF#include \"bom.h\"\n"), [q("bom.h")]);
    assert_eq!(
        directives(b"#include \"a.h\"\r#include \"b.h\"\r\n#include \\\r\"c.h\"\r"),
        [q("a.h"), q("b.h"), q("c.h")]
    );
}

#[test]
fn any_bytes_lex_without_panicking_and_decode_back() {
    // Fragments that open and close every construct the lexer tracks,
    // shuffled by a fixed generator: truncations and odd mixes included.
    let parts: &[&[u8]] = &[
        b"#",
        b"%:",
        b"include",
        b"define X ",
        b"if __has_include(",
        b"\"a.h\"",
        b"<b.h>",
        b"/*",
        b"*/",
        b"//",
        b"\\",
        b"\n",
        b"\r",
        b" ",
        b"'",
        b"\"",
        b"R\"d(",
        b")d\"",
        b"u8R\"(",
        b")\"",
        b"1'0",
        b"(",
        b")",
        b"x",
        b"\xEF\xBB\xBF",
        b"embed",
        b"pragma GCC dependency ",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..3000 {
        let mut text = Vec::new();
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        for _ in 0..(seed >> 59) {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            text.extend_from_slice(parts[(seed >> 33) as usize % parts.len()]);
        }
        let parsed = lex(&text);
        let encoded = super::super::encode::encode(&parsed);
        let decoded = super::super::encode::decode(&encoded).map(|p| p.read_back());
        assert_eq!(decoded, Some(parsed.read_back()), "{}", String::from_utf8_lossy(&text));
    }
}

#[test]
fn a_computed_include_read_only_when_its_macro_is_defined_says_so() {
    let c = |s: &str| Directive::Include(Spec::Computed(s.into()));
    let g = |s: &str| Directive::IncludeIfDefined(s.into());
    let text = "#ifdef A\n#include A\n#endif\n\
                #if defined(B)\n# if X\n#  include B\n# endif\n#endif\n\
                #if defined C\n#include C\n#endif\n\
                #ifdef D\n#else\n#include D\n#endif\n\
                #if defined(E) && F\n#include E\n#endif\n\
                #ifndef G\n#include G\n#endif\n\
                #ifdef H\n#elif 1\n#include H\n#endif\n\
                #ifdef I\n#endif\n#include I\n";
    assert_eq!(dirs(text), [g("A"), g("B"), g("C"), c("D"), c("E"), c("G"), c("H"), c("I")]);
}
