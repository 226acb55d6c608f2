//! TraceQL validation before fan-out, and the seed's search criteria compiled
//! to TraceQL.
//!
//! No Rust TraceQL parser exists, so this is a small hand-written lexer and
//! recursive-descent checker following Tempo's grammar (`pkg/traceql/expr.y`,
//! `lexer.go`). It does not evaluate anything; it only answers "would Tempo
//! parse this?" and, when not, names the position the way Tempo does
//! (`line 1, col 53`, 1-based, columns in characters). What it accepts:
//!
//! * spansets `{ … }` (empty = every span) with field expressions: comparisons
//!   `= != > >= < <= =~ !~`, `&&` `||` `!`, arithmetic `+ - * / % ^`, parentheses;
//! * attributes `.name`, `resource.name`, `span.name`, `event.name`, `link.name`,
//!   `instrumentation.name`, `parent.<scope>.name`, quoted names `span."a b"`;
//! * intrinsics (`duration`, `name`, `status`, `kind`, `span:duration`,
//!   `trace:rootService`, …) and the keyword values `error ok unset`, span kinds,
//!   `true false nil`;
//! * literals: strings `"…"` (with escapes) and `` `…` ``, integers, floats,
//!   durations (`1s`, `1.5ms`, `1h30m`);
//! * spanset operators `&& || > >> < << ~` and their `!`/`&` forms, `( … )`;
//! * pipelines: `| select(…)`, `| by(…)`, `| coalesce()`, `| count() > n`,
//!   `| avg|min|max|sum(field) op value`, `| { … }`, and TraceQL metrics
//!   functions (`rate()`, `count_over_time()`, `quantile_over_time(…)`, …) with
//!   `by (…)`, reported so search can reject them.

use std::collections::BTreeMap;

/// What the validator learned about a valid query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TraceqlInfo {
    /// The query ends in a TraceQL metrics function (not a search).
    pub metrics: bool,
}

/// A syntax error with its 1-based position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceqlError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl std::fmt::Display for TraceqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "parse error at line {}, col {}: {}", self.line, self.col, self.message)
    }
}

/// Largest query accepted (far beyond hand-written TraceQL).
pub const MAX_TRACEQL_BYTES: usize = 64 * 1024;

const INTRINSICS: &[&str] = &[
    "duration",
    "name",
    "status",
    "statusMessage",
    "kind",
    "rootName",
    "rootServiceName",
    "traceDuration",
    "childCount",
    "nestedSetLeft",
    "nestedSetRight",
    "nestedSetParent",
    "parent",
];
const SCOPED_INTRINSICS: &[(&str, &[&str])] = &[
    ("span", &["duration", "name", "kind", "status", "statusMessage", "id", "parentID", "childCount"]),
    ("trace", &["duration", "rootName", "rootService", "id"]),
    ("event", &["name", "timeSinceStart"]),
    ("link", &["traceID", "spanID"]),
    ("instrumentation", &["name", "version"]),
];
const KEYWORD_VALUES: &[&str] =
    &["error", "ok", "unset", "client", "server", "internal", "producer", "consumer", "unspecified", "true", "false", "nil"];
const ATTRIBUTE_SCOPES: &[&str] = &["resource", "span", "event", "link", "instrumentation"];
const METRICS_FUNCTIONS: &[&str] = &[
    "rate",
    "count_over_time",
    "min_over_time",
    "max_over_time",
    "avg_over_time",
    "sum_over_time",
    "quantile_over_time",
    "histogram_over_time",
    "compare",
];
const DURATION_UNITS: &[&str] = &["ns", "us", "µs", "ms", "s", "m", "h"];

