//! The AWS JSON 1.0 protocol as Step Functions speaks it: the error shape
//! (`{"__type": ..., "message": ...}` with HTTP 400), the timestamp encoding
//! (epoch seconds as a JSON number) and the typed reading of request members
//! with the validation messages AWS gives.
//!
//! Only this module knows how errors look on the wire; the operations return
//! [`ApiError`] values and never build error bodies themselves.

use serde_json::{Map, Value};

/// An error answer of the API. The variant names are the `__type` values of
/// the model's exception shapes, so SDKs raise their typed exceptions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    ActivityDoesNotExist(String),
    #[error("{0}")]
    ActivityAlreadyExists(String),
    #[error("{0}")]
    ActivityWorkerLimitExceeded(String),
    #[error("{0}")]
    TaskDoesNotExist(String),
    #[error("{0}")]
    TaskTimedOut(String),
    #[error("{0}")]
    InvalidOutput(String),
    #[error("{0}")]
    ConflictException(String),
    #[error("{0}")]
    ExecutionAlreadyExists(String),
    #[error("{0}")]
    ExecutionDoesNotExist(String),
    #[error("{0}")]
    ExecutionLimitExceeded(String),
    #[error("{0}")]
    ExecutionNotRedrivable(String),
    #[error("{0}")]
    InvalidArn(String),
    #[error("{0}")]
    InvalidDefinition(String),
    #[error("{0}")]
    InvalidExecutionInput(String),
    #[error("{0}")]
    InvalidLoggingConfiguration(String),
    #[error("{0}")]
    InvalidName(String),
    #[error("{0}")]
    InvalidToken(String),
    #[error("{0}")]
    InvalidTracingConfiguration(String),
    #[error("{0}")]
    MissingRequiredParameter(String),
    #[error("{message}")]
    ResourceNotFound {
        message: String,
        resource_name: Option<String>,
    },
    #[error("{0}")]
    ServiceQuotaExceededException(String),
    #[error("{0}")]
    StateMachineAlreadyExists(String),
    #[error("{0}")]
    StateMachineDeleting(String),
    #[error("{0}")]
    StateMachineDoesNotExist(String),
    #[error("{0}")]
    StateMachineTypeNotSupported(String),
    #[error("{message}")]
    TooManyTags {
        message: String,
        resource_name: Option<String>,
    },
    #[error("{message}")]
    ValidationException {
        message: String,
        reason: Option<&'static str>,
    },
    /// The body is not JSON, or a member has the wrong JSON type.
    #[error("{0}")]
    SerializationException(String),
    /// `X-Amz-Target` names no operation of the service.
    #[error("{0}")]
    UnknownOperationException(String),
    /// A configured rate limit was exceeded (AWS's common throttling error,
    /// which every SDK retries with back-off).
    #[error("{0}")]
    ThrottlingException(String),
    /// A bug or a storage failure: HTTP 500.
    #[error("{0}")]
    InternalFailure(String),
}

