//! The JSONPath data flow: InputPath → Parameters → (work) →
//! ResultSelector → ResultPath → OutputPath, with ASL's `null` forms
//! (`InputPath: null` and `OutputPath: null` give `{}`, `ResultPath: null`
//! keeps the input and discards the result), and `Assign` templates.
//!
//! Helpers borrow where they can: an absent InputPath selects the raw input
//! itself, so callers get `None` and keep using the value they own.

use serde_json::{Map, Value};
use statecraft_language::ast::{
    ChoiceRule, Fail, Map as MapState, NullablePath, NullableReferencePath, NumberSource,
    StringSource, Task, Wait, WaitDuration,
};
use statecraft_language::path::failure::{invalid_path_failure, items_path_not_array};
use statecraft_language::path::Path;
use statecraft_language::scope::Variables;
use statecraft_language::template::Template;
use statecraft_language::{Host, Scope};
use statecraft_types::Failure;

use super::{DataFlow, Part, Settings, Stage};
use crate::state::batch::Batcher;
use crate::time::parse_iso8601;

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

/// A value a `…Path` field of a Wait state referred to, as AWS shows it in
/// a cause: a string as its text, anything else as its JSON.
fn shown_raw(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => shown(other),
    }
}

/// `TimeoutSeconds`/`HeartbeatSeconds` given literally or by a `…Path`.
fn seconds(
    src: Option<&NumberSource>,
    field: &str,
    input: &Value,
    env: &Env<'_>,
) -> Result<Option<u64>, Failure> {
    let Some(src) = src else { return Ok(None) };
    let n = number(src, field, input, env, true)?;
    if n < 1.0 {
        return Err(Failure::runtime(format!(
            "The {field} value must be a positive integer, but was {n}"
        )));
    }
    Ok(Some(n as u64))
}

/// The JSONPath query language.
#[derive(Debug)]
pub(crate) struct JsonPath;

impl JsonPath {
    #[inline]
    fn assign_template<'n>(s: &Stage<'n>, part: Part) -> Option<&'n Template> {
        let node = s.node;
        match part {
            Part::State => node.assign.as_ref(),
            Part::Rule(i) => node.choice_assign.get(i).and_then(Option::as_ref),
            Part::Catcher(i) => node.catch_assign.get(i).and_then(Option::as_ref),
        }
    }

    /// The raw input as the document a result goes into: taken, unless a
    /// catcher may still need it.
    #[inline]
    fn take_raw(s: &Stage<'_>, raw: &mut Value) -> Value {
        if s.node.state.catchers().is_empty() {
            std::mem::take(raw)
        } else {
            raw.clone()
        }
    }
}

