//! A remote cache in a folder (`file:///FOLDER`): a network file system
//! several machines mount, as ccache's `file:` storage. Keys are paths
//! below the folder; entries are written whole (temp file and rename),
//! so a reader never sees half of one.

use std::io::ErrorKind;
use std::path::PathBuf;

use super::{Backend, Fault};

#[derive(Debug)]
pub struct Dir {
    root: PathBuf,
}

impl Dir {
    pub fn new(root: PathBuf) -> Dir {
        Dir { root }
    }
}

fn fault(what: &str, e: &std::io::Error) -> Fault {
    let why = format!("{what}: {e}");
    match e.kind() {
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => Fault::Refused(why),
        _ => Fault::Unreachable(why),
    }
}

impl Backend for Dir {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Fault> {
        let path = self.root.join(key);
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                // A missing key, unless the whole folder is gone (an
                // unmounted share): that is the remote being down.
                if self.root.is_dir() {
                    Ok(None)
                } else {
                    Err(fault(&format!("cannot read `{}`", self.root.display()), &e))
                }
            }
            Err(e) => Err(fault(&format!("cannot read `{}`", path.display()), &e)),
        }
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), Fault> {
        let path = self.root.join(key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| fault(&format!("cannot create `{}`", parent.display()), &e))?;
        }
        crate::fsutil::write_atomic(&path, bytes).map_err(|e| fault(&format!("cannot write `{}`", path.display()), &e))
    }
}
