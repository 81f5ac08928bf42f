//! Where manifest files come from: the disk, or memory (tests, the fuzzer).
//!
//! `include` and `subninja` paths are relative to the directory Ninja runs
//! in, not to the including file, so a reader is handed them unchanged.

use std::collections::HashMap;
use std::io;

/// Reads the manifest files the parser asks for.
pub trait FileReader {
    /// The whole contents of the file at `path`.
    fn read_file(&mut self, path: &str) -> io::Result<Vec<u8>>;
}

/// Reads files from the file system, relative to the current directory.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiskReader;

impl FileReader for DiskReader {
    fn read_file(&mut self, path: &str) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
}

/// Serves files from a map; any other path is "not found".
#[derive(Debug, Default, Clone)]
pub struct MemoryReader {
    files: HashMap<String, Vec<u8>>,
}

impl MemoryReader {
    /// An empty reader.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a file.
    pub fn add(&mut self, path: &str, contents: impl Into<Vec<u8>>) -> &mut Self {
        self.files.insert(path.to_string(), contents.into());
        self
    }
}

impl FileReader for MemoryReader {
    fn read_file(&mut self, path: &str) -> io::Result<Vec<u8>> {
        self.files.get(path).cloned().ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
}

/// An I/O error as Ninja words it (`No such file or directory`, without
/// Rust's `(os error 2)`).
pub(crate) fn describe_io_error(e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::NotFound {
        return "No such file or directory".to_string();
    }
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}
