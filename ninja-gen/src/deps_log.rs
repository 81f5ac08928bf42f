//! `.ninja_deps`: the dependencies Ninja discovered (from depfiles or
//! `/showIncludes`) for the outputs of edges with `deps = gcc|msvc`.
//!
//! # Format (version 4, all integers little-endian)
//!
//! ```text
//! "# ninjadeps\n"            12-byte signature
//! i32 4                      version (also a byte-order mark)
//! records, each:
//!   u32 size                 bytes that follow; high bit set: a deps record
//!   path record:             the path, NUL-padded to a multiple of 4 bytes,
//!                            then u32 checksum = !id, where id is the number
//!                            of path records before this one
//!   deps record:             u32 output id, u64 mtime (ns) as two u32 (low
//!                            word first), then one u32 id per input
//! ```
//!
//! A record may not exceed 2^19 − 1 bytes. A path is given an id once, before
//! its first use. The file is only appended to, so the last deps record of an
//! output wins. Ninja stops reading at the first record that is truncated or
//! does not check out (an id out of range, a wrong checksum: two processes
//! wrote at once), truncates the file there and carries on; [`read`] reports
//! where that point is ([`ReadReport`]) and leaves the file alone, while
//! [`DepsLogWriter::open`] truncates like Ninja before appending.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::hash::hash_bytes;
use crate::intern::PathTable;

/// The first bytes of every deps log.
pub const SIGNATURE: &[u8; 12] = b"# ninjadeps\n";
/// The version this module reads and writes.
pub const VERSION: i32 = 4;
/// The largest record Ninja accepts (its read buffer's size).
pub const MAX_RECORD_SIZE: usize = (1 << 19) - 1;

const HEADER_LEN: usize = SIGNATURE.len() + 4;

/// Why a deps log cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DepsLogError {
    #[error("failed to read deps log `{path}`: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("failed to write deps log `{path}`: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("bad deps log signature: not a .ninja_deps file")]
    BadSignature,
    #[error("deps log version {0} is not supported (only version 4 is)")]
    BadVersion(i32),
    #[error("deps record for `{0}` exceeds the maximum record size")]
    RecordTooLarge(String),
    #[error("path {0:?} cannot be recorded (empty, too long, or containing NUL)")]
    InvalidPath(String),
}

/// The recorded dependencies of one output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deps {
    /// The output's mtime when they were recorded, in nanoseconds.
    pub mtime: u64,
    /// Ids of the inputs (see [`DepsLog::path`]).
    pub inputs: Vec<u32>,
}

/// What reading stopped at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadReport {
    /// Bytes of the file that were read as whole, valid records (with the
    /// header): where Ninja would truncate the file.
    pub valid_len: u64,
    /// Why reading stopped before the end, if it did.
    pub problem: Option<String>,
}

/// A deps log in memory: the paths (by id) and each output's deps.
#[derive(Debug, Default)]
pub struct DepsLog {
    paths: Vec<Box<str>>,
    table: PathTable,
    /// Indexed by the output's path id.
    deps: Vec<Option<Deps>>,
}

