//! A LogQL validator: rejects malformed queries before any cluster sees them.
//!
//! No LogQL parser exists as a Rust crate, so this is a small recursive-descent
//! checker over Loki's grammar (pkg/logql/syntax/expr.y). It does not build an
//! AST — Loki parses again — it only answers "would Loki reject this?" for the
//! mistakes people make (unbalanced brackets, unterminated strings, a missing
//! stream selector, an operator without a value, an unknown function, a range
//! without a duration) with a message naming the line and column, and tells log
//! queries from metric queries.
//!
//! It errs on the side of accepting: a construct it does not know inside a
//! pipeline stage is left to Loki, whose error then comes back per cluster.
//!
//! Regular expressions (`=~`/`!~` label matchers and label filters, `|~`/`!~`
//! line filters, the `regexp` stage) are compiled with the `regex` crate, whose
//! syntax is RE2's (Loki's) for everything a query uses; label matchers are
//! anchored the way Loki anchors them. Nesting (aggregations, parentheses) is
//! limited to [`MAX_NESTING`] levels so the recursive descent cannot overflow
//! the stack.

use super::metrics::parse_duration_ms;

/// What a valid query is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogqlKind {
    /// A stream selector with an optional pipeline: returns log lines.
    Log,
    /// A range/vector aggregation: returns samples.
    Metric,
}

/// Range aggregations: `f( <log range> )`, `quantile_over_time(φ, <log range>)`.
const RANGE_FUNCS: &[&str] = &[
    "rate",
    "rate_counter",
    "count_over_time",
    "bytes_rate",
    "bytes_over_time",
    "sum_over_time",
    "avg_over_time",
    "max_over_time",
    "min_over_time",
    "first_over_time",
    "last_over_time",
    "stdvar_over_time",
    "stddev_over_time",
    "quantile_over_time",
    "absent_over_time",
];
/// Vector aggregations: `agg [by|without (…)] ( [param,] <metric> ) [by|without (…)]`.
const VECTOR_AGGS: &[&str] = &["sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk", "sort", "sort_desc", "approx_topk"];
const PARAM_AGGS: &[&str] = &["topk", "bottomk", "approx_topk"];
const BINARY_WORDS: &[&str] = &["and", "or", "unless"];

/// Deeper nesting of aggregations, parentheses and label-filter groups is
/// rejected: no real query comes close, and it keeps the recursive descent far
/// from the end of a 2 MiB worker-thread stack (the 64 KiB expression limit
/// alone allows ~12 000 levels of `sum(`).
pub const MAX_NESTING: usize = 256;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// A quoted string, unquoted; `None` when it holds an escape this checker
    /// does not decode (Loki then judges it).
    Str(Option<String>),
    /// A number, duration (`5m`, `1h30m`) or byte size (`10KB`).
    Num(String),
    Punct(&'static str),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: usize,
}

/// Punctuation, longest first.
const PUNCT: &[&str] = &[
    "|=", "|~", "|>", "!=", "!~", "!>", "=~", "==", ">=", "<=", "{", "}", "(", ")", "[", "]", ",", "|", "=", ">", "<", "+", "-", "*", "/", "%", "^",
];

/// Validate `expr`; the error names the position (`line L, col C`).
pub fn validate(expr: &str) -> Result<LogqlKind, String> {
    let toks = tokenize(expr).map_err(|(pos, m)| at(expr, pos, &m))?;
    let mut p = Parser { toks, i: 0, len: expr.len(), depth: 0 };
    let kind = p.top().map_err(|(pos, m)| at(expr, pos, &m))?;
    Ok(kind)
}

fn at(expr: &str, pos: usize, message: &str) -> String {
    let pos = pos.min(expr.len());
    let before = &expr[..expr.floor_char_boundary_compat(pos)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    format!("parse error at line {line}, col {col}: {message}")
}

trait FloorBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}

