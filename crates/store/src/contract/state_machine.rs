//! State machines, their revisions, published versions and aliases.
//!
//! Every change of a state machine's definition or configuration creates a
//! [`Revision`] (immutable, keyed by `revision_id`). The state machine points
//! at its current revision; versions and executions point at the revision
//! they were made from, so an execution keeps running the definition it
//! started with after an update, and `DescribeStateMachineForExecution` can
//! show it.

use serde_json::Value;

use crate::error::Result;
use crate::page::{Page, PageRequest};
use crate::pending::Pending;

/// `STANDARD` or `EXPRESS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MachineType {
    Standard,
    Express,
}

impl MachineType {
    pub fn as_str(self) -> &'static str {
        match self {
            MachineType::Standard => "STANDARD",
            MachineType::Express => "EXPRESS",
        }
    }

    pub fn parse(s: &str) -> Option<MachineType> {
        match s {
            "STANDARD" => Some(MachineType::Standard),
            "EXPRESS" => Some(MachineType::Express),
            _ => None,
        }
    }
}

/// `ACTIVE` or `DELETING` (a deleted machine whose executions still run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateMachineStatus {
    Active,
    Deleting,
}

impl StateMachineStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StateMachineStatus::Active => "ACTIVE",
            StateMachineStatus::Deleting => "DELETING",
        }
    }

    pub fn parse(s: &str) -> Option<StateMachineStatus> {
        match s {
            "ACTIVE" => Some(StateMachineStatus::Active),
            "DELETING" => Some(StateMachineStatus::Deleting),
            _ => None,
        }
    }
}

/// One immutable snapshot of a state machine's definition and configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    pub revision_id: String,
    pub state_machine_arn: String,
    pub definition: String,
    pub role_arn: String,
    pub description: Option<String>,
    /// The `loggingConfiguration` object as the API shows it.
    pub logging_configuration: Option<Value>,
    /// The `tracingConfiguration` object as the API shows it.
    pub tracing_configuration: Option<Value>,
    pub created_ms: i64,
}

/// A state machine as `DescribeStateMachine` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct StateMachine {
    pub arn: String,
    pub name: String,
    pub machine_type: MachineType,
    pub status: StateMachineStatus,
    pub creation_date_ms: i64,
    /// The current revision (definition, role, configuration).
    pub revision: Revision,
}

/// A published, immutable version (`<state machine arn>:<n>`).
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub arn: String,
    pub state_machine_arn: String,
    pub version: u64,
    /// The version's own description (`versionDescription`).
    pub description: Option<String>,
    pub creation_date_ms: i64,
    pub revision: Revision,
}

/// One entry of an alias's routing configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub version_arn: String,
    /// 0..=100; the weights of an alias add up to 100.
    pub weight: u32,
}

/// An alias (`<state machine arn>:<name>`) routing to one or two versions.
#[derive(Debug, Clone, PartialEq)]
pub struct Alias {
    pub arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub description: Option<String>,
    pub routing: Vec<Route>,
    pub creation_date_ms: i64,
    pub update_date_ms: Option<i64>,
}

/// Reads and writes of state machines, versions and aliases.
///
/// Writes are validated by the caller (the server checks names, ARNs and
/// AWS's rules); the store enforces only uniqueness and existence.
pub trait StateMachineStore: Send + Sync {
    /// Creates a state machine with its first revision.
    /// `AlreadyExists` if a machine with this ARN exists.
    fn create_state_machine(
        &self,
        name: String,
        machine_type: MachineType,
        revision: Revision,
        creation_date_ms: i64,
    ) -> Pending<StateMachine>;

    /// Makes `revision` the current revision of its state machine.
    /// `NotFound` if the machine does not exist.
    fn update_state_machine(&self, revision: Revision) -> Pending<StateMachine>;

    /// Deletes a state machine with its versions, aliases and tags. Its
    /// executions and revisions stay (they are still described and listed).
    fn delete_state_machine(&self, arn: &str) -> Pending<()>;

    fn get_state_machine(&self, arn: &str) -> Result<Option<StateMachine>>;

    /// State machines ordered by ARN.
    fn list_state_machines(&self, page: &PageRequest) -> Result<Page<StateMachine>>;

    fn get_revision(&self, revision_id: &str) -> Result<Option<Revision>>;

    /// Publishes the state machine's current revision as the next version
    /// number (numbers are never reused, even after deletion).
    fn publish_version(
        &self,
        state_machine_arn: &str,
        description: Option<String>,
        creation_date_ms: i64,
    ) -> Pending<Version>;

    fn get_version(&self, arn: &str) -> Result<Option<Version>>;

    /// Versions of a machine, newest first.
    fn list_versions(&self, state_machine_arn: &str, page: &PageRequest) -> Result<Page<Version>>;

    fn delete_version(&self, arn: &str) -> Pending<()>;

    /// `AlreadyExists` if an alias with this ARN exists.
    fn create_alias(&self, alias: Alias) -> Pending<Alias>;

    /// Replaces description and routing. `NotFound` if absent.
    fn update_alias(&self, alias: Alias) -> Pending<Alias>;

    fn delete_alias(&self, arn: &str) -> Pending<()>;

    fn get_alias(&self, arn: &str) -> Result<Option<Alias>>;

    /// Aliases of a machine, ordered by ARN.
    fn list_aliases(&self, state_machine_arn: &str, page: &PageRequest) -> Result<Page<Alias>>;
}
