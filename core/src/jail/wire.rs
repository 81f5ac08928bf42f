//! What gg and the jail keeper say to each other about one run: the
//! request (where the sandbox is, what to start, with which arguments and
//! environment) and the keeper's answer (a setup error, or the function's
//! wait status).
//!
//! Both ends are gg, the same build, so the format is the simplest one that
//! cannot be misread: a length, then NUL-terminated fields (no field of an
//! `execve` can hold a NUL). The answer is a line, `E message` or
//! `S status`.

use std::ffi::{CString, OsStr, OsString};
use std::io::{self, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// The largest request accepted: a link thunk with many thousands of
/// arguments stays far below; anything larger is not gg talking.
const MAX_REQUEST: u32 = 64 << 20;

/// One run in the jail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The sandbox folder, bound read-write at its own path.
    pub root: PathBuf,
    /// The working folder (inside `root`).
    pub cwd: PathBuf,
    /// The program to execute (inside `root`, or a system folder).
    pub program: PathBuf,
    /// `argv`, `argv[0]` included.
    pub argv: Vec<OsString>,
    /// `NAME=value` entries, the whole environment.
    pub env: Vec<OsString>,
}

impl Request {
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        let mut field = |f: &OsStr| {
            body.extend_from_slice(f.as_bytes());
            body.push(0);
        };
        field(self.root.as_os_str());
        field(self.cwd.as_os_str());
        field(self.program.as_os_str());
        field(OsStr::new(&self.argv.len().to_string()));
        self.argv.iter().for_each(|a| field(a));
        self.env.iter().for_each(|e| field(e));
        let mut out = (body.len() as u32).to_le_bytes().to_vec();
        out.extend_from_slice(&body);
        out
    }

    /// Reads one request; an error names what was wrong with it.
    pub fn read_from(r: &mut impl Read) -> io::Result<Request> {
        let mut len = [0u8; 4];
        r.read_exact(&mut len)?;
        let len = u32::from_le_bytes(len);
        if len > MAX_REQUEST {
            return Err(bad(format!("a request of {len} bytes")));
        }
        let mut body = vec![0u8; len as usize];
        r.read_exact(&mut body)?;
        Request::decode(&body)
    }

    fn decode(body: &[u8]) -> io::Result<Request> {
        let Some(body) = body.strip_suffix(&[0]) else { return Err(bad("an unterminated request")) };
        let mut fields = body.split(|&b| b == 0).map(|f| OsString::from_vec(f.to_vec()));
        let mut next = |what: &str| fields.next().ok_or_else(|| bad(format!("a request without {what}")));
        let root = PathBuf::from(next("a root")?);
        let cwd = PathBuf::from(next("a working folder")?);
        let program = PathBuf::from(next("a program")?);
        let count = next("an argument count")?;
        let count: usize = count.to_str().and_then(|c| c.parse().ok()).ok_or_else(|| bad("a bad argument count"))?;
        let argv = (0..count).map(|_| next("all its arguments")).collect::<io::Result<Vec<_>>>()?;
        if argv.is_empty() || !root.is_absolute() || !cwd.starts_with(&root) {
            return Err(bad(format!("a request for `{}` in `{}`", program.display(), cwd.display())));
        }
        let env = fields.collect();
        Ok(Request { root, cwd, program, argv, env })
    }

    /// The fields as C strings for `execve`.
    pub fn exec_parts(&self) -> io::Result<(CString, Vec<CString>, Vec<CString>)> {
        let c = |s: &OsStr| CString::new(s.as_bytes()).map_err(|_| bad("a NUL in a field"));
        let program = c(self.program.as_os_str())?;
        let argv = self.argv.iter().map(|a| c(a)).collect::<io::Result<_>>()?;
        let env = self.env.iter().map(|e| c(e)).collect::<io::Result<_>>()?;
        Ok((program, argv, env))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

fn bad(what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("the jail keeper got {what}"))
}

/// How a jailed run ended, as the keeper reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The function's wait status (as `waitpid` gives it).
    Status(i32),
    /// The jail could not be set up; nothing ran.
    Error(String),
    /// No answer: the run was killed (at gg's request, or the keeper died).
    None,
}

/// The line the keeper writes for a finished function.
pub fn status_line(status: i32) -> Vec<u8> {
    format!("S {status}\n").into_bytes()
}

/// The line the keeper writes when it could not set the jail up.
pub fn error_line(message: &str) -> Vec<u8> {
    format!("E {}\n", message.replace('\n', " ")).into_bytes()
}

/// Reads the keeper's answer from all it wrote.
pub fn parse_answer(bytes: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(bytes);
    for line in text.lines() {
        if let Some(m) = line.strip_prefix("E ") {
            return Answer::Error(m.to_string());
        }
        if let Some(s) = line.strip_prefix("S ").and_then(|s| s.parse().ok()) {
            return Answer::Status(s);
        }
    }
    Answer::None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request {
            root: "/s/sandboxes/run.1".into(),
            cwd: "/s/sandboxes/run.1/src".into(),
            program: "/s/sandboxes/run.1/bin/cc".into(),
            argv: vec!["gcc".into(), "-c".into(), "".into(), "a b.c".into()],
            env: vec!["PATH=/bin".into(), "EMPTY=".into()],
        }
    }

    #[test]
    fn a_request_reads_back_as_it_was_written() {
        let bytes = request().encode();
        assert_eq!(Request::read_from(&mut &bytes[..]).unwrap(), request());
        let no_env = Request { env: vec![], ..request() };
        assert_eq!(Request::read_from(&mut &no_env.encode()[..]).unwrap(), no_env);
    }

    #[test]
    fn a_damaged_request_is_refused_with_what_was_wrong() {
        let bytes = request().encode();
        let cut = Request::read_from(&mut &bytes[..bytes.len() - 1]).unwrap_err();
        assert_eq!(cut.kind(), io::ErrorKind::UnexpectedEof);
        let mut unterminated = bytes;
        let n = unterminated.len();
        unterminated[n - 1] = b'x';
        assert!(Request::read_from(&mut &unterminated[..]).unwrap_err().to_string().contains("unterminated"));
        let outside = Request { cwd: "/etc".into(), ..request() };
        assert!(Request::read_from(&mut &outside.encode()[..]).unwrap_err().to_string().contains("in `/etc`"));
        let mut huge = (MAX_REQUEST + 1).to_le_bytes().to_vec();
        huge.extend_from_slice(b"x");
        assert!(Request::read_from(&mut &huge[..]).unwrap_err().to_string().contains("bytes"));
    }

    #[test]
    fn the_answer_is_a_status_an_error_or_nothing() {
        assert_eq!(parse_answer(&status_line(256)), Answer::Status(256));
        assert_eq!(parse_answer(&error_line("cannot mount\nproc")), Answer::Error("cannot mount proc".into()));
        assert_eq!(parse_answer(b""), Answer::None);
        assert_eq!(parse_answer(b"S x\n"), Answer::None);
    }
}
