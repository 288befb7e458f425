//! The `[integrations]` section of the server's TOML config: which hosts HTTP
//! tasks may call, the connections (credentials) they may use, where
//! functions live and which local programs command tasks may run.
//!
//! Every struct refuses unknown keys: a misspelt setting that is silently
//! ignored (say `alowed_hosts`, which would open every host) costs more than
//! a refusal to start.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::secret::Secret;

/// The whole `[integrations]` section. Every part is optional; an empty
/// section enables HTTP tasks to any host, no connections, no functions and
/// no commands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationsConfig {
    #[serde(default)]
    pub http: HttpConfig,
    /// Functions by name: `[integrations.functions.<name>]`.
    #[serde(default)]
    pub functions: BTreeMap<String, FunctionConfig>,
    #[serde(default)]
    pub commands: CommandsConfig,
    /// Buckets by name: `[integrations.buckets.<name>]`, for the
    /// `aws-sdk:s3:*` task resources and a Map's `ItemReader`.
    #[serde(default)]
    pub buckets: BTreeMap<String, BucketConfig>,
}

/// `[integrations.buckets.<name>]`: where a bucket's objects live. A task
/// names the bucket by `<name>` (`"Bucket": "media"`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketConfig {
    /// `file:///srv/media` (a local folder, which must exist) or
    /// `s3://bucket-name` (a bucket of an S3-compatible store).
    pub url: String,
    /// The S3 endpoint (`http://127.0.0.1:9000`); absent means AWS S3.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The region to sign for (default `us-east-1`).
    #[serde(default)]
    pub region: Option<String>,
    /// Credentials for an `s3://` bucket (a value or `{ env = "…" }`);
    /// absent means unsigned requests (a public or local store): neither
    /// the environment nor a cloud metadata service is consulted.
    #[serde(default)]
    pub access_key_id: Option<Secret>,
    #[serde(default)]
    pub secret_access_key: Option<Secret>,
}

/// `[integrations.http]`: HTTP tasks (`arn:aws:states:::http:invoke`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Hosts HTTP tasks may call: exact names (`api.example.com`) or a
    /// leading wildcard (`*.example.com`, which matches subdomains only).
    /// Absent means any host: calling internal services is the point.
    #[serde(default)]
    pub allowed_hosts: Option<Vec<String>>,
    /// How long one request may take before it fails with
    /// `States.Http.Socket`. AWS's hard limit is 60 s.
    #[serde(default = "default_http_timeout")]
    pub timeout_seconds: u64,
    /// Connections by name: `[integrations.http.connections.<name>]`. A
    /// task's `Authentication.ConnectionArn` names one by the part after
    /// `connection/` (`arn:aws:events:…:connection/<name>/<id>`), or by its
    /// full configured `arn`.
    #[serde(default)]
    pub connections: BTreeMap<String, ConnectionConfig>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            allowed_hosts: None,
            timeout_seconds: default_http_timeout(),
            connections: BTreeMap::new(),
        }
    }
}

fn default_http_timeout() -> u64 {
    60
}

/// One connection: how to authenticate, plus parameters added to every
/// request made with it. All of it is treated as secret: none of it is
/// written to results, causes or logs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionConfig {
    /// The ARN tasks use, if it should match exactly rather than by name.
    #[serde(default)]
    pub arn: Option<String>,
    pub auth: AuthConfig,
    /// Headers added to every request (they win over the task's).
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// Query parameters added to every request (they win over the task's).
    #[serde(default)]
    pub query_parameters: BTreeMap<String, Secret>,
    /// Members added to a JSON object or form-encoded request body.
    #[serde(default)]
    pub body_parameters: BTreeMap<String, Secret>,
}

/// The authorization schemes of EventBridge connections.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthConfig {
    /// `Authorization: Basic …`.
    Basic { username: String, password: Secret },
    /// A header carrying a key, e.g. `x-api-key`.
    ApiKey { header: String, value: Secret },
    /// OAuth 2.0 client credentials: a token is fetched from `token_url`,
    /// cached until shortly before it expires, and sent as
    /// `Authorization: Bearer …`.
    OauthClientCredentials {
        token_url: String,
        client_id: String,
        client_secret: Secret,
        #[serde(default)]
        scope: Option<String>,
        /// Extra form parameters of the token request (e.g. `audience`).
        #[serde(default)]
        parameters: BTreeMap<String, Secret>,
    },
    /// No credentials: only the connection's parameters are added.
    None,
}

