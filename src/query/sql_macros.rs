//! The macro grammar of raw-SQL mode (`source: clickhouse`, `sql`): which
//! Grafana-style macros a statement uses, found without parsing SQL.
//!
//! The statement is split into text kept as written and macros
//! (`$__timeFilter(col)`, `$__fromTime`, `$__toTime`, `$__interval_ms`,
//! `$__interval_s` / `$__interval`, `$__clusters`, `$__clusterAttribute`).
//! Only the statement's *code* holds macros: string literals (`'…'`, with `''`
//! and `\'` escapes), quoted identifiers (`"…"`, `` `…` ``) and comments
//! (`-- …`, `# …`, `/* … */`) are text, so `WHERE body LIKE '%$__x%'` means what
//! it says (ClickHouse never substitutes inside them either). An unknown macro
//! or a `$__timeFilter` argument that is not a column name is an error here, at
//! parse time. What each macro becomes is the backend's business
//! (`crate::clickhouse::sql` turns them into bound-parameter placeholders).

/// One macro of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Macro<'a> {
    /// `$__timeFilter(col)`: `col` within the query's time range (`col` is a column name).
    TimeFilter { column: &'a str },
    /// `$__fromTime`: the range's start.
    FromTime,
    /// `$__toTime`: the range's end.
    ToTime,
    /// `$__interval_ms`: the step in milliseconds.
    IntervalMs,
    /// `$__interval` and `$__interval_s`: the step in whole seconds.
    IntervalS,
    /// `$__clusters`: the cluster attribute values of the query's clusters.
    Clusters,
    /// `$__clusterAttribute`: the attribute naming the cluster.
    ClusterAttribute,
}

/// A statement as text and macros, in order; the pieces' text concatenated
/// with each macro's own text gives the statement back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Macro(Macro<'a>),
}

const KNOWN: &str = "$__timeFilter(col), $__fromTime, $__toTime, $__interval, $__interval_ms, $__interval_s, $__clusters, $__clusterAttribute";

/// Split `sql` into text and macros; the error says which macro is wrong and why.
pub fn scan(sql: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut pieces = Vec::new();
    let mut rest = sql;
    while !rest.is_empty() {
        let code = code_len(rest);
        if code > 0 {
            pieces.push(Piece::Text(&rest[..code]));
        }
        rest = &rest[code..];
        if let Some(after) = rest.strip_prefix("$__") {
            let (m, tail) = one_macro(after)?;
            pieces.push(Piece::Macro(m));
            rest = tail;
        } else if !rest.is_empty() {
            let quoted = quoted_len(rest);
            pieces.push(Piece::Text(&rest[..quoted]));
            rest = &rest[quoted..];
        }
    }
    Ok(pieces)
}

/// Bytes of `sql` before the next macro (`$__`), literal, quoted identifier or comment.
fn code_len(sql: &str) -> usize {
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'$' if sql[i..].starts_with("$__") => return i,
            b'\'' | b'"' | b'`' | b'#' => return i,
            b'-' if b.get(i + 1) == Some(&b'-') => return i,
            b'/' if b.get(i + 1) == Some(&b'*') => return i,
            _ => i += 1,
        }
    }
    i
}

/// Bytes of the literal, quoted identifier or comment `sql` starts with
/// (to the end of `sql` when it is not closed: ClickHouse reports that).
fn quoted_len(sql: &str) -> usize {
    let b = sql.as_bytes();
    let close = |from: usize, pat: &str| sql[from..].find(pat).map_or(sql.len(), |j| from + j + pat.len());
    match b[0] {
        q @ (b'\'' | b'"' | b'`') => {
            let mut i = 1;
            while i < b.len() {
                // `\x` escapes and a doubled quote both stand for one character.
                if b[i] == b'\\' || (b[i] == q && b.get(i + 1) == Some(&q)) {
                    i += 2;
                } else if b[i] == q {
                    return i + 1;
                } else {
                    i += 1;
                }
            }
            sql.len()
        }
        b'/' => close(2, "*/"),
        b'#' => close(1, "\n"),
        _ => close(2, "\n"), // `--`
    }
}

/// One macro, `after` being the text after `$__`: the macro and the text after it.
fn one_macro(after: &str) -> Result<(Macro<'_>, &str), String> {
    let name_len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
    let tail = &after[name_len..];
    let m = match &after[..name_len] {
        "timeFilter" => {
            let inner = tail.strip_prefix('(').ok_or("$__timeFilter needs a column: $__timeFilter(TimeUnix)")?;
            let close = inner.find(')').ok_or("$__timeFilter( is not closed")?;
            let column = inner[..close].trim();
            let ok = !column.is_empty()
                && column.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                && !column.starts_with(|c: char| c.is_ascii_digit());
            if !ok {
                return Err(format!("$__timeFilter({column}): the argument must be a column name"));
            }
            return Ok((Macro::TimeFilter { column }, &inner[close + 1..]));
        }
        "fromTime" => Macro::FromTime,
        "toTime" => Macro::ToTime,
        "interval_ms" => Macro::IntervalMs,
        "interval" | "interval_s" => Macro::IntervalS,
        "clusters" => Macro::Clusters,
        "clusterAttribute" => Macro::ClusterAttribute,
        other => return Err(format!("unknown macro $__{other} (known: {KNOWN})")),
    };
    Ok((m, tail))
}

#[cfg(test)]
mod tests {
    use super::{Macro, Piece, scan};

    #[test]
    fn macros_in_code_only() {
        let pieces = scan("SELECT $__interval_ms, '$__x' -- $__y\nFROM t WHERE $__timeFilter( ts ) /* $__z */").unwrap();
        assert_eq!(
            pieces,
            vec![
                Piece::Text("SELECT "),
                Piece::Macro(Macro::IntervalMs),
                Piece::Text(", "),
                Piece::Text("'$__x'"),
                Piece::Text(" "),
                Piece::Text("-- $__y\n"),
                Piece::Text("FROM t WHERE "),
                Piece::Macro(Macro::TimeFilter { column: "ts" }),
                Piece::Text(" "),
                Piece::Text("/* $__z */"),
            ]
        );
    }

    #[test]
    fn bad_macros_are_named() {
        assert!(scan("$__nope").unwrap_err().contains("unknown macro $__nope"));
        assert!(scan("$__timeFilter(1 OR 1)").unwrap_err().contains("must be a column name"));
        assert!(scan("$__timeFilter(ts").unwrap_err().contains("not closed"));
        assert_eq!(scan("'a''$__b'").unwrap(), vec![Piece::Text("'a''$__b'")]);
    }
}
