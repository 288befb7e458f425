//! Task integrations for the Statecraft runtime: what carries out a Task
//! state whose `Resource` is not an activity.
//!
//! Each integration is one module behind the task interface's
//! [`statecraft_tasks::Integration`] trait (the runtime dispatches through
//! it, and this crate needs nothing else of the runtime for it):
//!
//! | module | resources |
//! |---|---|
//! | [`http`] | `arn:aws:states:::http:invoke` |
//! | [`function`] | `arn:aws:states:::lambda:invoke[.waitForTaskToken]`, `arn:aws:lambda:<region>:<account>:function:<name>` |
//! | [`command`] | `arn:statecraft:command:<name>` (off unless enabled) |
//! | [`nested`] | `arn:aws:states:::states:startExecution[.sync|.sync:2|.waitForTaskToken]` |
//! | [`s3`] | `arn:aws:states:::aws-sdk:s3:{getObject,putObject,listObjectsV2,headObject,copyObject,deleteObject}`, a Map's `ItemReader` (`s3:getObject`, `s3:listObjectsV2`) over `[integrations.buckets]` |
//!
//! For Distributed Map runs, [`items`] streams an ItemReader's items and
//! [`result_writer`] writes a ResultWriter's files, both over the buckets;
//! [`map_run_io`] hands them to the runtime's map-run driver
//! ([`map_run_io()`] builds it for `statecraft_runtime::Options::map_run_io`).
//!
//! The server builds them once with [`build`] from the `[integrations]`
//! section of its config ([`IntegrationsConfig`]) and registers them with
//! the runtime. Nested executions need the runtime itself, through the
//! [`nested::Executions`] trait; [`nested::RuntimeExecutions`] implements it
//! over the [`statecraft_runtime::RuntimeHandle`] of the runtime's options,
//! which the runtime fills as it is constructed.
//!
//! Architecture invariant: no secret from the config (passwords, API keys,
//! client secrets, tokens) is ever put into a task result, a failure cause
//! or a log line: secrets live in [`Secret`], which cannot be printed.

pub mod command;
pub mod config;
pub mod encoding;
pub mod function;
pub mod http;
pub mod items;
pub mod map_run_io;
pub mod mock_config;
pub mod nested;
pub mod result_writer;
pub mod s3;
pub mod secret;

use std::sync::Arc;

use statecraft_tasks::Integration;
use statecraft_types::Failure;

pub use config::IntegrationsConfig;
pub use nested::{Executions, RuntimeExecutions};
pub use secret::Secret;

/// Error names raised by the integrations that are not AWS's own. AWS's
/// (`States.Http.StatusCode.NNN`, `Lambda.*`, `StepFunctions.*`) are
/// written where they are raised.
pub mod errors {
    /// A task's parameters are missing a field or have one of the wrong type.
    pub const INVALID_PARAMETERS: &str = "Statecraft.InvalidParameters";
    /// A connection error or timeout of an HTTP task (AWS's name).
    pub const HTTP_SOCKET: &str = "States.Http.Socket";
    /// `Authentication.ConnectionArn` names no configured connection.
    pub const CONNECTION_NOT_FOUND: &str = "Statecraft.Http.ConnectionNotFound";
    /// The OAuth token of a connection could not be fetched.
    pub const CONNECTION_AUTH_FAILED: &str = "Statecraft.Http.AuthFailed";
    /// The program of a command task exited with a non-zero status (the
    /// default; each command may name its own).
    pub const COMMAND_FAILED: &str = "Command.Failed";
    /// The program ran longer than its configured timeout and was killed.
    pub const COMMAND_TIMEOUT: &str = "Command.Timeout";
    /// The resource names a command that is not configured.
    pub const COMMAND_NOT_FOUND: &str = "Command.NotFound";
    /// An argument is not in the command's `allowed_args`.
    pub const COMMAND_ARGUMENT_NOT_ALLOWED: &str = "Command.ArgumentNotAllowed";
    /// The program could not be started.
    pub const COMMAND_SPAWN_FAILED: &str = "Command.SpawnFailed";
}

/// Why the integrations could not be built from a config.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("integrations.http.allowed_hosts: invalid host pattern {0:?}")]
    HostPattern(String),
    #[error("integrations.http.connections.{name}: {why}")]
    Connection { name: String, why: String },
    #[error("integrations.functions.{name}: invalid url {url:?}: {why}")]
    FunctionUrl {
        name: String,
        url: String,
        why: String,
    },
    #[error("integrations.commands.programs.{name}: {why}")]
    Command { name: String, why: String },
    #[error("integrations.buckets.{name}: {why}")]
    Bucket { name: String, why: String },
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