impl ApiError {
    /// The `__type` the SDKs match on.
    pub fn type_name(&self) -> &'static str {
        match self {
            ApiError::ActivityDoesNotExist(_) => "ActivityDoesNotExist",
            ApiError::ActivityAlreadyExists(_) => "ActivityAlreadyExists",
            ApiError::ActivityWorkerLimitExceeded(_) => "ActivityWorkerLimitExceeded",
            ApiError::TaskDoesNotExist(_) => "TaskDoesNotExist",
            ApiError::TaskTimedOut(_) => "TaskTimedOut",
            ApiError::InvalidOutput(_) => "InvalidOutput",
            ApiError::ConflictException(_) => "ConflictException",
            ApiError::ExecutionAlreadyExists(_) => "ExecutionAlreadyExists",
            ApiError::ExecutionDoesNotExist(_) => "ExecutionDoesNotExist",
            ApiError::ExecutionLimitExceeded(_) => "ExecutionLimitExceeded",
            ApiError::ExecutionNotRedrivable(_) => "ExecutionNotRedrivable",
            ApiError::InvalidArn(_) => "InvalidArn",
            ApiError::InvalidDefinition(_) => "InvalidDefinition",
            ApiError::InvalidExecutionInput(_) => "InvalidExecutionInput",
            ApiError::InvalidLoggingConfiguration(_) => "InvalidLoggingConfiguration",
            ApiError::InvalidName(_) => "InvalidName",
            ApiError::InvalidToken(_) => "InvalidToken",
            ApiError::InvalidTracingConfiguration(_) => "InvalidTracingConfiguration",
            ApiError::MissingRequiredParameter(_) => "MissingRequiredParameter",
            ApiError::ResourceNotFound { .. } => "ResourceNotFound",
            ApiError::ServiceQuotaExceededException(_) => "ServiceQuotaExceededException",
            ApiError::StateMachineAlreadyExists(_) => "StateMachineAlreadyExists",
            ApiError::StateMachineDeleting(_) => "StateMachineDeleting",
            ApiError::StateMachineDoesNotExist(_) => "StateMachineDoesNotExist",
            ApiError::StateMachineTypeNotSupported(_) => "StateMachineTypeNotSupported",
            ApiError::TooManyTags { .. } => "TooManyTags",
            ApiError::ValidationException { .. } => "ValidationException",
            ApiError::SerializationException(_) => "SerializationException",
            ApiError::UnknownOperationException(_) => "UnknownOperationException",
            ApiError::ThrottlingException(_) => "ThrottlingException",
            ApiError::InternalFailure(_) => "InternalFailure",
        }
    }

    /// The HTTP status. The model declares none per exception, so AWS JSON's
    /// default (400) applies to every client error; the service-quota error is
    /// documented as 402 and internal failures are 500.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::ServiceQuotaExceededException(_) => 402,
            ApiError::InternalFailure(_) => 500,
            _ => 400,
        }
    }

    /// The JSON error body.
    pub fn body(&self) -> Value {
        let mut m = Map::new();
        m.insert("__type".into(), Value::from(self.type_name()));
        m.insert("message".into(), Value::from(self.to_string()));
        match self {
            ApiError::ResourceNotFound {
                resource_name: Some(r),
                ..
            }
            | ApiError::TooManyTags {
                resource_name: Some(r),
                ..
            } => {
                m.insert("resourceName".into(), Value::from(r.clone()));
            }
            ApiError::ValidationException {
                reason: Some(r), ..
            } => {
                m.insert("reason".into(), Value::from(*r));
            }
            _ => {}
        }
        Value::Object(m)
    }

    pub fn validation(message: impl Into<String>) -> ApiError {
        ApiError::ValidationException {
            message: message.into(),
            reason: None,
        }
    }

    pub fn not_found(message: impl Into<String>, resource: impl Into<String>) -> ApiError {
        ApiError::ResourceNotFound {
            message: message.into(),
            resource_name: Some(resource.into()),
        }
    }

    /// This error about a member of `parent`, named as AWS names it
    /// (`'parent.member'`).
    fn nested(self, parent: &str) -> ApiError {
        let fix = |m: String| {
            m.replacen(" at '", &format!(" at '{parent}."), 1).replacen(
                "for '",
                &format!("for '{parent}."),
                1,
            )
        };
        match self {
            ApiError::ValidationException { message, reason } => ApiError::ValidationException {
                message: fix(message),
                reason,
            },
            ApiError::SerializationException(m) => ApiError::SerializationException(fix(m)),
            other => other,
        }
    }

    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        ApiError::InternalFailure(format!("internal error: {e}"))
    }
}