/// `[integrations.functions.<name>]`: where a function runs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionConfig {
    /// The URL that receives the Lambda-style payload as a POST.
    pub url: String,
    /// How long one invocation may take (default 900 s, Lambda's limit);
    /// past it the task fails with `Lambda.SdkClientException`.
    #[serde(default = "default_function_timeout")]
    pub timeout_seconds: u64,
}

fn default_function_timeout() -> u64 {
    900
}

/// `[integrations.commands]`: local programs. Off unless `enabled = true`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandsConfig {
    #[serde(default)]
    pub enabled: bool,
    /// Commands by name: `[integrations.commands.programs.<name>]`, run by
    /// the resource `arn:statecraft:command:<name>`.
    #[serde(default)]
    pub programs: BTreeMap<String, CommandConfig>,
}

/// One program a command task may run.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandConfig {
    /// The program: an absolute path is safest (no `PATH` lookup).
    pub program: PathBuf,
    /// Arguments put before the task's own (fixed flags).
    #[serde(default)]
    pub args: Vec<String>,
    /// If set, each argument from a task must be one of these or start with
    /// one of the `prefix*` entries. Absent means any argument.
    #[serde(default)]
    pub allowed_args: Option<Vec<String>>,
    /// Kill the program after this long (default 3600 s): the task fails
    /// with `Command.Timeout`.
    #[serde(default = "default_command_timeout")]
    pub timeout_seconds: u64,
    /// The environment: only these variables (plus `PATH` if
    /// `inherit_path`) are set; the server's own environment is not passed.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default = "yes")]
    pub inherit_path: bool,
    #[serde(default)]
    pub working_dir: Option<PathBuf>,
    /// The error name of a non-zero exit (default `Command.Failed`).
    #[serde(default)]
    pub error: Option<String>,
    /// Output above this many bytes per stream is cut (default 1 MiB), so a
    /// chatty program cannot exhaust memory or the payload limit.
    #[serde(default = "default_max_output")]
    pub max_output_bytes: usize,
}

fn default_command_timeout() -> u64 {
    3600
}

fn default_max_output() -> usize {
    1 << 20
}

fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Doc {
        integrations: IntegrationsConfig,
    }

    fn parse(text: &str) -> Result<IntegrationsConfig, String> {
        toml::from_str::<Doc>(text)
            .map(|d| d.integrations)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn reads_a_full_section() {
        let c = parse(
            r#"
            [integrations.http]
            allowed_hosts = ["*.example.com"]
            timeout_seconds = 5
            [integrations.http.connections.stripe]
            auth = { type = "api_key", header = "x-api-key", value = "k" }
            [integrations.http.connections.idp.auth]
            type = "oauth_client_credentials"
            token_url = "http://t"
            client_id = "c"
            client_secret = { env = "PATH" }
            [integrations.functions.resize]
            url = "http://127.0.0.1:9000/resize"
            [integrations.commands]
            enabled = true
            [integrations.commands.programs.echo]
            program = "/bin/echo"
            env = { A = "b" }
            "#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.http.timeout_seconds, 5);
        assert_eq!(c.http.connections.len(), 2);
        assert_eq!(c.functions["resize"].timeout_seconds, 900);
        assert!(c.commands.enabled);
        assert_eq!(c.commands.programs["echo"].timeout_seconds, 3600);
    }

    #[test]
    fn refuses_unknown_keys() {
        for doc in [
            "[integrations.htp]",
            "[integrations.http]\nalowed_hosts = []",
            "[integrations.functions.f]\nurl = \"u\"\ntimeout = 1",
            "[integrations.commands.programs.x]\nprogram = \"/bin/x\"\nshell = true",
            "[integrations.http.connections.c]\nauth = { type = \"basic\", username = \"u\", password = \"p\", realm = \"r\" }",
            "[integrations.http.connections.c]\nauth = { type = \"basic\", username = \"u\", password = { env = \"STATECRAFT_SURELY_UNSET_VAR\" } }",
        ] {
            assert!(parse(doc).is_err(), "accepted {doc}");
        }
    }
}
