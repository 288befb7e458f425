//! State machine operations: Create, Describe, Update, Delete, List and
//! DescribeStateMachineForExecution, with AWS's idempotency rule for Create
//! (same name and same configuration → the existing machine).

use serde_json::{json, Map, Value};
use statecraft_runtime::model::{MachineType, Revision, StateMachine, StateMachineStatus, Version};

use super::{page_request, publish_current};
use crate::arn::{wrong_kind, Arn, Resource};
use crate::definition;
use crate::names;
use crate::protocol::{timestamp, ApiError, Request, ARN, DEFINITION, DESCRIPTION, NAME};
use crate::service::{new_id, store_err, Service};

/// Loggings' default as DescribeStateMachine shows it when none was given.
fn default_logging() -> Value {
    json!({"level": "OFF", "includeExecutionData": false})
}

fn default_tracing() -> Value {
    json!({"enabled": false})
}

/// Checks `loggingConfiguration` and returns it in its normalised form (the
/// defaults filled in), which is what is stored and compared for
/// idempotency.
fn logging(cfg: Option<&Map<String, Value>>) -> Result<Value, ApiError> {
    let Some(cfg) = cfg else {
        return Ok(default_logging());
    };
    let bad = |m: &str| {
        ApiError::InvalidLoggingConfiguration(format!("Invalid Logging Configuration: {m}"))
    };
    let level = match cfg.get("level") {
        None | Some(Value::Null) => "OFF",
        Some(Value::String(s)) if ["ALL", "ERROR", "FATAL", "OFF"].contains(&s.as_str()) => s,
        Some(_) => return Err(bad("level must be one of ALL, ERROR, FATAL, OFF.")),
    };
    let include = match cfg.get("includeExecutionData") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("includeExecutionData must be a boolean.")),
    };
    let destinations = match cfg.get("destinations") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(d)) => d.clone(),
        Some(_) => return Err(bad("destinations must be a list.")),
    };
    if level != "OFF" && destinations.len() != 1 {
        return Err(bad("Must specify exactly one Log Destination."));
    }
    if destinations.len() > 1 {
        return Err(bad("Must specify exactly one Log Destination."));
    }
    let mut out = json!({"level": level, "includeExecutionData": include});
    if !destinations.is_empty() {
        out["destinations"] = Value::Array(destinations);
    }
    Ok(out)
}

fn tracing(cfg: Option<&Map<String, Value>>) -> Result<Value, ApiError> {
    let Some(cfg) = cfg else {
        return Ok(default_tracing());
    };
    match cfg.get("enabled") {
        None | Some(Value::Null) => Ok(default_tracing()),
        Some(Value::Bool(b)) => Ok(json!({"enabled": b})),
        Some(_) => Err(ApiError::InvalidTracingConfiguration(
            "Invalid Tracing Configuration: enabled must be a boolean".into(),
        )),
    }
}

/// `roleArn` must at least be an ARN; it is never assumed (there is no IAM
/// here) but is shown back and must round-trip.
fn check_role(role: &str) -> Result<(), ApiError> {
    let parts: Vec<&str> = role.splitn(6, ':').collect();
    let filled = |i: usize| parts.get(i).is_some_and(|p| !p.is_empty());
    if parts.len() != 6 || parts.first() != Some(&"arn") || !(filled(1) && filled(2) && filled(5)) {
        return Err(ApiError::InvalidArn(format!("Invalid Arn: '{role}'")));
    }
    Ok(())
}

fn version_description_needs_publish(publish: bool, d: Option<&str>) -> Result<(), ApiError> {
    if d.is_some() && !publish {
        return Err(ApiError::validation(
            "Version description can only be set when publish is true",
        ));
    }
    Ok(())
}

impl Service {
    /// Resolves a state machine ARN that must be unqualified (no version or
    /// alias) and in this server's scope.
    pub(crate) fn unqualified_machine(&self, arn: &str) -> Result<String, ApiError> {
        let parsed = Arn::parse(arn)?;
        match parsed.resource {
            Resource::StateMachine { .. } => Ok(arn.to_string()),
            Resource::Version { .. } | Resource::Alias { .. } => Err(ApiError::validation(
                format!("Operation not supported on a qualified state machine ARN: '{arn}'"),
            )),
            _ => Err(wrong_kind(arn, "a state machine ARN")),
        }
    }

