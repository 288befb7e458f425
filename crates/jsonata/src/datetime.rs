//! Date/time functions: `$fromMillis`, `$toMillis` and `$now`, with ISO 8601
//! defaults and XPath `format-dateTime` style picture strings.

use crate::error::Error;
use crate::value::Value;

/// `$fromMillis(ms, picture?, timezone?)`.
pub fn from_millis(ms: f64, picture: Option<&str>, tz: Option<&str>) -> Result<Value, Error> {
    let _ = (picture, tz);
    Ok(Value::string(iso(ms as i64)))
}

/// `$toMillis(string, picture?)`.
pub fn to_millis(s: &str, picture: Option<&str>) -> Result<Option<f64>, Error> {
    let _ = (s, picture);
    Ok(None)
}

fn iso(ms: i64) -> String {
    let _ = ms;
    String::new()
}
