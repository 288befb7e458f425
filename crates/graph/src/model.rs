//! The drawing model: what the layout needs to know about a definition and
//! nothing more (names, kinds, outgoing edges with their labels, nested
//! regions). It is built either from the typed AST or, leniently, from the raw
//! JSON value of a definition, so that the console's editor can draw a
//! definition that does not validate yet (an unknown `Next` is simply not
//! drawn instead of failing the whole picture).

use serde_json::Value;
use statecraft_language::ast::{self, ChoiceRule, Operand, StateKind, Transition};

use crate::layout::{EdgeKind, NodeKind};

/// One machine, Parallel branch or Map item processor.
#[derive(Debug, Clone, Default)]
pub(crate) struct Region {
    pub start_at: Option<String>,
    pub states: Vec<MState>,
}

/// One state as the drawing sees it.
#[derive(Debug, Clone)]
pub(crate) struct MState {
    pub name: String,
    pub kind: NodeKind,
    /// A short description for tooltips (the Task resource, the Wait time…).
    pub detail: Option<String>,
    pub edges: Vec<MEdge>,
    /// `End: true`, Succeed and Fail: the state finishes its region.
    pub terminal: bool,
    /// Parallel branches or the Map item processor.
    pub children: Vec<Region>,
}

#[derive(Debug, Clone)]
pub(crate) struct MEdge {
    pub target: String,
    pub kind: EdgeKind,
    pub label: Option<String>,
}

impl Region {
    pub(crate) fn from_ast(m: &ast::StateMachine) -> Region {
        Region {
            start_at: Some(m.start_at.clone()),
            states: m.states.iter().map(state_from_ast).collect(),
        }
    }

    /// Reads a definition value without validating it. Anything that is not
    /// shaped like a definition yields an empty region rather than an error:
    /// callers that need validation have the language crate for it.
    pub(crate) fn from_value(v: &Value) -> Region {
        let start_at = v.get("StartAt").and_then(Value::as_str).map(str::to_string);
        let states = match v.get("States").and_then(Value::as_object) {
            Some(states) => states
                .iter()
                .map(|(name, s)| state_from_value(name, s))
                .collect(),
            None => Vec::new(),
        };
        Region { start_at, states }
    }
}

fn transition_edges(t: &Transition, edges: &mut Vec<MEdge>) -> bool {
    match t {
        Transition::Next(n) => {
            edges.push(MEdge {
                target: n.clone(),
                kind: EdgeKind::Normal,
                label: None,
            });
            false
        }
        Transition::End => true,
    }
}

fn catch_edges(catchers: &[ast::Catcher], edges: &mut Vec<MEdge>) {
    for c in catchers {
        edges.push(MEdge {
            target: c.next.clone(),
            kind: EdgeKind::Catch,
            label: Some(c.error_equals.join(", ")),
        });
    }
}

fn state_from_ast(s: &ast::State) -> MState {
    let mut edges = Vec::new();
    let mut children = Vec::new();
    let mut detail = None;
    let (kind, terminal) = match &s.kind {
        StateKind::Pass(p) => (NodeKind::Pass, transition_edges(&p.transition, &mut edges)),
        StateKind::Task(t) => {
            detail = Some(short_resource(&t.resource));
            let end = transition_edges(&t.transition, &mut edges);
            catch_edges(&t.catch, &mut edges);
            (NodeKind::Task, end)
        }
        StateKind::Choice(c) => {
            for b in &c.choices {
                edges.push(MEdge {
                    target: b.next.clone(),
                    kind: EdgeKind::Choice,
                    label: Some(rule_text_ast(&b.rule)),
                });
            }
            if let Some(d) = &c.default {
                edges.push(MEdge {
                    target: d.clone(),
                    kind: EdgeKind::Default,
                    label: Some("Default".to_string()),
                });
            }
            (NodeKind::Choice, false)
        }
        StateKind::Wait(w) => {
            detail = Some(wait_text_ast(&w.duration));
            (NodeKind::Wait, transition_edges(&w.transition, &mut edges))
        }
        StateKind::Succeed => (NodeKind::Succeed, true),
        StateKind::Fail(_) => (NodeKind::Fail, true),
        StateKind::Parallel(p) => {
            children.extend(p.branches.iter().map(Region::from_ast));
            let end = transition_edges(&p.transition, &mut edges);
            catch_edges(&p.catch, &mut edges);
            (NodeKind::Parallel, end)
        }
        StateKind::Map(m) => {
            children.push(Region::from_ast(&m.processor));
            detail = Some(match m.mode {
                ast::MapMode::Inline => "Inline".to_string(),
                ast::MapMode::Distributed => "Distributed".to_string(),
            });
            let end = transition_edges(&m.transition, &mut edges);
            catch_edges(&m.catch, &mut edges);
            (NodeKind::Map, end)
        }
    };
    MState {
        name: s.name.clone(),
        kind,
        detail,
        edges,
        terminal,
        children,
    }
}