    pub(crate) fn machine(&self, arn: &str) -> Result<StateMachine, ApiError> {
        self.catalog
            .get_state_machine(arn)
            .map_err(store_err)?
            .ok_or_else(|| machine_missing(arn))
    }

    pub async fn create_state_machine(&self, req: Request) -> Result<Value, ApiError> {
        let name = req.str("name", NAME)?;
        let def = req.str("definition", DEFINITION)?;
        let role = req.str("roleArn", ARN)?;
        let kind = req.opt_enum("type", &["STANDARD", "EXPRESS"])?;
        let machine_type =
            MachineType::parse(kind.unwrap_or("STANDARD")).unwrap_or(MachineType::Standard);
        // Checked as AWS does; the data here is not encrypted with it.
        req.opt_encryption()?;
        let logging_cfg = logging(req.opt_object("loggingConfiguration")?)?;
        let tracing_cfg = tracing(req.opt_object("tracingConfiguration")?)?;
        let tags = super::tags::parse_tags(req.opt_list("tags")?)?;
        let publish = req.opt_bool("publish")?.unwrap_or(false);
        let version_description = req.opt_str("versionDescription", DESCRIPTION)?;
        version_description_needs_publish(publish, version_description)?;
        names::check(name)?;
        check_role(role)?;
        definition::check(def, machine_type)?;

        let arn = self.scope.state_machine(name);
        let now = self.now_ms();
        let existing = self.catalog.get_state_machine(&arn).map_err(store_err)?;
        let machine = match existing {
            Some(m) => {
                let r = &m.revision;
                let same = m.machine_type == machine_type
                    && r.definition == def
                    && r.role_arn == role
                    && r.logging_configuration.as_ref() == Some(&logging_cfg)
                    && r.tracing_configuration.as_ref() == Some(&tracing_cfg);
                if !same {
                    return Err(ApiError::StateMachineAlreadyExists(format!(
                        "State Machine Already Exists: '{arn}'"
                    )));
                }
                m
            }
            None => {
                let revision = Revision {
                    revision_id: new_id(),
                    state_machine_arn: arn.clone(),
                    definition: def.to_string(),
                    role_arn: role.to_string(),
                    description: None,
                    logging_configuration: Some(logging_cfg),
                    tracing_configuration: Some(tracing_cfg),
                    created_ms: now,
                };
                let created = self
                    .catalog
                    .create_state_machine(name.to_string(), machine_type, revision, now)
                    .await;
                match created {
                    Ok(m) => m,
                    Err(statecraft_runtime::model::StoreError::AlreadyExists { .. }) => {
                        return Err(ApiError::StateMachineAlreadyExists(format!(
                            "State Machine Already Exists: '{arn}'"
                        )))
                    }
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
        let mut out = json!({
            "stateMachineArn": arn,
            "creationDate": timestamp(machine.creation_date_ms),
        });
        if publish {
            let v = publish_current(self, &machine, version_description.map(str::to_string), now)
                .await?;
            out["stateMachineVersionArn"] = Value::from(v.arn);
        }
        Ok(out)
    }

    pub async fn describe_state_machine(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("stateMachineArn", ARN)?;
        req.opt_enum("includedData", &["ALL_DATA", "METADATA_ONLY"])?;
        let parsed = Arn::parse(arn)?;
        match parsed.resource {
            Resource::StateMachine { .. } => {
                let m = self.machine(arn)?;
                Ok(describe(&m, &m.revision, &m.arn, None))
            }
            Resource::Version { .. } => {
                let v = self.version(arn)?;
                let m = self.machine(&v.state_machine_arn)?;
                Ok(describe(&m, &v.revision, &v.arn, Some(&v)))
            }
            Resource::Alias { .. } => {
                // An alias describes as the version it routes most traffic to.
                let alias = self
                    .catalog
                    .get_alias(arn)
                    .map_err(store_err)?
                    .ok_or_else(|| machine_missing(arn))?;
                let route = alias
                    .routing
                    .iter()
                    .max_by_key(|r| r.weight)
                    .ok_or_else(|| machine_missing(arn))?;
                let v = self.version(&route.version_arn)?;
                let m = self.machine(&v.state_machine_arn)?;
                Ok(describe(&m, &v.revision, &v.arn, Some(&v)))
            }
            _ => Err(wrong_kind(arn, "a state machine ARN")),
        }
    }

    pub(crate) fn version(&self, arn: &str) -> Result<Version, ApiError> {
        self.catalog
            .get_version(arn)
            .map_err(store_err)?
            .ok_or_else(|| machine_missing(arn))
    }

    pub async fn update_state_machine(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("stateMachineArn", ARN)?;
        let def = req.opt_str("definition", DEFINITION)?;
        let role = req.opt_str("roleArn", ARN)?;
        req.opt_encryption()?;
        let logging_in = req.opt_object("loggingConfiguration")?;
        let tracing_in = req.opt_object("tracingConfiguration")?;
        let publish = req.opt_bool("publish")?.unwrap_or(false);
        let version_description = req.opt_str("versionDescription", DESCRIPTION)?;
        version_description_needs_publish(publish, version_description)?;
        let arn = self.unqualified_machine(arn)?;
        if def.is_none() && role.is_none() && logging_in.is_none() && tracing_in.is_none() {
            return Err(ApiError::MissingRequiredParameter(
                "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified".into(),
            ));
        }
        let logging_cfg = logging_in.map(|l| logging(Some(l))).transpose()?;
        let tracing_cfg = tracing_in.map(|t| tracing(Some(t))).transpose()?;
        if let Some(r) = role {
            check_role(r)?;
        }
        let machine = self.machine(&arn)?;
        if machine.status == StateMachineStatus::Deleting {
            return Err(ApiError::StateMachineDeleting(format!(
                "State Machine is being deleted: '{arn}'"
            )));
        }
        if let Some(d) = def {
            definition::check(d, machine.machine_type)?;
        }
        let old = &machine.revision;
        let new_logging = logging_cfg.or_else(|| old.logging_configuration.clone());
        let new_tracing = tracing_cfg.or_else(|| old.tracing_configuration.clone());
        let changed = def.is_some_and(|d| d != old.definition)
            || role.is_some_and(|r| r != old.role_arn)
            || new_logging != old.logging_configuration
            || new_tracing != old.tracing_configuration;
        let now = self.now_ms();
        let machine = if changed {
            let revision = Revision {
                revision_id: new_id(),
                state_machine_arn: arn.clone(),
                definition: def.map_or_else(|| old.definition.clone(), str::to_string),
                role_arn: role.map_or_else(|| old.role_arn.clone(), str::to_string),
                description: None,
                logging_configuration: new_logging,
                tracing_configuration: new_tracing,
                created_ms: now,
            };
            self.catalog
                .update_state_machine(revision)
                .await
                .map_err(|e| match e {
                    statecraft_runtime::model::StoreError::NotFound { .. } => machine_missing(&arn),
                    e => store_err(e),
                })?
        } else {
            machine
        };
        let mut out = json!({
            "updateDate": timestamp(if changed { now } else { machine.revision.created_ms }),
            "revisionId": machine.revision.revision_id,
        });
        if publish {
            let v = publish_current(self, &machine, version_description.map(str::to_string), now)
                .await?;
            out["stateMachineVersionArn"] = Value::from(v.arn);
        }
        Ok(out)
    }

    pub async fn delete_state_machine(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("stateMachineArn", ARN)?;
        let parsed = Arn::parse(arn)?;
        match parsed.resource {
            Resource::StateMachine { .. } => {}
            Resource::Version { .. } => {
                return Err(ApiError::validation(format!(
                    "Use DeleteStateMachineVersion to delete a version: '{arn}'"
                )))
            }
            Resource::Alias { .. } => {
                return Err(ApiError::validation(format!(
                    "Use DeleteStateMachineAlias to delete an alias: '{arn}'"
                )))
            }
            _ => return Err(wrong_kind(arn, "a state machine ARN")),
        }
        // Deleting what does not exist succeeds, as on AWS (the model lists
        // no not-found error for this operation).
        match self.catalog.delete_state_machine(arn).await {
            Ok(()) | Err(statecraft_runtime::model::StoreError::NotFound { .. }) => Ok(json!({})),
            Err(e) => Err(store_err(e)),
        }
    }

    pub async fn list_state_machines(&self, req: Request) -> Result<Value, ApiError> {
        let page = page_request(&req, crate::protocol::PAGE_TOKEN)?;
        let listed = self.catalog.list_state_machines(&page).map_err(store_err)?;
        let items: Vec<Value> = listed
            .items
            .iter()
            .map(|m| {
                json!({
                    "stateMachineArn": m.arn,
                    "name": m.name,
                    "type": m.machine_type.as_str(),
                    "creationDate": timestamp(m.creation_date_ms),
                })
            })
            .collect();
        let mut out = json!({ "stateMachines": items });
        if let Some(t) = listed.next_token {
            out["nextToken"] = Value::from(t);
        }
        Ok(out)
    }

    pub async fn describe_state_machine_for_execution(
        &self,
        req: Request,
    ) -> Result<Value, ApiError> {
        let arn = req.str("executionArn", ARN)?;
        req.opt_enum("includedData", &["ALL_DATA", "METADATA_ONLY"])?;
        let exec = self.execution(arn)?;
        let revision = self
            .catalog
            .get_revision(&exec.revision_id)
            .map_err(store_err)?
            .ok_or_else(|| {
                ApiError::internal(format!("revision {} is missing", exec.revision_id))
            })?;
        let name = match Arn::parse(&exec.state_machine_arn).map(|a| a.resource) {
            Ok(Resource::StateMachine { name }) => name,
            _ => String::new(),
        };
        let mut out = json!({
            "stateMachineArn": exec.version_arn.clone().unwrap_or(exec.state_machine_arn.clone()),
            "name": name,
            "definition": revision.definition,
            "roleArn": revision.role_arn,
            "updateDate": timestamp(revision.created_ms),
            "revisionId": revision.revision_id,
        });
        if let Some(l) = revision.logging_configuration {
            out["loggingConfiguration"] = l;
        }
        if let Some(t) = revision.tracing_configuration {
            out["tracingConfiguration"] = t;
        }
        if let Some(m) = exec.map_run_arn {
            out["mapRunArn"] = Value::from(m);
        }
        Ok(out)
    }
}

pub(crate) fn machine_missing(arn: &str) -> ApiError {
    ApiError::StateMachineDoesNotExist(format!("State Machine Does Not Exist: '{arn}'"))
}

fn describe(m: &StateMachine, r: &Revision, arn: &str, version: Option<&Version>) -> Value {
    let mut out = json!({
        "stateMachineArn": arn,
        "name": m.name,
        "status": m.status.as_str(),
        "definition": r.definition,
        "roleArn": r.role_arn,
        "type": m.machine_type.as_str(),
        "creationDate": timestamp(version.map_or(m.creation_date_ms, |v| v.creation_date_ms)),
        "loggingConfiguration": r.logging_configuration.clone().unwrap_or_else(default_logging),
        "tracingConfiguration": r.tracing_configuration.clone().unwrap_or_else(default_tracing),
        "revisionId": r.revision_id,
    });
    if let Some(d) = version.and_then(|v| v.description.clone()) {
        out["description"] = Value::from(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logging_is_normalised_and_checked() {
        assert_eq!(logging(None).unwrap(), default_logging());
        let mut m = Map::new();
        m.insert("level".into(), json!("ALL"));
        assert_eq!(
            logging(Some(&m)).unwrap_err().type_name(),
            "InvalidLoggingConfiguration"
        );
        m.insert(
            "destinations".into(),
            json!([{"cloudWatchLogsLogGroup": {"logGroupArn": "arn:aws:logs:us-east-1:1:log-group:g:*"}}]),
        );
        let l = logging(Some(&m)).unwrap();
        assert_eq!(l["level"], "ALL");
        assert_eq!(l["includeExecutionData"], false);
        m.insert("level".into(), json!("LOUD"));
        assert!(logging(Some(&m)).is_err());
    }

    #[test]
    fn roles_must_be_arns() {
        assert!(check_role("arn:aws:iam::123456789012:role/r").is_ok());
        assert_eq!(check_role("role").unwrap_err().type_name(), "InvalidArn");
    }
}
