//! A definition prepared for execution: every `StateMachine` (the top level,
//! each Parallel branch, each Map item processor) becomes a [`Graph`] of
//! [`Node`]s whose transitions are indices, so the interpreter never looks a
//! state up by name; `Assign` templates and JSONata expressions are compiled
//! once here; and each node knows whether it reads the Context object, so the
//! interpreter builds `$$` only for those.

use serde_json::Value;
use statecraft_language::ast::{
    ChoiceRule, NullablePath, NullableReferencePath, NumberSource, QueryLanguage, State, StateKind,
    StateMachine, StringSource, Transition, WaitDuration,
};
use statecraft_language::template::{Expr, Template};
use statecraft_types::EventType;

use crate::dataflow::Language;
use crate::jsonata::Compiled;
use crate::Error;

/// Index of a graph in [`Machine::graphs`]; 0 is the top level.
pub type GraphId = usize;

/// A state machine prepared for execution (paths and templates compiled,
/// states indexed). Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Machine {
    pub definition: StateMachine,
    pub(crate) graphs: Vec<Graph>,
    /// Whether any state reads the Context object (else `$$.Execution.Input`
    /// need not be kept).
    pub(crate) uses_context: bool,
    /// The history quota and step budget of its executions (set by the
    /// runtime from its configuration; AWS's quota by default).
    pub limits: crate::Limits,
    /// The time and depth one JSONata evaluation may take.
    pub jsonata_limits: crate::JsonataLimits,
    /// Resource ARNs, or prefixes of them, whose tasks may wait in a queue
    /// before they run (the server's flow limits): their `TaskStarted` (or
    /// `LambdaFunctionStarted`) is recorded, and their `TimeoutSeconds` and
    /// `HeartbeatSeconds` start counting, only when the caller delivers
    /// [`crate::Event::TaskStarted`], as AWS does for activities. Empty by
    /// default: tasks start when scheduled.
    pub started_later: Vec<String>,
    /// Distributed Maps run as map runs of child executions that the host
    /// carries out ([`crate::map_run`]); `false` (the default) runs their
    /// iterations inside the execution, as `statecraft run` and the
    /// conformance runner do.
    pub map_runs: bool,
}

#[derive(Debug)]
pub(crate) struct Graph {
    pub nodes: Vec<Node>,
    pub start: usize,
}

/// How a Task's `Resource` is invoked and recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resource {
    /// `arn:aws:states:::service:action[.pattern]`: `Task*` events with
    /// `resourceType` = service and `resource` = action.
    Service {
        service: String,
        action: String,
        wait_for_token: bool,
    },
    /// A bare Lambda function ARN: `LambdaFunction*` events.
    Lambda,
    /// An activity ARN: `Activity*` events; the worker reports the start.
    Activity,
}

#[derive(Debug)]
pub(crate) struct Node {
    pub state: State,
    /// This node's index in its graph.
    pub index: usize,
    /// `Next` as an index; `None` for `End` and for states without transitions.
    pub next: Option<usize>,
    /// Per Choice rule, its `Next`.
    pub choice_next: Vec<usize>,
    pub default: Option<usize>,
    /// Per catcher, its `Next`.
    pub catch_next: Vec<usize>,
    /// Parallel branches or the Map item processor.
    pub children: Vec<GraphId>,
    /// Whether any path or template of this state reads `$$`.
    pub uses_context: bool,
    pub entered: EventType,
    pub exited: Option<EventType>,
    pub resource: Option<Resource>,
    /// JSONPath `Assign` of the state, of each Choice rule, of each catcher.
    pub assign: Option<Template>,
    pub choice_assign: Vec<Option<Template>>,
    pub catch_assign: Vec<Option<Template>>,
    /// JSONata expressions of this state (empty in JSONPath states).
    pub jsonata: Compiled,
    /// The state's query language: how its data-flow stages evaluate.
    pub flow: Language,
}

impl Machine {
    pub fn new(definition: StateMachine) -> Result<Machine, Error> {
        let mut graphs = Vec::new();
        build_graph(&definition, &mut graphs)?;
        let uses_context = graphs
            .iter()
            .any(|g| g.nodes.iter().any(|n| n.uses_context));
        Ok(Machine {
            definition,
            graphs,
            uses_context,
            limits: crate::Limits::default(),
            jsonata_limits: crate::JsonataLimits::default(),
            started_later: Vec::new(),
            map_runs: false,
        })
    }

    /// Whether tasks of `resource` wait for [`crate::Event::TaskStarted`]
    /// before they count as started ([`Machine::started_later`]).
    pub fn starts_later(&self, resource: &str) -> bool {
        self.started_later
            .iter()
            .any(|prefix| resource.starts_with(prefix.as_str()))
    }

