//! A stream of bytes written to a temp file in a store, hashed on the way:
//! how blobs arrive over the network on either side, without their size in
//! memory and without reading them a second time to name them.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;

use gg_core::{Kind, Name, Store};

/// A spooled stream: its temp file (closed) and the name of its bytes.
#[derive(Debug)]
pub struct Spooled {
    pub path: PathBuf,
    pub name: Name,
}

/// Where spooling failed: reading the stream, or writing the file.
#[derive(Debug)]
pub enum SpoolError {
    Read(io::Error),
    Write(io::Error),
}

/// Writes all of `from` to a new temp file of `store`, naming the bytes as
/// `kind`. The file is removed again on error.
pub fn spool(store: &Store, kind: Kind, from: &mut dyn Read) -> Result<Spooled, SpoolError> {
    let path = store.temp_path("spool");
    let result = write(&path, kind, from);
    if result.is_err() {
        let _ = std::fs::remove_file(&path);
    }
    result.map(|name| Spooled { path, name })
}

fn write(path: &std::path::Path, kind: Kind, from: &mut dyn Read) -> Result<Name, SpoolError> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).map_err(SpoolError::Write)?);
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(SpoolError::Read(e)),
        };
        out.write_all(&buf[..n]).map_err(SpoolError::Write)?;
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    out.flush().map_err(SpoolError::Write)?;
    Ok(Name::new(kind, *hasher.finalize().as_bytes(), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spooled_stream_is_named_as_its_bytes_would_be_and_its_file_holds_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let bytes = vec![7u8; 300_000];
        let s = spool(&store, Kind::Value, &mut &bytes[..]).unwrap();
        assert_eq!(s.name, Name::of_bytes(Kind::Value, &bytes));
        assert_eq!(std::fs::read(&s.path).unwrap(), bytes);
    }

    #[test]
    fn a_failing_stream_leaves_no_temp_file() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("cut"))
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(matches!(spool(&store, Kind::Value, &mut Broken), Err(SpoolError::Read(_))));
        assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }
}
