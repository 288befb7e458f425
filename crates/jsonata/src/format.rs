//! Number formatting and parsing: `$formatNumber` (XPath decimal formats),
//! `$formatInteger` and `$parseInteger` (XPath integer pictures: decimal
//! digit patterns with grouping, roman numerals, letters and English words).

use crate::error::Error;
use crate::value::Value;

/// Zero digits of the Unicode decimal digit families we recognise.
const ZEROS: &[u32] = &[
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x114D0, 0x11650, 0x116C0, 0x11730,
    0x118E0, 0x16A60, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6,
];

/// The zero of the digit family of `c`, if `c` is a decimal digit.
pub fn digit_zero(c: char) -> Option<u32> {
    let v = c as u32;
    ZEROS.iter().copied().find(|&z| v >= z && v < z + 10)
}

const FEW: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const FEW_ORD: [&str; 20] = [
    "zeroth",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
];
const DECADES: [&str; 8] = [
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
const DECADES_ORD: [&str; 8] = [
    "twentieth",
    "thirtieth",
    "fortieth",
    "fiftieth",
    "sixtieth",
    "seventieth",
    "eightieth",
    "ninetieth",
];
const MAGNITUDES: [&str; 4] = ["thousand", "million", "billion", "trillion"];

/// English words for a non-negative whole number.
pub fn to_words(n: f64, ordinal: bool) -> String {
    words_inner(n, false, ordinal, 0)
}

fn words_inner(num: f64, prev: bool, ord: bool, depth: usize) -> String {
    if depth > 20 {
        return String::new();
    }
    let and = if prev { " and " } else { "" };
    if num <= 19.0 {
        let i = num as usize;
        return format!("{and}{}", if ord { FEW_ORD[i] } else { FEW[i] });
    }
    if num < 100.0 {
        let tens = (num / 10.0).floor() as usize;
        let rem = num - tens as f64 * 10.0;
        let mut s = format!(
            "{and}{}",
            if ord && rem == 0.0 {
                DECADES_ORD[tens - 2]
            } else {
                DECADES[tens - 2]
            }
        );
        if rem > 0.0 {
            s.push('-');
            s.push_str(&words_inner(rem, false, ord, depth + 1));
        }
        return s;
    }
    if num < 1000.0 {
        let hundreds = (num / 100.0).floor();
        let rem = num - hundreds * 100.0;
        let mut s = format!("{and}{} hundred", FEW[hundreds as usize]);
        if rem > 0.0 {
            s.push_str(&words_inner(rem, true, ord, depth + 1));
        } else if ord {
            s.push_str("th");
        }
        return s;
    }
    let mut mag = (num.log10() / 3.0).floor() as i32;
    if mag > 4 {
        mag = 4;
    }
    let factor = 10f64.powi(mag * 3);
    let mant = (num / factor).floor();
    let rem = num - mant * factor;
    let mut s = format!(
        "{and}{} {}",
        words_inner(mant, false, false, depth + 1),
        MAGNITUDES[(mag - 1) as usize]
    );
    if rem > 0.0 {
        if rem < 100.0 {
            s.push_str(&words_inner(rem, true, ord, depth + 1));
        } else {
            s.push_str(", ");
            s.push_str(&words_inner(rem, false, ord, depth + 1));
        }
    } else if ord {
        s.push_str("th");
    }
    s
}

fn word_value(w: &str) -> Option<(f64, bool)> {
    // returns (value, is_magnitude)
    if let Some(i) = FEW.iter().position(|x| *x == w) {
        return Some((i as f64, false));
    }
    if let Some(i) = FEW_ORD.iter().position(|x| *x == w) {
        return Some((i as f64, false));
    }
    if let Some(i) = DECADES.iter().position(|x| *x == w) {
        return Some(((i + 2) as f64 * 10.0, false));
    }
    if let Some(i) = DECADES_ORD.iter().position(|x| *x == w) {
        return Some(((i + 2) as f64 * 10.0, false));
    }
    match w {
        "hundred" | "hundredth" => return Some((100.0, true)),
        "thousand" | "thousandth" => return Some((1e3, true)),
        "million" | "millionth" => return Some((1e6, true)),
        "billion" | "billionth" => return Some((1e9, true)),
        "trillion" | "trillionth" => return Some((1e12, true)),
        _ => {}
    }
    None
}

/// Parse English number words.
pub fn from_words(s: &str) -> Option<f64> {
    let lower = s.to_lowercase();
    let mut tokens = Vec::new();
    for w in lower
        .split([' ', '-', ','])
        .filter(|w| !w.is_empty() && *w != "and")
    {
        tokens.push(word_value(w)?);
    }
    Some(words_value(&tokens, 0))
}

fn words_value(tokens: &[(f64, bool)], depth: usize) -> f64 {
    if depth > 50 {
        return 0.0;
    }
    // split at the last occurrence of the largest magnitude of a thousand or more
    let mut best: Option<(usize, f64)> = None;
    for (i, (v, mag)) in tokens.iter().enumerate() {
        if *mag && *v >= 1000.0 && best.is_none_or(|(_, b)| *v >= b) {
            best = Some((i, *v));
        }
    }
    match best {
        Some((i, m)) => {
            let left = if i == 0 {
                1.0
            } else {
                words_value(&tokens[..i], depth + 1)
            };
            left * m + words_value(&tokens[i + 1..], depth + 1)
        }
        None => {
            let mut cur: f64 = 0.0;
            for (v, mag) in tokens {
                if *mag {
                    cur = cur.max(1.0) * v;
                } else {
                    cur += v;
                }
            }
            cur
        }
    }
}

/// Roman numerals.
pub fn to_roman(n: u64) -> String {
    if n > 100_000 {
        // roman numerals beyond this are not meaningful; avoid huge outputs
        return n.to_string();
    }
    const TABLE: [(u64, &str); 13] = [
        (1000, "m"),
        (900, "cm"),
        (500, "d"),
        (400, "cd"),
        (100, "c"),
        (90, "xc"),
        (50, "l"),
        (40, "xl"),
        (10, "x"),
        (9, "ix"),
        (5, "v"),
        (4, "iv"),
        (1, "i"),
    ];
    let mut n = n;
    let mut s = String::new();
    for (v, r) in TABLE {
        while n >= v {
            s.push_str(r);
            n -= v;
        }
    }
    s
}

fn from_roman(s: &str) -> Option<f64> {
    let val = |c: char| match c.to_ascii_lowercase() {
        'i' => Some(1),
        'v' => Some(5),
        'x' => Some(10),
        'l' => Some(50),
        'c' => Some(100),
        'd' => Some(500),
        'm' => Some(1000),
        _ => None,
    };
    let vals: Vec<i64> = s.chars().map(val).collect::<Option<Vec<_>>>()?;
    let mut total = 0i64;
    for i in 0..vals.len() {
        if i + 1 < vals.len() && vals[i] < vals[i + 1] {
            total -= vals[i];
        } else {
            total += vals[i];
        }
    }
    Some(total as f64)
}

/// Bijective base-26 letters (1 = a, 27 = aa).
pub fn to_letters(n: u64, upper: bool) -> String {
    let mut n = n;
    let mut out = Vec::new();
    let base = if upper { b'A' } else { b'a' };
    while n > 0 {
        n -= 1;
        out.push((base + (n % 26) as u8) as char);
        n /= 26;
    }
    out.iter().rev().collect()
}

fn from_letters(s: &str) -> f64 {
    let mut n = 0.0;
    for c in s.chars() {
        let v = (c.to_ascii_lowercase() as u32).saturating_sub('a' as u32) + 1;
        n = n * 26.0 + v as f64;
    }
    n
}

/// English ordinal suffix for a number.
pub fn ordinal_suffix(n: u64) -> &'static str {
    if (11..=13).contains(&(n % 100)) {
        return "th";
    }
    match n % 10 {
        1 => "st",
        2 => "nd",
        3 => "rd",
        _ => "th",
    }
}

