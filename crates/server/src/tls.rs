//! TLS for the API and the console: rustls (ring provider) with the `[tls]`
//! certificate and key (PEM), reloaded without a restart on SIGHUP or when
//! either file changes, so a renewed certificate is picked up by the next
//! connection while open ones keep theirs.
//!
//! Handshakes run in their own tasks (with a time limit), so a client that
//! connects and says nothing holds up no one else.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFile;

/// A handshake that takes longer is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the files' modification times are looked at.
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// Why the certificate or key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS certificate {path}: {why}")]
    Cert { path: String, why: String },
    #[error("cannot read the TLS key {path}: {why}")]
    Key { path: String, why: String },
    #[error("the TLS certificate and key do not go together: {0}")]
    Config(String),
}

/// Reads the PEM files into a server configuration (HTTP/1.1 over TLS).
pub fn load(files: &TlsFile) -> Result<Arc<ServerConfig>, TlsError> {
    let cert_path = files.cert.display().to_string();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Cert {
            path: cert_path.clone(),
            why: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Cert {
            path: cert_path,
            why: "no CERTIFICATE block in the file".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| TlsError::Key {
        path: files.key.display().to_string(),
        why: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The configuration new connections get; replaced on reload.
#[derive(Clone)]
pub struct Current(Arc<RwLock<Arc<ServerConfig>>>);

impl Current {
    fn get(&self) -> Arc<ServerConfig> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reads the files again; on failure the old certificate stays.
    pub fn reload(&self, files: &TlsFile) -> Result<(), TlsError> {
        let config = load(files)?;
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = config;
        Ok(())
    }
}

/// A listener whose connections are TLS, for `axum::serve`.
pub struct TlsListener {
    incoming: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    pub current: Current,
}

impl TlsListener {
    /// Serves TLS on `listener` with `files`, watched for changes.
    pub fn new(listener: TcpListener, files: TlsFile) -> Result<TlsListener, TlsError> {
        let current = Current(Arc::new(RwLock::new(load(&files)?)));
        let local = listener
            .local_addr()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let (tx, incoming) = mpsc::channel(64);
        tokio::spawn(accept_loop(listener, current.clone(), tx));
        tokio::spawn(watch(files, current.clone()));
        Ok(TlsListener {
            incoming,
            local,
            current,
        })
    }
}

async fn accept_loop(
    listener: TcpListener,
    current: Current,
    tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (tcp, addr) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait, then go on.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if tx.is_closed() {
            return;
        }
        let acceptor = TlsAcceptor::from(current.get());
        let tx = tx.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => {
                    let _ = tx.send((stream, addr)).await;
                }
                Ok(Err(e)) => tracing::debug!(%addr, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%addr, "TLS handshake timed out"),
            }
        });
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Reloads on SIGHUP, and when a file's modification time changes.
async fn watch(files: TlsFile, current: Current) {
    let stamp = |f: &TlsFile| (modified(&f.cert), modified(&f.key));
    let mut seen = stamp(&files);
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        #[cfg(unix)]
        let signalled = async {
            match hup.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let signalled = std::future::pending::<()>();
        let why = tokio::select! {
            _ = signalled => "SIGHUP",
            _ = tokio::time::sleep(WATCH_EVERY) => {
                let now = stamp(&files);
                if now == seen {
                    continue;
                }
                seen = now;
                "the files changed"
            }
        };
        match current.reload(&files) {
            Ok(()) => {
                tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded ({why})")
            }
            Err(e) => {
                tracing::error!(error = %e, "TLS certificate not reloaded ({why}); the previous one stays")
            }
        }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(c) => c,
            // The accept loop ended (it never does while the listener lives).
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
