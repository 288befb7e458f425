//! Task integrations, as the runtime dispatches them: the task interface
//! itself (the [`Integration`] trait, requests, outcomes, the
//! [`Integrations`] registry and [`WaitForToken`]) lives in
//! `statecraft-tasks`, which the integrations depend on instead of the
//! runtime; it is re-exported here for the runtime's callers.

pub use statecraft_tasks::{
    is_activity, unsupported, Integration, Integrations, TaskAnswer, TaskContext, TaskFuture,
    TaskOutcome, WaitForToken, WAIT_FOR_TASK_TOKEN,
};
