//! `.ninja_log`: when each output was last built, and by which command.
//!
//! # Format
//!
//! ```text
//! # ninja log v5
//! 12\t140\t1712345678901234567\tobj/a.o\t3f2a9c0d1e2b4a59
//! ```
//!
//! After the signature line, one line per output built: start and end time
//! of the command in milliseconds since the build started, the output's
//! mtime (nanoseconds), the output path, and a 64-bit hash of the command in
//! lowercase hex without leading zeros. The file is appended to on every
//! build, so the last line of an output wins.
//!
//! Versions: v5 (Ninja 1.10–1.11) and v6 (1.12) have the same layout and
//! hash, [`hash_command`] (MurmurHash64A, seed `0xDECAFBADDECAFBAD`); v6 only
//! changed what the mtime column means (when the command started, not the
//! output's mtime afterwards). v7 (1.13) hashes with rapidhash instead. All
//! three are read; [`BuildLog::version`] says which hash the entries carry.
//! New logs are written as v5, what Ninja 1.11 writes and accepts.
//!
//! Reading follows Ninja: a line with too few tab-separated fields is
//! skipped, as is a last line with no newline (a build killed mid-write);
//! numbers are read as C's `atoi`/`strtoull` read them.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::hash::FxHashMap;

/// The version new logs are written in.
pub const WRITE_VERSION: u32 = 5;
/// The oldest version read (v4 stored commands instead of hashes).
pub const OLDEST_READ_VERSION: u32 = 5;
/// The newest version read.
pub const NEWEST_READ_VERSION: u32 = 7;

/// Why a build log cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BuildLogError {
    #[error("failed to read build log `{path}`: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("failed to write build log `{path}`: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("not a build log: the first line is not `# ninja log vN`")]
    BadSignature,
    #[error("build log version {0} is too old (the oldest read is 5)")]
    TooOld(u32),
    #[error("build log version {0} is too new (the newest read is 7)")]
    TooNew(u32),
    #[error("cannot write build log version {0}")]
    UnwritableVersion(u32),
}

/// One output's last build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The output path, as in the manifest (canonical).
    pub output: String,
    /// The command's hash ([`hash_command`] for v5 and v6).
    pub command_hash: u64,
    /// When the command started, in ms since the build started.
    pub start_ms: i32,
    /// When it ended, likewise.
    pub end_ms: i32,
    /// The mtime recorded for the output, in nanoseconds.
    pub mtime: i64,
}

/// A build log in memory: the latest entry of each output, in the order
/// outputs first appeared.
#[derive(Debug, Clone)]
pub struct BuildLog {
    version: u32,
    entries: Vec<LogEntry>,
    index: FxHashMap<String, usize>,
}

impl Default for BuildLog {
    fn default() -> Self {
        BuildLog { version: WRITE_VERSION, entries: Vec::new(), index: FxHashMap::default() }
    }
}

impl BuildLog {
    /// An empty log, to be written as v5.
    pub fn new() -> Self {
        Self::default()
    }

    /// The version read (or [`WRITE_VERSION`] for a new log); `write` keeps it.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The latest entry of every output.
    pub fn entries(&self) -> &[LogEntry] {
        &self.entries
    }

    /// The latest entry for `output`.
    pub fn get(&self, output: &str) -> Option<&LogEntry> {
        self.index.get(output).map(|&i| &self.entries[i])
    }

    /// Adds an entry, replacing any for the same output.
    pub fn insert(&mut self, entry: LogEntry) {
        match self.index.get(&entry.output) {
            Some(&i) => self.entries[i] = entry,
            None => {
                self.index.insert(entry.output.clone(), self.entries.len());
                self.entries.push(entry);
            }
        }
    }

    /// Reads a build log from its text.
    pub fn parse(bytes: &[u8]) -> Result<BuildLog, BuildLogError> {
        let first_end = memchr::memchr(b'\n', bytes).unwrap_or(bytes.len());
        let version = parse_signature(&bytes[..first_end]).ok_or(BuildLogError::BadSignature)?;
        if version < OLDEST_READ_VERSION {
            return Err(BuildLogError::TooOld(version));
        }
        if version > NEWEST_READ_VERSION {
            return Err(BuildLogError::TooNew(version));
        }
        let mut log = BuildLog { version, ..BuildLog::default() };
        let mut rest = bytes;
        // Only lines that end in a newline count.
        while let Some(end) = memchr::memchr(b'\n', rest) {
            if let Some(entry) = parse_line(&rest[..end]) {
                log.insert(entry);
            }
            rest = &rest[end + 1..];
        }
        Ok(log)
    }

