//! The JSONPath input/output pipeline shared by the state types:
//! InputPath → Parameters → (work) → ResultSelector → ResultPath → OutputPath,
//! with ASL's `null` forms (`InputPath: null` and `OutputPath: null` give
//! `{}`, `ResultPath: null` keeps the input and discards the result).
//!
//! Helpers borrow where they can: an absent InputPath selects the raw input
//! itself, so callers get `None` and keep using the value they own.

use serde_json::{Map, Value};
use statecraft_language::ast::{NullablePath, NullableReferencePath, NumberSource};
use statecraft_language::path::failure::invalid_path_failure;
use statecraft_language::path::Path;
use statecraft_language::scope::Variables;
use statecraft_language::template::Template;
use statecraft_language::{Host, Scope};
use statecraft_types::Failure;

/// What a path-reading helper needs besides the value it reads.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub context: &'a Value,
    pub vars: &'a Variables,
    pub host: &'a dyn Host,
}

impl<'a> Env<'a> {
    pub fn scope<'s>(&'s self, input: &'s Value) -> Scope<'s> {
        Scope {
            input,
            context: self.context,
            variables: self.vars,
            host: self.host,
        }
    }
}

fn select(path: &Path, input: &Value, env: &Env<'_>) -> Result<Value, Failure> {
    let scope = env.scope(input);
    match path.select(&scope)? {
        Some(v) => Ok(v),
        None => Err(invalid_path_failure(path, &scope)),
    }
}

/// InputPath: `None` means "the raw input as it is".
pub fn input(
    input_path: Option<&NullablePath>,
    raw: &Value,
    env: &Env<'_>,
) -> Result<Option<Value>, Failure> {
    match input_path {
        None => Ok(None),
        Some(NullablePath::Null) => Ok(Some(Value::Object(Map::new()))),
        Some(NullablePath::Path(p)) if p.as_str() == "$" => Ok(None),
        Some(NullablePath::Path(p)) => select(p, raw, env).map(Some),
    }
}

/// OutputPath applied to the state's combined output.
pub fn output(
    output_path: Option<&NullablePath>,
    combined: Value,
    env: &Env<'_>,
) -> Result<Value, Failure> {
    match output_path {
        None => Ok(combined),
        Some(NullablePath::Null) => Ok(Value::Object(Map::new())),
        Some(NullablePath::Path(p)) if p.as_str() == "$" => Ok(combined),
        Some(NullablePath::Path(p)) => select(p, &combined, env),
    }
}

/// ResultPath: the result placed into the raw input (default `$`: the
/// result replaces the input; `null`: the input is kept).
pub fn place_result(
    result_path: Option<&NullableReferencePath>,
    raw: Value,
    result: Value,
) -> Result<Value, Failure> {
    match result_path {
        None => Ok(result),
        Some(NullableReferencePath::Null) => Ok(raw),
        Some(NullableReferencePath::Path(p)) => p.place(raw, result),
    }
}

/// A payload template (Parameters, ItemSelector, ResultSelector).
pub fn template(t: &Template, input: &Value, env: &Env<'_>) -> Result<Value, Failure> {
    t.evaluate(&env.scope(input))
}

/// Shows a JSON value the way AWS quotes it in cause texts.
pub fn shown(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A value that a `…Path` field referred to, as AWS quotes it when the value
/// has the wrong type: always between double quotes, a string as its text
/// and anything else as its JSON (`"NoNumber"`, `"{}"`, `"[1]"`, `"true"`).
pub fn quoted(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        other => format!("\"{}\"", shown(other)),
    }
}

/// Resolves a numeric field given literally or through a `…Path`.
/// `field` is the literal field's name (`MaxConcurrency`); the path form's
/// errors name `<field>Path`. Returns the number as found (callers check
/// its range).
pub fn number(
    src: &NumberSource,
    field: &str,
    input: &Value,
    env: &Env<'_>,
    integer: bool,
) -> Result<f64, Failure> {
    match src {
        NumberSource::Literal(n) => Ok(*n),
        NumberSource::Path(p) => {
            let scope = env.scope(input);
            let Some(v) = p.resolve(&scope) else {
                return Err(Failure::runtime(format!(
                    "The {field}Path field references a path that does not exist: {}",
                    p.as_str()
                )));
            };
            // AWS accepts a number written as a string ("1").
            let n = v
                .as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse::<f64>().ok()))
                .filter(|n| n.is_finite() && (!integer || n.fract() == 0.0));
            // AWS names the Java type it parses into: an integer field
            // (MaxConcurrency, ToleratedFailureCount, TimeoutSeconds…) wants
            // an integer, ToleratedFailurePercentage a float.
            n.ok_or_else(|| {
                Failure::runtime(format!(
                    "The {field}Path field refers to value {} which is not a valid {}: {}",
                    quoted(v),
                    if integer { "integer" } else { "float" },
                    p.as_str()
                ))
            })
        }
        NumberSource::Expression(_) => Err(Failure::runtime(format!(
            "{field} as a JSONata expression in a JSONPath state"
        ))),
    }
}
