//! gg-worker over loopback: blobs verified on arrival and before serving,
//! thunks executed in its sandbox, authentication and limits.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use base64::Engine as _;

use crate::support::{blob_path, clobber, sh_thunk, text, Scratch};

/// A running worker, killed when dropped.
pub struct WorkerProc {
    pub child: Child,
    pub url: String,
}

impl Drop for WorkerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start(store: &std::path::Path, extra: &[&str]) -> WorkerProc {
    let jobs: &[&str] = if extra.contains(&"--jobs") { &[] } else { &["--jobs", "2"] };
    let mut child = Command::new(env!("CARGO_BIN_EXE_gg-worker"))
        .args(["serve", "--listen", "127.0.0.1:0", "--dir"])
        .arg(store)
        .args(jobs)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url =
        line.trim().strip_prefix("gg-worker listening on ").unwrap_or_else(|| panic!("unexpected: {line}")).to_string();
    WorkerProc { child, url }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn put(url: &str, name: &str, bytes: &[u8]) -> (u16, String) {
    let mut r = agent().put(format!("{url}/v1/blobs/{name}")).send(bytes).unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap_or_default())
}

fn get(url: &str, path: &str) -> (u16, Vec<u8>) {
    let mut r = agent().get(format!("{url}{path}")).call().unwrap();
    (r.status().as_u16(), r.body_mut().read_to_vec().unwrap_or_default())
}

fn post(url: &str, path: &str, body: &str) -> (u16, String) {
    let mut r = agent().post(format!("{url}{path}")).send(body).unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap_or_default())
}

fn name_of(s: &Scratch, file: &str) -> String {
    s.ok(&["hash", file]).split(' ').next().unwrap().to_string()
}

#[test]
fn blobs_are_verified_on_arrival_and_listed_as_missing_until_uploaded() {
    let s = Scratch::new();
    let w = start(&s.path().join("worker"), &[]);
    s.write("a.txt", "hello worker\n");
    let a = name_of(&s, "a.txt");
    let (code, body) = post(&w.url, "/v1/missing", &format!("[\"{a}\"]"));
    assert_eq!((code, body.as_str()), (200, format!("[\"{a}\"]").as_str()));
    let (code, body) = put(&w.url, &a, b"hello WORKER\n");
    assert_eq!(code, 422, "{body}");
    assert!(body.contains(&a) && body.contains("nothing was stored"), "{body}");
    assert_eq!(post(&w.url, "/v1/missing", &format!("[\"{a}\"]")).1, format!("[\"{a}\"]"));
    assert_eq!(put(&w.url, &a, b"hello worker\n").0, 200);
    assert_eq!(post(&w.url, "/v1/missing", &format!("[\"{a}\"]")).1, "[]");
    assert_eq!(get(&w.url, &format!("/v1/blobs/{a}")), (200, b"hello worker\n".to_vec()));
    let (code, body) = get(&w.url, "/v1/blobs/Vnot-a-name");
    assert_eq!(code, 400, "{}", String::from_utf8_lossy(&body));
    let status: serde_json::Value = serde_json::from_slice(&get(&w.url, "/v1/status").1).unwrap();
    assert_eq!(status["slots"], 2);
    assert!(status["store_bytes"].as_u64().unwrap() >= 13);
}

#[test]
fn a_blob_corrupted_on_the_workers_disk_is_never_served_or_used() {
    let s = Scratch::new();
    let store = s.path().join("worker");
    let w = start(&store, &[]);
    s.write("in.txt", "good\n");
    let v = name_of(&s, "in.txt");
    assert_eq!(put(&w.url, &v, b"good\n").0, 200);
    clobber(&blob_path(&store, &v), "evil\n");
    let (code, body) = get(&w.url, &format!("/v1/blobs/{v}"));
    assert_eq!(code, 500);
    assert!(String::from_utf8_lossy(&body).contains("corrupt"));
    // It was moved aside: the worker now asks for it again.
    assert_eq!(post(&w.url, "/v1/missing", &format!("[\"{v}\"]")).1, format!("[\"{v}\"]"));
}

/// The canonical encoding of a thunk made (and stored) by the client.
fn thunk_json(s: &Scratch, name: &str) -> String {
    s.ok(&["describe", "--json", name])
}

