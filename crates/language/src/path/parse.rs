//! The JSONPath parser: turns path text into a [`PathExpr`] once, at
//! definition time, so that evaluation never looks at the text again.
//!
//! The grammar is the one Jayway JsonPath (which AWS Step Functions uses)
//! accepts, minus script expressions (`[(@.length-1)]`) and regular
//! expressions in filters, which ASL definitions do not use in practice:
//! dot and bracket notation, indexes (negative too), `*`, deep scan `..`,
//! slices, unions, filters `[?(…)]` with `&&`, `||`, `!` and the relational
//! operators, and the `length()` function at the end of a path.

use serde_json::Value;

use super::{CmpOp, Filter, FilterRegex, Operand, PathError, PathExpr, Root, Segment};

/// Filters nest (`[?(@.a[?(@.b)])]`, parenthesised groups); bounding the
/// depth keeps a hostile definition from overflowing the stack.
const MAX_NESTING: usize = 32;

/// Parses a whole path (`$…`, `$$…`, `$name…`).
pub(super) fn parse(src: &str) -> Result<PathExpr, PathError> {
    let mut c = Cursor::new(src);
    let expr = c.path(0, false)?;
    if let Some(ch) = c.peek_char() {
        return Err(c.error(format!("unexpected character '{ch}'")));
    }
    Ok(expr)
}

/// Parses a path at the start of `src` (an intrinsic function argument)
/// and returns it with the number of bytes it spans. The path ends where it
/// can no longer continue: at `,`, `)` or whitespace.
pub(super) fn parse_prefix(src: &str) -> Result<(PathExpr, usize), PathError> {
    let mut c = Cursor::new(src);
    if c.peek() != Some(b'$') {
        return Err(c.error("a path must start with '$'".into()));
    }
    let expr = c.path(0, true)?;
    Ok((expr, c.pos))
}

struct Cursor<'s> {
    src: &'s str,
    pos: usize,
}

impl<'s> Cursor<'s> {
    fn new(src: &'s str) -> Self {
        Cursor { src, pos: 0 }
    }

