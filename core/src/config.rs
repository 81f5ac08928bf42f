//! Configuration: `GG_*` environment variables override a project file
//! (`gg.toml`, found in the working directory or a parent), which
//! overrides the user's file (`$XDG_CONFIG_HOME/gg/config.toml`, else
//! `~/.config/gg/config.toml`), which overrides the system's
//! (`/etc/gg/config.toml`, or the file `$GG_SYSTEM_CONFIG` names). Every
//! command reads them through [`engine`], [`store_dir`], [`max_size`] and [`cache`]. No file is
//! needed: defaults are the local engine, no workers, and the store
//! [`crate::Store::locate`] finds. Each layer is an [`EngineConfig`] of
//! optional fields, merged by [`EngineConfig::merge`]; the variables, and
//! their defaults, are read in [`crate::env`].
//!
//! ```toml
//! [engine]
//! kind = "remote"                     # GG_ENGINE: local, remote or lambda
//! workers = ["http://w1:7878"]        # GG_WORKERS (comma-separated)
//! token_file = "/etc/gg/token"        # GG_TOKEN_FILE (GG_TOKEN: the token)
//! ca_file = "/etc/gg/workers-ca.pem"  # GG_WORKER_CA: trusted for https:// workers
//! fingerprint = "AB:CD:…"             # GG_WORKER_FINGERPRINT: pinned certificates instead
//! strict = true                       # GG_REMOTE_STRICT=1
//! straggler_secs = 10                 # GG_STRAGGLER_SECS
//!
//! # kind = "lambda": the function and its bucket (docs/lambda.md)
//! function = "gg"                     # GG_LAMBDA_FUNCTION
//! bucket = "my-gg-blobs"              # GG_S3_BUCKET
//! region = "eu-west-1"                # GG_LAMBDA_REGION (else AWS_REGION…)
//! lambda_endpoint = "http://…"        # GG_LAMBDA_ENDPOINT (default: AWS)
//! s3_endpoint = "http://…"            # GG_S3_ENDPOINT (default: AWS)
//! invoke_timeout_secs = 960           # GG_LAMBDA_TIMEOUT
//!
//! [store]
//! dir = "/var/cache/gg"               # GG_DIR; relative to the file's folder
//! max_size = "5G"                     # GG_MAX_SIZE; "0": no limit (see crate::evict)
//!
//! [cache]
//! remote = "s3://my-bucket/gg"        # GG_REMOTE_CACHE: s3://, http(s)://, gg(s)://, file:// (crate::shared)
//! read_only = true                    # GG_REMOTE_CACHE_READ_ONLY=1: never write back
//! timeout_secs = 0.5                  # GG_REMOTE_CACHE_TIMEOUT
//! base_dir = "/home/me/src"           # GG_BASEDIR: paths below shared relative to it
//! ```
//!
//! Variables with no key here (`GG_SANDBOX=strict`, which runs the local
//! engine's thunks in the jail of [`crate::jail`], `GG_LOG`…) are listed
//! in [`crate::env`] too.
//!
//! The system file is for settings that must hold whoever runs gg and
//! whatever their `HOME`: Debian package builds (debhelper) replace `HOME`
//! by a folder inside the package, which hides the user's file (see
//! [`crate::home`]). When that happens while the user's real file exists,
//! and nothing else configures gg (no system file, no `GG_DIR` or
//! `GG_ENGINE`), reading the engine settings warns once per process.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::engine::EngineKind;
use crate::env;

/// The `[engine]` table; every field optional, so that a layer (a file,
/// the environment) sets only what it names and [`EngineConfig::merge`]
/// keeps the rest.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    pub kind: Option<EngineKind>,
    pub workers: Option<Vec<String>>,
    pub token_file: Option<PathBuf>,
    /// A CA certificate (PEM) trusted for `https://` workers, besides the
    /// system's roots.
    pub ca_file: Option<PathBuf>,
    /// SHA-256 fingerprints of the workers' certificates (comma-separated):
    /// pinned, accepted instead of any CA.
    pub fingerprint: Option<String>,
    pub strict: Option<bool>,
    pub straggler_secs: Option<f64>,
    pub function: Option<String>,
    pub bucket: Option<String>,
    pub region: Option<String>,
    pub lambda_endpoint: Option<String>,
    pub s3_endpoint: Option<String>,
    pub invoke_timeout_secs: Option<f64>,
}

