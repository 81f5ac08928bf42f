//! The worker's TLS set-up: a certificate chain and its key, from PEM
//! files, into a rustls server configuration shared by every connection;
//! or a self-signed certificate made once and kept in the store, for
//! clients to pin by fingerprint.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use gg_wire::fingerprint::fingerprint;

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

/// The self-signed certificate and key kept under `dir` (made there on
/// first use, for `names`): `(cert, key)` paths. Kept, not made anew on
/// each start, so that clients' pins stay valid across restarts.
pub fn self_signed(dir: &Path, names: &[String]) -> Result<(PathBuf, PathBuf)> {
    let (cert, key) = (dir.join("self-signed-cert.pem"), dir.join("self-signed-key.pem"));
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let made = rcgen::generate_simple_self_signed(names.to_vec()).context("cannot make a self-signed certificate")?;
    // The key first, private from the start; the certificate last, so
    // that both exist only once both are whole.
    write_private(&key, made.signing_key.serialize_pem().as_bytes())?;
    std::fs::write(&cert, made.cert.pem()).with_context(|| format!("cannot write `{}`", cert.display()))?;
    Ok((cert, key))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    f.write_all(bytes).with_context(|| format!("cannot write `{}`", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_is_made_once_and_kept_with_a_private_key() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let names = ["localhost".to_string(), "127.0.0.1".to_string()];
        let (cert, key) = self_signed(&dir.path().join("tls"), &names).unwrap();
        let (_, first) = server_config(&cert, &key).unwrap();
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
        let (cert, key) = self_signed(&dir.path().join("tls"), &names).unwrap();
        assert_eq!(server_config(&cert, &key).unwrap().1, first, "the same certificate on a restart");
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
