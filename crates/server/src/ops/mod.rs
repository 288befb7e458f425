//! The operations of the API, one module per resource family. Each is a
//! method of [`crate::service::Service`] taking the decoded [`Request`] and
//! returning the response members (or an [`ApiError`]).

pub mod activities;
pub mod aliases;
pub mod executions;
pub mod history;
pub mod machines;
pub mod map_runs;
pub mod operators;
pub mod tags;
pub mod tasks;
pub mod test_state;
pub mod validate;

use statecraft_runtime::model::{PageRequest, StateMachine, Version};

use crate::protocol::{ApiError, Len, Request};
use crate::service::{store_err, Service};

/// `maxResults` + `nextToken` of a list operation.
pub(crate) fn page_request(req: &Request, token: Len) -> Result<PageRequest, ApiError> {
    let max_results = req.opt_int("maxResults", 0, 1000)?.unwrap_or(0);
    Ok(PageRequest {
        max_results: u32::try_from(max_results).unwrap_or(0),
        next_token: req.opt_str("nextToken", token)?.map(str::to_string),
    })
}

/// Publishes the machine's current revision, unless the newest version
/// already is that revision: then that version is the answer, as AWS does
/// (publishing is idempotent per revision).
pub(crate) async fn publish_current(
    svc: &Service,
    machine: &StateMachine,
    description: Option<String>,
    now_ms: i64,
) -> Result<Version, ApiError> {
    let newest = svc
        .catalog
        .list_versions(&machine.arn, &PageRequest::first(1))
        .map_err(store_err)?;
    if let Some(v) = newest.items.into_iter().next() {
        if v.revision.revision_id == machine.revision.revision_id {
            return Ok(v);
        }
    }
    svc.catalog
        .publish_version(&machine.arn, description, now_ms)
        .await
        .map_err(|e| match e {
            statecraft_runtime::model::StoreError::NotFound { .. } => {
                machines::machine_missing(&machine.arn)
            }
            e => store_err(e),
        })
}
