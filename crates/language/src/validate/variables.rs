//! Variable references that can never have a value.
//!
//! A JSONPath state may read `$name` in its paths, payload templates and
//! intrinsic arguments. A variable is visible in the scope whose states
//! assign it and in the Parallel branches and (inline) Map processors nested
//! in that scope; a distributed Map's processor sees none of the outer
//! variables. A read of a name that no visible scope assigns can never
//! succeed, which is knowable from the definition alone: reported as a
//! warning (AWS accepts such definitions and fails at run time), with the
//! pointer of the field that reads it.
//!
//! JSONata expressions are not inspected here: their `$name` may also be a
//! local binding or a function parameter.

use std::collections::HashSet;

use serde_json::Value;

use crate::ast::{
    ChoiceRule, MapMode, NullablePath, NumberSource, Operand, QueryLanguage, State, StateKind,
    StateMachine, StringSource, WaitDuration,
};
use crate::diagnostic::Diagnostic;
use crate::source::pointer_push;
use crate::template::Expr;

/// Warning code for a read of a variable that no visible scope assigns.
pub const UNASSIGNED_VARIABLE: &str = "UNASSIGNED_VARIABLE";

/// Checks the whole machine; `diagnostics` receives one warning per read.
pub fn check(machine: &StateMachine, diagnostics: &mut Vec<Diagnostic>) {
    scope(machine, &HashSet::new(), diagnostics);
}

fn scope(machine: &StateMachine, outer: &HashSet<String>, out: &mut Vec<Diagnostic>) {
    let mut visible = outer.clone();
    for state in &machine.states {
        visible.extend(assigned_names(state));
    }
    for state in &machine.states {
        if state.query_language == QueryLanguage::JsonPath {
            for (pointer, name) in reads(state) {
                if !visible.contains(&name) {
                    let mut d = Diagnostic::warning(
                        UNASSIGNED_VARIABLE,
                        pointer,
                        format!(
                            "The variable \"${name}\" is read here, but no state of this scope or of an enclosing one assigns it, so it can never have a value; assign it with \"Assign\" in an earlier state or fix the name."
                        ),
                    );
                    d.state = Some(state.name.clone());
                    out.push(d);
                }
            }
        }
        match &state.kind {
            StateKind::Parallel(p) => {
                for branch in &p.branches {
                    scope(branch, &visible, out);
                }
            }
            StateKind::Map(m) => {
                let inherited = match m.mode {
                    MapMode::Inline => visible.clone(),
                    MapMode::Distributed => HashSet::new(),
                };
                scope(&m.processor, &inherited, out);
            }
            _ => {}
        }
    }
}

/// The names a state's `Assign` fields (state, Choice rules, Catchers) set.
fn assigned_names(state: &State) -> Vec<String> {
    let mut objects: Vec<&Value> = state.assign.iter().collect();
    if let StateKind::Choice(c) = &state.kind {
        objects.extend(c.choices.iter().filter_map(|b| b.assign.as_ref()));
    }
    objects.extend(state.catchers().iter().filter_map(|c| c.assign.as_ref()));
    let mut names = Vec::new();
    for o in objects.iter().filter_map(|v| v.as_object()) {
        for key in o.keys() {
            let name = match state.query_language {
                QueryLanguage::JsonPath => key.strip_suffix(".$").unwrap_or(key),
                QueryLanguage::Jsonata => key.as_str(),
            };
            names.push(name.to_string());
        }
    }
    names
}

/// Every variable a JSONPath state reads: (pointer of the field, name).
fn reads(state: &State) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let at = |field: &str| pointer_push(&state.pointer, field);
    let mut add = |pointer: String, names: Vec<String>| {
        for n in names {
            out.push((pointer.clone(), n));
        }
    };
    for (field, path) in [
        ("InputPath", &state.io.input_path),
        ("OutputPath", &state.io.output_path),
    ] {
        if let Some(NullablePath::Path(p)) = path {
            add(at(field), p.references_variables());
        }
    }
    let parameters_field = match state.kind {
        StateKind::Map(_) => "ItemSelector",
        _ => "Parameters",
    };
    for (field, template) in [
        (parameters_field, &state.io.parameters),
        ("ResultSelector", &state.io.result_selector),
    ] {
        if let Some(t) = template {
            for (pointer, expr) in t.expressions() {
                add(
                    format!("{}{pointer}", at(field)),
                    expr.references_variables(),
                );
            }
        }
    }
    let mut assign_objects: Vec<(String, &Value)> =
        state.assign.iter().map(|a| (at("Assign"), a)).collect();
    match &state.kind {
        StateKind::Choice(c) => {
            for b in &c.choices {
                rule_reads(&b.rule, &b.pointer, &mut add);
                if let Some(a) = &b.assign {
                    assign_objects.push((pointer_push(&b.pointer, "Assign"), a));
                }
            }
        }
        StateKind::Wait(w) => match &w.duration {
            WaitDuration::SecondsPath(p) => {
                add(at("SecondsPath"), p.as_path().references_variables())
            }
            WaitDuration::TimestampPath(p) => {
                add(at("TimestampPath"), p.as_path().references_variables())
            }
            _ => {}
        },
        StateKind::Fail(f) => {
            for (field, source) in [("ErrorPath", &f.error), ("CausePath", &f.cause)] {
                if let Some(StringSource::Dynamic(e)) = source {
                    add(at(field), e.references_variables());
                }
            }
        }
        StateKind::Task(t) => {
            for (field, n) in [
                ("TimeoutSecondsPath", &t.timeout),
                ("HeartbeatSecondsPath", &t.heartbeat),
            ] {
                if let Some(NumberSource::Path(p)) = n {
                    add(at(field), p.as_path().references_variables());
                }
            }
        }
        StateKind::Map(m) => {
            if let Some(p) = &m.items_path {
                add(at("ItemsPath"), p.as_path().references_variables());
            }
            if let Some(t) = &m.item_selector {
                for (pointer, expr) in t.expressions() {
                    add(
                        format!("{}{pointer}", at("ItemSelector")),
                        expr.references_variables(),
                    );
                }
            }
            for (field, n) in [
                ("MaxConcurrencyPath", &m.max_concurrency),
                (
                    "ToleratedFailurePercentagePath",
                    &m.tolerated_failure_percentage,
                ),
                ("ToleratedFailureCountPath", &m.tolerated_failure_count),
            ] {
                if let Some(NumberSource::Path(p)) = n {
                    add(at(field), p.as_path().references_variables());
                }
            }
        }
        _ => {}
    }
    for c in state.catchers() {
        if let Some(a) = &c.assign {
            assign_objects.push((pointer_push(&c.pointer, "Assign"), a));
        }
    }
    for (pointer, value) in assign_objects {
        template_reads(value, &pointer, &mut add);
    }
    out
}

