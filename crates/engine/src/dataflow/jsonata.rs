//! The JSONata data flow: a state's fields are JSON in which a whole
//! `{% … %}` string is an expression over `$states` (`input`, `context`,
//! and `result` or `errorOutput` where AWS provides them) and the
//! variables. `Arguments` shapes what the state works on, `Output` what it
//! passes on (default: the result, else the input), `Assign` the variables.
//! The expressions were compiled in `Machine::new` (`crate::jsonata`).

use serde_json::{Map, Value};
use statecraft_language::ast::{
    ChoiceRule, Fail, Map as MapState, NumberSource, StateKind, StringSource, Task, Wait,
    WaitDuration,
};
use statecraft_types::Failure;

use std::cell::{Cell, OnceCell};

use super::{shown, DataFlow, Env, JsonataStage, Part, Settings, Stage};
use crate::jsonata::{environment, query_error, template_body, type_name, Eval};
use crate::state::batch::Batcher;
use crate::time::parse_iso8601;
use crate::JsonataLimits;

/// The JSONata query language.
#[derive(Debug)]
pub(crate) struct Jsonata;

/// The stage's environment, built on first use. `Jsonata::open` makes the
/// JSONata part of every stage of a JSONata state, so its absence is the
/// engine's bug, reported as the state's runtime error rather than a panic.
fn eval<'s, 'a>(s: &'s Stage<'a>) -> Result<&'s Eval<'a>, Failure> {
    let Some(j) = &s.jsonata else {
        return Err(Failure::runtime(format!(
            "the JSONata stage of state '{}' was not opened",
            s.node.state.name
        )));
    };
    Ok(j.eval.get_or_init(|| {
        environment(
            &s.node.jsonata,
            s.vars,
            j.states.take().unwrap_or_default(),
            s.host,
            s.now,
            j.limits,
        )
    }))
}

/// The `Assign` and `Output` of a part of the state.
fn fields<'n>(s: &Stage<'n>, part: Part) -> (Option<&'n Value>, Option<&'n Value>) {
    let state = &s.node.state;
    match part {
        Part::State => (state.assign.as_ref(), state.io.output.as_ref()),
        Part::Rule(i) => match &state.kind {
            StateKind::Choice(c) => c
                .choices
                .get(i)
                .map_or((None, None), |b| (b.assign.as_ref(), b.output.as_ref())),
            _ => (None, None),
        },
        Part::Catcher(i) => state
            .catchers()
            .get(i)
            .map_or((None, None), |c| (c.assign.as_ref(), c.output.as_ref())),
    }
}

impl DataFlow for Jsonata {
    fn open(&self, s: &mut Stage<'_>, input: &Value, limits: JsonataLimits) {
        let j = JsonataStage {
            limits,
            states: Cell::new(None),
            eval: OnceCell::new(),
        };
        if s.node.jsonata.needs_states() {
            let mut m = Map::with_capacity(4);
            m.insert("input".into(), input.clone());
            m.insert(
                "context".into(),
                std::mem::take(&mut s.context).into_owned(),
            );
            j.states.set(Some(m));
        }
        s.jsonata = Some(Box::new(j));
    }

    fn bind(&self, s: &mut Stage<'_>, key: &'static str, value: &Value) {
        if !s.node.jsonata.needs_states() {
            return;
        }
        let Some(j) = &s.jsonata else { return };
        let mut m = j.states.take().unwrap_or_default();
        m.insert(key.into(), value.clone());
        j.states.set(Some(m));
    }

    fn effective(&self, _s: &Stage<'_>, _raw: &Value) -> Result<Option<Value>, Failure> {
        Ok(None)
    }

    fn arguments(
        &self,
        s: &Stage<'_>,
        _raw: &Value,
        effective: Option<Value>,
    ) -> Result<Option<Value>, Failure> {
        match &s.node.state.io.arguments {
            Some(a) => eval(s)?.template(a, "Arguments").map(Some),
            None => Ok(effective),
        }
    }

