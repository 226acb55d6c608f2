//! The hot array of a range answer, `"values": [[t, "v"], …]`, read by a
//! purpose-built scanner instead of serde's per-element dispatch: it is almost
//! all of a matrix body's bytes, and its grammar is tiny.
//!
//! What the upstream does that matters here: Prometheus writes a timestamp as
//! whole seconds, then `.` and the milliseconds as exactly three digits when
//! they are not zero (`1700000000`, `1700000000.120`); Thanos, Mimir and
//! VictoriaMetrics write the same shape. Those are read as integers, exactly.
//! Anything else the JSON grammar allows — more decimals, an exponent, an
//! escaped sample string, a value that is not a number, a third element — is
//! left to the serde path ([`super::parse`]), which produces the same points
//! or the same error as before; the scanner never decides an error itself.
//!
//! serde_json has already checked the array is well-formed JSON (it hands us
//! the bytes as a borrowed `RawValue`), so the scanner only has to recognise
//! the common shape, not validate.

/// Append the points of a `values` array (`raw` is its JSON text) to the
/// columns. `None` when the text is not in the common shape; the columns are
/// then as they were.
pub(super) fn scan_values(raw: &str, times_ms: &mut Vec<i64>, values: &mut Vec<f64>) -> Option<()> {
    let start = times_ms.len();
    let scanned = Scanner { text: raw, at: 0 }.points(times_ms, values);
    if scanned.is_none() {
        times_ms.truncate(start);
        values.truncate(start);
    }
    scanned
}

struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

