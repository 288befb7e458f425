//! EventBridge Scheduler's schedule expressions — `rate(…)`, `cron(…)` in
//! AWS's six-field form and `at(…)` — and their due times in a time zone.
//!
//! Why our own cron parser: the well-kept Rust cron crates read the Unix
//! five-field or Quartz seconds-first forms; none reads AWS's
//! `minutes hours day-of-month month day-of-week year` with `?`, `L`, `W`
//! and `#` as AWS defines them (1 = Sunday, `L` alone in day-of-week =
//! Saturday). Daylight saving time follows EventBridge Scheduler's
//! documented rule: a local time that does not exist (spring forward) is
//! skipped, one that occurs twice (fall back) runs once, at its first
//! occurrence. Rates are fixed durations from their anchor, as AWS's are.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// A parsed `ScheduleExpression`.
#[derive(Debug, Clone, PartialEq)]
pub enum Expression {
    /// `rate(value unit)`: every `seconds`, from the schedule's start.
    Rate { seconds: i64 },
    /// `cron(…)`.
    Cron(Box<Cron>),
    /// `at(yyyy-mm-ddThh:mm:ss)`, a local time in the schedule's zone.
    At(NaiveDateTime),
}

/// Why an expression was refused; the text is the ValidationException's.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("Invalid ScheduleExpression {expression}: {why}")]
pub struct ExpressionError {
    pub expression: String,
    pub why: String,
}

fn bad(expression: &str, why: impl Into<String>) -> ExpressionError {
    ExpressionError {
        expression: expression.to_owned(),
        why: why.into(),
    }
}

/// Whether the `cron(…)` day is chosen by day of month or by day of week
/// (AWS requires `?` in the other).
#[derive(Debug, Clone, PartialEq)]
enum Days {
    OfMonth {
        /// Bit d set: day d (1–31).
        days: u64,
        /// `L`: the month's last day.
        last: bool,
        /// `nW`: the weekday nearest to day n, within the month.
        nearest_weekday: Option<u32>,
    },
    OfWeek {
        /// Bit d set: weekday d, 1 = Sunday … 7 = Saturday.
        days: u64,
        /// `dL`: the month's last weekday d.
        last: Option<u32>,
        /// `d#n`: the month's n-th weekday d.
        nth: Option<(u32, u32)>,
    },
}

/// AWS's six-field cron expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    months: u64,
    days: Days,
    /// Years 1970–2199; bit (year − 1970) of each word.
    years: Vec<bool>,
}

const FIRST_YEAR: i32 = 1970;
const LAST_YEAR: i32 = 2199;

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Parses a `ScheduleExpression`.
pub fn parse(expression: &str) -> Result<Expression, ExpressionError> {
    let e = expression.trim();
    let inner = |prefix: &str| {
        e.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(')'))
            .map(str::trim)
    };
    if let Some(body) = inner("rate(") {
        parse_rate(expression, body)
    } else if let Some(body) = inner("cron(") {
        parse_cron(expression, body).map(|c| Expression::Cron(Box::new(c)))
    } else if let Some(body) = inner("at(") {
        NaiveDateTime::parse_from_str(body, "%Y-%m-%dT%H:%M:%S")
            .map(Expression::At)
            .map_err(|_| bad(expression, "at() takes a local time as yyyy-mm-ddThh:mm:ss"))
    } else {
        Err(bad(
            expression,
            "the expression must be rate(value unit), cron(minutes hours day-of-month month day-of-week year) or at(yyyy-mm-ddThh:mm:ss)",
        ))
    }
}

