//! The facts index: what gg learnt of each header (its stamp, content
//! hash and directives), kept in the store per folder so that the next
//! process that meets the header trusts its `stat` instead of reading,
//! hashing and lexing it again (ccache's inode cache does this for its
//! hashes). gg-cc is one process per compile, so without it every compile
//! reads its hundred headers anew.
//!
//! One file per folder, `scan/dirs/<2 chars>/<hash of the folder path>`:
//! a tag, the folder path (a hash collision is then a miss), records of
//! name, stamp, content name (raw, [`Name::to_raw`]) and encoded directives, and a CRC-32 over
//! all of it (against a file damaged on disk: a torn write cannot happen,
//! as the file is renamed into place; CRC-32 checks the 400 KB a compile
//! reads some ten times faster than blake3). A record is written only for a file read well after its
//! last change (as the in-process cache trusts it), and used only while
//! the file's stamp (device, inode, size, both times to the nanosecond)
//! is the same. A damaged, foreign or unreadable index is a miss; a full
//! or read-only store only loses the index. Processes that learn new
//! records merge them into the current file and rename a new one over
//! it: two at once may lose one's records, which only costs a later read.

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use gg_core::Name;

use super::directive::Parsed;
use super::dirs::Stamp;
use super::encode;
use super::fxhash::FxMap;

const MAGIC: &[u8] = b"gg-scan-index 2\n";
const CHECK: usize = 4;
/// An index past this size is started afresh on the next merge (records
/// of files long gone would otherwise pile up).
const MAX_BYTES: usize = 8 << 20;

/// One header's record, its directives left encoded until asked for.
#[derive(Debug)]
struct Record {
    stamp: Stamp,
    hash: Name,
    parsed: Range<usize>,
}

/// One folder's index as read.
#[derive(Debug, Default)]
struct Folder {
    bytes: Vec<u8>,
    records: FxMap<String, Record>,
}

/// A record learnt by this process, waiting for [`flush`].
struct Learnt {
    stamp: Stamp,
    hash: Name,
    parsed: Vec<u8>,
}

/// A store root and a folder path in it.
type Key = (PathBuf, String);
/// Folders read by this process.
static READ: LazyLock<Mutex<FxMap<Key, Arc<Folder>>>> = LazyLock::new(Mutex::default);
/// Records to write, by folder, then by name.
static LEARNT: LazyLock<Mutex<FxMap<Key, FxMap<String, Learnt>>>> = LazyLock::new(Mutex::default);

fn split(path: &str) -> Option<(&str, &str)> {
    let (dir, name) = path.rsplit_once('/')?;
    Some((if dir.is_empty() { "/" } else { dir }, name))
}

fn file_of(root: &Path, folder: &str) -> PathBuf {
    let hex = blake3::hash(folder.as_bytes()).to_hex();
    root.join("scan").join("dirs").join(&hex[..2]).join(&hex[..40])
}

fn checksum(bytes: &[u8]) -> [u8; CHECK] {
    crc32fast::hash(bytes).to_le_bytes()
}

/// The stamp, content name and directives `root`'s index holds for the
/// file at `path`, if its stamp is still `stamp`.
/// `known` gives directives already in memory by content name (saving a
/// decode).
pub(crate) fn lookup(
    root: &Path,
    path: &str,
    stamp: &Stamp,
    known: impl Fn(&Name) -> Option<Arc<Parsed>>,
) -> Option<(Name, Arc<Parsed>)> {
    let (dir, name) = split(path)?;
    let key = (root.to_path_buf(), dir.to_string());
    let folder = {
        let known = READ.lock().unwrap().get(&key).cloned();
        match known {
            Some(f) => f,
            None => {
                let f = Arc::new(read(&file_of(root, dir), dir).unwrap_or_default());
                READ.lock().unwrap().insert(key, f.clone());
                f
            }
        }
    };
    let r = folder.records.get(name).filter(|r| r.stamp == *stamp)?;
    let parsed = match known(&r.hash) {
        Some(p) => p,
        None => Arc::new(encode::decode(&folder.bytes[r.parsed.clone()])?),
    };
    Some((r.hash, parsed))
}

