//! Who may call the API and the console: the `[auth]` section of the config
//! (access keys with a role each, console users), the check of a request's
//! AWS Signature Version 4 ([`sigv4`]), the roles' operation table, and the
//! console's sessions ([`session`]).
//!
//! With no credentials and no console users configured, nothing is checked
//! (and the server keeps to loopback addresses unless told otherwise, see
//! [`crate::run`]). Otherwise every API request must be signed with a
//! configured key, or come from a signed-in console session, and its role
//! must allow the operation.

pub mod session;
pub mod sigv4;

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
use statecraft_integrations::Secret;

/// The signing name of the Step Functions service.
pub const SERVICE: &str = "states";
/// How long a console session lasts unless `[auth] session_hours` says.
pub const DEFAULT_SESSION_HOURS: f64 = 12.0;

/// What a key or a console user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    Admin,
    /// Start, stop, redrive, pause, resume, restart and fail executions,
    /// answer tasks, read everything.
    Operator,
    /// Describe, list and read histories.
    Reader,
    /// Poll for activity tasks and answer them.
    Worker,
}

/// Operations that only read.
const READ: &[&str] = &[
    "DescribeStateMachine",
    "ListStateMachines",
    "DescribeStateMachineForExecution",
    "ListStateMachineVersions",
    "DescribeStateMachineAlias",
    "ListStateMachineAliases",
    "ValidateStateMachineDefinition",
    "DescribeExecution",
    "ListExecutions",
    "GetExecutionHistory",
    "DescribeMapRun",
    "ListMapRuns",
    "ListTagsForResource",
    "DescribeActivity",
    "ListActivities",
    // EventBridge Scheduler's reads (src/schedules); its writes are admin's.
    "GetSchedule",
    "ListSchedules",
    "GetScheduleGroup",
    "ListScheduleGroups",
];
/// Answers to a task (activity or `.waitForTaskToken`).
const TASK_ANSWERS: &[&str] = &["SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"];
/// What an operator does to executions besides answering tasks; the
/// `Statecraft.*` operations by their name after the prefix.
const OPERATE: &[&str] = &[
    "StartExecution",
    "StartSyncExecution",
    "StopExecution",
    "RedriveExecution",
    "PauseExecution",
    "ResumeExecution",
    "RestartExecution",
    "FailExecution",
];

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Reader => "reader",
            Role::Worker => "worker",
        }
    }

    /// Whether this role may call `operation` (the `X-Amz-Target` name
    /// after its `AWSStepFunctions.` or `Statecraft.` prefix).
    pub fn allows(self, operation: &str) -> bool {
        let any = |list: &[&str]| list.contains(&operation);
        match self {
            Role::Admin => true,
            Role::Operator => any(READ) || any(OPERATE) || any(TASK_ANSWERS),
            Role::Reader => any(READ),
            Role::Worker => operation == "GetActivityTask" || any(TASK_ANSWERS),
        }
    }
}

/// The `[auth]` table of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthFile {
    /// `[[auth.credentials]]`: access keys the API accepts.
    #[serde(default)]
    pub credentials: Vec<CredentialFile>,
    /// `[[auth.console_users]]`: names and password hashes for the console.
    #[serde(default)]
    pub console_users: Vec<ConsoleUserFile>,
    /// How long a console session lasts, in hours.
    pub session_hours: Option<f64>,
}

/// One `[[auth.credentials]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialFile {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub role: Role,
}

/// One `[[auth.console_users]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleUserFile {
    pub name: String,
    /// A PHC string: `$argon2id$…` (argon2) or `$2b$…` (bcrypt).
    pub password_hash: String,
    pub role: Role,
}

/// A configuration mistake in `[auth]`.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("auth.credentials: the access key id {0:?} is configured twice")]
    DuplicateKey(String),
    #[error("auth.credentials: an access key id must be 1 to 128 letters and digits, not {0:?}")]
    BadKeyId(String),
    #[error("auth.credentials: the secret of {0:?} is empty")]
    EmptySecret(String),
    #[error("auth.console_users: the user {0:?} is configured twice")]
    DuplicateUser(String),
    #[error("auth.console_users: the password_hash of {0:?} is neither an argon2 ($argon2id$…) nor a bcrypt ($2b$…) hash: {1}")]
    BadHash(String, String),
    #[error("auth.session_hours must be more than 0 and at most 8760 (a year), not {0}")]
    SessionHours(f64),
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The access key id or the console user's name.
    pub name: String,
    pub role: Role,
}

/// A console user, password hash checked at start-up.
pub(crate) struct ConsoleUser {
    pub(crate) hash: String,
    pub(crate) role: Role,
}

/// The resolved `[auth]` section.
pub struct Auth {
    keys: HashMap<String, (Secret, Role)>,
    pub(crate) users: HashMap<String, ConsoleUser>,
    /// The region requests must be signed for.
    region: String,
    pub(crate) sessions: session::Sessions,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("keys", &self.keys.len())
            .field("users", &self.users.len())
            .field("region", &self.region)
            .finish()
    }
}

