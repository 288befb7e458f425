//! Object-arrival triggers: `[triggers.objects.<name>]` watches a prefix of
//! a bucket of the object-store integration (`[integrations.buckets]`, a
//! local folder or S3-compatible) and starts one execution per object
//! version with EventBridge's S3 "Object Created" event as input.
//!
//! Exactly once per object version, across restarts and nodes, without a
//! table: the execution is named after the trigger and a hash of bucket,
//! key and ETag, so the store refuses a second start
//! (`ExecutionAlreadyExists`). A changed object (new ETag) is a new version
//! and starts again. The bucket is listed every `poll_seconds`; objects
//! already there when a trigger is first configured are processed too.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use statecraft_runtime::integration::{Integration, TaskContext, TaskOutcome};

use crate::service::Service;

/// One `[triggers.objects.<name>]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectTriggerFile {
    /// A key of `[integrations.buckets]`.
    pub bucket: String,
    /// Only keys that start with this (default: every key).
    #[serde(default)]
    pub prefix: String,
    /// The state machine (or version/alias) ARN to start.
    pub state_machine: String,
    /// How often the bucket is listed (default 5 seconds).
    pub poll_seconds: Option<f64>,
}

/// A checked trigger.
#[derive(Debug, Clone)]
pub struct ObjectTrigger {
    pub name: String,
    pub file: ObjectTriggerFile,
    pub poll: Duration,
}

/// Checks the tables against the configured buckets.
pub fn triggers_of(
    tables: BTreeMap<String, ObjectTriggerFile>,
    buckets: &statecraft_integrations::IntegrationsConfig,
) -> Result<Vec<ObjectTrigger>, String> {
    let mut out = Vec::new();
    for (name, t) in tables {
        let at = format!("triggers.objects.{name}");
        if name.is_empty()
            || name.len() > 40
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "{at}: a trigger name must be 1 to 40 letters, digits, '-' or '_'"
            ));
        }
        if !buckets.buckets.contains_key(&t.bucket) {
            return Err(format!(
                "{at}.bucket: no bucket '{}' is configured ([integrations.buckets.{}])",
                t.bucket, t.bucket
            ));
        }
        if !t.state_machine.starts_with("arn:") || !t.state_machine.contains(":stateMachine:") {
            return Err(format!(
                "{at}.state_machine: '{}' is not a state machine ARN",
                t.state_machine
            ));
        }
        let poll = t.poll_seconds.unwrap_or(5.0);
        if !(poll.is_finite() && poll >= 0.1) {
            return Err(format!("{at}.poll_seconds = {poll}: use at least 0.1"));
        }
        out.push(ObjectTrigger {
            name,
            poll: Duration::from_secs_f64(poll),
            file: t,
        });
    }
    Ok(out)
}

/// The execution name for one object version.
pub fn execution_name(trigger: &str, bucket: &str, key: &str, etag: &str) -> String {
    let digest = Sha256::digest(format!("{bucket}\n{key}\n{etag}").as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{trigger}-{hex}")
}

/// EventBridge's "Object Created" event for an object.
pub fn event(region: &str, account: &str, bucket: &str, object: &Value) -> Value {
    let key = object["Key"].as_str().unwrap_or("");
    let etag = object["ETag"].as_str().unwrap_or("").trim_matches('"');
    let time = object["LastModified"].clone();
    let id = uuid::Uuid::new_v4().to_string();
    json!({
        "version": "0",
        "id": id,
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": account,
        "time": time,
        "region": region,
        "resources": [format!("arn:aws:s3:::{bucket}")],
        "detail": {
            "version": "0",
            "bucket": { "name": bucket },
            "object": {
                "key": key,
                "size": object["Size"],
                "etag": etag,
            },
            "request-id": id,
            "requester": account,
            "reason": "PutObject",
        }
    })
}

/// Lists every object under the trigger's prefix with the bucket
/// integration's own ListObjectsV2.
async fn list(
    buckets: &statecraft_integrations::s3::Buckets,
    t: &ObjectTrigger,
) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut p = json!({ "Bucket": t.file.bucket, "Prefix": t.file.prefix });
        if let Some(tok) = &token {
            p["ContinuationToken"] = json!(tok);
        }
        let request = statecraft_engine::TaskRequest {
            task: 0,
            state_name: format!("trigger {}", t.name),
            resource: "arn:aws:states:::aws-sdk:s3:listObjectsV2".into(),
            parameters: p,
            task_token: None,
            timeout_seconds: None,
            heartbeat_seconds: None,
        };
        let context = TaskContext {
            execution_arn: String::new(),
        };
        let page = match buckets.invoke(context, request).await {
            TaskOutcome::Succeeded(v) => v,
            TaskOutcome::Failed(f) => return Err(format!("{f:?}")),
            other => return Err(format!("unexpected answer {other:?}")),
        };
        if let Some(items) = page["Contents"].as_array() {
            out.extend(items.iter().cloned());
        }
        match (
            page["IsTruncated"].as_bool(),
            page["NextContinuationToken"].as_str(),
        ) {
            (Some(true), Some(t)) => token = Some(t.to_owned()),
            _ => return Ok(out),
        }
    }
}

