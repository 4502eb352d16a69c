//! HTTPS with rustls: the certificate and key from PEM files, swapped in place on reload (the
//! binary calls [`TlsFiles::reload`] on SIGHUP) so that a renewed certificate is served to new
//! connections while the open ones carry on; and a listener that does the TLS handshakes beside
//! the accept loop, so that one slow client never holds up the others.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;

/// Largest certificate chain or key file read: real ones are a few KiB.
const MAX_PEM_BYTES: u64 = 1024 * 1024;
/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; further connections wait in the kernel's backlog.
const MAX_HANDSHAKES: usize = 512;

/// Why a certificate or key could not be used; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("TLS file {path}: larger than {MAX_PEM_BYTES} bytes")]
    TooLarge { path: PathBuf },
    #[error("TLS certificate file {path}: {reason}")]
    Certificate { path: PathBuf, reason: String },
    #[error("TLS key file {path}: {reason}")]
    Key { path: PathBuf, reason: String },
}

/// The certificate and key files and what was last loaded from them.
#[derive(Clone)]
pub struct TlsFiles {
    inner: Arc<Inner>,
}

struct Inner {
    cert_file: PathBuf,
    key_file: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsFiles")
            .field("cert_file", &self.inner.cert_file)
            .field("key_file", &self.inner.key_file)
            .finish_non_exhaustive()
    }
}

impl TlsFiles {
    /// Loads the certificate chain (PEM, leaf first) and its private key (PEM: PKCS#8, SEC1 or
    /// PKCS#1), and checks that they belong together.
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<TlsFiles, TlsError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let current = load_pair(cert_file, key_file, &provider)?;
        Ok(TlsFiles {
            inner: Arc::new(Inner {
                cert_file: cert_file.to_path_buf(),
                key_file: key_file.to_path_buf(),
                provider,
                current: RwLock::new(Arc::new(current)),
            }),
        })
    }

    /// Reads the files again and serves what they hold to every new connection. On an error
    /// the certificate served so far stays in place.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = load_pair(
            &self.inner.cert_file,
            &self.inner.key_file,
            &self.inner.provider,
        )?;
        let mut current = self
            .inner
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *current = Arc::new(fresh);
        Ok(())
    }

    /// The certificate file, for log lines.
    pub fn cert_file(&self) -> &Path {
        &self.inner.cert_file
    }

    fn server_config(&self) -> Result<Arc<ServerConfig>, rustls::Error> {
        let mut config = ServerConfig::builder_with_provider(self.inner.provider.clone())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Resolver(self.clone())));
        // axum serves HTTP/1.1 only.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

#[derive(Debug)]
struct Resolver(TlsFiles);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let current = self
            .0
            .inner
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Some(current.clone())
    }
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, TlsError> {
    use std::io::Read;
    let read_err = |source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_PEM_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(TlsError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    Ok(bytes)
}

fn load_pair(
    cert_file: &Path,
    key_file: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let cert_err = |reason: String| TlsError::Certificate {
        path: cert_file.to_path_buf(),
        reason,
    };
    let key_err = |reason: String| TlsError::Key {
        path: key_file.to_path_buf(),
        reason,
    };
    let chain = CertificateDer::pem_slice_iter(&read_bounded(cert_file)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_err(format!("not PEM: {e}")))?;
    if chain.is_empty() {
        return Err(cert_err("holds no CERTIFICATE section".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(&read_bounded(key_file)?).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => key_err("holds no private key".into()),
        e => key_err(format!("not PEM: {e}")),
    })?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => key_err(format!(
            "does not match the certificate in {}",
            cert_file.display()
        )),
        rustls::Error::InvalidCertificate(e) => cert_err(format!("{e}")),
        e => key_err(format!("{e}")),
    })
}

/// A TCP listener whose connections come out with TLS done. Handshakes run in their own tasks
/// (bounded in number and time); the finished ones queue for axum's accept loop. Dropping the
/// listener — axum does on graceful shutdown — stops accepting.
pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    acceptor: JoinHandle<()>,
}

impl TlsListener {
    pub fn new(listener: TcpListener, files: &TlsFiles) -> Result<TlsListener, rustls::Error> {
        let local = listener.local_addr().map_err(|e| {
            rustls::Error::General(format!("the listener has no local address: {e}"))
        })?;
        let acceptor = TlsAcceptor::from(files.server_config()?);
        let (tx, ready) = mpsc::channel(64);
        let acceptor = tokio::spawn(accept_loop(listener, acceptor, tx));
        Ok(TlsListener {
            local,
            ready,
            acceptor,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let handshakes = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(permit) = handshakes.clone().acquire_owned().await else {
            return;
        };
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(client = %peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(client = %peer, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accept loop ended (it only does when aborted): nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}