#[test]
fn a_thunk_runs_on_the_worker_with_small_outputs_inline() {
    let s = Scratch::new();
    let w = start(&s.path().join("worker"), &[]);
    s.write("in.txt", "from the client\n");
    let t = s.ok(&sh_thunk("tr a-z A-Z < in.txt > out; echo warn >&2", "out", &["--value", "in.txt"]));
    let encoding = thunk_json(&s, &t);
    // Inputs first: the worker says which it lacks.
    let thunk: serde_json::Value = serde_json::from_str(&encoding).unwrap();
    let mut needed: Vec<String> = Vec::new();
    for list in ["values", "executables"] {
        for o in thunk[list].as_array().unwrap() {
            needed.push(o.as_str().unwrap().split('=').next().unwrap().to_string());
        }
    }
    let (_, missing) = post(&w.url, "/v1/missing", &serde_json::to_string(&needed).unwrap());
    let missing: Vec<String> = serde_json::from_str(&missing).unwrap();
    assert_eq!(missing.len(), 2);
    for n in &missing {
        let bytes = std::fs::read(blob_path(&s.store(), n)).unwrap();
        assert_eq!(put(&w.url, n, &bytes).0, 200);
    }
    let req = serde_json::json!({ "thunks": [encoding] }).to_string();
    let (code, body) = post(&w.url, "/v1/execute", &req);
    assert_eq!(code, 200, "{body}");
    let resp: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(resp["failures"].as_array().unwrap().len(), 0, "{body}");
    let out = &resp["results"][0]["outputs"][0];
    let data = base64::engine::general_purpose::STANDARD.decode(out["data"].as_str().unwrap()).unwrap();
    assert_eq!(data, b"FROM THE CLIENT\n");
    let (code, fetched) = get(&w.url, &format!("/v1/blobs/{}", out["hash"].as_str().unwrap()));
    assert_eq!((code, fetched), (200, data));
    assert!(resp["results"][0]["stderr"].as_str().is_some(), "stderr kept: {body}");
}

#[test]
fn a_thunk_escaping_its_sandbox_or_missing_inputs_is_refused_clearly() {
    let s = Scratch::new();
    let w = start(&s.path().join("worker"), &[]);
    let t = s.ok(&sh_thunk("cat in.txt > out", "out", &[]));
    let encoding = thunk_json(&s, &t).replace("\"outputs\":[\"out\"]", "\"outputs\":[\"../../escape\"]");
    let (code, body) = post(&w.url, "/v1/execute", &serde_json::json!({ "thunks": [encoding] }).to_string());
    assert_eq!(code, 400);
    assert!(body.contains("outputs") && body.contains("../../escape"), "{body}");
    // A valid thunk whose function was never uploaded fails naming it.
    let encoding = thunk_json(&s, &t);
    let (code, body) = post(&w.url, "/v1/execute", &serde_json::json!({ "thunks": [encoding] }).to_string());
    assert_eq!(code, 200);
    assert!(body.contains("not in the store"), "{body}");
}

#[test]
fn tokens_and_size_limits_are_enforced() {
    let s = Scratch::new();
    s.write("token", "s3cret\n");
    let w = start(
        &s.path().join("worker"),
        &["--token-file", s.path().join("token").to_str().unwrap(), "--max-body", "1000"],
    );
    assert_eq!(get(&w.url, "/v1/status").0, 401);
    let with = |t: &str| {
        let mut r =
            agent().get(format!("{}/v1/status", w.url)).header("Authorization", format!("Bearer {t}")).call().unwrap();
        let _ = r.body_mut().read_to_vec();
        r.status().as_u16()
    };
    assert_eq!(with("wrong!"), 401);
    assert_eq!(with("s3cret"), 200);
    let big = vec![b'x'; 5000];
    let mut r = agent()
        .put(format!("{}/v1/blobs/V{}", w.url, "A".repeat(43) + "1388"))
        .header("Authorization", "Bearer s3cret")
        .send(&big[..])
        .unwrap();
    assert_eq!(r.status().as_u16(), 413, "{}", r.body_mut().read_to_string().unwrap_or_default());
}