    pub(crate) fn node(&self, graph: GraphId, index: usize) -> Option<&Node> {
        self.graphs.get(graph)?.nodes.get(index)
    }
}

fn build_graph(sm: &StateMachine, graphs: &mut Vec<Graph>) -> Result<GraphId, Error> {
    let id = graphs.len();
    graphs.push(Graph {
        nodes: Vec::new(),
        start: 0,
    });
    let index_of = |name: &str, from: &str| {
        sm.index_of(name).ok_or_else(|| {
            Error::Definition(format!(
                "state '{from}' refers to the missing state '{name}'"
            ))
        })
    };
    let start = index_of(&sm.start_at, "StartAt")?;
    let mut nodes = Vec::with_capacity(sm.states.len());
    for (index, state) in sm.states.iter().enumerate() {
        let next = match state.transition() {
            Some(Transition::Next(n)) => Some(index_of(n, &state.name)?),
            _ => None,
        };
        let mut choice_next = Vec::new();
        let mut choice_assign = Vec::new();
        let mut default = None;
        let mut children = Vec::new();
        match &state.kind {
            StateKind::Choice(c) => {
                for b in &c.choices {
                    choice_next.push(index_of(&b.next, &state.name)?);
                    choice_assign.push(compile_assign(state, b.assign.as_ref())?);
                }
                if let Some(d) = &c.default {
                    default = Some(index_of(d, &state.name)?);
                }
            }
            StateKind::Parallel(p) => {
                for b in &p.branches {
                    children.push(build_graph(b, graphs)?);
                }
            }
            StateKind::Map(m) => children.push(build_graph(&m.processor, graphs)?),
            _ => {}
        }
        let mut catch_next = Vec::new();
        let mut catch_assign = Vec::new();
        for c in state.catchers() {
            catch_next.push(index_of(&c.next, &state.name)?);
            catch_assign.push(compile_assign(state, c.assign.as_ref())?);
        }
        let (entered, exited) = event_types(&state.kind);
        let resource = match &state.kind {
            StateKind::Task(t) => Some(classify(&t.resource)),
            _ => None,
        };
        let jsonata = Compiled::for_state(state)?;
        nodes.push(Node {
            index,
            uses_context: uses_context(state) || jsonata.uses_context(),
            next,
            choice_next,
            default,
            catch_next,
            children,
            entered,
            exited,
            resource,
            assign: compile_assign(state, state.assign.as_ref())?,
            choice_assign,
            catch_assign,
            jsonata,
            flow: flow_of(state),
            state: state.clone(),
        });
    }
    if let Some(g) = graphs.get_mut(id) {
        g.nodes = nodes;
        g.start = start;
    }
    Ok(id)
}

