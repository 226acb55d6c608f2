//! TraceQL checker: recursive descent over the tokens, following Tempo's
//! grammar (`pkg/traceql/expr.y`); it evaluates nothing.

use super::lexer::{Tok, Token, err};
use super::*;

/// What a field expression evaluates to, as far as the checker can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Bool,
    /// A literal that is not boolean (string, number, duration, status, kind).
    Static,
    /// An attribute or intrinsic: any type.
    Any,
}

pub(super) struct Parser {
    pub(super) toks: Vec<Token>,
    pub(super) pos: usize,
    pub(super) info: TraceqlInfo,
    /// Current nesting of parentheses and prefix operators.
    pub(super) depth: usize,
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

    pub(super) fn query(&mut self) -> PResult<()> {
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
