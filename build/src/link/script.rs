//! Linker scripts as ld reads them for inputs: the files and `-l` names
//! of `INPUT`, `GROUP` and `AS_NEEDED`; commands that read other files or
//! change the search (`INCLUDE`, `SEARCH_DIR`, `STARTUP`) make the link
//! run locally.

/// The files and `-l` names a linker script reads (`INPUT`, `GROUP`,
/// `AS_NEEDED`); `Err` names a command that reads other files or changes
/// the search (`INCLUDE`, `SEARCH_DIR`, `STARTUP`).
pub(super) fn script_inputs(text: &str) -> Result<Vec<String>, String> {
    let mut cleaned = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        cleaned.push_str(&rest[..start]);
        cleaned.push(' ');
        rest = match rest[start + 2..].find("*/") {
            Some(end) => &rest[start + 2 + end + 2..],
            None => "",
        };
    }
    cleaned.push_str(rest);
    let mut tokens: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut chars = cleaned.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                for q in chars.by_ref() {
                    if q == '"' {
                        break;
                    }
                    word.push(q);
                }
            }
            '(' | ')' | '{' | '}' | ';' | ',' => {
                if !word.is_empty() {
                    tokens.push(std::mem::take(&mut word));
                }
                tokens.push(c.to_string());
            }
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    tokens.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    let mut files = Vec::new();
    // The commands whose parentheses we are in.
    let mut open: Vec<String> = Vec::new();
    let mut last = String::new();
    for t in tokens {
        match t.as_str() {
            "(" => open.push(std::mem::take(&mut last)),
            ")" => {
                open.pop();
            }
            "INCLUDE" | "SEARCH_DIR" | "STARTUP" => return Err(format!("`{t}`")),
            _ if open.last().is_some_and(|c| matches!(c.as_str(), "INPUT" | "GROUP" | "AS_NEEDED")) => {
                if !matches!(t.as_str(), "AS_NEEDED" | "," | "{" | "}" | ";") {
                    files.push(t.clone());
                }
                last = t;
            }
            _ => last = t,
        }
    }
    Ok(files)
}
