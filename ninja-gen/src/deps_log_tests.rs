//! Tests of the deps log: round trips, Ninja's byte layout, and recovery
//! from damaged files.

use super::*;

fn sample() -> DepsLog {
    let mut log = DepsLog::new();
    assert!(log.record("out/a.o", 1_700_000_000_123_456_789, &["src/a.c", "include/a.h"]).unwrap());
    assert!(log.record("out/b.o", 42, &["src/b.c", "include/a.h"]).unwrap());
    assert!(log.record("out/c.o", 7, &[]).unwrap());
    log
}

fn inputs<'a>(log: &'a DepsLog, out: &str) -> Vec<&'a str> {
    log.input_paths(log.get(out).unwrap()).collect()
}

#[test]
fn recorded_deps_read_back_after_a_round_trip() {
    let bytes = sample().to_bytes();
    let (log, report) = DepsLog::parse(&bytes).unwrap();
    assert_eq!(report, ReadReport { valid_len: bytes.len() as u64, problem: None });
    assert_eq!(inputs(&log, "out/a.o"), ["src/a.c", "include/a.h"]);
    assert_eq!(log.get("out/a.o").unwrap().mtime, 1_700_000_000_123_456_789);
    assert_eq!(inputs(&log, "out/b.o"), ["src/b.c", "include/a.h"]);
    assert!(inputs(&log, "out/c.o").is_empty());
    assert_eq!(log.get("src/a.c"), None);
    assert_eq!(log.iter().map(|(p, _)| p).collect::<Vec<_>>(), ["out/a.o", "out/b.o", "out/c.o"]);
}

#[test]
fn the_bytes_follow_ninjas_layout() {
    let mut log = DepsLog::new();
    log.record("ab", 0x1_0000_0002, &["c"]).unwrap();
    let mut want = b"# ninjadeps\n".to_vec();
    want.extend_from_slice(&4i32.to_le_bytes());
    // Path "ab", padded to 4, checksum !0.
    want.extend_from_slice(&8u32.to_le_bytes());
    want.extend_from_slice(b"ab\0\0");
    want.extend_from_slice(&(!0u32).to_le_bytes());
    // Path "c", checksum !1.
    want.extend_from_slice(&8u32.to_le_bytes());
    want.extend_from_slice(b"c\0\0\0");
    want.extend_from_slice(&(!1u32).to_le_bytes());
    // Deps of id 0: mtime low word, high word, one input.
    want.extend_from_slice(&(16u32 | 0x8000_0000).to_le_bytes());
    for word in [0u32, 2, 1, 1] {
        want.extend_from_slice(&word.to_le_bytes());
    }
    assert_eq!(log.to_bytes(), want);
}

#[test]
fn a_path_whose_length_is_a_multiple_of_four_has_no_padding() {
    let mut log = DepsLog::new();
    log.record("abcd", 1, &[]).unwrap();
    let bytes = log.to_bytes();
    assert_eq!(&bytes[16..20], &8u32.to_le_bytes());
    assert_eq!(&bytes[20..24], b"abcd");
}

#[test]
fn recording_the_same_deps_again_changes_nothing() {
    let mut log = sample();
    assert!(!log.record("out/a.o", 1_700_000_000_123_456_789, &["src/a.c", "include/a.h"]).unwrap());
    assert!(log.record("out/a.o", 1, &["src/a.c", "include/a.h"]).unwrap());
    assert!(log.record("out/a.o", 1, &["src/a.c"]).unwrap());
    assert_eq!(inputs(&log, "out/a.o"), ["src/a.c"]);
}

