//! The store's encoding of a file's [`Parsed`] directives: a version tag,
//! length-prefixed fields and a trailing checksum (CRC-32: a compile
//! decodes a few hundred entries, and blake3's fixed cost per entry was
//! a few percent of a gg-cc process). A different tag or a
//! bad checksum makes [`decode`] say `None`, so a format change or a
//! damaged entry is re-lexed, never misread.

use super::directive::{Directive, Flags, Parsed, Spec};

/// Bump on any change to the encoding or to what the lexer extracts.
const MAGIC: &[u8] = b"gg-scan 5\n";
const CHECK: usize = 4;

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_spec(out: &mut Vec<u8>, spec: &Spec) {
    let (tag, s) = match spec {
        Spec::Quote(s) => (b'q', s),
        Spec::Angle(s) => (b'a', s),
        Spec::Computed(s) => (b'c', s),
    };
    out.push(tag);
    put_str(out, s);
}

fn checksum(bytes: &[u8]) -> [u8; CHECK] {
    crc32fast::hash(bytes).to_le_bytes()
}

/// A stored entry's defines, kept as encoded: a header such as glibc's
/// `features.h` has a hundred defines, and only a computed include ever
/// reads them (see `macros.rs`), while decoding each into owned text was
/// a tenth of a gg-cc process's instructions. Checked whole when read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Defines(Box<[u8]>);

impl Defines {
    /// Calls `f` with each define's name and object-like body (`None`:
    /// function-like).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&str, Option<&str>)) {
        let mut r = Reader { bytes: &self.0, at: 0 };
        while r.at < self.0.len() {
            // Checked when the entry was read: this cannot fail.
            let Some((name, body)) = r.define() else { return };
            f(name, body);
        }
    }
}

/// Writes `p`: its flags, then the directives that are not defines, then
/// the defines, from wherever `p` keeps them, as one section.
pub(crate) fn encode(p: &Parsed) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    let f = p.flags;
    out.push(
        u8::from(f.time_macros)
            | u8::from(f.incbin) << 1
            | u8::from(f.dot_include) << 2
            | u8::from(f.has_include) << 3
            | u8::from(f.file_macro) << 4,
    );
    let others = p.directives.iter().filter(|d| !matches!(d, Directive::Define(..)));
    out.extend_from_slice(&(others.clone().count() as u32).to_le_bytes());
    for d in others {
        match d {
            Directive::Include(spec) => {
                out.push(b'I');
                put_spec(&mut out, spec);
            }
            Directive::HasInclude(spec) => {
                out.push(b'H');
                put_spec(&mut out, spec);
            }
            Directive::Embed => out.push(b'E'),
            Directive::IncludeIfDefined(name) => {
                out.push(b'G');
                put_str(&mut out, name);
            }
            Directive::Define(..) => unreachable!("filtered out above"),
        }
    }
    p.for_each_define(|name, body| match body {
        Some(text) => {
            out.push(b'D');
            put_str(&mut out, name);
            put_str(&mut out, text);
        }
        None => {
            out.push(b'F');
            put_str(&mut out, name);
        }
    });
    let sum = checksum(&out);
    out.extend_from_slice(&sum);
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u32(&mut self) -> Option<usize> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize)
    }

    fn text(&mut self) -> Option<&'a str> {
        let n = self.u32()?;
        std::str::from_utf8(self.take(n)?).ok()
    }

    fn str(&mut self) -> Option<String> {
        self.text().map(str::to_string)
    }

    fn spec(&mut self) -> Option<Spec> {
        Some(match self.byte()? {
            b'q' => Spec::Quote(self.str()?),
            b'a' => Spec::Angle(self.str()?),
            b'c' => Spec::Computed(self.str()?),
            _ => return None,
        })
    }

    /// One define record: name, and body if object-like.
    fn define(&mut self) -> Option<(&'a str, Option<&'a str>)> {
        match self.byte()? {
            b'D' => Some((self.text()?, Some(self.text()?))),
            b'F' => Some((self.text()?, None)),
            _ => None,
        }
    }
}

pub(crate) fn decode(bytes: &[u8]) -> Option<Parsed> {
    let body_len = bytes.len().checked_sub(CHECK)?;
    let (body, sum) = bytes.split_at(body_len);
    if !body.starts_with(MAGIC) || checksum(body) != sum {
        return None;
    }
    let mut r = Reader { bytes: body, at: MAGIC.len() };
    let f = r.byte()?;
    let flags = Flags {
        time_macros: f & 1 != 0,
        incbin: f & 2 != 0,
        dot_include: f & 4 != 0,
        has_include: f & 8 != 0,
        file_macro: f & 16 != 0,
    };
    let count = r.u32()?;
    // Bounded by the bytes present: a lying count cannot make us allocate.
    let mut directives = Vec::with_capacity(count.min(body.len()));
    for _ in 0..count {
        directives.push(match r.byte()? {
            b'I' => Directive::Include(r.spec()?),
            b'H' => Directive::HasInclude(r.spec()?),
            b'E' => Directive::Embed,
            b'G' => Directive::IncludeIfDefined(r.str()?),
            _ => return None,
        });
    }
    // The rest is defines: checked here, read when asked for.
    let section = r.at;
    while r.at < body.len() {
        r.define()?;
    }
    let stored_defines = (section < body.len()).then(|| Defines(body[section..].into()));
    Some(Parsed { flags, directives, stored_defines })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::directive::Body;

    fn sample() -> Parsed {
        Parsed {
            flags: Flags { time_macros: true, incbin: false, dot_include: true, has_include: false, file_macro: true },
            directives: vec![
                Directive::Include(Spec::Quote("a.h".into())),
                Directive::Include(Spec::Angle("sys/b.h".into())),
                Directive::HasInclude(Spec::Computed("M".into())),
                Directive::Define("M".into(), Body::Object("<c.h>".into())),
                Directive::Define("F".into(), Body::Function),
                Directive::Embed,
            ],
            stored_defines: None,
        }
    }

    #[test]
    fn an_entry_decodes_to_what_was_encoded() {
        let p = sample();
        let back = decode(&encode(&p)).unwrap();
        assert_eq!(back.read_back(), p.read_back());
        assert_eq!(back.read_back().2, [("M".to_string(), Some("<c.h>".to_string())), ("F".to_string(), None)]);
        assert!(back.directives.iter().all(|d| !matches!(d, Directive::Define(..))), "defines stay encoded");
        assert_eq!(decode(&encode(&back)), Some(back), "a decoded entry encodes to itself");
        assert_eq!(decode(&encode(&Parsed::default())), Some(Parsed::default()));
    }

    #[test]
    fn damaged_truncated_or_foreign_entries_are_refused() {
        let bytes = encode(&sample());
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), None, "truncated at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[MAGIC.len() + 7] ^= 1;
        assert_eq!(decode(&flipped), None);
        let mut other_version = bytes;
        other_version[MAGIC.len() - 2] = b'0';
        assert_eq!(decode(&other_version), None);
    }
}
