//! Tags per resource ARN (state machines, activities, aliases…).

use crate::error::Result;
use crate::pending::Pending;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

pub trait TagStore: Send + Sync {
    /// Adds or overwrites tags on a resource.
    fn tag_resource(&self, resource_arn: &str, tags: Vec<Tag>) -> Pending<()>;
    /// Removes the given keys (absent keys are ignored).
    fn untag_resource(&self, resource_arn: &str, keys: Vec<String>) -> Pending<()>;
    /// The tags of a resource, ordered by key.
    fn list_tags(&self, resource_arn: &str) -> Result<Vec<Tag>>;
}
