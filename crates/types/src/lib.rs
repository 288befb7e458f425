//! Domain types shared by every Statecraft layer: the history events of an
//! execution (in the AWS Step Functions wire shape), the predefined `States.*`
//! error names and the `Failure` (error + cause) that flows through Retry and
//! Catch, the task request an integration receives, and Step Functions ARNs
//! (parsed and built here once, for the server and the runtime alike).

pub mod arn;
pub mod errors;
pub mod history;
pub mod task;

pub use errors::Failure;
pub use history::{EventType, HistoryEvent};
pub use task::{TaskId, TaskRequest};