/// Notes what was learnt of the file at `path` (read at `stamp`, well
/// after its last change) for the next [`flush`].
pub(crate) fn learn(root: &Path, path: &str, stamp: Stamp, hash: Name, parsed: &Parsed) {
    let Some((dir, name)) = split(path) else { return };
    let learnt = Learnt { stamp, hash, parsed: encode::encode(parsed) };
    LEARNT.lock().unwrap().entry((root.to_path_buf(), dir.to_string())).or_default().insert(name.to_string(), learnt);
}

/// Writes what this process learnt into the index (best effort).
pub fn flush() {
    // One flush at a time: a caller's records are on disk when it returns,
    // even if another thread took them.
    static FLUSHING: Mutex<()> = Mutex::new(());
    let _one = FLUSHING.lock().unwrap();
    let learnt = std::mem::take(&mut *LEARNT.lock().unwrap());
    for ((root, dir), records) in learnt {
        // A store removed meanwhile is not brought back.
        if !root.is_dir() {
            continue;
        }
        let file = file_of(&root, &dir);
        let current = read(&file, &dir).filter(|f| f.bytes.len() < MAX_BYTES).unwrap_or_default();
        // Most processes of a build learn what an earlier one wrote.
        let new = |(name, l): (&String, &Learnt)| {
            current.records.get(name).is_none_or(|r| r.stamp != l.stamp || r.hash != l.hash)
        };
        if !records.iter().any(new) {
            continue;
        }
        let bytes = merge(&dir, &current, &records);
        let _ = file.parent().map(fs::create_dir_all);
        if let Err(e) = gg_core::fsutil::write_atomic(&file, &bytes) {
            crate::log::debug(&format!("the include scanner's index of `{dir}` is not written: {e}"));
        }
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

/// `current`'s records, those in `learnt` replacing any of the same name.
fn merge(dir: &str, current: &Folder, learnt: &FxMap<String, Learnt>) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    put_bytes(&mut out, dir.as_bytes());
    let mut put = |name: &str, stamp: &Stamp, hash: &Name, parsed: &[u8]| {
        put_bytes(&mut out, name.as_bytes());
        put_bytes(&mut out, &stamp.to_bytes());
        put_bytes(&mut out, &hash.to_raw());
        put_bytes(&mut out, parsed);
    };
    for (name, r) in &current.records {
        if !learnt.contains_key(name) {
            put(name, &r.stamp, &r.hash, &current.bytes[r.parsed.clone()]);
        }
    }
    for (name, l) in learnt {
        put(name, &l.stamp, &l.hash, &l.parsed);
    }
    let sum = checksum(&out);
    out.extend_from_slice(&sum);
    out
}

/// Length-prefixed fields, front to back.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    /// The next field's range, or `None` at the end or past it.
    fn field(&mut self) -> Option<Range<usize>> {
        let len = u32::from_le_bytes(self.bytes.get(self.at..self.at + 4)?.try_into().ok()?) as usize;
        let r = self.at + 4..(self.at + 4).checked_add(len)?;
        self.bytes.get(r.clone())?;
        self.at = r.end;
        Some(r)
    }

    fn text(&mut self) -> Option<&str> {
        let r = self.field()?;
        std::str::from_utf8(&self.bytes[r]).ok()
    }
}

/// The index at `file` for folder `dir`, or `None` if it is missing,
/// damaged or another folder's.
fn read(file: &Path, dir: &str) -> Option<Folder> {
    let mut bytes = fs::read(file).ok()?;
    let body = bytes.len().checked_sub(CHECK)?;
    if !bytes.starts_with(MAGIC) || checksum(&bytes[..body]) != bytes[body..] {
        return None;
    }
    bytes.truncate(body);
    let mut r = Reader { bytes: &bytes, at: MAGIC.len() };
    if r.text()? != dir {
        return None;
    }
    let mut records = FxMap::default();
    while r.at < bytes.len() {
        let name = r.text()?.to_string();
        let stamp = r.field()?;
        let stamp = Stamp::from_bytes(&bytes[stamp])?;
        let hash = r.field().and_then(|h| Name::from_raw(&bytes[h]))?;
        let parsed = r.field()?;
        records.insert(name, Record { stamp, hash, parsed });
    }
    Some(Folder { bytes, records })
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;

/// Forgets the folders read (tests: a fresh process).
#[cfg(test)]
pub(crate) fn forget() {
    READ.lock().unwrap().clear();
}

/// The index file of folder `dir` in the store at `root` (tests).
#[cfg(test)]
pub(crate) fn path_of(root: &Path, dir: &str) -> PathBuf {
    file_of(root, dir)
}