impl DepsLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many paths have ids.
    pub fn path_count(&self) -> usize {
        self.paths.len()
    }

    /// The path with id `id`.
    pub fn path(&self, id: u32) -> Option<&str> {
        self.paths.get(id as usize).map(|p| &**p)
    }

    /// The id of `path`, if it has one.
    pub fn id(&self, path: &str) -> Option<u32> {
        self.table.get(path, |id| &self.paths[id as usize])
    }

    /// The deps recorded for output `path`.
    pub fn get(&self, path: &str) -> Option<&Deps> {
        self.deps.get(self.id(path)? as usize)?.as_ref()
    }

    /// Every output with deps, in id order, with its deps.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Deps)> + '_ {
        self.deps.iter().enumerate().filter_map(|(id, d)| Some((&*self.paths[id], d.as_ref()?)))
    }

    /// The input paths of `deps`.
    pub fn input_paths<'s>(&'s self, deps: &'s Deps) -> impl Iterator<Item = &'s str> + 's {
        deps.inputs.iter().filter_map(|&id| self.path(id))
    }

    /// Records that `output` (with mtime `mtime`) depends on `inputs`.
    /// Returns false if that is what the log already says.
    pub fn record(&mut self, output: &str, mtime: u64, inputs: &[&str]) -> Result<bool, DepsLogError> {
        let mut scratch = Vec::new();
        self.record_encoded(output, mtime, inputs, &mut scratch)
    }

    /// [`DepsLog::record`], appending to `out` the records a file needs.
    fn record_encoded(
        &mut self,
        output: &str,
        mtime: u64,
        inputs: &[&str],
        out: &mut Vec<u8>,
    ) -> Result<bool, DepsLogError> {
        if 4 * (3 + inputs.len()) > MAX_RECORD_SIZE {
            return Err(DepsLogError::RecordTooLarge(output.to_string()));
        }
        if let Some(p) = std::iter::once(output).chain(inputs.iter().copied()).find(|p| !recordable(p)) {
            return Err(DepsLogError::InvalidPath(p.to_string()));
        }
        let start = out.len();
        // The deps record's size is known: one reservation, not a grow
        // per doubling.
        out.reserve(4 * (4 + inputs.len()));
        let out_id = self.intern(output, out);
        let ids: Vec<u32> = inputs.iter().map(|p| self.intern(p, out)).collect();
        let unchanged = out.len() == start
            && matches!(self.deps.get(out_id as usize), Some(Some(d)) if d.mtime == mtime && d.inputs == ids);
        if unchanged {
            return Ok(false);
        }
        encode_deps(out_id, mtime, &ids, out);
        self.set_deps(out_id, Deps { mtime, inputs: ids });
        Ok(true)
    }

    /// The id of `path`, giving it the next one (and encoding its record) if new.
    fn intern(&mut self, path: &str, out: &mut Vec<u8>) -> u32 {
        if let Some(id) = self.id(path) {
            return id;
        }
        let id = self.paths.len() as u32;
        encode_path(path, id, out);
        self.add_path(path);
        id
    }

    fn add_path(&mut self, path: &str) {
        self.table.insert_hashed(hash_bytes(path.as_bytes()), self.paths.len() as u32);
        self.paths.push(path.into());
    }

    fn set_deps(&mut self, out_id: u32, deps: Deps) {
        let i = out_id as usize;
        if self.deps.len() <= i {
            self.deps.resize(i + 1, None);
        }
        self.deps[i] = Some(deps);
    }

    /// The log as a compact file: every path, then every output's deps.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = header();
        for (id, path) in self.paths.iter().enumerate() {
            encode_path(path, id as u32, &mut out);
        }
        for (id, deps) in self.deps.iter().enumerate() {
            if let Some(d) = deps {
                encode_deps(id as u32, d.mtime, &d.inputs, &mut out);
            }
        }
        out
    }

    /// Writes the log, compacted, to `path` through a temporary file and a rename.
    pub fn write(&self, path: &Path) -> Result<(), DepsLogError> {
        crate::atomic::write_atomically(path, &self.to_bytes())
            .map_err(|source| DepsLogError::Write { path: path.to_path_buf(), source })
    }

    /// Reads a deps log from its bytes.
    pub fn parse(bytes: &[u8]) -> Result<(DepsLog, ReadReport), DepsLogError> {
        if bytes.len() < SIGNATURE.len() || &bytes[..SIGNATURE.len()] != SIGNATURE {
            return Err(DepsLogError::BadSignature);
        }
        let version = match bytes.get(SIGNATURE.len()..HEADER_LEN) {
            Some(v) => i32::from_le_bytes([v[0], v[1], v[2], v[3]]),
            None => return Err(DepsLogError::BadVersion(0)),
        };
        if version != VERSION {
            return Err(DepsLogError::BadVersion(version));
        }
        let mut log = DepsLog::new();
        let mut offset = HEADER_LEN;
        let problem = loop {
            let rest = &bytes[offset..];
            if rest.is_empty() {
                break None;
            }
            if rest.len() < 4 {
                break Some("premature end of file".to_string());
            }
            let word = u32_at(rest, 0);
            let is_deps = word & 0x8000_0000 != 0;
            let size = (word & 0x7fff_ffff) as usize;
            if size > MAX_RECORD_SIZE || rest.len() - 4 < size {
                break Some("premature end of file".to_string());
            }
            let record = &rest[4..4 + size];
            let ok = if is_deps { log.read_deps(record) } else { log.read_path(record) };
            if let Err(why) = ok {
                break Some(why);
            }
            offset += 4 + size;
        };
        Ok((log, ReadReport { valid_len: offset as u64, problem }))
    }

    fn read_deps(&mut self, record: &[u8]) -> Result<(), String> {
        if record.len() % 4 != 0 || record.len() < 12 {
            return Err("bad deps record size".to_string());
        }
        let known = self.paths.len() as u32;
        let out_id = u32_at(record, 0);
        let mtime = u64::from(u32_at(record, 4)) | u64::from(u32_at(record, 8)) << 32;
        let inputs: Vec<u32> = record[12..].chunks_exact(4).map(|c| u32_at(c, 0)).collect();
        if out_id >= known || inputs.iter().any(|&id| id >= known) {
            return Err("deps record names an unknown path id".to_string());
        }
        self.set_deps(out_id, Deps { mtime, inputs });
        Ok(())
    }

    fn read_path(&mut self, record: &[u8]) -> Result<(), String> {
        if record.len() < 5 {
            return Err("bad path record size".to_string());
        }
        let (mut name, checksum) = record.split_at(record.len() - 4);
        // Up to three bytes of NUL padding.
        for _ in 0..3 {
            if let Some(stripped) = name.strip_suffix(&[0]) {
                name = stripped;
            }
        }
        let expected = !u32_at(checksum, 0);
        if expected != self.paths.len() as u32 {
            return Err("path record checksum mismatch (concurrent writers?)".to_string());
        }
        let path = std::str::from_utf8(name).map_err(|_| "path record is not UTF-8".to_string())?;
        if path.is_empty() || path.contains('\0') || self.id(path).is_some() {
            return Err(format!("path record {path:?} is empty, repeats or contains NUL"));
        }
        self.add_path(path);
        Ok(())
    }
}

