//! The function side of the Lambda engine: one invocation runs one thunk
//! or a ready chain. Inputs come inline in the payload or from S3 (checked
//! against their names), the thunks run in the worker's service, every
//! output goes to S3 with the reductions (so any machine gets cache hits),
//! small outputs also come back inline, and the scratch space is cleaned
//! before the next invocation.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use gg_core::{Name, Store, Thunk};

use gg_wire::aws::{credentials, Credentials, Env, S3};
use gg_wire::fanout;
use gg_wire::payload::{blob_key, reduction_key, Answer, Invocation, INLINE_BUDGET};
use gg_wire::protocol::{Encoded, ExecuteRequest, Failure};

use super::runtime::FunctionError;
use crate::service::{Service, ServiceError};

/// Parallel S3 calls per invocation.
const S3_THREADS: usize = 16;

/// Where the function keeps its store and which scratch folder it cleans.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The scratch folder: everything in it but the store is removed after
    /// each invocation.
    pub scratch: PathBuf,
    /// The store is trimmed back under this many bytes.
    pub store_limit: u64,
    pub s3_endpoint: Option<String>,
    pub region: String,
    pub creds: Credentials,
    pub jobs: usize,
    /// Kept back from each invocation's deadline for storing outputs and
    /// answering: no thunk runs into it.
    pub margin: std::time::Duration,
}

impl Settings {
    /// From the function's environment: `GG_LAMBDA_TMP` (default `/tmp`
    /// inside Lambda, where `LAMBDA_TASK_ROOT` is set; required elsewhere,
    /// since its contents are removed), `GG_LAMBDA_STORE_LIMIT` (bytes,
    /// default half the scratch filesystem), `GG_S3_ENDPOINT`, the region
    /// and the credentials Lambda gives the function.
    pub fn from_env(env: &dyn Env) -> Result<Settings, String> {
        let vars = gg_core::env::function_vars(&|k| env.var(k))?;
        let scratch = match (vars.tmp, env.var("LAMBDA_TASK_ROOT")) {
            (Some(dir), _) => dir,
            (None, Some(_)) => PathBuf::from("/tmp"),
            (None, None) => {
                return Err("GG_LAMBDA_TMP is not set: outside Lambda, name the scratch folder the function may \
                            empty between invocations"
                    .into())
            }
        };
        std::fs::create_dir_all(&scratch).map_err(|e| format!("cannot create `{}`: {e}", scratch.display()))?;
        let store_limit = vars.store_limit.unwrap_or_else(|| filesystem_size(&scratch).map_or(256 << 20, |s| s / 2));
        Ok(Settings {
            scratch,
            store_limit,
            s3_endpoint: vars.s3_endpoint,
            region: credentials::region(env)?,
            creds: Credentials::find(env)?,
            jobs: std::thread::available_parallelism().map_or(1, usize::from),
            margin: vars.margin,
        })
    }
}

fn filesystem_size(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and a zeroed struct of the right type.
    (unsafe { libc::statvfs(path.as_ptr(), &mut st) } == 0).then(|| st.f_blocks as u64 * st.f_frsize as u64)
}

/// A warm function: its store survives between invocations (Lambda keeps
/// `/tmp` while the environment lives), and so does what it knows S3 has.
#[derive(Debug)]
pub struct Function {
    settings: Settings,
    service: Service,
    buckets: Mutex<HashMap<String, Arc<S3>>>,
    /// Blobs known to be in S3, per bucket.
    in_s3: Mutex<HashSet<(String, Name)>>,
    /// When each blob was last used (an invocation count), to trim the
    /// least recently used first.
    used: Mutex<HashMap<Name, u64>>,
    invocations: Mutex<u64>,
    /// An upper bound on the store's size: its last scan plus every blob
    /// used since. The store is only walked when this passes the limit.
    bound: Mutex<u64>,
}

const STORE_DIR: &str = "gg-store";

