//! The Context object (`$$`): what an execution knows about itself, the
//! current state and, inside a Map iteration, the current item. Built only for
//! states whose paths or templates read `$$` (see `Node::uses_context`), since
//! building it costs an allocation per field.

use serde_json::{Map, Value};

use crate::time::format_iso8601;
use crate::ExecutionContext;

/// What the current state contributes to `$$.State` and `$$.Task`.
pub struct StateInfo<'a> {
    pub name: &'a str,
    pub entered_ms: i64,
    /// `Some` for Task, Parallel and Map states (AWS shows `RetryCount` only there).
    pub retry_count: Option<u32>,
    pub token: Option<&'a str>,
}

/// Builds `$$` in AWS's field order.
pub fn build(
    ctx: &ExecutionContext,
    input: &Value,
    state: &StateInfo<'_>,
    item: Option<(usize, &Value)>,
) -> Value {
    let mut execution = Map::with_capacity(6);
    execution.insert("Id".into(), Value::String(ctx.execution_arn.clone()));
    execution.insert("Input".into(), input.clone());
    execution.insert(
        "StartTime".into(),
        Value::String(format_iso8601(ctx.start_time_ms)),
    );
    execution.insert("Name".into(), Value::String(ctx.execution_name.clone()));
    execution.insert("RoleArn".into(), Value::String(ctx.role_arn.clone()));
    execution.insert("RedriveCount".into(), Value::from(ctx.redrive_count));

    let mut machine = Map::with_capacity(2);
    machine.insert("Id".into(), Value::String(ctx.state_machine_arn.clone()));
    machine.insert("Name".into(), Value::String(ctx.state_machine_name.clone()));

    let mut st = Map::with_capacity(3);
    st.insert("Name".into(), Value::String(state.name.to_owned()));
    st.insert(
        "EnteredTime".into(),
        Value::String(format_iso8601(state.entered_ms)),
    );
    if let Some(n) = state.retry_count {
        st.insert("RetryCount".into(), Value::from(n));
    }

    let mut root = Map::with_capacity(5);
    root.insert("Execution".into(), Value::Object(execution));
    root.insert("StateMachine".into(), Value::Object(machine));
    root.insert("State".into(), Value::Object(st));
    if let Some(token) = state.token {
        let mut task = Map::with_capacity(1);
        task.insert("Token".into(), Value::String(token.to_owned()));
        root.insert("Task".into(), Value::Object(task));
    }
    if let Some((index, value)) = item {
        let mut it = Map::with_capacity(2);
        it.insert("Index".into(), Value::from(index));
        it.insert("Value".into(), value.clone());
        let mut m = Map::with_capacity(1);
        m.insert("Item".into(), Value::Object(it));
        root.insert("Map".into(), Value::Object(m));
    }
    Value::Object(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_and_order() {
        let ctx = ExecutionContext {
            execution_arn: "arn:aws:states:us-east-1:1:execution:m:e".into(),
            execution_name: "e".into(),
            state_machine_arn: "arn:aws:states:us-east-1:1:stateMachine:m".into(),
            state_machine_name: "m".into(),
            role_arn: "r".into(),
            start_time_ms: 0,
            redrive_count: 0,
        };
        let v = build(
            &ctx,
            &Value::Null,
            &StateInfo {
                name: "S",
                entered_ms: 1000,
                retry_count: None,
                token: Some("t"),
            },
            Some((2, &Value::from(7))),
        );
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["Execution", "StateMachine", "State", "Task", "Map"]);
        assert_eq!(v["State"]["EnteredTime"], "1970-01-01T00:00:01.000Z");
        assert_eq!(v["Map"]["Item"]["Index"], 2);
        assert!(v["State"].get("RetryCount").is_none());
    }
}
