//! Date/time functions: `$fromMillis`, `$toMillis` and `$now`, with ISO 8601
//! defaults and XPath `format-dateTime` style picture strings (`[Y0001]`,
//! `[MNn]`, `[D1o]`, `[Z01:01]`, ...), both for formatting and parsing.

use crate::error::Error;
use crate::format::{format_int_with, parse_int_picture, parse_int_with, IntKind, IntPicture};
use crate::value::Value;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// The JavaScript Date range: ±100,000,000 days around the epoch.
const MAX_MILLIS: f64 = 8.64e15;
const MAX_YEAR: i64 = 275_760;
/// Largest width a date/time component may ask for.
const MAX_WIDTH: usize = 1000;

const ISO_PICTURE: &str = "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]";

/// Days since 1970-01-01 to a civil date (year, month 1-12, day 1-31).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A civil date to days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Broken-down local time.
struct Parts {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    milli: u32,
    days: i64,
    offset: i32,
}

fn breakdown(ms: i64, offset_min: i32) -> Parts {
    let local = ms + offset_min as i64 * 60_000;
    let days = local.div_euclid(86_400_000);
    let rem = local.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    Parts {
        year,
        month,
        day,
        hour: (rem / 3_600_000) as u32,
        minute: (rem / 60_000 % 60) as u32,
        second: (rem / 1000 % 60) as u32,
        milli: (rem % 1000) as u32,
        days,
        offset: offset_min,
    }
}

/// ISO weekday, 1 = Monday.
fn weekday(days: i64) -> i64 {
    (days + 3).rem_euclid(7) + 1
}

fn parse_tz(tz: &str) -> Result<i32, Error> {
    let t = tz.trim();
    let (sign, body) = match t.chars().next() {
        Some('-') => (-1, &t[1..]),
        Some('+') => (1, &t[1..]),
        _ => (1, t),
    };
    let digits: String = body.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return Err(Error::new("D3110", format!("Invalid timezone: {tz}")));
    }
    let (h, m) = if digits.len() <= 2 {
        (digits.parse::<i32>().unwrap_or(0), 0)
    } else {
        let split = digits.len() - 2;
        (
            digits[..split].parse::<i32>().unwrap_or(0),
            digits[split..].parse::<i32>().unwrap_or(0),
        )
    };
    if !(0..=99).contains(&h) || !(0..=99).contains(&m) {
        return Err(Error::new("D3110", format!("Invalid timezone: {tz}")));
    }
    Ok(sign * (h * 60 + m))
}

/// One piece of a date/time picture.
#[derive(Debug)]
enum Piece {
    Literal(String),
    Marker {
        component: char,
        presentation: String,
        ordinal: bool,
        traditional: bool,
        min: Option<usize>,
        max: Option<usize>,
    },
}

fn parse_picture(picture: &str) -> Result<Vec<Piece>, Error> {
    let chars: Vec<char> = picture.chars().collect();
    {
        let mut open = false;
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '[' if !open && chars.get(i + 1) == Some(&'[') => i += 1,
                ']' if !open && chars.get(i + 1) == Some(&']') => i += 1,
                '[' => open = true,
                ']' => open = false,
                _ => {}
            }
            i += 1;
        }
        if open {
            return Err(Error::new(
                "D3135",
                "No matching closing bracket ']' in date/time picture string",
            ));
        }
    }
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '[' && chars.get(i + 1) == Some(&'[') {
            lit.push('[');
            i += 2;
            continue;
        }
        if c == ']' && chars.get(i + 1) == Some(&']') {
            lit.push(']');
            i += 2;
            continue;
        }
        if c == '[' {
            let Some(end) = chars[i..].iter().position(|&x| x == ']') else {
                return Err(Error::new(
                    "D3135",
                    "No matching closing bracket ']' in date/time picture string",
                ));
            };
            if !lit.is_empty() {
                pieces.push(Piece::Literal(std::mem::take(&mut lit)));
            }
            let inner: String = chars[i + 1..i + end]
                .iter()
                .filter(|c| !c.is_whitespace())
                .collect();
            pieces.push(parse_marker(&inner)?);
            i += end + 1;
            continue;
        }
        lit.push(c);
        i += 1;
    }
    if !lit.is_empty() {
        pieces.push(Piece::Literal(lit));
    }
    Ok(pieces)
}

