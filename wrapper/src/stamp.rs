//! File stamps: what direct mode records of each input and compares on a
//! hit before trusting the file unread ([`Stat`]), and the clock they are
//! read against. Shared by the manifest and by shadowing checks. Also
//! [`FileStamp`], the stat a per-process or on-disk memo compares before
//! reusing what it learnt of a file or folder (the include scanner's
//! facts and listings, gg ninja's tool cache).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// A file modified this recently may still be changing within the stat
/// granularity: its stat is not trusted (it will be hashed on lookup).
const TOO_NEW_NS: i128 = 2_000_000_000;

/// What a hit compares before trusting a file unread. Size and times alone
/// do not name a file: two headers written in the same tick look alike,
/// and a link retargeted or a folder renamed swaps one for the other under
/// the same path. The device and inode tell them apart; any difference
/// means the file is hashed again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    /// Nanoseconds since the epoch.
    pub mtime: i128,
    pub ctime: i128,
}

/// The fields by name, for human-readable formats.
#[derive(Serialize, Deserialize)]
struct StatFields {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i128,
    ctime: i128,
}

/// Bytes of a [`Stat`] in binary formats: the fields little-endian.
const STAT_BYTES: usize = 3 * 8 + 2 * 16;

/// In binary formats (the direct-mode manifests, which record one per
/// input, hundreds per compile) one run of fixed-width bytes: postcard's
/// variable-length integers, two of them 128 bits wide, were the larger
/// part of encoding a manifest.
impl Serialize for Stat {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            let Stat { dev, ino, size, mtime, ctime } = *self;
            return StatFields { dev, ino, size, mtime, ctime }.serialize(s);
        }
        let mut b = [0u8; STAT_BYTES];
        b[..8].copy_from_slice(&self.dev.to_le_bytes());
        b[8..16].copy_from_slice(&self.ino.to_le_bytes());
        b[16..24].copy_from_slice(&self.size.to_le_bytes());
        b[24..40].copy_from_slice(&self.mtime.to_le_bytes());
        b[40..].copy_from_slice(&self.ctime.to_le_bytes());
        s.serialize_bytes(&b)
    }
}

impl<'de> Deserialize<'de> for Stat {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Stat, D::Error> {
        if d.is_human_readable() {
            let StatFields { dev, ino, size, mtime, ctime } = StatFields::deserialize(d)?;
            return Ok(Stat { dev, ino, size, mtime, ctime });
        }
        d.deserialize_bytes(RawStat)
    }
}

struct RawStat;

impl serde::de::Visitor<'_> for RawStat {
    type Value = Stat;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a stat's {STAT_BYTES} bytes")
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Stat, E> {
        let b: &[u8; STAT_BYTES] = v.try_into().map_err(|_| E::invalid_length(v.len(), &self))?;
        let u = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let t = |i: usize| i128::from_le_bytes(b[i..i + 16].try_into().expect("16 bytes"));
        Ok(Stat { dev: u(0), ino: u(8), size: u(16), mtime: t(24), ctime: t(40) })
    }
}

/// The stat of a file (through links), or None if it cannot be trusted or
/// read.
pub fn stat_of(path: &Path, now_ns: i128) -> Option<Stat> {
    stat_of_meta(&fs::metadata(path).ok()?, now_ns)
}

/// [`stat_of`] from metadata the caller has (say, from [`crate::snapshot`]).
pub fn stat_of_meta(m: &fs::Metadata, now_ns: i128) -> Option<Stat> {
    let mtime = m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128;
    let ctime = m.ctime() as i128 * 1_000_000_000 + m.ctime_nsec() as i128;
    if now_ns - mtime.max(ctime) < TOO_NEW_NS {
        return None;
    }
    Some(Stat { dev: m.dev(), ino: m.ino(), size: m.len(), mtime, ctime })
}

