//! Server settings: the `statecraft server` flags ([`ServerArgs`]), the TOML
//! config file with the same settings, and the resolved [`Config`] (flags win
//! over the file, the file over the defaults).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The default listen address: the port of AWS's own local emulator, so
/// existing local setups keep working.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8083";
pub const DEFAULT_DATA_DIR: &str = "./statecraft-data";
pub const DEFAULT_REGION: &str = "us-east-1";
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// `statecraft server`: serve the AWS Step Functions API with durable
/// executions.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServerArgs {
    /// Address to listen on [default: 127.0.0.1:8083]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Directory for the database [default: ./statecraft-data]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// TOML file with `listen`, `data_dir`, `region`, `account_id` and an
    /// `[integrations]` section; flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Region used in ARNs [default: us-east-1]
    #[arg(long)]
    pub region: Option<String>,
    /// Account id used in ARNs [default: 123456789012]
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,
    /// Log line format: text or json [default: text]
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<statecraft_telemetry::logging::Format>,
    /// Log filter, e.g. `info` or `info,statecraft=debug` [default: $RUST_LOG, else info]
    #[arg(long, value_name = "FILTER")]
    pub log_level: Option<String>,
    /// A `Host` name to answer besides the listening address and
    /// `localhost` (repeatable; `*.domain` for its subdomains); added to
    /// the file's `allowed_hosts`
    #[arg(long = "allowed-host", value_name = "NAME")]
    pub allowed_hosts: Vec<String>,
    /// Where executions are kept: `sqlite` (the embedded database under
    /// the data directory) or `postgres://user[:password]@host:port/db`, a
    /// PostgreSQL database several nodes can share [default: sqlite]
    #[arg(long, value_name = "STORE")]
    pub store: Option<String>,
    /// What this node does, comma-separated: `api` (the API and the
    /// console), `worker` (runs executions and their timers; a worker-only
    /// node serves only /healthz and /metrics) [default: api,worker]
    #[arg(long, value_name = "ROLES")]
    pub roles: Option<String>,
    /// How long this node's lease on an execution lasts, in seconds
    /// (renewed every third of it): a node that dies or stalls loses its
    /// executions to the others within this time [default: 10]
    #[arg(long, value_name = "SECONDS")]
    pub lease_seconds: Option<u64>,
    /// Listen on a non-loopback address with no `[[auth.credentials]]`
    /// configured, so that anyone who reaches the port can call every
    /// operation (docs/security.md)
    #[arg(long)]
    pub allow_unauthenticated: bool,
    /// A Step Functions Local mock configuration (`MockConfigFile.json`):
    /// executions started with `stateMachineArn#TestCase` have their Task
    /// states answered from that test case (docs/testing.md)
    #[arg(long, value_name = "FILE", env = "SFN_MOCK_CONFIG")]
    pub mock_config: Option<PathBuf>,
}

/// The config file. Unknown keys are an error: a misspelt setting that is
/// silently ignored costs more than a refusal to start.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    region: Option<String>,
    account_id: Option<String>,
    /// `Host` names answered besides the listening address and `localhost`:
    /// read by [`allowed_hosts`] (see crate::guard).
    #[serde(default)]
    allowed_hosts: Vec<String>,
    /// `sqlite` or a `postgres://` URL: read by [`store`].
    store: Option<String>,
    /// `roles = ["api", "worker"]`: read by [`roles`].
    roles: Option<Vec<String>>,
    /// `lease_seconds = 10`: read by [`lease`].
    lease_seconds: Option<u64>,
    /// HTTP tasks, functions, commands (see docs/integrations.md).
    #[serde(default)]
    integrations: statecraft_integrations::IntegrationsConfig,
    /// Logging and retention: read by [`crate::observability`].
    log_format: Option<statecraft_telemetry::logging::Format>,
    log_level: Option<String>,
    #[serde(default)]
    retention: crate::observability::RetentionFile,
    #[serde(default)]
    telemetry: crate::observability::TelemetryFile,
    /// History quota, step budget, start quotas: read by [`limits`].
    #[serde(default)]
    limits: LimitsFile,
    /// Access keys, console users, sessions: read by [`auth`].
    #[serde(default)]
    auth: crate::auth::AuthFile,
    /// Certificate and key: read by [`tls`].
    tls: Option<TlsFile>,
    /// Per state machine name: read by [`pause_on_failure`].
    #[serde(default)]
    machines: std::collections::BTreeMap<String, MachineFile>,
    /// Webhooks: read by [`triggers`].
    #[serde(default)]
    triggers: crate::triggers::TriggersFile,
}

