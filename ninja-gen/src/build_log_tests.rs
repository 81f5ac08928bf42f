//! Tests of the build log: the command hash, reading Ninja's quirks, and
//! writing.

use super::*;

fn entry(output: &str, command: &str, start: i32) -> LogEntry {
    LogEntry {
        output: output.into(),
        command_hash: hash_command(command),
        start_ms: start,
        end_ms: start + 5,
        mtime: 1,
    }
}

#[test]
fn murmur_hash_matches_known_values() {
    // Taken from a .ninja_log that Ninja 1.11 wrote (tests/ninja_compat.rs
    // checks more against a live Ninja).
    assert_eq!(hash_command(r#"printf "o: a.h b.h\n" > o.d && touch o"#), 0x9c4a_c560_8635_bf65);
    assert_eq!(murmur_hash_64a(b"", 0), 0);
    assert_ne!(hash_command("cc a.c"), hash_command("cc b.c"));
    // Every tail length goes through its own branch.
    let hashes: std::collections::HashSet<u64> = (0..17).map(|n| hash_command(&"x".repeat(n))).collect();
    assert_eq!(hashes.len(), 17);
}

#[test]
fn a_log_round_trips_through_its_text() {
    let mut log = BuildLog::new();
    log.insert(entry("a.o", "cc a.c", 0));
    log.insert(entry("b b.o", "cc 'b b.c'", 3));
    log.insert(LogEntry { mtime: -5, ..entry("neg", "x", -1) });
    let text = log.to_bytes();
    assert!(text.starts_with(b"# ninja log v5\n"));
    let back = BuildLog::parse(&text).unwrap();
    assert_eq!(back.version(), 5);
    assert_eq!(back.entries(), log.entries());
}

#[test]
fn lines_are_formatted_as_ninja_writes_them() {
    let mut log = BuildLog::new();
    log.insert(LogEntry { output: "o".into(), command_hash: 0xabc, start_ms: 1, end_ms: 2, mtime: 3 });
    assert_eq!(log.to_bytes(), b"# ninja log v5\n1\t2\t3\to\tabc\n");
}

#[test]
fn the_last_line_for_an_output_wins() {
    let log = BuildLog::parse(b"# ninja log v5\n1\t2\t3\tout\taa\n4\t5\t6\tother\tbb\n7\t8\t9\tout\tcc\n").unwrap();
    assert_eq!(log.entries().len(), 2);
    let out = log.get("out").unwrap();
    assert_eq!((out.start_ms, out.end_ms, out.mtime, out.command_hash), (7, 8, 9, 0xcc));
    assert_eq!(log.entries()[0].output, "out", "outputs keep the order they first appeared in");
}

#[test]
fn malformed_and_unfinished_lines_are_skipped() {
    let log =
        BuildLog::parse(b"# ninja log v6\nno tabs here\n1\t2\t3\tshort\n1\t2\t3\tok\tff\n1\t2\t3\tcut\tff").unwrap();
    assert_eq!(log.version(), 6);
    assert_eq!(log.entries().iter().map(|e| e.output.as_str()).collect::<Vec<_>>(), ["ok"]);
}

#[test]
fn numbers_are_read_leniently_like_c() {
    let log = BuildLog::parse(b"# ninja log v5\n 12x\t-3\t99999999999999\tp\t0xFFg\n").unwrap();
    let e = log.get("p").unwrap();
    assert_eq!((e.start_ms, e.end_ms, e.mtime, e.command_hash), (12, -3, 99_999_999_999_999, 0xff));
}

#[test]
fn versions_outside_five_to_seven_are_refused() {
    assert!(matches!(BuildLog::parse(b"# ninja log v4\n"), Err(BuildLogError::TooOld(4))));
    assert!(matches!(BuildLog::parse(b"# ninja log v8\n"), Err(BuildLogError::TooNew(8))));
    assert!(matches!(BuildLog::parse(b"# ninja lag v5\n"), Err(BuildLogError::BadSignature)));
    assert!(matches!(BuildLog::parse(b""), Err(BuildLogError::BadSignature)));
    assert_eq!(BuildLog::parse(b"# ninja log v7\n").unwrap().version(), 7);
}

#[test]
fn write_goes_through_a_temporary_file_and_keeps_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".ninja_log");
    std::fs::write(&path, "# ninja log v6\n1\t2\t3\told\t1\n").unwrap();
    let mut log = read(&path).unwrap();
    log.insert(entry("new", "c", 4));
    log.write(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# ninja log v6\n1\t2\t3\told\t1\n"), "{text}");
    assert_eq!(read(&path).unwrap().entries().len(), 2);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
}

#[test]
fn append_writes_the_signature_only_to_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".ninja_log");
    append(&path, &[entry("a", "x", 0)]).unwrap();
    append(&path, &[entry("b", "y", 1), entry("a", "z", 2)]).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.matches("# ninja log").count(), 1);
    let log = read(&path).unwrap();
    assert_eq!(log.get("a").unwrap().command_hash, hash_command("z"));
    assert_eq!(log.entries().len(), 2);
}
