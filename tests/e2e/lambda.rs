//! The Lambda engine against real third-party servers on loopback:
//! s3s-fs (S3, checking SigV4 signatures) and cargo-lambda's emulator (the
//! Runtime and Invoke APIs), with gg-worker processes serving as the
//! function. Both servers come from integration/lambda-tools.sh.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{blob_path, sh_thunk, text, Scratch};

/// The bucket every test uses.
pub const BUCKET: &str = "gg-blobs";
pub const KEY: &str = "AKIAGGTEST";
pub const SECRET: &str = "gg-test-secret";

pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An S3 server, a Lambda emulator and some function processes.
pub struct Cloud {
    dir: PathBuf,
    s3_port: u16,
    api_port: u16,
    functions: Vec<Proc>,
    _servers: Vec<Proc>,
}

/// s3s-fs, cargo-lambda, moto_server and aws, installed if need be.
pub fn tools() -> [PathBuf; 4] {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../integration/lambda-tools.sh");
    let out = Command::new(script).output().unwrap();
    assert!(out.status.success(), "cannot install the Lambda test tools:\n{}", text(&out.stderr));
    let paths: Vec<PathBuf> = text(&out.stdout).lines().map(PathBuf::from).collect();
    paths.try_into().expect("four tools")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn wait_for_port(port: u16, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start listening on port {port}:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Cloud {
    /// Servers on free ports, with `functions` function processes.
    pub fn start(s: &Scratch, functions: usize) -> Cloud {
        let [s3s, lambda, ..] = tools();
        let dir = s.path().join("cloud");
        std::fs::create_dir_all(dir.join("s3").join(BUCKET)).unwrap();
        let s3_port = free_port();
        let s3_log = dir.join("s3.log");
        let s3 = Command::new(s3s)
            .args(["--host", "127.0.0.1", "--port", &s3_port.to_string(), "--access-key", KEY, "--secret-key", SECRET])
            .arg(dir.join("s3"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&s3_log).unwrap())
            .spawn()
            .unwrap();
        // The emulator serves the functions its working folder's Cargo.toml
        // names as binaries.
        let project = dir.join("function");
        std::fs::create_dir_all(&project).unwrap();
        std::fs::write(
            project.join("Cargo.toml"),
            "[package]\nname = \"gg-function\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [[bin]]\nname = \"gg\"\npath = \"main.rs\"\n",
        )
        .unwrap();
        std::fs::write(project.join("main.rs"), "fn main() {}\n").unwrap();
        let api_port = free_port();
        let api_log = dir.join("emulator.log");
        let emulator = Command::new(lambda)
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", &api_port.to_string()])
            .current_dir(&project)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&api_log).unwrap())
            .spawn()
            .unwrap();
        let servers = vec![Proc(s3), Proc(emulator)];
        wait_for_port(s3_port, "s3s-fs", &s3_log);
        wait_for_port(api_port, "cargo lambda watch", &api_log);
        let mut cloud = Cloud { dir, s3_port, api_port, functions: Vec::new(), _servers: servers };
        for _ in 0..functions {
            cloud.add_function(SECRET);
        }
        cloud
    }

    fn s3_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// Starts one more function process (a fresh environment, as Lambda
    /// starts one), signing its S3 calls with `secret`.
    pub fn add_function(&mut self, secret: &str) -> usize {
        self.add_function_with(secret, &[])
    }

    pub fn add_function_with(&mut self, secret: &str, env: &[(&str, &str)]) -> usize {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gg-worker"));
        c.arg("lambda");
        self.add_function_cmd(c, secret, env)
    }

    /// Starts `c` as a function process, in the environment Lambda gives.
    pub fn add_function_cmd(&mut self, mut c: Command, secret: &str, env: &[(&str, &str)]) -> usize {
        let i = self.functions.len();
        let scratch = self.dir.join(format!("fn{i}"));
        std::fs::create_dir_all(&scratch).unwrap();
        let child = c
            // The emulator's Runtime API for function `gg`, as a full URL.
            .env("AWS_LAMBDA_RUNTIME_API", format!("http://127.0.0.1:{}/.rt/gg", self.api_port))
            .env("GG_LAMBDA_TMP", &scratch)
            .env("GG_S3_ENDPOINT", self.s3_url())
            .env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_REGION", "us-east-1")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.join(format!("fn{i}.log"))).unwrap())
            .spawn()
            .unwrap();
        self.functions.push(Proc(child));
        i
    }

    /// Kills every function process (-9).
    pub fn stop_functions(&mut self) {
        for f in &mut self.functions {
            let _ = f.0.kill();
            let _ = f.0.wait();
        }
    }

    pub fn function_pid(&self, i: usize) -> u32 {
        self.functions[i].0.id()
    }

    /// The environment that points gg at this cloud.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("GG_ENGINE", "lambda".to_string()),
            ("GG_REMOTE_STRICT", "1".into()),
            ("GG_LAMBDA_FUNCTION", "gg".into()),
            ("GG_LAMBDA_ENDPOINT", format!("http://127.0.0.1:{}", self.api_port)),
            ("GG_S3_ENDPOINT", self.s3_url()),
            ("GG_S3_BUCKET", BUCKET.into()),
            ("AWS_ACCESS_KEY_ID", KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET.into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// `gg ARGS` on this cloud.
    pub fn gg(&self, s: &Scratch, args: &[&str]) -> Command {
        let mut c = s.cmd(args);
        c.envs(self.env());
        c
    }

    /// Keys under `prefix` in the bucket.
    pub fn objects(&self, prefix: &str) -> Vec<String> {
        let dir = self.dir.join("s3").join(BUCKET).join(prefix);
        let mut keys: Vec<String> = std::fs::read_dir(dir)
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        keys.sort();
        keys
    }

    pub fn function_log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.join(format!("fn{i}.log"))).unwrap_or_default()
    }

    pub fn scratch(&self, i: usize) -> PathBuf {
        self.dir.join(format!("fn{i}"))
    }
}

