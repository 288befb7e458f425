//! ARNs of Step Functions resources, as far as the runtime needs them: tell
//! a state machine ARN from a version or alias ARN, and derive execution
//! ARNs (`…:execution:<machine>:<name>`, `…:express:<machine>:<name>:<uuid>`).

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

/// The parts of a state machine ARN:
/// `arn:<partition>:states:<region>:<account>:stateMachine:<name>[:<qualifier>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineArn<'a> {
    pub prefix: &'a str,
    pub name: &'a str,
    pub qualifier: Option<&'a str>,
}

/// Splits a state machine ARN; `None` if it is not one.
pub fn parse_machine_arn(arn: &str) -> Option<MachineArn<'_>> {
    let mut parts = arn.splitn(8, ':');
    let (scheme, partition, service, region, account, kind) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if scheme != "arn" || service != "states" || kind != "stateMachine" {
        return None;
    }
    if partition.is_empty() || region.is_empty() || account.is_empty() {
        return None;
    }
    let name = parts.next().filter(|n| !n.is_empty())?;
    let qualifier = match parts.next() {
        Some("") => return None,
        q => q,
    };
    let prefix_len = arn.len() - name.len() - qualifier.map_or(0, |q| q.len() + 1);
    Some(MachineArn {
        prefix: arn.get(..prefix_len)?,
        name,
        qualifier,
    })
}

/// Classifies a StartExecution target.
pub fn target(arn: &str) -> Option<Target> {
    let m = parse_machine_arn(arn)?;
    let machine_arn = format!("{}{}", m.prefix, m.name);
    Some(match m.qualifier {
        None => Target::StateMachine { arn: machine_arn },
        Some(q) => match q.parse::<u64>() {
            Ok(version) => Target::Version {
                machine_arn,
                arn: arn.to_string(),
                version,
            },
            Err(_) => Target::Alias {
                machine_arn,
                arn: arn.to_string(),
                name: q.to_string(),
            },
        },
    })
}

/// The ARN of an execution named `name` of the machine `machine_arn`
/// (`kind` is `execution` or `express`).
pub fn execution_arn(machine_arn: &str, kind: &str, name: &str) -> Option<String> {
    let m = parse_machine_arn(machine_arn)?;
    let base = m.prefix.strip_suffix("stateMachine:")?;
    Some(format!("{base}{kind}:{}:{name}", m.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SM: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:Orders";

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
    }

    #[test]
    fn malformed_arns_are_rejected() {
        for bad in [
            "",
            "arn:aws:states:us-east-1:123456789012:activity:A",
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
    }
}