fn parse_marker(inner: &str) -> Result<Piece, Error> {
    let mut chars = inner.chars();
    let Some(component) = chars.next() else {
        return Err(Error::new("D3134", "Empty date/time component"));
    };
    if !"YMDdFWwXxHhPmsfZzCE".contains(component) {
        return Err(Error::new(
            "D3132",
            format!("Unknown component specifier {component} in date/time picture string"),
        ));
    }
    let rest: String = chars.collect();
    let mut spec = rest.clone();
    let mut min = None;
    let mut max = None;
    if let Some(idx) = rest.rfind(',') {
        let width = &rest[idx + 1..];
        let (a, b) = match width.split_once('-') {
            Some((a, b)) => (a, Some(b)),
            None => (width, None),
        };
        let valid = |s: &str| s == "*" || (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit()));
        if valid(a) && b.is_none_or(valid) {
            spec = rest[..idx].to_string();
            min = a.parse().ok();
            max = b.and_then(|b| b.parse().ok());
            if min.is_some_and(|m: usize| m > MAX_WIDTH)
                || max.is_some_and(|m: usize| m > MAX_WIDTH)
            {
                return Err(Error::new(
                    "D3134",
                    "The width of a date/time component is too large",
                ));
            }
        }
    }
    let mut ordinal = false;
    let mut traditional = false;
    if spec.len() > 1 || (spec.len() == 1 && !spec.chars().all(|c| c.is_alphanumeric() || c == '#'))
    {
        if spec.ends_with('o') && !matches!(spec.as_str(), "o") {
            ordinal = true;
            spec.pop();
        } else if spec.ends_with('t') {
            traditional = true;
            spec.pop();
        } else if spec.ends_with('c') {
            spec.pop();
        }
    }
    if spec.is_empty() {
        spec = match component {
            'm' | 's' => "01",
            'F' | 'P' | 'C' | 'E' => "n",
            'Z' | 'z' => "01:01",
            _ => "1",
        }
        .to_string();
    }
    if component == 'Y' && matches!(spec.as_str(), "N" | "n" | "Nn") {
        return Err(Error::new(
            "D3133",
            "The 'name' modifier (N) is not supported for the year component",
        ));
    }
    Ok(Piece::Marker {
        component,
        presentation: spec,
        ordinal,
        traditional,
        min,
        max,
    })
}

fn is_name(p: &str) -> bool {
    matches!(p, "N" | "n" | "Nn")
}

fn apply_case(s: &str, p: &str) -> String {
    match p {
        "N" => s.to_uppercase(),
        "n" => s.to_lowercase(),
        _ => s.to_string(),
    }
}

fn int_pic(presentation: &str, ordinal: bool) -> Result<IntPicture, Error> {
    let pres = if presentation.is_empty() {
        "1"
    } else {
        presentation
    };
    parse_int_picture(pres, if ordinal { "o" } else { "" })
}

fn format_component(
    p: &Parts,
    component: char,
    presentation: &str,
    ordinal: bool,
    traditional: bool,
    min: Option<usize>,
    max: Option<usize>,
) -> Result<String, Error> {
    let thursday = p.days - weekday(p.days) + 4;
    let value: i64 = match component {
        'Y' => p.year,
        'M' => p.month as i64,
        'D' => p.day as i64,
        'd' => p.days - days_from_civil(p.year, 1, 1) + 1,
        'F' => weekday(p.days),
        'W' => {
            let (ty, _, _) = civil_from_days(thursday);
            (thursday - days_from_civil(ty, 1, 1)) / 7 + 1
        }
        'X' => civil_from_days(thursday).0,
        'w' => {
            let (_, _, td) = civil_from_days(thursday);
            (td as i64 - 1) / 7 + 1
        }
        'x' => civil_from_days(thursday).1 as i64,
        'H' => p.hour as i64,
        'h' => {
            let h = p.hour % 12;
            if h == 0 {
                12
            } else {
                h as i64
            }
        }
        'm' => p.minute as i64,
        's' => p.second as i64,
        'f' => p.milli as i64,
        'P' => {
            let s = if p.hour < 12 { "am" } else { "pm" };
            return Ok(apply_case(s, presentation));
        }
        'C' | 'E' => return Ok("ISO".to_string()),
        'Z' | 'z' => {
            if presentation.chars().filter(|c| c.is_ascii_digit()).count() > 4 {
                return Err(Error::new(
                    "D3134",
                    "The timezone integer format specifier cannot have more than four digits",
                ));
            }
            return Ok(format_tz(p.offset, component, presentation, traditional));
        }
        _ => 0,
    };
    if is_name(presentation) {
        let name = match component {
            'M' | 'x' => MONTHS.get((value - 1) as usize).copied().unwrap_or(""),
            'F' => DAYS.get((value - 1) as usize).copied().unwrap_or(""),
            _ => {
                return Err(Error::new(
                    "D3133",
                    format!("The 'name' modifier is not supported for component {component}"),
                ))
            }
        };
        let mut s = apply_case(name, presentation);
        if let Some(mx) = max {
            s = s.chars().take(mx).collect();
        }
        return Ok(s);
    }
    if component == 'f' {
        // fractional seconds: digits after the decimal point
        let digits = presentation
            .chars()
            .filter(|c| c.is_ascii_digit())
            .count()
            .max(1);
        let digits = min.unwrap_or(digits).max(digits);
        let s = format!("{:03}", value);
        let mut s: String = s.chars().take(digits.min(3)).collect();
        while s.len() < digits {
            s.push('0');
        }
        return Ok(s);
    }
    let mut pic = int_pic(presentation, ordinal)?;
    if let IntKind::Decimal { mandatory, .. } = &mut pic.kind {
        if let Some(mn) = min {
            if *mandatory < mn {
                *mandatory = mn;
            }
        }
    }
    let mut s = format_int_with(value as f64, &pic);
    if component == 'Y' {
        let pres_digits = presentation.chars().filter(|c| c.is_ascii_digit()).count();
        if let Some(mx) = max.or(min.filter(|m| pres_digits < *m)) {
            let n = s.chars().count();
            if n > mx {
                s = s.chars().skip(n - mx).collect();
            }
        } else if matches!(pic.kind, IntKind::Decimal { mandatory: 2, .. })
            && min.is_none()
            && presentation.len() == 2
        {
            let n = s.chars().count();
            if n > 2 {
                s = s.chars().skip(n - 2).collect();
            }
        }
    }
    Ok(s)
}