impl Node {
    /// A state on its own, with no transitions and no children: its paths,
    /// templates and expressions compiled as `Machine::new` compiles them,
    /// for running its data-flow stages alone ([`crate::stages`]).
    pub(crate) fn alone(state: &State) -> Result<Node, Error> {
        let mut choice_assign = Vec::new();
        if let StateKind::Choice(c) = &state.kind {
            for b in &c.choices {
                choice_assign.push(compile_assign(state, b.assign.as_ref())?);
            }
        }
        let catch_assign = state
            .catchers()
            .iter()
            .map(|c| compile_assign(state, c.assign.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let (entered, exited) = event_types(&state.kind);
        let jsonata = Compiled::for_state(state)?;
        Ok(Node {
            index: 0,
            uses_context: uses_context(state) || jsonata.uses_context(),
            next: None,
            choice_next: Vec::new(),
            default: None,
            catch_next: Vec::new(),
            children: Vec::new(),
            entered,
            exited,
            resource: match &state.kind {
                StateKind::Task(t) => Some(classify(&t.resource)),
                _ => None,
            },
            assign: compile_assign(state, state.assign.as_ref())?,
            choice_assign,
            catch_assign,
            jsonata,
            flow: flow_of(state),
            state: state.clone(),
        })
    }
}

/// The data flow of a state's query language.
fn flow_of(state: &State) -> Language {
    if state.query_language == QueryLanguage::Jsonata {
        Language::Jsonata
    } else {
        Language::JsonPath
    }
}

fn compile_assign(state: &State, raw: Option<&Value>) -> Result<Option<Template>, Error> {
    if state.query_language == statecraft_language::ast::QueryLanguage::Jsonata {
        return Ok(None);
    }
    match raw {
        None => Ok(None),
        Some(v) => Template::compile(v).map(Some).map_err(|errs| {
            Error::Definition(format!(
                "state '{}': invalid Assign: {}",
                state.name,
                errs.iter()
                    .map(|e| format!("{} at {}", e.error, e.pointer))
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        }),
    }
}

fn event_types(kind: &StateKind) -> (EventType, Option<EventType>) {
    use EventType as E;
    match kind {
        StateKind::Pass(_) => (E::PassStateEntered, Some(E::PassStateExited)),
        StateKind::Task(_) => (E::TaskStateEntered, Some(E::TaskStateExited)),
        StateKind::Choice(_) => (E::ChoiceStateEntered, Some(E::ChoiceStateExited)),
        StateKind::Wait(_) => (E::WaitStateEntered, Some(E::WaitStateExited)),
        StateKind::Succeed => (E::SucceedStateEntered, Some(E::SucceedStateExited)),
        StateKind::Fail(_) => (E::FailStateEntered, None),
        StateKind::Parallel(_) => (E::ParallelStateEntered, Some(E::ParallelStateExited)),
        StateKind::Map(_) => (E::MapStateEntered, Some(E::MapStateExited)),
    }
}

/// Classifies a Task `Resource` ARN.
pub(crate) fn classify(resource: &str) -> Resource {
    let parts: Vec<&str> = resource.splitn(7, ':').collect();
    let service = parts.get(2).copied().unwrap_or_default();
    if service == "lambda" && parts.get(5) == Some(&"function") {
        return Resource::Lambda;
    }
    if service == "states" && parts.get(5) == Some(&"activity") {
        return Resource::Activity;
    }
    if service == "states" && parts.len() >= 6 {
        let integration = parts.get(5).copied().unwrap_or_default();
        let rest = parts.get(6).copied().unwrap_or_default();
        // AWS SDK integrations name the service in the type:
        // `aws-sdk:s3:getObject` is type `aws-sdk:s3`, resource `getObject`.
        let (service, action) = match (integration, rest.split_once(':')) {
            ("aws-sdk", Some((sdk, action))) => (format!("aws-sdk:{sdk}"), action.to_owned()),
            _ => (integration.to_owned(), rest.to_owned()),
        };
        return Resource::Service {
            service,
            wait_for_token: action.ends_with(".waitForTaskToken"),
            action,
        };
    }
    Resource::Service {
        service: service.to_owned(),
        action: parts.last().copied().unwrap_or_default().to_owned(),
        wait_for_token: false,
    }
}

fn path_ctx(p: &str) -> bool {
    p.starts_with("$$")
}

fn nullable_path_ctx(p: &Option<NullablePath>) -> bool {
    matches!(p, Some(NullablePath::Path(p)) if path_ctx(p.as_str()))
}

fn value_ctx(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("$$") || s.contains("$states.context"),
        Value::Array(a) => a.iter().any(value_ctx),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains("$$") || value_ctx(v)),
        _ => false,
    }
}

fn template_ctx(t: &Option<Template>) -> bool {
    t.as_ref().is_some_and(|t| value_ctx(t.raw()))
}

fn expr_ctx(e: &Expr) -> bool {
    match e {
        Expr::Path(p) => path_ctx(p.as_str()),
        Expr::Intrinsic(c) => c.as_str().contains("$$"),
    }
}

fn number_ctx(n: &Option<NumberSource>) -> bool {
    match n {
        Some(NumberSource::Path(p)) => path_ctx(p.as_str()),
        Some(NumberSource::Expression(v)) => value_ctx(v),
        _ => false,
    }
}

fn rule_ctx(r: &ChoiceRule) -> bool {
    match r {
        ChoiceRule::And(rs) | ChoiceRule::Or(rs) => rs.iter().any(rule_ctx),
        ChoiceRule::Not(r) => rule_ctx(r),
        ChoiceRule::Compare {
            variable, operand, ..
        } => {
            path_ctx(variable.as_str())
                || matches!(operand, statecraft_language::ast::Operand::Path(p) if path_ctx(p.as_str()))
        }
        ChoiceRule::Condition(v) => value_ctx(v),
    }
}

/// Whether evaluating this state may read the Context object. Conservative:
/// any `$$` (or `$states.context`) anywhere in its fields counts.
fn uses_context(state: &State) -> bool {
    let io = &state.io;
    let mut uses = nullable_path_ctx(&io.input_path)
        || nullable_path_ctx(&io.output_path)
        || matches!(&io.result_path, Some(NullableReferencePath::Path(p)) if path_ctx(p.as_str()))
        || template_ctx(&io.parameters)
        || template_ctx(&io.result_selector)
        || io.arguments.as_ref().is_some_and(value_ctx)
        || io.output.as_ref().is_some_and(value_ctx)
        || state.assign.as_ref().is_some_and(value_ctx);
    uses |= state.catchers().iter().any(|c| {
        c.assign.as_ref().is_some_and(value_ctx) || c.output.as_ref().is_some_and(value_ctx)
    });
    uses |= match &state.kind {
        StateKind::Task(t) => {
            number_ctx(&t.timeout)
                || number_ctx(&t.heartbeat)
                || t.credentials.as_ref().is_some_and(value_ctx)
                || t.resource.ends_with(".waitForTaskToken")
                || matches!(classify(&t.resource), Resource::Activity)
        }
        StateKind::Choice(c) => c.choices.iter().any(|b| {
            rule_ctx(&b.rule)
                || b.assign.as_ref().is_some_and(value_ctx)
                || b.output.as_ref().is_some_and(value_ctx)
        }),
        StateKind::Wait(w) => match &w.duration {
            WaitDuration::SecondsPath(p) | WaitDuration::TimestampPath(p) => path_ctx(p.as_str()),
            WaitDuration::SecondsExpression(v) | WaitDuration::TimestampExpression(v) => {
                value_ctx(v)
            }
            _ => false,
        },
        StateKind::Fail(f) => [&f.error, &f.cause].iter().any(|s| match s {
            Some(StringSource::Dynamic(e)) => expr_ctx(e),
            Some(StringSource::Expression(v)) => value_ctx(v),
            _ => false,
        }),
        StateKind::Map(m) => {
            // The item selector always sees `$$.Map.Item`; building the
            // context per item is part of its contract.
            m.item_selector.is_some()
                || m.item_selector_jsonata.is_some()
                || m.items_path.as_ref().is_some_and(|p| path_ctx(p.as_str()))
                || m.items.as_ref().is_some_and(value_ctx)
                || number_ctx(&m.max_concurrency)
                || number_ctx(&m.tolerated_failure_count)
                || number_ctx(&m.tolerated_failure_percentage)
        }
        StateKind::Pass(_) | StateKind::Succeed | StateKind::Parallel(_) => false,
    };
    uses
}

impl Machine {
    /// The index of the top-level state `name`; says when the state exists
    /// only inside a Parallel branch or a Map.
    pub fn top_level_state(&self, name: &str) -> Result<usize, crate::RestartError> {
        let top = self
            .graphs
            .first()
            .map(|g| g.nodes.as_slice())
            .unwrap_or(&[]);
        if let Some(node) = top.iter().find(|n| n.state.name == name) {
            return Ok(node.index);
        }
        let nested = self
            .graphs
            .iter()
            .skip(1)
            .any(|g| g.nodes.iter().any(|n| n.state.name == name));
        Err(if nested {
            crate::RestartError::NestedState(name.to_string())
        } else {
            crate::RestartError::UnknownState(name.to_string())
        })
    }

    /// The name of state `index` of graph `graph`.
    pub(crate) fn state_name(&self, graph: usize, index: usize) -> Option<&str> {
        self.graphs
            .get(graph)?
            .nodes
            .get(index)
            .map(|n| n.state.name.as_str())
    }

    /// The names of the top-level states, in definition order.
    pub fn top_level_states(&self) -> Vec<String> {
        self.graphs
            .first()
            .map(|g| g.nodes.iter().map(|n| n.state.name.clone()).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_resources() {
        assert_eq!(
            classify("arn:aws:states:::sqs:sendMessage.waitForTaskToken"),
            Resource::Service {
                service: "sqs".into(),
                action: "sendMessage.waitForTaskToken".into(),
                wait_for_token: true
            }
        );
        assert_eq!(
            classify("arn:aws:states:::states:startExecution.sync:2"),
            Resource::Service {
                service: "states".into(),
                action: "startExecution.sync:2".into(),
                wait_for_token: false
            }
        );
        assert_eq!(
            classify("arn:aws:states:::aws-sdk:s3:getObject"),
            Resource::Service {
                service: "aws-sdk:s3".into(),
                action: "getObject".into(),
                wait_for_token: false
            }
        );
        assert_eq!(
            classify("arn:aws:lambda:us-east-1:123456789012:function:f"),
            Resource::Lambda
        );
        assert_eq!(
            classify("arn:aws:states:us-east-1:123456789012:activity:a"),
            Resource::Activity
        );
        assert!(matches!(classify("garbage"), Resource::Service { .. }));
    }
}
