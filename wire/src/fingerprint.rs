//! A certificate's fingerprint: printed by `gg-worker serve` for its
//! certificate and pinned by clients (`GG_WORKER_FINGERPRINT`), so both
//! sides compute it here.

/// A certificate's SHA-256 fingerprint as `AB:CD:…`, the form `openssl
/// x509 -fingerprint -sha256` prints and clients pin
/// (`GG_WORKER_FINGERPRINT`).
pub fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    digest.as_ref().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_printed_as_openssl_prints_it() {
        let f = fingerprint(b"");
        assert!(f.starts_with("E3:B0:C4:42:98:FC:1C:14") && f.len() == 32 * 3 - 1, "{f}");
    }
}
