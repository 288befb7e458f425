//! The task interface: what carries out a Task state's `Resource`.
//!
//! The runtime hands every task it dispatches to an [`Integrations`]
//! registry, which finds the [`Integration`] that claims the resource and
//! runs it; the integrations (the `statecraft-integrations` crate, the
//! runtime's activity queue, [`WaitForToken`], the server's flow-control
//! wrapper, the mocks) implement the trait. Both sides depend on this
//! crate and not on each other, so an integration is written against this
//! interface alone.
//!
//! A resource that no integration claims fails its task with
//! `States.TaskFailed` and a cause saying the resource is not supported by
//! this server, so a workflow can still Catch it.
//!
//! Architecture invariant: no I/O and no async runtime here; an
//! integration's future is run by whoever calls [`Integration::invoke`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;
use statecraft_types::Failure;

pub use statecraft_types::{TaskId, TaskRequest};

/// The boxed future an integration returns.
pub type TaskFuture = Pin<Box<dyn Future<Output = TaskOutcome> + Send>>;

/// How a task ended.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutcome {
    Succeeded(Value),
    Failed(Failure),
    /// The task's result arrives later by its token (`.waitForTaskToken`,
    /// activities): nothing to report now.
    Deferred,
    /// A `.waitForTaskToken` request was accepted by the service, which
    /// answered this: recorded as `TaskSubmitted`; the result arrives later
    /// by token, as for `Deferred`.
    Submitted(Value),
}

/// How a task token is answered (SendTaskSuccess, SendTaskFailure): the
/// outcome of a [`TaskOutcome::Deferred`] or [`TaskOutcome::Submitted`]
/// task, delivered later.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum TaskAnswer {
    /// SendTaskSuccess with its output.
    Succeeded(Value),
    /// SendTaskFailure with its error and cause.
    Failed(Failure),
}

/// Context an integration may need about the task's execution.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskContext {
    pub execution_arn: String,
}

/// Carries out tasks for some resources.
pub trait Integration: Send + Sync {
    /// Whether this integration handles `resource` (a Task state's `Resource`).
    fn handles(&self, resource: &str) -> bool;
    /// Runs one task. Dropping the future cancels the task.
    fn invoke(&self, context: TaskContext, request: TaskRequest) -> TaskFuture;
}

/// The registered integrations, asked in registration order.
#[derive(Clone, Default)]
pub struct Integrations {
    handlers: Vec<Arc<dyn Integration>>,
}

impl std::fmt::Debug for Integrations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Integrations")
            .field("count", &self.handlers.len())
            .finish()
    }
}

impl Integrations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register(&mut self, integration: Arc<dyn Integration>) -> &mut Self {
        self.handlers.push(integration);
        self
    }

    /// The integration for `resource`, if any.
    pub fn find(&self, resource: &str) -> Option<&Arc<dyn Integration>> {
        self.handlers.iter().find(|h| h.handles(resource))
    }

    /// Runs a task with its integration, or fails it if none handles it.
    pub fn invoke(&self, context: TaskContext, request: TaskRequest) -> TaskFuture {
        match self.find(&request.resource) {
            Some(h) => h.invoke(context, request),
            None => {
                let failure = unsupported(&request.resource);
                Box::pin(async move { TaskOutcome::Failed(failure) })
            }
        }
    }
}

impl Integration for Integrations {
    fn handles(&self, resource: &str) -> bool {
        self.find(resource).is_some()
    }

    fn invoke(&self, context: TaskContext, request: TaskRequest) -> TaskFuture {
        Integrations::invoke(self, context, request)
    }
}

/// The failure of a task whose resource no integration handles.
pub fn unsupported(resource: &str) -> Failure {
    Failure::new(
        statecraft_types::errors::TASK_FAILED,
        format!("The resource '{resource}' is not supported by this server."),
    )
}

/// The suffix of a resource whose task waits for its token.
pub const WAIT_FOR_TASK_TOKEN: &str = ".waitForTaskToken";

/// Whether `resource` is an activity ARN
/// (`arn:<partition>:states:<region>:<account>:activity:<name>`).
pub fn is_activity(resource: &str) -> bool {
    let mut parts = resource.split(':');
    let head = parts.next();
    let _partition = parts.next();
    let service = parts.next();
    let region = parts.next();
    let account = parts.next();
    let kind = parts.next();
    let name = parts.next();
    head == Some("arn")
        && service == Some("states")
        && region.is_some_and(|r| !r.is_empty())
        && account.is_some_and(|a| !a.is_empty())
        && kind == Some("activity")
        && name.is_some_and(|n| !n.is_empty())
        && parts.next().is_none()
}

