//! JavaScript-flavoured regular expressions for JSONata regex literals,
//! backed by `fancy-regex` (which supports look-around and back-references).

use crate::error::Error;

/// A compiled regex literal.
#[derive(Debug)]
pub struct JsRegex {
    pub re: fancy_regex::Regex,
}

/// One match: char offsets of the match and its capture groups.
#[derive(Debug, Clone)]
pub struct Match {
    pub text: String,
    pub start: usize,
    pub end: usize,
    /// Byte offsets, for continuing a scan.
    pub byte_start: usize,
    pub byte_end: usize,
    pub groups: Vec<Option<String>>,
}

impl JsRegex {
    /// Compile a pattern with JavaScript flags (`i`, `m`, `s`; `g` is implied).
    pub fn new(pattern: &str, flags: &str) -> Result<JsRegex, Error> {
        let mut prefix = String::new();
        if flags.contains('i') {
            prefix.push_str("(?i)");
        }
        if flags.contains('m') {
            prefix.push_str("(?m)");
        }
        if flags.contains('s') {
            prefix.push_str("(?s)");
        }
        let translated = translate(pattern);
        let re = fancy_regex::Regex::new(&format!("{prefix}{translated}"))
            .map_err(|e| Error::new("S0303", format!("Invalid regular expression: {e}")))?;
        Ok(JsRegex { re })
    }

    /// Find the first match at or after byte offset `from`.
    pub fn find_at(&self, text: &str, from: usize) -> Result<Option<Match>, Error> {
        if from > text.len() {
            return Ok(None);
        }
        let caps = self
            .re
            .captures_from_pos(text, from)
            .map_err(|e| Error::new("D1004", format!("Regular expression failed: {e}")))?;
        let Some(caps) = caps else { return Ok(None) };
        let Some(m) = caps.get(0) else {
            return Ok(None);
        };
        let groups = (1..caps.len())
            .map(|i| caps.get(i).map(|g| g.as_str().to_string()))
            .collect();
        let start = text[..m.start()].chars().count();
        let len = m.as_str().chars().count();
        Ok(Some(Match {
            text: m.as_str().to_string(),
            start,
            end: start + len,
            byte_start: m.start(),
            byte_end: m.end(),
            groups,
        }))
    }

    /// All non-overlapping matches; an empty match is an error (D1004).
    pub fn find_all(&self, text: &str, limit: Option<usize>) -> Result<Vec<Match>, Error> {
        let mut out = Vec::new();
        let mut from = 0;
        while limit.is_none_or(|l| out.len() < l) {
            let Some(m) = self.find_at(text, from)? else {
                break;
            };
            if m.byte_end == m.byte_start {
                return Err(Error::new(
                    "D1004",
                    "Regular expression matches zero length string",
                ));
            }
            from = m.byte_end;
            out.push(m);
        }
        Ok(out)
    }
}

/// Adjust JavaScript-only syntax to the Rust regex dialect.
fn translate(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut chars = p.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('/') => out.push('/'),
                // JavaScript's classes are ASCII-only
                Some('d') if !in_class => out.push_str("[0-9]"),
                Some('d') => out.push_str("0-9"),
                Some('D') if !in_class => out.push_str("[^0-9]"),
                Some('w') if !in_class => out.push_str("[A-Za-z0-9_]"),
                Some('w') => out.push_str("A-Za-z0-9_"),
                Some('W') if !in_class => out.push_str("[^A-Za-z0-9_]"),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push_str("\\\\"),
            },
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            '[' if in_class => out.push_str("\\["),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::JsRegex;

    #[test]
    fn javascript_syntax_is_accepted() {
        let re = JsRegex::new("a\\/b", "").unwrap();
        assert!(re.find_at("xa/b", 0).unwrap().is_some());
        let re = JsRegex::new("\\w+", "").unwrap();
        let m = re.find_at("é_ab1", 0).unwrap().unwrap();
        assert_eq!(m.text, "_ab1");
        assert_eq!(m.start, 1);
        let re = JsRegex::new("(?<=a)b", "i").unwrap();
        assert!(re.find_at("AB", 0).unwrap().is_some());
    }

    #[test]
    fn empty_matches_are_rejected_by_find_all() {
        let re = JsRegex::new("x*", "").unwrap();
        assert_eq!(re.find_all("abc", None).unwrap_err().code, "D1004");
    }
}
