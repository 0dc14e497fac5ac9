//! The little of Rust's lexical structure the module-graph test needs: code without
//! comments or literals, as tokens, without `#[cfg(test)]` items.

/// The source with comments, string and char literals blanked, so only code is scanned
/// (a doc link or a message naming `crate::x` is no edge).
pub fn code_only(src: &str) -> String {
    let s: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < s.len() {
        let c = s[i];
        let next = s.get(i + 1).copied();
        let after_ident = i > 0 && ident(s[i - 1]);
        if c == '/' && next == Some('/') {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < s.len() {
                if s[i] == '/' && s.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if s[i] == '*' && s.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if let Some((start, hashes)) = raw_string(&s, i).filter(|_| !after_ident) {
            i = start;
            while i < s.len() {
                let closed = s[i + 1..]
                    .iter()
                    .take(hashes)
                    .filter(|&&h| h == '#')
                    .count();
                if s[i] == '"' && closed == hashes {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < s.len() && s[i] != '"' {
                i += if s[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && next == Some('\\') {
            i += 3;
            while i < s.len() && s[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push(' ');
        } else if c == '\'' && s.get(i + 2) == Some(&'\'') {
            i += 3;
            out.push(' ');
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Where the contents of a raw string starting at `s[i]` (`r"`, `r#"`, `br#"` ...) begin,
/// and how many `#` close it.
fn raw_string(s: &[char], i: usize) -> Option<(usize, usize)> {
    let start = match (s.get(i), s.get(i + 1)) {
        (Some('r'), _) => i + 1,
        (Some('b'), Some('r')) => i + 2,
        _ => return None,
    };
    let hashes = s[start..].iter().take_while(|&&h| h == '#').count();
    (s.get(start + hashes) == Some(&'"')).then_some((start + hashes + 1, hashes))
}

/// Identifiers, `::` and single punctuation characters.
pub fn tokens(code: &str) -> Vec<String> {
    let s: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < s.len() && (s[i].is_alphanumeric() || s[i] == '_') {
                i += 1;
            }
            out.push(s[start..i].iter().collect());
        } else if c == ':' && s.get(i + 1) == Some(&':') {
            out.push("::".to_owned());
            i += 2;
        } else {
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
            i += 1;
        }
    }
    out
}

/// Drops every item marked `#[cfg(test)]`: up to its `;`, or through its matching `}`.
/// Also returns the names of test-only child files (`#[cfg(test)] mod attacks;`).
pub fn without_test_items(tokens: Vec<String>) -> (Vec<String>, Vec<String>) {
    const MARK: [&str; 7] = ["#", "[", "cfg", "(", "test", ")", "]"];
    let mut out = Vec::with_capacity(tokens.len());
    let mut test_files = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens.len() - i < MARK.len() || tokens[i..i + MARK.len()] != MARK {
            out.push(tokens[i].clone());
            i += 1;
            continue;
        }
        i += MARK.len();
        let item = i;
        while i < tokens.len() && tokens[i] != ";" && tokens[i] != "{" {
            i += 1;
        }
        if tokens.get(i).map(String::as_str) == Some(";") {
            if let [.., m, name] = &tokens[item..i] {
                if m == "mod" {
                    test_files.push(name.clone());
                }
            }
            i += 1;
            continue;
        }
        let mut depth = 0;
        while i < tokens.len() {
            match tokens[i].as_str() {
                "{" => depth += 1,
                "}" => depth -= 1,
                _ => {}
            }
            i += 1;
            if depth == 0 {
                break;
            }
        }
    }
    (out, test_files)
}