/// A `[machines.<name>]` table: settings of one state machine, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineFile {
    /// `"pause"`: an error no Retry or Catch handles pauses the execution
    /// at the failed state instead of failing it (docs/operators.md);
    /// `"fail"` (the default): it fails, as on AWS.
    pub on_failure: Option<String>,
    /// The order of this machine's tasks in `[limits.integrations]` queues:
    /// higher first (default 0; see crate::flow).
    pub priority: Option<i64>,
}

/// The names of the state machines whose executions pause on failure
/// (`[machines.<name>] on_failure = "pause"`). Read apart from [`Config`],
/// as [`limits`] is.
pub fn pause_on_failure(args: &ServerArgs) -> Result<Vec<String>, Error> {
    let machines = match &args.config {
        Some(path) => read_file(path)?.machines,
        None => return Ok(Vec::new()),
    };
    let mut names = Vec::new();
    for (name, m) in machines {
        match m.on_failure.as_deref() {
            None | Some("fail") => {}
            Some("pause") => names.push(name),
            Some(other) => {
                return Err(Error::Invalid {
                    setting: "machines.<name>.on_failure",
                    value: format!("{other} (machine {name})"),
                    why: "use \"pause\" or \"fail\"",
                })
            }
        }
    }
    Ok(names)
}

/// The `[tls]` table: PEM files.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFile {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The `[auth]` section, resolved for `region` (the region requests must
/// be signed for): `None` when it configures no credentials and no console
/// users. Read apart from [`Config`], as [`limits`] is.
pub fn auth(args: &ServerArgs, region: &str) -> Result<Option<crate::auth::Auth>, Error> {
    let file = match &args.config {
        Some(path) => read_file(path)?.auth,
        None => crate::auth::AuthFile::default(),
    };
    crate::auth::Auth::from_file(file, region).map_err(|e| Error::Auth(e.to_string()))
}

/// The `[limits.integrations]` tables: concurrency and rate limits of
/// tasks (see [`crate::flow`]).
pub fn flow_limits(args: &ServerArgs) -> Result<Vec<std::sync::Arc<crate::flow::Limit>>, Error> {
    let tables = match &args.config {
        Some(path) => read_file(path)?.limits.integrations,
        None => return Ok(Vec::new()),
    };
    crate::flow::limits_of(tables).map_err(Error::Flow)
}

/// The state machines' queue priorities (`[machines.<name>] priority`),
/// by state machine name; those not named have 0.
pub fn priorities(args: &ServerArgs) -> Result<std::collections::HashMap<String, i64>, Error> {
    let machines = match &args.config {
        Some(path) => read_file(path)?.machines,
        None => return Ok(Default::default()),
    };
    Ok(machines
        .into_iter()
        .filter_map(|(name, m)| m.priority.map(|p| (name, p)))
        .collect())
}

/// The `[triggers.objects]` tables, checked against `integrations`'
/// buckets (see [`crate::objects`]).
pub fn object_triggers(
    args: &ServerArgs,
    integrations: &statecraft_integrations::IntegrationsConfig,
) -> Result<crate::objects::ObjectTriggers, Error> {
    let tables = match &args.config {
        Some(path) => read_file(path)?.triggers.objects,
        None => return Ok(crate::objects::ObjectTriggers::default()),
    };
    let triggers = crate::objects::triggers_of(tables, integrations).map_err(Error::Triggers)?;
    crate::objects::ObjectTriggers::new(triggers, integrations).map_err(Error::Triggers)
}

/// The `[triggers]` section: the webhooks (see [`crate::triggers`]).
pub fn triggers(args: &ServerArgs) -> Result<crate::triggers::Webhooks, Error> {
    let file = match &args.config {
        Some(path) => read_file(path)?.triggers,
        None => return Ok(crate::triggers::Webhooks::default()),
    };
    crate::triggers::Webhooks::from_file(file).map_err(Error::Triggers)
}

