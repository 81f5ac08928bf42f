//! `gg force` with `GG_ENGINE=remote` on loopback gg-workers: the same
//! outputs as the local engine, a worker killed mid-build, no worker at
//! all (local fallback, or an error in strict mode), and tokens.

use std::path::Path;
use std::process::Command;

use crate::support::{reductions, sh_thunk, text, Scratch};
use crate::worker::{start, WorkerProc};

fn workers(s: &Scratch, n: usize, extra: &[&str]) -> Vec<WorkerProc> {
    (0..n).map(|i| start(&s.path().join(format!("worker{i}")), extra)).collect()
}

/// `gg ARGS` on the remote engine with the workers `ws`.
fn remote_cmd(s: &Scratch, args: &[&str], ws: &[WorkerProc]) -> Command {
    let mut c = s.cmd(args);
    c.env("GG_ENGINE", "remote").env("GG_WORKERS", urls(ws));
    c
}

fn urls(ws: &[WorkerProc]) -> String {
    ws.iter().map(|w| w.url.clone()).collect::<Vec<_>>().join(",")
}

/// Builds the README's example; returns every file of its build folder.
fn build_example(s: &Scratch, dir: &str, env: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hello");
    let copy = s.path().join(dir);
    assert!(Command::new("cp").arg("-r").arg(&example).arg(&copy).status().unwrap().success());
    let _ = std::fs::remove_dir_all(copy.join("build"));
    let mut c = Command::new(copy.join("build.sh"));
    c.env("GG", env!("CARGO_BIN_EXE_gg")).env("GG_DIR", s.path().join(format!("{dir}-store")));
    c.env("GG_VERIFY_SCAN", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "build.sh failed:\n{}{}", text(&out.stdout), text(&out.stderr));
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(copy.join("build"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn a_build_through_three_workers_matches_the_local_engine() {
    let s = Scratch::new();
    let ws = workers(&s, 3, &[]);
    let local = build_example(&s, "local", &[]);
    let remote = build_example(&s, "remote", &[("GG_ENGINE", "remote"), ("GG_WORKERS", &urls(&ws))]);
    assert_eq!(local.len(), 4);
    assert!(local == remote, "remote outputs differ from local ones");
    let ran: usize = (0..3).map(|i| reductions(&s.path().join(format!("worker{i}")))).sum();
    assert!(ran >= 4, "the thunks ran on the workers ({ran} reductions there)");
    let used = (0..3).filter(|i| reductions(&s.path().join(format!("worker{i}"))) > 0).count();
    assert!(used >= 2, "work was spread over the workers");
}

#[test]
fn a_worker_killed_mid_build_has_its_thunks_retried_elsewhere() {
    let s = Scratch::new();
    let mut ws = workers(&s, 3, &[]);
    let targets: Vec<String> =
        (0..18).map(|i| s.ok(&sh_thunk(&format!("sleep 0.3; echo {i} > out"), "out", &[]))).collect();
    let mut args = vec!["force"];
    args.extend(targets.iter().map(String::as_str));
    let child = remote_cmd(&s, &args, &ws)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(ws[0].child.id() as i32, libc::SIGKILL) };
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = text(&out.stdout);
    for (i, t) in targets.iter().enumerate() {
        let value = lines.lines().find(|l| l.starts_with(t.as_str())).unwrap().split(' ').nth(1).unwrap().to_string();
        let bytes = std::fs::read(crate::support::blob_path(&s.store(), &value)).unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), format!("{i}\n"));
    }
    let _ = ws[0].child.wait();
    ws.remove(0);
}