/// Reads the deps log at `path`.
pub fn read(path: &Path) -> Result<(DepsLog, ReadReport), DepsLogError> {
    let bytes = std::fs::read(path).map_err(|source| DepsLogError::Read { path: path.to_path_buf(), source })?;
    DepsLog::parse(&bytes)
}

/// Appends records to a deps log file as outputs are built, like Ninja.
#[derive(Debug)]
pub struct DepsLogWriter {
    log: DepsLog,
    file: File,
    path: PathBuf,
    /// The records of one [`DepsLogWriter::record`], reused.
    buf: Vec<u8>,
}

impl DepsLogWriter {
    /// Opens (creating if needed) the deps log at `path` for appending. A
    /// truncated or broken tail is cut off first, as Ninja does; a file with
    /// a bad signature or version is an error (Ninja would delete it).
    pub fn open(path: &Path) -> Result<(DepsLogWriter, ReadReport), DepsLogError> {
        let write_err = |source| DepsLogError::Write { path: path.to_path_buf(), source };
        let (log, report) = match std::fs::read(path) {
            Ok(bytes) if !bytes.is_empty() => DepsLog::parse(&bytes)?,
            Ok(_) => (DepsLog::new(), ReadReport { valid_len: 0, problem: None }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                (DepsLog::new(), ReadReport { valid_len: 0, problem: None })
            }
            Err(source) => return Err(DepsLogError::Read { path: path.to_path_buf(), source }),
        };
        let mut file = OpenOptions::new().create(true).append(true).open(path).map_err(write_err)?;
        if report.problem.is_some() {
            file.set_len(report.valid_len).map_err(write_err)?;
        }
        if report.valid_len == 0 {
            file.set_len(0).map_err(write_err)?;
            file.write_all(&header()).map_err(write_err)?;
        }
        Ok((DepsLogWriter { log, file, path: path.to_path_buf(), buf: Vec::new() }, report))
    }

    /// The log as read and recorded so far.
    pub fn log(&self) -> &DepsLog {
        &self.log
    }

    /// Records `output`'s deps and appends them to the file (in one write),
    /// unless the log already says the same. Returns whether it wrote.
    pub fn record(&mut self, output: &str, mtime: u64, inputs: &[&str]) -> Result<bool, DepsLogError> {
        // One buffer for the writer's life: a build records thousands of
        // compiles of hundreds of inputs each, and growing a fresh buffer
        // for each was a good part of the logging thread's time in a large
        // process (the allocator searching its free lists at every grow).
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let changed = self.log.record_encoded(output, mtime, inputs, &mut buf);
        let written = match changed {
            Ok(_) if !buf.is_empty() => self.file.write_all(&buf),
            _ => Ok(()),
        };
        self.buf = buf;
        written.map_err(|source| DepsLogError::Write { path: self.path.clone(), source })?;
        changed
    }
}

/// Whether `path` fits a path record and reads back the same: a NUL could
/// not be told from the padding.
fn recordable(path: &str) -> bool {
    !path.is_empty() && path.len() + 7 <= MAX_RECORD_SIZE && !path.contains('\0')
}

fn header() -> Vec<u8> {
    let mut out = SIGNATURE.to_vec();
    out.extend_from_slice(&VERSION.to_le_bytes());
    out
}

fn encode_path(path: &str, id: u32, out: &mut Vec<u8>) {
    let padding = (4 - path.len() % 4) % 4;
    out.extend_from_slice(&((path.len() + padding + 4) as u32).to_le_bytes());
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(&[0u8; 3][..padding]);
    out.extend_from_slice(&(!id).to_le_bytes());
}

fn encode_deps(out_id: u32, mtime: u64, inputs: &[u32], out: &mut Vec<u8>) {
    let size = 4 * (3 + inputs.len()) as u32;
    out.extend_from_slice(&(size | 0x8000_0000).to_le_bytes());
    out.extend_from_slice(&out_id.to_le_bytes());
    out.extend_from_slice(&(mtime as u32).to_le_bytes());
    out.extend_from_slice(&((mtime >> 32) as u32).to_le_bytes());
    for id in inputs {
        out.extend_from_slice(&id.to_le_bytes());
    }
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

#[cfg(test)]
#[path = "deps_log_tests.rs"]
mod tests;
