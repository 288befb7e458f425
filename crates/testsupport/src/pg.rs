//! A throw-away PostgreSQL cluster for tests, one per test process: the URL
//! in `STATECRAFT_TEST_POSTGRES` when set (a server whose user may create
//! databases), else a cluster made here with the installed server's own
//! tools: `initdb` into a temporary directory (as the `postgres` user when
//! running as root, since PostgreSQL refuses to run as root), `pg_ctl
//! start` on a free loopback port, and a watchdog process that stops the
//! cluster and removes the directory once the test process has exited
//! (however it exits). Every test gets a database of its own.
//!
//! When PostgreSQL cannot be found or started, the tests fail with a
//! sentence saying how to install it; they never pass without it.
//!
//! Used by the store's tests, the runtime's and the command line's
//! end-to-end tests alike.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

const INSTALL: &str = "PostgreSQL is needed for these tests: install Debian's package \
    (`apt-get install -y postgresql`, which puts initdb and pg_ctl under \
    /usr/lib/postgresql/<version>/bin) or set STATECRAFT_TEST_POSTGRES to the URL of a \
    server whose user may create databases";

/// The superuser's password in a cluster made here (TCP connections are
/// checked with scram-sha-256, so a wrong password is refused).
pub const PASSWORD: &str = "statecraft-test";

/// A running server.
pub struct Cluster {
    /// How to reach it with `psql` as a superuser: connection arguments.
    psql_args: Vec<String>,
    /// `postgres://user:password@host:port` (no database).
    pub base_url: String,
    /// Whether the server checks passwords (true for a cluster made here).
    pub checks_passwords: bool,
    pub host: String,
    pub port: u16,
    bin: Option<PathBuf>,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// The cluster of this test process, started on first use. Panics with an
/// install hint when PostgreSQL cannot be had.
pub fn cluster() -> &'static Cluster {
    match CLUSTER.get_or_init(start) {
        Ok(c) => c,
        Err(e) => panic!("{e}\n{INSTALL}"),
    }
}

/// A new, empty database on the cluster; returns its URL.
pub fn fresh_database(label: &str) -> String {
    let c = cluster();
    let n = NEXT_DB.fetch_add(1, Ordering::Relaxed);
    let clean: String = label
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() {
                ch.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(30)
        .collect();
    let name = format!("t_{}_{}_{n}", std::process::id(), clean);
    c.psql(&format!("CREATE DATABASE {name}"));
    format!("{}/{name}", c.base_url)
}

impl Cluster {
    /// Runs one SQL command as the superuser; panics with psql's message.
    pub fn psql(&self, sql: &str) {
        let out = Command::new(self.tool("psql"))
            .args(&self.psql_args)
            .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
            .env("PGPASSWORD", PASSWORD)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run psql: {e}\n{INSTALL}"));
        assert!(
            out.status.success(),
            "psql {sql:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn tool(&self, name: &str) -> PathBuf {
        match &self.bin {
            Some(dir) if dir.join(name).exists() => dir.join(name),
            _ => PathBuf::from(name),
        }
    }

    /// The URL of `database` with another user and password (for the
    /// credential tests).
    pub fn url_as(&self, user: &str, password: &str, database: &str) -> String {
        format!(
            "postgres://{user}:{password}@{}:{}/{database}",
            self.host, self.port
        )
    }
}

/// The directory of `initdb` and `pg_ctl`: the newest Debian install, else
/// the PATH.
fn find_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|d| d.join("initdb").exists() && d.join("pg_ctl").exists())
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A command run as the cluster's owner (`postgres` when we are root).
fn as_owner(root: bool, program: &Path) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

fn start() -> Result<Cluster, String> {
    if let Ok(url) = std::env::var("STATECRAFT_TEST_POSTGRES") {
        return external(&url);
    }
    let bin = find_bin().ok_or("initdb and pg_ctl were not found")?;
    let root = is_root();
    let dir = std::env::temp_dir().join(format!(
        "statecraft-pg-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let pwfile = dir.join("pw");
    std::fs::write(&pwfile, PASSWORD)
        .map_err(|e| format!("cannot write the password file: {e}"))?;
    if root {
        run(
            Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir),
            "chown of the cluster directory to postgres",
        )?;
    }
    let data = dir.join("data");
    run(
        as_owner(root, &bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display())),
        "initdb",
    )?;
    let port = free_port()?;
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300",
        dir.display()
    );
    run(
        as_owner(root, &bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"]),
        "pg_ctl start",
    )
    .map_err(|e| {
        let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
        format!("{e}\nserver log:\n{log}")
    })?;
    watchdog(root, &bin, &data, &dir);
    Ok(Cluster {
        psql_args: vec![
            "-h".into(),
            dir.display().to_string(),
            "-p".into(),
            port.to_string(),
            "-U".into(),
            "postgres".into(),
            "-d".into(),
            "postgres".into(),
        ],
        base_url: format!("postgres://postgres:{PASSWORD}@127.0.0.1:{port}"),
        checks_passwords: true,
        host: "127.0.0.1".into(),
        port,
        bin: Some(bin),
    })
}

/// Stops the cluster and removes its directory once this process is gone.
fn watchdog(root: bool, bin: &Path, data: &Path, dir: &Path) {
    let pg_ctl = bin.join("pg_ctl");
    let stop = if root {
        format!(
            "runuser -u postgres -- {} -D {} -m immediate stop",
            pg_ctl.display(),
            data.display()
        )
    } else {
        format!(
            "{} -D {} -m immediate stop",
            pg_ctl.display(),
            data.display()
        )
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop}; rm -rf {dir}",
        pid = std::process::id(),
        dir = dir.display()
    );
    // Its output goes nowhere: a test harness reading this process's output
    // must not wait for the watchdog.
    let spawned = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    assert!(
        spawned.is_ok(),
        "cannot start the cluster's watchdog: {spawned:?}"
    );
}

/// A server given by URL: `postgres://user:password@host:port[/db]`.
fn external(url: &str) -> Result<Cluster, String> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .ok_or_else(|| format!("STATECRAFT_TEST_POSTGRES is not a postgres:// URL: {url}"))?;
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let hostport = authority.rsplit('@').next().unwrap_or("");
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (
            h.to_string(),
            p.parse().map_err(|_| format!("bad port in {url}"))?,
        ),
        None => (hostport.to_string(), 5432),
    };
    let base_url = format!("postgres://{authority}");
    Ok(Cluster {
        psql_args: vec![format!("{base_url}/postgres")],
        base_url,
        checks_passwords: false,
        host,
        port,
        bin: find_bin(),
    })
}
