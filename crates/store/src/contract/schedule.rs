//! Schedules (EventBridge Scheduler's API, served by the server) and their
//! groups, in tables of their own. A schedule's document is the server's
//! JSON, opaque to the store.

use crate::error::Result;
use crate::pending::Pending;

/// One stored schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSchedule {
    pub group: String,
    pub name: String,
    /// The server's JSON document of the schedule.
    pub document: String,
}

/// Schedules and schedule groups.
pub trait ScheduleStore: Send + Sync {
    /// Creates or replaces a schedule.
    fn put_schedule(&self, schedule: StoredSchedule) -> Pending<()>;
    /// Deletes a schedule; `false` if there was none.
    fn delete_schedule(&self, group: &str, name: &str) -> Pending<bool>;
    /// One schedule.
    fn get_schedule(&self, group: &str, name: &str) -> Result<Option<StoredSchedule>>;
    /// The schedules of `group` (of every group with `None`), by group and
    /// name.
    fn list_schedules(&self, group: Option<&str>) -> Result<Vec<StoredSchedule>>;
    /// Creates a group; `false` if it exists.
    fn create_schedule_group(&self, name: &str, creation_date_ms: i64) -> Pending<bool>;
    /// Deletes a group and its schedules, in one transaction; `false` if
    /// there was no such group.
    fn delete_schedule_group(&self, name: &str) -> Pending<bool>;
    /// The created groups (name, creation date), by name.
    fn list_schedule_groups(&self) -> Result<Vec<(String, i64)>>;
}
