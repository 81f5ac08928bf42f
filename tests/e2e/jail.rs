//! Red-team tests of the jail: thunks sent to a loopback `gg-worker serve`
//! try to read the machine's and other clients' files, write outside their
//! sandbox, poison the worker's reductions, leave a process behind and
//! reach the network. Each attempt is contained by a worker with its
//! default jail, and each also runs on a `--no-jail` worker to show that
//! the probe would notice the escape.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::{blob_path, sh_thunk, text, Scratch};
use crate::worker::{start, WorkerProc};

/// A jailed worker and an unjailed one, each with its own store.
struct Workers {
    jailed: WorkerProc,
    jailed_store: PathBuf,
    open: WorkerProc,
    open_store: PathBuf,
}

fn workers(s: &Scratch) -> Workers {
    let (jailed_store, open_store) = (s.path().join("jailed"), s.path().join("open"));
    Workers { jailed: start(&jailed_store, &[]), open: start(&open_store, &["--no-jail"]), jailed_store, open_store }
}

/// Runs `sh -c script` (with `extra` create-thunk arguments) on the worker
/// at `url`, never locally, and returns what it wrote to `out`. The thunk
/// names the worker in an envar, so that a probe of one worker is never
/// answered from the client's cache of another.
fn probe(s: &Scratch, url: &str, script: &str, extra: &[&str]) -> String {
    let worker = format!("PROBED={url}");
    let mut extra = extra.to_vec();
    extra.extend(["--envar", &worker]);
    let t = s.ok(&sh_thunk(script, "out", &extra));
    let out = s
        .cmd(&["force", &t])
        .env("GG_ENGINE", "remote")
        .env("GG_WORKERS", url)
        .env("GG_REMOTE_STRICT", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "the probe failed on {url}:\n{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let value = stdout.split_whitespace().nth(1).unwrap_or_else(|| panic!("no value in {stdout}"));
    text(&std::fs::read(blob_path(&s.store(), value)).unwrap())
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                files.push((p.clone(), std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn a_jailed_thunk_cannot_read_the_machines_files() {
    let s = Scratch::new();
    let w = workers(&s);
    let script = "if cat /etc/passwd 2>/dev/null | grep -q root; then echo read; else echo refused; fi > out";
    assert_eq!(probe(&s, &w.open.url, script, &[]), "read\n");
    assert_eq!(probe(&s, &w.jailed.url, script, &[]), "refused\n");
}

#[test]
fn a_jailed_thunk_cannot_read_what_other_clients_uploaded() {
    let s = Scratch::new();
    let w = workers(&s);
    let victim = Scratch::new();
    // The marker is spelt in two halves in the probe, so that the probe's
    // own thunk (a blob on the worker too) does not contain it.
    victim.write("secret.c", "int key = 0; /* TOPSECRET */\n");
    let attack = "if grep -rq TOPSE\"\"CRET ../../blobs 2>/dev/null; then echo leaked; else echo refused; fi > out";
    for url in [&w.open.url, &w.jailed.url] {
        assert_eq!(probe(&victim, url, "wc -c < secret.c > out", &["--value", "secret.c"]), "29\n");
    }
    assert_eq!(probe(&s, &w.open.url, attack, &[]), "leaked\n");
    assert_eq!(probe(&s, &w.jailed.url, attack, &[]), "refused\n");
}

#[test]
fn a_jailed_thunk_cannot_write_outside_its_sandbox() {
    let s = Scratch::new();
    let w = workers(&s);
    let script = "echo escaped > ../../escape 2>/dev/null; echo tried > out";
    assert_eq!(probe(&s, &w.open.url, script, &[]), "tried\n");
    assert!(w.open_store.join("escape").exists(), "the probe writes where it says");
    assert_eq!(probe(&s, &w.jailed.url, script, &[]), "tried\n");
    assert!(!w.jailed_store.join("escape").exists(), "a jailed thunk wrote into the worker's store folder");
}

#[test]
fn a_jailed_thunk_cannot_poison_the_reductions_other_clients_get() {
    let s = Scratch::new();
    let w = workers(&s);
    let victim = Scratch::new();
    let attack = "for f in ../../reductions/*/*; do echo poisoned > \"$f\"; done 2>/dev/null; echo tried > out";
    for (url, store) in [(&w.open.url, &w.open_store), (&w.jailed.url, &w.jailed_store)] {
        assert_eq!(probe(&victim, url, "echo good > out", &[]), "good\n");
        let before = snapshot(&store.join("reductions"));
        assert!(!before.is_empty(), "the victim's thunk left a reduction on the worker");
        assert_eq!(probe(&s, url, attack, &[]), "tried\n");
        let after: Vec<_> = snapshot(&store.join("reductions")).into_iter().filter(|f| before.contains(f)).collect();
        if store == &w.open_store {
            assert_ne!(after, before, "the probe rewrites the reductions it reaches");
        } else {
            assert_eq!(after, before, "a jailed thunk rewrote the worker's reductions");
            // Another client asking for the same thunk gets the true answer.
            assert_eq!(probe(&Scratch::new(), url, "echo good > out", &[]), "good\n");
        }
    }
}

/// The pids of processes whose command line contains `token`.
fn processes_with(token: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).replace('\0', " ").contains(token) {
            found.push(pid);
        }
    }
    found
}

/// Waits up to 5 s for `token`'s processes to be gone; returns those left.
fn left_after_wait(token: &str) -> Vec<i32> {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_with(token);
        if left.is_empty() || Instant::now() > until {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_process_a_jailed_thunk_leaves_behind_is_gone_when_it_ends() {
    let s = Scratch::new();
    let w = workers(&s);
    // A duration no other process uses, to find the sleeper by.
    let token = format!("86{}.5", std::process::id() % 1000);
    // The pause lets the background child reach `setsid` (leave the
    // thunk's process group) before the thunk ends.
    let script = format!("setsid sleep {token} </dev/null >/dev/null 2>&1 & sleep 0.5; echo started > out");
    assert_eq!(probe(&s, &w.open.url, &script, &[]), "started\n");
    let escaped = processes_with(&token);
    for pid in &escaped {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
    assert!(!escaped.is_empty(), "the probe's sleeper outlives an unjailed thunk");
    assert!(left_after_wait(&token).is_empty());
    assert_eq!(probe(&s, &w.jailed.url, &script, &[]), "started\n");
    let left = left_after_wait(&token);
    for pid in &left {
        // SAFETY: as above.
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
    assert!(left.is_empty(), "a jailed thunk's setsid child outlived it: {left:?}");
}

#[test]
fn a_jailed_thunk_cannot_reach_the_worker_over_the_network() {
    let s = Scratch::new();
    let w = workers(&s);
    let port = |url: &str| url.rsplit(':').next().unwrap().to_string();
    let script = |port: String| {
        format!(
            "if /bin/bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port} && printf \"GET /v1/status HTTP/1.0\\r\\n\\r\\n\" >&3 \
             && cat <&3' 2>/dev/null | grep -q '\"slots\"'; then echo reached; else echo refused; fi > out"
        )
    };
    assert_eq!(probe(&s, &w.open.url, &script(port(&w.open.url)), &[]), "reached\n");
    assert_eq!(probe(&s, &w.jailed.url, &script(port(&w.jailed.url)), &[]), "refused\n");
}

#[test]
fn a_jailed_thunk_runs_under_the_limits() {
    let s = Scratch::new();
    let w = workers(&s);
    // dash: -p processes, -c core file blocks.
    let script = "echo $(ulimit -p) $(ulimit -c) > out";
    assert_ne!(probe(&s, &w.open.url, script, &[]), "4096 0\n", "the machine already has the jail's limits");
    assert_eq!(probe(&s, &w.jailed.url, script, &[]), "4096 0\n");
}

#[test]
fn a_jailed_thunk_cannot_have_the_worker_collect_a_host_file_through_a_symlinked_folder() {
    let s = Scratch::new();
    let w = workers(&s);
    // A file of the worker's machine, outside every store; the thunk
    // replaces its output's folder by a link to the folder holding it,
    // which the worker, outside the jail, would follow when collecting.
    let secret = s.write("host/secret.txt", "host secret\n");
    let folder = secret.parent().unwrap().display().to_string();
    let script = format!("rm -rf d; ln -s {folder} d");
    let t = s.ok(&sh_thunk(&script, "d/secret.txt", &["--envar", "PROBED=jailed"]));
    let out = s
        .cmd(&["force", &t])
        .env("GG_ENGINE", "remote")
        .env("GG_WORKERS", &w.jailed.url)
        .env("GG_REMOTE_STRICT", "1")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the worker collected a file outside the sandbox: {}", text(&out.stdout));
    assert!(text(&out.stderr).contains("d/secret.txt"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "host secret\n", "the host file was moved or changed");
}

#[test]
fn a_jailed_thunk_past_its_timeout_is_killed_with_everything_it_started() {
    let s = Scratch::new();
    let token = format!("87{}.5", std::process::id() % 1000);
    let script = format!("setsid sleep {token} </dev/null >/dev/null 2>&1 & sleep {token}; echo late > out");
    let t = s.ok(&sh_thunk(&script, "out", &["--timeout", "1"]));
    let start = Instant::now();
    let out = s.cmd(&["force", &t]).env("GG_SANDBOX", "strict").output().unwrap();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("timed out after 1s"), "{}", text(&out.stderr));
    assert!(start.elapsed() < Duration::from_secs(20), "the killed run took {:?}", start.elapsed());
    let left = left_after_wait(&token);
    for pid in &left {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
    assert!(left.is_empty(), "a timed-out jailed thunk left processes behind: {left:?}");
    assert!(processes_with(s.store().to_str().unwrap()).is_empty(), "the jail keeper outlived gg");
}

#[test]
fn an_interrupted_jailed_run_ends_promptly_with_nothing_left() {
    let s = Scratch::new();
    let token = format!("88{}.5", std::process::id() % 1000);
    let t = s.ok(&sh_thunk(&format!("sleep {token}; echo late > out"), "out", &[]));
    let mut child = s.cmd(&["force", &t]).env("GG_SANDBOX", "strict").spawn().unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    while processes_with(&token).is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!processes_with(&token).is_empty(), "the jailed thunk never started");
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let start = Instant::now();
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert!(start.elapsed() < Duration::from_secs(10), "gg took {:?} to stop", start.elapsed());
    assert!(left_after_wait(&token).is_empty(), "the jailed thunk outlived the interrupt");
}

#[test]
fn two_jailed_runs_at_once_see_neither_each_other_nor_each_others_sandbox() {
    let s = Scratch::new();
    // Each lists the processes it can see and the sandboxes folder; the
    // pause keeps both running at once.
    let script = |n: &str| {
        format!(
            "sleep 1; ls /proc | grep -c '^[0-9]' > out; ls {}/sandboxes | wc -l >> out; echo {n} >> out",
            s.store().display()
        )
    };
    let (a, b) = (s.ok(&sh_thunk(&script("a"), "out", &[])), s.ok(&sh_thunk(&script("b"), "out", &[])));
    let out = s.cmd(&["force", "-j", "2", &a, &b]).env("GG_SANDBOX", "strict").output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    for (line, n) in text(&out.stdout).lines().zip(["a", "b"]) {
        let value = line.split_whitespace().nth(1).unwrap();
        let seen = text(&std::fs::read(blob_path(&s.store(), value)).unwrap());
        // The init, the shell, `ls` and `grep`; one sandbox, its own.
        let counts: Vec<&str> = seen.lines().collect();
        assert!(counts[0].parse::<u32>().unwrap() <= 4, "{n} saw processes not its own: {seen}");
        assert_eq!(counts[1], "1", "{n} saw another sandbox: {seen}");
    }
}
