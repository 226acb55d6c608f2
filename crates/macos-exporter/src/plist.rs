//! A small reader for Apple XML property lists, enough for powermetrics'
//! `-f plist` output: `dict`/`key`, `array`, `string`, `integer`, `real`,
//! `true`/`false`, `date`, `data`; the XML declaration, DOCTYPE and comments
//! are skipped; the five XML entities and numeric character references are
//! decoded. Errors name the byte offset; nothing here panics.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub enum Plist {
    Dict(BTreeMap<String, Plist>),
    Array(Vec<Plist>),
    String(String),
    Integer(i64),
    Real(f64),
    Bool(bool),
    Date(String),
    Data(String),
}

impl Plist {
    pub fn get(&self, key: &str) -> Option<&Plist> {
        match self {
            Plist::Dict(m) => m.get(key),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Plist::Integer(i) => Some(*i as f64),
            Plist::Real(r) => Some(*r),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Plist::String(s) => Some(s),
            _ => None,
        }
    }
}

/// Deepest nesting accepted (powermetrics nests 4–5 levels).
const MAX_DEPTH: usize = 64;

struct Reader<'a> {
    s: &'a str,
    pos: usize,
}

enum Tag<'a> {
    Open(&'a str),
    Close(&'a str),
    Empty(&'a str),
}

impl<'a> Reader<'a> {
    fn err<T>(&self, msg: impl std::fmt::Display) -> Result<T, String> {
        Err(format!("plist at byte {}: {msg}", self.pos))
    }

    /// Skip text, declarations, DOCTYPE and comments up to the next element tag.
    fn next_tag(&mut self) -> Result<Tag<'a>, String> {
        loop {
            let Some(i) = self.s[self.pos..].find('<') else { return self.err("unexpected end of document") };
            let text = &self.s[self.pos..self.pos + i];
            if !text.trim().is_empty() {
                return self.err(format!("unexpected text {:?}", text.trim().chars().take(40).collect::<String>()));
            }
            self.pos += i;
            let rest = &self.s[self.pos..];
            let skip_to = |end: &str| rest.find(end).map(|j| j + end.len());
            if rest.starts_with("<?") || rest.starts_with("<!DOCTYPE") || rest.starts_with("<!--") {
                let end = if rest.starts_with("<!--") { "-->" } else { ">" };
                match skip_to(end) {
                    Some(j) => self.pos += j,
                    None => return self.err("unterminated declaration"),
                }
                continue;
            }
            let Some(j) = rest.find('>') else { return self.err("unterminated tag") };
            let inner = &rest[1..j];
            self.pos += j + 1;
            let name_of = |t: &'a str| t.split_whitespace().next().unwrap_or("");
            return Ok(if let Some(n) = inner.strip_prefix('/') {
                Tag::Close(n.trim())
            } else if let Some(n) = inner.strip_suffix('/') {
                Tag::Empty(name_of(n))
            } else {
                Tag::Open(name_of(inner))
            });
        }
    }

    /// Text content up to `</name>`.
    fn text(&mut self, name: &str) -> Result<String, String> {
        let close = format!("</{name}>");
        let Some(i) = self.s[self.pos..].find(&close) else { return self.err(format!("missing {close}")) };
        let raw = &self.s[self.pos..self.pos + i];
        self.pos += i + close.len();
        unescape(raw).map_err(|e| format!("plist at byte {}: {e}", self.pos))
    }

    fn value(&mut self, tag: Tag<'a>, depth: usize) -> Result<Plist, String> {
        if depth > MAX_DEPTH {
            return self.err("nested too deeply");
        }
        match tag {
            Tag::Empty("true") => Ok(Plist::Bool(true)),
            Tag::Empty("false") => Ok(Plist::Bool(false)),
            Tag::Empty("dict") => Ok(Plist::Dict(BTreeMap::new())),
            Tag::Empty("array") => Ok(Plist::Array(Vec::new())),
            Tag::Empty("string") => Ok(Plist::String(String::new())),
            Tag::Open("string") => Ok(Plist::String(self.text("string")?)),
            Tag::Open("date") => Ok(Plist::Date(self.text("date")?)),
            Tag::Open("data") => Ok(Plist::Data(self.text("data")?.split_whitespace().collect())),
            Tag::Open("integer") => {
                let t = self.text("integer")?;
                match t.trim().parse::<i64>() {
                    Ok(i) => Ok(Plist::Integer(i)),
                    // Unsigned 64-bit counters beyond i64 still read, as reals.
                    Err(_) => t.trim().parse::<u64>().map(|u| Plist::Real(u as f64)).or_else(|_| self.err(format!("bad integer {t:?}"))),
                }
            }
            Tag::Open("real") => {
                let t = self.text("real")?;
                t.trim().parse::<f64>().map(Plist::Real).or_else(|_| self.err(format!("bad real {t:?}")))
            }
            Tag::Open("array") => {
                let mut items = Vec::new();
                loop {
                    match self.next_tag()? {
                        Tag::Close("array") => return Ok(Plist::Array(items)),
                        t => items.push(self.value(t, depth + 1)?),
                    }
                }
            }
            Tag::Open("dict") => {
                let mut map = BTreeMap::new();
                loop {
                    match self.next_tag()? {
                        Tag::Close("dict") => return Ok(Plist::Dict(map)),
                        Tag::Open("key") => {
                            let k = self.text("key")?;
                            let t = self.next_tag()?;
                            let v = self.value(t, depth + 1)?;
                            map.insert(k, v);
                        }
                        _ => return self.err("expected <key> or </dict>"),
                    }
                }
            }
            Tag::Open(n) | Tag::Empty(n) => self.err(format!("unexpected <{n}>")),
            Tag::Close(n) => self.err(format!("unexpected </{n}>")),
        }
    }
}

fn unescape(raw: &str) -> Result<String, String> {
    if !raw.contains('&') {
        return Ok(raw.to_owned());
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find(';') else { return Err("unterminated entity".into()) };
        let ent = &rest[i + 1..i + j];
        let c = match ent {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(h) = ent.strip_prefix("#x") {
                    u32::from_str_radix(h, 16).ok()
                } else {
                    ent.strip_prefix('#').and_then(|d| d.parse().ok())
                };
                code.and_then(char::from_u32).ok_or_else(|| format!("unknown entity &{ent};"))?
            }
        };
        out.push(c);
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Parse one `<plist>` document into its top-level value.
pub fn parse(doc: &str) -> Result<Plist, String> {
    let mut r = Reader { s: doc, pos: 0 };
    match r.next_tag()? {
        Tag::Open("plist") => {}
        _ => return r.err("expected <plist>"),
    }
    let t = r.next_tag()?;
    let v = r.value(t, 0)?;
    match r.next_tag()? {
        Tag::Close("plist") => Ok(v),
        _ => r.err("expected </plist>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_document() {
        let text = std::fs::read_to_string(format!(
            "{}/../../tests/fixtures/powermetrics/plist_gpu_power_single_sample.mac16-8.matiasinsaurralde-powermetrics-testdata.plist",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let p = parse(&text).unwrap();
        assert_eq!(p.get("is_delta"), Some(&Plist::Bool(true)));
        assert_eq!(p.get("kern_bootargs"), Some(&Plist::String(String::new())));
        assert_eq!(p.get("timestamp"), Some(&Plist::Date("2025-07-06T04:15:28Z".into())));
        let gpu = p.get("gpu").unwrap();
        assert_eq!(gpu.get("idle_ratio").and_then(Plist::as_f64), Some(0.995324));
        let Some(Plist::Array(states)) = gpu.get("dvfm_states") else { panic!("dvfm_states") };
        assert_eq!(states.len(), 15);
        assert_eq!(states[14].get("freq").and_then(Plist::as_f64), Some(1578.0));
    }

    #[test]
    fn malformed_documents_are_errors() {
        for bad in [
            "",
            "<plist><dict><key>a</key></dict></plist>",
            "<plist><integer>x</integer></plist>",
            "<plist><dict><string>v</string></dict></plist>",
            "<plist><real>1</real>",
            "<plist><string>&bogus;</string></plist>",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse("<plist><string>a &amp; &#x3C;b&gt;</string></plist>").unwrap(), Plist::String("a & <b>".into()));
        let deep = format!("<plist>{}{}</plist>", "<array>".repeat(100), "</array>".repeat(100));
        assert!(parse(&deep).unwrap_err().contains("nested too deeply"));
    }
}
