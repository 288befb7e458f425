//! Versions and aliases: PublishStateMachineVersion, ListStateMachineVersions,
//! DeleteStateMachineVersion and the five alias operations, plus the weighted
//! routing that turns an alias into a version when an execution starts.

use serde_json::{json, Value};
use statecraft_runtime::model::{Alias, Route};

use super::machines::machine_missing;
use super::{page_request, publish_current};
use crate::arn::{wrong_kind, Arn, Resource};
use crate::names;
use crate::protocol::{
    nested_str, timestamp, ApiError, Request, ARN, DESCRIPTION, LONG_ARN, NAME, PAGE_TOKEN,
};
use crate::service::{store_err, Service};

fn alias_missing(arn: &str) -> ApiError {
    ApiError::not_found(format!("Resource not found: '{arn}'"), arn)
}

/// Picks the version an execution on `alias` runs: by weight, with `roll`
/// drawn uniformly from `0..100`.
pub fn route(alias: &Alias, roll: u32) -> Option<&str> {
    let mut acc = 0;
    for r in &alias.routing {
        acc += r.weight;
        if roll < acc {
            return Some(&r.version_arn);
        }
    }
    alias
        .routing
        .iter()
        .rev()
        .find(|r| r.weight > 0)
        .map(|r| r.version_arn.as_str())
}

impl Service {
    pub async fn publish_state_machine_version(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("stateMachineArn", ARN)?;
        let revision = req.opt_str("revisionId", crate::protocol::ANY)?;
        let description = req.opt_str("description", DESCRIPTION)?;
        let arn = self.unqualified_machine(arn)?;
        let machine = self.machine(&arn)?;
        if let Some(r) = revision {
            if r != machine.revision.revision_id {
                return Err(ApiError::ConflictException(format!(
                    "Failed to publish the State Machine version for revision {r}. The current State Machine revision is {}.",
                    machine.revision.revision_id
                )));
            }
        }
        let now = self.now_ms();
        let v = publish_current(self, &machine, description.map(str::to_string), now).await?;
        Ok(json!({
            "creationDate": timestamp(v.creation_date_ms),
            "stateMachineVersionArn": v.arn,
        }))
    }

    pub async fn list_state_machine_versions(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("stateMachineArn", ARN)?;
        let page = page_request(&req, PAGE_TOKEN)?;
        let arn = self.unqualified_machine(arn)?;
        let listed = self.catalog.list_versions(&arn, &page).map_err(store_err)?;
        let items: Vec<Value> = listed
            .items
            .iter()
            .map(|v| json!({"stateMachineVersionArn": v.arn, "creationDate": timestamp(v.creation_date_ms)}))
            .collect();
        let mut out = json!({ "stateMachineVersions": items });
        if let Some(t) = listed.next_token {
            out["nextToken"] = Value::from(t);
        }
        Ok(out)
    }

    pub async fn delete_state_machine_version(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("stateMachineVersionArn", LONG_ARN)?;
        let parsed = Arn::parse(arn)?;
        let Resource::Version { name, .. } = parsed.resource else {
            return Err(wrong_kind(arn, "a state machine version ARN"));
        };
        // A version an alias routes to cannot go: the alias would dangle.
        let machine_arn = self.scope.state_machine(&name);
        let mut page = statecraft_runtime::model::PageRequest::first(1000);
        loop {
            let aliases = self
                .catalog
                .list_aliases(&machine_arn, &page)
                .map_err(store_err)?;
            if let Some(a) = aliases
                .items
                .iter()
                .find(|a| a.routing.iter().any(|r| r.version_arn == arn))
            {
                return Err(ApiError::ConflictException(format!(
                    "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [{}]",
                    a.arn
                )));
            }
            match aliases.next_token {
                Some(t) => page.next_token = Some(t),
                None => break,
            }
        }
        match self.catalog.delete_version(arn).await {
            Ok(()) | Err(statecraft_runtime::model::StoreError::NotFound { .. }) => Ok(json!({})),
            Err(e) => Err(store_err(e)),
        }
    }

