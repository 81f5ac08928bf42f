//! A folder's names, read and kept without an allocation per name: one
//! buffer of the names and their spans, sorted, looked up by binary
//! search. A gg-cc process lists the dozen system folders its compile
//! searches (`/usr/include/linux` alone has some 570 names); a set of owned
//! names cost an allocation and a free per name, a few percent of the
//! process.

use std::ffi::CString;
use std::ops::Range;

/// The names in one folder (`.` and `..` left out).
#[derive(Debug, Default)]
pub(crate) struct Names {
    text: Vec<u8>,
    /// Spans of `text`, sorted by the names they hold.
    spans: Vec<Range<u32>>,
}

impl Names {
    /// The names in `dir`, or `None` if it cannot be read to the end (an
    /// unreadable folder, or an error midway: a partial listing would say
    /// a present name is absent).
    pub(crate) fn read(dir: &str) -> Option<Names> {
        let path = CString::new(dir).ok()?;
        // SAFETY: a valid C string; the stream is closed below on every
        // path out of the loop.
        let stream = unsafe { libc::opendir(path.as_ptr()) };
        if stream.is_null() {
            return None;
        }
        let mut names = Names::default();
        let complete = loop {
            // readdir signals an error only through errno.
            // SAFETY: errno is this thread's.
            unsafe { *libc::__errno_location() = 0 };
            // SAFETY: an open stream, used by this thread alone.
            let entry = unsafe { libc::readdir64(stream) };
            if entry.is_null() {
                // SAFETY: as above.
                break unsafe { *libc::__errno_location() } == 0;
            }
            // SAFETY: readdir gives a NUL-terminated name that stays valid
            // until the next call on the stream; it is copied before that.
            let name = unsafe { std::ffi::CStr::from_ptr((*entry).d_name.as_ptr()) }.to_bytes();
            if name != b"." && name != b".." {
                names.push(name);
            }
        };
        // SAFETY: the stream opened above, closed once.
        unsafe { libc::closedir(stream) };
        if !complete {
            return None;
        }
        let text = &names.text;
        names.spans.sort_unstable_by(|a, b| span(text, a).cmp(span(text, b)));
        Some(names)
    }

    fn push(&mut self, name: &[u8]) {
        let start = self.text.len() as u32;
        self.text.extend_from_slice(name);
        self.spans.push(start..self.text.len() as u32);
    }

    /// Whether the folder holds `name`.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.spans.binary_search_by(|s| span(&self.text, s).cmp(name.as_bytes())).is_ok()
    }
}

fn span<'a>(text: &'a [u8], s: &Range<u32>) -> &'a [u8] {
    &text[s.start as usize..s.end as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_and_no_other_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let made: Vec<String> = (0..300).map(|i| format!("h{}.h", i * 7)).collect();
        for n in &made {
            std::fs::write(dir.path().join(n), "").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let names = Names::read(dir.path().to_str().unwrap()).unwrap();
        assert_eq!(names.spans.len(), made.len() + 1, ". and .. are left out");
        for n in made.iter().map(String::as_str).chain(["sub"]) {
            assert!(names.contains(n), "{n}");
        }
        for n in ["h1.h", "h.h", "", ".", "..", "sub/x", "h2100.h"] {
            assert!(!names.contains(n), "{n}");
        }
    }

    #[test]
    fn a_missing_or_unreadable_folder_has_no_listing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Names::read(dir.path().join("missing").to_str().unwrap()).is_none());
        std::fs::write(dir.path().join("file"), "").unwrap();
        assert!(Names::read(dir.path().join("file").to_str().unwrap()).is_none());
        assert!(Names::read("bad\0path").is_none());
    }
}
