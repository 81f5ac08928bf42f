//! Certificate pinning (`GG_WORKER_FINGERPRINT`): an `https://` worker is
//! accepted when the SHA-256 of its certificate is one of the pins, whoever
//! signed it and whatever names it holds; the handshake's signatures are
//! still checked, so only the holder of that certificate's key gets in.
//! ureq takes no custom certificate verifier, so this is a connector of
//! its own: TCP from ureq, then rustls with the pin verifier.

use std::fmt;
use std::io::{Read, Write};
use std::sync::Arc;

use gg_wire::fingerprint::fingerprint;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport, TransportAdapter,
};

/// A SHA-256 fingerprint.
pub(super) type Pin = [u8; 32];

/// Reads pins: SHA-256 fingerprints in hex, colons allowed (as `openssl
/// x509 -fingerprint -sha256` and `gg-worker serve` print them), separated
/// by commas or spaces.
pub(super) fn parse_pins(text: &str) -> Result<Vec<Pin>, String> {
    let mut pins = Vec::new();
    for item in text.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()) {
        let hex: String = item.chars().filter(|c| *c != ':').collect();
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
            .collect::<Option<Vec<u8>>>();
        match bytes.and_then(|b| Pin::try_from(b).ok()) {
            Some(pin) => pins.push(pin),
            None => return Err(format!("`{item}` is not a SHA-256 fingerprint (64 hex digits)")),
        }
    }
    if pins.is_empty() {
        return Err("no fingerprint given".into());
    }
    Ok(pins)
}

/// The connector that wraps `https://` connections in TLS checked
/// against the pins.
#[derive(Debug)]
pub(super) struct Pinned {
    config: Arc<ClientConfig>,
}

impl Pinned {
    pub fn new(pins: Vec<Pin>) -> Pinned {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = Arc::new(PinVerifier { pins, provider: Arc::clone(&provider) });
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Pinned { config: Arc::new(config) }
    }
}

impl<In: Transport> Connector<In> for Pinned {
    type Out = Either<In, PinnedTransport>;

    fn connect(&self, details: &ConnectionDetails<'_>, chained: Option<In>) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else { return Ok(None) };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let host = details.uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_string()).map_err(|_| ureq::Error::Tls("not a host name"))?;
        let mut conn = ClientConnection::new(Arc::clone(&self.config), name)?;
        let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        sock.set_timeout(details.timeout);
        conn.complete_io(&mut sock)?;
        let buffers = LazyBuffers::new(details.config.input_buffer_size(), details.config.output_buffer_size());
        Ok(Some(Either::B(PinnedTransport { buffers, stream: StreamOwned::new(conn, sock) })))
    }
}

/// A TLS connection to a pinned worker.
pub(super) struct PinnedTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl fmt::Debug for PinnedTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinnedTransport").finish_non_exhaustive()
    }
}

impl Transport for PinnedTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

#[derive(Debug)]
struct PinVerifier {
    pins: Vec<Pin>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let digest = ring::digest::digest(&ring::digest::SHA256, end_entity.as_ref());
        if self.pins.iter().any(|p| p[..] == *digest.as_ref()) {
            return Ok(ServerCertVerified::assertion());
        }
        let why = format!("its SHA-256 fingerprint {} is not among GG_WORKER_FINGERPRINT", fingerprint(end_entity));
        Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(Arc::new(
            std::io::Error::other(why),
        )))))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_read_with_or_without_colons_and_bad_ones_are_named() {
        let hex = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(parse_pins(&format!("{hex}, {colons}")).unwrap(), vec![[0xab; 32], [0xab; 32]]);
        let err = parse_pins("abcd").unwrap_err();
        assert!(err.contains("`abcd`"), "{err}");
        assert!(parse_pins(" , ").is_err());
    }

    #[test]
    fn a_printed_fingerprint_reads_back_as_its_pin() {
        let digest = ring::digest::digest(&ring::digest::SHA256, b"");
        let pin = Pin::try_from(digest.as_ref()).unwrap();
        assert_eq!(parse_pins(&fingerprint(b"")).unwrap(), vec![pin]);
    }
}