    /// Reads and checks `routingConfiguration`: one or two distinct versions
    /// of one machine, weights adding up to 100, every version existing.
    /// Returns the routes and the machine's ARN.
    fn routing(&self, items: &[Value]) -> Result<(Vec<Route>, String), ApiError> {
        if items.is_empty() || items.len() > 2 {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value at 'routingConfiguration' failed to satisfy constraint: Member must have length between 1 and 2 (got {})",
                items.len()
            )));
        }
        let mut routes = Vec::new();
        let mut machine: Option<String> = None;
        for (i, item) in items.iter().enumerate() {
            let obj = item.as_object().ok_or_else(|| {
                ApiError::SerializationException(format!(
                    "Unexpected value type for 'routingConfiguration.{}': expected a structure",
                    i + 1
                ))
            })?;
            let path = format!(
                "routingConfiguration.{}.member.stateMachineVersionArn",
                i + 1
            );
            let varn = nested_str(obj, "stateMachineVersionArn", &path, ARN)?
                .ok_or_else(|| crate::protocol::missing(&path))?;
            let weight = obj.get("weight").and_then(Value::as_u64).ok_or_else(|| {
                crate::protocol::missing(&format!("routingConfiguration.{}.member.weight", i + 1))
            })?;
            if weight > 100 {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value {weight} at 'routingConfiguration.{}.member.weight' failed to satisfy constraint: Member must have value less than or equal to 100",
                    i + 1
                )));
            }
            let parsed = Arn::parse(varn)?;
            let Resource::Version { name, .. } = &parsed.resource else {
                return Err(wrong_kind(varn, "a state machine version ARN"));
            };
            let this_machine = self.scope.state_machine(name);
            if machine.as_ref().is_some_and(|m| *m != this_machine) {
                return Err(ApiError::validation(
                    "Routing configuration must contain versions of the same state machine",
                ));
            }
            if routes.iter().any(|r: &Route| r.version_arn == varn) {
                return Err(ApiError::validation(
                    "Routing configuration must contain distinct version ARNs",
                ));
            }
            if self.catalog.get_version(varn).map_err(store_err)?.is_none() {
                return Err(alias_missing(varn));
            }
            machine = Some(this_machine);
            routes.push(Route {
                version_arn: varn.to_string(),
                weight: u32::try_from(weight).unwrap_or(100),
            });
        }
        if routes.iter().map(|r| r.weight).sum::<u32>() != 100 {
            return Err(ApiError::validation(
                "Sum of routing configuration weights must be equal to 100",
            ));
        }
        let machine = machine.unwrap_or_default();
        Ok((routes, machine))
    }

    pub async fn create_state_machine_alias(&self, req: Request) -> Result<Value, ApiError> {
        let description = req.opt_str("description", DESCRIPTION)?;
        let name = req.str("name", NAME)?;
        let routing = req.list("routingConfiguration")?;
        names::check_alias(name)?;
        let (routes, machine_arn) = self.routing(routing)?;
        let Ok(Arn {
            resource: Resource::StateMachine { name: machine_name },
            ..
        }) = Arn::parse(&machine_arn)
        else {
            return Err(ApiError::internal("unparseable machine ARN"));
        };
        if self
            .catalog
            .get_state_machine(&machine_arn)
            .map_err(store_err)?
            .is_none()
        {
            return Err(machine_missing(&machine_arn));
        }
        let arn = self.scope.alias(&machine_name, name);
        if let Some(existing) = self.catalog.get_alias(&arn).map_err(store_err)? {
            // Same alias again: idempotent; a different one conflicts.
            if existing.routing == routes && existing.description.as_deref() == description {
                return Ok(json!({
                    "stateMachineAliasArn": existing.arn,
                    "creationDate": timestamp(existing.creation_date_ms),
                }));
            }
            return Err(ApiError::ConflictException(format!(
                "Failed to create alias because an alias with the same name and a different routing configuration already exists: '{arn}'"
            )));
        }
        let now = self.now_ms();
        let alias = Alias {
            arn: arn.clone(),
            state_machine_arn: machine_arn,
            name: name.to_string(),
            description: description.map(str::to_string),
            routing: routes,
            creation_date_ms: now,
            update_date_ms: None,
        };
        let created = self
            .catalog
            .create_alias(alias)
            .await
            .map_err(|e| match e {
                statecraft_runtime::model::StoreError::AlreadyExists { .. } => {
                    ApiError::ConflictException(format!("Alias already exists: '{arn}'"))
                }
                e => store_err(e),
            })?;
        Ok(json!({
            "stateMachineAliasArn": created.arn,
            "creationDate": timestamp(created.creation_date_ms),
        }))
    }

    pub(crate) fn alias(&self, arn: &str) -> Result<Alias, ApiError> {
        let parsed = Arn::parse(arn)?;
        if !matches!(parsed.resource, Resource::Alias { .. }) {
            return Err(wrong_kind(arn, "a state machine alias ARN"));
        }
        self.catalog
            .get_alias(arn)
            .map_err(store_err)?
            .ok_or_else(|| alias_missing(arn))
    }

    pub async fn describe_state_machine_alias(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("stateMachineAliasArn", ARN)?;
        let a = self.alias(arn)?;
        let routing: Vec<Value> = a
            .routing
            .iter()
            .map(|r| json!({"stateMachineVersionArn": r.version_arn, "weight": r.weight}))
            .collect();
        let mut out = json!({
            "stateMachineAliasArn": a.arn,
            "name": a.name,
            "routingConfiguration": routing,
            "creationDate": timestamp(a.creation_date_ms),
        });
        if let Some(d) = a.description {
            out["description"] = Value::from(d);
        }
        if let Some(u) = a.update_date_ms {
            out["updateDate"] = timestamp(u);
        }
        Ok(out)
    }

    pub async fn update_state_machine_alias(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("stateMachineAliasArn", ARN)?;
        let description = req.opt_str("description", DESCRIPTION)?;
        let routing = req.opt_list("routingConfiguration")?;
        if description.is_none() && routing.is_none() {
            return Err(ApiError::validation(
                "Either the description or the RoutingConfiguration must be specified",
            ));
        }
        let mut a = self.alias(arn)?;
        if let Some(items) = routing {
            let (routes, machine) = self.routing(items)?;
            if machine != a.state_machine_arn {
                return Err(ApiError::validation(
                    "Routing configuration must contain versions of the alias's state machine",
                ));
            }
            a.routing = routes;
        }
        if let Some(d) = description {
            a.description = Some(d.to_string());
        }
        let now = self.now_ms();
        a.update_date_ms = Some(now);
        self.catalog.update_alias(a).await.map_err(|e| match e {
            statecraft_runtime::model::StoreError::NotFound { .. } => alias_missing(arn),
            e => store_err(e),
        })?;
        Ok(json!({ "updateDate": timestamp(now) }))
    }

    pub async fn delete_state_machine_alias(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("stateMachineAliasArn", ARN)?;
        self.alias(arn)?;
        match self.catalog.delete_alias(arn).await {
            Ok(()) => Ok(json!({})),
            Err(statecraft_runtime::model::StoreError::NotFound { .. }) => Err(alias_missing(arn)),
            Err(e) => Err(store_err(e)),
        }
    }

    pub async fn list_state_machine_aliases(&self, req: Request) -> Result<Value, ApiError> {
        let arn = req.str("stateMachineArn", ARN)?;
        let page = page_request(&req, PAGE_TOKEN)?;
        let parsed = Arn::parse(arn)?;
        // A version ARN lists the aliases routing to it.
        let (machine_arn, only_version) = match &parsed.resource {
            Resource::StateMachine { .. } => (arn.to_string(), None),
            Resource::Version { name, .. } => (self.scope.state_machine(name), Some(arn)),
            _ => return Err(wrong_kind(arn, "a state machine or version ARN")),
        };
        self.machine(&machine_arn)?;
        let listed = self
            .catalog
            .list_aliases(&machine_arn, &page)
            .map_err(store_err)?;
        let items: Vec<Value> = listed
            .items
            .iter()
            .filter(|a| only_version.is_none_or(|v| a.routing.iter().any(|r| r.version_arn == v)))
            .map(|a| json!({"stateMachineAliasArn": a.arn, "creationDate": timestamp(a.creation_date_ms)}))
            .collect();
        let mut out = json!({ "stateMachineAliases": items });
        if let Some(t) = listed.next_token {
            out["nextToken"] = Value::from(t);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alias(weights: &[(&str, u32)]) -> Alias {
        Alias {
            arn: "a".into(),
            state_machine_arn: "m".into(),
            name: "A".into(),
            description: None,
            routing: weights
                .iter()
                .map(|(v, w)| Route {
                    version_arn: v.to_string(),
                    weight: *w,
                })
                .collect(),
            creation_date_ms: 0,
            update_date_ms: None,
        }
    }

    #[test]
    fn routing_follows_weights() {
        let a = alias(&[("v1", 30), ("v2", 70)]);
        assert_eq!(route(&a, 0), Some("v1"));
        assert_eq!(route(&a, 29), Some("v1"));
        assert_eq!(route(&a, 30), Some("v2"));
        assert_eq!(route(&a, 99), Some("v2"));
        let all = alias(&[("v1", 100), ("v2", 0)]);
        assert!((0..100).all(|r| route(&all, r) == Some("v1")));
        let none = alias(&[("v1", 0), ("v2", 100)]);
        assert!((0..100).all(|r| route(&none, r) == Some("v2")));
    }
}