impl Function {
    pub fn new(settings: Settings) -> Result<Function, String> {
        let root = settings.scratch.join(STORE_DIR);
        let store = Store::open(&root).map_err(|e| format!("cannot open the store at `{}`: {e}", root.display()))?;
        let mut service = Service::new(store, settings.jobs, 0);
        // Lambda's own sandbox allows no namespaces, and an environment
        // serves one invocation (one client's thunks) at a time, with a
        // store of its own: docs/lambda.md, "Isolation".
        service.set_jail(false)?;
        // Inline limits are per invocation: read up to the largest here,
        // drop what the client did not ask for afterwards.
        service.inline_limit = INLINE_BUDGET as u64;
        Ok(Function {
            settings,
            service,
            buckets: Mutex::default(),
            in_s3: Mutex::default(),
            used: Mutex::default(),
            invocations: Mutex::new(0),
            // Unknown until walked: walk after the first invocation.
            bound: Mutex::new(u64::MAX),
        })
    }

    pub fn store(&self) -> &Store {
        self.service.store()
    }

    /// Answers one invocation's payload. Thunk failures are part of the
    /// answer; an error here (bad payload, S3 refusing) fails the
    /// invocation.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Logs one line on stderr per invocation (`id`), as CloudWatch
    /// shows a function's output: its thunks, outcome and seconds.
    pub fn handle(
        &self,
        id: &str,
        payload: &[u8],
        deadline: Option<std::time::Instant>,
    ) -> Result<Vec<u8>, FunctionError> {
        let start = std::time::Instant::now();
        // A thunk running into the deadline fails as timed out (and is not
        // retried), instead of Lambda killing the environment with it.
        self.service.set_deadline(deadline.map(|d| d.checked_sub(self.settings.margin).unwrap_or(d)));
        let answer = self.run(payload);
        let cleaned = self.clean();
        let outcome = match (&answer, &cleaned) {
            (Ok(a), Ok(())) => describe(a),
            (Err(e), _) => format!("error {}: {}", e.kind, e.message),
            (_, Err(e)) => format!("error gg.Scratch: {e}"),
        };
        eprintln!("gg-worker lambda: invocation {id}: {outcome} in {:.2} s", start.elapsed().as_secs_f64());
        let answer = answer?;
        cleaned.map_err(|e| FunctionError::new("gg.Scratch", e))?;
        serde_json::to_vec(&answer).map_err(|e| FunctionError::new("gg.Engine", e.to_string()))
    }

    fn run(&self, payload: &[u8]) -> Result<Answer, FunctionError> {
        let bad = |m: String| FunctionError::new("gg.BadPayload", m);
        let inv: Invocation = serde_json::from_slice(payload).map_err(|e| bad(format!("not an invocation: {e}")))?;
        let s3 = self.bucket(&inv.bucket);
        let mut thunks = Vec::with_capacity(inv.thunks.len());
        for (i, text) in inv.thunks.iter().enumerate() {
            thunks.push(Thunk::decode(text.as_bytes()).map_err(|e| bad(format!("thunks[{i}]: {e}")))?);
        }
        for (name, data) in &inv.blobs {
            let bytes = STANDARD.decode(data).map_err(|e| bad(format!("blobs[{name}]: not base64: {e}")))?;
            self.service.put_blob(name, &bytes).map_err(|e| bad(format!("blobs[{name}]: {e}")))?;
        }
        let mut needed: Vec<Name> = thunks.iter().flat_map(|t| t.objects().map(|(o, _)| o.hash)).collect();
        needed.sort_unstable();
        needed.dedup();
        self.touch(&needed);
        // Executables also get a runnable copy in the store (exec/).
        let copies: u64 = thunks.iter().flat_map(|t| t.executables.iter().map(|o| o.hash.size())).sum();
        self.grow(copies);
        let absent: Vec<Name> = needed.iter().copied().filter(|n| !self.store().has(n)).collect();
        let missing = self.fetch(&s3, &absent)?;
        if !missing.is_empty() {
            return Ok(missing_answer(&thunks, &missing, s3.bucket()));
        }
        let sent = inv.thunks.into_iter().map(Encoded::from).collect();
        let mut answer = match self.service.execute(&ExecuteRequest { thunks: sent }) {
            Ok(a) => a,
            Err(ServiceError::BadRequest(m)) => return Err(bad(m)),
            Err(e) => return Err(FunctionError::new("gg.Engine", e.to_string())),
        };
        self.upload_results(&s3, &answer, &thunks)?;
        trim_inline(&mut answer, inv.inline_limit);
        Ok(answer)
    }

