//! The JSONata built-in function library (`$sum`, `$string`, `$map`, ...),
//! their signatures, and shared helpers such as JavaScript-compatible number
//! and JSON formatting.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use crate::error::Error;
use crate::eval::{append, boolean, lookup, Evaluator};
use crate::regex::JsRegex;
use crate::signature::Signature;
use crate::value::{deep_equal, Func, Map, Value};

/// Longest string `$pad` will build.
const MAX_STRING_CHARS: i64 = 10_000_000;

const BUILTINS: &[(&str, &str)] = &[
    ("sum", "<a<n>:n>"),
    ("count", "<a:n>"),
    ("max", "<a<n>:n>"),
    ("min", "<a<n>:n>"),
    ("average", "<a<n>:n>"),
    ("string", "<x-b?:s>"),
    ("substring", "<s-nn?:s>"),
    ("substringBefore", "<s-s:s>"),
    ("substringAfter", "<s-s:s>"),
    ("lowercase", "<s-:s>"),
    ("uppercase", "<s-:s>"),
    ("length", "<s-:n>"),
    ("trim", "<s-:s>"),
    ("pad", "<s-ns?:s>"),
    ("match", "<s-f<s:o>n?:a<o>>"),
    ("contains", "<s-(sf):b>"),
    ("replace", "<s-(sf)(sf)n?:s>"),
    ("split", "<s-(sf)n?:a<s>>"),
    ("join", "<a<s>s?:s>"),
    ("formatNumber", "<n-so?:s>"),
    ("formatBase", "<n-n?:s>"),
    ("formatInteger", "<n-s:s>"),
    ("parseInteger", "<s-s:n>"),
    ("number", "<(nsb)-:n>"),
    ("floor", "<n-:n>"),
    ("ceil", "<n-:n>"),
    ("round", "<n-n?:n>"),
    ("abs", "<n-:n>"),
    ("sqrt", "<n-:n>"),
    ("power", "<n-n:n>"),
    ("random", "<:n>"),
    ("boolean", "<x-:b>"),
    ("not", "<x-:b>"),
    ("map", "<af>"),
    ("zip", "<a+>"),
    ("filter", "<af>"),
    ("single", "<af?>"),
    ("reduce", "<afj?:j>"),
    ("sift", "<o-f?:o>"),
    ("keys", "<x-:a<s>>"),
    ("lookup", "<x-s:x>"),
    ("append", "<xx:a>"),
    ("exists", "<x:b>"),
    ("spread", "<x-:a<o>>"),
    ("merge", "<a<o>:o>"),
    ("reverse", "<a:a>"),
    ("each", "<o-f:a>"),
    ("error", "<s?:x>"),
    ("assert", "<bs?:x>"),
    ("type", "<x:s>"),
    ("sort", "<af?:a>"),
    ("shuffle", "<a:a>"),
    ("distinct", "<x:x>"),
    ("base64encode", "<s-:s>"),
    ("base64decode", "<s-:s>"),
    ("encodeUrlComponent", "<s-:s>"),
    ("encodeUrl", "<s-:s>"),
    ("decodeUrlComponent", "<s-:s>"),
    ("decodeUrl", "<s-:s>"),
    ("eval", "<sx?:x>"),
    ("toMillis", "<s-s?:n>"),
    ("fromMillis", "<n-s?s?:s>"),
    ("clone", "<(oa)-:o>"),
    ("now", "<s?s?:s>"),
    ("millis", "<:n>"),
];

const SFN_BUILTINS: &[(&str, &str)] = &[
    ("partition", "<an:a>"),
    ("range", "<nnn?:a>"),
    ("hash", "<ss:s>"),
    ("random", "<n?:n>"),
    ("uuid", "<:s>"),
    ("parse", "<s:j>"),
];

fn sigs() -> &'static HashMap<&'static str, (Signature, usize)> {
    static SIGS: OnceLock<HashMap<&'static str, (Signature, usize)>> = OnceLock::new();
    SIGS.get_or_init(|| {
        let mut m = HashMap::new();
        for (name, sig) in BUILTINS.iter() {
            if let Ok(s) = Signature::parse(sig) {
                m.insert(*name, (s, arity_of(sig)));
            }
        }
        for (name, sig) in SFN_BUILTINS.iter() {
            if let Ok(s) = Signature::parse(sig) {
                let key: &'static str = match *name {
                    "random" => "sfn:random",
                    other => other,
                };
                m.insert(key, (s, arity_of(sig)));
            }
        }
        m
    })
}

fn arity_of(sig: &str) -> usize {
    let params = sig.trim_start_matches('<').split(':').next().unwrap_or("");
    let mut n = 0;
    let mut depth = 0;
    let chars: Vec<char> = params.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            '(' if depth == 0 => {
                n += 1;
                while i < chars.len() && chars[i] != ')' {
                    i += 1;
                }
            }
            '?' if depth == 0 => n -= 1,
            c if depth == 0 && c.is_ascii_alphabetic() => n += 1,
            _ => {}
        }
        i += 1;
    }
    n.max(0) as usize
}

/// Resolve a built-in function name (without `$`).
pub fn builtin(name: &str, sfn: bool) -> Option<&'static str> {
    if sfn {
        if name == "eval" {
            return None;
        }
        if let Some((n, _)) = SFN_BUILTINS.iter().find(|(n, _)| *n == name) {
            return Some(if *n == "random" { "sfn:random" } else { n });
        }
    }
    static INDEX: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    INDEX
        .get_or_init(|| BUILTINS.iter().map(|(n, _)| (*n, *n)).collect())
        .get(name)
        .copied()
}