#[derive(Debug, Clone, PartialEq)]
enum Tok {
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
    fn describe(&self) -> String {
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
struct Token {
    tok: Tok,
    line: usize,
    col: usize,
}

fn err(line: usize, col: usize, message: impl Into<String>) -> TraceqlError {
    TraceqlError { line, col, message: message.into() }
}

fn is_attr_char(c: char) -> bool {
    !c.is_whitespace()
        && !matches!(c, '{' | '}' | '(' | ')' | '=' | '~' | '!' | '<' | '>' | '&' | '|' | '^' | ',' | '"' | '`' | '\'' | '+' | '*' | '%')
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    col: usize,
    _src: &'a str,
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str) -> Self {
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

    fn tokens(mut self) -> Result<Vec<Token>, TraceqlError> {
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

/// What a field expression evaluates to, as far as the checker can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    /// A literal that is not boolean (string, number, duration, status, kind).
    Static,
    /// An attribute or intrinsic: any type.
    Any,
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    info: TraceqlInfo,
    /// Current nesting of parentheses and prefix operators.
    depth: usize,
}

/// Deeper nesting is rejected (no real query comes close; it keeps the
/// recursive descent far from the stack limit of a 2 MiB worker thread).
const MAX_NESTING: usize = 256;

type PResult<T> = Result<T, TraceqlError>;

impl Parser {
    fn cur(&self) -> &Token {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn tok(&self) -> &Tok {
        &self.cur().tok
    }

    fn advance(&mut self) -> Token {
        let t = self.cur().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            let t = self.cur();
            return Err(err(t.line, t.col, format!("nesting deeper than {MAX_NESTING} levels")));
        }
        Ok(())
    }

    fn unexpected(&self, expected: &str) -> TraceqlError {
        let t = self.cur();
        err(t.line, t.col, format!("unexpected {}; expected {expected}", t.tok.describe()))
    }

    fn expect(&mut self, want: Tok, expected: &str) -> PResult<()> {
        if *self.tok() == want {
            self.advance();
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn query(&mut self) -> PResult<()> {
        self.pipeline()?;
        if *self.tok() != Tok::End {
            return Err(self.unexpected("`|`, a spanset operator (`&&`, `||`, `>>`, `>`, `~`, …) or the end of the query"));
        }
        Ok(())
    }

    fn pipeline(&mut self) -> PResult<()> {
        self.spanset_expr()?;
        while *self.tok() == Tok::Pipe {
            if self.info.metrics {
                return Err(self.unexpected("the end of the query after a metrics function"));
            }
            self.advance();
            self.stage()?;
        }
        Ok(())
    }

    fn spanset_expr(&mut self) -> PResult<()> {
        self.spanset_operand()?;
        loop {
            match self.tok() {
                Tok::And | Tok::Or | Tok::Gt | Tok::Lt | Tok::Tilde | Tok::NRe | Tok::Structural(_) => {
                    self.advance();
                    self.spanset_operand()?;
                }
                _ => return Ok(()),
            }
        }
    }

    fn spanset_operand(&mut self) -> PResult<()> {
        match self.tok() {
            Tok::LBrace => self.spanset_filter(),
            Tok::LParen => {
                self.enter()?;
                self.advance();
                self.pipeline()?;
                self.depth -= 1;
                self.expect(Tok::RParen, "`)`")
            }
            _ => Err(self.unexpected("`{` to start a spanset filter")),
        }
    }

    fn spanset_filter(&mut self) -> PResult<()> {
        self.expect(Tok::LBrace, "`{`")?;
        if *self.tok() == Tok::RBrace {
            self.advance();
            return Ok(());
        }
        let start = self.cur().clone();
        let kind = self.field_expr()?;
        if kind == Kind::Static {
            return Err(err(start.line, start.col, "a spanset filter must be a condition (e.g. `.attr = \"value\"`), not a plain value"));
        }
        self.expect(Tok::RBrace, "`}` or an operator (`=`, `!=`, `>`, `&&`, `||`, …)")
    }

    fn field_expr(&mut self) -> PResult<Kind> {
        let mut kind = self.field_and()?;
        while *self.tok() == Tok::Or {
            self.advance();
            self.bool_operand(kind)?;
            let r = self.field_and()?;
            self.bool_operand(r)?;
            kind = Kind::Bool;
        }
        Ok(kind)
    }

    fn bool_operand(&self, k: Kind) -> PResult<()> {
        if k == Kind::Static {
            let t = &self.toks[self.pos.saturating_sub(1)];
            return Err(err(t.line, t.col, "`&&` and `||` join conditions, not plain values"));
        }
        Ok(())
    }

    fn field_and(&mut self) -> PResult<Kind> {
        let mut kind = self.comparison()?;
        while *self.tok() == Tok::And {
            self.advance();
            self.bool_operand(kind)?;
            let r = self.comparison()?;
            self.bool_operand(r)?;
            kind = Kind::Bool;
        }
        Ok(kind)
    }

    fn comparison(&mut self) -> PResult<Kind> {
        let left = self.arith()?;
        match self.tok().clone() {
            Tok::Eq | Tok::Neq | Tok::Gt | Tok::Gte | Tok::Lt | Tok::Lte => {
                self.advance();
                self.arith()?;
                Ok(Kind::Bool)
            }
            Tok::Re | Tok::NRe => {
                self.advance();
                let t = self.cur().clone();
                let Tok::Str(pattern) = &t.tok else {
                    return Err(self.unexpected("a string holding a regular expression"));
                };
                regex::Regex::new(pattern)
                    .map_err(|e| err(t.line, t.col, format!("invalid regular expression: {}", e.to_string().lines().last().unwrap_or(""))))?;
                self.advance();
                Ok(Kind::Bool)
            }
            _ => Ok(left),
        }
    }

    fn arith(&mut self) -> PResult<Kind> {
        let mut kind = self.unary()?;
        while matches!(self.tok(), Tok::Plus | Tok::Minus | Tok::Star | Tok::Slash | Tok::Percent | Tok::Caret) {
            self.advance();
            let r = self.unary()?;
            kind = if kind == Kind::Static && r == Kind::Static { Kind::Static } else { Kind::Any };
        }
        Ok(kind)
    }

    fn unary(&mut self) -> PResult<Kind> {
        match self.tok() {
            Tok::Not => {
                self.enter()?;
                self.advance();
                self.unary()?;
                self.depth -= 1;
                Ok(Kind::Bool)
            }
            Tok::Minus => {
                self.enter()?;
                self.advance();
                let k = self.unary()?;
                self.depth -= 1;
                Ok(k)
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> PResult<Kind> {
        let t = self.cur().clone();
        match &t.tok {
            Tok::LParen => {
                self.enter()?;
                self.advance();
                let k = self.field_expr()?;
                self.depth -= 1;
                self.expect(Tok::RParen, "`)`")?;
                Ok(k)
            }
            Tok::Str(_) | Tok::Int | Tok::Float | Tok::Duration => {
                self.advance();
                Ok(Kind::Static)
            }
            Tok::Attr | Tok::Intrinsic => {
                self.advance();
                Ok(Kind::Any)
            }
            Tok::Ident(w) if INTRINSICS.contains(&w.as_str()) => {
                self.advance();
                Ok(Kind::Any)
            }
            Tok::Ident(w) if w == "true" || w == "false" => {
                self.advance();
                Ok(Kind::Bool)
            }
            Tok::Ident(w) if KEYWORD_VALUES.contains(&w.as_str()) => {
                self.advance();
                Ok(Kind::Static)
            }
            Tok::Ident(w) => Err(err(
                t.line,
                t.col,
                format!("unknown identifier `{w}`; attributes need a scope (`.{w}`, `span.{w}` or `resource.{w}`) and strings need quotes"),
            )),
            _ => Err(self.unexpected("a value (string, number, duration, status or kind), an attribute or an intrinsic")),
        }
    }

    fn stage(&mut self) -> PResult<()> {
        let t = self.cur().clone();
        let word = match &t.tok {
            Tok::LBrace | Tok::LParen => return self.spanset_expr(),
            Tok::Ident(w) => w.clone(),
            _ => {
                return Err(
                    self.unexpected("a pipeline stage (select, by, coalesce, count, avg, min, max, sum, a `{ … }` filter or a metrics function)")
                );
            }
        };
        self.advance();
        match word.as_str() {
            "select" => {
                self.expect(Tok::LParen, "`(` after select")?;
                self.field_list()?;
                self.expect(Tok::RParen, "`)` or `,`")
            }
            "by" => {
                self.expect(Tok::LParen, "`(` after by")?;
                self.field_expr()?;
                self.expect(Tok::RParen, "`)`")
            }
            "coalesce" => {
                self.expect(Tok::LParen, "`(` after coalesce")?;
                self.expect(Tok::RParen, "`)`: coalesce takes no arguments")
            }
            "count" | "avg" | "min" | "max" | "sum" => {
                self.expect(Tok::LParen, &format!("`(` after {word}"))?;
                if word == "count" {
                    self.expect(Tok::RParen, "`)`: count takes no arguments")?;
                } else {
                    self.field_expr()?;
                    self.expect(Tok::RParen, "`)`")?;
                }
                match self.tok() {
                    Tok::Eq | Tok::Neq | Tok::Gt | Tok::Gte | Tok::Lt | Tok::Lte => {
                        self.advance();
                    }
                    _ => return Err(self.unexpected(&format!("a comparison after {word}() (e.g. `{word}() > 2`)"))),
                }
                self.scalar()
            }
            m if METRICS_FUNCTIONS.contains(&m) => {
                self.expect(Tok::LParen, &format!("`(` after {m}"))?;
                if *self.tok() != Tok::RParen {
                    self.metrics_args()?;
                }
                self.expect(Tok::RParen, "`)` or `,`")?;
                if matches!(self.tok(), Tok::Ident(w) if w == "by") {
                    self.advance();
                    self.expect(Tok::LParen, "`(` after by")?;
                    self.field_list()?;
                    self.expect(Tok::RParen, "`)` or `,`")?;
                }
                self.info.metrics = true;
                Ok(())
            }
            other => Err(err(t.line, t.col, format!("unknown pipeline stage `{other}`"))),
        }
    }

    fn field_list(&mut self) -> PResult<()> {
        loop {
            match self.tok() {
                Tok::Attr | Tok::Intrinsic => {
                    self.advance();
                }
                Tok::Ident(w) if INTRINSICS.contains(&w.as_str()) => {
                    self.advance();
                }
                _ => return Err(self.unexpected("an attribute or intrinsic")),
            }
            if *self.tok() != Tok::Comma {
                return Ok(());
            }
            self.advance();
        }
    }

    fn metrics_args(&mut self) -> PResult<()> {
        loop {
            self.arith()?;
            if *self.tok() != Tok::Comma {
                return Ok(());
            }
            self.advance();
        }
    }

    /// The right side of a scalar filter: numbers, durations and aggregates.
    fn scalar(&mut self) -> PResult<()> {
        loop {
            match self.tok().clone() {
                Tok::Minus => {
                    self.advance();
                    continue;
                }
                Tok::Int | Tok::Float | Tok::Duration => {
                    self.advance();
                }
                Tok::Ident(w) if matches!(w.as_str(), "count" | "avg" | "min" | "max" | "sum") => {
                    self.advance();
                    self.expect(Tok::LParen, "`(`")?;
                    if *self.tok() != Tok::RParen {
                        self.field_expr()?;
                    }
                    self.expect(Tok::RParen, "`)`")?;
                }
                _ => return Err(self.unexpected("a number or duration")),
            }
            if matches!(self.tok(), Tok::Plus | Tok::Minus | Tok::Star | Tok::Slash | Tok::Percent | Tok::Caret) {
                self.advance();
                continue;
            }
            return Ok(());
        }
    }
}

/// Check a TraceQL query. An empty query is not valid here (callers decide
/// what empty means, e.g. `{}` for search).
pub fn validate(q: &str) -> Result<TraceqlInfo, TraceqlError> {
    if q.len() > MAX_TRACEQL_BYTES {
        return Err(err(1, 1, format!("query is {} bytes; the limit is {MAX_TRACEQL_BYTES}", q.len())));
    }
    let toks = Lexer::new(q).tokens()?;
    if toks.len() == 1 {
        return Err(err(1, 1, "empty query"));
    }
    let mut p = Parser { toks, pos: 0, info: TraceqlInfo::default(), depth: 0 };
    p.query()?;
    Ok(p.info)
}

/// The seed's structured search criteria.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Criteria {
    pub service: Option<String>,
    pub operation: Option<String>,
    pub min_duration_ms: Option<f64>,
    pub max_duration_ms: Option<f64>,
    pub tags: BTreeMap<String, String>,
}

impl Criteria {
    pub fn is_empty(&self) -> bool {
        self.service.is_none() && self.operation.is_none() && self.min_duration_ms.is_none() && self.max_duration_ms.is_none() && self.tags.is_empty()
    }
}

/// Quote a string as a TraceQL string literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A millisecond count as a TraceQL duration literal (`1500ms`, `250us`).
pub fn duration_literal(ms: f64) -> String {
    if ms.fract() == 0.0 { format!("{}ms", ms as i64) } else { format!("{}us", (ms * 1000.0).round() as i64) }
}

/// A tag key as a TraceQL attribute: scoped keys stay, the rest get `.` (any scope).
fn attribute(key: &str) -> String {
    let scoped = ["resource.", "span.", "event.", "link.", "instrumentation.", "."].iter().any(|p| key.starts_with(p));
    let name = if scoped { key.to_owned() } else { format!(".{key}") };
    // Names with characters TraceQL cannot take bare are quoted after the scope.
    if name.chars().skip(1).all(is_attr_char) {
        return name;
    }
    let (scope, bare) = match name.find('.') {
        Some(i) if i > 0 && ATTRIBUTE_SCOPES.contains(&&name[..i]) => (&name[..=i], &name[i + 1..]),
        _ => (".", &name[1..]),
    };
    format!("{scope}{}", quote(bare))
}

/// A tag value: numbers and booleans bare (matching typed attributes), else a string.
fn tag_value(v: &str) -> String {
    let t = v.trim();
    if t == "true" || t == "false" || (t.parse::<f64>().is_ok_and(f64::is_finite) && !t.starts_with('+') && !t.starts_with('.')) {
        t.to_owned()
    } else {
        quote(v)
    }
}

/// Compile criteria to one spanset filter; empty criteria → `{}`.
pub fn compile(c: &Criteria) -> String {
    let mut conds = Vec::new();
    if let Some(s) = &c.service {
        conds.push(format!("resource.service.name = {}", quote(s)));
    }
    if let Some(o) = &c.operation {
        conds.push(format!("name = {}", quote(o)));
    }
    if let Some(d) = c.min_duration_ms {
        conds.push(format!("duration >= {}", duration_literal(d)));
    }
    if let Some(d) = c.max_duration_ms {
        conds.push(format!("duration <= {}", duration_literal(d)));
    }
    for (k, v) in &c.tags {
        conds.push(format!("{} = {}", attribute(k), tag_value(v)));
    }
    if conds.is_empty() { "{}".to_owned() } else { format!("{{ {} }}", conds.join(" && ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(q: &str) -> TraceqlInfo {
        validate(q).unwrap_or_else(|e| panic!("{q:?} should be valid: {e}"))
    }

    fn bad(q: &str) -> TraceqlError {
        match validate(q) {
            Ok(_) => panic!("{q:?} should be rejected"),
            Err(e) => e,
        }
    }

    #[test]
    fn accepts_the_recorded_queries() {
        // Every query in tempo-real/*.request.txt that Tempo answered 200.
        ok(r#"{ resource.service.name = "llm-gateway" && kind = server && duration > 2s }"#);
        ok(r#"{ status = error }"#);
        ok(
            r#"{ resource.service.name = "model-server" && name = "decode" } | select(span.gen_ai.usage.output_tokens, span.vllm.decode.tokens_per_second, resource.k8s.pod.name)"#,
        );
        ok(r#"{ resource.service.name = "llm-gateway" } >> { resource.service.name = "model-server" && status = error }"#);
        assert!(ok(r#"{ status = error } | count_over_time() by (resource.service.name)"#).metrics);
        assert!(ok(r#"{ name = "decode" } | histogram_over_time(duration)"#).metrics);
        assert!(ok(r#"{ resource.service.name = "model-server" && kind = server } | quantile_over_time(duration, .5, .9, .99)"#).metrics);
        assert!(ok(r#"{ } | rate() by (resource.service.name)"#).metrics);
    }

    #[test]
    fn accepts_the_grammar() {
        for q in [
            "{}",
            "{ .http.status_code >= 500 }",
            r#"{ .foo = "bar" || span.x != 3 } && { resource.k8s.pod.name =~ "vllm-.*" }"#,
            "{ duration > 1.5s && duration < 1h30m } > { kind = client }",
            "{ span:duration > 100ms && trace:rootService = \"x\" && span:status = error }",
            "{ .a } ~ { .b } !>> { .c } &>> { .d } << { .e } !~ { .f }",
            "({ .a = 1 } | count() > 2) && { .b = true }",
            "{ .a = 1 } | avg(duration) > 20ms | by(resource.service.name) | coalesce()",
            "{ .n * 2 + 1 > -3 && !(.flag = false) }",
            "{ span.\"attr with space\" = `raw \\ string` }",
            "{ parent.resource.service.name = \"x\" && event.exception.type = \"E\" && link.kind = \"b\" }",
            "{ instrumentation:name = \"otel\" && event:name = \"exception\" && nestedSetParent = -1 }",
            "{ .x = nil } | { .y != nil }",
            "{ statusMessage =~ \"(?i)cuda\" }",
            "{ .ratio > 1.5e3 }",
        ] {
            ok(q);
        }
    }

    #[test]
    fn rejects_garbage_naming_the_position() {
        // Same column as the real Tempo error in error_traceql_parse_400.txt.
        let e = bad(r#"{ resource.service.name = "llm-gateway" && status = }"#);
        assert_eq!((e.line, e.col), (1, 53), "{e}");
        assert!(e.message.contains("unexpected `}`"), "{e}");
        for (q, line, col, needle) in [
            ("{ .a = 1 ", 1, 10, "end of query"),
            ("{ .a = \"x }", 1, 8, "unterminated string"),
            ("{ .a = 5xs }", 1, 8, "duration unit"),
            ("{ foo = 1 }", 1, 3, "unknown identifier `foo`"),
            ("{ .a = 1 } | count()", 1, 21, "comparison"),
            ("{ .a = 1 } | bogus()", 1, 14, "unknown pipeline stage"),
            ("{ .a =~ \"(\" }", 1, 9, "regular expression"),
            ("{ \"x\" }", 1, 3, "condition"),
            (".a = 1", 1, 1, "`{`"),
            ("{ .a = 1 } {", 1, 12, "spanset operator"),
            ("{ .a = 1 }\n  && { span:bogus = 1 }", 2, 8, "unknown intrinsic"),
            ("{ . = 1 }", 1, 3, "attribute name"),
            ("{ .a & .b }", 1, 6, "`&&`"),
            ("{ .a = 1 } | rate() | count() > 1", 1, 21, "after a metrics function"),
            ("   ", 1, 1, "empty"),
        ] {
            let e = bad(q);
            assert_eq!((e.line, e.col), (line, col), "{q:?}: {e}");
            assert!(e.to_string().contains(needle), "{q:?}: {e}");
        }
    }

    #[test]
    fn deep_nesting_is_rejected_not_overflowing() {
        let q = format!("{}{{ status = error }}{}", "(".repeat(30_000), ")".repeat(30_000));
        assert!(bad(&q).message.contains("nesting deeper than"));
        let q = format!("{{ {}.a }}", "!".repeat(30_000));
        assert!(bad(&q).message.contains("nesting deeper than"));
        let q = format!("{}{{ status = error }}{}", "(".repeat(100), ")".repeat(100));
        ok(&q);
        // Through the query model too, as a Grafana query would arrive.
        let json = serde_json::json!({"queryType": "traces", "query": format!("{}{{ status = error }}{}", "(".repeat(30_000), ")".repeat(30_000))})
            .to_string();
        let env = crate::query::QueryEnvelope {
            ref_id: "A".into(),
            time_range: crate::query::TimeRange::new(0, 1).unwrap(),
            interval_ms: 0,
            max_data_points: 0,
        };
        let e = crate::query::parse("", json.as_bytes(), env).unwrap_err();
        assert_eq!(crate::error::FleetError::from(e).code, crate::error::ErrorCode::InvalidTraceql);
    }

    #[test]
    fn criteria_compile_to_valid_traceql() {
        let mut c = Criteria {
            service: Some("order-\"service\"".into()),
            operation: Some("POST /orders".into()),
            min_duration_ms: Some(1000.0),
            max_duration_ms: Some(2.5),
            tags: BTreeMap::new(),
        };
        c.tags.insert("http.status_code".into(), "500".into());
        c.tags.insert("resource.k8s.pod.name".into(), "p-1".into());
        c.tags.insert("weird key".into(), "true".into());
        let q = compile(&c);
        assert_eq!(
            q,
            r#"{ resource.service.name = "order-\"service\"" && name = "POST /orders" && duration >= 1000ms && duration <= 2500us && .http.status_code = 500 && resource.k8s.pod.name = "p-1" && ."weird key" = true }"#
        );
        ok(&q);
        assert_eq!(compile(&Criteria::default()), "{}");
    }
}
