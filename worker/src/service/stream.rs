//! Blobs streamed between a connection and the store: an upload is
//! spooled to a temp file, hashed as it arrives, and a download is read
//! from its file, so a worker's memory does not grow with the size of what it moves.

use std::fs::File;
use std::io::{self, Read, Seek};
use std::sync::atomic::Ordering;

use gg_core::store::is_canonical_thunk;
use gg_core::{Kind, Name, StoreError};

use super::{Service, ServiceError};
use gg_wire::spool::{spool, SpoolError, Spooled};

/// Thunk encodings are checked whole, in memory: larger ones are refused.
const MAX_THUNK: u64 = 64 << 20;

/// A verified blob, open at its start, and its size.
#[derive(Debug)]
pub struct BlobFile {
    pub file: File,
    pub size: u64,
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
        let mut body = body.take(length);
        let spooled = spool(&self.store, name.kind(), &mut body).map_err(|e| match e {
            SpoolError::Read(e) => ServiceError::BadRequest(format!("cannot read the request body: {e}")),
            SpoolError::Write(e) => ServiceError::Internal(format!("cannot store the upload: {e}")),
        })?;
        let result = self.keep(name, &spooled);
        if result.is_err() {
            let _ = std::fs::remove_file(&spooled.path);
        }
        result
    }

    /// Moves an upload into the store if it is what its name says.
    fn keep(&self, name: &Name, spooled: &Spooled) -> Result<(), ServiceError> {
        let actual = spooled.name;
        if actual.size() < name.size() {
            return Err(ServiceError::BadRequest("the request body ended early".into()));
        }
        if actual != *name {
            return Err(ServiceError::Mismatch(format!("`{name}`: the bytes hash to `{actual}`; nothing was stored")));
        }
        let internal = |e: io::Error| ServiceError::Internal(e.to_string());
        if name.kind() == Kind::Thunk && !is_canonical_thunk(&std::fs::read(&spooled.path).map_err(internal)?) {
            return Err(ServiceError::Mismatch(format!("`{name}` is named as a thunk but is not a thunk encoding")));
        }
        let new = !self.store.has(name);
        self.store.install_hashed(name, &spooled.path).map_err(internal)?;
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