fn parse_rate(expression: &str, body: &str) -> Result<Expression, ExpressionError> {
    let mut parts = body.split_whitespace();
    let (Some(value), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad(
            expression,
            "rate() takes a value and a unit, e.g. rate(5 minutes)",
        ));
    };
    let value: i64 = value
        .parse()
        .ok()
        .filter(|v| *v > 0 && *v <= 1_000_000)
        .ok_or_else(|| {
            bad(
                expression,
                format!("the rate's value '{value}' must be a positive whole number"),
            )
        })?;
    let unit_seconds = match unit {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86_400,
        other => {
            return Err(bad(
                expression,
                format!("the rate's unit '{other}' must be minute(s), hour(s) or day(s)"),
            ))
        }
    };
    Ok(Expression::Rate {
        seconds: value * unit_seconds,
    })
}

/// One field's values as a bit set, from `*`, `a`, `a-b`, `*/n`, `a/n`,
/// `a-b/n` and lists of them; `names` map `JAN`/`SUN`… to `names_from`+i.
fn field(
    expression: &str,
    what: &str,
    text: &str,
    lo: u32,
    hi: u32,
    names: &[&str],
    names_from: u32,
) -> Result<u64, ExpressionError> {
    let value = |s: &str| -> Result<u32, ExpressionError> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Ok(names_from + i as u32);
        }
        s.parse::<u32>()
            .ok()
            .filter(|v| (lo..=hi).contains(v))
            .ok_or_else(|| {
                bad(
                    expression,
                    format!("the {what} field's value '{s}' is not between {lo} and {hi}"),
                )
            })
    };
    let mut bits = 0u64;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step = s.parse::<u32>().ok().filter(|s| *s > 0).ok_or_else(|| {
                    bad(
                        expression,
                        format!("the {what} field's increment '{s}' must be a positive number"),
                    )
                })?;
                (r, Some(step))
            }
            None => (item, None),
        };
        let (from, to) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let a = value(range)?;
            (a, if step.is_some() { hi } else { a })
        };
        if from > to {
            return Err(bad(
                expression,
                format!("the {what} field's range '{range}' runs backwards"),
            ));
        }
        let step = step.unwrap_or(1);
        let mut v = from;
        while v <= to {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

fn parse_cron(expression: &str, body: &str) -> Result<Cron, ExpressionError> {
    let fields: Vec<&str> = body.split_whitespace().collect();
    let [minutes, hours, dom, month, dow, year] = fields[..] else {
        return Err(bad(
            expression,
            format!(
                "cron() takes six fields (minutes hours day-of-month month day-of-week year), not {}",
                fields.len()
            ),
        ));
    };
    let minutes = field(expression, "minutes", minutes, 0, 59, &[], 0)?;
    let hours = field(expression, "hours", hours, 0, 23, &[], 0)?;
    let months = field(expression, "month", month, 1, 12, &MONTHS, 1)?;
    let days = match (dom, dow) {
        ("?", "?") => {
            return Err(bad(
                expression,
                "one of the day-of-month and day-of-week fields must be '?' (and only one)",
            ))
        }
        ("?", dow) => parse_dow(expression, dow)?,
        (dom, "?") => parse_dom(expression, dom)?,
        _ => {
            return Err(bad(
                expression,
                "one of the day-of-month and day-of-week fields must be '?' (and only one)",
            ))
        }
    };
    let mut years = vec![false; (LAST_YEAR - FIRST_YEAR + 1) as usize];
    for item in year.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<usize>().ok().filter(|s| *s > 0).ok_or_else(|| {
                    bad(
                        expression,
                        format!("the year field's increment '{s}' must be a positive number"),
                    )
                })?,
            ),
            None => (item, 1),
        };
        let y = |s: &str| -> Result<usize, ExpressionError> {
            s.parse::<i32>()
                .ok()
                .filter(|y| (FIRST_YEAR..=LAST_YEAR).contains(y))
                .map(|y| (y - FIRST_YEAR) as usize)
                .ok_or_else(|| bad(expression, format!("the year field's value '{s}' is not between {FIRST_YEAR} and {LAST_YEAR}")))
        };
        let last = years.len() - 1;
        let (from, to) = if range == "*" {
            (0, last)
        } else if let Some((a, b)) = range.split_once('-') {
            (y(a)?, y(b)?)
        } else {
            let a = y(range)?;
            (a, if item.contains('/') { last } else { a })
        };
        if from > to {
            return Err(bad(
                expression,
                format!("the year field's range '{range}' runs backwards"),
            ));
        }
        for i in (from..=to).step_by(step) {
            years[i] = true;
        }
    }
    Ok(Cron {
        minutes,
        hours,
        months,
        days,
        years,
    })
}

