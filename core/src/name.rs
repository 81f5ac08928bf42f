//! Content names: `V…` for values, `T…` for thunks, `T…#output` for one
//! output of a thunk.
//!
//! A name is a kind letter, the blake3 digest of the bytes in base64url
//! without padding (always 43 characters), and the size in lowercase hex
//! without leading zeros. Carrying the size lets a scheduler plan transfers
//! and lets the store reject a truncated blob without hashing it.

use std::fmt;
use std::io::{self, Read};
use std::path::Path;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Length of a base64url-encoded 32-byte digest without padding.
const DIGEST_CHARS: usize = 43;

/// Whether a blob is plain data or the canonical encoding of a thunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Value,
    Thunk,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Kind::Value => 'V',
            Kind::Thunk => 'T',
        }
    }
}

/// The content name of a blob: its kind, blake3 digest and size.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Name {
    kind: Kind,
    digest: [u8; 32],
    size: u64,
}

/// A name is already a hash: eight bytes of its digest are as good a key
/// as all 41 (equal names still compare whole), and a build looks names up
/// in maps hundreds of times per compile.
impl std::hash::Hash for Name {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let mut head = [0u8; 8];
        head.copy_from_slice(&self.digest[..8]);
        state.write_u64(u64::from_le_bytes(head));
    }
}

/// Why a string is not a name; the message quotes the string.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed name `{text}`: {why}")]
pub struct NameError {
    pub text: String,
    pub why: &'static str,
}

impl Name {
    pub fn new(kind: Kind, digest: [u8; 32], size: u64) -> Name {
        Name { kind, digest, size }
    }

    /// Names `bytes` as a value.
    pub fn of_value(bytes: &[u8]) -> Name {
        Name::new(Kind::Value, *blake3::hash(bytes).as_bytes(), bytes.len() as u64)
    }

    /// Names `bytes` with the given kind (a thunk's canonical encoding is
    /// hashed exactly like a value; only the letter differs).
    pub fn of_bytes(kind: Kind, bytes: &[u8]) -> Name {
        Name::new(kind, *blake3::hash(bytes).as_bytes(), bytes.len() as u64)
    }

    /// Hashes everything `reader` yields as a value.
    pub fn of_reader(mut reader: impl Read) -> io::Result<Name> {
        let mut hasher = blake3::Hasher::new();
        // Large reads let blake3 use its widest SIMD path.
        let mut buf = vec![0u8; 1 << 20];
        let mut size = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        Ok(Name::new(Kind::Value, *hasher.finalize().as_bytes(), size))
    }

    /// Hashes a file's contents as a value. Large files are memory-mapped
    /// (no copy through a buffer); blake3 falls back to reading small ones.
    pub fn of_file(path: &Path) -> io::Result<Name> {
        let mut hasher = blake3::Hasher::new();
        hasher.update_mmap(path)?;
        Ok(Name::new(Kind::Value, *hasher.finalize().as_bytes(), hasher.count()))
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    pub fn is_thunk(&self) -> bool {
        self.kind == Kind::Thunk
    }

    /// The same digest and size under another kind.
    pub fn with_kind(&self, kind: Kind) -> Name {
        Name { kind, ..*self }
    }
}

impl Name {
    /// The name as 41 bytes: kind (0 value, 1 thunk), digest, size
    /// (little-endian), for binary records.
    pub fn to_raw(&self) -> [u8; 41] {
        let mut out = [0u8; 41];
        out[0] = match self.kind {
            Kind::Value => 0,
            Kind::Thunk => 1,
        };
        out[1..33].copy_from_slice(&self.digest);
        out[33..].copy_from_slice(&self.size.to_le_bytes());
        out
    }

    /// The name [`Name::to_raw`] wrote, if `raw` is one.
    pub fn from_raw(raw: &[u8]) -> Option<Name> {
        let raw: &[u8; 41] = raw.try_into().ok()?;
        let kind = match raw[0] {
            0 => Kind::Value,
            1 => Kind::Thunk,
            _ => return None,
        };
        let digest: [u8; 32] = raw[1..33].try_into().ok()?;
        let size = u64::from_le_bytes(raw[33..].try_into().ok()?);
        Some(Name { kind, digest, size })
    }