#[test]
fn a_worker_will_not_listen_beyond_loopback_without_a_token() {
    let s = Scratch::new();
    let out = Command::new(env!("CARGO_BIN_EXE_gg-worker"))
        .args(["serve", "--listen", "0.0.0.0:0", "--dir"])
        .arg(s.path().join("w"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("refusing to listen on 0.0.0.0"), "{}", text(&out.stderr));
}

#[test]
fn at_most_jobs_thunks_run_at_once_and_a_full_queue_answers_503() {
    let s = Scratch::new();
    let w = start(&s.path().join("worker"), &["--jobs", "1"]);
    // Seven distinct thunks that each sleep; upload the shell once.
    let encodings: Vec<String> = (0..7)
        .map(|i| {
            let t = s.ok(&sh_thunk(&format!("sleep 1; echo {i} > out"), "out", &[]));
            thunk_json(&s, &t)
        })
        .collect();
    let sh = serde_json::from_str::<serde_json::Value>(&encodings[0]).unwrap()["function"]["hash"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(put(&w.url, &sh, &std::fs::read(blob_path(&s.store(), &sh)).unwrap()).0, 200);
    let url = w.url.clone();
    let handles: Vec<_> = encodings
        .into_iter()
        .map(|e| {
            let url = url.clone();
            std::thread::spawn(move || post(&url, "/v1/execute", &serde_json::json!({ "thunks": [e] }).to_string()))
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let status: serde_json::Value = serde_json::from_slice(&get(&w.url, "/v1/status").1).unwrap();
    assert_eq!(status["running"], 1, "{status}");
    assert!(status["queued"].as_u64().unwrap() >= 1, "{status}");
    let codes: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap().0).collect();
    assert!(codes.contains(&503), "past 4 queued requests the worker must answer 503: {codes:?}");
    assert!(codes.iter().filter(|c| **c == 200).count() >= 2, "{codes:?}");
}

/// Sends raw bytes and returns what the worker answers before closing or
/// going quiet.
fn raw(url: &str, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let addr = url.strip_prefix("http://").unwrap();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(3))).unwrap();
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn malformed_or_ambiguous_requests_are_refused() {
    let s = Scratch::new();
    let w = start(&s.path().join("worker"), &[]);
    // A head with no end is cut off at 64 KiB, not buffered for ever.
    let mut huge = b"GET /".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 200_000));
    assert!(raw(&w.url, &huge).starts_with("HTTP/1.1 400"), "an endless head is refused");
    // Two Content-Lengths could be read differently by a proxy in front.
    let smuggle = b"POST /v1/missing HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 60\r\n\r\n[]GET /v1/status HTTP/1.1\r\n\r\n";
    let answer = raw(&w.url, smuggle);
    assert!(answer.starts_with("HTTP/1.1 400") && answer.matches("HTTP/1.1").count() == 1, "{answer}");
    assert!(raw(&w.url, b"POST /v1/missing HTTP/1.1\r\nContent-Length: +2\r\n\r\n[]").starts_with("HTTP/1.1 400"));
    assert!(raw(&w.url, b"POST /v1/missing HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n").starts_with("HTTP/1.1 411"));
    // A body on a blob GET would be read as the next request: refused.
    let answer = raw(&w.url, b"GET /v1/blobs/Vnot-a-name HTTP/1.1\r\nContent-Length: 2\r\n\r\nxx");
    assert!(answer.starts_with("HTTP/1.1 400") && answer.matches("HTTP/1.1").count() == 1, "{answer}");
    // Heads ending in bare newlines are answered.
    assert!(raw(&w.url, b"GET /v1/status HTTP/1.1\nConnection: close\n\n").starts_with("HTTP/1.1 200"));
}