fn format_tz(offset: i32, component: char, presentation: &str, traditional: bool) -> String {
    if offset == 0 && traditional {
        return "Z".into();
    }
    let sign = if offset < 0 { '-' } else { '+' };
    let h = offset.abs() / 60;
    let m = offset.abs() % 60;
    let body = match presentation.chars().filter(|c| c.is_ascii_digit()).count() {
        1 | 2 if !presentation.contains(':') => {
            let hh = if presentation.chars().filter(|c| c.is_ascii_digit()).count() == 2 {
                format!("{h:02}")
            } else {
                format!("{h}")
            };
            if m != 0 {
                format!("{hh}:{m:02}")
            } else {
                hh
            }
        }
        _ if presentation.contains(':') => format!("{h:02}:{m:02}"),
        _ => format!("{h:02}{m:02}"),
    };
    if component == 'z' {
        format!("GMT{sign}{body}")
    } else {
        format!("{sign}{body}")
    }
}

/// `$fromMillis(ms, picture?, timezone?)`.
pub fn from_millis(ms: f64, picture: Option<&str>, tz: Option<&str>) -> Result<Value, Error> {
    let offset = match tz {
        Some(t) => parse_tz(t)?,
        None => 0,
    };
    if !ms.is_finite() || ms.abs() > MAX_MILLIS || offset.abs() > 24 * 60 {
        return Err(Error::new(
            "D3110",
            "The millisecond value is outside the range of representable dates",
        ));
    }
    let p = breakdown(ms.floor() as i64, offset);
    let picture = picture.unwrap_or(ISO_PICTURE);
    let pieces = parse_picture(picture)?;
    let mut out = String::new();
    for piece in &pieces {
        match piece {
            Piece::Literal(s) => out.push_str(s),
            Piece::Marker {
                component,
                presentation,
                ordinal,
                traditional,
                min,
                max,
            } => out.push_str(&format_component(
                &p,
                *component,
                presentation,
                *ordinal,
                *traditional,
                *min,
                *max,
            )?),
        }
    }
    Ok(Value::string(out))
}

