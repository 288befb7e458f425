//! moto's S3 server (`python3 -m moto.server`, `pip install "moto[server]"`)
//! on a free loopback port, for tests of buckets and object triggers: a
//! real S3 API rather than a mock of one. Fails, saying how to install it,
//! when moto cannot be started.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INSTALL: &str = "is moto[server] installed? (pip install \"moto[server]\")";

/// The running server, stopped when dropped.
pub struct Moto {
    pub child: Child,
    pub port: u16,
}

impl Moto {
    /// Starts it and waits (30 s at most) until its port accepts
    /// connections.
    pub fn start() -> Moto {
        let port = crate::server::free_port();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("python3 -m moto.server could not start ({e}): {INSTALL}"));
        let mut moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto's S3 server exited ({status}): {INSTALL}");
            }
            assert!(
                Instant::now() < deadline,
                "moto's S3 server did not start on port {port}: {INSTALL}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
