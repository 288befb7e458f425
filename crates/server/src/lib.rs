//! `statecraft server`: the AWS Step Functions API over HTTP, in front of the
//! durable Statecraft runtime.
//!
//! - [`config`]: the flags ([`ServerArgs`]) and TOML config file.
//! - [`http`]: the AWS JSON 1.0 surface (`POST /`, `X-Amz-Target`) and
//!   `GET /healthz`.
//! - [`guard`]: the `Host` check and the refusal of cross-origin writes.
//! - [`auth`] and [`signin`]: SigV4 verification, roles, console sessions
//!   and security headers; [`tls`]: rustls with certificate reload.
//! - [`protocol`]: error shapes, timestamps, member validation.
//! - [`service`] and [`ops`]: one method per API operation.
//! - [`arn`], [`names`], [`definition`]: the checks AWS makes on ARNs, names
//!   and definitions.
//!
//! Architecture invariant: only this crate knows HTTP; the store and runtime
//! see typed values.
//!
//! Entry points: [`run`] (what the CLI calls: builds a tokio runtime, opens
//! the store, serves until SIGINT/SIGTERM) and [`serve`] (serve on a given
//! listener, for tests and embedding).

pub mod arn;
pub mod auth;
pub mod config;
pub mod definition;
pub mod flow;
pub mod guard;
pub mod http;
pub mod names;
pub mod objects;
pub mod observability;
pub mod ops;
pub mod protocol;
pub mod schedules;
pub mod service;
pub mod signin;
pub mod tls;
pub mod triggers;

use std::future::Future;
use std::sync::Arc;

pub use config::{Config, ServerArgs};
pub use service::Service;

/// How long shutdown waits for executions to finish their current step.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// What can stop the server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] config::Error),
    #[error("cannot open the store in {dir}: {source}")]
    Store {
        dir: std::path::PathBuf,
        source: statecraft_runtime::model::StoreError,
    },
    #[error("cannot open the store: {source}")]
    OpenStore {
        source: statecraft_runtime::model::StoreError,
    },
    #[error("cannot start the execution runtime: {0}")]
    Runtime(String),
    #[error("invalid [integrations] config: {0}")]
    Integrations(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot set up logging or tracing: {0}")]
    Logging(String),
    #[error("server I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("refusing to listen on {0} with no credentials configured: anyone who can reach that address could start, stop and read every execution. Add an access key to the config file ([[auth.credentials]] with access_key_id, secret_access_key = {{ env = \"…\" }} and role = \"admin\"; see docs/security.md), listen on a loopback address such as 127.0.0.1, or pass --allow-unauthenticated to accept the risk.")]
    Unauthenticated(std::net::SocketAddr),
}

/// A started server: the service, the runtime and the store behind it.
pub struct Server {
    service: Arc<Service>,
    /// `Host` names answered besides the listening address and `localhost`.
    allowed_hosts: Vec<String>,
    /// Credentials and sessions; `None`: nothing is checked.
    auth: Option<Arc<auth::Auth>>,
    /// Certificate and key: serve TLS.
    tls: Option<config::TlsFile>,
    /// `[triggers.webhooks]`: `POST /triggers/{name}`.
    webhooks: Arc<triggers::Webhooks>,
    /// `[limits.integrations]`: concurrency and rate limits of tasks.
    flow: flow::FlowLimits,
    /// `[triggers.objects]`: buckets watched while serving.
    objects: objects::ObjectTriggers,
    /// Serves the API and the console (the `api` role); else only
    /// `/healthz` and `/metrics`.
    api: bool,
}

impl Server {
    /// Opens the store under `cfg.data_dir` and starts the runtime (which
    /// recovers the executions that were running when the process stopped).
    /// Must be called inside a tokio runtime.
    pub async fn start(cfg: &Config) -> Result<Server, Error> {
        Server::start_limited(cfg, statecraft_runtime::Limits::default()).await
    }

    /// [`Server::start`] with the runtime's [`statecraft_runtime::Limits`]
    /// (the config file's `[limits]`, see [`config::limits`]).
    pub async fn start_limited(
        cfg: &Config,
        limits: statecraft_runtime::Limits,
    ) -> Result<Server, Error> {
        Server::start_with_store(cfg, limits, None).await
    }

