//! The Lambda engine when the function stops answering: killed or
//! stopped mid-build (stragglers duplicated, a silent function given up
//! on), and Ctrl-C/SIGTERM while invocations or worker requests are
//! pending (on the loopback emulators of `lambda.rs`).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::lambda::{Cloud, SECRET};
use crate::support::{blob_path, sh_thunk, text, Scratch};

/// Waits until `mark` exists (a thunk started), or fails naming `what`.
fn wait_for(mark: &Path, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !mark.exists() {
        assert!(Instant::now() < deadline, "{what} never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid as i32, sig) };
}

/// `n` thunks that each note their start in `mark`, then print their number.
fn numbered(s: &Scratch, mark: &Path, n: usize, sleep: &str) -> Vec<String> {
    (0..n)
        .map(|i| s.ok(&sh_thunk(&format!("echo >> {}; sleep {sleep}; echo {i} > out", mark.display()), "out", &[])))
        .collect()
}

fn force(cloud: &Cloud, s: &Scratch, thunks: &[String], env: &[(&str, &str)]) -> Child {
    let mut args = vec!["force", "-j", "4"];
    args.extend(thunks.iter().map(String::as_str));
    let mut c = cloud.gg(s, &args);
    c.envs(env.iter().copied()).stdout(Stdio::piped()).stderr(Stdio::piped());
    c.spawn().unwrap()
}

/// Each forced thunk's value holds its number.
fn assert_numbered(s: &Scratch, stdout: &str, n: usize) {
    let values: Vec<&str> = stdout.lines().map(|l| l.split_whitespace().nth(1).unwrap()).collect();
    assert_eq!(values.len(), n, "{stdout}");
    for (i, v) in values.iter().enumerate() {
        assert_eq!(std::fs::read_to_string(blob_path(&s.store(), v)).unwrap(), format!("{i}\n"));
    }
}

#[test]
fn a_function_killed_mid_build_is_given_up_on_and_the_thunks_run_locally_with_one_warning() {
    for strict in ["0", "1"] {
        let s = Scratch::new();
        let mut cloud = Cloud::start(&s, 1);
        let mark = s.path().join("started");
        let thunks = numbered(&s, &mark, 4, "1");
        let start = Instant::now();
        // The default invocation timeout (960 s): only the straggler
        // deadlines can end the wait.
        let child = force(&cloud, &s, &thunks, &[("GG_STRAGGLER_SECS", "1"), ("GG_REMOTE_STRICT", strict)]);
        wait_for(&mark, "the first thunk");
        signal(cloud.function_pid(0), libc::SIGKILL);
        let out = child.wait_with_output().unwrap();
        let err = text(&out.stderr);
        assert!(start.elapsed() < Duration::from_secs(40), "gave up in time: {:?}\n{err}", start.elapsed());
        assert!(err.contains("answered none of 3 invocations"), "the reason, once:\n{err}");
        if strict == "1" {
            assert!(!out.status.success(), "strict: the build fails\n{err}");
            assert!(err.contains("GG_REMOTE_STRICT=1"), "{err}");
        } else {
            assert!(out.status.success(), "the thunks ran locally:\n{err}");
            assert_eq!(err.matches("warning").count(), 1, "one warning:\n{err}");
            assert!(err.contains("4 thunk(s) ran locally"), "{err}");
            assert_numbered(&s, &text(&out.stdout), 4);
        }
        cloud.stop_functions();
    }
}

#[test]
fn a_stopped_function_s_invocation_is_duplicated_and_the_first_answer_wins() {
    let s = Scratch::new();
    let mut cloud = Cloud::start(&s, 1);
    let mark = s.path().join("started");
    let thunks = numbered(&s, &mark, 1, "0.2");
    let child = force(&cloud, &s, &thunks, &[("GG_STRAGGLER_SECS", "1")]);
    wait_for(&mark, "the thunk");
    // The environment hangs (its process stopped); Lambda would start a
    // new one for the next invocation.
    signal(cloud.function_pid(0), libc::SIGSTOP);
    cloud.add_function(SECRET);
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert!(out.status.success(), "the duplicate answered:\n{err}");
    assert!(err.contains("1 slow invocation(s) started again"), "{err}");
    assert!(!err.contains("ran locally"), "{err}");
    assert_numbered(&s, &text(&out.stdout), 1);
    assert_eq!(std::fs::read_to_string(&mark).unwrap().lines().count(), 2, "it ran in both environments");
    signal(cloud.function_pid(0), libc::SIGCONT);
}

/// SIGTERM to `child` once `ready` holds; its status and stderr, and how
/// long it took to end.
fn terminate(mut child: Child, ready: impl Fn() -> bool) -> (Option<i32>, String, Duration) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    signal(child.id(), libc::SIGTERM);
    let deadline = sent + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running 20 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = sent.elapsed();
    let out = child.wait_with_output().unwrap();
    (out.status.code(), text(&out.stderr), took)
}

#[test]
fn sigterm_ends_gg_force_at_once_with_130_while_an_invocation_never_answers() {
    let s = Scratch::new();
    let cloud = Cloud::start(&s, 1);
    let mark = s.path().join("started");
    let thunks = numbered(&s, &mark, 1, "0.1");
    // The function stops for good once the thunk started: no answer ever,
    // and no straggler deadline within the test.
    let child = force(&cloud, &s, &thunks, &[("GG_STRAGGLER_SECS", "600")]);
    let pid = cloud.function_pid(0);
    let (code, err, took) = terminate(child, || {
        mark.exists() && {
            signal(pid, libc::SIGSTOP);
            true
        }
    });
    assert_eq!(code, Some(130), "{err}");
    assert!(took < Duration::from_secs(3), "ended {took:?} after SIGTERM\n{err}");
    assert!(err.contains("interrupted"), "{err}");
    signal(pid, libc::SIGCONT);
}

#[test]
fn sigterm_ends_gg_ninja_at_once_with_130_while_an_invocation_never_answers() {
    let s = Scratch::new();
    let cloud = Cloud::start(&s, 1);
    let pid = cloud.function_pid(0);
    // The function's only environment is stopped: the compile's
    // invocation is never answered.
    signal(pid, libc::SIGSTOP);
    s.write("proj/a.c", "int a(void) { return 1; }\n");
    s.write("proj/build.ninja", "rule cc\n  command = gcc -c $in -o $out\nbuild a.o: cc a.c\n");
    let mut c = cloud.gg(&s, &["ninja", "-C", s.path().join("proj").to_str().unwrap()]);
    c.env("GG_STRAGGLER_SECS", "600").stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    let start = Instant::now();
    let (code, err, took) = terminate(child, || start.elapsed() > Duration::from_secs(2));
    assert_eq!(code, Some(130), "{err}");
    assert!(took < Duration::from_secs(3), "ended {took:?} after SIGTERM\n{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(!s.path().join("proj/a.o").exists(), "no object from an interrupted build");
    signal(pid, libc::SIGCONT);
}

#[test]
fn sigterm_ends_gg_force_and_gg_ninja_at_once_with_130_while_a_worker_never_answers() {
    let s = Scratch::new();
    // A worker that takes the connection and never says a word.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let t = s.ok(&sh_thunk("echo never > out", "out", &[]));
    let mut c = s.cmd(&["force", &t]);
    c.env("GG_ENGINE", "remote").env("GG_WORKERS", &url).env("GG_REMOTE_STRICT", "1");
    let child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (code, err, took) = terminate(child, || true);
    assert_eq!(code, Some(130), "gg force: {err}");
    assert!(took < Duration::from_secs(3), "gg force ended {took:?} after SIGTERM\n{err}");
    // gg ninja, one compile, on the same worker.
    s.write("proj/a.c", "int a(void) { return 1; }\n");
    s.write("proj/build.ninja", "rule cc\n  command = gcc -c $in -o $out\nbuild a.o: cc a.c\n");
    let mut c = s.cmd(&["ninja", "-C", s.path().join("proj").to_str().unwrap()]);
    c.env("GG_ENGINE", "remote").env("GG_WORKERS", &url).env("GG_REMOTE_STRICT", "1");
    let child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (code, err, took) = terminate(child, || true);
    assert_eq!(code, Some(130), "gg ninja: {err}");
    assert!(took < Duration::from_secs(3), "gg ninja ended {took:?} after SIGTERM\n{err}");
    assert!(!s.path().join("proj/a.o").exists(), "no object from an interrupted build");
}
