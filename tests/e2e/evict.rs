//! A store kept within its size (`GG_MAX_SIZE`, `gg gc`, `gg-worker serve
//! --max-size`) on real builds: a build that stores more than the limit
//! finishes with every output identical to a plain build, the store ends
//! within the limit, and what was evicted is a miss next time, never a
//! wrong or failed compile.

use std::path::Path;

use crate::projects::{assert_same_outputs, build_outputs, plain_lua, sh};
use crate::support::{text, Scratch};

/// Bytes on disk of the store's cache entries (what the limit is about).
fn cache_bytes(store: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for dir in gg_core::evict::EVICTABLE {
        for shard in std::fs::read_dir(store.join(dir)).into_iter().flatten().flatten() {
            let files: Vec<std::path::PathBuf> = if shard.path().is_dir() {
                std::fs::read_dir(shard.path()).unwrap().flatten().map(|e| e.path()).collect()
            } else {
                vec![shard.path()]
            };
            for f in files {
                let m = std::fs::symlink_metadata(&f).unwrap();
                if m.is_file() {
                    total += m.blocks() * 512;
                }
            }
        }
    }
    total
}

#[test]
fn lua_through_gg_cc_past_a_small_limit_is_identical_and_the_store_ends_within_it() {
    let s = Scratch::new();
    let (tree, plain) = plain_lua(&s);
    // About a third of what the build stores: the store must clean while
    // compiles still run, keeping what they use, and once more at the end.
    let limit = 256 << 10;
    let build = "GG_MAX_SIZE=256K make -j2 linux CC='gg-cc -std=gnu99'";
    sh(&s, &tree, build, true);
    assert_same_outputs(&plain, &build_outputs(&tree), "lua through gg-cc, store limited");
    let size = cache_bytes(&s.store());
    assert!(size <= limit, "the store ends at {size} bytes, over its limit of {limit}");
    let stats = text(&s.cmd(&["stats"]).env("GG_MAX_SIZE", "256K").output().unwrap().stdout);
    assert!(stats.contains("store size") && stats.contains("of 256.0 KiB"), "{stats}");
    // The configured limit without the variable: gg.toml's.
    std::fs::write(tree.join("gg.toml"), "[store]\nmax_size = \"200K\"\n").unwrap();
    let stats = crate::support::text(&s.cmd(&["stats"]).current_dir(&tree).output().unwrap().stdout);
    assert!(stats.contains("of 200.0 KiB"), "{stats}");
    std::fs::remove_file(tree.join("gg.toml")).unwrap();
    // Again from a clean tree: what was evicted misses and compiles, what
    // stayed hits; the same bytes either way.
    sh(&s, &tree, &format!("make clean && {build}"), true);
    assert_same_outputs(&plain, &build_outputs(&tree), "lua again, part from the cache");
    assert!(cache_bytes(&s.store()) <= limit);
    // `gg gc` down to nothing, then a build with no limit: all misses.
    let gc = s.ok(&["gc", "--max-size", "1"]);
    assert!(gc.contains("removed"), "{gc}");
    assert_eq!(cache_bytes(&s.store()), 0, "{gc}");
    s.ok(&["stats", "--zero"]);
    sh(&s, &tree, "make clean && GG_MAX_SIZE=0 make -j2 linux CC='gg-cc -std=gnu99'", true);
    assert_same_outputs(&plain, &build_outputs(&tree), "lua after gg gc");
    let stats = text(&s.cmd(&["stats"]).env("GG_MAX_SIZE", "0").output().unwrap().stdout);
    let objects = plain.keys().filter(|p| p.extension().is_some_and(|e| e == "o")).count();
    let misses = stats.lines().find_map(|l| l.strip_prefix("misses")).map(|n| n.trim().parse::<usize>().unwrap());
    assert_eq!(misses, Some(objects), "every entry was gone: every compile a miss\n{stats}");
    assert!(stats.contains("(no limit)"), "{stats}");
    // A limit that is no size is refused, naming it.
    let out = s.run(&["gc", "--max-size", "lots"]);
    assert!(!out.status.success() && text(&out.stderr).contains("lots"), "{}", text(&out.stderr));
}

#[test]
fn gg_ninja_past_a_small_limit_builds_json_c_identically_and_the_store_ends_within_it() {
    let s = Scratch::new();
    let (tree, plain) = crate::ninja::json_c(&s);
    sh(&s, &tree, &crate::ninja::configure(true), true);
    let limit = 300 << 10;
    sh(&s, &tree, "GG_MAX_SIZE=300K gg ninja -C build > /dev/null", true);
    assert_same_outputs(&plain, &build_outputs(&tree.join("build")), "json-c through gg ninja, store limited");
    let size = cache_bytes(&s.store());
    assert!(size <= limit, "the store ends at {size} bytes, over its limit of {limit}");
    sh(&s, &tree, "ninja -C build -t clean > /dev/null && GG_MAX_SIZE=300K gg ninja -C build > /dev/null", true);
    assert_same_outputs(&plain, &build_outputs(&tree.join("build")), "json-c again, part from the cache");
}

#[test]
fn a_worker_given_max_size_drops_what_it_has_not_used_and_still_builds_lua_identically() {
    let s = Scratch::new();
    let (tree, plain) = plain_lua(&s);
    let wdir = s.path().join("worker");
    let w = crate::worker::start(&wdir, &["--max-size", "1M"]);
    let env = format!("GG_ENGINE=remote GG_WORKERS={} GG_REMOTE_STRICT=1", w.url);
    sh(&s, &tree, &format!("{env} make -j2 linux CC='gg-cc -std=gnu99'"), true);
    assert_same_outputs(&plain, &build_outputs(&tree), "lua on a size-limited worker");
    // What the build sent (the compiler among it) was used just now: kept.
    let after_build = cache_bytes(&wdir);
    assert!(after_build > 10 << 20, "the worker kept what requests just used: {after_build} bytes");
    // A day later, nothing of it used since: the next request's clean
    // drops it.
    let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
    for dir in gg_core::evict::EVICTABLE {
        for shard in std::fs::read_dir(wdir.join(dir)).into_iter().flatten().flatten() {
            for f in std::fs::read_dir(shard.path()).into_iter().flatten().flatten() {
                let times = std::fs::FileTimes::new().set_modified(day_ago);
                let _ = std::fs::File::open(f.path()).and_then(|h| h.set_times(times));
            }
        }
    }
    let results = crate::support::reductions(&wdir);
    assert!(results > 20, "{results} results on the worker");
    // One source changed (a comment): one compile, sent to the worker.
    let source = tree.join("src/lapi.c");
    let original = std::fs::read(&source).unwrap();
    std::fs::write(&source, [original.as_slice(), b"/* changed */\n"].concat()).unwrap();
    sh(&s, &tree, &format!("{env} make -j2 linux CC='gg-cc -std=gnu99'"), true);
    std::fs::write(&source, &original).unwrap();
    // Only what that one compile used stays (the compiler, its headers).
    let left = crate::support::reductions(&wdir);
    assert!(left <= 2, "{left} of {results} results left on the worker");
    assert!(cache_bytes(&wdir) < after_build);
    // And a whole rebuild through it is still right.
    sh(&s, &tree, &format!("make clean && {env} make -j2 linux CC='gg-cc -std=gnu99'"), true);
    assert_same_outputs(&plain, &build_outputs(&tree), "lua on the worker after it dropped its store");
}
