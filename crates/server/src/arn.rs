//! Step Functions ARNs: building them from the configured region and account,
//! and parsing what clients send back into the resource they name.
//!
//! `arn:<partition>:states:<region>:<account>:stateMachine:<name>` names a
//! state machine; a trailing `:<n>` (digits) names a version and any other
//! trailing `:<alias>` an alias. Executions are `…:execution:<machine>:<name>`
//! and express executions `…:express:<machine>:<name>:<id>`.

use crate::protocol::ApiError;

/// Where ARNs live: the region and account id the server presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub region: String,
    pub account: String,
}

/// What a parsed ARN names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    StateMachine { name: String },
    Version { name: String, version: u64 },
    Alias { name: String, alias: String },
    Execution { machine: String, name: String },
    ExpressExecution { machine: String, name: String },
    Activity { name: String },
    MapRun { machine: String, run: String },
}

/// A parsed ARN: its scope and resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    pub region: String,
    pub account: String,
    pub resource: Resource,
}

impl Scope {
    fn prefix(&self) -> String {
        format!("arn:aws:states:{}:{}", self.region, self.account)
    }

    pub fn state_machine(&self, name: &str) -> String {
        format!("{}:stateMachine:{name}", self.prefix())
    }

    pub fn version(&self, name: &str, version: u64) -> String {
        format!("{}:stateMachine:{name}:{version}", self.prefix())
    }

    pub fn alias(&self, name: &str, alias: &str) -> String {
        format!("{}:stateMachine:{name}:{alias}", self.prefix())
    }

    pub fn execution(&self, machine: &str, name: &str, express: bool) -> String {
        let kind = if express { "express" } else { "execution" };
        format!("{}:{kind}:{machine}:{name}", self.prefix())
    }

    /// Whether `arn` lies in this server's region and account; resources
    /// elsewhere never exist here.
    pub fn owns(&self, arn: &Arn) -> bool {
        arn.region == self.region && arn.account == self.account
    }
}

fn invalid(arn: &str) -> ApiError {
    ApiError::InvalidArn(format!("Invalid Arn: 'Unable to parse ARN: {arn}'"))
}

fn is_version(s: &str) -> bool {
    !s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit())
}

impl Arn {
    /// Parses any Step Functions ARN.
    pub fn parse(arn: &str) -> Result<Arn, ApiError> {
        let parts: Vec<&str> = arn.split(':').collect();
        let [head, partition, service, region, account, kind, rest @ ..] = parts.as_slice() else {
            return Err(invalid(arn));
        };
        if *head != "arn"
            || partition.is_empty()
            || *service != "states"
            || region.is_empty()
            || account.is_empty()
            || rest.iter().any(|p| p.is_empty())
        {
            return Err(invalid(arn));
        }
        let owned = |s: &str| s.to_string();
        let resource = match (*kind, rest) {
            ("stateMachine", [name]) => Resource::StateMachine { name: owned(name) },
            ("stateMachine", [name, q]) if is_version(q) => Resource::Version {
                name: owned(name),
                version: q.parse().map_err(|_| invalid(arn))?,
            },
            ("stateMachine", [name, q]) => Resource::Alias {
                name: owned(name),
                alias: owned(q),
            },
            ("execution", [machine, name]) => Resource::Execution {
                machine: owned(machine),
                name: owned(name),
            },
            // Express ARNs carry a run id after the name on AWS; ours may not.
            ("express", [machine, name, ..]) => Resource::ExpressExecution {
                machine: owned(machine),
                name: owned(name),
            },
            ("activity", [name]) => Resource::Activity { name: owned(name) },
            ("mapRun", [machine, run, ..]) => Resource::MapRun {
                machine: owned(machine),
                run: owned(run),
            },
            _ => return Err(invalid(arn)),
        };
        Ok(Arn {
            region: region.to_string(),
            account: account.to_string(),
            resource,
        })
    }
}

/// A rejection for an ARN that parses but names the wrong kind of resource.
pub fn wrong_kind(arn: &str, expected: &str) -> ApiError {
    ApiError::InvalidArn(format!(
        "Invalid Arn: 'Resource type not valid in this context: {arn}' (expected {expected})"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sc() -> Scope {
        Scope {
            region: "us-east-1".into(),
            account: "123456789012".into(),
        }
    }

    #[test]
    fn built_arns_parse_back() {
        let s = sc();
        let cases = [
            (
                s.state_machine("m"),
                Resource::StateMachine { name: "m".into() },
            ),
            (
                s.version("m", 3),
                Resource::Version {
                    name: "m".into(),
                    version: 3,
                },
            ),
            (
                s.alias("m", "PROD"),
                Resource::Alias {
                    name: "m".into(),
                    alias: "PROD".into(),
                },
            ),
            (
                s.execution("m", "e", false),
                Resource::Execution {
                    machine: "m".into(),
                    name: "e".into(),
                },
            ),
            (
                s.execution("m", "e", true),
                Resource::ExpressExecution {
                    machine: "m".into(),
                    name: "e".into(),
                },
            ),
        ];
        for (text, resource) in cases {
            let arn = Arn::parse(&text).unwrap();
            assert_eq!(arn.resource, resource, "{text}");
            assert!(s.owns(&arn));
        }
    }

    #[test]
    fn malformed_arns_are_invalid() {
        for bad in [
            "",
            "nope",
            "arn:aws:states:us-east-1:123456789012",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
            "arn:aws:states:us-east-1:123456789012:stateMachine:",
            "arn:aws:states:us-east-1:123456789012:stateMachine:a:b:c",
            "arn:aws:states:us-east-1:123456789012:execution:m",
            "arn:aws:states::123456789012:stateMachine:m",
            "arn:aws:states:us-east-1:123456789012:widget:m",
        ] {
            assert_eq!(
                Arn::parse(bad).unwrap_err().type_name(),
                "InvalidArn",
                "{bad}"
            );
        }
    }

    #[test]
    fn other_accounts_are_not_ours() {
        let arn = Arn::parse("arn:aws:states:eu-west-1:111111111111:stateMachine:m").unwrap();
        assert!(!sc().owns(&arn));
    }
}