fn wait_text_ast(d: &ast::WaitDuration) -> String {
    match d {
        ast::WaitDuration::Seconds(s) => format!("{s}s"),
        ast::WaitDuration::SecondsPath(p) => format!("seconds from {}", p.as_str()),
        ast::WaitDuration::Timestamp(t) => format!("until {t}"),
        ast::WaitDuration::TimestampPath(p) => format!("until {}", p.as_str()),
        ast::WaitDuration::SecondsExpression(v) => format!("seconds {}", value_text(v)),
        ast::WaitDuration::TimestampExpression(v) => format!("until {}", value_text(v)),
    }
}

/// `arn:aws:states:::lambda:invoke.waitForTaskToken` → `lambda:invoke.waitForTaskToken`;
/// activity and Lambda function ARNs keep their last meaningful part.
fn short_resource(r: &str) -> String {
    if let Some(rest) = r.strip_prefix("arn:aws:states:::") {
        return rest.to_string();
    }
    let parts: Vec<&str> = r.split(':').collect();
    match parts.as_slice() {
        [.., kind, name] if *kind == "activity" || *kind == "function" => format!("{kind}:{name}"),
        _ => r.to_string(),
    }
}

/// A JSON value as a short text: strings as themselves (with JSONata's
/// `{% %}` stripped), anything else as compact JSON.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => strip_jsonata(s).to_string(),
        other => other.to_string(),
    }
}

fn strip_jsonata(s: &str) -> &str {
    let t = s.trim();
    match t.strip_prefix("{%").and_then(|t| t.strip_suffix("%}")) {
        Some(inner) => inner.trim(),
        None => s,
    }
}

fn rule_text_ast(rule: &ChoiceRule) -> String {
    match rule {
        ChoiceRule::And(rs) => join_rules(rs.iter().map(rule_text_ast), " and "),
        ChoiceRule::Or(rs) => join_rules(rs.iter().map(rule_text_ast), " or "),
        ChoiceRule::Not(r) => format!("not ({})", rule_text_ast(r)),
        ChoiceRule::Compare {
            variable,
            op,
            operand,
        } => {
            let (op_name, rhs) = match operand {
                Operand::Literal(v) => (format!("{op:?}"), v.to_string()),
                Operand::Path(p) => (format!("{op:?}Path"), p.as_str().to_string()),
            };
            comparison_text(variable.as_str(), &op_name, &rhs)
        }
        ChoiceRule::Condition(v) => value_text(v),
    }
}

fn join_rules(parts: impl Iterator<Item = String>, sep: &str) -> String {
    let parts: Vec<String> = parts.map(|p| format!("({p})")).collect();
    parts.join(sep)
}