fn forced(out: &std::process::Output) -> String {
    assert!(out.status.success(), "gg force failed:\n{}{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn a_thunk_runs_as_an_invocation_with_its_blobs_and_reduction_in_s3() {
    let s = Scratch::new();
    let cloud = Cloud::start(&s, 1);
    // A 100 KB input goes through S3; the small script travels inline.
    let big = s.write("big.txt", &"0123456789".repeat(10_000));
    let value = format!("{}=in/big.txt", big.display());
    let t = s.ok(&sh_thunk(
        "wc -c < in/big.txt > out; head -c 200000 /dev/zero > zeros; echo done >&2",
        "out",
        &["--value", &value, "--output", "zeros"],
    ));
    let out = cloud.gg(&s, &["force", &format!("{t}#out"), &format!("{t}#zeros")]).output().unwrap();
    let stdout = forced(&out);
    assert!(text(&out.stderr).contains("done"), "the function's stderr is replayed:\n{}", text(&out.stderr));
    let values: Vec<&str> = stdout.lines().map(|l| l.split_whitespace().nth(1).unwrap()).collect();
    let read = |v: &str| std::fs::read(blob_path(&s.store(), v)).unwrap();
    assert_eq!(read(values[0]), b"100000\n");
    assert_eq!(read(values[1]), vec![0; 200_000], "a large output is fetched from S3 when forced");
    let blobs = cloud.objects("blobs");
    let hashed = s.ok(&["hash", big.to_str().unwrap()]);
    let input = hashed.split_whitespace().next().unwrap().to_string();
    assert!(blobs.contains(&input), "the large input went through S3: {blobs:?}");
    for v in &values {
        assert!(blobs.iter().any(|b| b == v), "every output is in S3: {v} not in {blobs:?}");
    }
    assert_eq!(cloud.objects("reductions"), std::slice::from_ref(&t), "the reduction is in S3");
    // The function's log, as CloudWatch would show it: ready, then one
    // line per invocation.
    let log = cloud.function_log(0);
    assert!(log.starts_with("gg-worker lambda: ready: runtime API"), "{log}");
    let line = log.lines().find(|l| l.contains(": invocation ")).unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains(&format!("{t} ok in ")) && line.ends_with(" s"), "{line}");
    // The scratch folder holds only the store once the invocation is over.
    let left: Vec<_> = std::fs::read_dir(cloud.scratch(0)).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["gg-store"], "the scratch folder was cleaned");
}