/// A `Timestamp` member: epoch seconds with a fractional part, as AWS JSON 1.0
/// encodes timestamps.
pub fn timestamp(ms: i64) -> Value {
    serde_json::Number::from_f64(ms as f64 / 1000.0)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// Length limits of a string member, in characters, as the model gives them.
#[derive(Debug, Clone, Copy)]
pub struct Len {
    pub min: usize,
    pub max: usize,
}

impl Len {
    pub const fn new(min: usize, max: usize) -> Len {
        Len { min, max }
    }
}

/// The model's `Arn` shape.
pub const ARN: Len = Len::new(1, 256);
/// The model's `LongArn` shape.
pub const LONG_ARN: Len = Len::new(1, 2000);
/// `Name` and `StateName`.
pub const NAME: Len = Len::new(1, 80);
/// `Definition`.
pub const DEFINITION: Len = Len::new(1, 1_048_576);
/// `SensitiveData` (execution input and output); the limit is in bytes but
/// AWS counts characters in the validation message, as we do.
pub const DATA: Len = Len::new(0, 262_144);
/// `SensitiveError`.
pub const ERROR: Len = Len::new(0, 256);
/// `SensitiveCause`.
pub const CAUSE: Len = Len::new(0, 32_768);
/// `VersionDescription` and `AliasDescription`.
pub const DESCRIPTION: Len = Len::new(0, 256);
/// `PageToken`.
pub const PAGE_TOKEN: Len = Len::new(1, 1024);
/// `ListExecutionsPageToken`.
pub const EXECUTIONS_PAGE_TOKEN: Len = Len::new(1, 3096);
/// `TraceHeader`.
pub const TRACE_HEADER: Len = Len::new(0, 256);
/// `TagKey`.
pub const TAG_KEY: Len = Len::new(1, 128);
/// `TagValue`.
pub const TAG_VALUE: Len = Len::new(0, 256);
/// `ClientToken`.
pub const CLIENT_TOKEN: Len = Len::new(1, 64);
/// Strings the model leaves unbounded (`RevisionId`).
pub const ANY: Len = Len::new(0, usize::MAX);

/// The decoded body of one request, read member by member. Each accessor
/// checks the member's JSON type (a mismatch is a `SerializationException`,
/// as AWS answers) and its constraints (a `ValidationException` naming it).
#[derive(Debug)]
pub struct Request {
    members: Map<String, Value>,
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => {
            // AWS quotes the offending value, shortening long ones.
            let short: String = s.chars().take(64).collect();
            if short.len() < s.len() {
                format!("'{short}...'")
            } else {
                format!("'{short}'")
            }
        }
        other => other.to_string(),
    }
}

fn constraint(value: &Value, field: &str, what: &str) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value {} at '{field}' failed to satisfy constraint: {what}",
        describe(value)
    ))
}

fn wrong_type(field: &str, expected: &str) -> ApiError {
    ApiError::SerializationException(format!(
        "Unexpected value type for '{field}': expected {expected}"
    ))
}

