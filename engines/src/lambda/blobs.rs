//! The client's side of the bucket: which blobs S3 holds (remembered in
//! the store, so the next gg-cc process does not ask again), uploads of
//! the ones it lacks (in parallel, each blob once even when a thousand
//! invocations want it at the same moment), and downloads checked against
//! their names.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use gg_core::{Name, Store};

use gg_wire::aws::S3;
use gg_wire::fanout;
use gg_wire::payload::blob_key;

/// Parallel S3 calls per batch of blobs.
const THREADS: usize = 32;

/// Blobs up to this size are put without asking S3 first: on a small
/// blob, the question costs about what sending it does.
const ASK_ABOVE: u64 = 1 << 20;

/// A bucket as the client knows it.
#[derive(Debug)]
pub struct Bucket {
    pub s3: S3,
    store: Store,
    known: Mutex<HashSet<Name>>,
    /// Append-only list of names known to be in the bucket.
    known_file: PathBuf,
    /// One lock per blob being checked or uploaded now.
    flights: Mutex<HashMap<Name, Arc<Mutex<()>>>>,
}

impl Bucket {
    pub fn new(s3: S3, store: Store) -> Bucket {
        let id: String = format!("{}_{}", s3.endpoint(), s3.bucket())
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
            .collect();
        let known_file = store.root().join("lambda").join(format!("{id}.known"));
        let known = std::fs::read_to_string(&known_file)
            .map(|text| text.lines().filter_map(|l| l.parse().ok()).collect())
            .unwrap_or_default();
        Bucket { s3, store, known: Mutex::new(known), known_file, flights: Mutex::default() }
    }

    pub fn is_known(&self, name: &Name) -> bool {
        self.known.lock().expect("known").contains(name)
    }

    /// Records blobs the function put in the bucket.
    pub fn learn(&self, names: &[Name]) {
        let new: Vec<Name> = {
            let mut known = self.known.lock().expect("known");
            names.iter().copied().filter(|n| known.insert(*n)).collect()
        };
        self.persist(&new);
    }

    /// Appends names to the known list, in one write: a lost line only
    /// costs a question or a put later.
    fn persist(&self, names: &[Name]) {
        if names.is_empty() {
            return;
        }
        let text: String = names.iter().map(|n| format!("{n}\n")).collect();
        let _ = std::fs::create_dir_all(self.known_file.parent().expect("in the store"));
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(&self.known_file) {
            let _ = f.write_all(text.as_bytes());
        }
    }

    /// Forgets blobs the function found missing (a lifecycle rule, say).
    pub fn forget(&self, names: &[Name]) {
        let all: Vec<Name> = {
            let mut known = self.known.lock().expect("known");
            for n in names {
                known.remove(n);
            }
            known.iter().copied().collect()
        };
        let _ = std::fs::remove_file(&self.known_file);
        self.persist(&all);
    }

    /// Makes sure every blob is in the bucket: puts those not known to be
    /// there (asking S3 first about large ones), reading them from the
    /// store.
    pub fn ensure(&self, names: &[Name]) -> Result<(), String> {
        self.ensure_from(names, &|n| self.store.get(n).map_err(|e| format!("cannot upload `{n}`: {e}")))
    }

    /// As [`Bucket::ensure`], reading each blob's bytes with `read`.
    pub fn ensure_from(
        &self,
        names: &[Name],
        read: &(dyn Fn(&Name) -> Result<Vec<u8>, String> + Sync),
    ) -> Result<(), String> {
        let results = fanout::map(names, THREADS, |n| self.ensure_one(n, || read(n)));
        self.settle(names, results)
    }

    /// Hashes each file and puts it in the bucket unless known to be
    /// there, reading it once; answers the names.
    pub fn ensure_files(&self, files: &[PathBuf]) -> Result<Vec<Name>, String> {
        let results = fanout::map(files, THREADS, |f| -> Result<(Name, bool), String> {
            let bytes = std::fs::read(f).map_err(|e| format!("cannot read `{}`: {e}", f.display()))?;
            let name = Name::of_bytes(gg_core::Kind::Value, &bytes);
            Ok((name, self.ensure_one(&name, || Ok(bytes))?))
        });
        let mut names = Vec::with_capacity(files.len());
        let mut new = Vec::new();
        for r in results {
            let (name, fresh) = r?;
            names.push(name);
            if fresh {
                new.push(name);
            }
        }
        self.persist(&new);
        Ok(names)
    }

    /// Persists what a batch learnt; the first error, if any.
    fn settle(&self, names: &[Name], results: Vec<Result<bool, String>>) -> Result<(), String> {
        let new: Vec<Name> =
            names.iter().zip(&results).filter(|(_, r)| matches!(r, Ok(true))).map(|(n, _)| *n).collect();
        self.persist(&new);
        results.into_iter().try_for_each(|r| r.map(|_| ()))
    }

    /// Puts one blob unless known to be there; `Ok(true)` when it was not
    /// known before (now it is, in memory only).
    fn ensure_one(&self, name: &Name, read: impl FnOnce() -> Result<Vec<u8>, String>) -> Result<bool, String> {
        if self.is_known(name) {
            return Ok(false);
        }
        let flight = Arc::clone(self.flights.lock().expect("flights").entry(*name).or_default());
        let _held = flight.lock().expect("flight");
        if self.is_known(name) {
            return Ok(false);
        }
        let key = blob_key(name);
        let there = if name.size() > ASK_ABOVE { self.s3.exists(&key).map_err(|e| e.to_string()) } else { Ok(false) };
        let result = match there {
            Ok(true) => Ok(()),
            Ok(false) => read().and_then(|bytes| self.s3.put(&key, &bytes).map_err(|e| e.to_string())),
            Err(e) => Err(e),
        };
        if result.is_ok() {
            self.known.lock().expect("known").insert(*name);
        }
        self.flights.lock().expect("flights").remove(name);
        result.map(|()| true)
    }

    /// Uploads blobs whatever was known about them.
    pub fn upload(&self, names: &[Name]) -> Result<(), String> {
        let results = fanout::map(names, THREADS, |n| -> Result<(), String> {
            let bytes = self.store.get(n).map_err(|e| format!("cannot upload `{n}`: {e}"))?;
            self.s3.put(&blob_key(n), &bytes).map_err(|e| e.to_string())
        });
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        self.learn(names);
        Ok(())
    }

    /// Brings blobs the local store lacks from the bucket, each checked
    /// against its name.
    pub fn download(&self, names: &[Name]) -> Result<(), String> {
        let absent: Vec<Name> = names.iter().copied().filter(|n| !self.store.has(n)).collect();
        let results = fanout::map(&absent, THREADS, |n| -> Result<(), String> {
            let key = blob_key(n);
            let bytes = self
                .s3
                .get(&key)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("`{n}` is in neither the local store nor bucket `{}`", self.s3.bucket()))?;
            let actual = Name::of_bytes(n.kind(), &bytes);
            if actual != *n {
                return Err(format!(
                    "S3 object `{}/{key}` is corrupt: its bytes hash to `{actual}`; it was not used",
                    self.s3.bucket()
                ));
            }
            self.store.put_bytes(n.kind(), &bytes).map(|_| ()).map_err(|e| format!("cannot store `{n}`: {e}"))
        });
        results.into_iter().collect()
    }
}