#[test]
fn a_thunks_own_failure_is_reported_once_with_its_stderr() {
    let s = Scratch::new();
    let cloud = Cloud::start(&s, 1);
    let t = s.ok(&sh_thunk("echo 'no such header' >&2; exit 3", "out", &[]));
    let out = cloud.gg(&s, &["force", &t]).output().unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains(&t) && err.contains("no such header"), "the thunk and its stderr are shown:\n{err}");
    assert!(err.contains("1 lambda invocation(s), 0 of them retries"), "not retried:\n{err}");
    assert!(cloud.function_log(0).contains(&format!("{t} exit in ")), "{}", cloud.function_log(0));
}

#[test]
fn a_wrong_s3_secret_is_a_clear_error_without_a_hang_and_a_warning_without_strict_mode() {
    let s = Scratch::new();
    let cloud = Cloud::start(&s, 1);
    let t = s.ok(&sh_thunk("echo hi > out", "out", &[]));
    let start = Instant::now();
    let out = cloud.gg(&s, &["force", &t]).env("AWS_SECRET_ACCESS_KEY", "not-the-secret").output().unwrap();
    assert!(!out.status.success(), "strict mode: the build fails");
    let err = text(&out.stderr);
    assert!(err.contains("SignatureDoesNotMatch") && err.contains(BUCKET), "S3's reason and the bucket:\n{err}");
    assert!(start.elapsed() < Duration::from_secs(20), "no hang: {:?}", start.elapsed());
    let out = cloud
        .gg(&s, &["force", &t])
        .env("AWS_SECRET_ACCESS_KEY", "not-the-secret")
        .env("GG_REMOTE_STRICT", "0")
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(out.status.success(), "without strict mode the thunk runs locally:\n{err}");
    assert!(err.contains("warning") && err.contains("SignatureDoesNotMatch"), "{err}");
    assert!(err.contains("1 thunk(s) ran locally"), "{err}");
}