impl EngineConfig {
    /// `later` over `self`, field by field: each field `later` sets wins,
    /// the others keep their value. Both the pattern and the literal name
    /// every field (no `..`), so a field added to the struct and not
    /// merged here does not compile.
    pub fn merge(self, later: EngineConfig) -> EngineConfig {
        let EngineConfig {
            kind,
            workers,
            token_file,
            ca_file,
            fingerprint,
            strict,
            straggler_secs,
            function,
            bucket,
            region,
            lambda_endpoint,
            s3_endpoint,
            invoke_timeout_secs,
        } = later;
        EngineConfig {
            kind: kind.or(self.kind),
            workers: workers.or(self.workers),
            token_file: token_file.or(self.token_file),
            ca_file: ca_file.or(self.ca_file),
            fingerprint: fingerprint.or(self.fingerprint),
            strict: strict.or(self.strict),
            straggler_secs: straggler_secs.or(self.straggler_secs),
            function: function.or(self.function),
            bucket: bucket.or(self.bucket),
            region: region.or(self.region),
            lambda_endpoint: lambda_endpoint.or(self.lambda_endpoint),
            s3_endpoint: s3_endpoint.or(self.s3_endpoint),
            invoke_timeout_secs: invoke_timeout_secs.or(self.invoke_timeout_secs),
        }
    }
}

/// The `[cache]` table: a shared cache tier (see [`crate::shared`]).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// `s3://BUCKET/PREFIX`, `http(s)://…`, `gg://HOST:PORT` or
    /// `ggs://HOST:PORT` (a gg-worker), or `file:///FOLDER`.
    pub remote: Option<String>,
    /// Read from the remote cache, never write to it.
    pub read_only: Option<bool>,
    /// Seconds one request may take before the remote counts as down.
    pub timeout_secs: Option<f64>,
    /// Paths under this folder are shared relative to it (`GG_BASEDIR`).
    pub base_dir: Option<String>,
}

impl CacheConfig {
    /// `later` over `self`, field by field (as [`EngineConfig::merge`]).
    pub fn merge(self, later: CacheConfig) -> CacheConfig {
        let CacheConfig { remote, read_only, timeout_secs, base_dir } = later;
        CacheConfig {
            remote: remote.or(self.remote),
            read_only: read_only.or(self.read_only),
            timeout_secs: timeout_secs.or(self.timeout_secs),
            base_dir: base_dir.or(self.base_dir),
        }
    }
}

/// The `[store]` table.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The store's folder (below `GG_DIR` and a project's `.gg` folder).
    pub dir: Option<PathBuf>,
    /// The most the store may hold, as `GG_MAX_SIZE` spells it (`"5G"`).
    pub max_size: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    engine: EngineConfig,
    #[serde(default)]
    store: StoreConfig,
    #[serde(default)]
    cache: CacheConfig,
}

/// The effective engine settings: environment over project file over user
/// file over system file. A file that cannot be parsed is an error naming
/// it.
pub fn engine() -> Result<EngineConfig, String> {
    warn_if_hidden();
    Ok(engine_from(&files())?.merge(env_layer()?))
}

/// The effective `[cache]` settings: `GG_REMOTE_CACHE`…, then the project
/// file over the user file over the system file.
pub fn cache() -> Result<CacheConfig, String> {
    let mut c = CacheConfig::default();
    for file in files() {
        c = c.merge(load(&file)?.cache);
    }
    Ok(c.merge(CacheConfig {
        remote: env::remote_cache(),
        read_only: env::remote_cache_read_only(),
        timeout_secs: env::remote_cache_timeout()?,
        base_dir: env::basedir(),
    }))
}

