//! LogQL lexer: characters to tokens with byte positions, and the bracket
//! balance check that gives the first unbalanced bracket's position.

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Ident(String),
    /// A quoted string, unquoted; `None` when it holds an escape this checker
    /// does not decode (Loki then judges it).
    Str(Option<String>),
    /// A number, duration (`5m`, `1h30m`) or byte size (`10KB`).
    Num(String),
    Punct(&'static str),
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) pos: usize,
}

/// Punctuation, longest first.
pub(super) const PUNCT: &[&str] = &[
    "|=", "|~", "|>", "!=", "!~", "!>", "=~", "==", ">=", "<=", "{", "}", "(", ")", "[", "]", ",", "|", "=", ">", "<", "+", "-", "*", "/", "%", "^",
];

pub(super) fn tokenize(s: &str) -> Result<Vec<Token>, (usize, String)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'#' {
            // Comment to end of line.
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'"' || c == b'`' {
            let start = i;
            i += 1;
            loop {
                match b.get(i) {
                    None => return Err((start, "unterminated string".into())),
                    Some(b'\\') if c == b'"' => i += 2,
                    Some(&q) if q == c => break,
                    Some(_) => i += 1,
                }
            }
            i += 1;
            let body = &s[start + 1..i - 1];
            let text = if c == b'`' { Some(body.to_owned()) } else { unquote(body) };
            out.push(Token { tok: Tok::Str(text), pos: start });
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                i += 1;
            }
            out.push(Token { tok: Tok::Num(s[start..i].to_owned()), pos: start });
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
                i += 1;
            }
            out.push(Token { tok: Tok::Ident(s[start..i].to_owned()), pos: start });
        } else if c == b'$' {
            return Err((i, "unexpanded template variable (interpolate it before sending)".into()));
        } else if let Some(p) = PUNCT.iter().find(|p| s[i..].starts_with(**p)) {
            out.push(Token { tok: Tok::Punct(p), pos: i });
            i += p.len();
        } else {
            let ch = s[i..].chars().next().unwrap_or('?');
            return Err((i, format!("unexpected character {ch:?}")));
        }
    }
    check_brackets(&out)?;
    Ok(out)
}

/// The body of a `"…"` string as Go's `strconv.Unquote` reads it, for the
/// escapes queries use; `None` for anything else.
pub(super) fn unquote(body: &str) -> Option<String> {
    if !body.contains('\\') {
        return Some(body.to_owned());
    }
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '\\' => '\\',
            '"' => '"',
            '\'' => '\'',
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'a' => '\x07',
            'b' => '\x08',
            'f' => '\x0c',
            'v' => '\x0b',
            _ => return None,
        });
    }
    Some(out)
}

/// Balanced `{}`, `()`, `[]`: reported at the unmatched bracket.
pub(super) fn check_brackets(toks: &[Token]) -> Result<(), (usize, String)> {
    let mut stack: Vec<(&str, usize)> = Vec::new();
    for t in toks {
        if let Tok::Punct(p) = t.tok {
            match p {
                "{" | "(" | "[" => stack.push((p, t.pos)),
                "}" | ")" | "]" => {
                    let want = match p {
                        "}" => "{",
                        ")" => "(",
                        _ => "[",
                    };
                    match stack.pop() {
                        Some((open, _)) if open == want => {}
                        Some((open, pos)) => {
                            return Err((t.pos, format!("{p:?} does not close {open:?} opened at byte {pos}")));
                        }
                        None => return Err((t.pos, format!("unmatched {p:?}"))),
                    }
                }
                _ => {}
            }
        }
    }
    match stack.pop() {
        Some((open, pos)) => Err((pos, format!("{open:?} is never closed"))),
        None => Ok(()),
    }
}