fn parse_dom(expression: &str, dom: &str) -> Result<Days, ExpressionError> {
    if dom == "L" {
        return Ok(Days::OfMonth {
            days: 0,
            last: true,
            nearest_weekday: None,
        });
    }
    if let Some(n) = dom.strip_suffix('W') {
        let n = n
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=31).contains(n))
            .ok_or_else(|| {
                bad(
                    expression,
                    format!("the day-of-month field's 'W' needs one day from 1 to 31, not '{dom}'"),
                )
            })?;
        return Ok(Days::OfMonth {
            days: 0,
            last: false,
            nearest_weekday: Some(n),
        });
    }
    Ok(Days::OfMonth {
        days: field(expression, "day-of-month", dom, 1, 31, &[], 0)?,
        last: false,
        nearest_weekday: None,
    })
}

fn parse_dow(expression: &str, dow: &str) -> Result<Days, ExpressionError> {
    let one = |s: &str| -> Result<u32, ExpressionError> {
        let bits = field(expression, "day-of-week", s, 1, 7, &WEEKDAYS, 1)?;
        if bits.count_ones() == 1 {
            Ok(bits.trailing_zeros())
        } else {
            Err(bad(
                expression,
                format!("the day-of-week field needs one day before 'L' or '#', not '{s}'"),
            ))
        }
    };
    if dow == "L" {
        // AWS: `L` alone is the week's last day, Saturday.
        return Ok(Days::OfWeek {
            days: 1 << 7,
            last: None,
            nth: None,
        });
    }
    if let Some(d) = dow.strip_suffix('L') {
        return Ok(Days::OfWeek {
            days: 0,
            last: Some(one(d)?),
            nth: None,
        });
    }
    if let Some((d, n)) = dow.split_once('#') {
        let n = n
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=5).contains(n))
            .ok_or_else(|| {
                bad(
                    expression,
                    format!("the day-of-week field's '#' needs a week from 1 to 5, not '{n}'"),
                )
            })?;
        return Ok(Days::OfWeek {
            days: 0,
            last: None,
            nth: Some((one(d)?, n)),
        });
    }
    Ok(Days::OfWeek {
        days: field(expression, "day-of-week", dow, 1, 7, &WEEKDAYS, 1)?,
        last: None,
        nth: None,
    })
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.pred_opt())
        .map_or(28, |d| d.day())
}

/// 1 = Sunday … 7 = Saturday, as AWS counts.
fn aws_weekday(w: Weekday) -> u32 {
    w.num_days_from_sunday() + 1
}

impl Cron {
    fn matches_day(&self, date: NaiveDate) -> bool {
        let year_ok = usize::try_from(date.year() - FIRST_YEAR)
            .ok()
            .and_then(|i| self.years.get(i).copied())
            .unwrap_or(false);
        if !year_ok || self.months & (1 << date.month()) == 0 {
            return false;
        }
        let last_day = days_in_month(date.year(), date.month());
        match &self.days {
            Days::OfMonth {
                days,
                last,
                nearest_weekday,
            } => {
                if *last {
                    return date.day() == last_day;
                }
                if let Some(n) = nearest_weekday {
                    let n = (*n).min(last_day);
                    let Some(target) = date.with_day(n) else {
                        return false;
                    };
                    // The weekday nearest to day n without leaving the month.
                    let nearest = match target.weekday() {
                        Weekday::Sat if n == 1 => n + 2,
                        Weekday::Sat => n - 1,
                        Weekday::Sun if n == last_day => n - 2,
                        Weekday::Sun => n + 1,
                        _ => n,
                    };
                    return date.day() == nearest;
                }
                days & (1 << date.day()) != 0
            }
            Days::OfWeek { days, last, nth } => {
                let wd = aws_weekday(date.weekday());
                if let Some(d) = last {
                    return wd == *d && date.day() + 7 > last_day;
                }
                if let Some((d, n)) = nth {
                    return wd == *d && (date.day() - 1) / 7 + 1 == *n;
                }
                days & (1 << wd) != 0
            }
        }
    }

