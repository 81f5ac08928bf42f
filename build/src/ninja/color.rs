//! Colour in what commands print, by Ninja's rule. Ninja gives each
//! command a pipe, so compilers see no terminal and build systems force
//! colour on (Meson passes `-fdiagnostics-color=always`). Ninja then
//! decides for its own stdout: it supports colour when stdout is a
//! terminal and `TERM` is set and not `dumb`, or else when
//! `CLICOLOR_FORCE` is set to anything but `0`. Without colour it strips
//! the escape sequences from every command's output before printing it,
//! so a log file gets plain text; with colour it prints them as they are,
//! and writes its own `FAILED:` in red.
//!
//! The stripping is Ninja's, byte for byte, so that `gg ninja` and `ninja`
//! print the same: each CSI sequence (`ESC [`, up to and including the
//! next ASCII letter) goes whole; any other `ESC` loses only itself, so an
//! OSC-8 link (gcc's `-fdiagnostics-urls=always`) leaves its text,
//! `]8;;URL\`, behind, as it does under Ninja.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::io::IsTerminal as _;

const ESC: u8 = 0x1b;

/// Ninja's decision for a stdout that is or is not a terminal, given the
/// values of `TERM` and `CLICOLOR_FORCE`.
pub fn supports_color(stdout_is_terminal: bool, term: Option<&OsStr>, clicolor_force: Option<&OsStr>) -> bool {
    let smart_terminal = stdout_is_terminal && term.is_some_and(|t| t != "dumb");
    smart_terminal || clicolor_force.is_some_and(|f| f != "0")
}

/// [`supports_color`] for this process.
pub fn supports_color_here() -> bool {
    let term = std::env::var_os("TERM");
    let force = std::env::var_os("CLICOLOR_FORCE");
    supports_color(std::io::stdout().is_terminal(), term.as_deref(), force.as_deref())
}

/// `text` without its escape sequences, as Ninja strips them (see the
/// module doc); borrowed when it has none.
pub fn strip_escapes(text: &[u8]) -> Cow<'_, [u8]> {
    if !text.contains(&ESC) {
        return Cow::Borrowed(text);
    }
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] != ESC {
            out.push(text[i]);
            i += 1;
            continue;
        }
        match text.get(i + 1) {
            // A trailing ESC is dropped.
            None => break,
            Some(b'[') => {
                let rest = &text[i + 2..];
                i += 2 + rest.iter().position(u8::is_ascii_alphabetic).map_or(rest.len(), |p| p + 1);
            }
            // Not a CSI: only the ESC goes.
            Some(_) => i += 1,
        }
    }
    Cow::Owned(out)
}

/// The `FAILED: ` that starts a failed edge's report: red with colour.
pub fn failed_label(color: bool) -> &'static str {
    if color {
        "\x1b[31mFAILED: \x1b[0m"
    } else {
        "FAILED: "
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(text: &str) -> String {
        String::from_utf8(strip_escapes(text.as_bytes()).into_owned()).unwrap()
    }

    #[test]
    fn gcc_colour_sequences_are_removed_whole() {
        let warning = "\x1b[01m\x1b[Ka.c:2:7:\x1b[m\x1b[K \x1b[01;35m\x1b[Kwarning: \x1b[m\x1b[Kunused variable \
                       ‘\x1b[01m\x1b[Kx\x1b[m\x1b[K’ [\x1b[01;35m\x1b[K-Wunused-variable\x1b[m\x1b[K]\n";
        assert_eq!(strip(warning), "a.c:2:7: warning: unused variable ‘x’ [-Wunused-variable]\n");
        assert_eq!(strip("\x1b[31mred\x1b[0m \x1b[1;2;3Hplace"), "red place");
    }

    #[test]
    fn text_without_escapes_is_returned_as_it_is() {
        let text = "a.c:1:1: note: ‘[x]’ is fine; 100% [-Wall]\n".as_bytes();
        assert!(matches!(strip_escapes(text), Cow::Borrowed(t) if t == text));
        let binary = [0u8, 0xff, b'[', b'x', 0x80];
        assert_eq!(strip_escapes(&binary).as_ref(), &binary);
    }

    #[test]
    fn an_osc_8_link_loses_only_its_escape_bytes_as_under_ninja() {
        // What Ninja 1.11 prints for gcc's `-fdiagnostics-urls=always`.
        let link = "[\x1b]8;;https://gcc.gnu.org/w\x1b\\-Wunused\x1b]8;;\x1b\\]";
        assert_eq!(strip(link), "[]8;;https://gcc.gnu.org/w\\-Wunused]8;;\\]");
    }

    #[test]
    fn an_unfinished_sequence_at_the_end_is_dropped() {
        assert_eq!(strip("done\x1b"), "done");
        assert_eq!(strip("done\x1b[01;3"), "done");
        assert_eq!(strip("\x1b\x1b[mx"), "x");
    }

    #[test]
    fn colour_needs_a_terminal_with_a_term_or_clicolor_force() {
        let s = |v: &'static str| Some(OsStr::new(v));
        assert!(supports_color(true, s("xterm-256color"), None));
        assert!(!supports_color(true, s("dumb"), None));
        assert!(!supports_color(true, None, None));
        assert!(!supports_color(false, s("xterm"), None));
        assert!(supports_color(false, None, s("1")));
        assert!(supports_color(false, None, s("")), "set to anything but 0");
        assert!(!supports_color(false, s("xterm"), s("0")));
        assert!(supports_color(true, s("xterm"), s("0")), "a terminal needs no forcing");
    }

    #[test]
    fn failed_is_red_only_with_colour() {
        assert_eq!(failed_label(false), "FAILED: ");
        assert_eq!(strip(failed_label(true)), "FAILED: ");
        assert!(failed_label(true).starts_with("\x1b[31m"));
    }
}