    fn bucket(&self, bucket: &str) -> Arc<S3> {
        let mut buckets = self.buckets.lock().expect("buckets");
        let s = &self.settings;
        Arc::clone(
            buckets
                .entry(bucket.to_string())
                .or_insert_with(|| Arc::new(S3::new(s.s3_endpoint.as_deref(), bucket, &s.region, s.creds.clone()))),
        )
    }

    /// Brings `names` from S3 into the store; answers those S3 lacks.
    fn fetch(&self, s3: &S3, names: &[Name]) -> Result<Vec<Name>, FunctionError> {
        let s3err = |e: String| FunctionError::new("gg.S3", e);
        let got = fanout::map(names, S3_THREADS, |n| -> Result<bool, String> {
            let Some(bytes) = s3.get(&blob_key(n)).map_err(|e| e.to_string())? else { return Ok(false) };
            self.service
                .put_blob(n, &bytes)
                .map_err(|e| format!("S3 object `{}/{}`: {e}", s3.bucket(), blob_key(n)))?;
            Ok(true)
        });
        let mut missing = Vec::new();
        let mut in_s3 = Vec::new();
        for (n, r) in names.iter().zip(got) {
            match r.map_err(s3err)? {
                true => in_s3.push(*n),
                false => missing.push(*n),
            }
        }
        self.mark_in_s3(s3.bucket(), &in_s3);
        Ok(missing)
    }

    /// Every output (and printed stream) to S3, then each reduction: a
    /// reduction is only ever visible once what it names is there.
    /// Puts every output, then each reduction: under the name the thunk
    /// was sent with and, for a chain member that consumed an earlier
    /// one's outputs, also under its resolved name (those outputs as
    /// values), which is the name that thunk has when sent alone: whether
    /// a client sends a link in a chain or alone depends on what its store
    /// already held, and either must find the other's result.
    fn upload_results(&self, s3: &S3, answer: &Answer, thunks: &[Thunk]) -> Result<(), FunctionError> {
        let mut blobs: Vec<Name> = Vec::new();
        for r in &answer.results {
            blobs.extend(r.outputs.iter().map(|o| o.hash));
            blobs.extend(r.stdout.iter().chain(r.stderr.iter()).copied());
        }
        blobs.sort_unstable();
        blobs.dedup();
        self.touch(&blobs);
        let known = self.in_s3.lock().expect("in_s3").clone();
        blobs.retain(|n| !known.contains(&(s3.bucket().to_string(), *n)));
        let put = fanout::map(&blobs, S3_THREADS, |n| -> Result<(), String> {
            let bytes = self.store().get(n).map_err(|e| e.to_string())?;
            s3.put(&blob_key(n), &bytes).map_err(|e| e.to_string())
        });
        put.into_iter().collect::<Result<Vec<()>, _>>().map_err(|e| FunctionError::new("gg.S3", e))?;
        self.mark_in_s3(s3.bucket(), &blobs);
        let made: HashMap<Name, Vec<(String, Name)>> = answer
            .results
            .iter()
            .map(|r| (r.thunk, r.outputs.iter().map(|o| (o.name.clone(), o.hash)).collect()))
            .collect();
        let mut reductions: Vec<(Name, Vec<u8>)> = Vec::new();
        for r in &answer.results {
            let Some(red) = self.store().reduction(&r.thunk) else { continue };
            let json = serde_json::to_vec(&red).expect("serializable");
            let sent = thunks.iter().find(|t| t.name() == r.thunk);
            if let Some(t) = sent.filter(|t| !t.thunks.is_empty()) {
                let resolved = t.resolved_from(&made);
                if resolved.thunks.is_empty() {
                    reductions.push((resolved.name(), json.clone()));
                }
            }
            reductions.push((r.thunk, json));
        }
        let put = fanout::map(&reductions, S3_THREADS, |(t, json)| s3.put(&reduction_key(t), json));
        put.into_iter().collect::<Result<Vec<()>, _>>().map_err(|e| FunctionError::new("gg.S3", e.to_string()))?;
        Ok(())
    }