#[test]
fn a_later_record_for_an_output_replaces_the_earlier_one() {
    let mut bytes = sample().to_bytes();
    // Append a second deps record for out/a.o (id 0) naming only id 2 (include/a.h).
    bytes.extend_from_slice(&(16u32 | 0x8000_0000).to_le_bytes());
    for word in [0u32, 9, 0, 2] {
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    let (log, report) = DepsLog::parse(&bytes).unwrap();
    assert_eq!(report.problem, None);
    assert_eq!(inputs(&log, "out/a.o"), ["include/a.h"]);
    assert_eq!(log.get("out/a.o").unwrap().mtime, 9);
}

#[test]
fn a_truncated_last_record_is_dropped_and_reported() {
    let full = sample().to_bytes();
    let whole = DepsLog::parse(&full).unwrap().0;
    let last_record_start = full.len() - 16; // out/c.o's deps record: size word + 3 words.
    for cut in last_record_start + 1..full.len() {
        let (log, report) = DepsLog::parse(&full[..cut]).unwrap();
        assert_eq!(report.valid_len, last_record_start as u64, "cut at {cut}");
        assert_eq!(report.problem.as_deref(), Some("premature end of file"));
        assert!(log.get("out/c.o").is_none());
        assert_eq!(log.get("out/b.o"), whole.get("out/b.o"));
    }
}

#[test]
fn a_record_naming_an_unknown_id_stops_reading() {
    let mut bytes = sample().to_bytes();
    let good = bytes.len() as u64;
    bytes.extend_from_slice(&(16u32 | 0x8000_0000).to_le_bytes());
    for word in [0u32, 0, 0, 999] {
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    let (_, report) = DepsLog::parse(&bytes).unwrap();
    assert_eq!(report.valid_len, good);
    assert!(report.problem.unwrap().contains("unknown path id"));
}

#[test]
fn a_wrong_checksum_stops_reading() {
    let mut bytes = sample().to_bytes();
    let good = bytes.len() as u64;
    bytes.extend_from_slice(&8u32.to_le_bytes());
    bytes.extend_from_slice(b"new\0");
    bytes.extend_from_slice(&(!0u32).to_le_bytes()); // Should be !(path count).
    let (log, report) = DepsLog::parse(&bytes).unwrap();
    assert_eq!(report.valid_len, good);
    assert!(log.id("new").is_none());
}

#[test]
fn a_path_with_a_nul_inside_stops_reading() {
    let mut bytes = sample().to_bytes();
    let good = bytes.len() as u64;
    bytes.extend_from_slice(&12u32.to_le_bytes());
    bytes.extend_from_slice(b"ab\0\0\0\0\0\0");
    bytes.extend_from_slice(&(!6u32).to_le_bytes()); // The right checksum: sample() has 6 paths.
    let (_, report) = DepsLog::parse(&bytes).unwrap();
    assert_eq!(report.valid_len, good);
    assert!(report.problem.unwrap().contains("NUL"));
}

#[test]
fn a_wrong_signature_or_version_is_refused() {
    assert!(matches!(DepsLog::parse(b"# ninjadepz\n\x04\0\0\0"), Err(DepsLogError::BadSignature)));
    assert!(matches!(DepsLog::parse(b""), Err(DepsLogError::BadSignature)));
    assert!(matches!(DepsLog::parse(b"# ninjadeps\n\x03\0\0\0"), Err(DepsLogError::BadVersion(3))));
    assert!(matches!(DepsLog::parse(b"# ninjadeps\n\x04\0"), Err(DepsLogError::BadVersion(0))));
    let e = DepsLog::parse(b"# ninjadeps\n\x01\0\0\0").unwrap_err();
    assert_eq!(e.to_string(), "deps log version 1 is not supported (only version 4 is)");
}

#[test]
fn write_replaces_the_file_and_read_gets_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".ninja_deps");
    std::fs::write(&path, b"old junk").unwrap();
    sample().write(&path).unwrap();
    let (log, report) = read(&path).unwrap();
    assert_eq!(report.problem, None);
    assert_eq!(inputs(&log, "out/b.o"), ["src/b.c", "include/a.h"]);
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn the_writer_appends_records_and_repairs_a_truncated_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".ninja_deps");
    {
        let (mut w, report) = DepsLogWriter::open(&path).unwrap();
        assert_eq!(report.valid_len, 0);
        assert!(w.record("a.o", 5, &["a.c", "a.h"]).unwrap());
        assert!(!w.record("a.o", 5, &["a.c", "a.h"]).unwrap());
        assert!(w.record("b.o", 6, &["b.c", "a.h"]).unwrap());
    }
    let len = std::fs::metadata(&path).unwrap().len();
    // Simulate a crash in the middle of a record.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&[8, 0, 0, 0, b'x']);
    std::fs::write(&path, &bytes).unwrap();
    {
        let (mut w, report) = DepsLogWriter::open(&path).unwrap();
        assert_eq!(report.valid_len, len);
        assert!(report.problem.is_some());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), len, "the broken tail is cut off");
        assert!(w.record("c.o", 7, &["c.c"]).unwrap());
    }
    let (log, report) = read(&path).unwrap();
    assert_eq!(report.problem, None);
    assert_eq!(inputs(&log, "a.o"), ["a.c", "a.h"]);
    assert_eq!(inputs(&log, "c.o"), ["c.c"]);
}

#[test]
fn oversized_or_empty_paths_are_refused() {
    let mut log = DepsLog::new();
    let many: Vec<String> = (0..MAX_RECORD_SIZE / 4).map(|i| format!("h{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    assert!(matches!(log.record("o", 0, &refs), Err(DepsLogError::RecordTooLarge(_))));
    assert!(matches!(log.record("", 0, &[]), Err(DepsLogError::InvalidPath(_))));
    assert!(matches!(log.record("o", 0, &["a\0b"]), Err(DepsLogError::InvalidPath(_))));
    assert_eq!(log.path_count(), 0, "nothing is half-recorded");
}