#[test]
fn with_every_worker_down_gg_runs_locally_or_fails_in_strict_mode() {
    let s = Scratch::new();
    let t = s.ok(&sh_thunk("echo local > out", "out", &["--placeholder", "out"]));
    let dead = "http://127.0.0.1:9";
    let out = s.cmd(&["force", "out"]).env("GG_ENGINE", "remote").env("GG_WORKERS", dead).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("warning: no worker answered") && err.contains("ran locally"), "{err}");
    assert_eq!(std::fs::read_to_string(s.path().join("out")).unwrap(), "local\n");
    s.write("out", &format!("/* gg placeholder: {t} */\n"));
    std::fs::remove_dir_all(s.store().join("reductions")).unwrap();
    let out = s
        .cmd(&["force", "out"])
        .env("GG_ENGINE", "remote")
        .env("GG_WORKERS", dead)
        .env("GG_REMOTE_STRICT", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no worker answered (GG_REMOTE_STRICT=1)"), "{}", text(&out.stderr));
    assert!(std::fs::read_to_string(s.path().join("out")).unwrap().starts_with("/* gg placeholder"));
}

#[test]
fn workers_with_a_token_need_the_token() {
    let s = Scratch::new();
    s.write("token", "t0k3n\n");
    let ws = workers(&s, 1, &["--token-file", s.path().join("token").to_str().unwrap()]);
    let t = s.ok(&sh_thunk("echo remote > out", "out", &[]));
    let out = remote_cmd(&s, &["force", &t], &ws).env("GG_TOKEN", "nope").output().unwrap();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("401"), "{}", text(&out.stderr));
    let out = remote_cmd(&s, &["force", &t], &ws).env("GG_TOKEN", "t0k3n").output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(reductions(&s.path().join("worker0")), 1);
}

#[test]
fn a_stopped_worker_is_overtaken_by_straggler_duplication() {
    let s = Scratch::new();
    let ws = workers(&s, 3, &[]);
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(ws[0].child.id() as i32, libc::SIGSTOP) };
    let targets: Vec<String> =
        (0..9).map(|i| s.ok(&sh_thunk(&format!("sleep 0.2; echo {i} > out"), "out", &[]))).collect();
    let mut args = vec!["force", "-j", "3"];
    args.extend(targets.iter().map(String::as_str));
    let start = std::time::Instant::now();
    let out = remote_cmd(&s, &args, &ws).env("GG_STRAGGLER_SECS", "1").env("GG_REMOTE_STRICT", "1").output().unwrap();
    // SAFETY: as above.
    unsafe { libc::kill(ws[0].child.id() as i32, libc::SIGCONT) };
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(start.elapsed() < std::time::Duration::from_secs(30));
    assert!(text(&out.stderr).contains("started again on another worker"), "{}", text(&out.stderr));
    let lines = text(&out.stdout);
    for (i, t) in targets.iter().enumerate() {
        let value = lines.lines().find(|l| l.starts_with(t.as_str())).unwrap().split(' ').nth(1).unwrap().to_string();
        let bytes = std::fs::read(crate::support::blob_path(&s.store(), &value)).unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), format!("{i}\n"));
    }
}

#[test]
fn the_engine_and_workers_can_come_from_a_project_config_file() {
    let s = Scratch::new();
    let ws = workers(&s, 1, &[]);
    s.write("gg.toml", &format!("[engine]\nkind = \"remote\"\nworkers = [\"{}\"]\nstrict = true\n", ws[0].url));
    let t = s.ok(&sh_thunk("echo configured > out", "out", &[]));
    s.ok(&["force", &t]);
    assert_eq!(reductions(&s.path().join("worker0")), 1, "the thunk ran on the configured worker");
    // The environment wins over the file.
    let t2 = s.ok(&sh_thunk("echo local > out", "out", &[]));
    s.cmd(&["force", &t2]).env("GG_ENGINE", "local").status().unwrap();
    assert_eq!(reductions(&s.path().join("worker0")), 1);
    s.write("gg.toml", "[engine]\nkind = \"remote\"\nworkerz = []\n");
    let err = s.fails(&["force", &t2]);
    assert!(err.contains("gg.toml") && err.contains("workerz"), "{err}");
}

