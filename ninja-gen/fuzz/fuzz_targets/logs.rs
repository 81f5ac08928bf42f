//! Feeds arbitrary bytes to the `.ninja_deps` and `.ninja_log` readers; what
//! they accept must survive a write and a second read unchanged.

#![no_main]

use gg_ninja::build_log::BuildLog;
use gg_ninja::deps_log::DepsLog;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((log, _)) = DepsLog::parse(data) {
        let (again, report) = DepsLog::parse(&log.to_bytes()).expect("our own deps log must read back");
        assert_eq!(report.problem, None);
        assert!(log.iter().eq(again.iter()));
    }
    if let Ok(log) = BuildLog::parse(data) {
        let again = BuildLog::parse(&log.to_bytes()).expect("our own build log must read back");
        assert_eq!(log.entries(), again.entries());
    }
});
