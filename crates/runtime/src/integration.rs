//! Task integrations: what carries out a Task state's `Resource`.
//!
//! An [`Integration`] handles the resources it claims; the
//! [`Integrations`] registry finds the handler of a resource ARN. Activities,
//! HTTP, Lambda and nested executions plug in here. A resource that no
//! integration claims fails its task with `States.TaskFailed` and a cause
//! saying the resource is not supported by this server, so a workflow can
//! still Catch it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;
use statecraft_engine::TaskRequest;
use statecraft_types::Failure;

/// The boxed future an integration returns.
pub type TaskFuture = Pin<Box<dyn Future<Output = TaskOutcome> + Send>>;

/// How a task ended.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutcome {
    Succeeded(Value),
    Failed(Failure),
    /// The task's result arrives later through the runtime's task-token
    /// calls (`.waitForTaskToken`, activities): nothing to report now.
    Deferred,
    /// A `.waitForTaskToken` request was accepted by the service, which
    /// answered this: recorded as `TaskSubmitted`; the result arrives later
    /// by token, as for `Deferred`.
    Submitted(Value),
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
    /// Streaming item readers and result writers of Distributed Map runs
    /// (the buckets of the integrations crate); without them a map run
    /// reads its ItemReader whole through the reader's Task integration
    /// and cannot write results.
    map_run_io: Option<Arc<dyn crate::map_run::MapRunIo>>,
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

    /// Sets where map runs read items and write results.
    pub fn set_map_run_io(&mut self, io: Arc<dyn crate::map_run::MapRunIo>) -> &mut Self {
        self.map_run_io = Some(io);
        self
    }

    /// Where map runs read items and write results, if set.
    pub fn map_run_io(&self) -> Option<&Arc<dyn crate::map_run::MapRunIo>> {
        self.map_run_io.as_ref()
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

/// The failure of a task whose resource no integration handles.
pub fn unsupported(resource: &str) -> Failure {
    Failure::new(
        statecraft_types::errors::TASK_FAILED,
        format!("The resource '{resource}' is not supported by this server."),
    )
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

    #[tokio::test]
    async fn routes_by_resource_and_fails_the_unknown() {
        let mut reg = Integrations::new();
        reg.register(Arc::new(Echo));
        let ctx = TaskContext {
            execution_arn: "e".into(),
        };
        let ok = reg.invoke(ctx.clone(), request("arn:test:echo")).await;
        assert_eq!(ok, TaskOutcome::Succeeded(serde_json::json!({"a": 1})));
        match reg.invoke(ctx, request("arn:aws:lambda:x")).await {
            TaskOutcome::Failed(f) => {
                assert_eq!(f.error, "States.TaskFailed");
                assert!(f.cause.contains("not supported by this server"));
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}
