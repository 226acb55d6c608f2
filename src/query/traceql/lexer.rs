//! TraceQL lexer: characters to tokens, each with its 1-based line and column
//! (columns in characters, as Tempo reports them).

use super::*;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    LBrace,
    RBrace,
    LParen,
    RParen,
    Comma,
    Pipe,
    And,
    Or,
    Not,
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Re,
    NRe,
    Tilde,
    /// `>>`, `<<` and the `!`/`&` forms of every structural operator.
    Structural(&'static str),
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Caret,
    Str(String),
    Int,
    Float,
    Duration,
    Ident(String),
    Attr,
    Intrinsic,
    End,
}

impl Tok {
    pub(super) fn describe(&self) -> String {
        match self {
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Int | Tok::Float => "number".into(),
            Tok::Duration => "duration".into(),
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Attr => "attribute".into(),
            Tok::Intrinsic => "intrinsic".into(),
            Tok::End => "end of query".into(),
            other => format!("`{}`", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::Comma => ",",
            Tok::Pipe => "|",
            Tok::And => "&&",
            Tok::Or => "||",
            Tok::Not => "!",
            Tok::Eq => "=",
            Tok::Neq => "!=",
            Tok::Gt => ">",
            Tok::Gte => ">=",
            Tok::Lt => "<",
            Tok::Lte => "<=",
            Tok::Re => "=~",
            Tok::NRe => "!~",
            Tok::Tilde => "~",
            Tok::Structural(s) => s,
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Percent => "%",
            Tok::Caret => "^",
            _ => "?",
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) line: usize,
    pub(super) col: usize,
}

pub(super) fn err(line: usize, col: usize, message: impl Into<String>) -> TraceqlError {
    TraceqlError { line, col, message: message.into() }
}

pub(crate) fn is_attr_char(c: char) -> bool {
    !c.is_whitespace()
        && !matches!(c, '{' | '}' | '(' | ')' | '=' | '~' | '!' | '<' | '>' | '&' | '|' | '^' | ',' | '"' | '`' | '\'' | '+' | '*' | '%')
}

pub(super) struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    col: usize,
    _src: &'a str,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(src: &'a str) -> Self {
        Lexer { chars: src.chars().collect(), pos: 0, line: 1, col: 1, _src: src }
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    pub(super) fn tokens(mut self) -> Result<Vec<Token>, TraceqlError> {
        let mut out = Vec::new();
        loop {
            while self.peek(0).is_some_and(char::is_whitespace) {
                self.bump();
            }
            let (line, col) = (self.line, self.col);
            let Some(c) = self.peek(0) else {
                out.push(Token { tok: Tok::End, line, col });
                return Ok(out);
            };
            let tok = self.token(c, line, col)?;
            out.push(Token { tok, line, col });
        }
    }

    fn two(&mut self, tok: Tok) -> Tok {
        self.bump();
        self.bump();
        tok
    }

    fn one(&mut self, tok: Tok) -> Tok {
        self.bump();
        tok
    }

    fn token(&mut self, c: char, line: usize, col: usize) -> Result<Tok, TraceqlError> {
        let n1 = self.peek(1);
        let n2 = self.peek(2);
        Ok(match c {
            '{' => self.one(Tok::LBrace),
            '}' => self.one(Tok::RBrace),
            '(' => self.one(Tok::LParen),
            ')' => self.one(Tok::RParen),
            ',' => self.one(Tok::Comma),
            '+' => self.one(Tok::Plus),
            '-' => self.one(Tok::Minus),
            '*' => self.one(Tok::Star),
            '/' => self.one(Tok::Slash),
            '%' => self.one(Tok::Percent),
            '^' => self.one(Tok::Caret),
            '~' => self.one(Tok::Tilde),
            '|' if n1 == Some('|') => self.two(Tok::Or),
            '|' => self.one(Tok::Pipe),
            '&' if n1 == Some('&') => self.two(Tok::And),
            '&' => {
                let op = match (n1, n2) {
                    (Some('>'), Some('>')) => "&>>",
                    (Some('<'), Some('<')) => "&<<",
                    (Some('>'), _) => "&>",
                    (Some('<'), _) => "&<",
                    (Some('~'), _) => "&~",
                    _ => return Err(err(line, col, "unexpected `&` (use `&&`, or a union operator such as `&>>`)")),
                };
                for _ in 0..op.chars().count() {
                    self.bump();
                }
                Tok::Structural(op)
            }
            '!' => match (n1, n2) {
                (Some('='), _) => self.two(Tok::Neq),
                (Some('~'), _) => self.two(Tok::NRe),
                (Some('>'), Some('>')) => {
                    self.bump();
                    self.two(Tok::Structural("!>>"))
                }
                (Some('<'), Some('<')) => {
                    self.bump();
                    self.two(Tok::Structural("!<<"))
                }
                (Some('>'), _) => self.two(Tok::Structural("!>")),
                (Some('<'), _) => self.two(Tok::Structural("!<")),
                _ => self.one(Tok::Not),
            },
            '=' if n1 == Some('~') => self.two(Tok::Re),
            '=' => self.one(Tok::Eq),
            '>' if n1 == Some('>') => self.two(Tok::Structural(">>")),
            '>' if n1 == Some('=') => self.two(Tok::Gte),
            '>' => self.one(Tok::Gt),
            '<' if n1 == Some('<') => self.two(Tok::Structural("<<")),
            '<' if n1 == Some('=') => self.two(Tok::Lte),
            '<' => self.one(Tok::Lt),
            '"' => Tok::Str(self.string('"', line, col)?),
            '`' => Tok::Str(self.string('`', line, col)?),
            '.' if n1.is_some_and(|d| d.is_ascii_digit()) => self.number(line, col)?,
            '.' => {
                self.bump();
                self.attribute_name(line, col)?;
                Tok::Attr
            }
            d if d.is_ascii_digit() => self.number(line, col)?,
            a if a.is_alphabetic() || a == '_' => self.word(line, col)?,
            other => return Err(err(line, col, format!("unexpected character {other:?}"))),
        })
    }

    /// A quoted string; `quote` is `"` (escapes allowed) or `` ` `` (raw).
    fn string(&mut self, quote: char, line: usize, col: usize) -> Result<String, TraceqlError> {
        self.bump();
        let mut s = String::new();
        loop {
            match self.bump() {
                None => return Err(err(line, col, "unterminated string")),
                Some(c) if c == quote => return Ok(s),
                Some('\\') if quote == '"' => match self.bump() {
                    Some(e @ ('"' | '\\' | '/')) => s.push(e),
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some('r') => s.push('\r'),
                    Some(other) => {
                        // Tempo (Go's strconv.Unquote) rejects unknown escapes.
                        if !matches!(other, 'a' | 'b' | 'f' | 'v' | 'x' | 'u' | 'U' | '0'..='7') {
                            return Err(err(self.line, self.col - 1, format!("invalid escape sequence `\\{other}` in string")));
                        }
                        s.push('\\');
                        s.push(other);
                    }
                    None => return Err(err(line, col, "unterminated string")),
                },
                Some(c) => s.push(c),
            }
        }
    }

    /// An attribute name after its scope's dot: plain characters or a quoted name.
    fn attribute_name(&mut self, line: usize, col: usize) -> Result<(), TraceqlError> {
        if self.peek(0) == Some('"') {
            let (l, c) = (self.line, self.col);
            let name = self.string('"', l, c)?;
            if name.is_empty() {
                return Err(err(l, c, "empty attribute name"));
            }
            return Ok(());
        }
        let mut n = 0;
        while self.peek(0).is_some_and(is_attr_char) {
            self.bump();
            n += 1;
        }
        if n == 0 {
            return Err(err(line, col, "an attribute name must follow the scope's `.`"));
        }
        Ok(())
    }

    /// Integer, float or duration (`1`, `1.5`, `.5`, `150ms`, `1h30m`, `1.5s`).
    fn number(&mut self, line: usize, col: usize) -> Result<Tok, TraceqlError> {
        let mut float = false;
        let mut duration = false;
        loop {
            while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
            if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
                float = true;
                self.bump();
                while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                    self.bump();
                }
            }
            if matches!(self.peek(0), Some('e' | 'E')) && self.peek(1).is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '+') && !duration {
                float = true;
                self.bump();
                if matches!(self.peek(0), Some('-' | '+')) {
                    self.bump();
                }
                while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                    self.bump();
                }
            }
            let mut unit = String::new();
            while self.peek(0).is_some_and(|c| c.is_alphabetic()) {
                unit.push(self.bump().unwrap_or_default());
            }
            if unit.is_empty() {
                break;
            }
            if !DURATION_UNITS.contains(&unit.as_str()) {
                return Err(err(line, col, format!("invalid duration unit {unit:?} (use ns, us, ms, s, m or h)")));
            }
            duration = true;
            if !self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                break;
            }
        }
        if self.peek(0).is_some_and(|c| is_attr_char(c) && !matches!(c, '-' | '/' | ')' | '.' | ':')) {
            return Err(err(self.line, self.col, format!("unexpected {:?} after a number", self.peek(0).unwrap_or(' '))));
        }
        Ok(if duration {
            Tok::Duration
        } else if float {
            Tok::Float
        } else {
            Tok::Int
        })
    }

    /// A bare word, a scoped attribute (`span.x`, `parent.resource.x`) or a
    /// scoped intrinsic (`span:duration`).
    fn word(&mut self, line: usize, col: usize) -> Result<Tok, TraceqlError> {
        let mut w = String::new();
        while self.peek(0).is_some_and(|c| c.is_alphanumeric() || c == '_') {
            w.push(self.bump().unwrap_or_default());
        }
        match self.peek(0) {
            Some('.') if w == "parent" => {
                self.bump();
                let mut scope = String::new();
                while self.peek(0).is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    scope.push(self.bump().unwrap_or_default());
                }
                if self.peek(0) == Some('.') && ATTRIBUTE_SCOPES.contains(&scope.as_str()) {
                    self.bump();
                    self.attribute_name(line, col)?;
                } else if !scope.is_empty() && self.peek(0).is_none_or(|c| !is_attr_char(c)) {
                    // `parent.foo`: an unscoped attribute of the parent.
                } else {
                    self.attribute_name(line, col)?;
                }
                Ok(Tok::Attr)
            }
            Some('.') if ATTRIBUTE_SCOPES.contains(&w.as_str()) => {
                self.bump();
                self.attribute_name(line, col)?;
                Ok(Tok::Attr)
            }
            Some(':') if SCOPED_INTRINSICS.iter().any(|(s, _)| *s == w) => {
                self.bump();
                let mut name = String::new();
                while self.peek(0).is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    name.push(self.bump().unwrap_or_default());
                }
                let known = SCOPED_INTRINSICS.iter().find(|(s, _)| *s == w).map(|(_, n)| *n).unwrap_or(&[]);
                if !known.contains(&name.as_str()) {
                    return Err(err(
                        line,
                        col,
                        format!(
                            "unknown intrinsic `{w}:{name}` (known: {})",
                            known.iter().map(|n| format!("{w}:{n}")).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
                Ok(Tok::Intrinsic)
            }
            _ => Ok(Tok::Ident(w)),
        }
    }
}