impl Auth {
    /// `None` when the file configures no credentials and no console users:
    /// then nothing is checked.
    pub fn from_file(file: AuthFile, region: &str) -> Result<Option<Auth>, ConfigError> {
        if file.credentials.is_empty() && file.console_users.is_empty() {
            return Ok(None);
        }
        let mut keys = HashMap::new();
        for c in file.credentials {
            let id = c.access_key_id.trim().to_owned();
            if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(ConfigError::BadKeyId(c.access_key_id));
            }
            if c.secret_access_key.expose().is_empty() {
                return Err(ConfigError::EmptySecret(id));
            }
            if keys
                .insert(id.clone(), (c.secret_access_key, c.role))
                .is_some()
            {
                return Err(ConfigError::DuplicateKey(id));
            }
        }
        let mut users = HashMap::new();
        for u in file.console_users {
            session::check_hash(&u.password_hash)
                .map_err(|why| ConfigError::BadHash(u.name.clone(), why))?;
            let user = ConsoleUser {
                hash: u.password_hash,
                role: u.role,
            };
            if users.insert(u.name.clone(), user).is_some() {
                return Err(ConfigError::DuplicateUser(u.name));
            }
        }
        let hours = file.session_hours.unwrap_or(DEFAULT_SESSION_HOURS);
        if !(hours > 0.0 && hours <= 8760.0) {
            return Err(ConfigError::SessionHours(hours));
        }
        Ok(Some(Auth {
            keys,
            users,
            region: region.to_owned(),
            sessions: session::Sessions::new(Duration::from_secs_f64(hours * 3600.0)),
        }))
    }

    /// The first half of the check, before the body is read: the request
    /// carries a well-formed signature by a known key. Cheap, so that an
    /// unsigned or unknown caller costs no body read.
    pub fn identify(
        &self,
        req: &sigv4::Request<'_>,
    ) -> Result<(sigv4::Signature, Principal), Failure> {
        let sig = sigv4::parse(req)
            .map_err(|e| Failure::Incomplete(e.0))?
            .ok_or(Failure::Missing)?;
        let Some((_, role)) = self.keys.get(&sig.access_key_id) else {
            return Err(Failure::Unrecognized);
        };
        let principal = Principal {
            name: sig.access_key_id.clone(),
            role: *role,
        };
        Ok((sig, principal))
    }

    /// The second half: the signature holds over `body`, now.
    pub fn verify(
        &self,
        req: &sigv4::Request<'_>,
        body: &[u8],
        sig: &sigv4::Signature,
        now: i64,
    ) -> Result<(), Failure> {
        self.verify_for(SERVICE, req, body, sig, now)
    }

    /// [`Auth::verify`] for requests signed for `service` (EventBridge
    /// Scheduler's SDK clients sign for `scheduler`).
    pub fn verify_for(
        &self,
        service: &str,
        req: &sigv4::Request<'_>,
        body: &[u8],
        sig: &sigv4::Signature,
        now: i64,
    ) -> Result<(), Failure> {
        let Some((secret, _)) = self.keys.get(&sig.access_key_id) else {
            return Err(Failure::Unrecognized);
        };
        let expect = sigv4::Expect {
            region: &self.region,
            service,
            now,
        };
        sigv4::verify(req, body, sig, secret.expose(), &expect).map_err(Failure::Invalid)
    }

    /// The principal of an access key and its secret, for the console's
    /// sign-in; compared in constant time.
    pub(crate) fn key_sign_in(&self, id: &str, secret: &str) -> Option<Principal> {
        use subtle::ConstantTimeEq;
        let (known, role) = self.keys.get(id)?;
        let same: bool = known.expose().as_bytes().ct_eq(secret.as_bytes()).into();
        same.then(|| Principal {
            name: id.to_owned(),
            role: *role,
        })
    }
}

/// Why a request is refused, with AWS's error name, status and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("Missing Authentication Token")]
    Missing,
    #[error("{0}")]
    Incomplete(String),
    #[error("The security token included in the request is invalid.")]
    Unrecognized,
    #[error("{0}")]
    Invalid(sigv4::Invalid),
    #[error("User: {name} is not authorized to perform: states:{operation} because its role '{role}' does not allow it")]
    Denied {
        name: String,
        role: &'static str,
        operation: String,
    },
}

impl Failure {
    /// AWS's `__type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Failure::Missing => "MissingAuthenticationTokenException",
            Failure::Incomplete(_) => "IncompleteSignatureException",
            Failure::Unrecognized => "UnrecognizedClientException",
            Failure::Invalid(_) => "InvalidSignatureException",
            Failure::Denied { .. } => "AccessDeniedException",
        }
    }

    /// AWS's common errors: a missing token, an unknown key and a bad
    /// signature are 403; a malformed signature and a denied action 400.
    pub fn status(&self) -> u16 {
        match self {
            Failure::Missing | Failure::Unrecognized | Failure::Invalid(_) => 403,
            Failure::Incomplete(_) | Failure::Denied { .. } => 400,
        }
    }
}