#[test]
fn headers_the_worker_cannot_read_are_refused_not_taken_as_absent() {
    let s = Scratch::new();
    s.write("token", "s3cret\n");
    let w = start(&s.path().join("worker"), &["--token-file", s.path().join("token").to_str().unwrap()]);
    let auth = "Authorization: Bearer s3cret\r\n";
    let status = |extra: &[u8]| {
        let mut req = format!("GET /v1/status HTTP/1.1\r\n{auth}").into_bytes();
        req.extend_from_slice(extra);
        req.extend_from_slice(b"Connection: close\r\n\r\n");
        raw(&w.url, &req)
    };
    assert!(status(b"").starts_with("HTTP/1.1 200"), "the plain request is answered");
    let answer = status(b"Transfer-Encoding: \xff\xfe\r\n");
    assert!(answer.starts_with("HTTP/1.1 411"), "{answer}");
    let answer = status(b"Accept: application/\xff\r\n");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let answer =
        raw(&w.url, b"GET /v1/status HTTP/1.1\r\nAuthorization: Bearer s3cret\xff\r\nConnection: close\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}

/// The worker's most resident memory so far, in KiB.
fn peak_rss_kib(w: &WorkerProc) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", w.child.id())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_large_blob_goes_through_the_worker_without_growing_its_memory() {
    use std::io::Read as _;
    let s = Scratch::new();
    let w = start(&s.path().join("worker"), &[]);
    let size = 200u64 << 20;
    let file = s.path().join("big");
    let f = std::fs::File::create(&file).unwrap();
    f.set_len(size).unwrap();
    drop(f);
    let name = name_of(&s, file.to_str().unwrap());
    let before = peak_rss_kib(&w);
    let started = std::time::Instant::now();
    let mut r = agent().put(format!("{}/v1/blobs/{name}", w.url)).send(&std::fs::File::open(&file).unwrap()).unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.body_mut().read_to_string().unwrap_or_default());
    let mut r = agent().get(format!("{}/v1/blobs/{name}", w.url)).call().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let mut body = r.body_mut().with_config().limit(u64::MAX).reader();
    let (mut got, mut buf) = (0u64, vec![0u8; 1 << 16]);
    loop {
        let n = body.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        assert!(buf[..n].iter().all(|b| *b == 0));
        got += n as u64;
    }
    assert_eq!(got, size);
    assert!(started.elapsed() < std::time::Duration::from_secs(120), "{:?}", started.elapsed());
    let grew = peak_rss_kib(&w).saturating_sub(before);
    assert!(grew < 48 * 1024, "the worker's memory grew by {grew} KiB moving a {size}-byte blob");
}

#[test]
fn a_flood_of_idle_connections_does_not_keep_out_a_client_with_the_token() {
    let s = Scratch::new();
    s.write("token", "s3cret\n");
    let w = start(&s.path().join("worker"), &["--token-file", s.path().join("token").to_str().unwrap()]);
    let addr: std::net::SocketAddr = w.url.strip_prefix("http://").unwrap().parse().unwrap();
    // More than the worker serves at once, none sending a byte.
    let idle: Vec<std::net::TcpStream> = (0..4500)
        .filter_map(|_| std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(1)).ok())
        .collect();
    assert!(idle.len() > 4096, "only {} connections opened", idle.len());
    let started = std::time::Instant::now();
    let r = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .build()
        .new_agent()
        .get(format!("{}/v1/status", w.url))
        .header("Authorization", "Bearer s3cret")
        .call();
    let code = r.map(|r| r.status().as_u16()).map_err(|e| e.to_string());
    assert_eq!(code, Ok(200), "after {:?}", started.elapsed());
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    drop(idle);
}

#[test]
fn a_head_trickling_in_is_cut_off_at_the_whole_head_deadline() {
    use std::io::{Read, Write};
    let s = Scratch::new();
    let w = start(&s.path().join("worker"), &[]);
    let mut c = std::net::TcpStream::connect(w.url.strip_prefix("http://").unwrap()).unwrap();
    let started = std::time::Instant::now();
    // A byte a second: each read is quick, the head never completes.
    let mut closed = false;
    for b in b"GET /v1/status HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
        if c.write_all(&[*b]).is_err() {
            closed = true;
            break;
        }
        c.set_read_timeout(Some(std::time::Duration::from_secs(1))).unwrap();
        match c.read(&mut [0u8; 512]) {
            Ok(_) => {
                closed = true;
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => {
                closed = true;
                break;
            }
        }
    }
    let took = started.elapsed();
    assert!(closed, "the worker still waited after {took:?}");
    assert!(took < std::time::Duration::from_secs(20), "{took:?}");
}

#[test]
fn a_thunk_without_a_timeout_of_its_own_is_killed_at_the_workers_default() {
    let s = Scratch::new();
    let w = start(&s.path().join("worker"), &["--thunk-timeout", "1"]);
    let t = s.ok(&sh_thunk("sleep 30; echo late > out", "out", &[]));
    let started = std::time::Instant::now();
    let out = s
        .cmd(&["force", &t])
        .env("GG_ENGINE", "remote")
        .env("GG_WORKERS", &w.url)
        .env("GG_REMOTE_STRICT", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("timed out after 1"), "{}", text(&out.stderr));
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
}