fn parse_iso(s: &str) -> Option<f64> {
    let b: Vec<char> = s.trim().chars().collect();
    let mut i = 0;
    let num = |i: &mut usize, n: usize| -> Option<i64> {
        if *i + n > b.len() {
            return None;
        }
        let t: String = b[*i..*i + n].iter().collect();
        if !t.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        *i += n;
        t.parse().ok()
    };
    let year = num(&mut i, 4)?;
    let mut month = 1;
    let mut day = 1;
    let (mut h, mut mi, mut sec, mut ms) = (0, 0, 0, 0.0);
    let mut offset = 0i64;
    if b.get(i) == Some(&'-') {
        i += 1;
        month = num(&mut i, 2)?;
        if b.get(i) == Some(&'-') {
            i += 1;
            day = num(&mut i, 2)?;
        }
    }
    if matches!(b.get(i), Some('T')) {
        i += 1;
        h = num(&mut i, 2)?;
        if b.get(i) != Some(&':') {
            return None;
        }
        i += 1;
        mi = num(&mut i, 2)?;
        if b.get(i) == Some(&':') {
            i += 1;
            sec = num(&mut i, 2)?;
            if b.get(i) == Some(&'.') {
                i += 1;
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let frac: String = b[start..i].iter().collect();
                ms = format!("0.{frac}").parse::<f64>().ok()? * 1000.0;
            }
        }
        match b.get(i) {
            Some('Z') => i += 1,
            Some('+') | Some('-') => {
                let sign = if b[i] == '-' { -1 } else { 1 };
                i += 1;
                let oh = num(&mut i, 2)?;
                if b.get(i) == Some(&':') {
                    i += 1;
                }
                let om = num(&mut i, 2).unwrap_or(0);
                offset = sign * (oh * 60 + om);
            }
            _ => {}
        }
    }
    if i != b.len() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month as u32, day as u32);
    Some(
        (days * 86_400_000 + h * 3_600_000 + mi * 60_000 + sec * 1000 - offset * 60_000) as f64
            + ms.floor(),
    )
}

fn name_index(text: &str, names: &[&str]) -> Option<i64> {
    let t = text.to_lowercase();
    names
        .iter()
        .position(|n| {
            let l = n.to_lowercase();
            l == t || (t.len() >= 3 && l.starts_with(&t))
        })
        .map(|i| i as i64 + 1)
}

fn component_regex(
    component: char,
    presentation: &str,
    ordinal: bool,
    width: Option<usize>,
    next_is_marker: bool,
) -> String {
    if is_name(presentation) || component == 'P' {
        return "([A-Za-z]+)".into();
    }
    match component {
        'Z' => return "([Zz]|[+-][0-9]{1,2}(?::?[0-9]{2})?)".into(),
        'z' => return "(GMT[+-][0-9]{1,2}(?::?[0-9]{2})?)".into(),
        _ => {}
    }
    match presentation {
        "I" | "i" => return "([IVXLCDMivxlcdm]+)".into(),
        "A" | "a" => return "([A-Za-z]+)".into(),
        "w" | "W" | "Ww" => return "([A-Za-z][A-Za-z, \\-]*?)".into(),
        _ => {}
    }
    let mandatory =
        width.unwrap_or_else(|| presentation.chars().filter(|c| c.is_ascii_digit()).count());
    let suffix = if ordinal { "(?:st|nd|rd|th)" } else { "" };
    if next_is_marker && mandatory > 1 && !presentation.contains('#') {
        format!("([0-9]{{{mandatory}}}){suffix}")
    } else {
        format!("([0-9]+){suffix}")
    }
}

