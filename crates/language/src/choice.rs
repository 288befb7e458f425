//! Evaluation of JSONPath Choice rules (`And`/`Or`/`Not` and every comparison
//! operator, including `StringMatches` with its escapes and the timestamp
//! comparisons), with AWS's treatment of missing and mistyped values.
//!
//! AWS's rules, as the conformance corpus records them:
//! - a comparison whose value has the wrong type (a string for
//!   `NumericEquals`, a number for `BooleanEquals`, a non-timestamp string for
//!   `TimestampEquals` …) is simply false;
//! - strings compare by code point, numbers by value (`1` equals `1.0`),
//!   timestamps by the instant they name (offsets applied);
//! - `IsPresent` is the only test of a path that may be missing: any other
//!   rule whose `Variable` (or `…Path` operand) selects nothing fails with
//!   `States.Runtime` ("The choice state's condition path references an
//!   invalid value").
//!
//! Nothing here allocates on the way to a verdict: values are borrowed from
//! the scope and `StringMatches` walks its pattern in place.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

use crate::ast::{ChoiceRule, Comparison, Operand};
use crate::path::{Path, Selection};
use crate::{Failure, Scope};

/// Whether `rule` holds for `scope`. JSONata `Condition` rules are not
/// handled here (the JSONata layer evaluates them).
pub fn evaluate(rule: &ChoiceRule, scope: &Scope<'_>) -> Result<bool, Failure> {
    match rule {
        ChoiceRule::And(rules) => {
            for r in rules {
                if !evaluate(r, scope)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        ChoiceRule::Or(rules) => {
            for r in rules {
                if evaluate(r, scope)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        ChoiceRule::Not(r) => Ok(!evaluate(r, scope)?),
        ChoiceRule::Compare {
            variable,
            op,
            operand,
        } => compare(variable, *op, operand, scope),
        ChoiceRule::Condition(_) => Err(Failure::runtime(
            "a JSONata Condition cannot be evaluated as a JSONPath Choice rule",
        )),
    }
}

/// `States.Runtime` for a Choice rule whose path selects nothing.
pub fn invalid_condition_path(path: &Path) -> Failure {
    Failure::runtime(format!(
        "Invalid path '{}': The choice state's condition path references an invalid value.",
        path.as_str()
    ))
}

fn select<'a>(path: &Path, scope: &Scope<'a>) -> Option<Cow<'a, Value>> {
    match path.resolve(scope) {
        Selection::Missing => None,
        Selection::Node(v) => Some(v),
        Selection::Nodes(v) => Some(Cow::Owned(Value::Array(
            v.into_iter().map(Cow::into_owned).collect(),
        ))),
    }
}

fn compare(
    variable: &Path,
    op: Comparison,
    operand: &Operand,
    scope: &Scope<'_>,
) -> Result<bool, Failure> {
    let value = select(variable, scope);
    if op == Comparison::IsPresent {
        return Ok(value.is_some() == expected_bool(operand));
    }
    let value = value.ok_or_else(|| invalid_condition_path(variable))?;
    let value = value.as_ref();
    let other: Cow<'_, Value> = match operand {
        Operand::Literal(v) => Cow::Borrowed(v),
        Operand::Path(p) => select(p, scope).ok_or_else(|| invalid_condition_path(p))?,
    };
    let other = other.as_ref();
    use Comparison::*;
    Ok(match op {
        StringEquals => strings(value, other).is_some_and(|(a, b)| a == b),
        StringLessThan => strings(value, other).is_some_and(|(a, b)| a < b),
        StringGreaterThan => strings(value, other).is_some_and(|(a, b)| a > b),
        StringLessThanEquals => strings(value, other).is_some_and(|(a, b)| a <= b),
        StringGreaterThanEquals => strings(value, other).is_some_and(|(a, b)| a >= b),
        StringMatches => strings(value, other).is_some_and(|(s, pattern)| matches(pattern, s)),
        NumericEquals => numeric(value, other).is_some_and(Ordering::is_eq),
        NumericLessThan => numeric(value, other).is_some_and(Ordering::is_lt),
        NumericGreaterThan => numeric(value, other).is_some_and(Ordering::is_gt),
        NumericLessThanEquals => numeric(value, other).is_some_and(Ordering::is_le),
        NumericGreaterThanEquals => numeric(value, other).is_some_and(Ordering::is_ge),
        BooleanEquals => matches!((value, other), (Value::Bool(a), Value::Bool(b)) if a == b),
        TimestampEquals => timestamps(value, other).is_some_and(Ordering::is_eq),
        TimestampLessThan => timestamps(value, other).is_some_and(Ordering::is_lt),
        TimestampGreaterThan => timestamps(value, other).is_some_and(Ordering::is_gt),
        TimestampLessThanEquals => timestamps(value, other).is_some_and(Ordering::is_le),
        TimestampGreaterThanEquals => timestamps(value, other).is_some_and(Ordering::is_ge),
        IsNull => value.is_null() == expected_bool(operand),
        IsNumeric => value.is_number() == expected_bool(operand),
        IsString => value.is_string() == expected_bool(operand),
        IsBoolean => value.is_boolean() == expected_bool(operand),
        IsTimestamp => {
            let is = value.as_str().and_then(Timestamp::parse).is_some();
            is == expected_bool(operand)
        }
        IsPresent => true,
    })
}

/// The literal of an `Is…` test; the validator ensures it is a boolean.
fn expected_bool(operand: &Operand) -> bool {
    !matches!(operand, Operand::Literal(Value::Bool(false)))
}

fn strings<'v>(a: &'v Value, b: &'v Value) -> Option<(&'v str, &'v str)> {
    Some((a.as_str()?, b.as_str()?))
}