fn rule_reads(rule: &ChoiceRule, pointer: &str, add: &mut dyn FnMut(String, Vec<String>)) {
    match rule {
        ChoiceRule::And(rules) | ChoiceRule::Or(rules) => {
            let field = if matches!(rule, ChoiceRule::And(_)) {
                "And"
            } else {
                "Or"
            };
            for (i, r) in rules.iter().enumerate() {
                rule_reads(
                    r,
                    &pointer_push(&pointer_push(pointer, field), &i.to_string()),
                    add,
                );
            }
        }
        ChoiceRule::Not(r) => rule_reads(r, &pointer_push(pointer, "Not"), add),
        ChoiceRule::Compare {
            variable, operand, ..
        } => {
            add(
                pointer_push(pointer, "Variable"),
                variable.references_variables(),
            );
            if let Operand::Path(p) = operand {
                add(pointer.to_string(), p.references_variables());
            }
        }
        ChoiceRule::Condition(_) => {}
    }
}

/// `.$` members of a raw JSONPath template (an `Assign`).
fn template_reads(value: &Value, pointer: &str, add: &mut dyn FnMut(String, Vec<String>)) {
    match value {
        Value::Object(o) => {
            for (k, v) in o {
                let child = pointer_push(pointer, k);
                match (k.ends_with(".$"), v) {
                    (true, Value::String(s)) => {
                        if let Ok(e) = Expr::parse(s) {
                            add(child, e.references_variables());
                        }
                    }
                    _ => template_reads(v, &child, add),
                }
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                template_reads(v, &pointer_push(pointer, &i.to_string()), add);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Severity;
    use serde_json::json;

    fn warnings(def: serde_json::Value) -> Vec<(String, String)> {
        let text = def.to_string();
        crate::validate(&text)
            .into_iter()
            .filter(|d| d.code == super::UNASSIGNED_VARIABLE)
            .inspect(|d| assert_eq!(d.severity, Severity::Warning))
            .map(|d| (d.pointer, d.message))
            .collect()
    }

    #[test]
    fn a_read_of_a_never_assigned_variable_is_reported_where_it_is() {
        let w = warnings(json!({
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Assign": {"total": 1}, "Next": "B"},
                "B": {"Type": "Pass", "Parameters": {"t.$": "$total", "x.$": "$totl"}, "End": true}
            }
        }));
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].0, "/States/B/Parameters/x.$");
        assert!(w[0].1.contains("\"$totl\""));
    }

    #[test]
    fn branches_see_outer_variables_but_not_the_reverse() {
        let w = warnings(json!({
            "StartAt": "Set",
            "States": {
                "Set": {"Type": "Pass", "Assign": {"outer": 1}, "Next": "P"},
                "P": {"Type": "Parallel", "Next": "After", "Branches": [{
                    "StartAt": "In",
                    "States": {"In": {"Type": "Pass", "Assign": {"inner": 2}, "Parameters": {"o.$": "$outer"}, "End": true}}
                }]},
                "After": {"Type": "Pass", "Parameters": {"i.$": "$inner"}, "End": true}
            }
        }));
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].0, "/States/After/Parameters/i.$");
    }

    #[test]
    fn choice_rules_and_intrinsic_arguments_are_read_too() {
        let w = warnings(json!({
            "StartAt": "C",
            "States": {
                "C": {"Type": "Choice", "Choices": [
                    {"Variable": "$limit", "NumericGreaterThan": 1, "Next": "D"}
                ], "Default": "D"},
                "D": {"Type": "Pass", "Parameters": {"s.$": "States.Format('{}', $name)"}, "End": true}
            }
        }));
        let names: Vec<&str> = w.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            names,
            vec!["/States/C/Choices/0/Variable", "/States/D/Parameters/s.$"]
        );
    }
}
