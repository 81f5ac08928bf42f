//! One put of a blob per process. `gg ninja` prepares `-j` compiles at
//! once and all of them name the same compiler and most of the same
//! headers: without this, each would copy the same 30 MB `cc1` into the
//! store side by side before any of them found it there.

use std::collections::HashMap;
use std::io;
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