    fn mark_in_s3(&self, bucket: &str, names: &[Name]) {
        let mut known = self.in_s3.lock().expect("in_s3");
        known.extend(names.iter().map(|n| (bucket.to_string(), *n)));
    }

    fn grow(&self, bytes: u64) {
        let mut bound = self.bound.lock().expect("bound");
        *bound = bound.saturating_add(bytes);
    }

    fn touch(&self, names: &[Name]) {
        self.grow(names.iter().map(Name::size).sum());
        let now = *self.invocations.lock().expect("count");
        let mut used = self.used.lock().expect("used");
        for n in names {
            used.insert(*n, now);
        }
    }

    /// Empties the scratch folder but for the store, and trims the store
    /// back under its limit, least recently used blobs first.
    fn clean(&self) -> Result<(), String> {
        *self.invocations.lock().expect("count") += 1;
        let scratch = &self.settings.scratch;
        let entries = std::fs::read_dir(scratch).map_err(|e| format!("cannot list `{}`: {e}", scratch.display()))?;
        for entry in entries.flatten() {
            if entry.file_name() == STORE_DIR {
                continue;
            }
            let path = entry.path();
            let removed = match entry.file_type() {
                Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
                _ => std::fs::remove_file(&path),
            };
            removed.map_err(|e| format!("cannot remove `{}` from the scratch folder: {e}", path.display()))?;
        }
        for dir in ["tmp"] {
            let d = self.store().root().join(dir);
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let _ = std::fs::remove_file(e.path()).or_else(|_| std::fs::remove_dir_all(e.path()));
            }
        }
        self.trim()
    }

    fn trim(&self) -> Result<(), String> {
        if *self.bound.lock().expect("bound") <= self.settings.store_limit {
            return Ok(());
        }
        let root = self.store().root();
        let mut blobs: Vec<(u64, u64, PathBuf, Option<Name>)> = Vec::new();
        let mut total = 0;
        for dir in ["blobs", "exec"] {
            let Ok(shards) = std::fs::read_dir(root.join(dir)) else { continue };
            for shard in shards.flatten() {
                for e in std::fs::read_dir(shard.path()).into_iter().flatten().flatten() {
                    let len = e.metadata().map_or(0, |m| m.len());
                    total += len;
                    let name = e.file_name().to_str().and_then(|s| s.parse::<Name>().ok());
                    blobs.push((0, len, e.path(), name));
                }
            }
        }
        if total <= self.settings.store_limit {
            *self.bound.lock().expect("bound") = total;
            return Ok(());
        }
        let used = self.used.lock().expect("used");
        for b in &mut blobs {
            b.0 = b.3.and_then(|n| used.get(&n).copied()).unwrap_or(0);
        }
        drop(used);
        blobs.sort_by_key(|b| b.0);
        // Down to half the limit, so the next invocations do not trim again.
        let target = self.settings.store_limit / 2;
        for (_, len, path, _) in blobs {
            if total <= target {
                break;
            }
            std::fs::remove_file(&path).map_err(|e| format!("cannot trim `{}`: {e}", path.display()))?;
            total -= len;
        }
        *self.bound.lock().expect("bound") = total;
        // A reduction naming a trimmed blob would be a hit with no bytes.
        let reductions = root.join("reductions");
        std::fs::remove_dir_all(&reductions)
            .and_then(|_| std::fs::create_dir(&reductions))
            .map_err(|e| format!("cannot reset `{}`: {e}", reductions.display()))?;
        Ok(())
    }
}