    /// The log's text: the signature line, then one line per entry.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("# ninja log v{}\n", self.version).into_bytes();
        for e in &self.entries {
            out.extend_from_slice(format_line(e).as_bytes());
        }
        out
    }

    /// Writes the log (one line per output) to `path` through a temporary
    /// file and a rename.
    pub fn write(&self, path: &Path) -> Result<(), BuildLogError> {
        if !(OLDEST_READ_VERSION..=NEWEST_READ_VERSION).contains(&self.version) {
            return Err(BuildLogError::UnwritableVersion(self.version));
        }
        crate::atomic::write_atomically(path, &self.to_bytes())
            .map_err(|source| BuildLogError::Write { path: path.to_path_buf(), source })
    }
}

/// Reads the build log at `path`.
pub fn read(path: &Path) -> Result<BuildLog, BuildLogError> {
    let bytes = std::fs::read(path).map_err(|source| BuildLogError::Read { path: path.to_path_buf(), source })?;
    BuildLog::parse(&bytes)
}

/// Appends entries to the log at `path` as Ninja does after each command,
/// writing a v5 signature first if the file is new or empty. (Appending to
/// a log of another version would mix hashes: read it and `write` instead.)
pub fn append(path: &Path, entries: &[LogEntry]) -> Result<(), BuildLogError> {
    let err = |source| BuildLogError::Write { path: path.to_path_buf(), source };
    let mut file = OpenOptions::new().create(true).append(true).open(path).map_err(err)?;
    let mut text = String::new();
    if file.metadata().map_err(err)?.len() == 0 {
        text.push_str(&format!("# ninja log v{WRITE_VERSION}\n"));
    }
    for e in entries {
        text.push_str(&format_line(e));
    }
    // One write, so a concurrent reader sees whole lines.
    file.write_all(text.as_bytes()).map_err(err)
}

/// The hash Ninja 1.10–1.12 (logs v5 and v6) records for a command:
/// MurmurHash64A with seed `0xDECAFBADDECAFBAD`. The command is what
/// [`crate::Graph::command_for_log`] returns.
pub fn hash_command(command: &str) -> u64 {
    murmur_hash_64a(command.as_bytes(), 0xDECA_FBAD_DECA_FBAD)
}

/// Austin Appleby's MurmurHash64A.
pub fn murmur_hash_64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut k =
            u64::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

fn format_line(e: &LogEntry) -> String {
    format!("{}\t{}\t{}\t{}\t{:x}\n", e.start_ms, e.end_ms, e.mtime, e.output, e.command_hash)
}

/// `# ninja log v%d` as `sscanf` reads it.
fn parse_signature(line: &[u8]) -> Option<u32> {
    let rest = line.strip_prefix(b"# ninja log v")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// `start\tend\tmtime\toutput\thash`; `None` for a line Ninja skips.
fn parse_line(line: &[u8]) -> Option<LogEntry> {
    let mut fields = line.splitn(5, |&b| b == b'\t');
    let start = fields.next()?;
    let end = fields.next()?;
    let mtime = fields.next()?;
    let output = fields.next()?;
    let hash = fields.next()?;
    Some(LogEntry {
        output: String::from_utf8_lossy(output).into_owned(),
        command_hash: parse_hex(hash),
        start_ms: parse_int(start).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
        end_ms: parse_int(end).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
        mtime: parse_int(mtime),
    })
}

/// Leading whitespace, an optional sign, then decimal digits (saturating).
fn parse_int(field: &[u8]) -> i64 {
    let field = trim_start(field);
    let (neg, digits) = match field.first() {
        Some(b'-') => (true, &field[1..]),
        Some(b'+') => (false, &field[1..]),
        _ => (false, field),
    };
    let mut n: i64 = 0;
    for &b in digits.iter().take_while(|b| b.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg {
        -n
    } else {
        n
    }
}

/// Hex digits after optional whitespace and `0x`, as `strtoull(s, 0, 16)`.
fn parse_hex(field: &[u8]) -> u64 {
    let field = trim_start(field);
    let field = field.strip_prefix(b"0x").or_else(|| field.strip_prefix(b"0X")).unwrap_or(field);
    let mut n: u64 = 0;
    for &b in field {
        let Some(d) = (b as char).to_digit(16) else { break };
        n = n.saturating_mul(16).saturating_add(u64::from(d));
    }
    n
}

fn trim_start(field: &[u8]) -> &[u8] {
    let skip = field.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &field[skip..]
}

#[cfg(test)]
#[path = "build_log_tests.rs"]
mod tests;