/// The readable form of one comparison, e.g. `$.n > 3`, `$.s matches "a*"`,
/// `$.x is present`. `op` is the ASL operator name (with `Path` suffix for
/// the path forms); `rhs` is already rendered.
fn comparison_text(variable: &str, op: &str, rhs: &str) -> String {
    let base = op.strip_suffix("Path").unwrap_or(op);
    let symbol = if base.ends_with("GreaterThanEquals") {
        ">="
    } else if base.ends_with("LessThanEquals") {
        "<="
    } else if base.ends_with("GreaterThan") {
        ">"
    } else if base.ends_with("LessThan") {
        "<"
    } else if base.ends_with("Equals") {
        "=="
    } else if base == "StringMatches" {
        "matches"
    } else if let Some(test) = base.strip_prefix("Is") {
        // IsNull/IsPresent/IsString…: `true` reads as "is X", `false` as "is not X".
        let what = test.to_ascii_lowercase();
        return if rhs == "false" {
            format!("{variable} is not {what}")
        } else {
            format!("{variable} is {what}")
        };
    } else {
        op
    };
    format!("{variable} {symbol} {rhs}")
}

fn rule_text_value(rule: &Value) -> String {
    let Some(obj) = rule.as_object() else {
        return value_text(rule);
    };
    if let Some(Value::Array(rs)) = obj.get("And") {
        return join_rules(rs.iter().map(rule_text_value), " and ");
    }
    if let Some(Value::Array(rs)) = obj.get("Or") {
        return join_rules(rs.iter().map(rule_text_value), " or ");
    }
    if let Some(r) = obj.get("Not") {
        return format!("not ({})", rule_text_value(r));
    }
    if let Some(c) = obj.get("Condition") {
        return value_text(c);
    }
    let variable = obj.get("Variable").and_then(Value::as_str).unwrap_or("?");
    const NOT_OPERATORS: [&str; 6] = [
        "Variable",
        "Next",
        "Assign",
        "Output",
        "Comment",
        "Condition",
    ];
    match obj
        .iter()
        .find(|(k, _)| !NOT_OPERATORS.contains(&k.as_str()))
    {
        Some((op, v)) => {
            let rhs = if op.ends_with("Path") {
                value_text(v)
            } else {
                v.to_string()
            };
            comparison_text(variable, op, &rhs)
        }
        None => variable.to_string(),
    }
}

fn next_edge(s: &Value, edges: &mut Vec<MEdge>) -> bool {
    if let Some(n) = s.get("Next").and_then(Value::as_str) {
        edges.push(MEdge {
            target: n.to_string(),
            kind: EdgeKind::Normal,
            label: None,
        });
    }
    s.get("End").and_then(Value::as_bool).unwrap_or(false)
}

