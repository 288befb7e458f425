//! Task: hands its effective parameters to the caller as
//! [`crate::Command::InvokeTask`] and waits for the answer, with
//! `TimeoutSeconds`/`HeartbeatSeconds` enforced by timers the engine arms
//! itself. Records `Task*` events for service integrations,
//! `LambdaFunction*` for bare Lambda ARNs and `Activity*` for activities.
//! `.waitForTaskToken` resources and activities get a task token
//! (`$$.Task.Token`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use statecraft_language::ast::Task;
use statecraft_types::errors::TIMEOUT;
use statecraft_types::{EventType, Failure};

use crate::dataflow::DataFlow;
use crate::exec::{Active, At, Flow, Frame, Run, TimerKind};
use crate::history;
use crate::machine::{Node, Resource};
use crate::{Command, TaskId, TaskRequest, TimerId};

/// A Task state waiting for its task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub active: Active,
    pub task: TaskId,
    pub timeout: Option<TimerId>,
    pub heartbeat: Option<TimerId>,
    pub heartbeat_seconds: Option<u64>,
    /// `TimeoutSeconds`, kept for a task that starts later.
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// The task waits in a flow-limit queue ([`crate::Machine::started_later`]):
    /// not started yet, its timers not armed.
    #[serde(default)]
    pub waiting: bool,
}

/// `{resourceType, resource}` of the `Task*` events of a service integration.
fn service_details(service: &str, action: &str) -> Map<String, Value> {
    let mut m = Map::with_capacity(6);
    m.insert("resourceType".into(), Value::String(service.to_owned()));
    m.insert("resource".into(), Value::String(action.to_owned()));
    m
}