    fn assign(
        &self,
        s: &Stage<'_>,
        part: Part,
        _value: &Value,
    ) -> Result<Option<Map<String, Value>>, Failure> {
        match fields(s, part).0 {
            Some(v) => eval(s)?.assign(Some(v)),
            None => Ok(None),
        }
    }

    fn output(
        &self,
        s: &Stage<'_>,
        part: Part,
        raw: &mut Value,
        result: Option<Value>,
    ) -> Result<Value, Failure> {
        match fields(s, part).1 {
            Some(o) => eval(s)?.template(o, "Output"),
            None => Ok(result.unwrap_or_else(|| raw.clone())),
        }
    }

    fn condition(
        &self,
        s: &Stage<'_>,
        rule: &ChoiceRule,
        _effective: &Value,
    ) -> Result<bool, Failure> {
        let ChoiceRule::Condition(v) = rule else {
            return Ok(false);
        };
        match eval(s)?.template(v, "Condition")? {
            Value::Bool(b) => Ok(b),
            other => Err(query_error(format!(
                "The JSONata expression specified for the field 'Condition' returned an unexpected result type. Expected 'boolean', but was '{}' for value: {}",
                type_name(&other),
                shown(&other)
            ))),
        }
    }

    fn wait_until(&self, s: &Stage<'_>, w: &Wait, _effective: &Value) -> Result<i64, Failure> {
        Ok(match &w.duration {
            WaitDuration::Seconds(secs) => s.now.saturating_add((*secs as i64).saturating_mul(1000)),
            WaitDuration::SecondsExpression(v) => {
                let value = eval(s)?.template(v, "Seconds")?;
                let secs = value.as_i64().filter(|n| *n >= 0).ok_or_else(|| {
                    query_error(format!(
                        "The JSONata expression specified for the field 'Seconds' returned an unexpected result type. Expected 'non-negative integer', but was '{}' for value: {}",
                        type_name(&value),
                        shown(&value)
                    ))
                })?;
                s.now.saturating_add(secs.saturating_mul(1000))
            }
            WaitDuration::Timestamp(t) => parse_iso8601(t).ok_or_else(|| {
                query_error(format!("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {t}"))
            })?,
            WaitDuration::TimestampExpression(v) => {
                let value = eval(s)?.template(v, "Timestamp")?;
                let text = match &value {
                    Value::String(s) => s.clone(),
                    other => shown(other),
                };
                parse_iso8601(&text).ok_or_else(|| {
                    query_error(format!("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {text}"))
                })?
            }
            WaitDuration::SecondsPath(p) | WaitDuration::TimestampPath(p) => {
                return Err(query_error(format!(
                    "Paths are not allowed in a JSONata state: {}",
                    p.as_str()
                )))
            }
        })
    }

    fn fail(&self, s: &Stage<'_>, fl: &Fail, _raw: &Value) -> Result<Failure, Failure> {
        let text = |src: &Option<StringSource>, field: &str| -> Result<String, Failure> {
            match src {
                None => Ok(String::new()),
                Some(StringSource::Literal(s)) => Ok(s.clone()),
                Some(StringSource::Expression(v)) => match eval(s)?.template(v, field)? {
                    Value::String(s) => Ok(s),
                    other => Ok(shown(&other)),
                },
                Some(StringSource::Dynamic(e)) => Err(query_error(format!(
                    "The field '{field}Path' is not allowed in a JSONata state: {}",
                    match e {
                        statecraft_language::template::Expr::Path(p) => p.as_str(),
                        statecraft_language::template::Expr::Intrinsic(c) => c.as_str(),
                    }
                ))),
            }
        };
        Ok(Failure::new(
            text(&fl.error, "Error")?,
            text(&fl.cause, "Cause")?,
        ))
    }