    fn rest(&self) -> &'s str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<u8> {
        self.src.as_bytes().get(self.pos + n).copied()
    }

    fn peek_char(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_str(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), PathError> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.error(format!("expected '{}'", b as char)))
        }
    }

    fn error(&self, what: String) -> PathError {
        PathError {
            message: format!(
                "invalid path '{}': {what} at position {}",
                self.src, self.pos
            ),
        }
    }

    /// A path from its root. Inside a filter (`in_filter`), a path ends at
    /// the first character that cannot continue it (an operator, a space,
    /// the closing parenthesis), and `@` is allowed as a root.
    fn path(&mut self, depth: usize, in_filter: bool) -> Result<PathExpr, PathError> {
        let root = if in_filter && self.eat(b'@') {
            Root::Current
        } else if self.eat(b'$') {
            if self.eat(b'$') {
                Root::Context
            } else if self.peek().is_some_and(is_variable_char) {
                let start = self.pos;
                while self.peek().is_some_and(is_variable_char) {
                    self.pos += 1;
                }
                Root::Variable(self.src[start..self.pos].into())
            } else {
                Root::Input
            }
        } else {
            return Err(self.error("a path must start with '$'".into()));
        };
        let mut segments = Vec::new();
        let mut length = false;
        loop {
            match self.peek() {
                None => break,
                Some(b'.') if self.peek_at(1) == Some(b'.') => {
                    self.pos += 2;
                    let inner = match self.peek() {
                        Some(b'[') => self.bracket(depth)?,
                        Some(b'*') => {
                            self.pos += 1;
                            Segment::Wildcard
                        }
                        _ => Segment::Field(self.name(in_filter)?),
                    };
                    segments.push(Segment::Scan(Box::new(inner)));
                }
                Some(b'.') => {
                    self.pos += 1;
                    if self.eat(b'*') {
                        segments.push(Segment::Wildcard);
                        continue;
                    }
                    let name = self.name(in_filter)?;
                    if self.peek() == Some(b'(') {
                        // Only `length()` is cheap and unambiguous; it must
                        // end the path because it turns nodes into a number.
                        if name == "length" && self.eat_str("()") {
                            length = true;
                            break;
                        }
                        return Err(self.error(format!("unsupported function '{name}'")));
                    }
                    segments.push(Segment::Field(name));
                }
                Some(b'[') => segments.push(self.bracket(depth)?),
                Some(_) if in_filter => break,
                Some(_) => {
                    let ch = self.peek_char().unwrap_or('?');
                    return Err(self.error(format!("unexpected character '{ch}'")));
                }
            }
        }
        if length && !in_filter && self.peek().is_some() {
            return Err(self.error("length() must end the path".into()));
        }
        Ok(PathExpr {
            root,
            segments,
            length,
        })
    }

    /// A property name in dot notation: everything up to the next
    /// delimiter (Jayway allows `-`, `:` and non-ASCII letters here).
    fn name(&mut self, in_filter: bool) -> Result<String, PathError> {
        let start = self.pos;
        while let Some(b) = self.peek() {
            let stop = matches!(b, b'.' | b'[' | b'(' | b' ' | b'\t' | b'\n' | b'\r')
                || (in_filter
                    && matches!(
                        b,
                        b')' | b'=' | b'!' | b'<' | b'>' | b'&' | b'|' | b',' | b']'
                    ));
            if stop {
                break;
            }
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error("expected a property name".into()));
        }
        Ok(self.src[start..self.pos].to_string())
    }

    /// `[…]`: names, indexes, unions, slices, `*` or a filter.
    fn bracket(&mut self, depth: usize) -> Result<Segment, PathError> {
        self.expect(b'[')?;
        self.skip_ws();
        let seg = match self.peek() {
            Some(b'*') => {
                self.pos += 1;
                Segment::Wildcard
            }
            Some(b'\'' | b'"') => {
                let mut names = vec![self.quoted()?];
                loop {
                    self.skip_ws();
                    if !self.eat(b',') {
                        break;
                    }
                    self.skip_ws();
                    names.push(self.quoted()?);
                }
                if names.len() == 1 {
                    Segment::Field(names.pop().unwrap_or_default())
                } else {
                    Segment::Fields(names)
                }
            }
            Some(b'?') => {
                self.pos += 1;
                self.skip_ws();
                self.expect(b'(')?;
                let filter = self.or_expr(depth + 1)?;
                self.skip_ws();
                self.expect(b')')?;
                Segment::Filter(Box::new(filter))
            }
            Some(b'(') => return Err(self.error("script expressions are not supported".into())),
            _ => self.numeric_bracket()?,
        };
        self.skip_ws();
        self.expect(b']')?;
        Ok(seg)
    }

    /// `[0]`, `[-1]`, `[0,2]`, `[1:3]`, `[:2]`, `[-1:]`.
    fn numeric_bracket(&mut self) -> Result<Segment, PathError> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b != b']') {
            self.pos += 1;
        }
        let text = &self.src[start..self.pos];
        if text.contains(':') {
            let mut parts = text.split(':');
            let from = self.opt_int(parts.next().unwrap_or(""))?;
            let to = self.opt_int(parts.next().unwrap_or(""))?;
            if parts.next().is_some() {
                return Err(self.error("slices with a step are not supported".into()));
            }
            return Ok(Segment::Slice(from, to));
        }
        let mut indexes = Vec::new();
        for part in text.split(',') {
            match self.opt_int(part)? {
                Some(i) => indexes.push(i),
                None => return Err(self.error("expected an index".into())),
            }
        }
        match indexes.as_slice() {
            [single] => Ok(Segment::Index(*single)),
            _ => Ok(Segment::Indexes(indexes)),
        }
    }

    fn opt_int(&self, text: &str) -> Result<Option<i64>, PathError> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(None);
        }
        t.parse::<i64>()
            .map(Some)
            .map_err(|_| self.error(format!("'{t}' is not an integer index")))
    }

    /// A single- or double-quoted string with backslash escapes, read as
    /// Jayway reads a bracketed name (`Utils.unescape`): `\\`, `\'`, `\"`,
    /// `\b`, `\f`, `\n`, `\r`, `\t` and `\uXXXX` stand for their
    /// character, a backslash before any other character for that character.
    fn quoted(&mut self) -> Result<String, PathError> {
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(self.error("expected a quoted name".into())),
        };
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, ch)) = chars.next() {
            match ch {
                '\\' => match chars.next() {
                    Some((_, 'b')) => out.push('\u{8}'),
                    Some((_, 'f')) => out.push('\u{c}'),
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 'r')) => out.push('\r'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, 'u')) => {
                        let hex: String = chars.clone().take(4).map(|(_, c)| c).collect();
                        let code = (hex.len() == 4)
                            .then(|| u32::from_str_radix(&hex, 16).ok())
                            .flatten()
                            .and_then(char::from_u32);
                        match code {
                            Some(c) => {
                                out.push(c);
                                for _ in 0..4 {
                                    chars.next();
                                }
                            }
                            None => {
                                return Err(self.error(format!(
                                    "'\\u{hex}' is not a unicode escape (four hex digits)"
                                )))
                            }
                        }
                    }
                    Some((_, e)) => out.push(e),
                    None => break,
                },
                c if c as u32 == u32::from(quote) => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                c => out.push(c),
            }
        }
        Err(self.error("unterminated string".into()))
    }

    fn or_expr(&mut self, depth: usize) -> Result<Filter, PathError> {
        if depth > MAX_NESTING {
            return Err(self.error("filters nest too deeply".into()));
        }
        let mut left = self.and_expr(depth)?;
        loop {
            self.skip_ws();
            if !self.eat_str("||") {
                return Ok(left);
            }
            let right = self.and_expr(depth)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
    }

    fn and_expr(&mut self, depth: usize) -> Result<Filter, PathError> {
        let mut left = self.unary(depth)?;
        loop {
            self.skip_ws();
            if !self.eat_str("&&") {
                return Ok(left);
            }
            let right = self.unary(depth)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, PathError> {
        if depth > MAX_NESTING {
            return Err(self.error("filters nest too deeply".into()));
        }
        self.skip_ws();
        if self.peek() == Some(b'!') && self.peek_at(1) != Some(b'=') {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.unary(depth + 1)?)));
        }
        if self.eat(b'(') {
            let inner = self.or_expr(depth + 1)?;
            self.skip_ws();
            self.expect(b')')?;
            return Ok(inner);
        }
        let left = self.operand(depth)?;
        self.skip_ws();
        let op = if self.eat_str("==") {
            CmpOp::Eq
        } else if self.eat_str("!=") {
            CmpOp::Ne
        } else if self.eat_str("<=") {
            CmpOp::Le
        } else if self.eat_str(">=") {
            CmpOp::Ge
        } else if self.eat(b'<') {
            CmpOp::Lt
        } else if self.eat(b'>') {
            CmpOp::Gt
        } else if self.eat_str("=~") {
            self.skip_ws();
            return Ok(Filter::Matches(left, Box::new(self.regex()?)));
        } else if self.eat_word("nin") {
            CmpOp::Nin
        } else if self.eat_word("in") {
            CmpOp::In
        } else {
            return match left {
                Operand::Path(p) => Ok(Filter::Exists(p)),
                Operand::Literal(_) => Err(self.error("expected a comparison operator".into())),
            };
        };
        self.skip_ws();
        let right = self.operand(depth)?;
        Ok(Filter::Compare(left, op, right))
    }

    /// `/pattern/flags`, compiled now so that evaluation never compiles.
    /// Jayway (Java) matches the whole string; the flags are Java's
    /// `i`, `m`, `s` and `x`.
    fn regex(&mut self) -> Result<FilterRegex, PathError> {
        let start = self.pos;
        self.expect(b'/')?;
        let body_start = self.pos;
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated regular expression".into())),
                Some(b'\\') => self.pos += 2,
                Some(b'/') => break,
                Some(_) => self.pos += 1,
            }
        }
        let body = self.src.get(body_start..self.pos).unwrap_or("");
        self.pos += 1;
        let mut flags = String::new();
        while let Some(b) = self.peek() {
            match b {
                b'i' | b'm' | b's' | b'x' => flags.push(char::from(b)),
                b'u' | b'd' => {}
                _ => break,
            }
            self.pos += 1;
        }
        let prefix = if flags.is_empty() {
            String::new()
        } else {
            format!("(?{flags})")
        };
        let regex = fancy_regex::Regex::new(&format!("{prefix}\\A(?:{body})\\z"))
            .map_err(|e| self.error(format!("invalid regular expression /{body}/: {e}")))?;
        Ok(FilterRegex {
            source: self.src.get(start..self.pos).unwrap_or("").to_string(),
            regex,
        })
    }

    fn eat_word(&mut self, w: &str) -> bool {
        let rest = self.rest();
        if rest.starts_with(w)
            && rest
                .as_bytes()
                .get(w.len())
                .is_none_or(|b| !b.is_ascii_alphanumeric())
        {
            self.pos += w.len();
            true
        } else {
            false
        }
    }

    fn operand(&mut self, depth: usize) -> Result<Operand, PathError> {
        self.skip_ws();
        match self.peek() {
            Some(b'@' | b'$') => Ok(Operand::Path(Box::new(self.path(depth + 1, true)?))),
            Some(b'\'' | b'"') => Ok(Operand::Literal(Value::String(self.quoted()?))),
            Some(b'[') => self.array_literal(depth),
            Some(b'{') => self.json_literal(),
            Some(b) if b == b'-' || b.is_ascii_digit() => {
                let start = self.pos;
                while self.peek().is_some_and(|b| {
                    b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')
                }) {
                    self.pos += 1;
                }
                let text = &self.src[start..self.pos];
                serde_json::from_str::<serde_json::Number>(text)
                    .map(|n| Operand::Literal(Value::Number(n)))
                    .map_err(|_| self.error(format!("'{text}' is not a number")))
            }
            _ => {
                if self.eat_word("true") {
                    Ok(Operand::Literal(Value::Bool(true)))
                } else if self.eat_word("false") {
                    Ok(Operand::Literal(Value::Bool(false)))
                } else if self.eat_word("null") {
                    Ok(Operand::Literal(Value::Null))
                } else {
                    Err(self
                        .error("expected a path, a string, a number, true, false or null".into()))
                }
            }
        }
    }

    /// `[…]` of literals (for `in`/`nin`); Jayway allows single quotes here.
    fn array_literal(&mut self, depth: usize) -> Result<Operand, PathError> {
        if depth > MAX_NESTING {
            return Err(self.error("literals nest too deeply".into()));
        }
        self.expect(b'[')?;
        let mut items = Vec::new();
        self.skip_ws();
        if !self.eat(b']') {
            loop {
                match self.operand(depth + 1)? {
                    Operand::Literal(v) => items.push(v),
                    Operand::Path(_) => {
                        return Err(self.error("paths are not allowed in array literals".into()))
                    }
                }
                self.skip_ws();
                if self.eat(b']') {
                    break;
                }
                self.expect(b',')?;
            }
        }
        Ok(Operand::Literal(Value::Array(items)))
    }

    /// A JSON object literal (for equality).
    fn json_literal(&mut self) -> Result<Operand, PathError> {
        let mut de = serde_json::Deserializer::from_str(self.rest()).into_iter::<Value>();
        match de.next() {
            Some(Ok(v)) => {
                self.pos += de.byte_offset();
                Ok(Operand::Literal(v))
            }
            _ => Err(self.error("invalid JSON literal".into())),
        }
    }
}

/// Characters of a variable name after `$` (ASL: letters, digits, `_`).
fn is_variable_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}