impl Run<'_> {
    pub(crate) fn task_attempt(
        &mut self,
        f: &mut Frame,
        id: usize,
        node: &Node,
        t: &Task,
        active: Active,
    ) -> Flow {
        let resource = node.resource.clone().unwrap_or(Resource::Lambda);
        let needs_token = matches!(
            resource,
            Resource::Activity
                | Resource::Service {
                    wait_for_token: true,
                    ..
                }
        );
        // `$$.Task.Token` exists for every task whose state reads `$$`
        // (a `.sync` start of a nested execution may pass it on).
        let token = (needs_token || node.uses_context).then(|| self.host.uuid());
        let ctx = self.context_for(
            node,
            active.entered_ms,
            Some(active.retry_count),
            token.as_deref(),
            None,
        );
        let prepared = {
            let s = self.stage(f, node, &active.input, ctx);
            let flow = node.flow;
            flow.task_inputs(&s, t, &active.input)
                .and_then(|(params, timeout, heartbeat)| {
                    let role = match &t.credentials {
                        None => None,
                        Some(raw) => flow.value(&s, raw, "Credentials", &active.input)?["RoleArn"]
                            .as_str()
                            .map(str::to_owned),
                    };
                    Ok((params, timeout, heartbeat, role))
                })
        };
        let (parameters, timeout, heartbeat, role) = match prepared {
            Ok(p) => p,
            Err(e) => {
                let failure = Self::in_state(node, active.entered_id, e);
                self.evaluation_failed(f, node, &failure, active.entered_prev);
                return self.handle_failure(f, node, active, failure);
            }
        };
        let credentials = role.map(|r| history::one("roleArn", Value::String(r)));
        // A task that may wait in a flow-limit queue starts (TaskStarted,
        // timers) when the runtime says it does.
        let waiting = resource != Resource::Activity && self.m.starts_later(&t.resource);
        match &resource {
            Resource::Service {
                service, action, ..
            } => {
                let mut d = service_details(service, action);
                d.insert("region".into(), Value::String(self.region().to_owned()));
                d.insert("parameters".into(), history::text(&parameters));
                if let Some(s) = timeout {
                    d.insert("timeoutInSeconds".into(), Value::from(s));
                }
                if let Some(s) = heartbeat {
                    d.insert("heartbeatInSeconds".into(), Value::from(s));
                }
                if let Some(c) = &credentials {
                    d.insert("taskCredentials".into(), Value::Object(c.clone()));
                }
                self.emit(
                    f.silent,
                    &mut f.cursor,
                    EventType::TaskScheduled,
                    Some(d),
                    true,
                );
                if !waiting {
                    let d = service_details(service, action);
                    self.emit(
                        f.silent,
                        &mut f.cursor,
                        EventType::TaskStarted,
                        Some(d),
                        true,
                    );
                }
            }
            Resource::Lambda => {
                let mut d = Map::with_capacity(4);
                d.insert("resource".into(), Value::String(t.resource.clone()));
                d.insert("input".into(), history::text(&parameters));
                d.insert(
                    "inputDetails".into(),
                    serde_json::json!({"truncated": false}),
                );
                if let Some(s) = timeout {
                    d.insert("timeoutInSeconds".into(), Value::from(s));
                }
                if let Some(c) = &credentials {
                    d.insert("taskCredentials".into(), Value::Object(c.clone()));
                }
                self.emit(
                    f.silent,
                    &mut f.cursor,
                    EventType::LambdaFunctionScheduled,
                    Some(d),
                    true,
                );
                if !waiting {
                    self.emit(
                        f.silent,
                        &mut f.cursor,
                        EventType::LambdaFunctionStarted,
                        None,
                        true,
                    );
                }
            }
            Resource::Activity => {
                let mut d = Map::with_capacity(5);
                d.insert("resource".into(), Value::String(t.resource.clone()));
                d.insert("input".into(), history::text(&parameters));
                d.insert(
                    "inputDetails".into(),
                    serde_json::json!({"truncated": false}),
                );
                if let Some(s) = timeout {
                    d.insert("timeoutInSeconds".into(), Value::from(s));
                }
                if let Some(s) = heartbeat {
                    d.insert("heartbeatInSeconds".into(), Value::from(s));
                }
                self.emit(
                    f.silent,
                    &mut f.cursor,
                    EventType::ActivityScheduled,
                    Some(d),
                    true,
                );
            }
        }
        let task = self.new_task(id);
        self.step.commands.push(Command::InvokeTask(TaskRequest {
            task,
            state_name: node.state.name.clone(),
            resource: t.resource.clone(),
            parameters,
            task_token: token,
            timeout_seconds: timeout,
            heartbeat_seconds: heartbeat,
        }));
        let timeout_timer = timeout.filter(|_| !waiting).map(|s| {
            self.arm(
                id,
                TimerKind::TaskTimeout,
                self.now.saturating_add((s as i64).saturating_mul(1000)),
            )
        });
        // An activity's heartbeat clock starts when a worker picks it up.
        let heartbeat_timer = match (&resource, heartbeat) {
            (Resource::Activity, _) | (_, None) => None,
            _ if waiting => None,
            (_, Some(s)) => Some(self.arm(
                id,
                TimerKind::Heartbeat,
                self.now.saturating_add((s as i64).saturating_mul(1000)),
            )),
        };
        f.at = At::Task(Box::new(Pending {
            active,
            task,
            timeout: timeout_timer,
            heartbeat: heartbeat_timer,
            heartbeat_seconds: heartbeat,
            timeout_seconds: timeout,
            waiting,
        }));
        Flow::Block
    }

    fn pending_resource(&self, f: &Frame, p: &Pending) -> (Resource, String) {
        let node = self.node(f.graph, p.active.state);
        let resource = node
            .and_then(|n| n.resource.clone())
            .unwrap_or(Resource::Lambda);
        let arn = node
            .map(|n| match &n.state.kind {
                statecraft_language::ast::StateKind::Task(t) => t.resource.clone(),
                _ => String::new(),
            })
            .unwrap_or_default();
        (resource, arn)
    }

    pub(crate) fn task_started(&mut self, f: &mut Frame, id: usize, worker: Option<String>) {
        let At::Task(p) = &f.at else { return };
        let (resource, _) = self.pending_resource(f, p);
        if resource != Resource::Activity {
            if p.waiting {
                self.queued_task_started(f, id, &resource);
            }
            return;
        }
        let mut d = Map::with_capacity(1);
        if let Some(w) = worker {
            d.insert("workerName".into(), Value::String(w));
        }
        self.emit(
            f.silent,
            &mut f.cursor,
            EventType::ActivityStarted,
            Some(d),
            true,
        );
        let (secs, old) = match &mut f.at {
            At::Task(p) => (p.heartbeat_seconds, p.heartbeat.take()),
            _ => return,
        };
        self.disarm(old);
        if let Some(s) = secs {
            let at = self.now.saturating_add((s as i64).saturating_mul(1000));
            let timer = self.arm(id, TimerKind::Heartbeat, at);
            if let At::Task(p) = &mut f.at {
                p.heartbeat = Some(timer);
            }
        }
    }

    /// A task that waited in a flow-limit queue starts now: `TaskStarted`
    /// (or `LambdaFunctionStarted`) is recorded and its `TimeoutSeconds` and
    /// `HeartbeatSeconds` count from here. A second start is ignored.
    fn queued_task_started(&mut self, f: &mut Frame, id: usize, resource: &Resource) {
        match resource {
            Resource::Service {
                service, action, ..
            } => {
                let d = service_details(service, action);
                self.emit(
                    f.silent,
                    &mut f.cursor,
                    EventType::TaskStarted,
                    Some(d),
                    true,
                );
            }
            Resource::Lambda => {
                self.emit(
                    f.silent,
                    &mut f.cursor,
                    EventType::LambdaFunctionStarted,
                    None,
                    true,
                );
            }
            Resource::Activity => return,
        }
        let (timeout, heartbeat) = match &mut f.at {
            At::Task(p) => {
                p.waiting = false;
                (p.timeout_seconds, p.heartbeat_seconds)
            }
            _ => return,
        };
        let now = self.now;
        let at = |s: u64| now.saturating_add((s as i64).saturating_mul(1000));
        let timeout = timeout.map(|s| self.arm(id, TimerKind::TaskTimeout, at(s)));
        let heartbeat = heartbeat.map(|s| self.arm(id, TimerKind::Heartbeat, at(s)));
        if let At::Task(p) = &mut f.at {
            p.timeout = timeout;
            p.heartbeat = heartbeat;
        }
    }

    pub(crate) fn task_heartbeat(&mut self, f: &mut Frame, id: usize) {
        let At::Task(p) = &mut f.at else { return };
        let (Some(s), Some(old)) = (p.heartbeat_seconds, p.heartbeat.take()) else {
            return;
        };
        self.disarm(Some(old));
        let timer = self.arm(
            id,
            TimerKind::Heartbeat,
            self.now.saturating_add((s as i64).saturating_mul(1000)),
        );
        if let At::Task(p) = &mut f.at {
            p.heartbeat = Some(timer);
        }
    }

    pub(crate) fn task_submitted(&mut self, f: &mut Frame, output: &Value) {
        let At::Task(p) = &f.at else { return };
        if let (
            Resource::Service {
                service, action, ..
            },
            _,
        ) = self.pending_resource(f, p)
        {
            let mut d = service_details(&service, &action);
            d.insert("output".into(), history::text(output));
            d.insert(
                "outputDetails".into(),
                serde_json::json!({"truncated": false}),
            );
            self.emit(
                f.silent,
                &mut f.cursor,
                EventType::TaskSubmitted,
                Some(d),
                true,
            );
        }
    }

    pub(crate) fn task_succeeded(&mut self, f: &mut Frame, _id: usize, output: Value) {
        let At::Task(p) = std::mem::replace(&mut f.at, At::Idle) else {
            return;
        };
        self.disarm(p.timeout);
        self.disarm(p.heartbeat);
        let (resource, _) = self.pending_resource(f, &p);
        let (ty, d) = match &resource {
            Resource::Service {
                service, action, ..
            } => {
                let mut d = service_details(service, action);
                d.insert("output".into(), history::text(&output));
                d.insert(
                    "outputDetails".into(),
                    serde_json::json!({"truncated": false}),
                );
                (EventType::TaskSucceeded, d)
            }
            Resource::Lambda => (EventType::LambdaFunctionSucceeded, history::output(&output)),
            Resource::Activity => (EventType::ActivitySucceeded, history::output(&output)),
        };
        self.emit(f.silent, &mut f.cursor, ty, Some(d), true);
        f.at = At::Settle {
            active: p.active,
            outcome: Ok(output),
        };
    }

    pub(crate) fn task_failed(&mut self, f: &mut Frame, _id: usize, failure: Failure) {
        let At::Task(p) = std::mem::replace(&mut f.at, At::Idle) else {
            return;
        };
        self.disarm(p.timeout);
        self.disarm(p.heartbeat);
        let (resource, _) = self.pending_resource(f, &p);
        let ec = history::error_cause(&failure.error, &failure.cause);
        let (ty, d) = match &resource {
            Resource::Service {
                service, action, ..
            } => {
                let mut d = service_details(service, action);
                d.extend(ec);
                (EventType::TaskFailed, d)
            }
            Resource::Lambda => (EventType::LambdaFunctionFailed, ec),
            Resource::Activity => (EventType::ActivityFailed, ec),
        };
        self.emit(f.silent, &mut f.cursor, ty, Some(d), true);
        f.at = At::Settle {
            active: p.active,
            outcome: Err(failure),
        };
    }

    /// A task's timeout or heartbeat timer fired. Returns whether the frame
    /// became runnable.
    pub(crate) fn task_timed_out(
        &mut self,
        f: &mut Frame,
        timer: TimerId,
        kind: TimerKind,
    ) -> bool {
        let At::Task(p) = &f.at else { return false };
        let mine = match kind {
            TimerKind::TaskTimeout => p.timeout == Some(timer),
            _ => p.heartbeat == Some(timer),
        };
        if !mine {
            return false;
        }
        let At::Task(p) = std::mem::replace(&mut f.at, At::Idle) else {
            return false;
        };
        let other = if kind == TimerKind::TaskTimeout {
            p.heartbeat
        } else {
            p.timeout
        };
        self.disarm(other);
        self.forget_task(p.task);
        self.step
            .commands
            .push(Command::CancelTask { task: p.task });
        // AWS names a lapsed heartbeat `States.Timeout` too (recorded in the
        // corpus); the failure is marked so `States.HeartbeatTimeout` matches it.
        let failure = if kind == TimerKind::TaskTimeout {
            Failure::new(TIMEOUT, "")
        } else {
            Failure::heartbeat_timeout("")
        };
        let (resource, _) = self.pending_resource(f, &p);
        let ec = history::error_cause(&failure.error, "");
        let (ty, d) = match &resource {
            Resource::Service {
                service, action, ..
            } => {
                let mut d = service_details(service, action);
                d.extend(ec);
                (EventType::TaskTimedOut, d)
            }
            Resource::Lambda => (EventType::LambdaFunctionTimedOut, ec),
            Resource::Activity => (EventType::ActivityTimedOut, ec),
        };
        self.emit(f.silent, &mut f.cursor, ty, Some(d), true);
        f.at = At::Settle {
            active: p.active,
            outcome: Err(failure),
        };
        true
    }
}