#[test]
fn a_silent_only_worker_ends_in_the_local_fallback_not_a_hang() {
    let s = Scratch::new();
    let ws = workers(&s, 1, &[]);
    let t = s.ok(&sh_thunk("echo hi > out", "out", &[]));
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(ws[0].child.id() as i32, libc::SIGSTOP) };
    let start = std::time::Instant::now();
    let out = remote_cmd(&s, &["force", &t], &ws).env("GG_STRAGGLER_SECS", "0.5").output().unwrap();
    // SAFETY: as above.
    unsafe { libc::kill(ws[0].child.id() as i32, libc::SIGCONT) };
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("ran locally"), "{}", text(&out.stderr));
    assert!(start.elapsed() < std::time::Duration::from_secs(20), "{:?}", start.elapsed());
}

#[test]
fn a_thunks_own_failure_is_reported_not_retried_on_other_workers() {
    let s = Scratch::new();
    let ws = workers(&s, 2, &[]);
    // The output's name mimics a message about missing objects.
    let t = s.ok(&sh_thunk("exit 0", "not in the store", &[]));
    let out = remote_cmd(&s, &["force", &t], &ws).output().unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("was not produced") && !err.contains("ran locally"), "{err}");
}

fn status(w: &WorkerProc) -> serde_json::Value {
    let mut resp = ureq::get(format!("{}/v1/status", w.url)).call().unwrap();
    serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
}

fn has_reduction(worker_dir: &Path, thunk: &str) -> bool {
    worker_dir.join("reductions").join(&thunk[1..2]).join(thunk).exists()
}

/// A 200 KB intermediate (too big to come back inline), a consumer and its
/// consumer: one chain.
fn big_chain(s: &Scratch) -> (String, String, String) {
    let a = s.ok(&sh_thunk("i=0; while [ $i -lt 2000 ]; do printf '%0100d' $i; i=$((i+1)); done > big", "big", &[]));
    let a_big = format!("{a}#big=in/big");
    let b = s.ok(&sh_thunk("wc -c < in/big > n", "n", &["--thunk", &a_big]));
    let b_n = format!("{b}#n=in/n");
    let c = s.ok(&sh_thunk("cat in/n in/n > out", "out", &["--thunk", &b_n]));
    (a, b, c)
}

#[test]
fn a_ready_chain_travels_as_one_request_and_its_intermediates_stay_on_the_worker() {
    let s = Scratch::new();
    let ws = workers(&s, 1, &[]);
    let (a, _, c) = big_chain(&s);
    let out = remote_cmd(&s, &["force", &c], &ws).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let value = text(&out.stdout).split(' ').nth(1).unwrap().trim().to_string();
    assert_eq!(std::fs::read(crate::support::blob_path(&s.store(), &value)).unwrap(), b"200000\n200000\n");
    assert_eq!(status(&ws[0])["executed"], 1, "three thunks, one request");
    // The 200 KB intermediate was made on the worker and never fetched.
    let worker_dir = s.path().join("worker0");
    let red: serde_json::Value =
        serde_json::from_slice(&std::fs::read(worker_dir.join("reductions").join(&a[1..2]).join(&a)).unwrap()).unwrap();
    let big = red["outputs"][0][1].as_str().unwrap().to_string();
    assert!(crate::support::blob_path(&worker_dir, &big).exists());
    assert!(!crate::support::blob_path(&s.store(), &big).exists(), "the intermediate came back to the client");
    // Forcing the intermediate itself brings it back.
    let out = remote_cmd(&s, &["force", &a], &ws).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::metadata(crate::support::blob_path(&s.store(), &big)).unwrap().len(), 200_000);
}

