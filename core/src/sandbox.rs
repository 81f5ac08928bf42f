//! A thunk's sandbox: a fresh folder holding exactly the thunk's objects at
//! their paths, and the collection of its declared outputs afterwards.
//!
//! Objects are hard links into the store (copies when linking fails, e.g.
//! across filesystems), so materialising a compiler costs a few syscalls.
//! A link shares its inode with the store, so a function writing to an input
//! in place would alter the store: objects at a declared output path are
//! copied instead, and every linked input is re-checked after the run; a
//! changed one is moved out of the store and fails the thunk.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::beneath::{Entry, Refused};
use crate::engine::ExecError;
use crate::fsutil::{self, ctx};
use crate::name::Name;
use crate::store::Store;
use crate::thunk::Thunk;

/// One run's folder, `<store>/sandboxes/<unique>/`, holding the thunk's
/// tree. Empty folders are recycled between runs (see [`SandboxPool`]).
#[derive(Debug)]
pub struct Sandbox {
    root: PathBuf,
    linked: Vec<Linked>,
    /// The store the links point into: removing them moves the blobs'
    /// ctimes, which the store must be told about (see [`Store::restamp`]).
    store: Option<Store>,
    keep: bool,
}

/// An input hard-linked from the store: its path in the sandbox, the store
/// file, and which blob (and copy) it is.
#[derive(Debug)]
struct Linked {
    path: String,
    src: PathBuf,
    name: Name,
    executable: bool,
}

/// Emptied sandbox folders ready for reuse: on some disks creating a
/// folder costs more than a whole small thunk.
#[derive(Debug, Default)]
pub struct SandboxPool {
    free: std::sync::Mutex<Vec<PathBuf>>,
}

impl SandboxPool {
    /// An empty sandbox in `store`; `keep` leaves it in place afterwards.
    pub fn take(&self, store: &Store, keep: bool) -> io::Result<Sandbox> {
        let reused = if keep { None } else { self.free.lock().expect("pool").pop() };
        let root = match reused {
            Some(root) => root,
            None => {
                let root = store.root().join("sandboxes").join(fsutil::unique_name("run"));
                fs::create_dir(&root).map_err(ctx("cannot create sandbox", &root))?;
                root
            }
        };
        Ok(Sandbox { root, linked: Vec::new(), store: None, keep })
    }

    /// Empties `sandbox` and keeps its folder for the next run.
    pub fn give_back(&self, mut sandbox: Sandbox) {
        if sandbox.keep || empty_dir(&sandbox.root).is_err() {
            return;
        }
        sandbox.restamp_linked();
        let root = std::mem::take(&mut sandbox.root);
        self.free.lock().expect("pool").push(root);
    }
}

impl Drop for SandboxPool {
    fn drop(&mut self) {
        for root in self.free.get_mut().map(std::mem::take).unwrap_or_default() {
            let _ = fs::remove_dir_all(root);
        }
    }
}

