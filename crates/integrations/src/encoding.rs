//! URL encoding of JSON values: HTTP tasks' `QueryParameters` and request
//! bodies sent with `Transform.RequestBodyEncoding = URL_ENCODED`.
//!
//! Nested objects become `a[b]=c`; arrays follow
//! `Transform.RequestEncodingOptions.ArrayFormat`:
//!
//! | ArrayFormat | `{"a": ["x", "y"]}` |
//! |---|---|
//! | `INDICES` (default) | `a[0]=x&a[1]=y` |
//! | `REPEAT` | `a=x&a=y` |
//! | `COMMAS` | `a=x,y` |
//! | `BRACKETS` | `a[]=x&a[]=y` |

use serde_json::{Map, Value};

/// How arrays are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArrayFormat {
    #[default]
    Indices,
    Repeat,
    Commas,
    Brackets,
}

impl ArrayFormat {
    /// Reads AWS's name of the format.
    pub fn parse(name: &str) -> Option<ArrayFormat> {
        match name {
            "INDICES" => Some(ArrayFormat::Indices),
            "REPEAT" => Some(ArrayFormat::Repeat),
            "COMMAS" => Some(ArrayFormat::Commas),
            "BRACKETS" => Some(ArrayFormat::Brackets),
            _ => None,
        }
    }
}

/// The text of a scalar as it goes into a URL: strings without quotes,
/// `null` as nothing; objects and arrays (only reached through `COMMAS` of
/// nested values) as JSON.
pub fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// The name/value pairs of an object, flattened.
pub fn pairs(object: &Map<String, Value>, format: ArrayFormat) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in object {
        flatten(k.clone(), v, format, &mut out);
    }
    out
}

fn flatten(name: String, value: &Value, format: ArrayFormat, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(o) => {
            for (k, v) in o {
                flatten(format!("{name}[{k}]"), v, format, out);
            }
        }
        Value::Array(items) => match format {
            ArrayFormat::Indices => {
                for (i, v) in items.iter().enumerate() {
                    flatten(format!("{name}[{i}]"), v, format, out);
                }
            }
            ArrayFormat::Brackets => {
                for v in items {
                    flatten(format!("{name}[]"), v, format, out);
                }
            }
            ArrayFormat::Repeat => {
                for v in items {
                    flatten(name.clone(), v, format, out);
                }
            }
            ArrayFormat::Commas => {
                let joined: Vec<String> = items.iter().map(scalar_text).collect();
                out.push((name, joined.join(",")));
            }
        },
        scalar => out.push((name, scalar_text(scalar))),
    }
}

/// `application/x-www-form-urlencoded` text of the pairs.
pub fn encode(pairs: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn array_formats() {
        let v = json!({"a": ["x", "y"], "n": 1, "o": {"p": true, "q": null}, "s": "a b&c"});
        let Value::Object(o) = v else { return };
        let cases = [
            (
                ArrayFormat::Indices,
                "a%5B0%5D=x&a%5B1%5D=y&n=1&o%5Bp%5D=true&o%5Bq%5D=&s=a+b%26c",
            ),
            (
                ArrayFormat::Repeat,
                "a=x&a=y&n=1&o%5Bp%5D=true&o%5Bq%5D=&s=a+b%26c",
            ),
            (
                ArrayFormat::Commas,
                "a=x%2Cy&n=1&o%5Bp%5D=true&o%5Bq%5D=&s=a+b%26c",
            ),
            (
                ArrayFormat::Brackets,
                "a%5B%5D=x&a%5B%5D=y&n=1&o%5Bp%5D=true&o%5Bq%5D=&s=a+b%26c",
            ),
        ];
        for (format, expected) in cases {
            assert_eq!(encode(&pairs(&o, format)), expected, "{format:?}");
        }
    }

    #[test]
    fn parses_aws_names() {
        assert_eq!(ArrayFormat::parse("COMMAS"), Some(ArrayFormat::Commas));
        assert_eq!(ArrayFormat::parse("commas"), None);
    }
}