/// The triggers with the buckets they watch.
#[derive(Clone, Default)]
pub struct ObjectTriggers {
    buckets: Option<Arc<statecraft_integrations::s3::Buckets>>,
    triggers: Vec<ObjectTrigger>,
}

impl ObjectTriggers {
    /// Opens the buckets the triggers need (from `config`).
    pub fn new(
        triggers: Vec<ObjectTrigger>,
        config: &statecraft_integrations::IntegrationsConfig,
    ) -> Result<ObjectTriggers, String> {
        if triggers.is_empty() {
            return Ok(ObjectTriggers::default());
        }
        let buckets = statecraft_integrations::s3::Buckets::new(&config.buckets)
            .map_err(|e| e.to_string())?;
        Ok(ObjectTriggers {
            buckets: Some(Arc::new(buckets)),
            triggers,
        })
    }

    /// Starts the watchers on the current tokio runtime; abort the handles
    /// to stop them.
    pub fn spawn(&self, service: Arc<Service>) -> Vec<tokio::task::JoinHandle<()>> {
        let Some(buckets) = &self.buckets else {
            return Vec::new();
        };
        self.triggers
            .iter()
            .cloned()
            .map(|t| {
                let (service, buckets) = (service.clone(), buckets.clone());
                tokio::spawn(async move { watch(service, buckets, t).await })
            })
            .collect()
    }
}

async fn watch(
    service: Arc<Service>,
    buckets: Arc<statecraft_integrations::s3::Buckets>,
    t: ObjectTrigger,
) {
    // Object versions already started (or refused for good) by this process.
    let mut done: HashSet<String> = HashSet::new();
    loop {
        match list(&buckets, &t).await {
            Ok(objects) => {
                for o in objects {
                    let key = o["Key"].as_str().unwrap_or("");
                    let etag = o["ETag"].as_str().unwrap_or("");
                    let name = execution_name(&t.name, &t.file.bucket, key, etag);
                    if done.contains(&name) {
                        continue;
                    }
                    let input = event(
                        &service.scope.region,
                        &service.scope.account,
                        &t.file.bucket,
                        &o,
                    );
                    let body = json!({
                        "stateMachineArn": t.file.state_machine,
                        "name": name,
                        "input": input.to_string(),
                    });
                    match service
                        .call("StartExecution", body.to_string().as_bytes())
                        .await
                    {
                        Ok(out) => {
                            tracing::info!(trigger = %t.name, key, execution = %out["executionArn"], "an object started an execution");
                            done.insert(name);
                        }
                        Err(crate::protocol::ApiError::ExecutionAlreadyExists(_)) => {
                            done.insert(name);
                        }
                        Err(e) if e.status() >= 500 => {
                            tracing::warn!(trigger = %t.name, key, error = %e, "an object's execution could not start; it is tried again");
                        }
                        Err(e) => {
                            tracing::error!(trigger = %t.name, key, error = %e, "the trigger's state machine refused an object's execution; this object version is skipped");
                            done.insert(name);
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(trigger = %t.name, bucket = %t.file.bucket, error = %e, "cannot list the trigger's bucket; it tries again");
            }
        }
        tokio::time::sleep(t.poll).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_object_version() {
        let a = execution_name("images", "media", "in/a.png", "\"abc\"");
        assert_eq!(a, execution_name("images", "media", "in/a.png", "\"abc\""));
        assert_ne!(a, execution_name("images", "media", "in/a.png", "\"abd\""));
        assert_ne!(a, execution_name("images", "media", "in/b.png", "\"abc\""));
        assert!(a.len() <= 80 && a.starts_with("images-"));
    }

    #[test]
    fn the_event_has_eventbridges_shape() {
        let o = json!({"Key": "in/a.png", "ETag": "\"abc\"", "Size": 42, "LastModified": "2026-12-04T09:00:00Z"});
        let e = event("us-east-1", "123456789012", "media", &o);
        assert_eq!(e["source"], "aws.s3");
        assert_eq!(e["detail-type"], "Object Created");
        assert_eq!(e["detail"]["bucket"]["name"], "media");
        assert_eq!(
            e["detail"]["object"],
            json!({"key": "in/a.png", "size": 42, "etag": "abc"})
        );
        assert_eq!(e["resources"], json!(["arn:aws:s3:::media"]));
    }
}
