//! Activities: CreateActivity, DescribeActivity, ListActivities,
//! DeleteActivity and GetActivityTask, the long poll through which workers
//! in any language take the tasks of an activity.
//!
//! An activity task is queued in the store by the step that scheduled it
//! (with its token); GetActivityTask claims one in the store, atomically, so
//! that concurrent workers each get a different task, and tells the
//! execution (`ActivityStarted`, with the worker's name). A poll with
//! nothing to take waits on the activity's notifier, which the runtime's
//! activity integration wakes the moment a task is dispatched.

use std::time::Duration;

use serde_json::{json, Value};
use statecraft_runtime::model::{Activity, StoreError};

use crate::arn::{wrong_kind, Arn, Resource};
use crate::names;
use crate::ops::page_request;
use crate::ops::tags::parse_tags;
use crate::protocol::{timestamp, ApiError, Request, ARN, NAME, PAGE_TOKEN};
use crate::service::{runtime_err, store_err, Service};

/// How long GetActivityTask waits for a task before answering with none
/// (AWS's documented 60 seconds).
pub const POLL: Duration = Duration::from_secs(60);

/// How long a worker holds a task it took. The task's own
/// `HeartbeatSeconds`/`TimeoutSeconds` timers (the engine's) decide when a
/// silent worker has failed; the lease only has to outlive them, so that no
/// second worker takes a task that is still someone's.
const TASK_LEASE_MS: i64 = 10 * 365 * 24 * 3600 * 1000;

/// The worker name recorded when GetActivityTask gives none.
const ANONYMOUS_WORKER: &str = "anonymous";

fn missing_activity(arn: &str) -> ApiError {
    ApiError::ActivityDoesNotExist(format!("Activity Does Not Exist: '{arn}'"))
}