#[test]
fn an_intermediate_lost_with_its_worker_is_made_again_by_re_running_its_producer() {
    let s = Scratch::new();
    let mut ws = workers(&s, 2, &[]);
    let a = s.ok(&sh_thunk("i=0; while [ $i -lt 2000 ]; do printf '%0100d' $i; i=$((i+1)); done > big", "big", &[]));
    let x = s.ok(&sh_thunk("sleep 1.5; echo x > x", "x", &[]));
    // The consumer also waits for x, so A travels alone and its 200 KB
    // output stays on its worker; that worker is killed before x is done,
    // and the consumer can only run where A's output never was.
    let (a_big, x_x) = (format!("{a}#big=in/big"), format!("{x}#x=in/x"));
    let c = s.ok(&sh_thunk("wc -c < in/big > n; cat in/x >> n", "n", &["--thunk", &a_big, "--thunk", &x_x]));
    let child = remote_cmd(&s, &["force", &c], &ws)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let dirs = [s.path().join("worker0"), s.path().join("worker1")];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let holder = loop {
        if let Some(i) = (0..2).find(|i| has_reduction(&dirs[*i], &a)) {
            break i;
        }
        assert!(std::time::Instant::now() < deadline, "A never ran");
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    assert!(!has_reduction(&dirs[0], &x) && !has_reduction(&dirs[1], &x), "x ended before the kill");
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(ws[holder].child.id() as i32, libc::SIGKILL) };
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let value = text(&out.stdout).split(' ').nth(1).unwrap().trim().to_string();
    assert_eq!(std::fs::read(crate::support::blob_path(&s.store(), &value)).unwrap(), b"200000\nx\n");
    let other = 1 - holder;
    assert!(has_reduction(&dirs[other], &a), "A was run again on the surviving worker");
    let _ = ws[holder].child.wait();
    ws.remove(holder);
}

/// The value `gg force` printed for `target`, read from the client's store.
fn forced_text(s: &Scratch, stdout: &str, target: &str) -> String {
    let line = stdout.lines().find(|l| l.starts_with(target)).unwrap_or_else(|| panic!("{target} in {stdout}"));
    let value = line.split(' ').nth(1).unwrap();
    String::from_utf8(std::fs::read(crate::support::blob_path(&s.store(), value)).unwrap()).unwrap()
}

#[test]
fn independent_ready_thunks_reach_a_worker_as_one_request_and_a_failure_spares_its_siblings() {
    let s = Scratch::new();
    // The thunks meet in a folder outside their sandboxes, which only an
    // unjailed worker lets them reach.
    let ws = workers(&s, 1, &["--jobs", "8", "--no-jail"]);
    // Each good thunk waits (10 s at most) until all seven have started:
    // run one after another, they would fail.
    let met = s.path().join("met");
    std::fs::create_dir(&met).unwrap();
    let met = met.display();
    let good: Vec<String> = (0..7)
        .map(|i| {
            let script = format!(
                "touch {met}/{i}; n=0; while [ $(ls {met} | wc -l) -lt 7 ] && [ $n -lt 200 ]; do sleep 0.05; \
                 n=$((n+1)); done; [ $n -lt 200 ] && echo {i} > out"
            );
            s.ok(&sh_thunk(&script, "out", &[]))
        })
        .collect();
    let bad = s.ok(&sh_thunk("sleep 0.1; echo broken >&2; exit 3", "out", &[]));
    let mut args = vec!["force", "-j", "8", bad.as_str()];
    args.extend(good.iter().map(String::as_str));
    // Without -k: the failure stops new work, not its siblings in flight.
    let out = remote_cmd(&s, &args, &ws).output().unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("exited with status 3") && err.contains("broken"), "{err}");
    assert!(err.contains("7 thunk(s) ran") && err.contains("1 failed"), "{err}");
    assert_eq!(status(&ws[0])["executed"], 1, "eight thunks, one request");
    // Their reductions are recorded: forcing them again runs nothing.
    let mut args2 = vec!["force"];
    args2.extend(good.iter().map(String::as_str));
    let out = remote_cmd(&s, &args2, &ws).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("0 thunk(s) ran, 7 answered from the cache"), "{}", text(&out.stderr));
    for (i, t) in good.iter().enumerate() {
        assert_eq!(forced_text(&s, &text(&out.stdout), t), format!("{i}\n"));
    }
}