/// Every thunk of the invocation failed with kind `missing`, naming the
/// blobs neither the payload nor the bucket had: the client uploads them
/// and invokes again.
/// An answer as the log line tells it: each thunk and how it ended.
fn describe(a: &Answer) -> String {
    let ran = a.results.iter().map(|r| format!("{} ok", r.thunk));
    let failed = a.failures.iter().map(|f| format!("{} {}", f.thunk, f.kind));
    let all: Vec<String> = ran.chain(failed).collect();
    if all.is_empty() {
        "no thunks".into()
    } else {
        all.join(", ")
    }
}

fn missing_answer(thunks: &[Thunk], missing: &[Name], bucket: &str) -> Answer {
    let list: Vec<String> = missing.iter().map(Name::to_string).collect();
    let message = format!("not in the payload nor in bucket `{bucket}`: {}", list.join(", "));
    let failures = thunks.iter().map(|t| Failure {
        thunk: t.name(),
        kind: "missing".into(),
        message: message.clone(),
        stderr: String::new(),
    });
    Answer { results: Vec::new(), failures: failures.collect() }
}

/// Drops inline bytes over the client's limit, then the largest ones until
/// the answer fits Lambda's payload limit; everything is in S3 anyway.
fn trim_inline(answer: &mut Answer, limit: u64) {
    let mut inline: Vec<(usize, usize, usize)> = Vec::new();
    for (i, r) in answer.results.iter_mut().enumerate() {
        for (j, o) in r.outputs.iter_mut().enumerate() {
            if o.size > limit {
                o.data = None;
            }
            if let Some(d) = &o.data {
                inline.push((d.len(), i, j));
            }
        }
    }
    let mut total: usize = inline.iter().map(|x| x.0).sum();
    inline.sort_unstable();
    while total > INLINE_BUDGET {
        let Some((len, i, j)) = inline.pop() else { break };
        answer.results[i].outputs[j].data = None;
        total -= len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gg_wire::protocol::{Output, Result as ThunkResult};

    #[test]
    fn inline_bytes_stay_under_the_limit_and_the_budget() {
        let out = |size: usize| Output {
            name: "o".into(),
            hash: Name::of_value(&vec![0; size]),
            size: size as u64,
            data: Some("x".repeat(size * 4 / 3)),
        };
        let mut a = Answer {
            results: vec![ThunkResult {
                thunk: Name::of_value(b"t"),
                outputs: vec![out(10), out(2 << 20), out(2 << 20), out(100)],
                stdout: None,
                stderr: None,
                executable: Vec::new(),
            }],
            failures: Vec::new(),
        };
        trim_inline(&mut a, 8 << 20);
        let kept: Vec<bool> = a.results[0].outputs.iter().map(|o| o.data.is_some()).collect();
        assert!(kept[0] && kept[3], "small outputs stay inline: {kept:?}");
        assert!(kept[1] ^ kept[2], "one 2 MB output dropped to fit the budget: {kept:?}");
        trim_inline(&mut a, 50);
        let kept: Vec<bool> = a.results[0].outputs.iter().map(|o| o.data.is_some()).collect();
        assert_eq!(kept, [true, false, false, false]);
    }

    #[test]
    fn outside_lambda_the_scratch_folder_must_be_named() {
        struct Vars(Vec<(&'static str, String)>);
        impl Env for Vars {
            fn var(&self, key: &str) -> Option<String> {
                self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone())
            }
        }
        let e = Settings::from_env(&Vars(vec![])).unwrap_err();
        assert!(e.contains("GG_LAMBDA_TMP"), "{e}");
        let d = tempfile::tempdir().unwrap();
        let env =
            Vars(vec![("GG_LAMBDA_TMP", d.path().display().to_string()), ("GG_LAMBDA_STORE_LIMIT", "lots".into())]);
        let e = Settings::from_env(&env).unwrap_err();
        assert!(e.contains("GG_LAMBDA_STORE_LIMIT=`lots`"), "{e}");
    }
}