/// `.waitForTaskToken` on a resource Statecraft does not otherwise
/// integrate with (e.g. `arn:aws:states:::sqs:sendMessage.waitForTaskToken`
/// for a human approval): nothing is called; the task stays pending in the
/// store (committed with its step) until its token is answered, or the
/// engine's `TimeoutSeconds`/`HeartbeatSeconds` timers end it. The
/// definition puts the token into the parameters (and so into the
/// `TaskScheduled` event) for an operator or the console to find.
/// Register it after every real integration: it claims any resource with
/// the suffix.
#[derive(Debug, Default, Clone, Copy)]
pub struct WaitForToken;

impl Integration for WaitForToken {
    fn handles(&self, resource: &str) -> bool {
        resource.ends_with(WAIT_FOR_TASK_TOKEN)
    }

    fn invoke(&self, _: TaskContext, _: TaskRequest) -> TaskFuture {
        Box::pin(async { TaskOutcome::Deferred })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo;

    impl Integration for Echo {
        fn handles(&self, resource: &str) -> bool {
            resource == "arn:test:echo"
        }

        fn invoke(&self, _: TaskContext, request: TaskRequest) -> TaskFuture {
            Box::pin(async move { TaskOutcome::Succeeded(request.parameters) })
        }
    }

    fn request(resource: &str) -> TaskRequest {
        TaskRequest {
            task: 1,
            state_name: "T".into(),
            resource: resource.into(),
            parameters: serde_json::json!({"a": 1}),
            task_token: None,
            timeout_seconds: None,
            heartbeat_seconds: None,
        }
    }

    fn context() -> TaskContext {
        TaskContext {
            execution_arn: "e".into(),
        }
    }

    #[tokio::test]
    async fn routes_by_resource_and_fails_the_unknown() {
        let mut reg = Integrations::new();
        reg.register(Arc::new(Echo));
        let ok = reg.invoke(context(), request("arn:test:echo")).await;
        assert_eq!(ok, TaskOutcome::Succeeded(serde_json::json!({"a": 1})));
        match reg.invoke(context(), request("arn:aws:lambda:x")).await {
            TaskOutcome::Failed(f) => {
                assert_eq!(f.error, "States.TaskFailed");
                assert!(f.cause.contains("not supported by this server"));
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_first_registered_claim_wins_and_registries_nest() {
        let mut inner = Integrations::new();
        inner.register(Arc::new(Echo));
        inner.register(Arc::new(WaitForToken));
        let mut outer = Integrations::new();
        outer.register(Arc::new(inner));
        assert!(outer.find("arn:test:echo").is_some());
        let waiting = request("arn:aws:states:::sqs:sendMessage.waitForTaskToken");
        assert_eq!(
            outer.invoke(context(), waiting).await,
            TaskOutcome::Deferred
        );
        assert!(outer.find("arn:aws:states:::sqs:sendMessage").is_none());
    }

    #[test]
    fn activity_arns_are_recognised() {
        for (arn, yes) in [
            ("arn:aws:states:us-east-1:123456789012:activity:work", true),
            ("arn:aws-cn:states:cn-north-1:1:activity:a-b", true),
            ("arn:aws:states:us-east-1:123456789012:activity:", false),
            ("arn:aws:states:us-east-1:123456789012:activity:a:b", false),
            ("arn:aws:states:::lambda:invoke", false),
            (
                "arn:aws:states:us-east-1:123456789012:stateMachine:x",
                false,
            ),
            ("activity", false),
        ] {
            assert_eq!(is_activity(arn), yes, "{arn}");
        }
    }

    #[test]
    fn wait_for_token_claims_only_the_suffix() {
        assert!(WaitForToken.handles("arn:aws:states:::sqs:sendMessage.waitForTaskToken"));
        assert!(!WaitForToken.handles("arn:aws:states:::sqs:sendMessage"));
    }

    #[test]
    fn answers_round_trip_through_json() {
        for answer in [
            TaskAnswer::Succeeded(serde_json::json!({"ok": true})),
            TaskAnswer::Failed(Failure::new("E", "c")),
        ] {
            let text = serde_json::to_string(&answer).unwrap_or_default();
            let back: Option<TaskAnswer> = serde_json::from_str(&text).ok();
            assert_eq!(back.as_ref(), Some(&answer), "{text}");
        }
    }
}
