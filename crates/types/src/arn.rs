//! Step Functions ARNs, parsed once for every layer: what a client sends
//! (the server), what StartExecution targets and which execution ARN it
//! gets (the runtime), all read by [`Arn::parse`] and built by [`Scope`].
//!
//! `arn:<partition>:states:<region>:<account>:stateMachine:<name>` names a
//! state machine; a trailing `:<n>` (digits) names a version and any other
//! trailing `:<alias>` an alias. Executions are `…:execution:<machine>:<name>`
//! and express executions `…:express:<machine>:<name>:<id>`.

use std::fmt;

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

/// A parsed ARN: its partition, scope and resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub resource: Resource,
}

/// A string that is not a Step Functions ARN (AWS's `InvalidArn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnError {
    /// The text that did not parse.
    pub arn: String,
}

impl fmt::Display for ArnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Unable to parse ARN: {}", self.arn)
    }
}

impl std::error::Error for ArnError {}

/// Where ARNs live: the region and account id a server presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub region: String,
    pub account: String,
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

    /// Whether `arn` lies in this region and account; resources elsewhere
    /// never exist here.
    pub fn owns(&self, arn: &Arn) -> bool {
        arn.region == self.region && arn.account == self.account
    }
}

/// AWS's version numbers: digits, at most 19 of them (a `u64`).
fn is_version(s: &str) -> bool {
    !s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit())
}

impl Arn {
    /// Parses any Step Functions ARN.
    pub fn parse(arn: &str) -> Result<Arn, ArnError> {
        let invalid = || ArnError {
            arn: arn.to_string(),
        };
        let parts: Vec<&str> = arn.split(':').collect();
        let [head, partition, service, region, account, kind, rest @ ..] = parts.as_slice() else {
            return Err(invalid());
        };
        if *head != "arn"
            || partition.is_empty()
            || *service != "states"
            || region.is_empty()
            || account.is_empty()
            || rest.iter().any(|p| p.is_empty())
        {
            return Err(invalid());
        }
        let owned = |s: &str| s.to_string();
        let resource = match (*kind, rest) {
            ("stateMachine", [name]) => Resource::StateMachine { name: owned(name) },
            ("stateMachine", [name, q]) if is_version(q) => Resource::Version {
                name: owned(name),
                version: q.parse().map_err(|_| invalid())?,
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
            _ => return Err(invalid()),
        };
        Ok(Arn {
            partition: partition.to_string(),
            region: region.to_string(),
            account: account.to_string(),
            resource,
        })
    }

    /// `arn:<partition>:states:<region>:<account>:`, what every ARN of
    /// this scope starts with.
    fn base(&self) -> String {
        format!(
            "arn:{}:states:{}:{}:",
            self.partition, self.region, self.account
        )
    }

    /// The ARN of the state machine this names (itself, or the machine of
    /// a version, alias, execution or map run).
    pub fn state_machine_arn(&self) -> String {
        let name = match &self.resource {
            Resource::StateMachine { name }
            | Resource::Version { name, .. }
            | Resource::Alias { name, .. } => name,
            Resource::Execution { machine, .. }
            | Resource::ExpressExecution { machine, .. }
            | Resource::MapRun { machine, .. } => machine,
            Resource::Activity { name } => return format!("{}activity:{name}", self.base()),
        };
        format!("{}stateMachine:{name}", self.base())
    }
}

/// The target of StartExecution, resolved by shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    StateMachine {
        arn: String,
    },
    Version {
        machine_arn: String,
        arn: String,
        version: u64,
    },
    Alias {
        machine_arn: String,
        arn: String,
        name: String,
    },
}

/// Classifies a StartExecution target; `None` if it is not a state
/// machine, version or alias ARN.
pub fn target(arn: &str) -> Option<Target> {
    let parsed = Arn::parse(arn).ok()?;
    let machine_arn = parsed.state_machine_arn();
    Some(match parsed.resource {
        Resource::StateMachine { .. } => Target::StateMachine { arn: machine_arn },
        Resource::Version { version, .. } => Target::Version {
            machine_arn,
            arn: arn.to_string(),
            version,
        },
        Resource::Alias { alias, .. } => Target::Alias {
            machine_arn,
            arn: arn.to_string(),
            name: alias,
        },
        _ => return None,
    })
}

