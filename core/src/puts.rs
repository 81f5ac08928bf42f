//! One put of a blob per process, and of a large blob per store at a time. `gg ninja` prepares `-j` compiles at
//! once and all of them name the same compiler and most of the same
//! headers: without this, each would copy the same 30 MB `cc1` into the
//! store side by side before any of them found it there.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::{Condvar, Mutex};

use crate::Name;

/// Which blobs this process has put (or is putting) into one store.
#[derive(Debug, Default)]
pub(crate) struct Puts {
    /// `true` once put; `false` while a thread is putting it.
    state: Mutex<HashMap<Name, bool>>,
    settled: Condvar,
}

impl Puts {
    /// Runs `put` for `name` unless this process already did; a caller
    /// arriving while another thread puts the same name waits for it, and
    /// tries itself if that one failed.
    pub(crate) fn once(&self, name: &Name, put: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        let mut state = self.state.lock().expect("puts");
        loop {
            match state.get(name) {
                Some(true) => return Ok(()),
                Some(false) => state = self.settled.wait(state).expect("puts"),
                None => break,
            }
        }
        state.insert(*name, false);
        drop(state);
        let result = put();
        let mut state = self.state.lock().expect("puts");
        match result {
            Ok(()) => state.insert(*name, true),
            Err(_) => state.remove(name),
        };
        self.settled.notify_all();
        result
    }
}

/// An exclusive lock on putting `name` into the store at `root`, held until
/// the file returned is dropped (`<root>/locks/<name>`, kept: removing a
/// lock file others may be waiting on would let two holders in). `None`
/// when the lock cannot be taken (a read-only store, say): the put then
/// goes ahead unlocked, as the store allows any number of writers.
pub(crate) fn lock(root: &Path, name: &Name) -> Option<fs::File> {
    let dir = root.join("locks");
    fs::create_dir_all(&dir).ok()?;
    let file = fs::OpenOptions::new().create(true).truncate(false).write(true).open(dir.join(name.to_string())).ok()?;
    // SAFETY: flock on a descriptor we own; released when it closes.
    (unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0).then_some(file)
}