impl Request {
    /// Parses a request body. An empty body is an empty structure (some SDKs
    /// send nothing for operations without required members).
    pub fn parse(body: &[u8]) -> Result<Request, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Request {
                members: Map::new(),
            });
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(members)) => Ok(Request { members }),
            Ok(Value::Null) => Ok(Request {
                members: Map::new(),
            }),
            Ok(_) => Err(ApiError::SerializationException(
                "Start of structure or map expected: the request body must be a JSON object".into(),
            )),
            Err(e) => Err(ApiError::SerializationException(format!(
                "The request body is not valid JSON: {e}"
            ))),
        }
    }

    #[cfg(test)]
    pub fn from_value(v: Value) -> Request {
        match v {
            Value::Object(members) => Request { members },
            _ => Request {
                members: Map::new(),
            },
        }
    }

    /// A member, treating JSON `null` as absent (as the SDKs' serializers do).
    fn get(&self, field: &str) -> Option<&Value> {
        self.members.get(field).filter(|v| !v.is_null())
    }

    /// An optional string member within `len`.
    pub fn opt_str(&self, field: &str, len: Len) -> Result<Option<&str>, ApiError> {
        let Some(v) = self.get(field) else {
            return Ok(None);
        };
        let s = v.as_str().ok_or_else(|| wrong_type(field, "a string"))?;
        check_len(v, s, field, len)?;
        Ok(Some(s))
    }

    /// A required string member within `len`.
    pub fn str(&self, field: &str, len: Len) -> Result<&str, ApiError> {
        self.opt_str(field, len)?.ok_or_else(|| missing(field))
    }

    pub fn opt_bool(&self, field: &str) -> Result<Option<bool>, ApiError> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => v
                .as_bool()
                .map(Some)
                .ok_or_else(|| wrong_type(field, "a boolean")),
        }
    }

    /// An optional integer member in `min..=max`.
    pub fn opt_int(&self, field: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        let Some(v) = self.get(field) else {
            return Ok(None);
        };
        let n = v.as_i64().ok_or_else(|| wrong_type(field, "an integer"))?;
        if n < min {
            return Err(constraint(
                v,
                field,
                &format!("Member must have value greater than or equal to {min}"),
            ));
        }
        if n > max {
            return Err(constraint(
                v,
                field,
                &format!("Member must have value less than or equal to {max}"),
            ));
        }
        Ok(Some(n))
    }

    /// An optional number member (a `float` or `double` of the model).
    pub fn opt_float(&self, field: &str) -> Result<Option<f64>, ApiError> {
        let Some(v) = self.get(field) else {
            return Ok(None);
        };
        v.as_f64()
            .map(Some)
            .ok_or_else(|| wrong_type(field, "a number"))
    }

    /// An optional enum member: one of `allowed`.
    pub fn opt_enum(
        &self,
        field: &str,
        allowed: &[&'static str],
    ) -> Result<Option<&'static str>, ApiError> {
        let Some(v) = self.get(field) else {
            return Ok(None);
        };
        let s = v.as_str().ok_or_else(|| wrong_type(field, "a string"))?;
        allowed
            .iter()
            .find(|a| **a == s)
            .copied()
            .map(Some)
            .ok_or_else(|| {
                constraint(
                    v,
                    field,
                    &format!(
                        "Member must satisfy enum value set: [{}]",
                        allowed.join(", ")
                    ),
                )
            })
    }

    /// An optional structure member, as its raw JSON object.
    pub fn opt_object(&self, field: &str) -> Result<Option<&Map<String, Value>>, ApiError> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => v
                .as_object()
                .map(Some)
                .ok_or_else(|| wrong_type(field, "a structure")),
        }
    }

    /// `encryptionConfiguration` (CreateStateMachine, UpdateStateMachine,
    /// CreateActivity): a structure with a required `type` from the model's
    /// enum, an optional `kmsKeyId` (1..2048 characters) and an optional
    /// `kmsDataKeyReusePeriodSeconds` (60..900), checked as AWS does.
    pub fn opt_encryption(&self) -> Result<Option<&Map<String, Value>>, ApiError> {
        const FIELD: &str = "encryptionConfiguration";
        let Some(obj) = self.opt_object(FIELD)? else {
            return Ok(None);
        };
        let member = Request {
            members: obj.clone(),
        };
        let kind = member
            .opt_enum("type", &["AWS_OWNED_KEY", "CUSTOMER_MANAGED_KMS_KEY"])
            .map_err(|e| e.nested(FIELD))?;
        if kind.is_none() {
            return Err(missing(&format!("{FIELD}.type")));
        }
        member
            .opt_str("kmsKeyId", Len { min: 1, max: 2048 })
            .map_err(|e| e.nested(FIELD))?;
        member
            .opt_int("kmsDataKeyReusePeriodSeconds", 60, 900)
            .map_err(|e| e.nested(FIELD))?;
        Ok(Some(obj))
    }

    /// An optional list member, as its raw JSON items.
    pub fn opt_list(&self, field: &str) -> Result<Option<&Vec<Value>>, ApiError> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => v
                .as_array()
                .map(Some)
                .ok_or_else(|| wrong_type(field, "a list")),
        }
    }

    /// A required list member.
    pub fn list(&self, field: &str) -> Result<&Vec<Value>, ApiError> {
        self.opt_list(field)?.ok_or_else(|| missing(field))
    }

    /// `maxResults` of the list operations: `PageSize` (0..=1000, 0 means the
    /// default of 100).
    pub fn page_size(&self) -> Result<usize, ApiError> {
        let n = self.opt_int("maxResults", 0, 1000)?.unwrap_or(0);
        Ok(if n == 0 { 100 } else { n as usize })
    }
}

