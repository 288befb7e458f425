//! One PostgreSQL connection with its prepared statements, and how the store
//! (re)connects. Every query goes through a cached prepared statement: the
//! driver would otherwise prepare each text anew, one more round trip per
//! query.

use std::collections::HashMap;
use std::time::Duration;

use postgres::types::ToSql;
use postgres::{Client, Config, NoTls, Row, Statement};

use crate::error::Result;

use super::error::{open_error, OpenError};

/// How long a connection attempt may take when the URL does not say.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const KEEPALIVE_IDLE: Duration = Duration::from_secs(10);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
const KEEPALIVE_RETRIES: u32 = 3;

/// Where and how to connect, parsed once from the URL.
#[derive(Clone)]
pub(crate) struct Connector {
    config: Config,
    /// `host:port/db` for messages (never the password).
    pub(crate) target: String,
    user: String,
    database: String,
}

impl Connector {
    pub(crate) fn parse(url: &str) -> std::result::Result<Connector, OpenError> {
        let shown = redact(url);
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(OpenError::InvalidUrl {
                url: shown,
                reason: "a PostgreSQL URL starts with postgres:// or postgresql://".into(),
            });
        }
        let mut config: Config =
            url.parse()
                .map_err(|e: postgres::Error| OpenError::InvalidUrl {
                    url: shown.clone(),
                    reason: super::error::describe(&e),
                })?;
        if config.get_hosts().is_empty() {
            return Err(OpenError::InvalidUrl {
                url: shown,
                reason: "no host".into(),
            });
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        // A database host that vanishes without closing its connections (a
        // partition, a power cut) is noticed after about 25 s of silence
        // rather than the operating system's two hours, so the writer fails
        // its batch and reconnects instead of waiting on a dead socket.
        if !url.contains("keepalives_idle") {
            config.keepalives_idle(KEEPALIVE_IDLE);
        }
        if !url.contains("keepalives_interval") {
            config.keepalives_interval(KEEPALIVE_INTERVAL);
        }
        if !url.contains("keepalives_retries") {
            config.keepalives_retries(KEEPALIVE_RETRIES);
        }
        if config.get_application_name().is_none() {
            config.application_name("statecraft");
        }
        let user = config.get_user().unwrap_or("").to_string();
        let database = config.get_dbname().unwrap_or(&user).to_string();
        let host = match config.get_hosts().first() {
            Some(postgres::config::Host::Tcp(h)) => h.clone(),
            Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => String::new(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        Ok(Connector {
            target: format!("{host}:{port}/{database}"),
            config,
            user,
            database,
        })
    }

    /// A new connection, its failure classified for `open`.
    pub(crate) fn connect_for_open(&self) -> std::result::Result<Db, OpenError> {
        self.config
            .connect(NoTls)
            .map(Db::new)
            .map_err(|e| open_error(&e, &self.target, &self.user, &self.database))
    }

    /// A new connection at run time (a reconnect); the error names the store.
    pub(crate) fn connect(&self) -> Result<Db> {
        self.connect_for_open().map_err(Into::into)
    }
}

/// The URL with its password replaced, for messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// A connection and its prepared statements.
pub(crate) struct Db {
    pub(crate) client: Client,
    statements: HashMap<String, Statement>,
}

pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl Db {
    fn new(client: Client) -> Db {
        Db {
            client,
            statements: HashMap::new(),
        }
    }

    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    pub(crate) fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        let s = self.statement(sql)?;
        Ok(self.client.query(&s, params)?)
    }

    pub(crate) fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
        let s = self.statement(sql)?;
        Ok(self.client.query_opt(&s, params)?)
    }

    pub(crate) fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row> {
        let s = self.statement(sql)?;
        Ok(self.client.query_one(&s, params)?)
    }

    pub(crate) fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64> {
        let s = self.statement(sql)?;
        Ok(self.client.execute(&s, params)?)
    }

    /// A statement without parameters, as a simple query (transaction
    /// control: BEGIN, COMMIT, SAVEPOINT…).
    pub(crate) fn simple(&mut self, sql: &str) -> Result<()> {
        Ok(self.client.batch_execute(sql)?)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_and_bad_urls_refused() {
        assert_eq!(
            redact("postgres://u:secret@h:5/db"),
            "postgres://u:***@h:5/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        for bad in ["mysql://u@h/db", "postgres://u@h:notaport/db", "h:5"] {
            let e = Connector::parse(bad).err().expect(bad);
            assert!(matches!(e, OpenError::InvalidUrl { .. }), "{bad}: {e}");
        }
        let c = Connector::parse("postgres://u:pw@127.0.0.1:6543/app").unwrap();
        assert_eq!(c.target, "127.0.0.1:6543/app");
    }
}