/// The kind of an integer picture.
#[derive(Debug, Clone, PartialEq)]
pub enum IntKind {
    Decimal {
        zero: u32,
        mandatory: usize,
        /// Grouping separators as (position from the right in digits, char).
        groups: Vec<(usize, char)>,
        /// Regular grouping interval and separator.
        regular: Option<(usize, char)>,
    },
    Roman(bool),
    Letters(bool),
    /// Words: 0 lower, 1 upper, 2 title.
    Words(u8),
}

/// A parsed integer picture (`primary;modifiers`).
#[derive(Debug, Clone)]
pub struct IntPicture {
    pub kind: IntKind,
    pub ordinal: bool,
}

/// Parse a primary token plus an optional modifier string.
pub fn parse_int_picture(primary: &str, modifier: &str) -> Result<IntPicture, Error> {
    let ordinal = modifier.starts_with('o');
    let kind = match primary {
        "I" => IntKind::Roman(true),
        "i" => IntKind::Roman(false),
        "A" => IntKind::Letters(true),
        "a" => IntKind::Letters(false),
        "W" => IntKind::Words(1),
        "w" => IntKind::Words(0),
        "Ww" => IntKind::Words(2),
        _ => {
            let chars: Vec<char> = primary.chars().collect();
            let has_digit = chars.iter().any(|&c| digit_zero(c).is_some());
            if !has_digit {
                if chars.iter().all(|&c| c == '#' || !c.is_alphanumeric())
                    && !chars.is_empty()
                    && chars.contains(&'#')
                {
                    return Err(Error::new(
                        "D3130",
                        "The picture string must contain at least one decimal digit",
                    ));
                }
                if chars.is_empty() {
                    return Err(Error::new("D3130", "Formatting or parsing an integer as a sequence starting with empty is not supported by this implementation"));
                }
                return Err(Error::new(
                    "D3130",
                    format!("Formatting or parsing an integer as a sequence starting with {primary} is not supported by this implementation"),
                ));
            }
            let mut zero = None;
            let mut mandatory = 0;
            let mut seps: Vec<(usize, char)> = Vec::new(); // position from left (digits so far)
            let mut digits = 0;
            for &c in &chars {
                if let Some(z) = digit_zero(c) {
                    if zero.is_some_and(|x| x != z) {
                        return Err(Error::new("D3131", "The digits within the picture string must be from the same digit family"));
                    }
                    zero = Some(z);
                    mandatory += 1;
                    digits += 1;
                } else if c == '#' {
                    if mandatory > 0 {
                        return Err(Error::new(
                            "D3132",
                            "Optional digit after mandatory digit in picture string",
                        ));
                    }
                    digits += 1;
                } else {
                    seps.push((digits, c));
                }
            }
            let groups: Vec<(usize, char)> = seps
                .iter()
                .map(|(p, c)| (digits - p, *c))
                .filter(|(p, _)| *p > 0)
                .collect();
            let mut regular = None;
            if let Some(&(first, ch)) = groups.iter().min_by_key(|g| g.0) {
                let all_same = groups.iter().all(|g| g.1 == ch);
                let mut positions: Vec<usize> = groups.iter().map(|g| g.0).collect();
                positions.sort();
                let multiples = positions
                    .iter()
                    .enumerate()
                    .all(|(i, p)| *p == first * (i + 1));
                if all_same && multiples {
                    regular = Some((first, ch));
                }
            }
            IntKind::Decimal {
                zero: zero.unwrap_or(0x30),
                mandatory,
                groups,
                regular,
            }
        }
    };
    Ok(IntPicture { kind, ordinal })
}