    fn times(&self) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for h in 0..24 {
            if self.hours & (1 << h) != 0 {
                for m in 0..60 {
                    if self.minutes & (1 << m) != 0 {
                        out.push((h, m));
                    }
                }
            }
        }
        out
    }

    /// The instants of `date`'s matching local times in `tz`, ascending:
    /// a time skipped by a DST change is left out; a repeated one counts
    /// once, at its first occurrence.
    fn instants_on(&self, date: NaiveDate, tz: Tz) -> Vec<DateTime<Utc>> {
        if !self.matches_day(date) {
            return Vec::new();
        }
        let mut out: Vec<DateTime<Utc>> = self
            .times()
            .into_iter()
            .filter_map(|(h, m)| date.and_hms_opt(h, m, 0))
            .filter_map(|local| tz.from_local_datetime(&local).earliest())
            .map(|t| t.with_timezone(&Utc))
            .collect();
        out.sort();
        out
    }
}

/// How far the day-by-day searches look: past the cron year range's end.
const SEARCH_DAYS: i64 = 366 * 9;

impl Expression {
    /// Whether the expression names one time only (`at(…)`).
    pub fn is_one_time(&self) -> bool {
        matches!(self, Expression::At(_))
    }

    /// The first due time strictly after `after`. `anchor` is where a rate
    /// counts from (the schedule's StartDate, else its creation).
    pub fn next_after(
        &self,
        after: DateTime<Utc>,
        tz: Tz,
        anchor: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        match self {
            Expression::Rate { seconds } => {
                if after < anchor {
                    return Some(anchor);
                }
                let k = (after - anchor).num_seconds() / seconds + 1;
                Some(anchor + Duration::seconds(k * seconds))
            }
            Expression::At(local) => {
                let t = tz
                    .from_local_datetime(local)
                    .earliest()?
                    .with_timezone(&Utc);
                (t > after).then_some(t)
            }
            Expression::Cron(cron) => {
                let start = after.with_timezone(&tz).date_naive();
                let mut date = start;
                for _ in 0..SEARCH_DAYS {
                    if let Some(t) = cron.instants_on(date, tz).into_iter().find(|t| *t > after) {
                        return Some(t);
                    }
                    if date.year() > LAST_YEAR {
                        return None;
                    }
                    date = date.succ_opt()?;
                }
                None
            }
        }
    }

    /// The last due time at or before `at`, if any; the search stops at
    /// `floor` (earlier times may be missed).
    pub fn last_at_or_before(
        &self,
        at: DateTime<Utc>,
        tz: Tz,
        anchor: DateTime<Utc>,
        floor: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        match self {
            Expression::Rate { seconds } => {
                if at < anchor {
                    return None;
                }
                let k = (at - anchor).num_seconds() / seconds;
                Some(anchor + Duration::seconds(k * seconds))
            }
            Expression::At(local) => {
                let t = tz
                    .from_local_datetime(local)
                    .earliest()?
                    .with_timezone(&Utc);
                (t <= at).then_some(t)
            }
            Expression::Cron(cron) => {
                let mut date = at.with_timezone(&tz).date_naive();
                // A day before the floor's, for zones far from UTC.
                let stop = floor.with_timezone(&tz).date_naive().pred_opt()?;
                for _ in 0..SEARCH_DAYS {
                    if date < stop {
                        return None;
                    }
                    if let Some(t) = cron
                        .instants_on(date, tz)
                        .into_iter()
                        .rev()
                        .find(|t| *t <= at)
                    {
                        return Some(t);
                    }
                    if date.year() < FIRST_YEAR {
                        return None;
                    }
                    date = date.pred_opt()?;
                }
                None
            }
        }
    }
}