/// The number of arguments a function value expects (for higher-order calls).
pub fn arity(f: &Value) -> usize {
    match f {
        Value::Func(func) => match &**func {
            Func::Lambda { def, .. } => def.params.len(),
            Func::Builtin(name) => sigs().get(name).map(|s| s.1).unwrap_or(1),
            Func::Partial { args, .. } => args.iter().filter(|a| a.is_none()).count(),
            Func::Chain(a, _) => arity(a),
            _ => 1,
        },
        _ => 0,
    }
}

/// Compare strings as JavaScript does (by UTF-16 code units).
pub fn cmp_js_str(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Format a number as JavaScript's `Number.prototype.toString` does.
pub fn js_number(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if n == 0.0 {
        return "0".into();
    }
    let neg = n < 0.0;
    let e = format!("{:e}", n.abs());
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let k = digits.len() as i32;
    let np = exp + 1;
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    if k <= np && np <= 21 {
        s.push_str(&digits);
        for _ in 0..(np - k) {
            s.push('0');
        }
    } else if 0 < np && np <= 21 {
        s.push_str(&digits[..np as usize]);
        s.push('.');
        s.push_str(&digits[np as usize..]);
    } else if -6 < np && np <= 0 {
        s.push_str("0.");
        for _ in 0..(-np) {
            s.push('0');
        }
        s.push_str(&digits);
    } else {
        s.push_str(&digits[..1]);
        if k > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push('e');
        s.push(if np > 0 { '+' } else { '-' });
        s.push_str(&(np - 1).abs().to_string());
    }
    s
}

/// Round to 15 significant digits as JSONata does before stringifying.
pub fn precise(n: f64) -> f64 {
    if n.fract() == 0.0 {
        return n;
    }
    format!("{:.14e}", n).parse().unwrap_or(n)
}

fn json_escape(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn stringify(v: &Value, pretty: bool, indent: usize, out: &mut String) -> Result<(), Error> {
    stacker::maybe_grow(crate::eval::RED_ZONE, crate::eval::STACK_CHUNK, || {
        stringify_inner(v, pretty, indent, out)
    })
}

fn stringify_inner(v: &Value, pretty: bool, indent: usize, out: &mut String) -> Result<(), Error> {
    if indent > 2000 {
        return Err(Error::new("U1001", "Value nested too deeply"));
    }
    match v {
        Value::Undefined => out.push_str("null"),
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if n.is_finite() {
                out.push_str(&js_number(precise(*n)))
            } else {
                return Err(Error::new("D1001", "Number out of range"));
            }
        }
        Value::String(s) => json_escape(s, out),
        Value::Func(_) => out.push_str("\"\""),
        Value::Array(a, _) => {
            if a.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if pretty {
                    out.push('\n');
                    out.push_str(&"  ".repeat(indent + 1));
                }
                if x.is_undefined() {
                    out.push_str("null");
                } else {
                    stringify(x, pretty, indent + 1, out)?;
                }
            }
            if pretty {
                out.push('\n');
                out.push_str(&"  ".repeat(indent));
            }
            out.push(']');
        }
        Value::Object(m) => {
            let entries: Vec<_> = m.iter().filter(|(_, v)| !v.is_undefined()).collect();
            if entries.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (k, x)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if pretty {
                    out.push('\n');
                    out.push_str(&"  ".repeat(indent + 1));
                }
                json_escape(k, out);
                out.push(':');
                if pretty {
                    out.push(' ');
                }
                stringify(x, pretty, indent + 1, out)?;
            }
            if pretty {
                out.push('\n');
                out.push_str(&"  ".repeat(indent));
            }
            out.push('}');
        }
    }
    Ok(())
}

/// `$string` semantics; `None` for undefined.
pub fn to_string_opt(v: &Value) -> Result<Option<String>, Error> {
    to_string_pretty(v, false)
}

fn to_string_pretty(v: &Value, pretty: bool) -> Result<Option<String>, Error> {
    Ok(Some(match v {
        Value::Undefined => return Ok(None),
        Value::String(s) => s.to_string(),
        Value::Func(_) => String::new(),
        Value::Number(n) => {
            if !n.is_finite() {
                return Err(Error::new(
                    "D3001",
                    "Attempting to invoke string function on Infinity or NaN",
                ));
            }
            js_number(precise(*n))
        }
        other => {
            let mut s = String::new();
            stringify(other, pretty, 0, &mut s)?;
            s
        }
    }))
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn chars_of(s: &str) -> Vec<char> {
    s.chars().collect()
}

/// Build the match object for a regex match starting at byte `from`.
pub fn regex_match_object(re: &Arc<JsRegex>, text: &str, from: usize) -> Result<Value, Error> {
    let Some(m) = re.find_at(text, from)? else {
        return Ok(Value::Undefined);
    };
    let mut o = Map::new();
    o.insert(Arc::from("match"), Value::string(m.text.clone()));
    o.insert(Arc::from("start"), Value::Number(m.start as f64));
    o.insert(Arc::from("end"), Value::Number(m.end as f64));
    o.insert(
        Arc::from("groups"),
        Value::array(
            m.groups
                .iter()
                .map(|g| Value::string(g.clone().unwrap_or_default()))
                .collect(),
        ),
    );
    let next_from = if m.byte_end == m.byte_start {
        m.byte_end + 1
    } else {
        m.byte_end
    };
    o.insert(
        Arc::from("next"),
        Value::Func(Arc::new(Func::MatchNext {
            re: re.clone(),
            text: Arc::from(text),
            from: next_from,
        })),
    );
    Ok(Value::object(o))
}

fn d_err(code: &str, pos: usize, msg: &str) -> Error {
    Error::at(code, pos, msg)
}

/// JSONata `$round`: half to even at a decimal precision.
pub fn round_half_even(n: f64, precision: i32) -> f64 {
    // beyond ±400 decimal places every f64 is already exact or zero
    let precision = precision.clamp(-400, 400);
    let shifted: f64 = shift(n, precision);
    let mut r = (shifted + 0.5).floor();
    if r - shifted == 0.5 && r % 2.0 != 0.0 {
        r -= 1.0;
    }
    shift(r, -precision)
}

fn shift(n: f64, by: i32) -> f64 {
    if by == 0 {
        return n;
    }
    let s = format!("{:e}", n);
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    format!("{m}e{}", e.saturating_add(by)).parse().unwrap_or(n)
}

fn js_split(s: &str, sep: &str) -> Vec<String> {
    if sep.is_empty() {
        return s.chars().map(|c| c.to_string()).collect();
    }
    s.split(sep).map(|x| x.to_string()).collect()
}

fn encode_uri(s: &str, keep: &str, pos: usize) -> Result<String, Error> {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || "-_.!~*'()".contains(c) || keep.contains(c) {
            out.push(c);
        } else {
            if c == '\u{FFFD}' {
                return Err(d_err("D3140", pos, "Malformed URL passed to encode"));
            }
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{:02X}", b));
            }
        }
    }
    Ok(out)
}