#[test]
fn a_function_killed_mid_invocation_is_retried_in_a_new_environment() {
    let s = Scratch::new();
    let mut cloud = Cloud::start(&s, 1);
    let mark = s.path().join("started");
    let script = format!("echo >> {}; sleep 2; echo finished > out", mark.display());
    let t = s.ok(&sh_thunk(&script, "out", &[]));
    let force = {
        let mut c = cloud.gg(&s, &["force", &t]);
        c.env("GG_LAMBDA_TIMEOUT", "5").stdout(Stdio::piped()).stderr(Stdio::piped());
        c.spawn().unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !mark.exists() {
        assert!(Instant::now() < deadline, "the thunk never started:\n{}", cloud.function_log(0));
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(cloud.function_pid(0) as i32, libc::SIGKILL) };
    cloud.add_function(SECRET);
    let out = force.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert!(out.status.success(), "the retry succeeded:\n{err}");
    assert!(err.contains("2 lambda invocation(s), 1 of them retries"), "{err}");
    assert_eq!(std::fs::read_to_string(&mark).unwrap().lines().count(), 2, "the thunk ran twice");
}

#[test]
fn a_function_that_keeps_failing_is_retried_then_reported() {
    let s = Scratch::new();
    let mut cloud = Cloud::start(&s, 0);
    // The function's own S3 calls are refused: every invocation fails.
    cloud.add_function("the-function-has-a-wrong-secret");
    let big = s.write("big.txt", &"x".repeat(100_000));
    let value = format!("{}=big.txt", big.display());
    let t = s.ok(&sh_thunk("wc -c < big.txt > out", "out", &["--value", &value]));
    let start = Instant::now();
    let out = cloud.gg(&s, &["force", &t]).output().unwrap();
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("failed 3 times running thunk") && err.contains(&t), "{err}");
    assert!(err.contains("gg.S3") && err.contains("SignatureDoesNotMatch"), "the function's error is shown:\n{err}");
    assert!(err.contains("3 lambda invocation(s), 2 of them retries"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(30), "{:?}", start.elapsed());
}

#[test]
fn a_blob_lost_from_the_bucket_is_uploaded_again() {
    let s = Scratch::new();
    let mut cloud = Cloud::start(&s, 1);
    let big = s.write("big.txt", &"y".repeat(100_000));
    let value = format!("{}=big.txt", big.display());
    let first = s.ok(&sh_thunk("wc -c < big.txt > out", "out", &["--value", &value]));
    forced(&cloud.gg(&s, &["force", &first]).output().unwrap());
    // The bucket loses the input (a lifecycle rule, say); the client
    // still believes it is there. A new environment has none of it.
    cloud.stop_functions();
    cloud.add_function(SECRET);
    let hashed = s.ok(&["hash", big.to_str().unwrap()]);
    let input = hashed.split_whitespace().next().unwrap();
    std::fs::remove_file(cloud.dir.join("s3").join(BUCKET).join("blobs").join(input)).unwrap();
    let second = s.ok(&sh_thunk("wc -c < big.txt > out; echo again >> out", "out", &["--value", &value]));
    let out = cloud.gg(&s, &["force", &second]).output().unwrap();
    forced(&out);
    assert!(cloud.objects("blobs").contains(&input.to_string()), "uploaded again: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("2 lambda invocation(s), 0 of them retries"), "{}", text(&out.stderr));
}

#[test]
fn the_function_keeps_its_store_under_the_limit() {
    let s = Scratch::new();
    let mut cloud = Cloud::start(&s, 0);
    let i = cloud.add_function_with(SECRET, &[("GG_LAMBDA_STORE_LIMIT", "1000000")]);
    let mut thunks = Vec::new();
    for n in 0..6 {
        thunks.push(s.ok(&sh_thunk(&format!("head -c 400000 /dev/urandom > out; echo {n}"), "out", &[])));
    }
    for t in &thunks {
        forced(&cloud.gg(&s, &["force", t]).output().unwrap());
    }
    let mut total = 0;
    for dir in ["blobs", "exec"] {
        let root = cloud.scratch(i).join("gg-store").join(dir);
        for shard in std::fs::read_dir(root).unwrap().flatten() {
            for e in std::fs::read_dir(shard.path()).unwrap().flatten() {
                total += e.metadata().unwrap().len();
            }
        }
    }
    assert!(total <= 1_000_000, "the store holds {total} bytes, over its limit");
    assert_eq!(cloud.objects("reductions").len(), 6, "every output still reached S3");
}

/// `make` in `tree` through gg-cc on `cloud`, with the store `store`.
fn make_through(cloud: &Cloud, tree: &Path, store: &Path, env: &[(&str, &str)]) -> std::process::Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_gg-cc")).parent().unwrap();
    Command::new("sh")
        .args(["-ec", "make clean >/dev/null && make -j4 linux CC='gg-cc -std=gnu99'"])
        .current_dir(tree)
        .envs(cloud.env())
        .env("GG_DIR", store)
        .envs(env.iter().copied())
        .env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()))
        .output()
        .unwrap()
}