/// Parses a `ScheduleExpressionTimezone` (an IANA name such as
/// `America/New_York`; `UTC` when absent).
pub fn time_zone(name: Option<&str>) -> Result<Tz, String> {
    let name = name.unwrap_or("UTC");
    name.parse::<Tz>()
        .map_err(|_| format!("Invalid ScheduleExpressionTimezone '{name}': use an IANA time zone name such as America/New_York or UTC"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// (expression, zone, after, the next due times after it in UTC)
    #[test]
    fn cron_next_times_table() {
        let cases: &[(&str, &str, &str, &[&str])] = &[
            // Every day at 10:15 UTC.
            (
                "cron(15 10 * * ? *)",
                "UTC",
                "2026-01-01T10:15:00Z",
                &["2026-01-02T10:15:00Z", "2026-01-03T10:15:00Z"],
            ),
            // Every 5 minutes within an hour window, weekdays by name.
            (
                "cron(0/20 8-9 ? * MON-FRI *)",
                "UTC",
                "2026-12-04T09:50:00Z",
                &[
                    "2026-12-07T08:00:00Z",
                    "2026-12-07T08:20:00Z",
                    "2026-12-07T08:40:00Z",
                    "2026-12-07T09:00:00Z",
                ],
            ),
            // The last day of the month, in a leap year.
            (
                "cron(0 12 L * ? *)",
                "UTC",
                "2028-02-01T00:00:00Z",
                &["2028-02-29T12:00:00Z", "2028-03-31T12:00:00Z"],
            ),
            // The weekday nearest the 1st: 2026-08-01 is a Saturday → Monday the 3rd.
            (
                "cron(0 9 1W * ? 2026)",
                "UTC",
                "2026-07-15T00:00:00Z",
                &["2026-08-03T09:00:00Z", "2026-09-01T09:00:00Z"],
            ),
            // The second Tuesday (3#2) of each month.
            (
                "cron(30 6 ? * 3#2 *)",
                "UTC",
                "2026-03-01T00:00:00Z",
                &["2026-03-10T06:30:00Z", "2026-04-14T06:30:00Z"],
            ),
            // The last Friday (6L) of the month.
            (
                "cron(0 18 ? * 6L *)",
                "UTC",
                "2026-05-01T00:00:00Z",
                &["2026-05-29T18:00:00Z", "2026-06-26T18:00:00Z"],
            ),
            // Years field: nothing before 2030.
            (
                "cron(0 0 1 JAN ? 2030-2031)",
                "UTC",
                "2026-06-01T00:00:00Z",
                &["2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z"],
            ),
            // New York, spring forward (2026-03-08 02:00 EST → 03:00 EDT):
            // 02:30 does not exist that day and is skipped.
            (
                "cron(30 2 * * ? *)",
                "America/New_York",
                "2026-03-06T12:00:00Z",
                &["2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z"],
            ),
            // 09:00 local before and after the change: 14:00Z then 13:00Z.
            (
                "cron(0 9 * * ? *)",
                "America/New_York",
                "2026-03-07T00:00:00Z",
                &[
                    "2026-03-07T14:00:00Z",
                    "2026-03-08T13:00:00Z",
                    "2026-03-09T13:00:00Z",
                ],
            ),
            // Fall back (2026-11-01 02:00 EDT → 01:00 EST): 01:30 occurs
            // twice and runs once, at its first (EDT) occurrence.
            (
                "cron(30 1 * * ? *)",
                "America/New_York",
                "2026-10-31T12:00:00Z",
                &["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"],
            ),
            // Hourly through the fall-back night: 01:00 EDT, then 02:00 EST.
            (
                "cron(0 * * * ? *)",
                "America/New_York",
                "2026-11-01T04:30:00Z",
                &[
                    "2026-11-01T05:00:00Z",
                    "2026-11-01T07:00:00Z",
                    "2026-11-01T08:00:00Z",
                ],
            ),
        ];
        for (expr, zone, after, want) in cases {
            let e = parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
            let tz = time_zone(Some(zone)).unwrap();
            let mut t = utc(after);
            let anchor = t;
            for w in *want {
                let next = e
                    .next_after(t, tz, anchor)
                    .unwrap_or_else(|| panic!("{expr}: no time after {t}"));
                assert_eq!(next, utc(w), "{expr} in {zone} after {t}");
                // The backward search finds the same time.
                assert_eq!(
                    e.last_at_or_before(next, tz, anchor, anchor),
                    Some(next),
                    "{expr} back from {next}"
                );
                t = next;
            }
        }
    }

    #[test]
    fn rate_and_at() {
        let anchor = utc("2026-12-04T09:00:10Z");
        let e = parse("rate(1 minute)").unwrap();
        assert_eq!(
            e.next_after(utc("2026-12-04T08:00:00Z"), Tz::UTC, anchor),
            Some(anchor)
        );
        assert_eq!(
            e.next_after(anchor, Tz::UTC, anchor),
            Some(utc("2026-12-04T09:01:10Z"))
        );
        assert_eq!(
            e.last_at_or_before(utc("2026-12-04T09:05:09Z"), Tz::UTC, anchor, anchor),
            Some(utc("2026-12-04T09:04:10Z"))
        );
        assert_eq!(
            parse("rate(2 hours)").unwrap(),
            Expression::Rate { seconds: 7200 }
        );
        let at = parse("at(2026-03-08T02:30:00)").unwrap();
        // A local time that does not exist never comes.
        let ny = time_zone(Some("America/New_York")).unwrap();
        assert_eq!(at.next_after(utc("2026-01-01T00:00:00Z"), ny, anchor), None);
        let at = parse("at(2026-12-24T18:00:00)").unwrap();
        assert_eq!(
            at.next_after(utc("2026-12-01T00:00:00Z"), ny, anchor),
            Some(utc("2026-12-24T23:00:00Z"))
        );
        assert!(at.is_one_time());
    }

    #[test]
    fn malformed_expressions_say_what_is_wrong() {
        let cases: &[(&str, &str)] = &[
            ("every minute", "must be rate(value unit)"),
            ("rate(0 minutes)", "positive whole number"),
            ("rate(5 weeks)", "unit 'weeks'"),
            ("rate(5)", "takes a value and a unit"),
            ("cron(0 12 * * *)", "six fields"),
            ("cron(0 12 * * * *)", "must be '?'"),
            ("cron(0 12 ? * ? *)", "must be '?'"),
            ("cron(60 12 * * ? *)", "minutes field's value '60'"),
            ("cron(0 24 * * ? *)", "hours field's value '24'"),
            ("cron(0 1 * FOO ? *)", "month field's value 'FOO'"),
            ("cron(0 1 ? * 2#6 *)", "week from 1 to 5"),
            ("cron(0 1 * * ? 1969)", "year field's value '1969'"),
            ("cron(0 1 10-5 * ? *)", "runs backwards"),
            ("at(2026-13-01T00:00:00)", "yyyy-mm-ddThh:mm:ss"),
        ];
        for (expr, want) in cases {
            let err = parse(expr).expect_err(expr).to_string();
            assert!(err.contains(want), "{expr}: {err}");
            assert!(
                err.contains(expr),
                "{expr}: the message names the expression: {err}"
            );
        }
        assert!(time_zone(Some("Mars/Olympus"))
            .unwrap_err()
            .contains("Mars/Olympus"));
    }
}