/// Whether `path` was modified (or its inode changed) at or after `since`
/// (nanoseconds since the epoch).
pub fn changed_since(path: &Path, since: i128) -> bool {
    let Ok(m) = fs::metadata(path) else { return true };
    let mtime = m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128;
    let ctime = m.ctime() as i128 * 1_000_000_000 + m.ctime_nsec() as i128;
    mtime.max(ctime) >= since
}

/// Nanoseconds since the epoch.
pub fn now_ns() -> i128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
}

/// What identifies a file's (or folder's) state without reading it:
/// device, inode, size, and modification and change times to the
/// nanosecond. A file whose stamp is unchanged is taken to hold the same
/// bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileStamp {
    pub fn of_meta(m: &fs::Metadata) -> FileStamp {
        FileStamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }

    /// The stamp as 56 bytes (on-disk memos).
    pub fn to_bytes(&self) -> [u8; 56] {
        let mut out = [0; 56];
        let fields = [
            self.dev,
            self.ino,
            self.size,
            self.mtime.0 as u64,
            self.mtime.1 as u64,
            self.ctime.0 as u64,
            self.ctime.1 as u64,
        ];
        for (chunk, f) in out.chunks_exact_mut(8).zip(fields) {
            chunk.copy_from_slice(&f.to_le_bytes());
        }
        out
    }

    /// The stamp [`FileStamp::to_bytes`] wrote, or `None` if `bytes` is
    /// not 56 long.
    pub fn from_bytes(bytes: &[u8]) -> Option<FileStamp> {
        if bytes.len() != 56 {
            return None;
        }
        let f = |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap());
        Some(FileStamp {
            dev: f(0),
            ino: f(1),
            size: f(2),
            mtime: (f(3) as i64, f(4) as i64),
            ctime: (f(5) as i64, f(6) as i64),
        })
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The stamp of the file `path` leads to.
    pub fn of(path: &Path) -> std::io::Result<FileStamp> {
        Ok(FileStamp::of_meta(&fs::metadata(path)?))
    }

    /// Whether a read that started at `read_at` may have missed a change
    /// made within `racy` of the stamp's mtime (adding a name or writing
    /// bytes moves the mtime; setting it back moves the ctime, which the
    /// stamp compares, so only the mtime can be racy).
    pub fn is_racy(&self, read_at: std::time::SystemTime, racy: std::time::Duration) -> bool {
        let Ok(read) = read_at.duration_since(std::time::SystemTime::UNIX_EPOCH) else { return true };
        let changed = std::time::Duration::new(self.mtime.0.max(0) as u64, self.mtime.1.clamp(0, 999_999_999) as u32);
        changed + racy > read
    }

    /// Whether the file last changed at least `settle` before `since`, so
    /// that any change after `since` shows in its ctime (which no one can
    /// set back).
    pub fn settled(&self, since: std::time::SystemTime, settle: std::time::Duration) -> bool {
        let changed = i128::from(self.ctime.0) * 1_000_000_000 + i128::from(self.ctime.1);
        let since = since.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128);
        changed + settle.as_nanos() as i128 <= since
    }
}

#[cfg(test)]
mod tests {
    use super::{Stat, STAT_BYTES};

    #[test]
    fn a_stat_round_trips_through_postcard_and_json() {
        let st = Stat { dev: 0x803, ino: u64::MAX - 5, size: 12345, mtime: -7, ctime: 1_733_000_000_123_456_789 };
        let raw = postcard::to_allocvec(&st).unwrap();
        assert_eq!(raw.len(), 1 + STAT_BYTES, "one length byte and the fields");
        assert_eq!(postcard::from_bytes::<Stat>(&raw).unwrap(), st);
        // A short run is refused, not read as another stat.
        let mut short = raw;
        short[0] -= 1;
        short.pop();
        assert!(postcard::from_bytes::<Stat>(&short).is_err());
        let json = serde_json::to_string(&st).unwrap();
        assert!(json.contains("\"ino\""), "{json}");
        assert_eq!(serde_json::from_str::<Stat>(&json).unwrap(), st);
    }
}