/// The ARN of an execution named `name` of the state machine
/// `machine_arn` (`kind` is `execution` or `express`); `None` if
/// `machine_arn` is not a state machine, version or alias ARN.
pub fn execution_arn(machine_arn: &str, kind: &str, name: &str) -> Option<String> {
    let parsed = Arn::parse(machine_arn).ok()?;
    match &parsed.resource {
        Resource::StateMachine { name: machine }
        | Resource::Version { name: machine, .. }
        | Resource::Alias { name: machine, .. } => {
            Some(format!("{}{kind}:{machine}:{name}", parsed.base()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SM: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:Orders";

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
            let arn = Arn::parse(&text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(arn.resource, resource, "{text}");
            assert!(s.owns(&arn));
        }
    }

    #[test]
    fn malformed_arns_are_invalid_with_the_text_named() {
        for bad in [
            "",
            "nope",
            "arn:aws:states:us-east-1:123456789012",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
            "arn:aws:states:us-east-1:123456789012:stateMachine:",
            "arn:aws:states:us-east-1:123456789012:stateMachine:A:",
            "arn:aws:states:us-east-1:123456789012:stateMachine:a:b:c",
            "arn:aws:states:us-east-1:123456789012:execution:m",
            "arn:aws:states::123456789012:stateMachine:m",
            "arn:aws:states:us-east-1:123456789012:widget:m",
        ] {
            let e = Arn::parse(bad).err();
            assert_eq!(
                e.map(|e| e.to_string()),
                Some(format!("Unable to parse ARN: {bad}")),
                "{bad}"
            );
        }
    }

    #[test]
    fn other_accounts_are_not_ours() {
        let arn = Arn::parse("arn:aws:states:eu-west-1:111111111111:stateMachine:m");
        assert!(arn.is_ok_and(|a| !sc().owns(&a)));
    }

    #[test]
    fn targets_are_told_apart_by_qualifier() {
        assert_eq!(target(SM), Some(Target::StateMachine { arn: SM.into() }));
        assert_eq!(
            target(&format!("{SM}:3")),
            Some(Target::Version {
                machine_arn: SM.into(),
                arn: format!("{SM}:3"),
                version: 3
            })
        );
        assert_eq!(
            target(&format!("{SM}:prod")),
            Some(Target::Alias {
                machine_arn: SM.into(),
                arn: format!("{SM}:prod"),
                name: "prod".into()
            })
        );
        // The partition is kept.
        assert_eq!(
            target("arn:aws-cn:states:cn-north-1:1:stateMachine:M:7"),
            Some(Target::Version {
                machine_arn: "arn:aws-cn:states:cn-north-1:1:stateMachine:M".into(),
                arn: "arn:aws-cn:states:cn-north-1:1:stateMachine:M:7".into(),
                version: 7
            })
        );
    }

    #[test]
    fn only_machines_versions_and_aliases_are_targets() {
        for bad in [
            "",
            "arn:aws:states:us-east-1:123456789012:activity:A",
            "arn:aws:states:us-east-1:123456789012:execution:A:e",
            "arn:aws:lambda:us-east-1:123456789012:stateMachine:A",
            "arn:aws:states:us-east-1:123456789012:stateMachine:",
            "arn:aws:states:us-east-1:123456789012:stateMachine:A:",
            "arn:aws:states::123456789012:stateMachine:A",
            "not an arn",
        ] {
            assert_eq!(target(bad), None, "{bad}");
        }
    }

    #[test]
    fn execution_arns_follow_the_machine() {
        assert_eq!(
            execution_arn(SM, "execution", "run-1").as_deref(),
            Some("arn:aws:states:us-east-1:123456789012:execution:Orders:run-1")
        );
        assert_eq!(
            execution_arn(&format!("{SM}:prod"), "express", "r").as_deref(),
            Some("arn:aws:states:us-east-1:123456789012:express:Orders:r")
        );
        assert_eq!(
            execution_arn("arn:aws:states:r:1:activity:a", "execution", "x"),
            None
        );
    }
}