/// The settings the `GG_*` variables give (see [`crate::env`]): the top
/// layer. The literal names every field, so a new setting cannot be left
/// without its variable by accident.
fn env_layer() -> Result<EngineConfig, String> {
    Ok(EngineConfig {
        kind: env::engine()?,
        workers: env::workers(),
        token_file: env::token_file(),
        ca_file: env::worker_ca(),
        fingerprint: env::worker_fingerprint(),
        strict: env::remote_strict(),
        straggler_secs: env::straggler_secs()?,
        function: env::lambda_function(),
        bucket: env::s3_bucket(),
        region: env::lambda_region(),
        lambda_endpoint: env::lambda_endpoint(),
        s3_endpoint: env::s3_endpoint(),
        invoke_timeout_secs: env::lambda_timeout()?,
    })
}

/// The config files that apply here, lowest priority first.
fn files() -> Vec<PathBuf> {
    [system_file(), user_file(), project_file()].into_iter().flatten().collect()
}

/// The engine settings of `files` (lowest priority first), merged.
fn engine_from(files: &[PathBuf]) -> Result<EngineConfig, String> {
    let mut c = EngineConfig::default();
    for file in files {
        c = c.merge(read(file)?);
    }
    Ok(c)
}

/// The store folder the config files name (`[store] dir`), if any: the
/// project's over the user's over the system's.
pub fn store_dir() -> Result<Option<PathBuf>, String> {
    store_dir_from(&files())
}

/// The last `[store] dir` in `files`, a relative one taken from the
/// folder of the file that names it.
fn store_dir_from(files: &[PathBuf]) -> Result<Option<PathBuf>, String> {
    let mut dir = None;
    for file in files {
        if let Some(d) = load(file)?.store.dir {
            dir = Some(file.parent().map_or_else(|| d.clone(), |folder| folder.join(&d)));
        }
    }
    Ok(dir)
}

/// The store's size limit in bytes (0: none): `GG_MAX_SIZE`, else the
/// config files' `[store] max_size` (the project's over the user's over the
/// system's), else [`crate::evict::DEFAULT_MAX_SIZE`]. A value that is no
/// size is an error naming where it was set.
pub fn max_size() -> Result<u64, String> {
    if let Some(v) = env::max_size() {
        return crate::evict::parse_size(&v).map_err(|why| format!("GG_MAX_SIZE=`{v}`: {why}"));
    }
    max_size_from(&files())
}

fn max_size_from(files: &[PathBuf]) -> Result<u64, String> {
    let mut size = crate::evict::DEFAULT_MAX_SIZE;
    for file in files {
        if let Some(v) = load(file)?.store.max_size {
            size = crate::evict::parse_size(&v)
                .map_err(|why| format!("`{}`: [store] max_size = \"{v}\": {why}", file.display()))?;
        }
    }
    Ok(size)
}

fn read(path: &Path) -> Result<EngineConfig, String> {
    load(path).map(|f| f.engine)
}

fn load(path: &Path) -> Result<File, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    toml::from_str::<File>(&text).map_err(|e| format!("`{}`: {e}", path.display()))
}

/// The system file's path: `$GG_SYSTEM_CONFIG`, else `/etc/gg/config.toml`.
fn system_path() -> PathBuf {
    env::system_config()
}

fn system_file() -> Option<PathBuf> {
    Some(system_path()).filter(|p| p.is_file())
}

fn user_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| crate::home::env_home().map(|h| h.join(".config")))?;
    Some(base.join("gg/config.toml")).filter(|p| p.is_file())
}

/// Prints, once per process, that the user's config file is hidden by a
/// package build's `HOME`, when nothing else configures gg. Cheap when
/// `HOME` is an ordinary one: gg-cc reads the settings on every compile.
fn warn_if_hidden() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if env::is_set(&env::DIR) || env::is_set(&env::ENGINE) {
        return;
    }
    let Some(home) = crate::home::env_home().filter(|h| crate::home::is_debhelper_home(h)) else { return };
    ONCE.call_once(|| {
        if system_file().is_some() {
            return;
        }
        let Some(account) = crate::home::account_home() else { return };
        if let Some(hidden) = hidden_user_file(&account, user_file().as_deref()) {
            eprintln!(
                "gg: warning: `{}` is not read: HOME is `{}` (debhelper's, for package builds); \
                 put the settings in `{}`, or set GG_ENGINE, GG_DIR… in the build's environment",
                hidden.display(),
                home.display(),
                system_path().display()
            );
        }
    });
}

