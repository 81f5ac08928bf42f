//! Blobs streamed between a connection and the store: an upload goes to a
//! temp file, hashed as it arrives, and a download is read from its file,
//! so a worker's memory does not grow with the size of what it moves.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::sync::atomic::Ordering;

use gg_core::store::is_canonical_thunk;
use gg_core::{Kind, Name, StoreError};

use super::{Service, ServiceError};

/// Thunk encodings are checked whole, in memory: larger ones are refused.
const MAX_THUNK: u64 = 64 << 20;

/// A verified blob, open at its start, and its size.
#[derive(Debug)]
pub struct BlobFile {
    pub file: File,
    pub size: u64,
}

/// Hashes what passes through.
struct Hashing<W> {
    inner: W,
    hasher: blake3::Hasher,
    count: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Where an upload failed: the client's side (its body) or ours (the disk).
enum Failed {
    Body(io::Error),
    Disk(io::Error),
}

impl Service {
    /// Stores a blob uploaded as `length` bytes of `body`, after checking
    /// its size and hash; nothing is stored when they do not match.
    pub fn put_blob_from(&self, name: &Name, body: &mut dyn Read, length: u64) -> Result<(), ServiceError> {
        if length != name.size() {
            return Err(ServiceError::Mismatch(format!(
                "`{name}`: {length} bytes announced, the name says {}",
                name.size()
            )));
        }
        if name.kind() == Kind::Thunk && length > MAX_THUNK {
            return Err(ServiceError::BadRequest(format!("`{name}`: a thunk encoding over {MAX_THUNK} bytes")));
        }
        let tmp = self.store.temp_path("upload");
        let result = self.receive(name, body, length, &tmp);
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    fn receive(
        &self,
        name: &Name,
        body: &mut dyn Read,
        length: u64,
        tmp: &std::path::Path,
    ) -> Result<(), ServiceError> {
        let internal = |e: io::Error| ServiceError::Internal(format!("cannot write `{}`: {e}", tmp.display()));
        let file = File::create(tmp).map_err(internal)?;
        let mut out =
            Hashing { inner: io::BufWriter::with_capacity(1 << 20, file), hasher: blake3::Hasher::new(), count: 0 };
        copy(&mut body.take(length), &mut out).map_err(|f| match f {
            Failed::Body(e) => ServiceError::BadRequest(format!("cannot read the request body: {e}")),
            Failed::Disk(e) => internal(e),
        })?;
        if out.count < length {
            return Err(ServiceError::BadRequest("the request body ended early".into()));
        }
        let mut file = out.inner.into_inner().map_err(|e| internal(e.into_error()))?;
        let actual = Name::new(name.kind(), *out.hasher.finalize().as_bytes(), out.count);
        if actual != *name {
            return Err(ServiceError::Mismatch(format!("`{name}`: the bytes hash to `{actual}`; nothing was stored")));
        }
        if name.kind() == Kind::Thunk {
            let mut bytes = Vec::new();
            file.rewind().and_then(|()| file.read_to_end(&mut bytes)).map_err(internal)?;
            if !is_canonical_thunk(&bytes) {
                return Err(ServiceError::Mismatch(format!(
                    "`{name}` is named as a thunk but is not a thunk encoding"
                )));
            }
        }
        drop(file);
        let new = !self.store.has(name);
        self.store.install_hashed(name, tmp).map_err(|e| ServiceError::Internal(e.to_string()))?;
        if new {
            self.size.added.fetch_add(name.size(), Ordering::Relaxed);
        }
        Ok(())
    }

    /// A blob's file, re-hashed first (through a small buffer, never
    /// mapped whole): a corrupt blob is moved aside and never served.
    pub fn open_blob(&self, name: &Name) -> Result<BlobFile, ServiceError> {
        let path = match self.store.blob(name) {
            Ok(p) => p,
            Err(StoreError::Missing(_)) => return Err(ServiceError::NotFound(*name)),
            Err(e @ StoreError::Corrupt { .. }) => {
                let _ = self.store.quarantine(&self.store.blob_path(name));
                return Err(ServiceError::Internal(e.to_string()));
            }
            Err(e) => return Err(ServiceError::Internal(e.to_string())),
        };
        let internal = |e: io::Error| ServiceError::Internal(format!("cannot read `{}`: {e}", path.display()));
        let mut file = File::open(&path).map_err(internal)?;
        let actual = Name::of_reader(&mut file).map_err(internal)?;
        if actual.digest() != name.digest() || actual.size() != name.size() {
            let _ = self.store.quarantine(&path);
            return Err(ServiceError::Internal(format!(
                "store entry `{name}` is corrupt (contents do not match the name); it was moved aside"
            )));
        }
        file.rewind().map_err(internal)?;
        Ok(BlobFile { file, size: name.size() })
    }
}

/// Copies `from` into `to`, telling a failed read from a failed write.
fn copy(from: &mut impl Read, to: &mut impl Write) -> Result<(), Failed> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Failed::Body(e)),
        };
        to.write_all(&buf[..n]).map_err(Failed::Disk)?;
    }
}