/// Orders two numbers: exactly when both are integers, by value otherwise.
fn numeric(a: &Value, b: &Value) -> Option<Ordering> {
    let (Value::Number(x), Value::Number(y)) = (a, b) else {
        return None;
    };
    if let (Some(i), Some(j)) = (x.as_i64(), y.as_i64()) {
        return Some(i.cmp(&j));
    }
    if let (Some(i), Some(j)) = (x.as_u64(), y.as_u64()) {
        return Some(i.cmp(&j));
    }
    x.as_f64()?.partial_cmp(&y.as_f64()?)
}

fn timestamps(a: &Value, b: &Value) -> Option<Ordering> {
    let x = Timestamp::parse(a.as_str()?)?;
    let y = Timestamp::parse(b.as_str()?)?;
    Some(x.cmp(&y))
}

/// `StringMatches`: `*` matches any run of characters (also none); `\*` is a
/// literal star and `\\` a literal backslash. A backslash before any other
/// character stands for itself. Greedy two-pointer matching with
/// backtracking to the last star: linear in the common case, no allocation.
pub fn matches(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0usize, 0usize);
    // Where to resume after the last star: (pattern index after it, text index).
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < p.len() {
            match token(p, pi) {
                (Token::Star, next) => {
                    star = Some((next, ti));
                    pi = next;
                    continue;
                }
                (Token::Byte(b), next) if t.get(ti) == Some(&b) => {
                    pi = next;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        } else if ti == t.len() {
            return true;
        }
        // Mismatch (or pattern exhausted with text left): let the last star
        // swallow one more byte, if there is one.
        match star {
            Some((after, from)) if from < t.len() => {
                star = Some((after, from + 1));
                pi = after;
                ti = from + 1;
            }
            _ => return false,
        }
    }
}

#[derive(Clone, Copy)]
enum Token {
    Star,
    Byte(u8),
}