/// `$toMillis(string, picture?)`. `Ok(None)` when the string does not match.
/// `now_ms` supplies the date when the picture has no date components.
pub fn to_millis(s: &str, picture: Option<&str>, now_ms: i64) -> Result<Option<f64>, Error> {
    let Some(picture) = picture else {
        return match parse_iso(s) {
            Some(v) => Ok(Some(v)),
            None => Err(Error::new(
                "D3110",
                format!("The timestamp \"{s}\" cannot be parsed"),
            )),
        };
    };
    let pieces = parse_picture(picture)?;
    let mut pattern = String::from("^");
    let mut markers = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Literal(l) => pattern.push_str(&fancy_regex::escape(l)),
            Piece::Marker {
                component,
                presentation,
                ordinal,
                max,
                ..
            } => {
                let next_is_marker = matches!(pieces.get(i + 1), Some(Piece::Marker { .. }));
                pattern.push_str(&component_regex(
                    *component,
                    presentation,
                    *ordinal,
                    *max,
                    next_is_marker,
                ));
                markers.push((*component, presentation.clone(), *ordinal));
            }
        }
    }
    pattern.push('$');
    if markers.is_empty() {
        return Ok(None);
    }
    // validate the component combination
    let has = |c: char| markers.iter().any(|m| m.0 == c);
    if has('X') || has('W') || has('x') || has('w') {
        return Err(Error::new(
            "D3136",
            "The date/time picture string is missing specifiers required to parse the timestamp",
        ));
    }
    let time_mask: Vec<bool> = ['H', 'm', 's', 'f']
        .iter()
        .map(|&c| has(c) || (c == 'H' && has('h')))
        .collect();
    if let Some(first) = time_mask.iter().position(|&b| b) {
        let last = time_mask.iter().rposition(|&b| b).unwrap_or(first);
        if first != 0 || time_mask[first..=last].iter().any(|b| !b) {
            return Err(Error::new("D3136", "The date/time picture string is missing specifiers required to parse the timestamp"));
        }
    }
    if has('Y') && has('D') && !has('M') {
        return Err(Error::new(
            "D3136",
            "The date/time picture string is missing specifiers required to parse the timestamp",
        ));
    }
    let re = fancy_regex::Regex::new(&pattern)
        .map_err(|e| Error::new("D3136", format!("Invalid picture: {e}")))?;
    let Ok(Some(caps)) = re.captures(s) else {
        return Ok(None);
    };
    let (mut year, mut month, mut day, mut doy) = (None, None, None, None);
    let (mut hour, mut minute, mut second, mut milli) = (0i64, 0i64, 0i64, 0i64);
    let mut pm: Option<bool> = None;
    let mut offset = 0i64;
    for (idx, (component, presentation, ordinal)) in markers.iter().enumerate() {
        let text = caps.get(idx + 1).map(|m| m.as_str()).unwrap_or("");
        let number = || -> Option<i64> {
            let pic = int_pic(presentation, *ordinal).ok()?;
            parse_int_with(text, &pic).map(|v| v as i64)
        };
        match component {
            'Y' => year = number(),
            'M' => {
                month = if is_name(presentation) {
                    name_index(text, &MONTHS)
                } else {
                    number()
                };
            }
            'D' => day = number(),
            'd' => doy = number(),
            'H' => hour = number().unwrap_or(0),
            'h' => hour = number().unwrap_or(0),
            'm' => minute = number().unwrap_or(0),
            's' => second = number().unwrap_or(0),
            'f' => {
                let digits: String = text.chars().take(3).collect();
                let mut v: i64 = digits.parse().unwrap_or(0);
                for _ in digits.len()..3 {
                    v *= 10;
                }
                milli = v;
            }
            'P' => pm = Some(text.eq_ignore_ascii_case("pm")),
            'Z' => {
                offset = if text.eq_ignore_ascii_case("z") {
                    0
                } else {
                    parse_tz(text)? as i64
                };
            }
            'z' => offset = parse_tz(text.trim_start_matches("GMT"))? as i64,
            _ => {}
        }
    }
    if let Some(is_pm) = pm {
        hour %= 12;
        if is_pm {
            hour += 12;
        }
    }
    let now_days = now_ms.div_euclid(86_400_000);
    let (ny, nm, nd) = civil_from_days(now_days);
    if year.is_some_and(|y| y.abs() > MAX_YEAR) || doy.is_some_and(|d| d.abs() > 1000) {
        return Ok(None);
    }
    let any_date = year.is_some() || month.is_some() || day.is_some() || doy.is_some();
    let days = if let Some(d) = doy {
        days_from_civil(year.unwrap_or(ny), 1, 1) + d - 1
    } else if !any_date {
        days_from_civil(ny, nm, nd)
    } else {
        let y = year.unwrap_or(ny);
        let m = month.unwrap_or(if year.is_some() { 1 } else { nm as i64 });
        let d = day.unwrap_or(1);
        if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
            return Ok(None);
        }
        days_from_civil(y, m as u32, d as u32)
    };
    Ok(Some(
        days as f64 * 86_400_000.0
            + hour as f64 * 3_600_000.0
            + minute as f64 * 60_000.0
            + second as f64 * 1000.0
            + milli as f64
            - offset as f64 * 60_000.0,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_calendar_round_trips() {
        for days in [-719_468, -1, 0, 1, 10_957, 17_500, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }

    #[test]
    fn iso_default_formats_and_parses() {
        let v = from_millis(1_509_380_732_935.0, None, None).unwrap();
        assert_eq!(v.as_str(), Some("2017-10-30T16:25:32.935Z"));
        assert_eq!(
            to_millis("2017-10-30T16:25:32.935Z", None, 0).unwrap(),
            Some(1_509_380_732_935.0)
        );
        assert_eq!(to_millis("nonsense", None, 0).unwrap_err().code, "D3110");
    }

    #[test]
    fn pictures_format_and_parse() {
        let v = from_millis(1_521_801_216_617.0, Some("[FNn], [D1o] [MNn] [Y]"), None).unwrap();
        assert_eq!(v.as_str(), Some("Friday, 23rd March 2018"));
        assert_eq!(
            to_millis("23rd March 2018", Some("[D1o] [MNn] [Y]"), 0).unwrap(),
            Some(1_521_763_200_000.0)
        );
    }
}