    /// Appends the name's text to `out`; no allocation of its own (thunk
    /// encodings write hundreds of names each, twice per compile sent:
    /// the base64 crate's general engine and `write!` took some 900
    /// instructions a name, this about a third; `FromStr` still decodes
    /// with the crate, and a test holds the two spellings equal).
    pub fn push_to(&self, out: &mut String) {
        const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [0u8; 1 + DIGEST_CHARS + 16];
        text[0] = self.kind.letter() as u8;
        let d = &self.digest;
        // Ten whole groups of three bytes, then the last two bytes as
        // three characters (no padding): fixed places, no bounds to check.
        for (g, o) in d[..30].chunks_exact(3).zip(text[1..41].chunks_exact_mut(4)) {
            let v = u32::from(g[0]) << 16 | u32::from(g[1]) << 8 | u32::from(g[2]);
            o[0] = B64[(v >> 18) as usize & 63];
            o[1] = B64[(v >> 12) as usize & 63];
            o[2] = B64[(v >> 6) as usize & 63];
            o[3] = B64[v as usize & 63];
        }
        let v = u32::from(d[30]) << 16 | u32::from(d[31]) << 8;
        text[41] = B64[(v >> 18) as usize & 63];
        text[42] = B64[(v >> 12) as usize & 63];
        text[43] = B64[(v >> 6) as usize & 63];
        // The size in lowercase hex, no leading zeros (0 is "0").
        let digits = (64 - self.size.leading_zeros() as usize).div_ceil(4).max(1);
        for (i, t) in text[1 + DIGEST_CHARS..1 + DIGEST_CHARS + digits].iter_mut().enumerate() {
            *t = HEX[(self.size >> (4 * (digits - 1 - i))) as usize & 15];
        }
        let text = &text[..1 + DIGEST_CHARS + digits];
        debug_assert!(text.is_ascii());
        // SAFETY: every byte is the kind letter or from the ASCII tables
        // above. (Checking it again cost a third of the function.)
        out.push_str(unsafe { std::str::from_utf8_unchecked(text) });
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::with_capacity(1 + DIGEST_CHARS + 16);
        self.push_to(&mut text);
        f.write_str(&text)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Name {
    type Err = NameError;

    fn from_str(text: &str) -> Result<Name, NameError> {
        let err = |why| NameError { text: text.to_string(), why };
        let kind = match text.as_bytes().first() {
            Some(b'V') => Kind::Value,
            Some(b'T') => Kind::Thunk,
            _ => return Err(err("must start with V (value) or T (thunk)")),
        };
        if !text.is_ascii() {
            return Err(err("names are ASCII"));
        }
        let rest = &text[1..];
        if rest.len() <= DIGEST_CHARS {
            return Err(err("too short for a digest and a size"));
        }
        let (b64, hex) = rest.split_at(DIGEST_CHARS);
        let bytes = URL_SAFE_NO_PAD.decode(b64).map_err(|_| err("digest is not base64url"))?;
        let digest: [u8; 32] = bytes.try_into().map_err(|_| err("digest is not 32 bytes"))?;
        // Exactly one spelling per name, so that names compare as strings.
        if URL_SAFE_NO_PAD.encode(digest) != b64 {
            return Err(err("digest is not canonical base64url"));
        }
        if !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(err("size is not lowercase hex"));
        }
        if hex.len() > 1 && hex.starts_with('0') {
            return Err(err("size has leading zeros"));
        }
        let size = u64::from_str_radix(hex, 16).map_err(|_| err("size does not fit 64 bits"))?;
        Ok(Name { kind, digest, size })
    }
}

/// A reference to one output of a thunk, `T…#output`; a bare `T…` means the
/// thunk's first declared output.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutputRef {
    pub thunk: Name,
    /// `None` for the first declared output.
    pub output: Option<String>,
}

impl OutputRef {
    pub fn first(thunk: Name) -> OutputRef {
        OutputRef { thunk, output: None }
    }
}

impl fmt::Display for OutputRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.output {
            Some(o) => write!(f, "{}#{}", self.thunk, o),
            None => write!(f, "{}", self.thunk),
        }
    }
}

impl fmt::Debug for OutputRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for OutputRef {
    type Err = NameError;