#[test]
fn a_quick_thunks_consumer_runs_while_a_slow_batch_sibling_still_runs() {
    let s = Scratch::new();
    let ws = workers(&s, 1, &["--jobs", "4"]);
    let slow = s.ok(&sh_thunk("sleep 3; echo slow > out", "out", &[]));
    let q1 = s.ok(&sh_thunk("echo q1 > out", "out", &[]));
    let q2 = s.ok(&sh_thunk("echo q2 > out", "out", &[]));
    // Two producers: the consumer cannot travel in a chain with either,
    // so it starts only once the client has both answers.
    let (in1, in2) = (format!("{q1}#out=in/1"), format!("{q2}#out=in/2"));
    let c = s.ok(&sh_thunk("cat in/1 in/2 > out", "out", &["--thunk", &in1, "--thunk", &in2]));
    let child = remote_cmd(&s, &["force", "-j", "4", &slow, &c], &ws)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The client records each reduction as its answer comes in.
    let dir = s.store();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !has_reduction(&dir, &c) {
        assert!(std::time::Instant::now() < deadline, "the consumer never ran");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!has_reduction(&dir, &slow), "the consumer waited for the slow thunk");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(forced_text(&s, &text(&out.stdout), &c), "q1\nq2\n");
    assert_eq!(status(&ws[0])["executed"], 2, "slow, q1 and q2 in one request; the consumer in another");
}

#[test]
fn a_worker_killed_mid_batch_still_gives_every_thunk_its_result() {
    let s = Scratch::new();
    let mut ws = workers(&s, 2, &["--jobs", "6"]);
    let targets: Vec<String> =
        (0..12).map(|i| s.ok(&sh_thunk(&format!("sleep 0.5; echo {i} > out"), "out", &[]))).collect();
    let mut args = vec!["force", "-j", "12"];
    args.extend(targets.iter().map(String::as_str));
    let child = remote_cmd(&s, &args, &ws)
        .env("GG_REMOTE_STRICT", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Both batches are running (six thunks each) when one worker dies.
    let dirs = [s.path().join("worker0"), s.path().join("worker1")];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !dirs.iter().all(|d| d.join("sandboxes").read_dir().is_ok_and(|mut e| e.next().is_some())) {
        assert!(std::time::Instant::now() < deadline, "the batches never started");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(ws[0].child.id() as i32, libc::SIGKILL) };
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    for (i, t) in targets.iter().enumerate() {
        assert_eq!(forced_text(&s, &text(&out.stdout), t), format!("{i}\n"));
    }
    // The survivor got its own batch and the dead one's, not a request per
    // thunk (12). How the ready thunks split into batches depends on when
    // the scheduler sees them, so a busy machine may add a request or two.
    let executed = status(&ws[1])["executed"].as_u64().unwrap();
    assert!((1..=6).contains(&executed), "{executed} requests");
    let _ = ws[0].child.wait();
    ws.remove(0);
}

/// A CA and a certificate it signed for 127.0.0.1, made with openssl in
/// `dir`: `(ca.pem, cert.pem, key.pem)`.
fn certificates(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", text(&out.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=gg test CA"],
        ]
        .concat(),
    );
    openssl(
        &[&["req", "-new"][..], &ec, &["-keyout", "key.pem", "-out", "w.csr", "-subj", "/CN=gg test worker"]].concat(),
    );
    std::fs::write(dir.join("ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "w.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "ext",
    ]);
    (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"))
}

#[test]
fn a_worker_over_tls_serves_a_client_that_trusts_its_ca_and_is_refused_by_one_that_does_not() {
    let s = Scratch::new();
    let (ca, cert, key) = certificates(s.path());
    s.write("token", "t0k3n\n");
    let ws = workers(
        &s,
        1,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--token-file",
            s.path().join("token").to_str().unwrap(),
        ],
    );
    assert!(ws[0].url.starts_with("https://127.0.0.1:"), "{}", ws[0].url);
    let t = s.ok(&sh_thunk("echo over tls > out", "out", &[]));
    let out = remote_cmd(&s, &["force", &t], &ws)
        .env("GG_TOKEN", "t0k3n")
        .env("GG_REMOTE_STRICT", "1")
        .env("GG_WORKER_CA", &ca)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(reductions(&s.path().join("worker0")), 1, "the thunk ran on the worker");
    // Without the CA, the worker's certificate is not trusted.
    let t2 = s.ok(&sh_thunk("echo untrusted > out", "out", &[]));
    let out =
        remote_cmd(&s, &["force", &t2], &ws).env("GG_TOKEN", "t0k3n").env("GG_REMOTE_STRICT", "1").output().unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("certificate was refused") && err.contains("UnknownIssuer"), "{err}");
    assert_eq!(reductions(&s.path().join("worker0")), 1);
    // Plain HTTP to the TLS port is no way round it.
    let plain = ws[0].url.replace("https://", "http://");
    let out = s
        .cmd(&["force", &t2])
        .env("GG_ENGINE", "remote")
        .env("GG_WORKERS", &plain)
        .env("GG_TOKEN", "t0k3n")
        .env("GG_REMOTE_STRICT", "1")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out.stdout));
}

