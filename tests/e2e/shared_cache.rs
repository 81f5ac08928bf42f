//! The shared cache tier (`GG_REMOTE_CACHE`) against real servers on
//! loopback: nginx with WebDAV (Debian's), s3s-fs and gg-worker. A second
//! machine (an empty store) rebuilding a real project gets every compile
//! from the cache, byte-identical to a plain build; damaged entries, a
//! read-only client and a dead or silent cache never make a build wrong
//! or failed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::lambda::{free_port, wait_for_port, Proc, BUCKET, KEY, SECRET};
use crate::projects::{assert_same_outputs, build_outputs, plain_lua, sh};
use crate::support::{text, Scratch};

/// nginx serving `root` with PUT (WebDAV) on a free port: the server and
/// its URL.
fn nginx(s: &Scratch) -> (Proc, String, PathBuf) {
    let dir = s.path().join("nginx");
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let port = free_port();
    let d = dir.display();
    // As root, workers would drop to `nobody`, who cannot write `root`.
    let user = if is_root() { "user root;" } else { "" };
    let conf = format!(
        "{user}\ndaemon off;\nworker_processes 2;\nerror_log {d}/error.log;\npid {d}/nginx.pid;\nevents {{}}\n\
         http {{\n access_log {d}/access.log;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n\
         server {{\n  listen 127.0.0.1:{port};\n  root {};\n  client_max_body_size 0;\n\
         location / {{ dav_methods PUT; create_full_put_path on; dav_access user:rw group:r all:r; }}\n }}\n}}\n",
        root.display()
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let log = dir.join("out.log");
    let child = Command::new("nginx")
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-p")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("nginx (Debian's nginx package) must be installed");
    wait_for_port(port, "nginx", &log);
    (Proc(child), format!("http://127.0.0.1:{port}/gg/cache"), root.join("gg/cache"))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `gg stats` of `store`, as text.
fn stats(s: &Scratch, store: &Path) -> String {
    text(&s.cmd(&["stats"]).env("GG_DIR", store).output().unwrap().stdout)
}

/// The number on the `gg stats` line starting with `label`.
fn count(stats: &str, label: &str) -> u64 {
    let line = stats.lines().find(|l| l.trim_start().starts_with(label)).unwrap_or_else(|| panic!("{label}?\n{stats}"));
    line.trim_start()[label.len()..].split_whitespace().next().unwrap().parse().unwrap()
}

/// Files under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            out.extend(files(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// Lua built from clean through gg-cc with `store` and `env`.
fn lua(s: &Scratch, tree: &Path, store: &Path, env: &str) {
    let script =
        format!("make clean && export GG_DIR={} && {env} make -j2 linux CC='gg-cc -std=gnu99'", store.display());
    sh(s, tree, &script, true);
}

#[test]
fn a_second_machine_gets_lua_from_nginx_webdav_identically_and_damage_or_read_only_changes_nothing() {
    let s = Scratch::new();
    let (tree, plain) = plain_lua(&s);
    let objects = plain.keys().filter(|p| p.extension().is_some_and(|e| e == "o")).count() as u64;
    let (_nginx, url, root) = nginx(&s);
    let env = format!("GG_REMOTE_CACHE={url}");
    // Machine A: a cold build, written back.
    let a = s.path().join("store-a");
    lua(&s, &tree, &a, &env);
    assert_same_outputs(&plain, &build_outputs(&tree), "lua on machine A");
    let sa = stats(&s, &a);
    assert!(count(&sa, "remote writes") >= 3 * objects, "blobs, reductions and manifests written:\n{sa}");
    let written = files(&root).len();
    // Machine B: an empty store, the same tree: every compile a direct hit
    // from the cache, nothing compiled, nothing written.
    let b = s.path().join("store-b");
    let access = s.path().join("nginx/access.log");
    let before = std::fs::read_to_string(&access).unwrap().lines().count();
    lua(&s, &tree, &b, &env);
    // Two requests at most per hit: the entry, then the object (unless
    // small enough to travel in the entry with the depfile and reduction).
    let requests = std::fs::read_to_string(&access).unwrap().lines().count() - before;
    assert_same_outputs(&plain, &build_outputs(&tree), "lua on machine B, from the cache");
    let sb = stats(&s, &b);
    assert_eq!(count(&sb, "direct hits"), objects, "{sb}");
    assert_eq!(count(&sb, "misses"), 0, "{sb}");
    assert_eq!(count(&sb, "remote writes"), 0, "{sb}");
    assert_eq!(count(&sb, "remote errors"), 0, "{sb}");
    assert!(requests as u64 <= 2 * objects, "{requests} requests for {objects} hits");
    // A read-only client with one source changed: it compiles that one
    // and writes nothing to the cache.
    let source = tree.join("src/lapi.c");
    let original = std::fs::read(&source).unwrap();
    std::fs::write(&source, [original.as_slice(), b"/* changed */\n"].concat()).unwrap();
    let c = s.path().join("store-c");
    lua(&s, &tree, &c, &format!("{env} GG_REMOTE_CACHE_READ_ONLY=1"));
    std::fs::write(&source, &original).unwrap();
    let sc = stats(&s, &c);
    assert_eq!((count(&sc, "misses"), count(&sc, "remote writes")), (1, 0), "{sc}");
    assert_eq!(files(&root).len(), written, "a read-only client wrote to the cache");
    // Every object in the cache damaged (same size, other bytes), as a
    // blob or carried in an entry: never served; each compile misses and
    // the build is still right.
    let mut damaged = 0;
    for f in files(&root.join("blobs")).into_iter().chain(files(&root.join("manifests"))) {
        let mut bytes = std::fs::read(&f).unwrap();
        let elves: Vec<usize> = bytes.windows(4).enumerate().filter(|(_, w)| w == b"\x7fELF").map(|(i, _)| i).collect();
        for at in &elves {
            bytes[at + 64] ^= 0xff;
        }
        if !elves.is_empty() {
            std::fs::write(&f, bytes).unwrap();
            damaged += elves.len();
        }
    }
    assert!(damaged as u64 >= objects, "{damaged} objects damaged");
    let d = s.path().join("store-d");
    lua(&s, &tree, &d, &format!("{env} GG_REMOTE_CACHE_READ_ONLY=1"));
    assert_same_outputs(&plain, &build_outputs(&tree), "lua with every cached object damaged");
    let sd = stats(&s, &d);
    assert_eq!((count(&sd, "direct hits"), count(&sd, "misses")), (0, objects), "{sd}");
    assert!(count(&sd, "remote errors") >= objects, "each damaged object counted:\n{sd}");
}

#[test]
fn gg_ninja_on_a_fresh_store_builds_json_c_from_an_s3_cache_identically() {
    let s = Scratch::new();
    let (tree, plain) = crate::ninja::json_c(&s);
    let [s3s, ..] = crate::lambda::tools();
    let data = s.path().join("s3");
    std::fs::create_dir_all(data.join(BUCKET)).unwrap();
    let port = free_port();
    let log = s.path().join("s3.log");
    let _s3 = Proc(
        Command::new(s3s)
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--access-key", KEY, "--secret-key", SECRET])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_for_port(port, "s3s-fs", &log);
    let env = format!(
        "GG_REMOTE_CACHE=s3://{BUCKET}/team/gg GG_S3_ENDPOINT=http://127.0.0.1:{port} \
         AWS_ACCESS_KEY_ID={KEY} AWS_SECRET_ACCESS_KEY={SECRET} AWS_REGION=us-east-1"
    );
    sh(&s, &tree, &crate::ninja::configure(true), true);
    let build = |store: &str| {
        let script =
            format!("ninja -C build -t clean > /dev/null && GG_DIR={store} {env} gg ninja -C build > /dev/null");
        sh(&s, &tree, &script, true);
    };
    let a = s.path().join("store-a");
    build(&a.display().to_string());
    assert_same_outputs(&plain, &build_outputs(&tree.join("build")), "json-c on machine A");
    let prefix = data.join(BUCKET).join("team/gg");
    for kind in ["blobs", "reductions", "manifests"] {
        assert!(!files(&prefix.join(kind)).is_empty(), "nothing under {kind}/ in the bucket");
    }
    let b = s.path().join("store-b");
    build(&b.display().to_string());
    assert_same_outputs(&plain, &build_outputs(&tree.join("build")), "json-c on machine B, from the bucket");
    let sb = stats(&s, &b);
    // Anything B computed would have been written back.
    assert!(count(&sb, "remote hits") > 0, "{sb}");
    assert_eq!((count(&sb, "remote writes"), count(&sb, "remote errors")), (0, 0), "{sb}");
}

#[test]
fn what_a_build_on_a_worker_stored_in_its_cache_is_a_hit_for_a_local_build_elsewhere() {
    let s = Scratch::new();
    let (tree, plain) = plain_lua(&s);
    let w = crate::worker::start(&s.path().join("worker"), &[]);
    let cache = format!("GG_REMOTE_CACHE={}", w.url.replace("http://", "gg://"));
    // Machine A compiles on the worker (the remote engine) and writes the
    // entries back to the worker's cache.
    let a = s.path().join("store-a");
    lua(&s, &tree, &a, &format!("{cache} GG_ENGINE=remote GG_WORKERS={} GG_REMOTE_STRICT=1", w.url));
    assert_same_outputs(&plain, &build_outputs(&tree), "lua on the worker");
    // Machine B, the local engine and an empty store: all hits.
    let b = s.path().join("store-b");
    lua(&s, &tree, &b, &cache);
    assert_same_outputs(&plain, &build_outputs(&tree), "lua from the worker's cache");
    let sb = stats(&s, &b);
    let objects = plain.keys().filter(|p| p.extension().is_some_and(|e| e == "o")).count() as u64;
    assert_eq!((count(&sb, "direct hits"), count(&sb, "misses")), (objects, 0), "{sb}");
}

#[test]
fn a_refusing_or_silent_cache_costs_a_few_misses_and_the_build_is_identical() {
    let s = Scratch::new();
    let (tree, plain) = plain_lua(&s);
    let objects = plain.keys().filter(|p| p.extension().is_some_and(|e| e == "o")).count() as u64;
    // Nothing listens: refused at once. Then a server that accepts and
    // never answers: each request waits for the timeout.
    let closed = free_port();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}/cache", silent.local_addr().unwrap());
    for (i, url) in [format!("http://127.0.0.1:{closed}/cache"), silent_url].iter().enumerate() {
        let store = s.path().join(format!("store-{i}"));
        lua(&s, &tree, &store, &format!("GG_REMOTE_CACHE={url} GG_REMOTE_CACHE_TIMEOUT=0.5"));
        assert_same_outputs(&plain, &build_outputs(&tree), url);
        let st = stats(&s, &store);
        assert_eq!(count(&st, "misses"), objects, "{st}");
        // The first failure marks it down for every later process: only
        // the compiles already started when it failed asked it.
        let errors = count(&st, "remote errors");
        assert!((1..=4).contains(&errors), "{errors} failed calls for {objects} compiles:\n{st}");
        assert!(store.join("remote-down").is_file());
    }
    drop(silent);
}

#[test]
fn a_checkout_at_another_path_hits_with_gg_basedir_only_where_the_object_cannot_depend_on_the_path() {
    let s = Scratch::new();
    let orig = crate::projects::debian_source("lua5.4").parent().unwrap().join("lua5.4_5.4.4.orig.tar.gz");
    let (ci, home) = (s.path().join("ci"), s.path().join("home/someone/src"));
    for dir in [&ci, &home] {
        std::fs::create_dir_all(dir).unwrap();
        sh(&s, dir, &format!("tar xzf {}", orig.display()), false);
    }
    let (tree_a, tree_b) = (ci.join("lua-5.4.4"), home.join("lua-5.4.4"));
    let remote = s.path().join("remote");
    std::fs::create_dir(&remote).unwrap();
    // (flags, whether a checkout elsewhere may hit): Debian's flags carry
    // `-g` with a prefix map of the tree (dpkg-buildflags, run in it).
    let variants = [("", true), ("$(dpkg-buildflags --get CFLAGS)", true), ("-g", false)];
    for (i, (flags, hits)) in variants.iter().enumerate() {
        let make =
            |cc: &str| format!("make clean >/dev/null && make -j2 linux CC='{cc} -std=gnu99' MYCFLAGS=\"{flags}\"");
        sh(&s, &tree_b, &make("cc"), false);
        let plain = build_outputs(&tree_b);
        let objects = plain.keys().filter(|p| p.extension().is_some_and(|e| e == "o")).count() as u64;
        let mut logs = Vec::new();
        for (tree, who) in [(&tree_a, "a"), (&tree_b, "b")] {
            let env = format!(
                "export GG_DIR={}/store-{who}{i} GG_REMOTE_CACHE=file://{} GG_BASEDIR={} GG_LOG=debug",
                s.path().display(),
                remote.display(),
                tree.display()
            );
            logs.push(sh(&s, tree, &format!("{env} && {} 2>&1", make("gg-cc")), true));
        }
        assert_same_outputs(&plain, &build_outputs(&tree_b), &format!("lua at B with `{flags}`"));
        let sb = stats(&s, &s.path().join(format!("store-b{i}")));
        // Compiles reading a header with `__FILE__` (glibc's assert.h)
        // stay at their own path, whatever the flags.
        let with_file = logs[0].matches("shared at its own path: an input uses __FILE__").count() as u64;
        assert!(with_file < objects / 4, "{with_file} of {objects} compiles use __FILE__:\n{}", logs[0]);
        let expect = if *hits { (objects - with_file, with_file) } else { (0, objects) };
        assert_eq!((count(&sb, "direct hits"), count(&sb, "misses")), expect, "`{flags}`:\n{sb}");
    }
    // `__FILE__` in a source named by its absolute path: the object holds
    // the path, so B compiles its own.
    for tree in [&tree_a, &tree_b] {
        std::fs::write(tree.join("where.c"), "const char *where(void) { return __FILE__; }\n").unwrap();
    }
    let compile = |tree: &Path, cc: &str, store: &str| {
        let env = format!("GG_DIR={store} GG_REMOTE_CACHE=file://{} GG_BASEDIR={}", remote.display(), tree.display());
        sh(&s, tree, &format!("{env} {cc} -O2 -c {}/where.c -o where.o", tree.display()), true);
    };
    compile(&tree_b, "cc", "/nonexistent");
    let plain = std::fs::read(tree_b.join("where.o")).unwrap();
    assert!(memchr_has(&plain, tree_b.to_str().unwrap()), "the plain object names its path");
    let store_b = s.path().join("store-where-b");
    compile(&tree_a, "gg-cc cc", &s.path().join("store-where-a").display().to_string());
    compile(&tree_b, "gg-cc cc", &store_b.display().to_string());
    assert_eq!(std::fs::read(tree_b.join("where.o")).unwrap(), plain, "where.o at B");
    let sb = stats(&s, &store_b);
    assert_eq!((count(&sb, "direct hits"), count(&sb, "misses")), (0, 1), "{sb}");
}

fn memchr_has(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}