    /// [`Server::start_limited`] on the store `store_url` names: `None` for
    /// the embedded SQLite store under `cfg.data_dir`, else a PostgreSQL
    /// URL (see [`config::store`]).
    pub async fn start_with_store(
        cfg: &Config,
        limits: statecraft_runtime::Limits,
        store_url: Option<String>,
    ) -> Result<Server, Error> {
        Server::start_with_mocks(cfg, limits, store_url, None).await
    }

    /// [`Server::start_with_store`] with a Step Functions Local mock
    /// configuration: executions started with `stateMachineArn#TestCase`
    /// are answered from it (see
    /// [`statecraft_integrations::mock_config::MockedIntegrations`]).
    pub async fn start_with_mocks(
        cfg: &Config,
        limits: statecraft_runtime::Limits,
        store_url: Option<String>,
        mock_config: Option<statecraft_integrations::mock_config::MockConfig>,
    ) -> Result<Server, Error> {
        Server::start_with_roles(
            cfg,
            limits,
            store_url,
            mock_config,
            config::Roles::default(),
            None,
        )
        .await
    }

    /// [`Server::start_with_mocks`] for a node with `roles`: without
    /// `worker` it runs no executions (worker nodes claim what it starts),
    /// without `api` it serves only `/healthz` and `/metrics`. `lease`: how
    /// long its execution leases last (`None`: the runtime's default).
    pub async fn start_with_roles(
        cfg: &Config,
        limits: statecraft_runtime::Limits,
        store_url: Option<String>,
        mock_config: Option<statecraft_integrations::mock_config::MockConfig>,
        roles: config::Roles,
        lease: Option<std::time::Duration>,
    ) -> Result<Server, Error> {
        Server::start_with_flow(
            cfg,
            limits,
            store_url,
            mock_config,
            roles,
            lease,
            flow::FlowLimits::default(),
        )
        .await
    }

    /// [`Server::start_with_roles`] with the flow limits (`[limits.integrations]`
    /// and priorities) in force from the start, so that the tasks recovery
    /// dispatches again wait in their queues like every other.
    pub async fn start_with_flow(
        cfg: &Config,
        limits: statecraft_runtime::Limits,
        store_url: Option<String>,
        mock_config: Option<statecraft_integrations::mock_config::MockConfig>,
        roles: config::Roles,
        lease: Option<std::time::Duration>,
        flow: flow::FlowLimits,
    ) -> Result<Server, Error> {
        let postgres = store_url.is_some();
        // The integrations are built before the runtime they run in; what
        // calls back into it (nested executions, the flow queues, the
        // activity queue) holds the handle the runtime fills as it is
        // constructed, before it dispatches anything.
        let runtime = flow.runtime_handle().clone();
        let executions = statecraft_integrations::RuntimeExecutions::new(runtime.clone());
        let mut integrations =
            statecraft_integrations::registry(&cfg.integrations, Some(Arc::new(executions)))
                .map_err(|e| Error::Integrations(e.to_string()))?;
        let activities = Arc::new(statecraft_runtime::activity::ActivityTasks::of(
            runtime.clone(),
        ));
        integrations.register(activities.clone());
        // Last: it claims every `.waitForTaskToken` resource left.
        integrations.register(Arc::new(statecraft_tasks::WaitForToken));
        // With a mock configuration, every task passes through its test
        // cases first; what they do not answer reaches the registry above.
        let mocks = mock_config.map(|config| {
            Arc::new(
                statecraft_integrations::mock_config::MockedIntegrations::new(
                    config,
                    integrations.clone(),
                ),
            )
        });
        if let Some(m) = &mocks {
            let mut only = statecraft_tasks::Integrations::new();
            only.register(m.clone());
            integrations = only;
        }
        let mut options = statecraft_runtime::Options::new(cfg.data_dir.clone());
        options.handle = runtime;
        options.store_url = store_url;
        // Flow control in front of every integration ([limits.integrations],
        // given here or put in force later by Server::with_flow_limits).
        options.integrations = flow.wrap(integrations);
        // The buckets' item readers and result writers for map runs: not
        // tasks, so neither mocked nor flow-limited.
        options.map_run_io = statecraft_integrations::map_run_io(&cfg.integrations)
            .map_err(|e| Error::Integrations(e.to_string()))?;
        options.limits = limits;
        options.runs_executions = roles.worker;
        options.started_later = flow.get().iter().map(|l| l.key.clone()).collect();
        if let Some(lease) = lease {
            options.lease = lease;
        }
        let runtime = statecraft_runtime::Runtime::open(options)
            .await
            .map_err(|e| match e {
                // The PostgreSQL store's message names the database.
                statecraft_runtime::Error::Store(source) if postgres => Error::OpenStore { source },
                statecraft_runtime::Error::Store(source) => Error::Store {
                    dir: cfg.data_dir.clone(),
                    source,
                },
                e => Error::Runtime(e.to_string()),
            })?;
        let scope = arn::Scope {
            region: cfg.region.clone(),
            account: cfg.account_id.clone(),
        };
        Ok(Server {
            service: Arc::new(
                Service::with_activities(scope, runtime, activities).with_mocks(mocks),
            ),
            allowed_hosts: Vec::new(),
            auth: None,
            tls: None,
            webhooks: Arc::default(),
            flow,
            objects: objects::ObjectTriggers::default(),
            api: roles.api,
        })
    }

