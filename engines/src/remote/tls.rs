//! How the client trusts `https://` workers: the system's CA bundle plus
//! an optional CA file (`GG_WORKER_CA`, `[engine] ca_file`), for workers
//! whose certificates a private CA signed; Mozilla's roots, built in,
//! when the system has no bundle and no CA file is given. Certificate
//! errors are told as such, with the setting that fixes them.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

/// Where distributions keep their CA bundle (the first that exists wins;
/// `SSL_CERT_FILE` before them all, as OpenSSL reads it).
const BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// The TLS settings for workers, trusting `ca_file` besides the system.
pub fn config(ca_file: Option<&Path>) -> Result<TlsConfig, String> {
    let mut roots = system_roots();
    if let Some(ca) = ca_file {
        let certs = read_certs(ca).map_err(|e| format!("the worker CA file `{}`: {e}", ca.display()))?;
        if certs.is_empty() {
            return Err(format!("the worker CA file `{}` holds no PEM certificate", ca.display()));
        }
        roots.extend(certs);
    }
    let roots = if roots.is_empty() { RootCerts::WebPki } else { RootCerts::Specific(Arc::new(roots)) };
    Ok(TlsConfig::builder().root_certs(roots).build())
}

fn system_roots() -> Vec<Certificate<'static>> {
    let from_env = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
    let mut files = from_env.into_iter().chain(BUNDLES.iter().map(std::path::PathBuf::from));
    // An unreadable bundle is no worse than none: the CA file may suffice.
    files.find_map(|f| read_certs(&f).ok().filter(|c| !c.is_empty())).unwrap_or_default()
}

fn read_certs(path: &Path) -> Result<Vec<Certificate<'static>>, String> {
    let iter = CertificateDer::pem_file_iter(path).map_err(|e| e.to_string())?;
    let ders = iter.collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
    Ok(ders.iter().map(|d| Certificate::from_der(d.as_ref()).to_owned()).collect())
}

/// A transport error as the client reports it: a refused certificate
/// says what to configure.
pub fn describe(e: &ureq::Error) -> String {
    // rustls reports through the stream's reads and writes, so its error
    // usually arrives wrapped in an I/O error.
    let inner = match e {
        ureq::Error::Rustls(r) => Some(r),
        ureq::Error::Io(io) => io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()),
        _ => None,
    };
    match inner {
        Some(rustls::Error::InvalidCertificate(why)) => format!(
            "TLS: the worker's certificate was refused ({why:?}); if a private CA signed it, \
             name that CA's certificate in GG_WORKER_CA or `ca_file` under [engine]"
        ),
        Some(r) => format!("TLS: {r}"),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_certificates_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "nothing here\n").unwrap();
        let err = config(Some(&ca)).unwrap_err();
        assert!(err.contains("ca.pem") && err.contains("no PEM certificate"), "{err}");
        let err = config(Some(&dir.path().join("absent.pem"))).unwrap_err();
        assert!(err.contains("absent.pem"), "{err}");
    }

    #[test]
    fn a_refused_certificate_names_the_setting_that_fixes_it() {
        let refused = || rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let wrapped = ureq::Error::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, refused()));
        for e in [ureq::Error::Rustls(refused()), wrapped] {
            let text = describe(&e);
            assert!(text.contains("UnknownIssuer") && text.contains("GG_WORKER_CA"), "{text}");
        }
    }
}