/// The `[tls]` section, if any.
pub fn tls(args: &ServerArgs) -> Result<Option<TlsFile>, Error> {
    match &args.config {
        Some(path) => Ok(read_file(path)?.tls),
        None => Ok(None),
    }
}

/// The `[limits]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    history_events: Option<u64>,
    steps_per_turn: Option<u32>,
    open_executions: Option<u64>,
    start_rate_per_second: Option<f64>,
    start_burst: Option<u32>,
    /// Bytes of one payload (inputs, outputs, task results); docs/limits.md.
    payload_bytes: Option<u64>,
    /// Bytes of one variable and of one `Assign`.
    variables_bytes: Option<u64>,
    /// Items of an inline Map (none by default, as on AWS).
    map_inline_items: Option<u64>,
    /// Days a finished execution keeps its name.
    execution_name_reuse_days: Option<u32>,
    /// `[limits.integrations."<resource or prefix>"]`: read by [`flow_limits`].
    #[serde(default)]
    integrations: std::collections::BTreeMap<String, crate::flow::LimitFile>,
}

/// The runtime's limits: the file's `[limits]` table over the defaults
/// (AWS's 25,000-event history quota, 1,000 transitions per turn, no start
/// quotas). Read apart from [`Config`] so that the struct tests and
/// embedders build stays as it is.
pub fn limits(args: &ServerArgs) -> Result<statecraft_runtime::Limits, Error> {
    let file = match &args.config {
        Some(path) => read_file(path)?.limits,
        None => LimitsFile::default(),
    };
    limits_of(file)
}

fn limits_of(file: LimitsFile) -> Result<statecraft_runtime::Limits, Error> {
    let defaults = statecraft_runtime::Limits::default();
    let history_events = file.history_events.unwrap_or(defaults.history_events);
    if history_events < 2 {
        return Err(Error::Invalid {
            setting: "limits.history_events",
            value: history_events.to_string(),
            why: "an execution needs at least 2 events (started and ended)",
        });
    }
    let steps_per_turn = file.steps_per_turn.unwrap_or(defaults.steps_per_turn);
    if steps_per_turn == 0 {
        return Err(Error::Invalid {
            setting: "limits.steps_per_turn",
            value: "0".into(),
            why: "use 1 or more",
        });
    }
    if file.open_executions == Some(0) {
        return Err(Error::Invalid {
            setting: "limits.open_executions",
            value: "0".into(),
            why: "use 1 or more, or leave it out for no limit",
        });
    }
    let start_rate = match (file.start_rate_per_second, file.start_burst) {
        (None, None) => None,
        (None, Some(burst)) => {
            return Err(Error::Invalid {
                setting: "limits.start_burst",
                value: burst.to_string(),
                why: "set limits.start_rate_per_second too",
            })
        }
        (Some(rate), burst) => {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(Error::Invalid {
                    setting: "limits.start_rate_per_second",
                    value: rate.to_string(),
                    why: "use a number above 0",
                });
            }
            // By default a second's worth of starts may come at once.
            let burst = burst.unwrap_or_else(|| rate.ceil().clamp(1.0, f64::from(u32::MAX)) as u32);
            if burst == 0 {
                return Err(Error::Invalid {
                    setting: "limits.start_burst",
                    value: "0".into(),
                    why: "use 1 or more",
                });
            }
            Some(statecraft_runtime::StartRate {
                per_second: rate,
                burst,
            })
        }
    };
    let payload_bytes = bytes_setting(
        "limits.payload_bytes",
        file.payload_bytes,
        defaults.payload_bytes,
    )?;
    let variables_bytes = bytes_setting(
        "limits.variables_bytes",
        file.variables_bytes,
        defaults.variables_bytes,
    )?;
    if file.map_inline_items == Some(0) {
        return Err(Error::Invalid {
            setting: "limits.map_inline_items",
            value: "0".into(),
            why: "use 1 or more, or leave it out for no limit (AWS's)",
        });
    }
    Ok(statecraft_runtime::Limits {
        history_events,
        steps_per_turn,
        open_executions: file.open_executions,
        start_rate,
        payload_bytes,
        variables_bytes,
        map_inline_items: file.map_inline_items,
        execution_name_reuse_days: file
            .execution_name_reuse_days
            .unwrap_or(defaults.execution_name_reuse_days),
    })
}