fn catch_edges_value(s: &Value, edges: &mut Vec<MEdge>) {
    let Some(catchers) = s.get("Catch").and_then(Value::as_array) else {
        return;
    };
    for c in catchers {
        let Some(next) = c.get("Next").and_then(Value::as_str) else {
            continue;
        };
        let errors: Vec<&str> = c
            .get("ErrorEquals")
            .and_then(Value::as_array)
            .map(|es| es.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        edges.push(MEdge {
            target: next.to_string(),
            kind: EdgeKind::Catch,
            label: Some(errors.join(", ")),
        });
    }
}

fn state_from_value(name: &str, s: &Value) -> MState {
    let mut edges = Vec::new();
    let mut children = Vec::new();
    let mut detail = None;
    let ty = s.get("Type").and_then(Value::as_str).unwrap_or("");
    let (kind, terminal) = match ty {
        "Task" => {
            detail = s
                .get("Resource")
                .and_then(Value::as_str)
                .map(short_resource);
            let end = next_edge(s, &mut edges);
            catch_edges_value(s, &mut edges);
            (NodeKind::Task, end)
        }
        "Choice" => {
            if let Some(choices) = s.get("Choices").and_then(Value::as_array) {
                for c in choices {
                    if let Some(next) = c.get("Next").and_then(Value::as_str) {
                        edges.push(MEdge {
                            target: next.to_string(),
                            kind: EdgeKind::Choice,
                            label: Some(rule_text_value(c)),
                        });
                    }
                }
            }
            if let Some(d) = s.get("Default").and_then(Value::as_str) {
                edges.push(MEdge {
                    target: d.to_string(),
                    kind: EdgeKind::Default,
                    label: Some("Default".to_string()),
                });
            }
            (NodeKind::Choice, false)
        }
        "Wait" => {
            // The same words as the AST form, so both builders agree.
            detail = if let Some(v) = s.get("Seconds") {
                Some(match v.as_u64() {
                    Some(n) => format!("{n}s"),
                    None => format!("seconds {}", value_text(v)),
                })
            } else if let Some(v) = s.get("SecondsPath") {
                Some(format!("seconds from {}", value_text(v)))
            } else {
                s.get("Timestamp")
                    .or_else(|| s.get("TimestampPath"))
                    .map(|v| format!("until {}", value_text(v)))
            };
            (NodeKind::Wait, next_edge(s, &mut edges))
        }
        "Succeed" => (NodeKind::Succeed, true),
        "Fail" => (NodeKind::Fail, true),
        "Parallel" => {
            if let Some(bs) = s.get("Branches").and_then(Value::as_array) {
                children.extend(bs.iter().map(Region::from_value));
            }
            let end = next_edge(s, &mut edges);
            catch_edges_value(s, &mut edges);
            (NodeKind::Parallel, end)
        }
        "Map" => {
            let processor = s.get("ItemProcessor").or_else(|| s.get("Iterator"));
            children.push(processor.map(Region::from_value).unwrap_or_default());
            let mode = s
                .get("ItemProcessor")
                .and_then(|p| p.get("ProcessorConfig"))
                .and_then(|c| c.get("Mode"))
                .and_then(Value::as_str);
            detail = Some(match mode {
                Some("DISTRIBUTED") => "Distributed".to_string(),
                _ => "Inline".to_string(),
            });
            let end = next_edge(s, &mut edges);
            catch_edges_value(s, &mut edges);
            (NodeKind::Map, end)
        }
        // Pass, and anything unknown: drawn as a plain step so the picture
        // stays useful while the user is still typing the type name.
        _ => (NodeKind::Pass, next_edge(s, &mut edges)),
    };
    MState {
        name: name.to_string(),
        kind,
        detail,
        edges,
        terminal,
        children,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rule_texts() {
        let cases = [
            (
                json!({"Variable": "$.n", "NumericGreaterThan": 3}),
                "$.n > 3",
            ),
            (
                json!({"Variable": "$.n", "NumericLessThanEqualsPath": "$.m"}),
                "$.n <= $.m",
            ),
            (
                json!({"Variable": "$.s", "StringEquals": "a"}),
                "$.s == \"a\"",
            ),
            (
                json!({"Variable": "$.s", "StringMatches": "a*"}),
                "$.s matches \"a*\"",
            ),
            (
                json!({"Variable": "$.x", "IsPresent": false}),
                "$.x is not present",
            ),
            (json!({"Variable": "$.x", "IsNull": true}), "$.x is null"),
            (json!({"Condition": "{% $n > 1 %}"}), "$n > 1"),
            (
                json!({"And": [{"Variable": "$.a", "BooleanEquals": true}, {"Not": {"Variable": "$.b", "StringGreaterThan": "x"}}]}),
                "($.a == true) and (not ($.b > \"x\"))",
            ),
        ];
        for (rule, want) in cases {
            assert_eq!(rule_text_value(&rule), want, "{rule}");
        }
    }

    #[test]
    fn short_resources() {
        assert_eq!(
            short_resource("arn:aws:states:::lambda:invoke"),
            "lambda:invoke"
        );
        assert_eq!(
            short_resource("arn:aws:states:us-east-1:1:activity:work"),
            "activity:work"
        );
        assert_eq!(short_resource("custom"), "custom");
    }

    #[test]
    fn lenient_on_garbage() {
        assert!(Region::from_value(&json!(42)).states.is_empty());
        let r =
            Region::from_value(&json!({"StartAt": "A", "States": {"A": {"Type": 1, "Next": 2}}}));
        assert_eq!(r.states.len(), 1);
        assert!(r.states.first().is_some_and(|s| s.edges.is_empty()));
    }
}