impl Service {
    fn activity_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:states:{}:{}:activity:{name}",
            self.scope.region, self.scope.account
        )
    }

    /// Checks that `arn` is an activity ARN and returns the activity.
    fn activity(&self, arn: &str) -> Result<Activity, ApiError> {
        let parsed = Arn::parse(arn)?;
        if !matches!(parsed.resource, Resource::Activity { .. }) {
            return Err(wrong_kind(arn, "an activity ARN"));
        }
        if !self.scope.owns(&parsed) {
            return Err(missing_activity(arn));
        }
        self.catalog
            .get_activity(arn)
            .map_err(store_err)?
            .ok_or_else(|| missing_activity(arn))
    }

    /// CreateActivity: idempotent by name, as on AWS — creating an activity
    /// that exists answers with the existing one (and adds the tags given).
    pub async fn create_activity(&self, req: Request) -> Result<Value, ApiError> {
        let name = req.str("name", NAME)?;
        names::check(name)?;
        let tags = parse_tags(req.opt_list("tags")?)?;
        let encryption = req.opt_encryption()?.cloned();
        let arn = self.activity_arn(name);
        let activity = match self.catalog.get_activity(&arn).map_err(store_err)? {
            // The encryption of an activity is fixed at creation (AWS's
            // rule); naming the same one again is still idempotent.
            Some(existing)
                if encryption.is_some()
                    && existing.encryption_configuration
                        != encryption.clone().map(Value::Object) =>
            {
                return Err(ApiError::ActivityAlreadyExists(format!(
                    "Activity already exists. EncryptionConfiguration may not be updated: '{arn}'"
                )));
            }
            Some(existing) => existing,
            None => {
                let created = self
                    .catalog
                    .create_activity(Activity {
                        arn: arn.clone(),
                        name: name.to_string(),
                        creation_date_ms: self.now_ms(),
                        encryption_configuration: encryption.map(Value::Object),
                    })
                    .await;
                match created {
                    Ok(a) => a,
                    // A concurrent create of the same name won the race.
                    Err(StoreError::AlreadyExists { .. }) => self
                        .catalog
                        .get_activity(&arn)
                        .map_err(store_err)?
                        .ok_or_else(|| missing_activity(&arn))?,
                    Err(e) => return Err(store_err(e)),
                }
            }
        };
        if !tags.is_empty() {
            self.catalog
                .tag_resource(&arn, tags)
                .await
                .map_err(store_err)?;
        }
        Ok(json!({
            "activityArn": activity.arn,
            "creationDate": timestamp(activity.creation_date_ms),
        }))
    }

    pub async fn describe_activity(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("activityArn", ARN)?;
        let activity = self.activity(arn)?;
        let mut out = json!({
            "activityArn": activity.arn,
            "name": activity.name,
            "creationDate": timestamp(activity.creation_date_ms),
        });
        if let Some(enc) = activity.encryption_configuration {
            out["encryptionConfiguration"] = enc;
        }
        Ok(out)
    }

    pub async fn list_activities(&self, req: Request) -> Result<Value, ApiError> {
        let page = page_request(&req, PAGE_TOKEN)?;
        let listed = self.catalog.list_activities(&page).map_err(store_err)?;
        let items: Vec<Value> = listed
            .items
            .iter()
            .map(|a| {
                json!({
                    "activityArn": a.arn,
                    "name": a.name,
                    "creationDate": timestamp(a.creation_date_ms),
                })
            })
            .collect();
        let mut out = json!({ "activities": items });
        if let Some(t) = listed.next_token {
            out["nextToken"] = Value::from(t);
        }
        Ok(out)
    }

    /// DeleteActivity: deleting one that does not exist succeeds, as on AWS.
    pub async fn delete_activity(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("activityArn", ARN)?;
        let parsed = Arn::parse(arn)?;
        if !matches!(parsed.resource, Resource::Activity { .. }) {
            return Err(wrong_kind(arn, "an activity ARN"));
        }
        match self.catalog.delete_activity(arn).await {
            Ok(()) | Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(store_err(e)),
        }
        self.activities.forget(arn);
        Ok(json!({}))
    }

    /// GetActivityTask: a task of the activity, or (after [`POLL`] without
    /// one) an answer without `taskToken`.
    pub async fn get_activity_task(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("activityArn", ARN)?;
        let worker = req.opt_str("workerName", NAME)?.map(str::to_string);
        self.activity(arn)?;
        // Held until the poll ends (or the request is dropped).
        let _poll = self
            .activities
            .begin_poll_by(arn, worker.as_deref(), self.now_ms())
            .ok_or_else(|| {
                ApiError::ActivityWorkerLimitExceeded(format!(
                    "Activity Worker Limit Exceeded: '{arn}' has {} open GetActivityTask requests",
                    statecraft_runtime::activity::MAX_POLLS_PER_ACTIVITY
                ))
            })?;
        let deadline = tokio::time::Instant::now() + POLL;
        let polled = std::time::Instant::now();
        let notify = self.activities.notifier(arn);
        loop {
            // Interest first, then the store: a task dispatched between the
            // two still wakes this poll.
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Shutting down: answer "no task" rather than hold the
            // server's graceful shutdown (workers simply poll again).
            if self.activities.is_closed() {
                return Ok(json!({}));
            }
            if let Some(task) = self.take_task(arn, worker.as_deref()).await? {
                statecraft_telemetry::metrics::observe_activity_poll(arn, polled.elapsed());
                return Ok(task);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                statecraft_telemetry::metrics::observe_activity_poll(arn, polled.elapsed());
                return Ok(json!({}));
            }
        }
    }

    /// Claims the oldest free task of the activity and starts it (the
    /// runtime's [`statecraft_runtime::Runtime::take_activity_task`]).
    /// `None` if there is none left.
    async fn take_task(&self, arn: &str, worker: Option<&str>) -> Result<Option<Value>, ApiError> {
        let owner = worker.unwrap_or(ANONYMOUS_WORKER);
        let taken = self
            .runtime
            .take_activity_task(arn, owner, worker, TASK_LEASE_MS)
            .await
            .map_err(runtime_err)?;
        Ok(taken.map(|t| json!({ "taskToken": t.token, "input": t.input })))
    }
}