    /// Checks every API request and console session against `auth`
    /// (see [`auth`]); `None` checks nothing.
    pub fn with_auth(mut self, auth: Option<auth::Auth>) -> Server {
        self.auth = auth.map(Arc::new);
        self
    }

    /// Watches buckets for new objects while serving (see [`objects`]).
    pub fn with_object_triggers(mut self, triggers: objects::ObjectTriggers) -> Server {
        self.objects = triggers;
        self
    }

    /// Puts `limits` (`[limits.integrations]`, see [`flow`]) in force.
    pub fn with_flow_limits(self, limits: Vec<Arc<flow::Limit>>) -> Server {
        self.flow.set(limits);
        self
    }

    /// Orders the flow queues by state machine (`[machines.<name>]
    /// priority`, higher first).
    pub fn with_priorities(self, priorities: std::collections::HashMap<String, i64>) -> Server {
        self.flow.set_priorities(priorities);
        self
    }

    /// Answers `POST /triggers/{name}` for `webhooks` (see [`triggers`]).
    pub fn with_webhooks(mut self, webhooks: triggers::Webhooks) -> Server {
        self.webhooks = Arc::new(webhooks);
        self
    }

    /// Serves TLS with the certificate and key `files` name (see [`tls`]).
    pub fn with_tls(mut self, files: Option<config::TlsFile>) -> Server {
        self.tls = files;
        self
    }

    /// Also answers requests whose `Host` is one of `names` (exact, or
    /// `*.domain`; see [`guard::HostPolicy`]). Checked by [`Server::serve`].
    pub fn allow_hosts(mut self, names: Vec<String>) -> Server {
        self.allowed_hosts = names;
        self
    }

    pub fn service(&self) -> Arc<Service> {
        self.service.clone()
    }

    /// Serves on `listener` until `shutdown` resolves, then stops the runtime
    /// and closes the store (committing what is queued).
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        // The console's streams end with the shutdown signal too.
        let streams = statecraft_console::live::Streams::new();
        let hosts =
            guard::HostPolicy::new(listener.local_addr()?, &self.allowed_hosts).map_err(|e| {
                Error::Config(config::Error::Invalid {
                    setting: "allowed_hosts",
                    value: e.0,
                    why: "use host names, \"*.domain\" patterns or IP addresses",
                })
            })?;
        let gate = signin::Gate {
            auth: self.auth.clone(),
            tls: self.tls.is_some(),
        };
        let app = if self.api {
            http::router_secured(self.service.clone(), streams.clone(), Arc::new(hosts), gate)
                .layer(axum::Extension(self.webhooks.clone()))
                .layer(axum::Extension(self.flow.clone()))
        } else {
            http::router_worker(self.service.clone(), Arc::new(hosts))
                .layer(axum::Extension(self.flow.clone()))
        };
        // GetActivityTask long polls end with the shutdown signal, so the
        // graceful shutdown does not wait for them.
        let activities = self.service.activities.clone();
        // Schedules start their executions while the server serves.
        let scheduler = schedules::runner::spawn(self.service.clone());
        let watchers = self.objects.spawn(self.service.clone());
        let shutdown = async move {
            shutdown.await;
            activities.close();
            streams.close();
        };
        match self.tls.clone() {
            Some(files) => {
                let listener = tls::TlsListener::new(listener, files)?;
                axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await?
            }
            None => {
                axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await?
            }
        }
        scheduler.abort();
        for w in watchers {
            w.abort();
        }
        // Lets running actors finish the step they are committing, then
        // closes the store; whatever is cut short resumes at next start.
        self.service.runtime.shutdown(SHUTDOWN_GRACE).await;
        Ok(())
    }
}

