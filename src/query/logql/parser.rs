//! LogQL checker: recursive descent over Loki's grammar
//! (`pkg/logql/syntax/expr.y`), and the regular-expression checks.

use super::lexer::{Tok, Token};
use super::*;
use crate::query::metrics::parse_duration_ms;

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

type PResult<T> = Result<T, (usize, String)>;

pub(super) struct Parser {
    pub(super) toks: Vec<Token>,
    pub(super) i: usize,
    pub(super) len: usize,
    /// Current nesting of aggregations, parentheses and label-filter groups.
    pub(super) depth: usize,
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

    pub(super) fn top(&mut self) -> PResult<LogqlKind> {
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
