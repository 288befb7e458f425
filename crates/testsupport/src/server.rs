//! The `statecraft` binary as a server process: on a free loopback port,
//! over a scratch data directory, its log in a file the failure messages
//! quote, waited for until `/healthz` answers, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::api;

/// A free loopback port (the OS picks it; the listener is closed again, so
/// the server about to bind it is very likely to get it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A new, empty directory under the system's temporary directory, named
/// after `tag`, this process and the time (the caller removes it, or a
/// [`Server`] does when dropped).
pub fn scratch_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("statecraft-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create the scratch directory {}: {e}", dir.display()));
    dir
}

/// A [`scratch_dir`] removed when dropped (at the end of the test, passed
/// or failed).
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        Scratch(scratch_dir(tag))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The built `statecraft` binary for a test of a crate other than the
/// command line's (whose tests have `env!("CARGO_BIN_EXE_statecraft")`):
/// `target/<profile>/statecraft`, beside the test's own executable in
/// `deps/`. Fails, saying how to build it, when it is not there.
pub fn statecraft_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("statecraft"))
        .expect("the test runs from target/<profile>/deps");
    assert!(
        bin.is_file(),
        "{} is not built: run `cargo build --bin statecraft` first (scripts/test does)",
        bin.display()
    );
    bin
}

/// A running `statecraft server`.
pub struct Server {
    pub child: Child,
    pub port: u16,
    /// Its data directory (removed when dropped if the server made it).
    pub dir: PathBuf,
    log: PathBuf,
    owns_dir: bool,
}

impl Server {
    /// `bin server --listen 127.0.0.1:<free port> --data-dir <scratch>
    /// <args…>`, waited for until `/healthz` answers (30 s at most; a
    /// server that exits or does not answer fails the test with its log).
    pub fn start(bin: &Path, tag: &str, args: &[&str]) -> Server {
        let dir = scratch_dir(tag);
        let mut server = Server::spawn(bin, &dir, args, &[]);
        server.owns_dir = true;
        server.wait_healthy(tag);
        server
    }

    /// [`Server::start`] over a data directory the caller keeps (a restart
    /// over the same data), with `env` set for the process.
    pub fn start_in(bin: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut server = Server::spawn(bin, dir, args, env);
        server.wait_healthy(&dir.display().to_string());
        server
    }

    fn spawn(bin: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let log = dir.join(format!("server-{port}.log"));
        let child = Command::new(bin)
            .args(["server", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir)
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("the server's log file"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        Server {
            child,
            port,
            dir: dir.to_path_buf(),
            log,
            owns_dir: false,
        }
    }

    fn wait_healthy(&mut self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !api::healthy(self.port) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the server {what} exited ({status}): {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "the server {what} did not answer /healthz within 30 s: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the server wrote to its standard error so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends a signal (`-STOP`, `-CONT`, `-KILL`…) with `kill`.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} {}", self.child.id());
    }

    /// `kill -9`, and reaps it.
    pub fn kill(mut self) {
        self.signal("-KILL");
        let _ = self.child.wait();
    }

    /// SIGTERM, and waits (15 s at most) for a clean exit, which must be a
    /// success.
    pub fn stop(mut self) {
        self.signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "exit {status}: {}", self.log());
                return;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the server did not stop on SIGTERM: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
