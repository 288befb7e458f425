//! Tags: TagResource, UntagResource and ListTagsForResource on state machines
//! and activities, with AWS's limit of 50 tags per resource.

use serde_json::{json, Value};
use statecraft_runtime::model::Tag;

use crate::arn::{wrong_kind, Arn, Resource};
use crate::protocol::{nested_str, ApiError, Request, ARN, TAG_KEY, TAG_VALUE};
use crate::service::{store_err, Service};

/// The most tags one resource may carry.
pub const MAX_TAGS: usize = 50;

/// Reads a `TagList`.
pub(crate) fn parse_tags(list: Option<&Vec<Value>>) -> Result<Vec<Tag>, ApiError> {
    let mut tags = Vec::new();
    for (i, item) in list.into_iter().flatten().enumerate() {
        let obj = item.as_object().ok_or_else(|| {
            ApiError::SerializationException(format!(
                "Unexpected value type for 'tags.{}': expected a structure",
                i + 1
            ))
        })?;
        let key = nested_str(obj, "key", &format!("tags.{}.member.key", i + 1), TAG_KEY)?
            .ok_or_else(|| crate::protocol::missing(&format!("tags.{}.member.key", i + 1)))?;
        let value = nested_str(
            obj,
            "value",
            &format!("tags.{}.member.value", i + 1),
            TAG_VALUE,
        )?
        .unwrap_or("");
        tags.push(Tag {
            key: key.to_string(),
            value: value.to_string(),
        });
    }
    if tags.len() > MAX_TAGS {
        return Err(ApiError::TooManyTags {
            message: format!("Too many tags: a resource can have at most {MAX_TAGS} tags"),
            resource_name: None,
        });
    }
    Ok(tags)
}

impl Service {
    /// Checks that `arn` names a taggable resource that exists.
    fn taggable(&self, arn: &str) -> Result<(), ApiError> {
        let parsed = Arn::parse(arn)?;
        let exists = match parsed.resource {
            Resource::StateMachine { .. } => self
                .catalog
                .get_state_machine(arn)
                .map_err(store_err)?
                .is_some(),
            Resource::Activity { .. } => {
                self.catalog.get_activity(arn).map_err(store_err)?.is_some()
            }
            _ => return Err(wrong_kind(arn, "a state machine or activity ARN")),
        };
        if !exists {
            return Err(ApiError::not_found(
                format!("Resource not found: '{arn}'"),
                arn,
            ));
        }
        Ok(())
    }

    pub async fn tag_resource(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("resourceArn", ARN)?;
        let tags = parse_tags(Some(req.list("tags")?))?;
        self.taggable(arn)?;
        let existing = self.catalog.list_tags(arn).map_err(store_err)?;
        let added = tags
            .iter()
            .filter(|t| !existing.iter().any(|e| e.key == t.key))
            .count();
        if existing.len() + added > MAX_TAGS {
            return Err(ApiError::TooManyTags {
                message: format!("Too many tags: a resource can have at most {MAX_TAGS} tags"),
                resource_name: Some(arn.to_string()),
            });
        }
        self.catalog
            .tag_resource(arn, tags)
            .await
            .map_err(store_err)?;
        Ok(json!({}))
    }

    pub async fn untag_resource(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("resourceArn", ARN)?;
        let keys = req.list("tagKeys")?;
        let mut names = Vec::with_capacity(keys.len());
        for (i, k) in keys.iter().enumerate() {
            let k = k.as_str().ok_or_else(|| {
                ApiError::SerializationException(format!(
                    "Unexpected value type for 'tagKeys.{}': expected a string",
                    i + 1
                ))
            })?;
            names.push(k.to_string());
        }
        self.taggable(arn)?;
        self.catalog
            .untag_resource(arn, names)
            .await
            .map_err(store_err)?;
        Ok(json!({}))
    }

    pub async fn list_tags_for_resource(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("resourceArn", ARN)?;
        self.taggable(arn)?;
        let tags: Vec<Value> = self
            .catalog
            .list_tags(arn)
            .map_err(store_err)?
            .into_iter()
            .map(|t| json!({"key": t.key, "value": t.value}))
            .collect();
        Ok(json!({ "tags": tags }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_lists_are_checked() {
        let ok = vec![json!({"key": "k", "value": "v"}), json!({"key": "k2"})];
        let tags = parse_tags(Some(&ok)).unwrap();
        assert_eq!(tags.len(), 2);
        assert_eq!(tags[1].value, "");
        let no_key = vec![json!({"value": "v"})];
        assert_eq!(
            parse_tags(Some(&no_key)).unwrap_err().type_name(),
            "ValidationException"
        );
        let many: Vec<Value> = (0..51).map(|i| json!({"key": format!("k{i}")})).collect();
        assert_eq!(
            parse_tags(Some(&many)).unwrap_err().type_name(),
            "TooManyTags"
        );
    }
}
