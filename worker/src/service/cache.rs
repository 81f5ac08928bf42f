//! The worker as a shared cache (`gg://HOST:PORT` on clients, see
//! `gg_core::shared`): `GET`/`PUT /v1/cache/reductions/THUNK` and
//! `/v1/cache/manifests/KEY` beside the blob calls. What its own thunks
//! reduced to is served like any entry, so a client's lookup hits what a
//! worker ran for another; what clients write back is kept for the next.

use gg_core::{Kind, Name, Reduction};

use super::{Service, ServiceError};

/// The longest direct-mode key accepted (they are 64 hex digits).
const KEY_MAX: usize = 128;

impl Service {
    /// A thunk's reduction as JSON, if this worker holds one.
    pub fn cached_reduction(&self, thunk: &str) -> Result<Vec<u8>, ServiceError> {
        let name = thunk_name(thunk)?;
        let red =
            self.store.reduction(&name).ok_or_else(|| ServiceError::Absent(format!("no reduction of `{name}`")))?;
        Ok(serde_json::to_vec(&red).expect("reductions serialise"))
    }

    /// Keeps a client's reduction of a thunk, once every blob it names is
    /// here (a client writes those first).
    pub fn put_cached_reduction(&self, thunk: &str, body: &[u8]) -> Result<(), ServiceError> {
        let name = thunk_name(thunk)?;
        let red: Reduction = serde_json::from_slice(body)
            .map_err(|e| ServiceError::BadRequest(format!("the body is not a reduction: {e}")))?;
        let named = red.outputs.iter().map(|(_, n)| n).chain(&red.stdout).chain(&red.stderr);
        if let Some(absent) = named.into_iter().find(|n| !self.store.has(n)) {
            return Err(ServiceError::Mismatch(format!(
                "the reduction names `{absent}`, which this worker does not hold"
            )));
        }
        self.store.write_reduction(&name, &red).map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// A direct-mode manifest's bytes, as a client wrote them.
    pub fn cached_manifest(&self, key: &str) -> Result<Vec<u8>, ServiceError> {
        let path = self.manifest_path(key)?;
        match std::fs::read(&path) {
            Ok(b) => {
                if let Ok(m) = std::fs::metadata(&path) {
                    gg_core::evict::touch_if_stale(&path, &m);
                }
                Ok(b)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(ServiceError::Absent(format!("no manifest `{key}`")))
            }
            Err(e) => Err(ServiceError::Internal(format!("cannot read `{}`: {e}", path.display()))),
        }
    }

    /// Keeps a direct-mode manifest (opaque here: clients check it).
    pub fn put_cached_manifest(&self, key: &str, body: &[u8]) -> Result<(), ServiceError> {
        let path = self.manifest_path(key)?;
        let fail = |e: std::io::Error| ServiceError::Internal(format!("cannot write `{}`: {e}", path.display()));
        std::fs::create_dir_all(path.parent().expect("sharded")).map_err(fail)?;
        gg_core::fsutil::write_atomic(&path, body).map_err(fail)?;
        self.store.note_written(body.len() as u64);
        Ok(())
    }

    /// Where the manifest for `key` lives: beside gg-cc's own, so the
    /// store's size limit covers it.
    fn manifest_path(&self, key: &str) -> Result<std::path::PathBuf, ServiceError> {
        let ok = !key.is_empty()
            && key.len() <= KEY_MAX
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(ServiceError::BadRequest(format!(
                "`{key}` is not a manifest key (1 to {KEY_MAX} letters, digits, `-` and `_`)"
            )));
        }
        Ok(self.store.root().join("manifests").join(&key[..1]).join(key))
    }
}

fn thunk_name(text: &str) -> Result<Name, ServiceError> {
    let name: Name = text.parse().map_err(|e| ServiceError::BadRequest(format!("`{text}`: {e}")))?;
    if name.kind() != Kind::Thunk {
        return Err(ServiceError::BadRequest(format!("`{name}` names a value, not a thunk")));
    }
    Ok(name)
}