/// The most a byte limit may be raised to: 1 GiB. A payload is held in
/// memory whole (several times over while it is parsed and recorded), so
/// beyond this a single execution could exhaust the server.
pub const MAX_RAISED_BYTES: u64 = 1 << 30;

/// A byte limit of `[limits]`: at least AWS's own quota (a lower one would
/// refuse what AWS accepts, and the API's shapes promise it), at most
/// [`MAX_RAISED_BYTES`].
fn bytes_setting(
    setting: &'static str,
    value: Option<u64>,
    default: usize,
) -> Result<usize, Error> {
    let Some(value) = value else {
        return Ok(default);
    };
    if value < default as u64 {
        return Err(Error::Invalid {
            setting,
            value: value.to_string(),
            why: "use at least AWS's 262144 (256 KiB)",
        });
    }
    if value > MAX_RAISED_BYTES {
        return Err(Error::Invalid {
            setting,
            value: value.to_string(),
            why: "use at most 1073741824 (1 GiB)",
        });
    }
    usize::try_from(value).map_err(|_| Error::Invalid {
        setting,
        value: value.to_string(),
        why: "too large for this machine",
    })
}

/// The settings the server runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub region: String,
    pub account_id: String,
    /// The `[integrations]` section: what Task resources can reach.
    pub integrations: statecraft_integrations::IntegrationsConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The message of the TOML parser names the key and its line.
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid [auth] config: {0}")]
    Auth(String),
    #[error("invalid [triggers] config: {0}")]
    Triggers(String),
    #[error("invalid [limits.integrations] config: {0}")]
    Flow(String),
    #[error("invalid {setting} {value:?}: {why}")]
    Invalid {
        setting: &'static str,
        value: String,
        why: &'static str,
    },
}

impl Config {
    /// Resolves the settings: flags, then the config file, then defaults.
    pub fn resolve(args: &ServerArgs) -> Result<Config, Error> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let default_listen: SocketAddr = DEFAULT_LISTEN
            .parse()
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8083)));
        let cfg = Config {
            listen: args.listen.or(file.listen).unwrap_or(default_listen),
            data_dir: args
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            region: args
                .region
                .clone()
                .or(file.region)
                .unwrap_or_else(|| DEFAULT_REGION.into()),
            account_id: args
                .account_id
                .clone()
                .or(file.account_id)
                .unwrap_or_else(|| DEFAULT_ACCOUNT.into()),
            integrations: file.integrations,
        };
        cfg.check()?;
        Ok(cfg)
    }

    /// Region and account become ARN components: a `:` or blank in them
    /// would make every ARN unparseable.
    fn check(&self) -> Result<(), Error> {
        let ok = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !ok(&self.region) {
            return Err(Error::Invalid {
                setting: "region",
                value: self.region.clone(),
                why: "use letters, digits and '-' only",
            });
        }
        if !ok(&self.account_id) {
            return Err(Error::Invalid {
                setting: "account_id",
                value: self.account_id.clone(),
                why: "use letters, digits and '-' only",
            });
        }
        Ok(())
    }
}

/// The file's logging and retention settings, for [`crate::observability`].
pub(crate) fn read_observability(path: &Path) -> Result<crate::observability::FileSettings, Error> {
    let file = read_file(path)?;
    Ok(crate::observability::FileSettings {
        log_format: file.log_format,
        log_level: file.log_level,
        retention: file.retention,
        telemetry: file.telemetry,
    })
}

/// The `Host` names to answer besides the listening address and
/// `localhost`: the file's `allowed_hosts`, then the `--allowed-host` flags.
/// Read apart from [`Config`] so that the struct tests and embedders build
/// stays as it is.
pub fn allowed_hosts(args: &ServerArgs) -> Result<Vec<String>, Error> {
    let mut names = match &args.config {
        Some(path) => read_file(path)?.allowed_hosts,
        None => Vec::new(),
    };
    names.extend(args.allowed_hosts.iter().cloned());
    Ok(names)
}

/// What a node does (`--roles`, `roles = [...]`): both by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// Serves the API and the console.
    pub api: bool,
    /// Runs executions, their timers and tasks.
    pub worker: bool,
}

impl Default for Roles {
    fn default() -> Self {
        Roles {
            api: true,
            worker: true,
        }
    }
}