    fn from_str(text: &str) -> Result<OutputRef, NameError> {
        let (name, output) = match text.split_once('#') {
            Some((n, o)) => (n, Some(o)),
            None => (text, None),
        };
        let thunk: Name = name.parse().map_err(|e: NameError| NameError { text: text.into(), why: e.why })?;
        if !thunk.is_thunk() {
            return Err(NameError { text: text.into(), why: "an output reference must name a thunk (T…)" });
        }
        if output == Some("") {
            return Err(NameError { text: text.into(), why: "empty output name after #" });
        }
        Ok(OutputRef { thunk, output: output.map(str::to_string) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_the_base64_crates_spelling_with_hex_size() {
        // Sizes at every digit count, digests of every byte pattern.
        for (i, size) in [0u64, 1, 15, 16, 255, 4096, 0xdead_beef, u64::MAX].into_iter().enumerate() {
            for seed in 0..64u8 {
                let mut digest = [0u8; 32];
                for (j, b) in digest.iter_mut().enumerate() {
                    *b = seed.wrapping_mul(37).wrapping_add((j as u8).wrapping_mul(101)).wrapping_add(i as u8);
                }
                let kind = if seed % 2 == 0 { Kind::Value } else { Kind::Thunk };
                let n = Name { kind, digest, size };
                let want = format!("{}{}{size:x}", kind.letter(), URL_SAFE_NO_PAD.encode(digest));
                assert_eq!(n.to_string(), want);
                assert_eq!(want.parse::<Name>().unwrap(), n);
            }
        }
    }

    #[test]
    fn a_name_round_trips_through_its_text() {
        let n = Name::of_value(b"hello world");
        let text = n.to_string();
        assert!(text.starts_with('V'));
        assert!(text.ends_with('b'), "size 11 is hex b: {text}");
        assert_eq!(text.parse::<Name>().unwrap(), n);
    }

    #[test]
    fn a_name_round_trips_through_its_raw_bytes_and_bad_ones_are_refused() {
        let n = Name::of_bytes(Kind::Thunk, b"a thunk");
        assert_eq!(Name::from_raw(&n.to_raw()), Some(n));
        let v = Name::of_value(&[7; 70_000]);
        assert_eq!(Name::from_raw(&v.to_raw()), Some(v));
        let mut bad = v.to_raw();
        bad[0] = 2;
        assert_eq!(Name::from_raw(&bad), None, "no such kind");
        assert_eq!(Name::from_raw(&v.to_raw()[..40]), None, "too short");
    }

    #[test]
    fn the_empty_value_has_size_zero() {
        let n = Name::of_value(b"");
        assert!(n.to_string().ends_with('0'));
        assert_eq!(n.to_string().len(), 1 + 43 + 1);
    }

    #[test]
    fn reader_and_slice_hashing_agree() {
        let data = vec![7u8; 3 << 20];
        assert_eq!(Name::of_reader(&data[..]).unwrap(), Name::of_value(&data));
    }

    #[test]
    fn file_hashing_agrees_with_hashing_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0usize, 5, 1 << 20] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let p = dir.path().join(format!("f{len}"));
            std::fs::write(&p, &data).unwrap();
            assert_eq!(Name::of_file(&p).unwrap(), Name::of_value(&data));
        }
    }

    #[test]
    fn malformed_names_are_rejected_with_the_text() {
        let good = Name::of_value(b"x").to_string();
        for bad in [
            String::new(),
            "X".to_string(),
            good.replace('V', "Q"),
            good[..40].to_string(),
            format!("{good}Z"),
            format!("{}01", &good[..44]),
            format!("{}A", &good[..44]),
            format!("{}!{}", &good[..5], &good[6..]),
            format!("V{}é1", "A".repeat(42)),
        ] {
            let e = bad.parse::<Name>().unwrap_err();
            assert_eq!(e.text, bad);
            assert!(e.to_string().contains(&bad), "{e}");
        }
    }

    #[test]
    fn output_refs_parse_with_and_without_an_output() {
        let t = Name::of_value(b"t").with_kind(Kind::Thunk);
        let r: OutputRef = format!("{t}#a.o").parse().unwrap();
        assert_eq!(r.output.as_deref(), Some("a.o"));
        assert_eq!(r.to_string(), format!("{t}#a.o"));
        let bare: OutputRef = t.to_string().parse().unwrap();
        assert_eq!(bare.output, None);
        let v = Name::of_value(b"t");
        assert!(format!("{v}#a").parse::<OutputRef>().is_err());
        assert!(format!("{t}#").parse::<OutputRef>().is_err());
    }
}