#[test]
fn lua_from_debian_builds_on_lambda_identically_and_a_fresh_machine_hits_the_bucket() {
    use crate::projects::{assert_same_outputs, build_outputs, plain_lua};
    let s = Scratch::new();
    let (tree, plain) = plain_lua(&s);
    let objects = plain.keys().filter(|p| p.extension().is_some_and(|e| e == "o")).count();

    let mut cloud = Cloud::start(&s, 3);
    // Strict mode: a compile that did not run as an invocation fails.
    let out = make_through(&cloud, &tree, &s.store(), &[]);
    assert!(out.status.success(), "make on lambda failed:\n{}{}", text(&out.stdout), text(&out.stderr));
    assert_same_outputs(&plain, &build_outputs(&tree), "lua compiled on lambda");
    let reductions = cloud.objects("reductions").len();
    assert!(reductions >= objects, "every compile left its reduction in S3 ({reductions} for {objects} objects)");
    for i in 0..3 {
        let log = cloud.function_log(i);
        let bad =
            |l: &&str| l.contains(": error ") || l.contains("cannot answer") || !l.starts_with("gg-worker lambda: ");
        assert!(log.lines().find(bad).is_none(), "function {i} reported an error:\n{log}");
    }

    // Another machine: an empty store, and no function running at all.
    // Every compile must come from the reductions in the bucket.
    cloud.stop_functions();
    let fresh = s.path().join("fresh-store");
    // A miss would find no function: each of its 3 invocations times out
    // and gg-cc fails (strict mode) rather than compiling here.
    let out = make_through(&cloud, &tree, &fresh, &[("GG_LAMBDA_TIMEOUT", "5"), ("GG_LOG", "info")]);
    assert!(out.status.success(), "the build from the bucket failed:\n{}{}", text(&out.stdout), text(&out.stderr));
    assert_same_outputs(&plain, &build_outputs(&tree), "lua from the bucket's reductions");
    // Counted as hits, not misses, and said so by each compile.
    let said = text(&out.stderr).matches("gg-cc: 0 hit(s) here, 1 remote hit(s), 0 ran remotely, 0 ran here").count();
    assert_eq!(said, objects, "{}", text(&out.stderr));
    let stats = s.cmd(&["stats"]).env("GG_DIR", &fresh).output().unwrap();
    let stats = text(&stats.stdout);
    let count = |label: &str| -> usize {
        let line = stats.lines().find(|l| l.trim_start().starts_with(label)).unwrap_or_else(|| panic!("{stats}"));
        line.trim_start()[label.len()..].split_whitespace().next().unwrap().parse().unwrap()
    };
    assert_eq!((count("preprocessed hits"), count("misses")), (objects, 0), "{stats}");
}

#[test]
fn the_packaged_bootstrap_serves_invocations_with_its_own_libraries() {
    let s = Scratch::new();
    let zip = s.path().join("fn.zip");
    let out = s.ok(&["lambda", "package", "-o", zip.to_str().unwrap()]);
    assert!(out.contains("bootstrap") && out.contains("bin/gg-worker") && out.contains("lib/libc.so.6"), "{out}");
    // The same gg-worker gives the same zip, byte for byte.
    let again = s.path().join("again.zip");
    s.ok(&["lambda", "package", "-o", again.to_str().unwrap()]);
    assert_eq!(std::fs::read(&zip).unwrap(), std::fs::read(&again).unwrap(), "the zip is reproducible");
    // Lambda unpacks it to LAMBDA_TASK_ROOT and runs `bootstrap`.
    let task = s.path().join("task");
    let unzip = Command::new("unzip").arg("-q").arg(&zip).arg("-d").arg(&task).status().unwrap();
    assert!(unzip.success());
    let mode =
        |p: &str| std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(task.join(p)).unwrap().permissions());
    assert_eq!(mode("bootstrap") & 0o777, 0o755, "bootstrap is executable");
    assert_eq!(mode("bin/gg-worker") & 0o777, 0o755);
    let mut cloud = Cloud::start(&s, 0);
    let mut c = Command::new(task.join("bootstrap"));
    c.env("LAMBDA_TASK_ROOT", &task);
    let i = cloud.add_function_cmd(c, SECRET, &[]);
    let t = s.ok(&sh_thunk("echo packaged > out", "out", &[]));
    let out = cloud.gg(&s, &["force", &t]).output().unwrap();
    forced(&out);
    // bootstrap exec'd the loader: the function process maps only the
    // packaged C library.
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", cloud.function_pid(i))).unwrap();
    let libs: Vec<&str> =
        maps.lines().filter_map(|l| l.split_whitespace().nth(5)).filter(|p| p.contains(".so")).collect();
    assert!(libs.iter().any(|l| l.ends_with("/lib/libc.so.6")), "{libs:?}");
    for lib in &libs {
        assert!(lib.starts_with(task.to_str().unwrap()), "`{lib}` was loaded from outside the package: {libs:?}");
    }
}

