//! Loading the certificate and key for HTTPS (rustls with the ring provider, the one the
//! rest of the workspace already links).

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// What is wrong with the certificate, the key, or the two together.
#[derive(Debug)]
pub(super) enum Problem {
    /// The certificate file.
    Cert(String),
    /// The key file.
    Key(String),
    /// The pair.
    Pair(String),
}

/// The TLS setup of a certificate chain and its key: HTTP/1.1 over TLS 1.2 or 1.3, no
/// client certificates.
pub(super) fn load(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, Problem> {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| Problem::Cert(e.to_string()))?;
    if certs.is_empty() {
        return Err(Problem::Cert(
            "holds no certificate (a PEM `BEGIN CERTIFICATE` block)".into(),
        ));
    }
    // The key's parse error never quotes the file's content, only where it failed.
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| Problem::Key(e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Problem::Pair(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Problem::Pair(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