/// The longest execution lease a node may ask for: beyond an hour a dead
/// node's executions would wait too long for anyone to notice.
const MAX_LEASE_SECONDS: u64 = 3600;

/// The node's execution lease (`--lease-seconds`, `lease_seconds`): the
/// flag wins over the file; `None` keeps the runtime's default (10 s).
pub fn lease(args: &ServerArgs) -> Result<Option<std::time::Duration>, Error> {
    let seconds = match (args.lease_seconds, &args.config) {
        (Some(s), _) => Some(s),
        (None, Some(path)) => read_file(path)?.lease_seconds,
        (None, None) => None,
    };
    match seconds {
        None => Ok(None),
        Some(s) if (1..=MAX_LEASE_SECONDS).contains(&s) => {
            Ok(Some(std::time::Duration::from_secs(s)))
        }
        Some(s) => Err(Error::Invalid {
            setting: "lease_seconds",
            value: s.to_string(),
            why: "give a whole number of seconds from 1 to 3600",
        }),
    }
}

/// The node's roles: the flag wins over the file's `roles`. An unknown
/// role, or none at all, is refused.
pub fn roles(args: &ServerArgs) -> Result<Roles, Error> {
    let names: Vec<String> = match (&args.roles, &args.config) {
        (Some(flag), _) => flag.split(',').map(|r| r.trim().to_string()).collect(),
        (None, Some(path)) => match read_file(path)?.roles {
            Some(list) => list,
            None => return Ok(Roles::default()),
        },
        (None, None) => return Ok(Roles::default()),
    };
    let mut roles = Roles {
        api: false,
        worker: false,
    };
    for name in &names {
        match name.as_str() {
            "api" => roles.api = true,
            "worker" => roles.worker = true,
            other => {
                return Err(Error::Invalid {
                    setting: "roles",
                    value: other.to_string(),
                    why: "the roles are api and worker (comma-separated, e.g. --roles api,worker)",
                })
            }
        }
    }
    if !roles.api && !roles.worker {
        return Err(Error::Invalid {
            setting: "roles",
            value: names.join(","),
            why: "give at least one role: api, worker",
        });
    }
    Ok(roles)
}

/// The store to open: `None` for the embedded SQLite store (`sqlite`, the
/// default), else a PostgreSQL URL. The flag wins over the file's `store`.
/// Read apart from [`Config`], as [`limits`] is.
pub fn store(args: &ServerArgs) -> Result<Option<String>, Error> {
    let file = match (&args.store, &args.config) {
        (Some(_), _) | (None, None) => None,
        (None, Some(path)) => read_file(path)?.store,
    };
    match args.store.clone().or(file) {
        None => Ok(None),
        Some(s) if s == "sqlite" => Ok(None),
        Some(s) if statecraft_runtime::model::is_postgres_url(&s) => Ok(Some(s)),
        Some(s) => Err(Error::Invalid {
            setting: "store",
            value: statecraft_runtime::model::redact_url(&s),
            why: "use sqlite, or a PostgreSQL URL: postgres://user:password@host:port/database",
        }),
    }
}

fn read_file(path: &Path) -> Result<FileConfig, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_file(&text).map_err(|message| Error::Parse {
        path: path.to_path_buf(),
        message,
    })
}

