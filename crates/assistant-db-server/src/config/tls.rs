//! Loading the certificate and key for HTTPS (rustls with the ring provider, the one the
//! rest of the workspace already links).

use std::sync::Arc;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::{ConfigError, TlsFiles};

/// The TLS setup of `files`: HTTP/1.1 over TLS 1.2 or 1.3, no client certificates.
pub(super) fn load(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, ConfigError> {
    let cert_error = |reason: String| ConfigError::Tls {
        what: "certificate",
        path: files.cert.clone(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| cert_error(e.to_string()))?;
    if certs.is_empty() {
        return Err(cert_error(
            "holds no certificate (a PEM `BEGIN CERTIFICATE` block)".into(),
        ));
    }
    // The key's parse error never quotes the file's content, only where it failed.
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| ConfigError::Tls {
        what: "key",
        path: files.key.clone(),
        reason: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::TlsPair(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ConfigError::TlsPair(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