    fn task_inputs(
        &self,
        s: &Stage<'_>,
        t: &Task,
        raw: &Value,
    ) -> Result<(Value, Option<u64>, Option<u64>), Failure> {
        let params = match &s.node.state.io.arguments {
            Some(a) => eval(s)?.template(a, "Arguments")?,
            None => raw.clone(),
        };
        let secs = |src: &Option<NumberSource>, field: &str| -> Result<Option<u64>, Failure> {
            let Some(src) = src else { return Ok(None) };
            let n = eval(s)?.number(src, field)?;
            if n < 1.0 || n.fract() != 0.0 {
                return Err(query_error(format!(
                    "The field '{field}' must be a positive integer, but was {n}"
                )));
            }
            Ok(Some(n as u64))
        };
        Ok((
            params,
            secs(&t.timeout, "TimeoutSeconds")?,
            secs(&t.heartbeat, "HeartbeatSeconds")?,
        ))
    }

    fn value(&self, s: &Stage<'_>, v: &Value, field: &str, _raw: &Value) -> Result<Value, Failure> {
        eval(s)?.template(v, field)
    }

    fn resource_arguments(
        &self,
        s: &Stage<'_>,
        raw: &Value,
        field: &str,
        _effective: &Value,
    ) -> Result<Value, Failure> {
        match raw.get("Arguments") {
            Some(a) => eval(s)?.template(a, &format!("{field}/Arguments")),
            None => Ok(Value::Object(Map::new())),
        }
    }

    fn map_items(
        &self,
        s: &Stage<'_>,
        m: &MapState,
        raw: &Value,
    ) -> Result<(Value, Vec<Value>), Failure> {
        let items = match &m.items {
            None => raw.clone(),
            Some(v) => {
                let value = eval(s)?.template(v, "Items")?;
                if !value.is_array() {
                    let body = v.as_str().and_then(template_body).unwrap_or_default();
                    return Err(query_error(format!(
                        "The JSONata expression '{body}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '{}' for value: {}",
                        type_name(&value),
                        shown(&value)
                    )));
                }
                value
            }
        };
        match items {
            Value::Array(a) => Ok((raw.clone(), a)),
            other => Err(query_error(format!(
                "Map state input must be an array but was: {}",
                shown(&other)
            ))),
        }
    }

    fn map_settings(
        &self,
        s: &Stage<'_>,
        m: &MapState,
        _effective: &Value,
        concurrency_only: bool,
    ) -> Result<Settings, Failure> {
        let max_concurrency = match &m.max_concurrency {
            None => 0,
            Some(src) => eval(s)?.number(src, "MaxConcurrency")?.max(0.0) as usize,
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
            Some(src) => Some(eval(s)?.number(src, "ToleratedFailureCount")?),
        };
        let tolerated_percentage = match &m.tolerated_failure_percentage {
            None => None,
            Some(src) => Some(eval(s)?.number(src, "ToleratedFailurePercentage")?),
        };
        Settings::checked(max_concurrency, tolerated_count, tolerated_percentage)
    }

    fn batcher(&self, s: &Stage<'_>, raw: &Value, effective: &Value) -> Result<Batcher, Failure> {
        let resolved = eval(s)?.template(raw, "ItemBatcher")?;
        // The resolved batcher holds no paths: nothing reads `$$` there.
        let null = Value::Null;
        let env = Env {
            context: &null,
            vars: s.vars,
            host: s.host,
        };
        Batcher::resolve(&resolved, effective, &env)
    }

    fn has_item_selector(&self, m: &MapState) -> bool {
        m.item_selector_jsonata.is_some()
    }

    fn item_selector(
        &self,
        s: &Stage<'_>,
        m: &MapState,
        _effective: &Value,
    ) -> Result<Value, Failure> {
        match &m.item_selector_jsonata {
            Some(selector) => eval(s)?.template(selector, "ItemSelector"),
            None => Err(Failure::runtime("no ItemSelector")),
        }
    }
}