/// A string nested inside a structure or list item (`tags[0].key`): checks
/// type and length; `path` names it in the message.
pub fn nested_str<'a>(
    obj: &'a Map<String, Value>,
    field: &str,
    path: &str,
    len: Len,
) -> Result<Option<&'a str>, ApiError> {
    match obj.get(field).filter(|v| !v.is_null()) {
        None => Ok(None),
        Some(v) => {
            let s = v.as_str().ok_or_else(|| wrong_type(path, "a string"))?;
            check_len(v, s, path, len)?;
            Ok(Some(s))
        }
    }
}

fn check_len(v: &Value, s: &str, field: &str, len: Len) -> Result<(), ApiError> {
    let n = s.chars().count();
    if n < len.min {
        return Err(constraint(
            v,
            field,
            &format!(
                "Member must have length greater than or equal to {}",
                len.min
            ),
        ));
    }
    if n > len.max {
        return Err(constraint(
            v,
            field,
            &format!("Member must have length less than or equal to {}", len.max),
        ));
    }
    Ok(())
}

/// A missing required member, in AWS's words.
pub fn missing(field: &str) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_bodies_carry_type_message_and_extra_members() {
        let cases = [
            (
                ApiError::InvalidArn("Invalid Arn: 'x'".into()),
                json!({"__type": "InvalidArn", "message": "Invalid Arn: 'x'"}),
                400,
            ),
            (
                ApiError::not_found("Resource not found", "arn:x"),
                json!({"__type": "ResourceNotFound", "message": "Resource not found", "resourceName": "arn:x"}),
                400,
            ),
            (
                ApiError::ServiceQuotaExceededException("too many".into()),
                json!({"__type": "ServiceQuotaExceededException", "message": "too many"}),
                402,
            ),
        ];
        for (err, body, status) in cases {
            assert_eq!(err.body(), body);
            assert_eq!(err.status(), status);
        }
    }

    #[test]
    fn members_are_checked_by_type_and_constraint() {
        let r = Request::from_value(json!({
            "name": "",
            "long": "x".repeat(81),
            "n": 1001,
            "flag": "yes",
            "kind": "BOTH",
            "nothing": null
        }));
        let e = r.str("name", NAME).unwrap_err();
        assert!(e.to_string().contains("at 'name'"), "{e}");
        assert!(e.to_string().contains("greater than or equal to 1"), "{e}");
        let e = r.str("long", NAME).unwrap_err();
        assert!(e.to_string().contains("less than or equal to 80"), "{e}");
        let e = r.opt_int("n", 0, 1000).unwrap_err();
        assert!(
            e.to_string().contains("value less than or equal to 1000"),
            "{e}"
        );
        assert_eq!(
            r.opt_bool("flag").unwrap_err().type_name(),
            "SerializationException"
        );
        let e = r.opt_enum("kind", &["STANDARD", "EXPRESS"]).unwrap_err();
        assert!(e.to_string().contains("[STANDARD, EXPRESS]"), "{e}");
        assert_eq!(r.opt_str("nothing", NAME), Ok(None));
        let e = r.str("absent", NAME).unwrap_err();
        assert!(e.to_string().contains("Value null at 'absent'"), "{e}");
    }

    #[test]
    fn bodies_that_are_not_objects_are_serialization_errors() {
        for body in [&b"{"[..], b"[1]", b"\"x\"", b"nope"] {
            assert_eq!(
                Request::parse(body).unwrap_err().type_name(),
                "SerializationException"
            );
        }
        assert!(Request::parse(b"").is_ok());
        assert!(Request::parse(b"{}").is_ok());
    }

    #[test]
    fn page_size_zero_means_default() {
        assert_eq!(
            Request::from_value(json!({"maxResults": 0})).page_size(),
            Ok(100)
        );
        assert_eq!(Request::from_value(json!({})).page_size(), Ok(100));
        assert_eq!(
            Request::from_value(json!({"maxResults": 7})).page_size(),
            Ok(7)
        );
    }

    #[test]
    fn timestamps_are_fractional_epoch_seconds() {
        assert_eq!(timestamp(1_700_000_000_250), json!(1_700_000_000.25));
    }
}