#[test]
fn a_pinned_worker_certificate_is_trusted_without_a_ca_and_any_other_is_refused() {
    let s = Scratch::new();
    let (_, cert, key) = certificates(s.path());
    let mut w = crate::worker::start(
        &s.path().join("worker0"),
        &["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()],
    );
    // The worker prints the fingerprint openssl gives for its certificate.
    // Kept open to the end: a worker writing to a closed pipe would fail.
    let mut stderr = std::io::BufReader::new(w.child.stderr.take().unwrap());
    let mut said = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut said).unwrap();
    let out =
        Command::new("openssl").args(["x509", "-noout", "-fingerprint", "-sha256", "-in"]).arg(&cert).output().unwrap();
    let openssl = text(&out.stdout);
    let pin = openssl.trim().rsplit('=').next().unwrap().to_string();
    assert!(said.contains(&pin), "the worker said `{said}`, openssl `{openssl}`");
    let ws = [w];
    let t = s.ok(&sh_thunk("echo pinned > out", "out", &[]));
    let out = remote_cmd(&s, &["force", &t], &ws)
        .env("GG_REMOTE_STRICT", "1")
        .env("GG_WORKER_FINGERPRINT", &pin)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(reductions(&s.path().join("worker0")), 1, "the thunk ran on the worker");
    let t2 = s.ok(&sh_thunk("echo other > out", "out", &[]));
    let out = remote_cmd(&s, &["force", &t2], &ws)
        .env("GG_REMOTE_STRICT", "1")
        .env("GG_WORKER_FINGERPRINT", "00".repeat(32))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains(&pin) && err.contains("not among GG_WORKER_FINGERPRINT"), "{err}");
    assert_eq!(reductions(&s.path().join("worker0")), 1);
    drop(stderr);
}

/// Starts a worker on `store` with `--tls-self-signed`; returns it, the
/// fingerprint it printed, and its stderr (kept open while it runs).
fn self_signed_worker(store: &Path) -> (WorkerProc, String, std::io::BufReader<std::process::ChildStderr>) {
    let mut w = crate::worker::start(store, &["--tls-self-signed"]);
    let mut stderr = std::io::BufReader::new(w.child.stderr.take().unwrap());
    let mut said = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut said).unwrap();
    let fingerprint = said.split_whitespace().find(|w| w.len() == 95 && w.contains(':')).unwrap_or_default();
    assert!(!fingerprint.is_empty(), "no fingerprint in `{said}`");
    (w, fingerprint.to_string(), stderr)
}

#[test]
fn a_self_signed_worker_keeps_its_certificate_across_restarts_and_serves_clients_that_pin_it() {
    let s = Scratch::new();
    let store = s.path().join("worker0");
    let (first, pin, _stderr) = self_signed_worker(&store);
    assert!(first.url.starts_with("https://"), "{}", first.url);
    drop(first);
    let (w, again, _stderr) = self_signed_worker(&store);
    assert_eq!(again, pin, "the same certificate after a restart");
    let ws = [w];
    let t = s.ok(&sh_thunk("echo self-signed > out", "out", &[]));
    let out = remote_cmd(&s, &["force", &t], &ws)
        .env("GG_REMOTE_STRICT", "1")
        .env("GG_WORKER_FINGERPRINT", &pin)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(reductions(&store), 1, "the thunk ran on the worker");
}
