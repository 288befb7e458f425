//! A test that re-runs itself as a child process, for crash tests: the
//! child does the work and reports progress on its standard output (lines
//! with a marker), the parent waits for enough progress, kills it with
//! SIGKILL and checks what survived. The test binary runs just the one
//! test in the child, with an environment variable telling it it is the
//! child.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

/// The running child.
pub struct ChildTest {
    process: Child,
    lines: Receiver<String>,
    reader: Option<JoinHandle<()>>,
}

impl ChildTest {
    /// Runs test `test` of the current test binary alone, with `env` set to
    /// `value`; the child's output lines that start with `marker` are
    /// reported (the rest of each line) by [`ChildTest::next`].
    pub fn spawn(test: &str, env: &str, value: &Path, marker: &str) -> ChildTest {
        let exe = std::env::current_exe().expect("the test knows its own path");
        let mut process = Command::new(exe)
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(env, value)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot re-run {test} as a child: {e}"));
        let stdout = process.stdout.take().expect("the child's output is piped");
        let (tx, lines) = std::sync::mpsc::channel();
        let marker = marker.to_string();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix(&marker) {
                    if tx.send(rest.to_string()).is_err() {
                        break;
                    }
                }
            }
        });
        ChildTest {
            process,
            lines,
            reader: Some(reader),
        }
    }

    /// The next reported line, waiting up to `within`; a failure saying so
    /// when the child reports nothing in that time or has ended.
    pub fn next(&self, within: Duration) -> String {
        match self.lines.recv_timeout(within) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                panic!("the child reported nothing for {within:?}")
            }
            Err(RecvTimeoutError::Disconnected) => panic!("the child ended without reporting"),
        }
    }

    /// SIGKILL (no shutdown code runs in the child); waits for it and
    /// returns the lines it reported that were not read yet.
    pub fn kill(mut self) -> Vec<String> {
        self.process.kill().expect("kill the child");
        self.process.wait().expect("reap the child");
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the child's output reader");
        }
        self.lines.try_iter().collect()
    }
}

impl Drop for ChildTest {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