impl DataFlow for JsonPath {
    #[inline]
    fn open(&self, _s: &mut Stage<'_>, _input: &Value, _limits: crate::JsonataLimits) {}

    #[inline]
    fn bind(&self, _s: &mut Stage<'_>, _key: &'static str, _value: &Value) {}

    #[inline]
    fn effective(&self, s: &Stage<'_>, raw: &Value) -> Result<Option<Value>, Failure> {
        input(s.node.state.io.input_path.as_ref(), raw, &s.env())
    }

    #[inline]
    fn arguments(
        &self,
        s: &Stage<'_>,
        raw: &Value,
        effective: Option<Value>,
    ) -> Result<Option<Value>, Failure> {
        match &s.node.state.io.parameters {
            Some(t) => template(t, effective.as_ref().unwrap_or(raw), &s.env()).map(Some),
            None => Ok(effective),
        }
    }

    #[inline]
    fn assign(
        &self,
        s: &Stage<'_>,
        part: Part,
        value: &Value,
    ) -> Result<Option<Map<String, Value>>, Failure> {
        let Some(t) = Self::assign_template(s, part) else {
            return Ok(None);
        };
        match t.evaluate(&s.env().scope(value))? {
            Value::Object(m) if !m.is_empty() => Ok(Some(m)),
            _ => Ok(None),
        }
    }

    #[inline]
    fn output(
        &self,
        s: &Stage<'_>,
        part: Part,
        raw: &mut Value,
        result: Option<Value>,
    ) -> Result<Value, Failure> {
        let io = &s.node.state.io;
        let env = s.env();
        if let Part::Catcher(i) = part {
            // A catcher places the error output into the input; there is
            // no OutputPath after it.
            let c = s.node.state.catchers().get(i);
            let error_output = result.unwrap_or_default();
            return place_result(
                c.and_then(|c| c.result_path.as_ref()),
                std::mem::take(raw),
                error_output,
            );
        }
        let result = match (&io.result_selector, result) {
            (Some(t), Some(r)) => Some(template(t, &r, &env)?),
            (_, r) => r,
        };
        let combined = match (io.result_path.as_ref(), result) {
            (None, Some(r)) => {
                // The input is not part of the output: free it now, before
                // the state's exit allocates its events, unless a catcher
                // may still need it.
                if s.node.state.catchers().is_empty() {
                    drop(std::mem::take(raw));
                }
                r
            }
            (None, None) | (Some(NullableReferencePath::Null), _) => Self::take_raw(s, raw),
            (Some(NullableReferencePath::Path(rp)), Some(r)) => {
                rp.place(Self::take_raw(s, raw), r)?
            }
            (Some(NullableReferencePath::Path(rp)), None) => {
                let doc = Self::take_raw(s, raw);
                let r = doc.clone();
                rp.place(doc, r)?
            }
        };
        output(io.output_path.as_ref(), combined, &env)
    }

    #[inline]
    fn condition(
        &self,
        s: &Stage<'_>,
        rule: &ChoiceRule,
        effective: &Value,
    ) -> Result<bool, Failure> {
        match rule {
            ChoiceRule::Condition(_) => Ok(false),
            rule => statecraft_language::choice::evaluate(rule, &s.env().scope(effective)),
        }
    }

    fn wait_until(&self, s: &Stage<'_>, w: &Wait, effective: &Value) -> Result<i64, Failure> {
        let env = s.env();
        Ok(match &w.duration {
            WaitDuration::Seconds(secs) => s.now.saturating_add((*secs as i64).saturating_mul(1000)),
            WaitDuration::Timestamp(t) => parse_iso8601(t).ok_or_else(|| {
                Failure::runtime(format!(
                    "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {t}"
                ))
            })?,
            WaitDuration::SecondsPath(p) => {
                let v = p.resolve(&env.scope(effective)).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The SecondsPath parameter does not reference an input value: {}",
                        p.as_str()
                    ))
                })?;
                let secs = v.as_i64().or_else(|| v.as_u64().map(|_| i64::MAX)).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The SecondsPath parameter cannot be parsed as a long value: {} == {}",
                        p.as_str(),
                        shown_raw(v)
                    ))
                })?;
                if secs < 0 {
                    return Err(Failure::runtime(format!(
                        "The SecondsPath parameter references a negative value: {} == {}",
                        p.as_str(),
                        secs
                    )));
                }
                s.now.saturating_add(secs.saturating_mul(1000))
            }
            WaitDuration::TimestampPath(p) => {
                let v = p.resolve(&env.scope(effective));
                let parsed = v.and_then(Value::as_str).and_then(parse_iso8601);
                match (v, parsed) {
                    (_, Some(t)) => t,
                    (None, _) => {
                        return Err(Failure::runtime(format!(
                            "The TimestampPath parameter does not reference an input value: {}",
                            p.as_str()
                        )))
                    }
                    (Some(v), None) => {
                        return Err(Failure::runtime(format!(
                            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                            p.as_str(),
                            shown_raw(v)
                        )))
                    }
                }
            }
            WaitDuration::SecondsExpression(_) | WaitDuration::TimestampExpression(_) => {
                return Err(Failure::runtime(
                    "a JSONata wait duration in a JSONPath state",
                ))
            }
        })
    }

    fn fail(&self, s: &Stage<'_>, fl: &Fail, raw: &Value) -> Result<Failure, Failure> {
        let env = s.env();
        let text = |src: &Option<StringSource>, field: &str| -> Result<String, Failure> {
            match src {
                None => Ok(String::new()),
                Some(StringSource::Literal(s)) => Ok(s.clone()),
                Some(StringSource::Dynamic(e)) => {
                    match e.evaluate_field(&env.scope(raw), field)? {
                        Value::String(s) => Ok(s),
                        other => Ok(other.to_string()),
                    }
                }
                Some(StringSource::Expression(_)) => Err(Failure::runtime(format!(
                    "{field} as a JSONata expression in a JSONPath state"
                ))),
            }
        };
        let error = text(&fl.error, "ErrorPath")?;
        let cause = text(&fl.cause, "CausePath")?;
        Ok(Failure::new(error, cause))
    }

    fn task_inputs(
        &self,
        s: &Stage<'_>,
        t: &Task,
        raw: &Value,
    ) -> Result<(Value, Option<u64>, Option<u64>), Failure> {
        let env = s.env();
        let io = &s.node.state.io;
        let effective = input(io.input_path.as_ref(), raw, &env)?;
        let eff = effective.as_ref().unwrap_or(raw);
        let timeout = seconds(t.timeout.as_ref(), "TimeoutSeconds", eff, &env)?;
        let heartbeat = seconds(t.heartbeat.as_ref(), "HeartbeatSeconds", eff, &env)?;
        let params = match &io.parameters {
            Some(tpl) => template(tpl, eff, &env)?,
            None => effective.unwrap_or_else(|| raw.clone()),
        };
        Ok((params, timeout, heartbeat))
    }

    fn value(&self, s: &Stage<'_>, v: &Value, field: &str, raw: &Value) -> Result<Value, Failure> {
        let env = s.env();
        let effective = input(s.node.state.io.input_path.as_ref(), raw, &env)?;
        let t = Template::compile(v).map_err(|errs| {
            Failure::runtime(format!(
                "{field} is not a valid payload template ({} problem(s))",
                errs.len()
            ))
        })?;
        template(&t, effective.as_ref().unwrap_or(raw), &env)
    }

    fn resource_arguments(
        &self,
        s: &Stage<'_>,
        raw: &Value,
        field: &str,
        effective: &Value,
    ) -> Result<Value, Failure> {
        let Some(p) = raw.get("Parameters") else {
            return Ok(Value::Object(Map::new()));
        };
        let t = Template::compile(p).map_err(|errs| {
            Failure::runtime(format!(
                "{field} Parameters is not a valid payload template ({} problem(s))",
                errs.len()
            ))
        })?;
        template(&t, effective, &s.env())
    }

    fn map_items(
        &self,
        s: &Stage<'_>,
        m: &MapState,
        raw: &Value,
    ) -> Result<(Value, Vec<Value>), Failure> {
        let env = s.env();
        let eff =
            input(s.node.state.io.input_path.as_ref(), raw, &env)?.unwrap_or_else(|| raw.clone());
        let items = match &m.items_path {
            None => eff.clone(),
            Some(p) if p.as_str() == "$" => eff.clone(),
            Some(p) => p
                .resolve(&env.scope(&eff))
                .cloned()
                .ok_or_else(|| items_path_not_array(p.as_path()))?,
        };
        match items {
            Value::Array(items) => Ok((eff, items)),
            _ => Err(match &m.items_path {
                Some(p) => items_path_not_array(p.as_path()),
                None => Failure::runtime(format!(
                    "Map state input must be an array but was: {}",
                    shown(&items)
                )),
            }),
        }
    }

    fn map_settings(
        &self,
        s: &Stage<'_>,
        m: &MapState,
        effective: &Value,
        concurrency_only: bool,
    ) -> Result<Settings, Failure> {
        let env = s.env();
        let max_concurrency = match &m.max_concurrency {
            None => 0,
            Some(src) => {
                let n = number(src, "MaxConcurrency", effective, &env, true)?;
                if n < 0.0 {
                    return Err(Failure::runtime(format!(
                        "Expected non-negative integer for MaxConcurrency, got '{n}' instead."
                    )));
                }
                n as usize
            }
        };
        if concurrency_only {
            return Ok(Settings {
                max_concurrency,
                tolerated_count: None,
                tolerated_percentage: None,
            });
        }
        let tolerated_count = match &m.tolerated_failure_count {
            None => None,
            Some(src) => Some(number(src, "ToleratedFailureCount", effective, &env, true)?),
        };
        let tolerated_percentage = match &m.tolerated_failure_percentage {
            None => None,
            Some(src) => Some(number(
                src,
                "ToleratedFailurePercentage",
                effective,
                &env,
                false,
            )?),
        };
        Settings::checked(max_concurrency, tolerated_count, tolerated_percentage)
    }

    fn batcher(&self, s: &Stage<'_>, raw: &Value, effective: &Value) -> Result<Batcher, Failure> {
        Batcher::resolve(raw, effective, &s.env())
    }

    #[inline]
    fn has_item_selector(&self, m: &MapState) -> bool {
        m.item_selector.is_some()
    }

    #[inline]
    fn item_selector(
        &self,
        s: &Stage<'_>,
        m: &MapState,
        effective: &Value,
    ) -> Result<Value, Failure> {
        match &m.item_selector {
            Some(t) => template(t, effective, &s.env()),
            None => Err(Failure::runtime("no ItemSelector")),
        }
    }
}