/// Builds every integration the config enables, in the order the runtime
/// should ask them. `executions` enables nested executions
/// (`states:startExecution`); without it those resources stay unsupported.
pub fn build(
    config: &IntegrationsConfig,
    executions: Option<Arc<dyn Executions>>,
) -> Result<Vec<Arc<dyn Integration>>, Error> {
    // One client for the functions' calls: it pools connections per host. No
    // client-wide timeout: each integration sets its own per request.
    let client = reqwest::Client::builder()
        .user_agent(concat!("statecraft/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Client(e.to_string()))?;
    // HTTP tasks follow redirects themselves, hop by hop, so that every hop
    // passes `allowed_hosts` and credentials stay with their origin: their
    // client follows none.
    let task_client = reqwest::Client::builder()
        .user_agent(concat!("statecraft/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Client(e.to_string()))?;
    let mut out: Vec<Arc<dyn Integration>> = vec![
        Arc::new(http::HttpTask::new(&config.http, task_client)?),
        Arc::new(function::Functions::new(&config.functions, client)?),
    ];
    if config.commands.enabled {
        out.push(Arc::new(command::Commands::new(&config.commands)?));
    }
    if !config.buckets.is_empty() {
        out.push(Arc::new(s3::Buckets::new(&config.buckets)?));
    }
    if let Some(executions) = executions {
        out.push(Arc::new(nested::NestedExecutions::new(executions)));
    }
    Ok(out)
}

/// [`build`], registered in a registry in the same order: what the server
/// passes as `statecraft_runtime::Options::integrations`.
pub fn registry(
    config: &IntegrationsConfig,
    executions: Option<Arc<dyn Executions>>,
) -> Result<statecraft_tasks::Integrations, Error> {
    let mut registry = statecraft_tasks::Integrations::new();
    for integration in build(config, executions)? {
        registry.register(integration);
    }
    Ok(registry)
}

/// The buckets (when any is configured) as the map runs' item readers and
/// result writers: what the server passes as
/// `statecraft_runtime::Options::map_run_io`. Not a task integration, so
/// kept apart from [`registry`] (mocks and flow limits do not wrap it).
pub fn map_run_io(
    config: &IntegrationsConfig,
) -> Result<Option<Arc<dyn statecraft_runtime::map_run::MapRunIo>>, Error> {
    if config.buckets.is_empty() {
        return Ok(None);
    }
    // Distributed Map runs stream their items from the buckets and write
    // their results back to them.
    Ok(Some(Arc::new(s3::Buckets::new(&config.buckets)?)))
}

/// The part of a resource ARN after `arn:<partition>:states:::`, if it is an
/// optimised integration: `http:invoke`, `lambda:invoke.waitForTaskToken`.
pub(crate) fn service_resource(resource: &str) -> Option<&str> {
    let rest = resource.strip_prefix("arn:")?;
    let (_partition, rest) = rest.split_once(':')?;
    rest.strip_prefix("states:::")
}

/// `(region, account)` of an execution ARN
/// (`arn:<p>:states:<region>:<account>:execution:…`), with defaults for
/// anything unreadable.
pub(crate) fn region_account(execution_arn: &str) -> (String, String) {
    let parts: Vec<&str> = execution_arn.splitn(6, ':').collect();
    let region = parts
        .get(3)
        .filter(|s| !s.is_empty())
        .copied()
        .unwrap_or("us-east-1");
    let account = parts
        .get(4)
        .filter(|s| !s.is_empty())
        .copied()
        .unwrap_or("123456789012");
    (region.to_owned(), account.to_owned())
}

/// A failure for parameters a task cannot run with.
pub(crate) fn invalid(what: impl std::fmt::Display) -> Failure {
    Failure::new(errors::INVALID_PARAMETERS, what.to_string())
}

/// Cuts `text` to at most `max` bytes on a character boundary: causes are
/// limited (AWS keeps 32768 characters) and a body can be any size.
pub(crate) fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// The longest cause written (AWS's limit for `cause`).
pub(crate) const MAX_CAUSE: usize = 32768;

/// The most of a response body an integration reads. The engine limits a
/// state's output to AWS's 256 KiB anyway; this only keeps a runaway
/// endpoint from filling memory first.
pub(crate) const MAX_BODY: usize = 16 << 20;

/// AWS's error for a result larger than the payload quota.
pub(crate) const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";

/// Why a response body could not be read.
pub(crate) enum BodyError {
    Io(reqwest::Error),
    TooLarge,
}

/// Reads a response body, up to `max` bytes.
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Io)? {
        if out.len() + chunk.len() > max {
            return Err(BodyError::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The failure of a body over [`MAX_BODY`].
pub(crate) fn too_large(what: &str) -> Failure {
    Failure::new(
        DATA_LIMIT_EXCEEDED,
        format!("The {what} is larger than {MAX_BODY} bytes."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_service_resources() {
        assert_eq!(
            service_resource("arn:aws:states:::http:invoke"),
            Some("http:invoke")
        );
        assert_eq!(
            service_resource("arn:aws-cn:states:::lambda:invoke.waitForTaskToken"),
            Some("lambda:invoke.waitForTaskToken")
        );
        assert_eq!(
            service_resource("arn:aws:states:us-east-1:1:activity:a"),
            None
        );
        assert_eq!(service_resource("http:invoke"), None);
    }

    #[test]
    fn reads_region_and_account() {
        let (r, a) = region_account("arn:aws:states:eu-west-1:111:execution:m:e");
        assert_eq!((r.as_str(), a.as_str()), ("eu-west-1", "111"));
        let (r, a) = region_account("garbage");
        assert_eq!((r.as_str(), a.as_str()), ("us-east-1", "123456789012"));
    }

    #[test]
    fn clips_on_char_boundaries() {
        assert_eq!(clip("héllo", 2), "h");
        assert_eq!(clip("abc", 10), "abc");
    }

    #[test]
    fn builds_from_an_empty_config() {
        let built = build(&IntegrationsConfig::default(), None).unwrap_or_default();
        assert_eq!(built.len(), 2);
        let reg = registry(&IntegrationsConfig::default(), None);
        assert!(reg.is_ok_and(|r| r.find("arn:aws:states:::http:invoke").is_some()));
    }

    #[test]
    fn build_names_the_bad_setting() {
        let mut config = IntegrationsConfig::default();
        config.functions.insert(
            "f".into(),
            config::FunctionConfig {
                url: "not a url".into(),
                timeout_seconds: 1,
            },
        );
        let e = build(&config, None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.starts_with("integrations.functions.f: invalid url"),
            "{e}"
        );
    }
}
