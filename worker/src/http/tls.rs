//! The worker's TLS set-up: a certificate chain and its key, from PEM
//! files, into a rustls server configuration shared by every connection.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A certificate's SHA-256 fingerprint as `AB:CD:…`, the form `openssl
/// x509 -fingerprint -sha256` prints and clients pin
/// (`GG_WORKER_FINGERPRINT`).
pub fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    digest.as_ref().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// A server configuration from `cert` (the chain, leaf first) and `key`,
/// and the leaf's fingerprint.
pub fn server_config(cert: &Path, key: &Path) -> Result<(Arc<rustls::ServerConfig>, String)> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read certificates from `{}`", cert.display()))?;
    if chain.is_empty() {
        bail!("`{}` holds no PEM certificate", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("cannot read a PEM private key from `{}`", key.display()))?;
    let leaf = fingerprint(chain[0].as_ref());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS set-up")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the certificate and key do not make a usable pair")?;
    Ok((Arc::new(config), leaf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_printed_as_openssl_prints_it() {
        let f = fingerprint(b"");
        assert!(f.starts_with("E3:B0:C4:42:98:FC:1C:14") && f.len() == 32 * 3 - 1, "{f}");
    }

    #[test]
    fn a_file_without_certificates_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, "not a certificate\n").unwrap();
        let err = server_config(&cert, &cert).unwrap_err();
        assert!(format!("{err:#}").contains("cert.pem"), "{err:#}");
    }
}