#[test]
fn a_worker_beyond_loopback_without_tls_warns_that_the_token_travels_in_clear() {
    let s = Scratch::new();
    s.write("token", "s3cret\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gg-worker"))
        .args(["serve", "--listen", "0.0.0.0:0", "--jobs", "1", "--token-file"])
        .arg(s.path().join("token"))
        .arg("--dir")
        .arg(s.path().join("w"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: a worker that never warns must fail the test, not hang it.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stderr).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.contains("warning") && line.contains("without TLS") && line.contains("--tls-cert"), "{line}");
}

/// Uploads what `encoding` names that the worker lacks.
fn upload_inputs(s: &Scratch, url: &str, encoding: &str) {
    let thunk: serde_json::Value = serde_json::from_str(encoding).unwrap();
    let mut needed: Vec<String> = Vec::new();
    for list in ["values", "executables"] {
        for o in thunk[list].as_array().unwrap() {
            needed.push(o.as_str().unwrap().split('=').next().unwrap().to_string());
        }
    }
    let (_, missing) = post(url, "/v1/missing", &serde_json::to_string(&needed).unwrap());
    for n in serde_json::from_str::<Vec<String>>(&missing).unwrap() {
        assert_eq!(put(url, &n, &std::fs::read(blob_path(&s.store(), &n)).unwrap()).0, 200);
    }
}

/// The `(hash, inline data)` of each result's first output, in order.
fn outputs(body: &str) -> Vec<(String, Vec<u8>)> {
    let resp: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(resp["failures"].as_array().unwrap().len(), 0, "{body}");
    let b64 = base64::engine::general_purpose::STANDARD;
    let results = resp["results"].as_array().unwrap();
    results
        .iter()
        .map(|r| {
            let out = &r["outputs"][0];
            (out["hash"].as_str().unwrap().to_string(), b64.decode(out["data"].as_str().unwrap()).unwrap())
        })
        .collect()
}

#[test]
fn a_thunk_the_worker_holds_the_answer_to_is_answered_from_it_until_an_output_is_lost() {
    let s = Scratch::new();
    let store = s.path().join("worker");
    let w = start(&store, &[]);
    s.write("in.txt", "twice");
    let a = s.ok(&sh_thunk("read x < in.txt; echo \"$x$x\" > out", "out", &["--value", "in.txt"]));
    let b = s.ok(&[
        "create-thunk",
        "--function",
        "/bin/sh=bin/sh",
        "--thunk",
        &format!("{a}=in"),
        "--output",
        "out",
        "--",
        "sh",
        "-c",
        "read x < in; echo \"<$x>\" > out",
    ]);
    let (ea, eb) = (thunk_json(&s, &a), thunk_json(&s, &b));
    upload_inputs(&s, &w.url, &ea);
    let post_thunks = |thunks: &[&String]| {
        let (code, body) = post(&w.url, "/v1/execute", &serde_json::json!({ "thunks": thunks }).to_string());
        assert_eq!(code, 200, "{body}");
        body
    };
    let first = outputs(&post_thunks(&[&ea]));
    assert_eq!(first[0].1, b"twicetwice\n");
    // Its input gone from the worker, the thunk could not run again: it is
    // answered from its reduction.
    let input = name_of(&s, "in.txt");
    std::fs::remove_file(blob_path(&store, &input)).unwrap();
    assert_eq!(outputs(&post_thunks(&[&ea])), first, "answered from its reduction");
    // With a new thunk consuming its output: that one runs, on the output
    // the answer names.
    let both = outputs(&post_thunks(&[&ea, &eb]));
    assert_eq!(both[0], first[0]);
    assert_eq!(both[1].1, b"<twicetwice>\n");
    // Its output lost too: it is run again (and now lacks its input),
    // never answered with an output the worker cannot serve.
    std::fs::remove_file(blob_path(&store, &first[0].0)).unwrap();
    let body = post_thunks(&[&ea]);
    let resp: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(resp["results"].as_array().unwrap().len(), 0, "{body}");
    assert_eq!(resp["failures"][0]["kind"], "missing", "{body}");
    upload_inputs(&s, &w.url, &ea);
    assert_eq!(outputs(&post_thunks(&[&ea])), first, "run again once its input is back");
    assert_eq!(get(&w.url, &format!("/v1/blobs/{}", first[0].0)).0, 200);
}