/// The config file in the account's real home, if it exists and is not
/// the user file being read.
fn hidden_user_file(account_home: &Path, reading: Option<&Path>) -> Option<PathBuf> {
    let real = account_home.join(".config/gg/config.toml");
    (real.is_file() && reading != Some(real.as_path())).then_some(real)
}

fn project_file() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors().map(|d| d.join("gg.toml")).find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_read_and_unknown_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gg.toml");
        std::fs::write(&p, "[engine]\nkind = \"remote\"\nworkers = [\"http://a:1\", \"http://b:2\"]\nstrict = true\n")
            .unwrap();
        let c = read(&p).unwrap();
        assert_eq!(c.kind, Some(EngineKind::Remote));
        assert_eq!(c.workers.unwrap().len(), 2);
        assert_eq!(c.strict, Some(true));
        std::fs::write(&p, "[engine]\nworkerz = []\n").unwrap();
        let e = read(&p).unwrap_err();
        assert!(e.contains("gg.toml") && e.contains("workerz"), "{e}");
    }

    #[test]
    fn a_worker_ca_file_is_read_and_a_later_file_overrides_it() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("config.toml");
        let project = dir.path().join("gg.toml");
        std::fs::write(&user, "[engine]\nca_file = \"/etc/gg/ca.pem\"\n").unwrap();
        std::fs::write(&project, "[engine]\nca_file = \"ca.pem\"\n").unwrap();
        assert_eq!(engine_from(std::slice::from_ref(&user)).unwrap().ca_file, Some("/etc/gg/ca.pem".into()));
        assert_eq!(engine_from(&[user, project]).unwrap().ca_file, Some("ca.pem".into()));
    }

    #[test]
    fn later_sources_override_earlier_ones_field_by_field() {
        let c = EngineConfig { kind: Some(EngineKind::Remote), strict: Some(true), ..Default::default() };
        let c = c.merge(EngineConfig {
            workers: Some(vec!["http://x:1".into()]),
            strict: Some(false),
            ..Default::default()
        });
        assert_eq!(c.kind, Some(EngineKind::Remote));
        assert_eq!(c.strict, Some(false));
        assert_eq!(c.workers.unwrap(), ["http://x:1"]);
    }

    #[test]
    fn the_lambda_settings_are_read_and_merged() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gg.toml");
        let text = "[engine]\nkind = \"lambda\"\nfunction = \"gg-build\"\nbucket = \"blobs\"\n\
                    s3_endpoint = \"http://127.0.0.1:9000\"\ninvoke_timeout_secs = 30\n";
        std::fs::write(&p, text).unwrap();
        let c = read(&p).unwrap();
        assert_eq!((c.function.as_deref(), c.bucket.as_deref()), (Some("gg-build"), Some("blobs")));
        assert_eq!(c.invoke_timeout_secs, Some(30.0));
        let c = c.merge(EngineConfig {
            bucket: Some("other".into()),
            region: Some("eu-west-1".into()),
            ..Default::default()
        });
        assert_eq!(c.bucket.as_deref(), Some("other"));
        assert_eq!(c.s3_endpoint.as_deref(), Some("http://127.0.0.1:9000"), "kept from the earlier source");
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
    }

    /// Settings with every field set, each from `n`: two of them differ in
    /// every field.
    fn full(n: u8) -> EngineConfig {
        EngineConfig {
            kind: Some(EngineKind::ALL[usize::from(n) % 3]),
            workers: Some(vec![format!("http://w{n}:1")]),
            token_file: Some(format!("/token{n}").into()),
            ca_file: Some(format!("/ca{n}.pem").into()),
            fingerprint: Some(format!("AB:{n}")),
            strict: Some(n % 2 == 0),
            straggler_secs: Some(f64::from(n)),
            function: Some(format!("f{n}")),
            bucket: Some(format!("b{n}")),
            region: Some(format!("r{n}")),
            lambda_endpoint: Some(format!("http://l{n}")),
            s3_endpoint: Some(format!("http://s{n}")),
            invoke_timeout_secs: Some(f64::from(n) + 0.5),
        }
    }

    #[test]
    fn a_later_layer_overrides_every_field_and_an_empty_one_keeps_every_field() {
        let (early, late) = (full(1), full(2));
        assert_eq!(early.clone().merge(late.clone()), late, "each field of the later layer wins");
        assert_eq!(late.clone().merge(EngineConfig::default()), late, "an unset field keeps the earlier value");
        assert_eq!(EngineConfig::default().merge(early.clone()), early);
    }

    #[test]
    fn the_environment_is_the_top_layer_and_a_bad_value_is_named() {
        let fake = |vars: Vec<(&'static str, &str)>| {
            env::FAKE.with(|f| *f.borrow_mut() = vars.into_iter().map(|(k, v)| (k, v.into())).collect());
        };
        fake(vec![]);
        assert_eq!(env_layer().unwrap(), EngineConfig::default(), "no variable set: an empty layer");
        fake(vec![
            ("GG_ENGINE", "lambda"),
            ("GG_WORKERS", "http://a:1, http://b:2,"),
            ("GG_TOKEN_FILE", "/t"),
            ("GG_WORKER_CA", "/ca.pem"),
            ("GG_WORKER_FINGERPRINT", "AB:CD"),
            ("GG_REMOTE_STRICT", "0"),
            ("GG_STRAGGLER_SECS", "2.5"),
            ("GG_LAMBDA_FUNCTION", "fn"),
            ("GG_S3_BUCKET", "bk"),
            ("GG_LAMBDA_REGION", "eu-west-1"),
            ("GG_LAMBDA_ENDPOINT", "http://l"),
            ("GG_S3_ENDPOINT", "http://s"),
            ("GG_LAMBDA_TIMEOUT", "30"),
        ]);
        let layer = env_layer().unwrap();
        assert_eq!(
            layer,
            EngineConfig {
                kind: Some(EngineKind::Lambda),
                workers: Some(vec!["http://a:1".into(), "http://b:2".into()]),
                token_file: Some("/t".into()),
                ca_file: Some("/ca.pem".into()),
                fingerprint: Some("AB:CD".into()),
                strict: Some(false),
                straggler_secs: Some(2.5),
                function: Some("fn".into()),
                bucket: Some("bk".into()),
                region: Some("eu-west-1".into()),
                lambda_endpoint: Some("http://l".into()),
                s3_endpoint: Some("http://s".into()),
                invoke_timeout_secs: Some(30.0),
            }
        );
        assert_eq!(full(1).merge(layer.clone()), layer, "every variable overrides the files");
        fake(vec![("GG_ENGINE", "aws")]);
        assert_eq!(env_layer().unwrap_err(), "GG_ENGINE=`aws`: expected `local`, `remote` or `lambda`");
        fake(vec![("GG_LAMBDA_TIMEOUT", "soon")]);
        assert_eq!(env_layer().unwrap_err(), "GG_LAMBDA_TIMEOUT=`soon`: not a number");
        fake(vec![]);
    }

    #[test]
    fn a_bad_kind_in_a_file_is_named_with_the_file_and_the_accepted_kinds() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(dir.path(), "gg.toml", "[engine]\nkind = \"aws\"\n");
        let e = read(&p).unwrap_err();
        assert!(e.contains("gg.toml") && e.contains("engine `aws`: expected `local`, `remote` or `lambda`"), "{e}");
    }

    /// Writes `text` to `rel` under `dir`, returning the path.
    fn file(dir: &Path, rel: &str, text: &str) -> PathBuf {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn the_cache_table_is_read_and_a_later_layer_wins_field_by_field() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(dir.path(), "gg.toml", "[cache]\nremote = \"s3://b/p\"\nread_only = true\nbase_dir = \"/src\"\n");
        let c = load(&p).unwrap().cache;
        assert_eq!(c.remote.as_deref(), Some("s3://b/p"));
        assert_eq!((c.read_only, c.base_dir.as_deref(), c.timeout_secs), (Some(true), Some("/src"), None));
        let env = CacheConfig { remote: Some("http://h/c".into()), read_only: Some(false), ..Default::default() };
        let merged = c.merge(env);
        assert_eq!(merged.remote.as_deref(), Some("http://h/c"));
        assert_eq!((merged.read_only, merged.base_dir.as_deref()), (Some(false), Some("/src")));
        let bad = file(dir.path(), "bad.toml", "[cache]\nremote_url = \"x\"\n");
        let e = load(&bad).unwrap_err();
        assert!(e.contains("remote_url") && e.contains("bad.toml"), "{e}");
    }

    #[test]
    fn the_project_file_overrides_the_user_file_which_overrides_the_system_file() {
        let dir = tempfile::tempdir().unwrap();
        let system = file(
            dir.path(),
            "etc/gg/config.toml",
            "[engine]\nkind = \"remote\"\nworkers = [\"http://s:1\"]\nstrict = true\n",
        );
        let user = file(dir.path(), "home/.config/gg/config.toml", "[engine]\nworkers = [\"http://u:1\"]\n");
        let project = file(dir.path(), "proj/gg.toml", "[engine]\nstrict = false\n");
        let c = engine_from(&[system.clone(), user, project]).unwrap();
        assert_eq!(c.kind, Some(EngineKind::Remote), "from the system file");
        assert_eq!(c.workers.unwrap(), ["http://u:1"], "the user's over the system's");
        assert_eq!(c.strict, Some(false), "the project's over both");
        assert_eq!(engine_from(&[system]).unwrap().workers.unwrap(), ["http://s:1"]);
        assert_eq!(engine_from(&[]).unwrap(), EngineConfig::default());
    }

    #[test]
    fn the_last_max_size_wins_and_a_bad_one_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let system = file(dir.path(), "etc/gg/config.toml", "[store]\nmax_size = \"20G\"\n");
        let project = file(dir.path(), "proj/gg.toml", "[store]\nmax_size = \"512M\"\n");
        let bad = file(dir.path(), "bad/gg.toml", "[store]\nmax_size = \"lots\"\n");
        assert_eq!(max_size_from(&[]).unwrap(), crate::evict::DEFAULT_MAX_SIZE);
        assert_eq!(max_size_from(std::slice::from_ref(&system)).unwrap(), 20 << 30);
        assert_eq!(max_size_from(&[system.clone(), project]).unwrap(), 512 << 20);
        let err = max_size_from(&[system, bad.clone()]).unwrap_err();
        assert!(err.contains(&bad.display().to_string()) && err.contains("lots"), "{err}");
    }

    #[test]
    fn the_last_store_dir_wins_and_a_relative_one_is_taken_from_its_files_folder() {
        let dir = tempfile::tempdir().unwrap();
        let system = file(dir.path(), "etc/gg/config.toml", "[store]\ndir = \"/var/cache/gg\"\n");
        let user = file(dir.path(), "home/.config/gg/config.toml", "[engine]\nstrict = true\n");
        let project = file(dir.path(), "proj/gg.toml", "[store]\ndir = \"cache/gg\"\n");
        assert_eq!(store_dir_from(&[system.clone(), user.clone()]).unwrap(), Some(PathBuf::from("/var/cache/gg")));
        assert_eq!(store_dir_from(&[system, user.clone(), project]).unwrap(), Some(dir.path().join("proj/cache/gg")));
        assert_eq!(store_dir_from(&[user]).unwrap(), None);
        let bad = file(dir.path(), "bad/gg.toml", "[store]\ndirectory = \"/x\"\n");
        let e = store_dir_from(&[bad]).unwrap_err();
        assert!(e.contains("bad/gg.toml") && e.contains("directory"), "{e}");
    }

    #[test]
    fn the_real_users_file_is_hidden_only_when_it_exists_and_is_not_the_one_read() {
        let dir = tempfile::tempdir().unwrap();
        let account = dir.path().join("ann");
        assert_eq!(hidden_user_file(&account, None), None, "no file in the real home: nothing hidden");
        let real = file(&account, ".config/gg/config.toml", "[engine]\nkind = \"remote\"\n");
        assert_eq!(hidden_user_file(&account, None), Some(real.clone()));
        let other = dir.path().join("pkg/debian/.debhelper/generated/_source/home/.config/gg/config.toml");
        assert_eq!(hidden_user_file(&account, Some(&other)), Some(real.clone()), "another file is read instead");
        assert_eq!(hidden_user_file(&account, Some(&real)), None, "it is the file read");
    }
}