fn decode_uri(s: &str, reserved: &str, pos: usize) -> Result<String, Error> {
    let bytes = s.as_bytes();
    let mut out: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(b) = hex else {
                return Err(d_err("D3140", pos, "Malformed URL passed to decode"));
            };
            if b < 0x80 && reserved.contains(b as char) {
                out.extend_from_slice(&bytes[i..i + 3]);
            } else {
                out.push(b);
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| d_err("D3140", pos, "Malformed URL passed to decode"))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        out.push(B64[(n >> 18) as usize & 63] as char);
        out.push(B64[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            B64[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            B64[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

fn b64decode(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let Some(v) = B64.iter().position(|&x| x == c) else {
            continue;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// A match from a user matcher: text, start, end (chars) and groups.
type CustomMatch = (String, usize, usize, Vec<Value>);

impl<'e> Evaluator<'e> {
    fn hof_args(&self, f: &Value, v: Value, i: Value, arr: &Value) -> Vec<Value> {
        let n = arity(f);
        let mut a = vec![v];
        if n >= 2 {
            a.push(i);
        }
        if n >= 3 {
            a.push(arr.clone());
        }
        a
    }

    /// Call a built-in by name after validating its signature.
    pub fn call_builtin(
        &mut self,
        name: &str,
        args: Vec<Value>,
        input: &Value,
        pos: usize,
    ) -> Result<Value, Error> {
        let display = name.trim_start_matches("sfn:");
        let args = match sigs().get(name) {
            Some((sig, _)) => sig
                .validate(args, input, display)
                .map_err(|e| e.or_pos(pos))?,
            None => args,
        };
        let a = |i: usize| args.get(i).cloned().unwrap_or(Value::Undefined);
        let undef = Value::Undefined;
        let first = a(0);
        macro_rules! str0 {
            () => {
                match &first {
                    Value::String(s) => s.clone(),
                    _ => return Ok(undef),
                }
            };
        }
        macro_rules! num0 {
            () => {
                match &first {
                    Value::Number(n) => *n,
                    _ => return Ok(undef),
                }
            };
        }
        Ok(match name {
            "sum" => match first {
                Value::Undefined => undef,
                v => Value::Number(v.members().iter().filter_map(num).sum()),
            },
            "count" => Value::Number(first.members().len() as f64),
            "max" | "min" => {
                let nums: Vec<f64> = first.members().iter().filter_map(num).collect();
                if nums.is_empty() {
                    undef
                } else if name == "max" {
                    Value::Number(nums.iter().cloned().fold(f64::NEG_INFINITY, f64::max))
                } else {
                    Value::Number(nums.iter().cloned().fold(f64::INFINITY, f64::min))
                }
            }
            "average" => {
                let nums: Vec<f64> = first.members().iter().filter_map(num).collect();
                if nums.is_empty() {
                    undef
                } else {
                    Value::Number(nums.iter().sum::<f64>() / nums.len() as f64)
                }
            }
            "string" => {
                let pretty = matches!(a(1), Value::Bool(true));
                match to_string_pretty(&first, pretty).map_err(|e| e.or_pos(pos))? {
                    Some(s) => Value::string(s),
                    None => undef,
                }
            }
            "substring" => {
                let s = str0!();
                let chars = chars_of(&s);
                let len = chars.len() as i64;
                let Some(start) = num(&a(1)) else {
                    return Ok(undef);
                };
                // clamp first so that huge arguments cannot overflow
                let lenf = len as f64;
                let mut start = start.clamp(-lenf - 1.0, lenf + 1.0) as i64;
                if len + start < 0 {
                    start = 0;
                }
                let from = if start < 0 {
                    (len + start).max(0)
                } else {
                    start.min(len)
                };
                let to = match num(&a(2)) {
                    Some(l) => {
                        if l <= 0.0 {
                            return Ok(Value::str(""));
                        }
                        let l = l.min(2.0 * lenf + 2.0) as i64;
                        let end = if start >= 0 {
                            start + l
                        } else {
                            len + start + l
                        };
                        end.clamp(0, len)
                    }
                    None => len,
                };
                if to <= from {
                    Value::str("")
                } else {
                    Value::string(chars[from as usize..to as usize].iter().collect())
                }
            }
            "substringBefore" | "substringAfter" => {
                let s = str0!();
                let Some(chars) = a(1).as_str().map(|x| x.to_string()) else {
                    return Ok(first);
                };
                match s.find(&chars) {
                    Some(i) => {
                        if name == "substringBefore" {
                            Value::str(&s[..i])
                        } else {
                            Value::str(&s[i + chars.len()..])
                        }
                    }
                    None => first.clone(),
                }
            }
            "lowercase" => Value::string(str0!().to_lowercase()),
            "uppercase" => Value::string(str0!().to_uppercase()),
            "length" => Value::Number(str0!().chars().count() as f64),
            "trim" => {
                let s = str0!();
                let mut out = String::new();
                let mut ws = false;
                for c in s.chars() {
                    if matches!(c, ' ' | '\t' | '\n' | '\r') {
                        ws = true;
                    } else {
                        if ws && !out.is_empty() {
                            out.push(' ');
                        }
                        ws = false;
                        out.push(c);
                    }
                }
                Value::string(out)
            }
            "pad" => {
                let s = str0!();
                let Some(width) = num(&a(1)) else {
                    return Ok(undef);
                };
                let pad_s = match a(2) {
                    Value::String(p) if !p.is_empty() => p.to_string(),
                    _ => " ".to_string(),
                };
                let len = s.chars().count() as i64;
                let w = width.abs().trunc() as i64;
                if w <= len {
                    return Ok(first);
                }
                if w > MAX_STRING_CHARS {
                    return Err(d_err("D3200", pos, "The width of $pad is too large"));
                }
                let need = (w - len) as usize;
                let padding: String = pad_s.chars().cycle().take(need).collect();
                if width > 0.0 {
                    Value::string(format!("{s}{padding}"))
                } else {
                    Value::string(format!("{padding}{s}"))
                }
            }
            "contains" => {
                let s = str0!();
                match a(1) {
                    Value::String(p) => Value::Bool(s.contains(&*p)),
                    Value::Func(f) => match &*f {
                        Func::Regex(re) => Value::Bool(re.find_at(&s, 0)?.is_some()),
                        _ => {
                            let r = self.apply(
                                &Value::Func(f.clone()),
                                vec![first.clone()],
                                input,
                                pos,
                            )?;
                            Value::Bool(!r.is_undefined())
                        }
                    },
                    _ => undef,
                }
            }
            "match" => {
                let s = str0!();
                let limit = num(&a(2));
                if let Some(l) = limit {
                    if l < 0.0 {
                        return Err(d_err(
                            "D3040",
                            pos,
                            "Third argument of match function must evaluate to a positive number",
                        ));
                    }
                }
                let Value::Func(f) = a(1) else {
                    return Ok(undef);
                };
                let Func::Regex(re) = &*f else {
                    let ms =
                        self.custom_matches(&a(1), &s, limit.map(|l| l as usize), input, pos)?;
                    let out = ms
                        .into_iter()
                        .map(|(text, start, _, groups)| {
                            let mut o = Map::new();
                            o.insert(Arc::from("match"), Value::string(text));
                            o.insert(Arc::from("index"), Value::Number(start as f64));
                            o.insert(Arc::from("groups"), Value::array(groups));
                            Value::object(o)
                        })
                        .collect();
                    return Ok(Value::seq(out));
                };
                let ms = re.find_all(&s, limit.map(|l| l as usize))?;
                let out: Vec<Value> = ms
                    .into_iter()
                    .map(|m| {
                        let mut o = Map::new();
                        o.insert(Arc::from("match"), Value::string(m.text));
                        o.insert(Arc::from("index"), Value::Number(m.start as f64));
                        o.insert(
                            Arc::from("groups"),
                            Value::array(
                                m.groups
                                    .into_iter()
                                    .map(|g| Value::string(g.unwrap_or_default()))
                                    .collect(),
                            ),
                        );
                        Value::object(o)
                    })
                    .collect();
                Value::seq(out)
            }
            "replace" => self.replace(&args, input, pos)?,
            "split" => {
                let s = str0!();
                let limit = num(&a(2));
                if let Some(l) = limit {
                    if l < 0.0 {
                        return Err(d_err(
                            "D3020",
                            pos,
                            "Third argument of split function must evaluate to a positive number",
                        ));
                    }
                }
                let mut parts: Vec<String> = match a(1) {
                    Value::String(sep) => js_split(&s, &sep),
                    Value::Func(f) => match &*f {
                        Func::Regex(re) => {
                            let ms = re.find_all(&s, None)?;
                            let mut out = Vec::new();
                            let mut last = 0;
                            for m in ms {
                                out.push(s[last..m.byte_start].to_string());
                                last = m.byte_end;
                            }
                            out.push(s[last..].to_string());
                            out
                        }
                        _ => {
                            let ms = self.custom_matches(&a(1), &s, None, input, pos)?;
                            let chars: Vec<char> = s.chars().collect();
                            let mut out = Vec::new();
                            let mut last = 0usize;
                            for (_, start, end, _) in ms {
                                let start = start.min(chars.len()).max(last);
                                out.push(chars[last..start].iter().collect());
                                last = end.min(chars.len()).max(start);
                            }
                            out.push(chars[last..].iter().collect());
                            out
                        }
                    },
                    _ => return Ok(undef),
                };
                if let Some(l) = limit {
                    parts.truncate(l as usize);
                }
                Value::array(parts.into_iter().map(Value::string).collect())
            }
            "join" => {
                if first.is_undefined() {
                    return Ok(undef);
                }
                let sep = a(1).as_str().map(|s| s.to_string()).unwrap_or_default();
                let parts: Vec<&str> = first.members().iter().filter_map(|v| v.as_str()).collect();
                let total: usize = parts.iter().map(|p| p.len() + sep.len()).sum();
                crate::eval::check_string_size(total, pos)?;
                Value::string(parts.join(&sep))
            }
            "formatNumber" => {
                let n = num0!();
                crate::format::format_number(n, a(1).as_str().unwrap_or(""), &a(2))
                    .map_err(|e| e.or_pos(pos))?
            }
            "formatBase" => {
                let n = num0!();
                let radix = num(&a(1)).unwrap_or(10.0);
                if !(2.0..=36.0).contains(&radix) {
                    return Err(d_err(
                        "D3100",
                        pos,
                        "The radix of the formatBase function must be between 2 and 36",
                    ));
                }
                let n = round_half_even(n, 0);
                let neg = n < 0.0;
                let mut v = n.abs() as u64;
                let radix = radix as u64;
                let mut digits = Vec::new();
                if v == 0 {
                    digits.push('0');
                }
                while v > 0 {
                    digits.push(
                        std::char::from_digit((v % radix) as u32, radix as u32).unwrap_or('0'),
                    );
                    v /= radix;
                }
                if neg {
                    digits.push('-');
                }
                Value::string(digits.into_iter().rev().collect())
            }
            "formatInteger" => {
                let n = num0!();
                Value::string(
                    crate::format::format_integer(n, a(1).as_str().unwrap_or(""))
                        .map_err(|e| e.or_pos(pos))?,
                )
            }
            "parseInteger" => {
                let s = str0!();
                crate::format::parse_integer(&s, a(1).as_str().unwrap_or(""))
                    .map_err(|e| e.or_pos(pos))?
            }
            "number" => match &first {
                Value::Number(_) => first.clone(),
                Value::Bool(b) => Value::Number(if *b { 1.0 } else { 0.0 }),
                Value::String(s) => match parse_js_number(s) {
                    Some(n) => Value::Number(n),
                    None => {
                        return Err(d_err("D3030", pos, "Unable to cast value to a number")
                            .with_token(s.to_string()))
                    }
                },
                Value::Undefined => undef,
                _ => return Err(d_err("D3030", pos, "Unable to cast value to a number")),
            },
            "floor" => Value::Number(num0!().floor()),
            "ceil" => Value::Number(num0!().ceil()),
            "abs" => Value::Number(num0!().abs()),
            "round" => {
                let n = num0!();
                let p = num(&a(1)).unwrap_or(0.0) as i32;
                Value::Number(round_half_even(n, p))
            }
            "sqrt" => {
                let n = num0!();
                if n < 0.0 {
                    return Err(d_err(
                        "D3060",
                        pos,
                        "The sqrt function cannot be applied to a negative number",
                    ));
                }
                Value::Number(n.sqrt())
            }
            "power" => {
                let n = num0!();
                let Some(e) = num(&a(1)) else {
                    return Ok(undef);
                };
                let r = n.powf(e);
                if !r.is_finite() {
                    return Err(d_err("D3061", pos, "The power function has resulted in a value that cannot be represented as a JSON number"));
                }
                Value::Number(r)
            }
            "random" => Value::Number(self.env.host.random()),
            "millis" => Value::Number(self.now_millis() as f64),
            "now" => {
                let ms = self.now_millis();
                crate::datetime::from_millis(ms as f64, a(0).as_str(), a(1).as_str())
                    .map_err(|e| e.or_pos(pos))?
            }
            "boolean" => match boolean(&first) {
                Some(b) => Value::Bool(b),
                None => undef,
            },
            "not" => match boolean(&first) {
                Some(b) => Value::Bool(!b),
                None => undef,
            },
            "map" => {
                let f = a(1);
                let mut out = Vec::new();
                for (i, v) in first.members().iter().enumerate() {
                    let args = self.hof_args(&f, v.clone(), Value::Number(i as f64), &first);
                    let r = self.apply(&f, args, input, pos)?;
                    if !r.is_undefined() {
                        out.push(r);
                    }
                }
                Value::seq(out)
            }
            "filter" => {
                let f = a(1);
                let mut out = Vec::new();
                for (i, v) in first.members().iter().enumerate() {
                    let args = self.hof_args(&f, v.clone(), Value::Number(i as f64), &first);
                    let r = self.apply(&f, args, input, pos)?;
                    if boolean(&r) == Some(true) {
                        out.push(v.clone());
                    }
                }
                Value::seq(out)
            }
            "single" => {
                if first.is_undefined() {
                    return Ok(undef);
                }
                let f = a(1);
                let mut found: Option<Value> = None;
                for (i, v) in first.members().iter().enumerate() {
                    let ok = if f.is_undefined() {
                        true
                    } else {
                        let args = self.hof_args(&f, v.clone(), Value::Number(i as f64), &first);
                        boolean(&self.apply(&f, args, input, pos)?) == Some(true)
                    };
                    if ok {
                        if found.is_some() {
                            return Err(d_err("D3138", pos, "The $single() function expected exactly 1 matching result.  Instead it matched more."));
                        }
                        found = Some(v.clone());
                    }
                }
                match found {
                    Some(v) => v,
                    None => return Err(d_err("D3139", pos, "The $single() function expected exactly 1 matching result.  Instead it matched 0.")),
                }
            }
            "reduce" => {
                if first.is_undefined() {
                    return Ok(undef);
                }
                let f = a(1);
                let n = arity(&f);
                if n < 2 {
                    return Err(d_err("D3050", pos, "The second argument of reduce function must be a function with at least two arguments"));
                }
                let items = first.members();
                let (mut acc, start) = if a(2).is_undefined() {
                    (items.first().cloned().unwrap_or(Value::Undefined), 1)
                } else {
                    (a(2), 0)
                };
                for (i, v) in items.iter().enumerate().skip(start) {
                    let mut args = vec![acc, v.clone()];
                    if n >= 3 {
                        args.push(Value::Number(i as f64));
                    }
                    if n >= 4 {
                        args.push(first.clone());
                    }
                    acc = self.apply(&f, args, input, pos)?;
                }
                acc
            }
            "sift" => {
                let Value::Object(m) = &first else {
                    return Ok(undef);
                };
                let f = a(1);
                let mut out = Map::new();
                for (k, v) in m.iter() {
                    let args = self.hof_args(&f, v.clone(), Value::String(k.clone()), &first);
                    if boolean(&self.apply(&f, args, input, pos)?) == Some(true) {
                        out.insert(k.clone(), v.clone());
                    }
                }
                if out.is_empty() {
                    undef
                } else {
                    Value::object(out)
                }
            }
            "each" => {
                let Value::Object(m) = &first else {
                    return Ok(undef);
                };
                let f = a(1);
                let mut out = Vec::new();
                for (k, v) in m.iter() {
                    let args = self.hof_args(&f, v.clone(), Value::String(k.clone()), &first);
                    let r = self.apply(&f, args, input, pos)?;
                    if !r.is_undefined() {
                        out.push(r);
                    }
                }
                Value::seq(out)
            }
            "zip" => {
                let arrays: Vec<&Value> = args.iter().collect();
                if arrays.iter().any(|x| x.is_undefined()) {
                    return Ok(Value::array(vec![]));
                }
                let len = arrays.iter().map(|x| x.members().len()).min().unwrap_or(0);
                let out = (0..len)
                    .map(|i| Value::array(arrays.iter().map(|x| x.members()[i].clone()).collect()))
                    .collect();
                Value::array(out)
            }
            "keys" => {
                let mut keys: indexmap::IndexSet<Arc<str>> = indexmap::IndexSet::new();
                for item in first.members() {
                    if let Value::Object(m) = item {
                        for k in m.keys() {
                            keys.insert(k.clone());
                        }
                    }
                }
                Value::seq(keys.into_iter().map(Value::String).collect())
            }
            "lookup" => {
                let Some(k) = a(1).as_str().map(|s| s.to_string()) else {
                    return Ok(undef);
                };
                lookup(&first, &k)
            }
            "append" => {
                crate::eval::check_array_size(first.members().len() + a(1).members().len(), pos)?;
                append(first, a(1))
            }
            "exists" => Value::Bool(!first.is_undefined()),
            "spread" => match &first {
                Value::Undefined => undef,
                Value::Array(..) | Value::Object(_) => {
                    let mut out = Vec::new();
                    for item in first.members() {
                        match item {
                            Value::Object(m) => {
                                for (k, v) in m.iter() {
                                    let mut o = Map::new();
                                    o.insert(k.clone(), v.clone());
                                    out.push(Value::object(o));
                                }
                            }
                            other => out.push(other.clone()),
                        }
                    }
                    Value::seq(out)
                }
                other => other.clone(),
            },
            "merge" => {
                if first.is_undefined() {
                    return Ok(undef);
                }
                let mut out = Map::new();
                for item in first.members() {
                    if let Value::Object(m) = item {
                        for (k, v) in m.iter() {
                            out.insert(k.clone(), v.clone());
                        }
                    }
                }
                Value::object(out)
            }
            "reverse" => {
                if first.is_undefined() {
                    return Ok(undef);
                }
                let mut v = first.members().to_vec();
                v.reverse();
                Value::array(v)
            }
            "error" => {
                let msg = a(0)
                    .as_str()
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "$error() function evaluated".into());
                return Err(d_err("D3137", pos, &msg));
            }
            "assert" => {
                if !matches!(first, Value::Bool(_)) {
                    return Err(d_err(
                        "T0410",
                        pos,
                        "Argument 1 of function assert does not match function signature",
                    ));
                }
                if matches!(first, Value::Bool(false)) {
                    let msg = a(1)
                        .as_str()
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "$assert() statement failed".into());
                    return Err(d_err("D3141", pos, &msg));
                }
                undef
            }
            "type" => match first.type_name() {
                Some(t) => Value::str(t),
                None => undef,
            },
            "sort" => self.sort_fn(first, a(1), input, pos)?,
            "shuffle" => {
                if first.is_undefined() {
                    return Ok(undef);
                }
                let mut v = first.members().to_vec();
                for i in (1..v.len()).rev() {
                    let j = (self.env.host.random() * (i + 1) as f64) as usize;
                    v.swap(i, j.min(i));
                }
                Value::array(v)
            }
            "distinct" => match &first {
                Value::Array(items, _) if items.len() > 1 => {
                    // scalars are de-duplicated by key; other values by deep equality
                    let mut seen: std::collections::HashSet<String> =
                        std::collections::HashSet::new();
                    let mut out: Vec<Value> = Vec::new();
                    for (i, x) in items.iter().enumerate() {
                        if i % 1024 == 1023 {
                            self.check_time(pos)?;
                        }
                        let key = match x {
                            Value::String(s) => Some(format!("s{s}")),
                            Value::Number(n) => {
                                Some(format!("n{}", if *n == 0.0 { 0 } else { n.to_bits() }))
                            }
                            Value::Bool(b) => Some(format!("b{b}")),
                            Value::Null => Some("l".to_string()),
                            _ => None,
                        };
                        match key {
                            Some(k) => {
                                if seen.insert(k) {
                                    out.push(x.clone());
                                }
                            }
                            None => {
                                if !out.iter().any(|y| deep_equal(x, y)) {
                                    out.push(x.clone());
                                }
                            }
                        }
                    }
                    Value::seq(out)
                }
                other => other.clone(),
            },
            "base64encode" => Value::string(b64encode(str0!().as_bytes())),
            "base64decode" => {
                Value::string(String::from_utf8_lossy(&b64decode(&str0!())).into_owned())
            }
            "encodeUrlComponent" => Value::string(encode_uri(&str0!(), "", pos)?),
            "encodeUrl" => Value::string(encode_uri(&str0!(), ";,/?:@&=+$#", pos)?),
            "decodeUrlComponent" => Value::string(decode_uri(&str0!(), "", pos)?),
            "decodeUrl" => Value::string(decode_uri(&str0!(), ";,/?:@&=+$#", pos)?),
            "eval" => {
                let src = str0!();
                let parsed = crate::parser::parse(&src).map_err(|e| {
                    Error::at(
                        "D3120",
                        pos,
                        format!(
                            "Syntax error in expression passed to function eval: {}",
                            e.message
                        ),
                    )
                })?;
                let ctx = if a(1).is_undefined() {
                    input.clone()
                } else {
                    a(1)
                };
                // evaluate in the caller's environment, in this evaluator, so
                // that closures it returns share this evaluation's frames
                let labels = std::mem::replace(&mut self.labels, Arc::from(parsed.labels));
                let root = std::mem::replace(&mut self.root, ctx.clone());
                let frame = self.new_frame(self.caller_frame);
                let r = self.eval(&parsed.root, &ctx, frame);
                self.labels = labels;
                self.root = root;
                r.map_err(|e| {
                    Error::at(
                        "D3121",
                        pos,
                        format!(
                            "Dynamic error evaluating the expression passed to function eval: {}",
                            e.message
                        ),
                    )
                })?
            }
            "toMillis" => {
                let s = str0!();
                match crate::datetime::to_millis(&s, a(1).as_str(), self.now_millis())
                    .map_err(|e| e.or_pos(pos))?
                {
                    Some(n) => Value::Number(n),
                    None => undef,
                }
            }
            "fromMillis" => {
                let n = num0!();
                crate::datetime::from_millis(n, a(1).as_str(), a(2).as_str())
                    .map_err(|e| e.or_pos(pos))?
            }
            "clone" => first.clone(),
            _ => return crate::step_functions::call(self, name, args, pos),
        })
    }

    /// Run a user-supplied matcher function (the protocol regexes follow).
    fn custom_matches(
        &mut self,
        f: &Value,
        s: &str,
        limit: Option<usize>,
        input: &Value,
        pos: usize,
    ) -> Result<Vec<CustomMatch>, Error> {
        let bad = || {
            d_err(
                "T1010",
                pos,
                "The matcher function argument passed to function does not return the correct object structure",
            )
        };
        let mut out = Vec::new();
        let mut r = self.apply(f, vec![Value::str(s)], input, pos)?;
        while limit.is_none_or(|l| out.len() < l) {
            self.check_time(pos)?;
            let m = match &r {
                Value::Undefined => break,
                Value::Object(m) => m.clone(),
                _ => return Err(bad()),
            };
            let (Some(Value::String(text)), Some(Value::Number(start)), Some(Value::Number(end))) =
                (m.get("match"), m.get("start"), m.get("end"))
            else {
                return Err(bad());
            };
            let groups = match m.get("groups") {
                Some(Value::Array(g, _)) => g.to_vec(),
                _ => return Err(bad()),
            };
            out.push((text.to_string(), *start as usize, *end as usize, groups));
            match m.get("next") {
                Some(next @ Value::Func(_)) => r = self.apply(next, vec![], input, pos)?,
                _ => break,
            }
        }
        Ok(out)
    }

    /// The evaluation's timestamp: read from the host once, so `$now()` and
    /// `$millis()` agree throughout one evaluation.
    fn now_millis(&mut self) -> i64 {
        *self.now.get_or_insert_with(|| self.env.host.now_millis())
    }

    fn sort_fn(&mut self, arr: Value, f: Value, input: &Value, pos: usize) -> Result<Value, Error> {
        if arr.is_undefined() {
            return Ok(arr);
        }
        let mut items = arr.members().to_vec();
        if items.len() <= 1 {
            return Ok(Value::array(items));
        }
        if f.is_undefined() {
            let all_num = items.iter().all(|x| matches!(x, Value::Number(_)));
            let all_str = items.iter().all(|x| matches!(x, Value::String(_)));
            if !all_num && !all_str {
                return Err(d_err("D3070", pos, "The single argument form of the sort function can only be applied to an array of strings or an array of numbers.  Use the second argument to specify a comparison function"));
            }
            items.sort_by(|a, b| match (a, b) {
                (Value::Number(x), Value::Number(y)) => {
                    x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal)
                }
                (Value::String(x), Value::String(y)) => cmp_js_str(x, y),
                _ => std::cmp::Ordering::Equal,
            });
            return Ok(Value::array(items));
        }
        // stable merge sort with a fallible comparator: swap when f(a, b) is true
        let sorted = self.merge_sort(items, &f, input, pos)?;
        Ok(Value::array(sorted))
    }

    fn merge_sort(
        &mut self,
        items: Vec<Value>,
        f: &Value,
        input: &Value,
        pos: usize,
    ) -> Result<Vec<Value>, Error> {
        if items.len() <= 1 {
            return Ok(items);
        }
        let mid = items.len() / 2;
        let mut left = items;
        let right = left.split_off(mid);
        let left = self.merge_sort(left, f, input, pos)?;
        let right = self.merge_sort(right, f, input, pos)?;
        let mut out = Vec::with_capacity(left.len() + right.len());
        let (mut i, mut j) = (0, 0);
        while i < left.len() && j < right.len() {
            let swap = self.apply(f, vec![left[i].clone(), right[j].clone()], input, pos)?;
            if boolean(&swap) == Some(true) {
                out.push(right[j].clone());
                j += 1;
            } else {
                out.push(left[i].clone());
                i += 1;
            }
        }
        out.extend_from_slice(&left[i..]);
        out.extend_from_slice(&right[j..]);
        Ok(out)
    }

    fn replace(&mut self, args: &[Value], input: &Value, pos: usize) -> Result<Value, Error> {
        let a = |i: usize| args.get(i).cloned().unwrap_or(Value::Undefined);
        let Value::String(s) = a(0) else {
            return Ok(Value::Undefined);
        };
        let limit = num(&a(3));
        if let Some(l) = limit {
            if l < 0.0 {
                return Err(d_err(
                    "D3011",
                    pos,
                    "Fourth argument of replace function must evaluate to a positive number",
                ));
            }
        }
        let limit = limit.map(|l| l as usize);
        let replacement = a(2);
        match a(1) {
            Value::String(pat) => {
                if pat.is_empty() {
                    return Err(d_err(
                        "D3010",
                        pos,
                        "Second argument of replace function cannot be an empty string",
                    ));
                }
                let Value::String(rep) = &replacement else {
                    return Err(d_err(
                        "T0410",
                        pos,
                        "Argument 3 of function replace does not match function signature",
                    ));
                };
                let mut out = String::new();
                let mut rest: &str = &s;
                let mut count = 0;
                while limit.is_none_or(|l| count < l) {
                    let Some(i) = rest.find(&*pat) else { break };
                    out.push_str(&rest[..i]);
                    out.push_str(rep);
                    rest = &rest[i + pat.len()..];
                    count += 1;
                }
                out.push_str(rest);
                Ok(Value::string(out))
            }
            Value::Func(f) => {
                let Func::Regex(re) = &*f else {
                    return Ok(Value::Undefined);
                };
                let ms = re.find_all(&s, limit)?;
                let mut out = String::new();
                let mut last = 0;
                for m in ms {
                    out.push_str(&s[last..m.byte_start]);
                    match &replacement {
                        Value::String(rep) => out.push_str(&substitute(rep, &m)),
                        Value::Func(_) => {
                            let mut o = Map::new();
                            o.insert(Arc::from("match"), Value::string(m.text.clone()));
                            o.insert(Arc::from("index"), Value::Number(m.start as f64));
                            o.insert(
                                Arc::from("groups"),
                                Value::array(
                                    m.groups
                                        .iter()
                                        .map(|g| Value::string(g.clone().unwrap_or_default()))
                                        .collect(),
                                ),
                            );
                            let r = self.apply(&replacement, vec![Value::object(o)], input, pos)?;
                            match r {
                                Value::String(x) => out.push_str(&x),
                                _ => return Err(d_err(
                                    "D3012",
                                    pos,
                                    "Attempted to replace a matched string with a non-string value",
                                )),
                            }
                        }
                        _ => return Ok(Value::Undefined),
                    }
                    last = m.byte_end;
                }
                out.push_str(&s[last..]);
                crate::eval::check_string_size(out.len(), pos)?;
                Ok(Value::string(out))
            }
            _ => Ok(Value::Undefined),
        }
    }
}

fn substitute(rep: &str, m: &crate::regex::Match) -> String {
    let chars: Vec<char> = rep.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '$' {
            out.push(c);
            i += 1;
            continue;
        }
        if i + 1 < chars.len() && chars[i + 1] == '$' {
            out.push('$');
            i += 2;
            continue;
        }
        // collect digits
        let mut j = i + 1;
        while j < chars.len() && chars[j].is_ascii_digit() {
            j += 1;
        }
        if j == i + 1 {
            out.push('$');
            i += 1;
            continue;
        }
        let digits: String = chars[i + 1..j].iter().collect();
        // use the longest prefix that is a valid group number
        let mut used = 0;
        let mut text = String::new();
        for len in (1..=digits.len()).rev() {
            let n: usize = digits[..len].parse().unwrap_or(0);
            if n == 0 && len == 1 {
                text = m.text.clone();
                used = 1;
                break;
            }
            if n >= 1 && n <= m.groups.len() {
                text = m.groups[n - 1].clone().unwrap_or_default();
                used = len;
                break;
            }
        }
        if used == 0 {
            // no such group: drop the first digit
            used = 1;
        }
        out.push_str(&text);
        out.push_str(&digits[used..]);
        i = j;
    }
    out
}

/// Parse a numeric string as JSONata's `$number` does.
pub fn parse_js_number(s: &str) -> Option<f64> {
    let t = s.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t),
    };
    let radix = if body.starts_with("0x") || body.starts_with("0X") {
        Some(16)
    } else if body.starts_with("0o") || body.starts_with("0O") {
        Some(8)
    } else if body.starts_with("0b") || body.starts_with("0B") {
        Some(2)
    } else {
        None
    };
    if let Some(r) = radix {
        let v = u64::from_str_radix(&body[2..], r).ok()? as f64;
        return Some(if neg { -v } else { v });
    }
    let bytes = body.as_bytes();
    if bytes.is_empty() || !(bytes[0].is_ascii_digit() || bytes[0] == b'.') {
        return None;
    }
    if body
        .chars()
        .any(|c| !(c.is_ascii_digit() || "eE+-.".contains(c)))
    {
        return None;
    }
    let v: f64 = body.parse().ok()?;
    if !v.is_finite() {
        return None;
    }
    Some(if neg { -v } else { v })
}
