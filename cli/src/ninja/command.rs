//! Reading an edge's shell command as words, the way `/bin/sh` would split
//! it, for the commands gg models. Anything the shell would do more with
//! (expansions, redirections, pipes, lists other than `&&`) is refused, so
//! such an edge runs through the shell as it is.

/// The `&&`-separated simple commands of `command`, each as its words;
/// `None` if the shell would do anything more than run them in order.
pub fn split_and_list(command: &str) -> Option<Vec<Vec<String>>> {
    // Most commands quote nothing: split them on blanks directly.
    if !command.bytes().any(|b| matches!(b, b'\'' | b'"' | b'\\' | b'#' | b'\n')) {
        return split_plain(command);
    }
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            // Escaped: the character itself; a newline
                            // continues the line.
                            c @ ('"' | '\\' | '$' | '`') => word.push(c),
                            '\n' => {}
                            c => {
                                word.push('\\');
                                word.push(c);
                            }
                        },
                        '$' | '`' => return None,
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next()? {
                    '\n' => {}
                    c => word.push(c),
                }
            }
            '&' if chars.peek() == Some(&'&') => {
                chars.next();
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                if words.is_empty() {
                    return None;
                }
                commands.push(std::mem::take(&mut words));
            }
            // Expansions, globs, redirections, pipes, other lists,
            // subshells, comments and assignments are the shell's business.
            '$' | '`' | '*' | '?' | '[' | '<' | '>' | '|' | ';' | '&' | '(' | ')' | '{' | '}' | '~' => return None,
            '#' if !in_word => return None,
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    last_command(commands, words)
}

/// Ends a list with its last command: none may be empty, and none may
/// start with `NAME=value` (it sets the environment: not modelled).
fn last_command(mut commands: Vec<Vec<String>>, words: Vec<String>) -> Option<Vec<Vec<String>>> {
    if words.is_empty() {
        return None;
    }
    commands.push(words);
    if commands.iter().any(|c| c[0].contains('=')) {
        return None;
    }
    Some(commands)
}

/// Bytes the shell gives a meaning to outside quotes.
const SHELL_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let special = b"$`*?[<>|;&(){}~";
    let mut i = 0;
    while i < special.len() {
        t[special[i] as usize] = true;
        i += 1;
    }
    t
};

/// `split_and_list` for a command without quotes, backslashes or `#`.
fn split_plain(command: &str) -> Option<Vec<Vec<String>>> {
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    for word in command.split_ascii_whitespace() {
        if word == "&&" {
            if words.is_empty() {
                return None;
            }
            commands.push(std::mem::take(&mut words));
            continue;
        }
        if word.bytes().any(|b| SHELL_SPECIAL[usize::from(b)]) {
            return None;
        }
        words.push(word.to_string());
    }
    last_command(commands, words)
}

/// The one simple command `command` is, as words (CMake wraps some
/// commands as `: && CMD && :`; the no-op `:` is dropped).
pub fn simple(command: &str) -> Option<Vec<String>> {
    let mut list = split_and_list(command)?;
    list.retain(|c| !(c.len() == 1 && c[0] == ":"));
    (list.len() == 1).then(|| list.pop().expect("one"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn words_split_as_the_shell_splits_them() {
        assert_eq!(
            simple("/usr/bin/cc -DX=\"a b\" -I'/p q' -o x.o -c a\\ b.c"),
            Some(w(&["/usr/bin/cc", "-DX=a b", "-I/p q", "-o", "x.o", "-c", "a b.c"]))
        );
        assert_eq!(simple("cc -DS=\\\"s\\\" -c a.c"), Some(w(&["cc", "-DS=\"s\"", "-c", "a.c"])));
        assert_eq!(simple(": && cc -o t t.o && :"), Some(w(&["cc", "-o", "t", "t.o"])));
        assert_eq!(
            split_and_list("rm -f x && ar qc x a.o"),
            Some(vec![w(&["rm", "-f", "x"]), w(&["ar", "qc", "x", "a.o"])])
        );
    }

    #[test]
    fn anything_more_than_simple_commands_is_refused() {
        for c in [
            "cc -c a.c > log",
            "cc -c $FLAGS a.c",
            "cc -c \"$X\" a.c",
            "cc -c a.c | tee",
            "cc -c a.c; true",
            "cc -c a.c || true",
            "cc -c *.c",
            "CFLAGS=x cc -c a.c",
            "cc -c a.c &",
            "cc -c 'unterminated",
            "cc `pwd`/a.c",
            "(cc -c a.c)",
            "",
            "&& cc",
        ] {
            assert_eq!(split_and_list(c), None, "{c}");
        }
        assert_eq!(simple("cc -c a.c && cc -c b.c"), None, "two commands");
    }
}