impl Scanner<'_> {
    fn points(mut self, times_ms: &mut Vec<i64>, values: &mut Vec<f64>) -> Option<()> {
        self.expect(b'[')?;
        if self.eat(b']') {
            return self.end();
        }
        loop {
            self.expect(b'[')?;
            let t = self.timestamp_ms()?;
            self.expect(b',')?;
            let v = self.sample()?;
            self.expect(b']')?;
            times_ms.push(t);
            values.push(v);
            if self.eat(b',') {
                continue;
            }
            self.expect(b']')?;
            return self.end();
        }
    }

    fn bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes().get(self.at) {
            self.at += 1;
        }
    }

    /// Skip whitespace, then consume `byte` if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_ws();
        if self.bytes().get(self.at) == Some(&byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    fn end(mut self) -> Option<()> {
        self.skip_ws();
        (self.at == self.text.len()).then_some(())
    }

    fn digits(&mut self) -> (u64, usize) {
        let mut n: u64 = 0;
        let mut count = 0;
        while let Some(d @ b'0'..=b'9') = self.bytes().get(self.at) {
            n = n.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
            count += 1;
            self.at += 1;
        }
        (n, count)
    }

    /// `-?secs(.mmm)?` with at most three decimals, in milliseconds.
    fn timestamp_ms(&mut self) -> Option<i64> {
        self.skip_ws();
        let negative = self.bytes().get(self.at) == Some(&b'-');
        if negative {
            self.at += 1;
        }
        let (secs, n) = self.digits();
        // Up to 12 digits of seconds the milliseconds stay below 2^53, where
        // the serde path's `round(f64 seconds × 1000)` is exact too: both agree.
        if n == 0 || n > 12 {
            return None;
        }
        let mut ms = 0;
        if self.bytes().get(self.at) == Some(&b'.') {
            self.at += 1;
            let (frac, n) = self.digits();
            ms = match n {
                1 => frac * 100,
                2 => frac * 10,
                3 => frac,
                _ => return None,
            };
        }
        if let Some(b'e' | b'E') = self.bytes().get(self.at) {
            return None;
        }
        let total = i64::try_from(secs * 1000 + ms).ok()?;
        Some(if negative { -total } else { total })
    }

    /// A sample string without escapes, parsed in place as the serde path
    /// parses it (`str::parse::<f64>`: `NaN`, `+Inf`, `-Inf`, decimals, exponents).
    fn sample(&mut self) -> Option<f64> {
        self.expect(b'"')?;
        let from = self.at;
        let len = self.bytes()[from..].iter().position(|&b| b == b'"' || b == b'\\')?;
        self.at = from + len;
        if self.bytes()[self.at] == b'\\' {
            return None;
        }
        let value = self.text.get(from..self.at)?.parse::<f64>().ok()?;
        self.at += 1;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::scan_values;

    /// What the serde path makes of the same text: float seconds rounded to
    /// milliseconds, values through `str::parse::<f64>`, exactly two elements.
    fn reference(raw: &str) -> Option<(Vec<i64>, Vec<f64>)> {
        let points: Vec<(f64, String)> = serde_json::from_str(raw).ok()?;
        let mut out = (Vec::new(), Vec::new());
        for (t, v) in points {
            out.0.push(super::super::parse::secs_to_ms(t));
            out.1.push(v.parse::<f64>().ok()?);
        }
        Some(out)
    }

    fn scanned(raw: &str) -> Option<(Vec<i64>, Vec<f64>)> {
        // Columns that already hold a point: a declined scan must leave them as they were.
        let mut times = vec![7];
        let mut values = vec![0.5];
        let got = scan_values(raw, &mut times, &mut values);
        if got.is_none() {
            assert_eq!((times.as_slice(), values.as_slice()), (&[7][..], &[0.5][..]), "{raw}");
            return None;
        }
        Some((times[1..].to_vec(), values[1..].to_vec()))
    }

    fn same(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
    }

    #[test]
    fn agrees_with_the_serde_path_or_declines() {
        let times = [
            "0",
            "1",
            "-1",
            "1700000000",
            "1700000000.1",
            "1700000000.12",
            "1700000000.123",
            "1700000000.1234",
            "1e3",
            "1.5E2",
            "-0.5",
            "0.001",
            "999999999999.999",
            "1000000000000",
            "1234567890123.5",
            "17e8",
        ];
        let values = [
            "1",
            "1.5",
            "NaN",
            "+Inf",
            "-Inf",
            "Inf",
            "inf",
            "1e10",
            "-0",
            "abc",
            "\\u0031",
            "",
            " 1",
            "0x1",
            "1.7976931348623157e308",
            "5e-324",
            "1e400",
        ];
        let mut scanned_some = 0;
        for t in times {
            for v in values {
                for raw in [
                    format!("[[{t},\"{v}\"]]"),
                    format!(" [ [ {t} , \"{v}\" ] ,\n[{t},\"{v}\"] ] "),
                    format!("[[{t},\"{v}\",1]]"),
                    format!("[[\"{t}\",\"{v}\"]]"),
                ] {
                    if let Some(got) = scanned(&raw) {
                        scanned_some += 1;
                        let want = reference(&raw).unwrap_or_else(|| panic!("scanner accepted what serde rejects: {raw}"));
                        assert_eq!(got.0, want.0, "{raw}");
                        assert!(same(&got.1, &want.1), "{raw}: {:?} vs {:?}", got.1, want.1);
                    }
                }
            }
        }
        // The scanner takes every combination in the common shape: 10 of the
        // timestamps (≤ 12 digits, ≤ 3 decimals, no exponent) × 12 of the
        // values (those `f64::from_str` reads) × the 2 two-element layouts.
        assert_eq!(scanned_some, 10 * 12 * 2);
    }

    #[test]
    fn prometheus_timestamps_are_exact_milliseconds() {
        let (t, v) = scanned(r#"[[1700000000,"1"],[1700000000.120,"2"],[1700000000.005,"NaN"],[-1.5,"-Inf"]]"#).unwrap();
        assert_eq!(t, [1_700_000_000_000, 1_700_000_000_120, 1_700_000_000_005, -1_500]);
        assert_eq!(v[..2], [1.0, 2.0]);
        assert!(v[2].is_nan() && v[3] == f64::NEG_INFINITY);
        assert_eq!(scanned("[]"), Some((vec![], vec![])));
        assert_eq!(scanned(" [ ] "), Some((vec![], vec![])));
    }

    #[test]
    fn shapes_it_leaves_to_serde() {
        for raw in [
            r#"[[1.5e9,"1"]]"#,
            r#"[[1700000000.1234,"1"]]"#,
            r#"[["1700000000","1"]]"#,
            r#"[[1,"\u0031"]]"#,
            r#"[[1,"x"]]"#,
            r#"[[1,"1",2]]"#,
            r#"[[1,1]]"#,
            r#"[[1,"1"]"#,
            r#"[[1,"1"]] x"#,
            r#"[[1,"1"],]"#,
            r#"[[1,"1"#,
            r#"[[-,"1"]]"#,
            "",
        ] {
            assert_eq!(scanned(raw), None, "{raw}");
        }
    }
}