fn empty_dir(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            fs::remove_dir_all(entry.path())?;
        } else {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

impl Sandbox {
    /// The absolute sandbox root (what the root placeholder stands for).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Puts every value and executable of `thunk` (which must have no thunk
    /// inputs left) at its path, and creates the working directory and the
    /// folders of the declared outputs.
    pub fn materialize(&mut self, store: &Store, thunk: &Thunk) -> Result<(), ExecError> {
        if let Some(t) = thunk.thunks.first() {
            return Err(ExecError::engine(format!("thunk input `{}` was not resolved before running", t.output)));
        }
        self.store = Some(store.clone());
        let outputs: HashSet<&str> = thunk.outputs.iter().map(String::as_str).collect();
        let mut made: HashSet<PathBuf> = HashSet::new();
        for (object, executable) in thunk.objects() {
            let dest = self.root.join(&object.path);
            self.make_parent(&dest, &mut made)?;
            let verified = store.verified(&object.hash, executable);
            let (src, _) = verified.map_err(|e| {
                let kind = if matches!(e, crate::store::StoreError::Missing(_)) {
                    crate::engine::FailKind::Missing
                } else {
                    crate::engine::FailKind::Engine
                };
                ExecError {
                    kind,
                    message: format!("object `{}` at `{}`: {e}", object.hash, object.path),
                    stderr: Vec::new(),
                }
            })?;
            if outputs.contains(object.path.as_str()) {
                copy_writable(&src, &dest, executable).map_err(|e| ExecError::engine(e.to_string()))?;
                continue;
            }
            if fs::hard_link(&src, &dest).is_err() {
                copy_writable(&src, &dest, executable).map_err(|e| ExecError::engine(e.to_string()))?;
                continue;
            }
            store.restamp(&object.hash, executable, &src);
            self.linked.push(Linked { path: object.path.clone(), src, name: object.hash, executable });
        }
        let cwd = self.root.join(&thunk.cwd);
        fs::create_dir_all(&cwd).map_err(|e| ExecError::engine(ctx("cannot create", &cwd)(e).to_string()))?;
        for out in &thunk.outputs {
            self.make_parent(&self.root.join(out), &mut made)?;
        }
        Ok(())
    }

    fn make_parent(&self, path: &Path, made: &mut HashSet<PathBuf>) -> Result<(), ExecError> {
        let parent = path.parent().expect("sandbox paths have a parent");
        if parent != self.root && made.insert(parent.to_path_buf()) {
            fs::create_dir_all(parent).map_err(|e| ExecError::engine(ctx("cannot create", parent)(e).to_string()))?;
        }
        Ok(())
    }

    /// Fails if a hard-linked input (and so the store) changed since it was
    /// verified, by this function or by another writing to the same blob:
    /// either way this run may have read altered bytes. The altered store
    /// entry is moved aside so nothing uses it again. A stamp that moved
    /// (an edit whose mtime was set back still moves the ctime, and so
    /// does another sandbox linking the blob) is settled by hashing.
    pub fn check_inputs(&self, store: &Store) -> Result<(), ExecError> {
        for l in &self.linked {
            if store.still_verified(&l.name, l.executable, &l.src) {
                continue;
            }
            if let Err(e) = store.recheck(&l.name, l.executable, &l.src) {
                return Err(ExecError::engine(format!(
                    "input `{}` was modified in place while the thunk ran (blob `{}`): {e}",
                    l.path, l.name
                )));
            }
        }
        Ok(())
    }

    /// Tells the store that this sandbox's links are gone.
    fn restamp_linked(&self) {
        if let Some(store) = &self.store {
            for l in &self.linked {
                store.restamp(&l.name, l.executable, &l.src);
            }
        }
    }

    /// Moves every declared output into the store, in declared order;
    /// also returns the outputs that were executable.
    pub fn collect(&self, store: &Store, thunk: &Thunk) -> Result<(Vec<Name>, Vec<String>), ExecError> {
        let mut names = Vec::with_capacity(thunk.outputs.len());
        let mut executable = Vec::new();
        for out in &thunk.outputs {
            let path = self.root.join(out);
            let missing = |why: &str| ExecError {
                kind: crate::engine::FailKind::Output,
                message: format!("declared output `{out}` {why}"),
                stderr: Vec::new(),
            };
            // No link in any component: a function that swapped a folder
            // for a link to elsewhere must not have a file outside moved
            // into the store.
            match crate::beneath::lstat(&self.root, out) {
                Ok(Entry::File { mode }) => {
                    if mode & 0o111 != 0 {
                        executable.push(out.clone());
                    }
                }
                Ok(Entry::Dir) => return Err(missing("is a folder, not a file")),
                Ok(Entry::Other) => return Err(missing("is not a regular file")),
                Err(Refused::NotAFolder(dir)) => {
                    return Err(missing(&format!("lies under `{dir}`, which is a symbolic link or not a folder")))
                }
                Err(_) => return Err(missing("was not produced")),
            }
            names.push(store.adopt_output(&path).map_err(|e| ExecError::engine(e.to_string()))?);
        }
        Ok((names, executable))
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if !self.keep && !self.root.as_os_str().is_empty() {
            let _ = fs::remove_dir_all(&self.root);
            self.restamp_linked();
        }
    }
}

fn copy_writable(src: &Path, dest: &Path, executable: bool) -> io::Result<()> {
    fs::copy(src, dest).map_err(ctx("cannot copy into sandbox", dest))?;
    let mode = if executable { 0o755 } else { 0o644 };
    fs::set_permissions(dest, fs::Permissions::from_mode(mode)).map_err(ctx("cannot chmod", dest))
}
