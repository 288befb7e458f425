//! Step Functions ARNs as the API sees them: parsed and built by
//! `statecraft_types::arn` (the one parser, shared with the runtime); this
//! module only turns a parse failure or an ARN of the wrong kind into AWS's
//! `InvalidArn`.

use crate::protocol::ApiError;

pub use statecraft_types::arn::{Arn, ArnError, Resource, Scope};

impl From<ArnError> for ApiError {
    fn from(e: ArnError) -> ApiError {
        ApiError::InvalidArn(format!("Invalid Arn: '{e}'"))
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

    fn parse(arn: &str) -> Result<Arn, ApiError> {
        Ok(Arn::parse(arn)?)
    }

    #[test]
    fn unparsable_arns_are_invalid_arn_errors() {
        for bad in ["", "nope", "arn:aws:states:us-east-1:123456789012:widget:m"] {
            let e = parse(bad).err();
            assert_eq!(
                e.as_ref().map(ApiError::type_name),
                Some("InvalidArn"),
                "{bad}"
            );
            assert_eq!(
                e.map(|e| e.to_string()),
                Some(format!("Invalid Arn: 'Unable to parse ARN: {bad}'")),
                "{bad}"
            );
        }
        assert!(parse("arn:aws:states:us-east-1:1:stateMachine:m").is_ok());
    }

    #[test]
    fn wrong_kinds_are_invalid_arn_errors() {
        let e = wrong_kind("arn:aws:states:us-east-1:1:activity:a", "an execution ARN");
        assert_eq!(e.type_name(), "InvalidArn");
    }
}