fn split_picture(picture: &str) -> (&str, &str) {
    match picture.rfind(';') {
        Some(i) if i > 0 => (&picture[..i], &picture[i + 1..]),
        _ => (picture, ""),
    }
}

/// Format a whole number with a parsed picture.
pub fn format_int_with(n: f64, pic: &IntPicture) -> String {
    let neg = n < 0.0;
    let abs = n.abs().trunc();
    let mut s = match &pic.kind {
        IntKind::Roman(upper) => {
            let r = to_roman(abs as u64);
            if *upper {
                r.to_uppercase()
            } else {
                r
            }
        }
        IntKind::Letters(upper) => to_letters(abs as u64, *upper),
        IntKind::Words(case) => {
            let w = to_words(abs, pic.ordinal);
            match case {
                1 => w.to_uppercase(),
                2 => w
                    .split(' ')
                    .map(|word| {
                        if word == "and" {
                            word.to_string()
                        } else {
                            word.split('-')
                                .map(capitalize)
                                .collect::<Vec<_>>()
                                .join("-")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => w,
            }
        }
        IntKind::Decimal {
            zero,
            mandatory,
            groups,
            regular,
        } => {
            let digits = format!("{:.0}", abs);
            let mut digits: Vec<char> = digits.chars().collect();
            while digits.len() < *mandatory {
                digits.insert(0, '0');
            }
            let mapped: Vec<char> = digits
                .iter()
                .map(|d| char::from_u32(zero + (*d as u32 - '0' as u32)).unwrap_or(*d))
                .collect();
            let mut out = String::new();
            let len = mapped.len();
            for (i, c) in mapped.iter().enumerate() {
                let from_right = len - i;
                if i > 0 {
                    if let Some((interval, ch)) = regular {
                        if (from_right / interval) * interval == from_right {
                            out.push(*ch);
                        }
                    } else if let Some((_, ch)) = groups.iter().find(|g| g.0 == from_right) {
                        out.push(*ch);
                    }
                }
                out.push(*c);
            }
            if pic.ordinal {
                out.push_str(ordinal_suffix(abs as u64));
            }
            out
        }
    };
    if neg {
        s.insert(0, '-');
    }
    s
}

fn capitalize(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// `$formatInteger(n, picture)`.
pub fn format_integer(n: f64, picture: &str) -> Result<String, Error> {
    let (primary, modifier) = split_picture(picture);
    let pic = parse_int_picture(primary, modifier)?;
    Ok(format_int_with(n, &pic))
}

/// Parse an integer string with a picture (shared with date parsing).
pub fn parse_int_with(s: &str, pic: &IntPicture) -> Option<f64> {
    match &pic.kind {
        IntKind::Roman(_) => from_roman(s),
        IntKind::Letters(_) => Some(from_letters(s)),
        IntKind::Words(_) => from_words(s),
        IntKind::Decimal { zero, .. } => {
            let mut v = 0.0;
            let mut any = false;
            for c in s.chars() {
                let code = c as u32;
                if code >= *zero && code < zero + 10 {
                    v = v * 10.0 + (code - zero) as f64;
                    any = true;
                } else if let Some(z) = digit_zero(c) {
                    v = v * 10.0 + (code - z) as f64;
                    any = true;
                }
            }
            if any {
                Some(v)
            } else {
                None
            }
        }
    }
}

/// `$parseInteger(s, picture)`.
pub fn parse_integer(s: &str, picture: &str) -> Result<Value, Error> {
    let (primary, modifier) = split_picture(picture);
    let pic = parse_int_picture(primary, modifier)?;
    if s.is_empty() && matches!(pic.kind, IntKind::Roman(_)) {
        return Ok(Value::Number(0.0));
    }
    let neg = s.starts_with('-');
    let body = if neg { &s[1..] } else { s };
    Ok(match parse_int_with(body, &pic) {
        Some(v) => Value::Number(if neg { -v } else { v }),
        None => Value::Undefined,
    })
}

// ------------------------------------------------------------- formatNumber

struct DecimalFormat {
    decimal: char,
    grouping: char,
    exponent: char,
    percent: String,
    per_mille: String,
    zero: char,
    digit: char,
    pattern_sep: char,
    minus: char,
    infinity: String,
    nan: String,
}

fn opt_char(options: &Value, key: &str, default: char) -> char {
    match options {
        Value::Object(m) => m
            .get(key)
            .and_then(|v| v.as_str())
            .and_then(|s| s.chars().next())
            .unwrap_or(default),
        _ => default,
    }
}

fn opt_str(options: &Value, key: &str, default: &str) -> String {
    match options {
        Value::Object(m) => m
            .get(key)
            .and_then(|v| v.as_str())
            .map(|s| s.to_string())
            .unwrap_or_else(|| default.into()),
        _ => default.into(),
    }
}

struct SubPicture {
    prefix: String,
    suffix: String,
    int_groups: Vec<usize>,
    regular: Option<usize>,
    min_int: usize,
    frac_groups: Vec<usize>,
    min_frac: usize,
    max_frac: usize,
    min_exp: usize,
    percent: bool,
    per_mille: bool,
    has_exp: bool,
    int_optional: bool,
}

/// `$formatNumber(n, picture, options?)`.
pub fn format_number(n: f64, picture: &str, options: &Value) -> Result<Value, Error> {
    let f = DecimalFormat {
        decimal: opt_char(options, "decimal-separator", '.'),
        grouping: opt_char(options, "grouping-separator", ','),
        exponent: opt_char(options, "exponent-separator", 'e'),
        percent: opt_str(options, "percent", "%"),
        per_mille: opt_str(options, "per-mille", "\u{2030}"),
        zero: opt_char(options, "zero-digit", '0'),
        digit: opt_char(options, "digit", '#'),
        pattern_sep: opt_char(options, "pattern-separator", ';'),
        minus: opt_char(options, "minus-sign", '-'),
        infinity: opt_str(options, "infinity", "Infinity"),
        nan: opt_str(options, "NaN", "NaN"),
    };
    let parts: Vec<&str> = picture.split(f.pattern_sep).collect();
    if parts.len() > 2 {
        return Err(Error::new("D3080", "The picture string must not contain more than one instance of the pattern-separator character"));
    }
    let zero = f.zero as u32;
    let is_digit = |c: char| (c as u32) >= zero && (c as u32) < zero + 10;
    let is_active = |c: char| {
        is_digit(c) || c == f.digit || c == f.decimal || c == f.grouping || c == f.exponent
    };
    let mut subs = Vec::new();
    for part in &parts {
        subs.push(analyse(part, &f, &is_digit, &is_active)?);
    }
    if n.is_nan() {
        return Ok(Value::string(f.nan.clone()));
    }
    let neg = n < 0.0;
    let sp = if neg && subs.len() > 1 {
        &subs[1]
    } else {
        &subs[0]
    };
    if n.is_infinite() {
        let mut s = String::new();
        if neg && subs.len() == 1 {
            s.push(f.minus);
        }
        return Ok(Value::string(format!(
            "{s}{}{}{}",
            sp.prefix, f.infinity, sp.suffix
        )));
    }
    let mut v = n.abs();
    if sp.percent {
        v *= 100.0;
    } else if sp.per_mille {
        v *= 1000.0;
    }
    let mut exp = 0i32;
    if sp.has_exp && v != 0.0 {
        let target = sp.min_int as i32;
        exp = v.log10().floor() as i32 + 1 - target;
        v /= 10f64.powi(exp);
        if v >= 10f64.powi(target) {
            v /= 10.0;
            exp += 1;
        }
    }
    let rounded = crate::functions::round_half_even(v, sp.max_frac as i32);
    let text = format!("{:.*}", sp.max_frac, rounded);
    let (int_part, frac_part) = match text.split_once('.') {
        Some((a, b)) => (a.to_string(), b.to_string()),
        None => (text.clone(), String::new()),
    };
    let mut int_digits: String = int_part.trim_start_matches('0').to_string();
    while int_digits.len() < sp.min_int {
        int_digits.insert(0, '0');
    }
    let mut frac_digits = frac_part;
    while frac_digits.len() > sp.min_frac && frac_digits.ends_with('0') {
        frac_digits.pop();
    }
    if int_digits.is_empty() && sp.has_exp && sp.int_optional {
        int_digits.push('0');
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        if sp.max_frac == 0 {
            int_digits.push('0');
        } else {
            frac_digits.push('0');
        }
    }
    let map = |s: &str| -> String {
        s.chars()
            .map(|c| char::from_u32(zero + (c as u32 - '0' as u32)).unwrap_or(c))
            .collect()
    };
    // integer grouping
    let idigits: Vec<char> = map(&int_digits).chars().collect();
    let mut int_out = String::new();
    let len = idigits.len();
    for (i, c) in idigits.iter().enumerate() {
        let from_right = len - i;
        if i > 0 {
            let sep = match sp.regular {
                Some(iv) => (from_right / iv) * iv == from_right,
                None => sp.int_groups.contains(&from_right),
            };
            if sep {
                int_out.push(f.grouping);
            }
        }
        int_out.push(*c);
    }
    let fdigits: Vec<char> = map(&frac_digits).chars().collect();
    let mut frac_out = String::new();
    for (i, c) in fdigits.iter().enumerate() {
        if i > 0 && sp.frac_groups.contains(&i) {
            frac_out.push(f.grouping);
        }
        frac_out.push(*c);
    }
    let mut s = String::new();
    if neg && subs.len() == 1 {
        s.push(f.minus);
    }
    s.push_str(&sp.prefix);
    s.push_str(&int_out);
    if !frac_out.is_empty() {
        s.push(f.decimal);
        s.push_str(&frac_out);
    }
    if sp.has_exp {
        s.push(f.exponent);
        let mut e = map(&exp.abs().to_string());
        while e.chars().count() < sp.min_exp {
            e.insert(0, f.zero);
        }
        if exp < 0 {
            s.push(f.minus);
        }
        s.push_str(&e);
    }
    s.push_str(&sp.suffix);
    Ok(Value::string(s))
}

fn analyse(
    part: &str,
    f: &DecimalFormat,
    is_digit: &dyn Fn(char) -> bool,
    is_active: &dyn Fn(char) -> bool,
) -> Result<SubPicture, Error> {
    let chars: Vec<char> = part.chars().collect();
    // prefix: up to the first active char that is not the exponent
    let first_active = chars.iter().position(|&c| is_active(c) && c != f.exponent);
    let last_active = chars.iter().rposition(|&c| is_active(c) && c != f.exponent);
    let (start, end) = match (first_active, last_active) {
        (Some(a), Some(b)) => (a, b + 1),
        _ => {
            return Err(Error::new(
                "D3086",
                "A sub-picture must contain at least one active character",
            ))
        }
    };
    let prefix: String = chars[..start].iter().collect();
    let mut mantissa: Vec<char> = chars[start..end].to_vec();
    let mut suffix: String = chars[end..].iter().collect();
    // exponent: the exponent char followed only by digits at the end of the active part
    let mut has_exp = false;
    let mut min_exp = 0;
    if let Some(epos) = mantissa.iter().position(|&c| c == f.exponent) {
        let after: Vec<char> = mantissa[epos + 1..].to_vec();
        if !after.is_empty() && after.iter().all(|&c| is_digit(c)) {
            has_exp = true;
            min_exp = after.len();
            mantissa.truncate(epos);
        }
    }
    // an exponent char in the suffix that is followed by digits
    if !has_exp {
        let sc: Vec<char> = suffix.chars().collect();
        if sc.first() == Some(&f.exponent) && sc.len() > 1 && sc[1..].iter().all(|&c| is_digit(c)) {
            has_exp = true;
            min_exp = sc.len() - 1;
            suffix.clear();
        }
    }
    if !mantissa.iter().any(|&c| is_digit(c) || c == f.digit) {
        return Err(Error::new("D3085", "A sub-picture must contain at least one character that is an optional-digit-sign or a member of the decimal-digit-family"));
    }
    let percent = part.contains(f.percent.as_str());
    let per_mille = part.contains(f.per_mille.as_str());
    if part.matches(f.decimal).count() > 1 {
        return Err(Error::new(
            "D3081",
            "A sub-picture must not contain more than one instance of the decimal-separator",
        ));
    }
    if part.matches(f.percent.as_str()).count() > 1 {
        return Err(Error::new(
            "D3082",
            "A sub-picture must not contain more than one instance of the percent character",
        ));
    }
    if part.matches(f.per_mille.as_str()).count() > 1 {
        return Err(Error::new(
            "D3083",
            "A sub-picture must not contain more than one instance of the per-mille character",
        ));
    }
    if percent && per_mille {
        return Err(Error::new(
            "D3084",
            "A sub-picture must not contain both a percent and a per-mille character",
        ));
    }
    if mantissa.iter().any(|&c| !is_active(c)) {
        return Err(Error::new("D3086", "A sub-picture must not contain a passive character that is preceded by an active character and that is followed by another active character"));
    }
    let dpos = mantissa.iter().position(|&c| c == f.decimal);
    let (int_part, frac_part): (Vec<char>, Vec<char>) = match dpos {
        Some(p) => (mantissa[..p].to_vec(), mantissa[p + 1..].to_vec()),
        None => (mantissa.clone(), Vec::new()),
    };
    if let Some(p) = dpos {
        if (p > 0 && mantissa[p - 1] == f.grouping) || mantissa.get(p + 1) == Some(&f.grouping) {
            return Err(Error::new("D3087", "A sub-picture must not contain a grouping-separator that is adjacent to a decimal-separator"));
        }
    }
    if dpos.is_none() && int_part.last() == Some(&f.grouping) {
        return Err(Error::new(
            "D3088",
            "The integer part of a sub-picture must not end with a grouping-separator",
        ));
    }
    if mantissa
        .windows(2)
        .any(|w| w[0] == f.grouping && w[1] == f.grouping)
    {
        return Err(Error::new(
            "D3089",
            "A sub-picture must not contain two adjacent grouping-separators",
        ));
    }
    let first_mand = int_part.iter().position(|&c| is_digit(c));
    if let Some(fm) = first_mand {
        if int_part[fm..].contains(&f.digit) {
            return Err(Error::new("D3090", "The integer part of a sub-picture must not contain a member of the decimal-digit-family that is followed by an instance of the optional-digit-sign"));
        }
    }
    if let Some(lo) = frac_part.iter().position(|&c| c == f.digit) {
        if frac_part[lo..].iter().any(|&c| is_digit(c)) {
            return Err(Error::new("D3091", "The fractional part of a sub-picture must not contain an instance of the optional-digit-sign that is followed by a member of the decimal-digit-family"));
        }
    }
    if has_exp && (percent || per_mille) {
        return Err(Error::new("D3092", "A sub-picture that contains a percent or per-mille character must not contain a character treated as an exponent-separator"));
    }
    if !has_exp && mantissa.contains(&f.exponent) {
        return Err(Error::new("D3093", "In a sub-picture, the exponent-separator must be followed by one or more members of the decimal-digit-family"));
    }
    let digit_count = |v: &[char]| v.iter().filter(|&&c| is_digit(c) || c == f.digit).count();
    let int_digits = digit_count(&int_part);
    let mut int_groups = Vec::new();
    let mut seen = 0;
    for &c in int_part.iter() {
        if c == f.grouping {
            int_groups.push(int_digits - seen);
        } else if is_digit(c) || c == f.digit {
            seen += 1;
        }
    }
    let regular = if let Some(&first) = int_groups.iter().min() {
        let mut sorted = int_groups.clone();
        sorted.sort();
        if sorted
            .iter()
            .enumerate()
            .all(|(i, p)| *p == first * (i + 1))
        {
            Some(first)
        } else {
            None
        }
    } else {
        None
    };
    let mut frac_groups = Vec::new();
    let mut seen = 0;
    for &c in frac_part.iter() {
        if c == f.grouping {
            frac_groups.push(seen);
        } else {
            seen += 1;
        }
    }
    let mut min_int = int_part.iter().filter(|&&c| is_digit(c)).count();
    let min_frac = frac_part.iter().filter(|&&c| is_digit(c)).count();
    let max_frac = digit_count(&frac_part);
    let mut min_frac = min_frac;
    let mut max_frac = max_frac;
    if min_int == 0 && max_frac == 0 {
        if has_exp {
            min_frac = 1;
            max_frac = 1;
        } else {
            min_int = 1;
        }
    }
    let int_optional = int_part.contains(&f.digit);
    Ok(SubPicture {
        prefix,
        suffix,
        int_groups,
        regular,
        min_int,
        frac_groups,
        min_frac,
        max_frac,
        min_exp,
        percent,
        per_mille,
        has_exp,
        int_optional,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for n in [
            0.0,
            7.0,
            13.0,
            40.0,
            99.0,
            101.0,
            999.0,
            1000.0,
            3731.0,
            4_327_732.0,
            1e12 + 1.0,
        ] {
            let w = to_words(n, false);
            assert_eq!(from_words(&w), Some(n), "{w}");
        }
        assert_eq!(to_words(21.0, true), "twenty-first");
    }

    #[test]
    fn integer_pictures() {
        assert_eq!(format_integer(1234567.0, "#,##0").unwrap(), "1,234,567");
        assert_eq!(format_integer(7.0, "000").unwrap(), "007");
        assert_eq!(format_integer(1999.0, "I").unwrap(), "MCMXCIX");
        assert_eq!(format_integer(28.0, "a").unwrap(), "ab");
        assert_eq!(format_integer(2.0, "0;o").unwrap(), "2nd");
        assert_eq!(format_integer(5.0, "α").unwrap_err().code, "D3130");
    }

    #[test]
    fn decimal_pictures() {
        let none = Value::Undefined;
        let f = |n: f64, p: &str| format_number(n, p, &none).unwrap();
        assert_eq!(f(1234.5678, "#,##0.00").as_str(), Some("1,234.57"));
        assert_eq!(f(0.25, "0%").as_str(), Some("25%"));
        assert_eq!(f(-3.0, "0;(0)").as_str(), Some("(3)"));
        assert_eq!(f(1234.0, "0.0e0").as_str(), Some("1.2e3"));
    }
}