/// Starts a server on `listener` with `cfg` (its `listen` is ignored) and
/// serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    cfg: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    Server::start(cfg).await?.serve(listener, shutdown).await
}

/// Resolves when the process gets SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        // If the handler cannot be installed, only SIGTERM stops the server.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// `statecraft server`: resolves the settings, starts the server and serves
/// until SIGINT or SIGTERM.
pub fn run(args: ServerArgs) -> Result<(), Error> {
    let cfg = Config::resolve(&args)?;
    let allowed_hosts = config::allowed_hosts(&args)?;
    let limits = config::limits(&args)?;
    let store_url = config::store(&args)?;
    let roles = config::roles(&args)?;
    let lease = config::lease(&args)?;
    let mock_config = match &args.mock_config {
        Some(path) => Some(
            statecraft_integrations::mock_config::MockConfig::load(path)
                .map_err(|e| Error::Integrations(e.to_string()))?,
        ),
        None => None,
    };
    let auth = config::auth(&args, &cfg.region)?;
    let tls_files = config::tls(&args)?;
    let webhooks = config::triggers(&args)?;
    let flow_limits = config::flow_limits(&args)?;
    let priorities = config::priorities(&args)?;
    let object_triggers = config::object_triggers(&args, &cfg.integrations)?;
    let pause_on_failure = config::pause_on_failure(&args)?;
    if auth.is_none() && !cfg.listen.ip().is_loopback() && !args.allow_unauthenticated {
        return Err(Error::Unauthenticated(cfg.listen));
    }
    // A certificate that cannot be read stops the start, not the first client.
    if let Some(files) = &tls_files {
        tls::load(files)?;
    }
    let scheme = if tls_files.is_some() { "https" } else { "http" };
    let authenticated = auth.is_some();
    // Checked now, before the store is opened, with the address to come.
    guard::HostPolicy::new(cfg.listen, &allowed_hosts).map_err(|e| config::Error::Invalid {
        setting: "allowed_hosts",
        value: e.0,
        why: "use host names, \"*.domain\" patterns or IP addresses",
    })?;
    let observability = observability::Observability::resolve(&args)?;
    statecraft_telemetry::logging::init(
        observability.log_format,
        observability.log_level.as_deref(),
    )
    .map_err(|e| Error::Logging(e.to_string()))?;
    if let Some(endpoint) = &observability.otlp_endpoint {
        statecraft_telemetry::otlp::start(endpoint, "statecraft")
            .map_err(|e| Error::Logging(e.to_string()))?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        // In force before the runtime recovers anything.
        let flow = flow::FlowLimits::default();
        flow.set(flow_limits);
        flow.set_priorities(priorities);
        let server =
            Server::start_with_flow(&cfg, limits, store_url, mock_config, roles, lease, flow)
                .await?
                .allow_hosts(allowed_hosts)
                .with_auth(auth)
                .with_tls(tls_files)
                .with_webhooks(webhooks)
                .with_object_triggers(object_triggers);
        server
            .service
            .runtime
            .set_pause_on_failure(pause_on_failure);
        // Retention runs beside the server until the process ends.
        let retention = observability
            .retention()
            .map(|o| server.service.runtime.spawn_retention(o));
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|source| Error::Listen {
                addr: cfg.listen,
                source,
            })?;
        let addr = listener.local_addr()?;
        tracing::info!(
            %addr,
            data_dir = %cfg.data_dir.display(),
            region = %cfg.region,
            account = %cfg.account_id,
            retention_days = observability.retention_days,
            authenticated,
            "statecraft server listening on {scheme}://{addr}"
        );
        let served = server.serve(listener, shutdown_signal()).await;
        if let Some(r) = retention {
            r.abort();
        }
        // The spans of executions that ended during shutdown.
        statecraft_telemetry::otlp::flush();
        served
    })
}
