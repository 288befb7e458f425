//! The catalogue: state machines with their revisions, versions and
//! aliases, activities, tags and schedules, as the API and the console see
//! them. The server reaches these only through [`Catalog`] (handed out by
//! [`Runtime::catalog`](crate::Runtime::catalog)), never through the store,
//! so the store stays an implementation detail of the runtime: the server
//! and the console do not depend on the store crate (a test in
//! `crates/testdata/tests/layers.rs` holds that).
//!
//! Executions are not here: they change only through the runtime's commands
//! and are read through its [`ReadModel`](crate::read::ReadModel).
//!
//! The catalogue's writes are checked by the caller (the server validates
//! names, ARNs and AWS's rules); the store behind it enforces uniqueness and
//! existence, answering [`StoreError::NotFound`] and
//! [`StoreError::AlreadyExists`], on which callers branch.

use std::sync::Arc;

use statecraft_store::{
    Activity, Alias, Page, PageRequest, Pending, Result, Revision, StateMachine, Store,
    StoredSchedule, Tag, Version,
};

use crate::model::MachineType;
pub use crate::model::StoreError;

/// The catalogue of one store. Cheap to clone.
#[derive(Clone)]
pub struct Catalog {
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Catalog")
    }
}

impl Catalog {
    pub(crate) fn new(store: Arc<dyn Store>) -> Catalog {
        Catalog { store }
    }

    // ------------------------------------------------------ state machines

    /// Creates a state machine with its first revision; `AlreadyExists` if
    /// a machine with this ARN exists.
    pub fn create_state_machine(
        &self,
        name: String,
        machine_type: MachineType,
        revision: Revision,
        creation_date_ms: i64,
    ) -> Pending<StateMachine> {
        self.store
            .create_state_machine(name, machine_type, revision, creation_date_ms)
    }

    /// Makes `revision` the current one of its machine; `NotFound` if the
    /// machine does not exist.
    pub fn update_state_machine(&self, revision: Revision) -> Pending<StateMachine> {
        self.store.update_state_machine(revision)
    }

    /// Deletes a machine with its versions, aliases and tags; its executions
    /// and revisions stay.
    pub fn delete_state_machine(&self, arn: &str) -> Pending<()> {
        self.store.delete_state_machine(arn)
    }

    pub fn get_state_machine(&self, arn: &str) -> Result<Option<StateMachine>> {
        self.store.get_state_machine(arn)
    }

    /// State machines ordered by ARN.
    pub fn list_state_machines(&self, page: &PageRequest) -> Result<Page<StateMachine>> {
        self.store.list_state_machines(page)
    }

    pub fn get_revision(&self, revision_id: &str) -> Result<Option<Revision>> {
        self.store.get_revision(revision_id)
    }

    /// Publishes the machine's current revision as its next version.
    pub fn publish_version(
        &self,
        state_machine_arn: &str,
        description: Option<String>,
        creation_date_ms: i64,
    ) -> Pending<Version> {
        self.store
            .publish_version(state_machine_arn, description, creation_date_ms)
    }

    pub fn get_version(&self, arn: &str) -> Result<Option<Version>> {
        self.store.get_version(arn)
    }

    /// Versions of a machine, newest first.
    pub fn list_versions(
        &self,
        state_machine_arn: &str,
        page: &PageRequest,
    ) -> Result<Page<Version>> {
        self.store.list_versions(state_machine_arn, page)
    }

    pub fn delete_version(&self, arn: &str) -> Pending<()> {
        self.store.delete_version(arn)
    }

    /// `AlreadyExists` if an alias with this ARN exists.
    pub fn create_alias(&self, alias: Alias) -> Pending<Alias> {
        self.store.create_alias(alias)
    }

    /// Replaces description and routing; `NotFound` if absent.
    pub fn update_alias(&self, alias: Alias) -> Pending<Alias> {
        self.store.update_alias(alias)
    }

    pub fn delete_alias(&self, arn: &str) -> Pending<()> {
        self.store.delete_alias(arn)
    }

    pub fn get_alias(&self, arn: &str) -> Result<Option<Alias>> {
        self.store.get_alias(arn)
    }

    /// Aliases of a machine, ordered by ARN.
    pub fn list_aliases(&self, state_machine_arn: &str, page: &PageRequest) -> Result<Page<Alias>> {
        self.store.list_aliases(state_machine_arn, page)
    }

    // ---------------------------------------------------------- activities

    /// `AlreadyExists` if an activity with this ARN exists.
    pub fn create_activity(&self, activity: Activity) -> Pending<Activity> {
        self.store.create_activity(activity)
    }

    pub fn delete_activity(&self, arn: &str) -> Pending<()> {
        self.store.delete_activity(arn)
    }

    pub fn get_activity(&self, arn: &str) -> Result<Option<Activity>> {
        self.store.get_activity(arn)
    }

    /// Activities ordered by ARN.
    pub fn list_activities(&self, page: &PageRequest) -> Result<Page<Activity>> {
        self.store.list_activities(page)
    }

    /// Tasks of activity `arn` waiting for a worker at `now_ms`.
    pub fn queued_tasks(&self, arn: &str, now_ms: i64) -> Result<u64> {
        self.store.queued_tasks(arn, now_ms)
    }

    // ---------------------------------------------------------------- tags

    /// Adds or replaces tags of a resource.
    pub fn tag_resource(&self, resource_arn: &str, tags: Vec<Tag>) -> Pending<()> {
        self.store.tag_resource(resource_arn, tags)
    }

    /// Removes the given keys (absent keys are ignored).
    pub fn untag_resource(&self, resource_arn: &str, keys: Vec<String>) -> Pending<()> {
        self.store.untag_resource(resource_arn, keys)
    }

    /// The tags of a resource, ordered by key.
    pub fn list_tags(&self, resource_arn: &str) -> Result<Vec<Tag>> {
        self.store.list_tags(resource_arn)
    }

    // ----------------------------------------------------------- schedules

    /// Creates or replaces a schedule.
    pub fn put_schedule(&self, schedule: StoredSchedule) -> Pending<()> {
        self.store.put_schedule(schedule)
    }

    /// Deletes a schedule; `false` if there was none.
    pub fn delete_schedule(&self, group: &str, name: &str) -> Pending<bool> {
        self.store.delete_schedule(group, name)
    }

    pub fn get_schedule(&self, group: &str, name: &str) -> Result<Option<StoredSchedule>> {
        self.store.get_schedule(group, name)
    }

    /// The schedules of `group` (of every group with `None`).
    pub fn list_schedules(&self, group: Option<&str>) -> Result<Vec<StoredSchedule>> {
        self.store.list_schedules(group)
    }

    /// Creates a group; `false` if it exists.
    pub fn create_schedule_group(&self, name: &str, creation_date_ms: i64) -> Pending<bool> {
        self.store.create_schedule_group(name, creation_date_ms)
    }

    /// Deletes a group and its schedules; `false` if there was none.
    pub fn delete_schedule_group(&self, name: &str) -> Pending<bool> {
        self.store.delete_schedule_group(name)
    }

    /// The created groups (name, creation date), by name.
    pub fn list_schedule_groups(&self) -> Result<Vec<(String, i64)>> {
        self.store.list_schedule_groups()
    }
}