#[test]
fn deploy_creates_then_updates_the_function_through_the_aws_cli() {
    let s = Scratch::new();
    let [_, _, moto, aws] = tools();
    let port = free_port();
    let log = s.path().join("moto.log");
    let _moto = Proc(
        Command::new(moto)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_for_port(port, "moto_server", &log);
    let endpoint = format!("http://127.0.0.1:{port}");
    let aws_cmd = |args: &[&str]| {
        let out = Command::new(&aws)
            .args(["--endpoint-url", &endpoint, "--region", "eu-west-1", "--output", "json"])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .output()
            .unwrap();
        assert!(out.status.success(), "aws {args:?}:\n{}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = aws_cmd(&["iam", "create-role", "--role-name", "gg-fn", "--assume-role-policy-document", trust]);
    let arn = role["Role"]["Arn"].as_str().unwrap().to_string();
    let deploy = |extra: &[&str]| {
        let mut c = s.cmd(&["lambda", "deploy", "--function", "gg-test"]);
        c.args(extra)
            .env("GG_AWS_CLI", &aws)
            .env("GG_LAMBDA_ENDPOINT", &endpoint)
            .env("GG_LAMBDA_REGION", "eu-west-1")
            .env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET);
        c.output().unwrap()
    };
    // A new function needs a role.
    let out = deploy(&[]);
    assert!(!out.status.success() && text(&out.stderr).contains("--role"), "{}", text(&out.stderr));
    let zip = s.path().join("fn.zip");
    s.ok(&["lambda", "package", "-o", zip.to_str().unwrap()]);
    let out = deploy(&["--role", &arn, "--zip", zip.to_str().unwrap(), "--memory", "2048"]);
    assert!(
        out.status.success() && text(&out.stdout).contains("created"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let f = aws_cmd(&["lambda", "get-function", "--function-name", "gg-test"]);
    let conf = &f["Configuration"];
    assert_eq!(conf["Runtime"], "provided.al2023");
    assert_eq!(conf["Handler"], "bootstrap");
    assert_eq!(conf["MemorySize"], 2048);
    assert_eq!(conf["Timeout"], 900);
    assert_eq!(conf["EphemeralStorage"]["Size"], 10240);
    assert_eq!(conf["Environment"]["Variables"]["GG_LAMBDA_STORE_LIMIT"], (10240u64 << 19).to_string());
    assert_eq!(conf["CodeSize"], std::fs::metadata(&zip).unwrap().len(), "the zip given was deployed");
    // Deploying again updates code and settings in place.
    let out = deploy(&["--zip", zip.to_str().unwrap(), "--memory", "1024", "--timeout", "600"]);
    assert!(
        out.status.success() && text(&out.stdout).contains("updated"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let conf = &aws_cmd(&["lambda", "get-function", "--function-name", "gg-test"])["Configuration"];
    assert_eq!((conf["MemorySize"].as_u64(), conf["Timeout"].as_u64()), (Some(1024), Some(600)));
}

#[test]
fn upload_puts_files_in_the_bucket_under_their_names() {
    let s = Scratch::new();
    let cloud = Cloud::start(&s, 0);
    let small = s.write("small.txt", "small\n");
    let big = s.write("big.bin", &"z".repeat(2 << 20));
    let out = cloud.gg(&s, &["lambda", "upload", small.to_str().unwrap(), big.to_str().unwrap()]).output().unwrap();
    let listed = forced(&out);
    let names: Vec<String> = listed.lines().map(|l| l.split_whitespace().next().unwrap().to_string()).collect();
    assert_eq!(names.len(), 2, "{listed}");
    assert_eq!(cloud.objects("blobs"), {
        let mut n = names.clone();
        n.sort();
        n
    });
    let stored = cloud.dir.join("s3").join(BUCKET).join("blobs").join(&names[1]);
    assert_eq!(std::fs::read(stored).unwrap().len(), 2 << 20, "the 2 MB file arrived whole");
    let out = cloud
        .gg(&s, &["lambda", "upload", small.to_str().unwrap()])
        .env("GG_S3_BUCKET", "Bad_Bucket")
        .output()
        .unwrap();
    assert!(
        !out.status.success() && text(&out.stderr).contains("`Bad_Bucket` is not a valid S3 bucket name"),
        "{}",
        text(&out.stderr)
    );
}

/// A CMake project of three compiles, an archive and a link, in `src/`.
fn cmake_project(s: &Scratch) {
    s.write(
        "src/CMakeLists.txt",
        "cmake_minimum_required(VERSION 3.13)\nproject(t C)\nadd_library(parts STATIC a.c b.c)\n\
         add_executable(app main.c)\ntarget_link_libraries(app parts)\n",
    );
    s.write("src/a.c", "int a(void) { return 40; }\n");
    s.write("src/b.c", "int b(void) { return 2; }\n");
    s.write(
        "src/main.c",
        "#include <stdio.h>\nint a(void); int b(void);\nint main(void) { printf(\"%d\\n\", a() + b()); return 0; }\n",
    );
}

#[test]
fn gg_ninja_on_lambda_builds_a_cmake_project_like_ninja() {
    use crate::projects::{assert_same_outputs, build_outputs, sh};
    let s = Scratch::new();
    cmake_project(&s);
    let configure = "cmake -S src -B build -G Ninja -DCMAKE_C_COMPILER=gcc > /dev/null";
    sh(&s, s.path(), &format!("{configure} && ninja -C build > /dev/null"), false);
    let plain = build_outputs(&s.path().join("build"));
    sh(&s, s.path(), "rm -rf build", false);
    let cloud = Cloud::start(&s, 2);
    sh(&s, s.path(), configure, false);
    let out = Command::new(env!("CARGO_BIN_EXE_gg"))
        .args(["ninja", "-C", "build"])
        .current_dir(s.path())
        .env("GG_DIR", s.store())
        .envs(cloud.env())
        .output()
        .unwrap();
    assert!(out.status.success(), "gg ninja on lambda failed:\n{}{}", text(&out.stdout), text(&out.stderr));
    assert_same_outputs(&plain, &build_outputs(&s.path().join("build")), "gg ninja on lambda");
    assert_eq!(sh(&s, s.path(), "build/app", false), "42\n");
    // Three compiles, the archive and the link all ran as invocations,
    // none here: five reductions in the bucket, or six when the link went
    // in one invocation with the archive (the function then records it
    // under its resolved name too), which depends on which compile ended
    // first.
    let reductions = cloud.objects("reductions");
    assert!((5..=6).contains(&reductions.len()), "{reductions:?}");
    assert!(!text(&out.stderr).contains("locally"), "{}", text(&out.stderr));
}

#[test]
fn a_second_machine_names_every_thunk_as_the_first_did_and_invokes_nothing() {
    use crate::projects::{assert_same_outputs, build_outputs, sh};
    let s = Scratch::new();
    cmake_project(&s);
    // More parts, compiled side by side, and a header they share.
    let mut parts = String::new();
    for i in 0..12 {
        s.write(&format!("src/p{i}.c"), &format!("#include \"p.h\"\nint p{i}(void) {{ return P + {i}; }}\n"));
        parts.push_str(&format!(" p{i}.c"));
    }
    s.write("src/p.h", "#include <stdio.h>\n#define P 1\n");
    // A program of one source: its compile and link go as one chain.
    s.write("src/solo.c", "int main(void) { return 0; }\n");
    let cml = std::fs::read_to_string(s.path().join("src/CMakeLists.txt")).unwrap();
    let cml = cml.replace("a.c b.c", &format!("a.c b.c{parts}")) + "add_executable(solo solo.c)\n";
    s.write("src/CMakeLists.txt", &cml);
    let cloud = Cloud::start(&s, 1);
    let configure = "rm -rf build && cmake -S src -B build -G Ninja -DCMAKE_C_COMPILER=gcc > /dev/null";
    let build = |store: &str| {
        sh(&s, s.path(), configure, false);
        let out = Command::new(env!("CARGO_BIN_EXE_gg"))
            .args(["ninja", "-C", "build"])
            .current_dir(s.path())
            .env("GG_DIR", s.path().join(store))
            .envs(cloud.env())
            // The bucket as a shared cache too: the second machine's
            // compiles are direct hits, its links are not.
            .env("GG_REMOTE_CACHE", format!("s3://{BUCKET}"))
            .output()
            .unwrap();
        assert!(out.status.success(), "gg ninja on lambda failed:\n{}{}", text(&out.stdout), text(&out.stderr));
        (cloud.objects("reductions"), build_outputs(&s.path().join("build")), text(&out.stderr))
    };
    let (first, outputs, err) = build("store-a");
    // Every thunk ran on the functions; nothing was found anywhere.
    let tally = err.lines().find(|l| l.contains("remote hit(s)")).unwrap_or_else(|| panic!("no summary:\n{err}"));
    assert!(
        tally.starts_with("gg ninja: 0 hit(s) here, 0 remote hit(s), ") && tally.ends_with(", 0 ran here"),
        "{tally}"
    );
    assert!(first.len() >= 19, "16 compiles, the archive and two links: {first:?}");
    // Another machine: an empty store, the same project at the same path.
    let (second, again, err) = build("store-b");
    // Every thunk B made had a name A had a result for: nothing ran, not
    // one invocation. (B may write a result back under a second name, the
    // thunk with its inputs resolved to values.)
    assert!(first.iter().all(|t| second.contains(t)), "{first:?}\n{second:?}");
    assert_same_outputs(&outputs, &again, "the second machine's build");
    // Every compile a direct hit from the bucket's manifests, the archive
    // and links answered from its reductions: nothing ran anywhere.
    let tally = err.lines().find(|l| l.contains("remote hit(s)")).unwrap_or_else(|| panic!("no summary:\n{err}"));
    assert_eq!(tally, "gg ninja: 0 hit(s) here, 19 remote hit(s), 0 ran remotely, 0 ran here", "{err}");
    assert!(!err.contains("lambda invocation"), "nothing invoked:\n{err}");
}

#[test]
fn a_thunk_running_into_the_invocations_deadline_fails_as_timed_out_without_retries() {
    let s = Scratch::new();
    let mut cloud = Cloud::start(&s, 0);
    // The emulator gives every invocation 600 s; a margin of 598 s leaves
    // the thunk 2.
    cloud.add_function_with(SECRET, &[("GG_LAMBDA_MARGIN", "598")]);
    let t = s.ok(&sh_thunk("sleep 30; echo late > out", "out", &[]));
    let start = Instant::now();
    let out = cloud.gg(&s, &["force", &t]).output().unwrap();
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("deadline") && err.contains(&t), "the thunk and the reason are named:\n{err}");
    assert!(err.contains("1 lambda invocation(s), 0 of them retries"), "a timeout is the thunk's failure:\n{err}");
    assert!(start.elapsed() < Duration::from_secs(20), "{:?}", start.elapsed());
}

#[test]
fn a_store_that_compiled_before_finds_the_link_another_machine_ran_as_a_chain() {
    use crate::projects::sh;
    let s = Scratch::new();
    cmake_project(&s);
    s.write("src/solo.c", "int main(void) { return 0; }\n");
    let cml = std::fs::read_to_string(s.path().join("src/CMakeLists.txt")).unwrap();
    s.write("src/CMakeLists.txt", &(cml + "add_executable(solo solo.c)\n"));
    let cloud = Cloud::start(&s, 2);
    let configure = "rm -rf build && cmake -S src -B build -G Ninja -DCMAKE_C_COMPILER=gcc > /dev/null";
    let gg_ninja = |store: &str, engine: &[(String, String)], target: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gg"));
        c.args(["ninja", "-C", "build"]).args(target).current_dir(s.path()).env("GG_DIR", s.path().join(store));
        let out = c.envs(engine.iter().cloned()).output().unwrap();
        assert!(out.status.success(), "gg ninja failed:\n{}{}", text(&out.stdout), text(&out.stderr));
        text(&out.stderr)
    };
    // Machine A: everything on the functions; solo's compile and link go
    // as one chain.
    sh(&s, s.path(), configure, false);
    gg_ninja("store-a", &cloud.env(), None);
    let first = cloud.objects("reductions");
    // Machine B compiled solo.c here once (its store has the entry), then
    // builds on the functions: the compile is a direct hit, so the link
    // goes alone, its object a value, not a chain member.
    sh(&s, s.path(), configure, false);
    gg_ninja("store-b", &[], Some("CMakeFiles/solo.dir/solo.c.o"));
    let err = gg_ninja("store-b", &cloud.env(), None);
    assert!(!err.contains("lambda invocation"), "the link was already in the bucket:\n{err}");
    assert_eq!(cloud.objects("reductions").len(), first.len(), "{err}");
}
