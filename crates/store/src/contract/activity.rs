//! Activities (workers poll them for tasks). The table exists now so the
//! schema does not change when activity support lands.

use serde_json::Value;

use crate::error::Result;
use crate::page::{Page, PageRequest};
use crate::pending::Pending;

#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub arn: String,
    pub name: String,
    pub creation_date_ms: i64,
    /// `encryptionConfiguration` as the API shows it.
    pub encryption_configuration: Option<Value>,
}

pub trait ActivityStore: Send + Sync {
    /// `AlreadyExists` if an activity with this ARN exists.
    fn create_activity(&self, activity: Activity) -> Pending<Activity>;
    fn delete_activity(&self, arn: &str) -> Pending<()>;
    fn get_activity(&self, arn: &str) -> Result<Option<Activity>>;
    /// Activities ordered by ARN.
    fn list_activities(&self, page: &PageRequest) -> Result<Page<Activity>>;

    /// Tasks of activity `arn` waiting for a worker (not leased, or whose
    /// lease ran out at `now_ms`): the queue depth metric. Stores without
    /// task leases report 0.
    fn queued_tasks(&self, arn: &str, now_ms: i64) -> Result<u64> {
        let _ = (arn, now_ms);
        Ok(0)
    }
}