impl FloorBoundary for str {
    fn floor_char_boundary_compat(&self, mut i: usize) -> usize {
        while i > 0 && !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

fn tokenize(s: &str) -> Result<Vec<Token>, (usize, String)> {
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
fn unquote(body: &str) -> Option<String> {
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

/// Where a regular expression appears: label matchers are anchored by Loki.
#[derive(Clone, Copy)]
enum RegexUse {
    LabelMatcher,
    LineFilter,
    Stage,
}

/// Compile a regular expression the way Loki will use it; the error is the
/// regex crate's own (its last line names the problem).
fn check_regex(re: &str, usage: RegexUse) -> Result<(), String> {
    if re.contains("\\Q") {
        // RE2's \Q…\E literal quoting has no counterpart in the regex crate: left to Loki.
        return Ok(());
    }
    let pattern = match usage {
        RegexUse::LabelMatcher => format!("^(?:{re})$"),
        RegexUse::LineFilter | RegexUse::Stage => re.to_owned(),
    };
    let compiled = regex::Regex::new(&pattern).map_err(|e| {
        let why = e.to_string();
        let why = why.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().trim_start_matches("error: ").to_owned();
        format!("invalid regular expression {}: {why}", shown(re))
    })?;
    if matches!(usage, RegexUse::Stage) && compiled.capture_names().flatten().next().is_none() {
        return Err(format!("the regexp stage needs at least one named capture group such as (?P<name>…) in {}", shown(re)));
    }
    Ok(())
}

/// A regex for an error message: quoted, cut short when long.
fn shown(re: &str) -> String {
    match re.char_indices().nth(64) {
        Some((i, _)) => format!("{:?}…", &re[..i]),
        None => format!("{re:?}"),
    }
}

/// Balanced `{}`, `()`, `[]`: reported at the unmatched bracket.
fn check_brackets(toks: &[Token]) -> Result<(), (usize, String)> {
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

type PResult<T> = Result<T, (usize, String)>;

struct Parser {
    toks: Vec<Token>,
    i: usize,
    len: usize,
    /// Current nesting of aggregations, parentheses and label-filter groups.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.tok)
    }

    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.i + n).map(|t| &t.tok)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.i).map(|t| t.pos).unwrap_or(self.len)
    }

    fn describe(&self) -> String {
        match self.peek() {
            None => "end of query".into(),
            Some(Tok::Ident(s)) | Some(Tok::Num(s)) => format!("{s:?}"),
            Some(Tok::Str(_)) => "a string".into(),
            Some(Tok::Punct(p)) => format!("{p:?}"),
        }
    }

    fn err<T>(&self, expected: &str) -> PResult<T> {
        Err((self.pos(), format!("expected {expected}, found {}", self.describe())))
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok::Punct(q)) if *q == p)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(w))
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        let yes = self.is_punct(p);
        if yes {
            self.i += 1;
        }
        yes
    }

    fn expect_punct(&mut self, p: &str) -> PResult<()> {
        if self.eat_punct(p) { Ok(()) } else { self.err(&format!("{p:?}")) }
    }

    fn ident(&mut self) -> PResult<String> {
        match self.peek() {
            Some(Tok::Ident(s)) => {
                let s = s.clone();
                self.i += 1;
                Ok(s)
            }
            _ => self.err("a label name"),
        }
    }

    fn string(&mut self) -> PResult<()> {
        match self.peek() {
            Some(Tok::Str(_)) => {
                self.i += 1;
                Ok(())
            }
            _ => self.err("a quoted string"),
        }
    }

    /// A quoted string that is a regular expression when `regex` is set.
    fn pattern(&mut self, regex: Option<RegexUse>) -> PResult<()> {
        if let (Some(usage), Some(Tok::Str(Some(re)))) = (regex, self.peek()) {
            check_regex(re, usage).map_err(|m| (self.pos(), m))?;
        }
        self.string()
    }

    /// Run `f` one nesting level deeper; past [`MAX_NESTING`] the query is rejected.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.depth >= MAX_NESTING {
            return Err((
                self.pos(),
                format!("nesting deeper than {MAX_NESTING} levels (aggregations, parentheses); the nesting limit is {MAX_NESTING}"),
            ));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn top(&mut self) -> PResult<LogqlKind> {
        if self.toks.is_empty() {
            return self.err("a stream selector such as {app=\"api\"}");
        }
        let kind = if self.is_punct("{") {
            self.log_query()?;
            LogqlKind::Log
        } else {
            self.metric_expr()?;
            LogqlKind::Metric
        };
        if self.peek().is_some() {
            return Err((self.pos(), format!("unexpected {} after a complete query", self.describe())));
        }
        Ok(kind)
    }

    /// `{matchers} pipeline`
    fn log_query(&mut self) -> PResult<()> {
        self.selector()?;
        self.pipeline()
    }

    fn selector(&mut self) -> PResult<()> {
        let open = self.pos();
        self.expect_punct("{")?;
        if self.is_punct("}") {
            return Err((open, "a stream selector needs at least one matcher, e.g. {app=\"api\"}".into()));
        }
        loop {
            self.ident()?;
            let regex = match self.peek() {
                Some(Tok::Punct("=" | "!=")) => None,
                Some(Tok::Punct("=~" | "!~")) => Some(RegexUse::LabelMatcher),
                _ => return self.err("a label matcher operator (=, !=, =~, !~)"),
            };
            self.i += 1;
            self.pattern(regex)?;
            if self.eat_punct(",") {
                continue;
            }
            return self.expect_punct("}");
        }
    }

    fn at_stage_start(&self) -> bool {
        matches!(self.peek(), Some(Tok::Punct("|" | "|=" | "!=" | "|~" | "!~" | "|>" | "!>")))
    }

    fn pipeline(&mut self) -> PResult<()> {
        while self.at_stage_start() {
            let Some(Tok::Punct(op)) = self.peek().cloned() else { unreachable!() };
            self.i += 1;
            match op {
                "|" => self.pipe_stage()?,
                "|~" | "!~" => self.line_filter(Some(RegexUse::LineFilter))?,
                _ => self.line_filter(None)?,
            }
        }
        Ok(())
    }

    /// `|= "x"`, `!~ "re"`, `|= ip("10.0.0.0/8")`, `|= "a" or "b"`.
    fn line_filter(&mut self, regex: Option<RegexUse>) -> PResult<()> {
        loop {
            match self.peek() {
                Some(Tok::Str(_)) => self.pattern(regex)?,
                Some(Tok::Ident(f)) if f == "ip" => {
                    self.i += 1;
                    self.expect_punct("(")?;
                    self.string()?;
                    self.expect_punct(")")?;
                }
                _ => return self.err("a quoted string after the line filter"),
            }
            if !self.is_word("or") {
                return Ok(());
            }
            self.i += 1;
        }
    }

    /// A stage after `|`: a parser, formatter, `unwrap`, `drop`/`keep`, or a label filter.
    fn pipe_stage(&mut self) -> PResult<()> {
        let name = match self.peek() {
            Some(Tok::Ident(s)) => s.clone(),
            Some(Tok::Punct("(")) => return self.label_filter(),
            _ => return self.err("a pipeline stage (json, logfmt, regexp, pattern, line_format, label_format, unwrap, a label filter, …)"),
        };
        let followed_by_op = matches!(self.peek_at(1), Some(Tok::Punct("=" | "!=" | "=~" | "!~" | "==" | ">" | ">=" | "<" | "<=")));
        match name.as_str() {
            "json" | "logfmt" | "unpack" | "decolorize" if !followed_by_op => {
                self.i += 1;
                // Flags (`--strict`) and extraction params (`a="b.c", d`).
                while self.eat_punct("-") {
                    self.eat_punct("-");
                    self.ident()?;
                }
                if matches!(self.peek(), Some(Tok::Ident(_))) && !self.stage_ends_after_ident() {
                    self.label_list(true)?;
                }
                Ok(())
            }
            "regexp" if !followed_by_op => {
                self.i += 1;
                self.pattern(Some(RegexUse::Stage))
            }
            "pattern" | "line_format" if !followed_by_op => {
                self.i += 1;
                self.string()
            }
            "label_format" if !followed_by_op => {
                self.i += 1;
                loop {
                    self.ident()?;
                    self.expect_punct("=")?;
                    match self.peek() {
                        Some(Tok::Str(_)) | Some(Tok::Ident(_)) => self.i += 1,
                        _ => return self.err("a template string or label name"),
                    }
                    if !self.eat_punct(",") {
                        return Ok(());
                    }
                }
            }
            "drop" | "keep" if !followed_by_op => {
                self.i += 1;
                self.label_list(true)
            }
            "unwrap" if !followed_by_op => {
                self.i += 1;
                let f = self.ident()?;
                if self.eat_punct("(") {
                    if !matches!(f.as_str(), "bytes" | "duration" | "duration_seconds") {
                        return Err((self.pos(), format!("unknown unwrap conversion {f:?} (bytes, duration, duration_seconds)")));
                    }
                    self.ident()?;
                    self.expect_punct(")")?;
                }
                Ok(())
            }
            _ => self.label_filter(),
        }
    }

    /// True when the identifier at the cursor is the last thing of this stage.
    fn stage_ends_after_ident(&self) -> bool {
        !matches!(self.peek_at(1), Some(Tok::Punct("," | "="))) && matches!(self.peek(), Some(Tok::Ident(s)) if s == "and" || s == "or")
    }

    /// `a, b="c", d` (parser params, drop/keep lists).
    fn label_list(&mut self, allow_values: bool) -> PResult<()> {
        loop {
            self.ident()?;
            if allow_values && matches!(self.peek(), Some(Tok::Punct("=" | "!=" | "=~" | "!~"))) {
                let regex = matches!(self.peek(), Some(Tok::Punct("=~" | "!~"))).then_some(RegexUse::LabelMatcher);
                self.i += 1;
                self.pattern(regex)?;
            }
            if !self.eat_punct(",") {
                return Ok(());
            }
        }
    }

    /// `status >= 500 and (level="error" or duration > 1s)`.
    fn label_filter(&mut self) -> PResult<()> {
        loop {
            if self.eat_punct("(") {
                self.nested(Self::label_filter)?;
                self.expect_punct(")")?;
            } else {
                self.ident()?;
                let op = match self.peek() {
                    Some(Tok::Punct(p @ ("=" | "!=" | "=~" | "!~" | "==" | ">" | ">=" | "<" | "<="))) => *p,
                    _ => {
                        return self.err("a comparison operator (=, !=, =~, !~, ==, >, >=, <, <=)");
                    }
                };
                self.i += 1;
                match self.peek() {
                    Some(Tok::Str(_)) if matches!(op, "=~" | "!~") => self.pattern(Some(RegexUse::LabelMatcher))?,
                    Some(Tok::Str(_)) | Some(Tok::Num(_)) => self.i += 1,
                    Some(Tok::Punct("-")) if matches!(self.peek_at(1), Some(Tok::Num(_))) => self.i += 2,
                    Some(Tok::Ident(f)) if f == "ip" => {
                        self.i += 1;
                        self.expect_punct("(")?;
                        self.string()?;
                        self.expect_punct(")")?;
                    }
                    _ => return self.err(&format!("a value after {op:?}")),
                }
            }
            if self.is_word("and") || self.is_word("or") || self.is_punct(",") {
                self.i += 1;
                continue;
            }
            return Ok(());
        }
    }

    /// `metric (binop metric)*` with PromQL-style binary operators.
    fn metric_expr(&mut self) -> PResult<()> {
        self.metric_unary()?;
        loop {
            let is_op = matches!(self.peek(), Some(Tok::Punct("+" | "-" | "*" | "/" | "%" | "^" | "==" | "!=" | ">" | ">=" | "<" | "<=")))
                || BINARY_WORDS.iter().any(|w| self.is_word(w));
            if !is_op {
                return Ok(());
            }
            self.i += 1;
            if self.is_word("bool") {
                self.i += 1;
            }
            if self.is_word("on") || self.is_word("ignoring") {
                self.i += 1;
                self.grouping_labels()?;
                if self.is_word("group_left") || self.is_word("group_right") {
                    self.i += 1;
                    if self.is_punct("(") {
                        self.grouping_labels()?;
                    }
                }
            }
            self.metric_unary()?;
        }
    }

    /// One operand; every recursion of the metric grammar passes through here,
    /// so this is where nesting is counted.
    fn metric_unary(&mut self) -> PResult<()> {
        while self.eat_punct("-") || self.eat_punct("+") {}
        self.nested(Self::metric_operand)
    }

    fn metric_operand(&mut self) -> PResult<()> {
        match self.peek().cloned() {
            Some(Tok::Num(n)) => {
                if n.parse::<f64>().is_err() {
                    return Err((self.pos(), format!("{n:?} is not a number")));
                }
                self.i += 1;
                Ok(())
            }
            Some(Tok::Punct("(")) => {
                self.i += 1;
                self.metric_expr()?;
                self.expect_punct(")")
            }
            Some(Tok::Punct("{")) => Err((
                self.pos(),
                "a log query cannot be used as a number here; wrap it in a range aggregation such as count_over_time({…}[5m])".into(),
            )),
            Some(Tok::Ident(f)) => {
                let start = self.pos();
                self.i += 1;
                if RANGE_FUNCS.contains(&f.as_str()) {
                    self.range_aggregation(&f)
                } else if VECTOR_AGGS.contains(&f.as_str()) {
                    self.vector_aggregation(&f)
                } else if f == "label_replace" {
                    self.expect_punct("(")?;
                    self.metric_expr()?;
                    for _ in 0..4 {
                        self.expect_punct(",")?;
                        self.string()?;
                    }
                    self.expect_punct(")")
                } else if f == "vector" {
                    self.expect_punct("(")?;
                    self.metric_unary()?;
                    self.expect_punct(")")
                } else {
                    Err((
                        start,
                        format!("unknown function or keyword {f:?}; a query starts with a stream selector {{…}} or a function such as rate(…)"),
                    ))
                }
            }
            _ => self.err("a stream selector {…}, a function such as rate(…) or a number"),
        }
    }

    /// `rate( {…} | … [5m] )`, `quantile_over_time(0.9, {…} | unwrap x [5m]) by (a)`.
    fn range_aggregation(&mut self, f: &str) -> PResult<()> {
        self.expect_punct("(")?;
        if f == "quantile_over_time" {
            match self.peek() {
                Some(Tok::Num(_)) => self.i += 1,
                _ => {
                    return self.err("the quantile (e.g. 0.95) as the first argument of quantile_over_time");
                }
            }
            self.expect_punct(",")?;
        }
        self.log_range()?;
        self.expect_punct(")")?;
        if self.is_word("by") || self.is_word("without") {
            self.i += 1;
            self.grouping_labels()?;
        }
        Ok(())
    }

    /// `{…} pipeline [dur] [offset dur]` (the range may also precede the pipeline), possibly parenthesised.
    fn log_range(&mut self) -> PResult<()> {
        if self.eat_punct("(") {
            self.nested(Self::log_range)?;
            return self.expect_punct(")");
        }
        if !self.is_punct("{") {
            return self.err("a log stream selector {…} inside the range aggregation");
        }
        self.log_query()?;
        if !self.is_punct("[") {
            return self.err("a range such as [5m] after the log query");
        }
        self.range()?;
        if self.is_word("offset") {
            self.i += 1;
            self.duration()?;
        }
        // `{…}[5m] | json` is accepted by Loki too.
        self.pipeline()
    }

    fn range(&mut self) -> PResult<()> {
        self.expect_punct("[")?;
        self.duration()?;
        self.expect_punct("]")
    }

    fn duration(&mut self) -> PResult<()> {
        match self.peek() {
            Some(Tok::Num(d)) if parse_duration_ms(d).is_some_and(|ms| ms > 0) => {
                self.i += 1;
                Ok(())
            }
            Some(Tok::Num(d)) => Err((self.pos(), format!("{d:?} is not a duration like 30s, 5m or 1h"))),
            _ => self.err("a duration like 5m"),
        }
    }

    fn vector_aggregation(&mut self, f: &str) -> PResult<()> {
        let mut grouped = false;
        if self.is_word("by") || self.is_word("without") {
            self.i += 1;
            self.grouping_labels()?;
            grouped = true;
        }
        self.expect_punct("(")?;
        if PARAM_AGGS.contains(&f) {
            match self.peek() {
                Some(Tok::Num(_)) => self.i += 1,
                _ => return self.err(&format!("a number as the first argument of {f}")),
            }
            self.expect_punct(",")?;
        }
        self.metric_expr()?;
        self.expect_punct(")")?;
        if !grouped && (self.is_word("by") || self.is_word("without")) {
            self.i += 1;
            self.grouping_labels()?;
        }
        Ok(())
    }

    /// `(a, b)`; may be empty.
    fn grouping_labels(&mut self) -> PResult<()> {
        self.expect_punct("(")?;
        if self.eat_punct(")") {
            return Ok(());
        }
        self.label_list(false)?;
        self.expect_punct(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_queries() {
        for (q, kind) in [
            (r#"{app="llm-gateway"}"#, LogqlKind::Log),
            (r#"{cluster="prod-east-1", app="llm-gateway"}"#, LogqlKind::Log),
            (r#"{app="model-server"} | logfmt | level="warn""#, LogqlKind::Log),
            (r#"{namespace="gpu-operator"} |~ "level=(warn|error)""#, LogqlKind::Log),
            (r#"{app="llm-gateway"} | json | status >= 500"#, LogqlKind::Log),
            (r#"{app=~"llm-.*", env!="dev"} |= "error" != "timeout" | json | line_format "{{.msg}}""#, LogqlKind::Log),
            (r#"{app="a"} | json team="labels.team", model | keep team, model | drop __error__"#, LogqlKind::Log),
            (r#"{app="a"} | logfmt --strict | duration > 1.5s and (level="error" or status=~"5..")"#, LogqlKind::Log),
            (r#"{app="a"} | label_format lvl=level, msg="{{.msg}}" | regexp `(?P<ip>\S+)` | decolorize"#, LogqlKind::Log),
            (r#"sum by (app) (rate({cluster="prod-east-1"}[5m]))"#, LogqlKind::Metric),
            (r#"sum by (detected_level) (count_over_time({app="llm-gateway"}[5m]))"#, LogqlKind::Metric),
            (r#"quantile_over_time(0.95, {app="llm-gateway"} | json | status = 200 | unwrap latency_ms [10m]) by (model)"#, LogqlKind::Metric),
            (r#"sum by(model)(rate({app="model-server"}|logfmt|level="error"[5m]))"#, LogqlKind::Metric),
            (r#"topk(5, sum by (app) (bytes_rate({env="prod"}[1m] offset 1h))) / 2"#, LogqlKind::Metric),
            (r#"sum(rate({a="b"}[5m])) / on (app) group_left sum(rate({a="c"}[5m])) > bool 0.5"#, LogqlKind::Metric),
            (r#"avg_over_time({a="b"} | unwrap duration(latency) [1m])"#, LogqlKind::Metric),
            (r#"{app=~"llm-(gateway|router)", pod!~"canary-.*"} |~ `\d{3} (GET|POST)` !~ "(?i)health""#, LogqlKind::Log),
            (r#"{app="a"} | regexp "(?P<method>\\w+) (?P<path>\\S+)" | status=~"5.." | drop level=~"debug|trace""#, LogqlKind::Log),
            (r#"{app=~"a\\.b\\/c"} |~ "\\Q(literal\\E""#, LogqlKind::Log),
        ] {
            assert_eq!(validate(q), Ok(kind), "{q}");
        }
    }

    #[test]
    fn rejects_garbage_with_positions() {
        for (q, want) in [
            (r#"{app="llm-gateway"} | json | status >="#, "line 1, col 39: expected a value after \">=\""),
            ("", "expected a stream selector"),
            ("app=\"x\"", "unknown function or keyword \"app\""),
            (r#"{app="x""#, "col 1: \"{\" is never closed"),
            (r#"{app="x}"#, "col 6: unterminated string"),
            (r#"{app="x")"#, "col 9: \")\" does not close \"{\""),
            (r#"{}"#, "col 1: a stream selector needs at least one matcher"),
            (r#"{app=x}"#, "col 6: expected a quoted string"),
            (r#"{app=>"x"}"#, "col 6: expected a quoted string, found \">\""),
            (r#"{app~"x"}"#, "col 5: unexpected character"),
            (r#"{app "x"}"#, "col 6: expected a label matcher operator"),
            (r#"{app="x"} foo"#, "col 11: unexpected \"foo\" after a complete query"),
            (r#"{app="x"} |= "#, "expected a quoted string after the line filter"),
            (r#"{app="x"} | "#, "expected a pipeline stage"),
            (r#"rate({app="x"})"#, "col 15: expected a range such as [5m]"),
            (r#"rate({app="x"}[5q])"#, "col 16: \"5q\" is not a duration"),
            (r#"sum(rate({app="x"}[5m]) by (a"#, "\"(\" is never closed"),
            (r#"frobnicate({app="x"}[5m])"#, "col 1: unknown function or keyword \"frobnicate\""),
            (r#"sum({app="x"})"#, "col 5: a log query cannot be used as a number"),
            (r#"{app="$svc"}"#, ""),
            ("{app=\"x\"}\n| json | a =", "line 2, col 13: expected a value after \"=\""),
            (r#"{app="x"} | json | $x"#, "col 20: unexpanded template variable"),
            (r#"{app=~"("}"#, "col 7: invalid regular expression \"(\": unclosed group"),
            (r#"{app="x", env!~"a[b"}"#, "col 16: invalid regular expression \"a[b\": unclosed character class"),
            (r#"{app="x"} |~ "a(?P<x" "#, "col 14: invalid regular expression"),
            (r#"{app="x"} != "ok" !~ "x{2,1}" "#, "col 22: invalid regular expression"),
            (r#"{app="x"} |~ "ok" or "(" "#, "col 22: invalid regular expression"),
            (r#"{app="x"} | json | status=~"5(" "#, "col 28: invalid regular expression"),
            (r#"{app="x"} | logfmt | drop level=~"*" "#, "col 34: invalid regular expression"),
            (r#"{app="x"} | regexp "(?P<ip" "#, "col 20: invalid regular expression"),
            (r#"{app="x"} | regexp "(\\S+)" "#, "named capture group"),
            (r#"sum(count_over_time({app=~"(?=x)"}[5m]))"#, "col 27: invalid regular expression"),
            (format!(r#"{{app=~"{}"}}"#, "(".repeat(100)).as_str(), "…: unclosed group"),
        ] {
            match validate(q) {
                Err(e) => assert!(e.contains(want), "{q:?}: {e}"),
                Ok(_) if want.is_empty() => {}
                Ok(k) => panic!("{q:?} accepted as {k:?}"),
            }
        }
    }

    #[test]
    fn deep_nesting_is_rejected_not_overflowing() {
        let too_deep = |open: &str, inner: &str, close: &str| format!("{}{inner}{}", open.repeat(12_000), close.repeat(12_000));
        for q in [
            too_deep("sum(", r#"count_over_time({a="b"}[5m])"#, ")"),
            too_deep("(", r#"count_over_time({a="b"}[5m])"#, ")"),
            too_deep("vector(", "1", ")"),
            too_deep("label_replace(", r#"rate({a="b"}[1m])"#, r#","a","b","c","d")"#),
            format!("rate({}{{a=\"b\"}}[5m]{})", "(".repeat(12_000), ")".repeat(12_000)),
            format!("{{a=\"b\"}} | {}x=\"y\"{}", "(".repeat(12_000), ")".repeat(12_000)),
        ] {
            let e = validate(&q).unwrap_err();
            assert!(e.contains(&format!("nesting limit is {MAX_NESTING}")), "{}…: {e}", &q[..40]);
        }
        // Signs do not nest; 100 levels of aggregation are fine.
        assert_eq!(validate(&format!("{}1", "-".repeat(30_000))), Ok(LogqlKind::Metric));
        let q = format!("{}count_over_time({{a=\"b\"}}[5m]){}", "sum(".repeat(100), ")".repeat(100));
        assert_eq!(validate(&q), Ok(LogqlKind::Metric));
    }
}