/// `Ok` when `principal` may call `operation`, else AccessDeniedException.
pub fn authorize(principal: &Principal, operation: &str) -> Result<(), Failure> {
    if principal.role.allows(operation) {
        Ok(())
    } else {
        Err(Failure::Denied {
            name: principal.name.clone(),
            role: principal.role.name(),
            operation: operation.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_table() {
        use Role::*;
        let cases: &[(&str, [bool; 4])] = &[
            // operation: admin, operator, reader, worker
            ("CreateStateMachine", [true, false, false, false]),
            ("DeleteStateMachine", [true, false, false, false]),
            ("TestState", [true, false, false, false]),
            ("TagResource", [true, false, false, false]),
            ("CreateActivity", [true, false, false, false]),
            ("StartExecution", [true, true, false, false]),
            ("StartSyncExecution", [true, true, false, false]),
            ("StopExecution", [true, true, false, false]),
            ("RedriveExecution", [true, true, false, false]),
            ("PauseExecution", [true, true, false, false]),
            ("ResumeExecution", [true, true, false, false]),
            ("RestartExecution", [true, true, false, false]),
            ("SendTaskSuccess", [true, true, false, true]),
            ("SendTaskFailure", [true, true, false, true]),
            ("SendTaskHeartbeat", [true, true, false, true]),
            ("GetActivityTask", [true, false, false, true]),
            ("DescribeExecution", [true, true, true, false]),
            ("ListExecutions", [true, true, true, false]),
            ("GetExecutionHistory", [true, true, true, false]),
            ("ListStateMachines", [true, true, true, false]),
            ("DescribeActivity", [true, true, true, false]),
        ];
        for (op, want) in cases {
            for (role, ok) in [Admin, Operator, Reader, Worker].iter().zip(want) {
                assert_eq!(role.allows(op), *ok, "{} {op}", role.name());
            }
        }
        // Every API operation is in some list, so none is left to admins by
        // oversight except the ones that change definitions or config.
        for op in crate::service::OPERATIONS {
            let listed = READ.contains(op) || OPERATE.contains(op) || TASK_ANSWERS.contains(op);
            let admin_only = op.starts_with("Create")
                || op.starts_with("Update")
                || op.starts_with("Delete")
                || op.starts_with("Publish")
                || matches!(
                    *op,
                    "TestState" | "TagResource" | "UntagResource" | "GetActivityTask"
                );
            assert!(
                listed != admin_only,
                "{op}: listed {listed}, admin-only {admin_only}"
            );
        }
    }

    #[test]
    fn a_denial_names_the_operation_and_role() {
        let p = Principal {
            name: "AKIDREADER".into(),
            role: Role::Reader,
        };
        let e = authorize(&p, "StartExecution").unwrap_err();
        assert_eq!(e.type_name(), "AccessDeniedException");
        let text = e.to_string();
        assert!(
            text.contains("states:StartExecution") && text.contains("reader"),
            "{text}"
        );
        assert!(authorize(&p, "ListExecutions").is_ok());
    }

    #[test]
    fn bad_auth_sections_are_named() {
        let parse = |text: &str| -> Result<Option<Auth>, ConfigError> {
            let file: AuthFile = toml::from_str(text).expect("toml");
            Auth::from_file(file, "us-east-1")
        };
        assert!(parse("").unwrap().is_none());
        let key = |id: &str, secret: &str| {
            format!("[[credentials]]\naccess_key_id = \"{id}\"\nsecret_access_key = \"{secret}\"\nrole = \"admin\"\n")
        };
        assert!(parse(&key("AKID", "s")).unwrap().is_some());
        assert!(matches!(
            parse(&key("AK ID", "s")),
            Err(ConfigError::BadKeyId(_))
        ));
        assert!(matches!(
            parse(&key("AKID", "")),
            Err(ConfigError::EmptySecret(_))
        ));
        let twice = format!("{}{}", key("AKID", "a"), key("AKID", "b"));
        assert!(matches!(parse(&twice), Err(ConfigError::DuplicateKey(_))));
        let hours = format!("session_hours = 0.0\n{}", key("AKID", "a"));
        assert!(matches!(parse(&hours), Err(ConfigError::SessionHours(_))));
        let user =
            "[[console_users]]\nname = \"ada\"\npassword_hash = \"plain\"\nrole = \"reader\"\n";
        assert!(matches!(parse(user), Err(ConfigError::BadHash(..))));
        assert!(toml::from_str::<AuthFile>(
            "[[credentials]]\naccess_key_id = \"A\"\nsecret_access_key = \"s\"\nrole = \"root\"\n"
        )
        .is_err());
    }
}
