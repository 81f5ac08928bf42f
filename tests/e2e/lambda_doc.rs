//! docs/lambda.md's try-out, run exactly as written (the block after the
//! `<!-- try-out -->` marker), with gg's binaries first on PATH and free
//! ports: deploy against moto, four function environments, a build.

use std::path::Path;
use std::process::Command;

use crate::lambda::free_port;
use crate::support::{text, Scratch};

/// The shell block that follows the marker in docs/lambda.md.
fn try_out_block() -> String {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/lambda.md")).unwrap();
    let after = doc.split_once("<!-- try-out -->\n```sh\n").expect("docs/lambda.md has its try-out block").1;
    after.split_once("\n```").expect("the block ends").0.to_string()
}

#[test]
fn the_lambda_try_out_in_the_docs_works_as_written() {
    let s = Scratch::new();
    let script = s.write("try-out.sh", &try_out_block());
    let bin = Path::new(env!("CARGO_BIN_EXE_gg")).parent().unwrap();
    let out = Command::new("bash")
        .arg("-euo")
        .arg("pipefail")
        .arg(&script)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()))
        .env("GG_DIR", s.store())
        .env("TMPDIR", s.path())
        .env("S3_PORT", free_port().to_string())
        .env("API_PORT", free_port().to_string())
        .env("MOTO_PORT", free_port().to_string())
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "the try-out failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("created"), "the function was deployed:\n{stdout}");
    assert!(stdout.contains("hello from lambda"), "the program runs:\n{stdout}");
    // Both compiles ran as invocations (the link here), and the
    // environments said so.
    let said = stderr.matches("gg-cc: 0 hit(s) here, 0 remote hit(s), 1 ran remotely, 0 ran here").count();
    assert_eq!(said, 2, "{stderr}");
    assert_eq!(stdout.matches("gg-worker lambda: ready").count(), 4, "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.contains(": invocation ") && l.contains(" ok in ")).count(), 2, "{stdout}");
}
