//! Reading and decoding a request head. Every header the worker acts on
//! must be readable text and, but for none, appear once: a value it cannot
//! read is refused (400), never taken as absent, since a proxy in front
//! may read it differently and the two would disagree about where a
//! request ends or who sent it.

use std::io::{BufRead, Read};

/// The largest request head accepted.
pub(super) const MAX_HEAD: usize = 64 * 1024;

/// A parsed request head.
#[derive(Debug)]
pub(super) struct Head {
    pub method: String,
    pub path: String,
    pub content_length: Option<u64>,
    pub authorization: Option<String>,
    pub expect_continue: bool,
    pub close: bool,
    /// `Accept: application/x-ndjson`: stream an execute answer.
    pub stream: bool,
}

/// Why a head was refused: the status and the message.
pub(super) type Refusal = (u16, String);

/// Reads one request head; `Ok(None)` at a clean end of the connection.
pub(super) fn read_head(reader: &mut impl BufRead) -> Result<Option<Head>, Refusal> {
    let bad = |msg: String| (400, msg);
    let mut raw = Vec::new();
    loop {
        // Bounded even within one line: a head without newlines cannot grow.
        let room = (MAX_HEAD + 1).saturating_sub(raw.len()) as u64;
        let n = (&mut *reader)
            .take(room)
            .read_until(b'\n', &mut raw)
            .map_err(|e| bad(format!("cannot read the request: {e}")))?;
        if raw.len() > MAX_HEAD {
            return Err(bad("request head too large".into()));
        }
        if n == 0 {
            return if raw.is_empty() {
                Ok(None)
            } else {
                Err(bad("the connection closed inside a request head".into()))
            };
        }
        if raw == b"\r\n" || raw == b"\n" {
            raw.clear(); // a stray empty line between requests
            continue;
        }
        if raw.ends_with(b"\r\n\r\n") || raw.ends_with(b"\n\n") || raw.ends_with(b"\n\r\n") {
            break;
        }
    }
    parse(&raw).map(Some)
}

/// Decodes a complete head.
fn parse(raw: &[u8]) -> Result<Head, Refusal> {
    let bad = |msg: String| (400, msg);
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(raw) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(bad("incomplete request head".into())),
        Err(e) => return Err(bad(format!("malformed request head: {e}"))),
    }
    // Presence alone decides: any transfer coding is refused, so its
    // bytes need not be read.
    if req.headers.iter().any(|h| h.name.eq_ignore_ascii_case("transfer-encoding")) {
        return Err((411, "transfer codings are not supported: send a Content-Length".into()));
    }
    let one = |name: &str| -> Result<Option<&str>, Refusal> {
        let mut found = req.headers.iter().filter(|h| h.name.eq_ignore_ascii_case(name));
        let Some(h) = found.next() else { return Ok(None) };
        if found.next().is_some() {
            return Err(bad(format!("repeated {name} header")));
        }
        match std::str::from_utf8(h.value) {
            Ok(v) if v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) => Ok(Some(v.trim())),
            _ => Err(bad(format!("the {name} header is not printable ASCII"))),
        }
    };
    // One Content-Length, digits only (RFC 9112): anything else could be
    // read differently by a proxy in front.
    let content_length = match one("content-length")? {
        None => None,
        Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
            Some(v.parse::<u64>().map_err(|_| bad(format!("bad Content-Length `{v}`")))?)
        }
        Some(v) => return Err(bad(format!("bad Content-Length `{v}`"))),
    };
    Ok(Head {
        method: req.method.unwrap_or("").to_string(),
        path: req.path.unwrap_or("").to_string(),
        content_length,
        authorization: one("authorization")?.map(str::to_string),
        expect_continue: one("expect")?.is_some_and(|v| v.eq_ignore_ascii_case("100-continue")),
        close: one("connection")?.is_some_and(|v| v.eq_ignore_ascii_case("close")) || req.version == Some(0),
        stream: one("accept")?.is_some_and(|v| v.contains("application/x-ndjson")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &[u8]) -> Result<Option<Head>, Refusal> {
        read_head(&mut std::io::BufReader::new(raw))
    }

    #[test]
    fn a_plain_head_is_decoded() {
        let h =
            head(b"GET /v1/status HTTP/1.1\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n").unwrap().unwrap();
        assert_eq!((h.method.as_str(), h.path.as_str()), ("GET", "/v1/status"));
        assert_eq!(h.authorization.as_deref(), Some("Bearer t"));
        assert!(h.close && !h.stream && h.content_length.is_none());
    }

    #[test]
    fn a_transfer_encoding_that_is_not_text_is_refused_as_one_that_is() {
        assert_eq!(head(b"GET / HTTP/1.1\r\nTransfer-Encoding: \xff\r\n\r\n").unwrap_err().0, 411);
        assert_eq!(head(b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap_err().0, 411);
    }

    #[test]
    fn an_unreadable_or_repeated_header_the_worker_acts_on_is_a_400() {
        for raw in [
            &b"GET / HTTP/1.1\r\nAuthorization: Bearer \xff\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nConnection: \xc3\xa9\r\n\r\n",
            b"GET / HTTP/1.1\r\nAccept: \x80\r\n\r\n",
            b"GET / HTTP/1.1\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
        ] {
            assert_eq!(head(raw).unwrap_err().0, 400, "{}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn headers_the_worker_ignores_may_hold_any_bytes() {
        assert!(head(b"GET / HTTP/1.1\r\nX-Whatever: \xff\r\n\r\n").unwrap().is_some());
    }
}