fn parse_file(text: &str) -> Result<FileConfig, String> {
    toml::from_str(text).map_err(|e| {
        // toml reports the span; turn it into a 1-based line for the message.
        let line = e
            .span()
            .map(|s| text.get(..s.start).unwrap_or("").matches('\n').count() + 1);
        let what = e.message().trim().to_string();
        match line {
            Some(l) => format!("line {l}: {what}"),
            None => what,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_to_aws_quota_and_no_start_quotas() {
        let l = limits(&ServerArgs::default()).unwrap();
        assert_eq!(l, statecraft_runtime::Limits::default());
        assert_eq!(l.history_events, 25_000);
        assert_eq!(l.open_executions, None);
        assert_eq!(l.start_rate, None);
    }

    #[test]
    fn limits_come_from_the_limits_table() {
        let file = parse_file(
            "[limits]\nhistory_events = 100000\nsteps_per_turn = 50\nopen_executions = 10\nstart_rate_per_second = 2.5\n",
        )
        .unwrap();
        let l = limits_of(file.limits).unwrap();
        assert_eq!(l.history_events, 100_000);
        assert_eq!(l.steps_per_turn, 50);
        assert_eq!(l.open_executions, Some(10));
        assert_eq!(
            l.start_rate,
            Some(statecraft_runtime::StartRate {
                per_second: 2.5,
                burst: 3
            })
        );
    }

    #[test]
    fn data_limits_default_to_aws_and_are_raised_by_the_limits_table() {
        let l = limits(&ServerArgs::default()).unwrap();
        assert_eq!(l.payload_bytes, 262_144);
        assert_eq!(l.variables_bytes, 262_144);
        assert_eq!(l.map_inline_items, None);
        assert_eq!(l.execution_name_reuse_days, 90);
        let file = parse_file(
            "[limits]\npayload_bytes = 52428800\nvariables_bytes = 1048576\nmap_inline_items = 100000\nexecution_name_reuse_days = 7\n",
        )
        .unwrap();
        let l = limits_of(file.limits).unwrap();
        assert_eq!(l.payload_bytes, 50 << 20);
        assert_eq!(l.variables_bytes, 1 << 20);
        assert_eq!(l.map_inline_items, Some(100_000));
        assert_eq!(l.execution_name_reuse_days, 7);
    }

    #[test]
    fn bad_limits_are_named() {
        let cases = [
            ("payload_bytes = 1000", "limits.payload_bytes"),
            ("payload_bytes = 2000000000", "limits.payload_bytes"),
            ("variables_bytes = 262143", "limits.variables_bytes"),
            ("map_inline_items = 0", "limits.map_inline_items"),
            ("history_events = 1", "limits.history_events"),
            ("steps_per_turn = 0", "limits.steps_per_turn"),
            ("open_executions = 0", "limits.open_executions"),
            ("start_burst = 5", "limits.start_burst"),
            (
                "start_rate_per_second = 0.0",
                "limits.start_rate_per_second",
            ),
            (
                "start_rate_per_second = 1.0\nstart_burst = 0",
                "limits.start_burst",
            ),
        ];
        for (text, setting) in cases {
            let file = parse_file(&format!("[limits]\n{text}\n")).unwrap();
            let err = limits_of(file.limits).unwrap_err().to_string();
            assert!(err.contains(setting), "{text}: {err}");
        }
        let err = parse_file("[limits]\nhistory_event = 3\n").unwrap_err();
        assert!(err.contains("history_event"), "{err}");
    }

    #[test]
    fn the_lease_comes_from_the_flag_or_the_file_and_is_bounded() {
        use std::time::Duration;
        assert_eq!(lease(&ServerArgs::default()).unwrap(), None);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "lease_seconds = 4\n").unwrap();
        let from_file = ServerArgs {
            config: Some(file.clone()),
            ..ServerArgs::default()
        };
        assert_eq!(lease(&from_file).unwrap(), Some(Duration::from_secs(4)));
        let flag_wins = ServerArgs {
            lease_seconds: Some(20),
            config: Some(file),
            ..ServerArgs::default()
        };
        assert_eq!(lease(&flag_wins).unwrap(), Some(Duration::from_secs(20)));
        for bad in [0, 3601] {
            let args = ServerArgs {
                lease_seconds: Some(bad),
                ..ServerArgs::default()
            };
            let e = lease(&args).unwrap_err().to_string();
            assert!(
                e.contains("lease_seconds") && e.contains(&bad.to_string()),
                "{e}"
            );
        }
    }

    #[test]
    fn roles_come_from_the_flag_or_the_file_and_bad_ones_are_named() {
        let both = Roles::default();
        let api = Roles {
            api: true,
            worker: false,
        };
        let worker = Roles {
            api: false,
            worker: true,
        };
        assert_eq!(roles(&ServerArgs::default()).unwrap(), both);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "roles = [\"worker\"]\n").unwrap();
        let cases: [(Option<&str>, bool, Result<Roles, &str>); 7] = [
            (Some("api"), false, Ok(api)),
            (Some("worker"), false, Ok(worker)),
            (Some("api, worker"), false, Ok(both)),
            (None, true, Ok(worker)),
            (Some("api"), true, Ok(api)),
            (Some("api,cook"), false, Err("cook")),
            (Some(""), false, Err("roles")),
        ];
        for (flag, with_file, want) in cases {
            let args = ServerArgs {
                roles: flag.map(str::to_string),
                config: with_file.then(|| file.clone()),
                ..ServerArgs::default()
            };
            match (roles(&args), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{flag:?}"),
                (Err(e), Err(named)) => {
                    let e = e.to_string();
                    assert!(e.contains(named) && e.contains("roles"), "{flag:?}: {e}")
                }
                (got, want) => panic!("{flag:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn defaults_apply_without_flags_or_file() {
        let cfg = Config::resolve(&ServerArgs::default()).unwrap();
        assert_eq!(cfg.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(cfg.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(cfg.region, "us-east-1");
        assert_eq!(cfg.account_id, "123456789012");
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\nregion = \"eu-west-1\"\naccount_id = \"111122223333\"\ndata_dir = \"/tmp/x\"\n",
        )
        .unwrap();
        let args = ServerArgs {
            config: Some(path),
            region: Some("ap-south-1".into()),
            ..ServerArgs::default()
        };
        let cfg = Config::resolve(&args).unwrap();
        assert_eq!(cfg.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(cfg.region, "ap-south-1");
        assert_eq!(cfg.account_id, "111122223333");
        assert_eq!(cfg.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn the_store_is_sqlite_unless_a_postgres_url_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, "store = \"postgres://u@db.internal:5432/sc\"\n").unwrap();
        let with = |store: Option<&str>, config: Option<PathBuf>| ServerArgs {
            store: store.map(Into::into),
            config,
            ..ServerArgs::default()
        };
        assert_eq!(store(&with(None, None)).unwrap(), None);
        assert_eq!(store(&with(Some("sqlite"), None)).unwrap(), None);
        assert_eq!(
            store(&with(None, Some(path.clone()))).unwrap().as_deref(),
            Some("postgres://u@db.internal:5432/sc")
        );
        // The flag wins over the file.
        assert_eq!(store(&with(Some("sqlite"), Some(path))).unwrap(), None);
        let bad = store(&with(Some("mysql://u:secret@h/db"), None)).unwrap_err();
        let text = bad.to_string();
        assert!(
            text.contains("invalid store") && text.contains("postgres://"),
            "{text}"
        );
        assert!(!text.contains("secret"), "{text}");
    }

    #[test]
    fn allowed_hosts_come_from_the_file_and_the_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(
            &path,
            "allowed_hosts = [\"statecraft.internal\", \"*.corp\"]\n",
        )
        .unwrap();
        let args = ServerArgs {
            config: Some(path),
            allowed_hosts: vec!["extra.example".into()],
            ..ServerArgs::default()
        };
        assert_eq!(
            allowed_hosts(&args).unwrap(),
            ["statecraft.internal", "*.corp", "extra.example"]
        );
        assert!(Config::resolve(&args).is_ok());
        assert!(allowed_hosts(&ServerArgs::default()).unwrap().is_empty());
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        let err = parse_file("region = \"us-east-1\"\n\nlistn = \"127.0.0.1:1\"\n").unwrap_err();
        assert!(err.contains("listn"), "{err}");
        assert!(err.starts_with("line 3"), "{err}");
    }

    /// Every example's `statecraft.toml` is a valid server config.
    #[test]
    fn the_examples_configs_are_accepted() {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        // The mlops example names its registry key by environment variable
        // (secrets are resolved when the config is read).
        if std::env::var_os("MODEL_REGISTRY_KEY").is_none() {
            std::env::set_var("MODEL_REGISTRY_KEY", "test-key");
        }
        let mut seen = 0;
        for entry in std::fs::read_dir(&examples).unwrap() {
            let path = entry.unwrap().path().join("statecraft.toml");
            if !path.exists() {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let file = parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            statecraft_integrations::build(&file.integrations, None)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
        }
        assert!(seen >= 4, "only {seen} example configs found");
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(parse_file("listen = \"not an address\"").is_err());
        let args = ServerArgs {
            region: Some("us:east".into()),
            ..ServerArgs::default()
        };
        assert!(matches!(
            Config::resolve(&args),
            Err(Error::Invalid {
                setting: "region",
                ..
            })
        ));
    }
}