#[cfg(test)]
mod queued_start_tests {
    use serde_json::json;

    use crate::host::DeterministicHost;
    use crate::state::fixtures;
    use crate::{Command, Event, Execution};

    const T0: i64 = 1_700_000_000_000;

    fn types(step: &crate::Step) -> Vec<String> {
        step.events
            .iter()
            .map(|e| format!("{:?}", e.event_type))
            .collect()
    }

    /// A task of a resource under a flow limit records TaskScheduled when
    /// queued and TaskStarted (with its timeout armed) only at the start.
    #[test]
    fn a_queued_task_starts_and_times_from_its_task_started() {
        for (resource, started) in [
            ("arn:aws:states:::http:invoke", "TaskStarted"),
            (
                "arn:aws:lambda:us-east-1:1:function:f",
                "LambdaFunctionStarted",
            ),
        ] {
            let def = json!({"StartAt": "T", "States": {"T": {
                "Type": "Task", "Resource": resource, "TimeoutSeconds": 5,
                "HeartbeatSeconds": 2, "End": true}}});
            let mut m = fixtures::machine(&def);
            m.started_later = vec![resource[..resource.len() - 3].to_string()];
            let host = DeterministicHost::new(1);
            let ctx = crate::driver::context_for("q", T0);
            let (mut x, step) = Execution::start(&m, ctx, json!({}), T0, &host);
            let seen = types(&step);
            assert!(!seen.iter().any(|t| t == started), "{resource}: {seen:?}");
            assert!(
                !step
                    .commands
                    .iter()
                    .any(|c| matches!(c, Command::StartTimer { .. })),
                "{resource}: no timer before the start: {:?}",
                step.commands
            );
            let task = step
                .commands
                .iter()
                .find_map(|c| match c {
                    Command::InvokeTask(r) => Some(r.task),
                    _ => None,
                })
                .expect("a task");
            let later = T0 + 60_000;
            let step = x.handle(
                &m,
                Event::TaskStarted {
                    task,
                    worker_name: None,
                },
                later,
                &host,
            );
            assert_eq!(types(&step), [started], "{resource}");
            let mut due: Vec<i64> = step
                .commands
                .iter()
                .filter_map(|c| match c {
                    Command::StartTimer { fire_at_ms, .. } => Some(*fire_at_ms),
                    _ => None,
                })
                .collect();
            due.sort_unstable();
            assert_eq!(due, [later + 2_000, later + 5_000], "{resource}");
            // A second start (a re-dispatch after a restart) records nothing.
            let again = x.handle(
                &m,
                Event::TaskStarted {
                    task,
                    worker_name: None,
                },
                later + 1,
                &host,
            );
            assert!(again.events.is_empty(), "{:?}", types(&again));
        }
    }

    /// Without a limit, nothing changes: scheduled and started together.
    #[test]
    fn an_unlimited_task_starts_when_scheduled() {
        let def = json!({"StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": true}}});
        let m = fixtures::machine(&def);
        let host = DeterministicHost::new(1);
        let ctx = crate::driver::context_for("q", T0);
        let (_, step) = Execution::start(&m, ctx, json!({}), T0, &host);
        let seen = types(&step);
        assert!(seen.iter().any(|t| t == "TaskStarted"), "{seen:?}");
    }
}