/// The pattern token at `i` and the index after it. Working on bytes is
/// safe: `*` and `\` are ASCII and never part of a multi-byte character.
fn token(p: &[u8], i: usize) -> (Token, usize) {
    match (p.get(i), p.get(i + 1)) {
        (Some(b'\\'), Some(&next @ (b'*' | b'\\'))) => (Token::Byte(next), i + 2),
        (Some(b'*'), _) => (Token::Star, i + 1),
        (Some(&b), _) => (Token::Byte(b), i + 1),
        (None, _) => (Token::Byte(0), i + 1),
    }
}

/// An instant parsed from an ISO-8601 extended offset date-time, as the
/// `Timestamp…` operators, `IsTimestamp` and Wait's timestamps accept it
/// (Java's `ISO_OFFSET_DATE_TIME`, which AWS names in its errors):
/// `2016-03-14T01:59:00Z`, with optional seconds, up to nine fractional
/// digits, and a required `Z` or `±hh[:mm[:ss]]` offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    /// Seconds since the Unix epoch (UTC).
    pub seconds: i64,
    /// Nanoseconds within the second.
    pub nanos: u32,
}

impl Timestamp {
    pub fn parse(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        let num = |from: usize, len: usize| -> Option<i64> {
            let digits = b.get(from..from + len)?;
            digits.iter().try_fold(0i64, |acc, &d| {
                d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
            })
        };
        let at = |i: usize, c: u8| b.get(i) == Some(&c);
        let year = num(0, 4)?;
        let month = num(5, 2)?;
        let day = num(8, 2)?;
        let hour = num(11, 2)?;
        let minute = num(14, 2)?;
        if !at(4, b'-') || !at(7, b'-') || !(at(10, b'T') || at(10, b't')) || !at(13, b':') {
            return None;
        }
        // Seconds and their fraction are optional, as in Java's
        // ISO_OFFSET_DATE_TIME (AWS's "ISO-8601 extended offset date-time").
        let mut i = 16;
        let mut second = 0;
        let mut nanos: u32 = 0;
        if at(i, b':') {
            second = num(17, 2)?;
            i = 19;
            if at(i, b'.') {
                i += 1;
                let mut digits = 0u32;
                while let Some(&d) = b.get(i).filter(|d| d.is_ascii_digit()) {
                    if digits == 9 {
                        return None;
                    }
                    nanos = nanos * 10 + u32::from(d - b'0');
                    digits += 1;
                    i += 1;
                }
                // Java accepts a bare `.` (no digits) here.
                nanos *= 10u32.pow(9 - digits);
            }
        }
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        let offset_seconds = match b.get(i) {
            Some(b'Z' | b'z') if i + 1 == b.len() => 0,
            Some(&sign @ (b'+' | b'-')) if [3, 6, 9].contains(&b.len().saturating_sub(i)) => {
                let oh = num(i + 1, 2)?;
                let om = if i + 3 == b.len() { 0 } else { num(i + 4, 2)? };
                let os = if i + 9 == b.len() {
                    if !at(i + 6, b':') {
                        return None;
                    }
                    num(i + 7, 2)?
                } else {
                    0
                };
                let off = oh * 3600 + om * 60 + os;
                // Java's ZoneOffset allows at most ±18:00.
                if (i + 3 != b.len() && !at(i + 3, b':')) || om > 59 || os > 59 || off > 18 * 3600 {
                    return None;
                }
                if sign == b'-' {
                    -off
                } else {
                    off
                }
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
        Some(Timestamp { seconds, nanos })
    }

    /// Milliseconds since the Unix epoch.
    pub fn epoch_millis(&self) -> i64 {
        self.seconds * 1000 + i64::from(self.nanos / 1_000_000)
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scope::{Host, Variables};

    struct NoHost;
    impl Host for NoHost {
        fn random(&self) -> f64 {
            0.0
        }
        fn uuid(&self) -> String {
            String::new()
        }
    }

    fn cmp(variable: &str, op: Comparison, operand: Operand) -> ChoiceRule {
        ChoiceRule::Compare {
            variable: Path::parse(variable).expect("path"),
            op,
            operand,
        }
    }

    fn lit(v: Value) -> Operand {
        Operand::Literal(v)
    }

    fn path(p: &str) -> Operand {
        Operand::Path(Path::parse(p).expect("path"))
    }

    fn run(rule: &ChoiceRule, input: &Value) -> Result<bool, Failure> {
        let ctx = json!({});
        let mut vars = Variables::new();
        vars.insert("limit".into(), json!(10));
        let scope = Scope {
            input,
            context: &ctx,
            variables: &vars,
            host: &NoHost,
        };
        evaluate(rule, &scope)
    }

    #[test]
    fn comparisons() {
        use Comparison::*;
        let input = json!({
            "s": "b", "n": 5, "f": 5.0, "t": true, "nul": null,
            "ts": "2016-03-14T01:59:00Z", "ts2": "2016-03-14T02:59:00+01:00",
            "other_s": "a", "other_n": 7, "list": [1, 2]
        });
        let cases: Vec<(ChoiceRule, bool)> = vec![
            (cmp("$.s", StringEquals, lit(json!("b"))), true),
            (cmp("$.s", StringEquals, lit(json!("B"))), false),
            (cmp("$.n", StringEquals, lit(json!("5"))), false),
            (cmp("$.s", StringLessThan, lit(json!("c"))), true),
            (cmp("$.s", StringGreaterThan, path("$.other_s")), true),
            (cmp("$.s", StringLessThanEquals, lit(json!("b"))), true),
            (cmp("$.s", StringGreaterThanEquals, lit(json!("ba"))), false),
            (cmp("$.n", NumericEquals, lit(json!(5.0))), true),
            (cmp("$.f", NumericEquals, lit(json!(5))), true),
            (cmp("$.n", NumericLessThan, path("$.other_n")), true),
            (cmp("$.n", NumericGreaterThan, path("$limit")), false),
            (cmp("$.n", NumericLessThanEquals, lit(json!(5))), true),
            (cmp("$.n", NumericGreaterThanEquals, lit(json!(5.5))), false),
            (cmp("$.s", NumericEquals, lit(json!(5))), false),
            (cmp("$.t", BooleanEquals, lit(json!(true))), true),
            (cmp("$.n", BooleanEquals, lit(json!(true))), false),
            (cmp("$.ts", TimestampEquals, path("$.ts2")), true),
            (
                cmp(
                    "$.ts",
                    TimestampLessThan,
                    lit(json!("2016-03-14T01:59:01Z")),
                ),
                true,
            ),
            (
                cmp(
                    "$.ts",
                    TimestampGreaterThan,
                    lit(json!("2016-03-14T01:59:00.5Z")),
                ),
                false,
            ),
            (
                cmp(
                    "$.ts",
                    TimestampLessThanEquals,
                    lit(json!("2016-03-14T01:59:00Z")),
                ),
                true,
            ),
            (
                cmp(
                    "$.ts",
                    TimestampGreaterThanEquals,
                    lit(json!("2017-01-01T00:00:00Z")),
                ),
                false,
            ),
            (
                cmp("$.s", TimestampEquals, lit(json!("2016-03-14T01:59:00Z"))),
                false,
            ),
            (cmp("$.nul", IsNull, lit(json!(true))), true),
            (cmp("$.s", IsNull, lit(json!(false))), true),
            (cmp("$.nope", IsPresent, lit(json!(true))), false),
            (cmp("$.nope", IsPresent, lit(json!(false))), true),
            (cmp("$.nul", IsPresent, lit(json!(true))), true),
            (cmp("$.n", IsNumeric, lit(json!(true))), true),
            (cmp("$.s", IsString, lit(json!(true))), true),
            (cmp("$.t", IsBoolean, lit(json!(true))), true),
            (cmp("$.ts", IsTimestamp, lit(json!(true))), true),
            (cmp("$.s", IsTimestamp, lit(json!(false))), true),
            (cmp("$.list[*]", IsPresent, lit(json!(true))), true),
            (
                ChoiceRule::And(vec![
                    cmp("$.n", NumericEquals, lit(json!(5))),
                    ChoiceRule::Not(Box::new(cmp("$.s", StringEquals, lit(json!("x"))))),
                ]),
                true,
            ),
            (
                ChoiceRule::Or(vec![
                    cmp("$.n", NumericEquals, lit(json!(6))),
                    cmp("$.s", StringEquals, lit(json!("x"))),
                ]),
                false,
            ),
            // And short-circuits before the missing path would fail.
            (
                ChoiceRule::And(vec![
                    cmp("$.nope", IsPresent, lit(json!(true))),
                    cmp("$.nope", NumericEquals, lit(json!(1))),
                ]),
                false,
            ),
        ];
        for (rule, want) in cases {
            assert_eq!(run(&rule, &input), Ok(want), "{rule:?}");
        }
    }

    #[test]
    fn missing_paths_fail_at_run_time() {
        let input = json!({"a": 1});
        for rule in [
            cmp("$.nope", Comparison::NumericEquals, lit(json!(1))),
            cmp("$.a", Comparison::NumericEquals, path("$.nope")),
            cmp("$.nope", Comparison::IsNull, lit(json!(true))),
        ] {
            let f = run(&rule, &input).expect_err("fails");
            assert_eq!(f.error, "States.Runtime");
            assert!(
                f.cause
                    .ends_with("The choice state's condition path references an invalid value."),
                "{}",
                f.cause
            );
        }
    }

    #[test]
    fn string_matches() {
        for (pattern, text, want) in [
            ("*", "", true),
            ("*", "anything", true),
            ("log-*.txt", "log-2024.txt", true),
            ("log-*.txt", "log-2024.txt.bak", false),
            ("*.log", "a.log.log", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            (r"a\*b", "a*b", true),
            (r"a\*b", "aXb", false),
            (r"a\\b", r"a\b", true),
            (r"a\\*", r"a\anything", true),
            ("héllo*", "héllo wörld", true),
            ("**", "x", true),
            ("", "", true),
            ("", "x", false),
        ] {
            assert_eq!(matches(pattern, text), want, "{pattern:?} ~ {text:?}");
        }
    }

    #[test]
    fn timestamps_parse_like_rfc3339() {
        for (s, ok) in [
            ("2016-03-14T01:59:00Z", true),
            ("2016-03-14T01:59:00.123456789Z", true),
            ("2016-03-14T01:59:00+01:00", true),
            ("2016-02-29T00:00:00Z", true),
            ("2015-02-29T00:00:00Z", false),
            ("2016-03-14T01:59:00", false),
            ("2016-03-14 01:59:00Z", false),
            ("2016-13-14T01:59:00Z", false),
            ("2016-12-05T25:29:29Z", false),
            ("2016-03-14T01:59:00.Z", true),
            ("2016-03-14T01:59:00+01", true),
            ("2016-03-14t01:59:00z", true),
            ("2016-03-14T01:59Z", true),
            ("2016-03-14T01:59:00.123456789+01:00:30", true),
            ("2016-03-14T01:59:00.1234567891Z", false),
            ("2016-03-14T01:59:00+0100", false),
            ("2016-03-14T01:59:00+19:00", false),
            ("2016-03-14T01:59:60Z", false),
            ("2016-03-14", false),
            ("", false),
        ] {
            assert_eq!(Timestamp::parse(s).is_some(), ok, "{s}");
        }
        assert_eq!(
            Timestamp::parse("1970-01-01T00:00:01.5Z").map(|t| t.epoch_millis()),
            Some(1500)
        );
        assert_eq!(
            Timestamp::parse("2016-03-14T01:59:00Z"),
            Timestamp::parse("2016-03-14T02:59:00+01:00")
        );
    }
}
