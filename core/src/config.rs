//! Configuration: `GG_*` environment variables override a project file
//! (`gg.toml`, found in the working directory or a parent), which
//! overrides the user's file (`$XDG_CONFIG_HOME/gg/config.toml`, else
//! `~/.config/gg/config.toml`), which overrides the system's
//! (`/etc/gg/config.toml`, or the file `$GG_SYSTEM_CONFIG` names). Every
//! command reads them through [`engine`] and [`store_dir`]. No file is
//! needed: defaults are the local engine, no workers, and the store
//! [`crate::Store::locate`] finds.
//!
//! ```toml
//! [engine]
//! kind = "remote"                     # GG_ENGINE: local or remote
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
//! ```
//!
//! `GG_SANDBOX=strict` (environment only) runs the local engine's thunks
//! in the jail of [`crate::jail`] instead of plain sandbox folders.
//!
//! The system file is for settings that must hold whoever runs gg and
//! whatever their `HOME`: Debian package builds (debhelper) replace `HOME`
//! by a folder inside the package, which hides the user's file (see
//! [`crate::home`]). When that happens while the user's real file exists,
//! and nothing else configures gg (no system file, no `GG_DIR` or
//! `GG_ENGINE`), reading the engine settings warns once per process.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The `[engine]` table; every field optional.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    pub kind: Option<String>,
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

/// The `[store]` table.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The store's folder (below `GG_DIR` and a project's `.gg` folder).
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    engine: EngineConfig,
    #[serde(default)]
    store: StoreConfig,
}

/// The effective engine settings: environment over project file over user
/// file over system file. A file that cannot be parsed is an error naming
/// it.
pub fn engine() -> Result<EngineConfig, String> {
    warn_if_hidden();
    let mut c = engine_from(&files())?;
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let Some(k) = env("GG_ENGINE") {
        c.kind = Some(k);
    }
    if let Some(w) = env("GG_WORKERS") {
        c.workers = Some(w.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect());
    }
    if let Some(f) = env("GG_TOKEN_FILE") {
        c.token_file = Some(f.into());
    }
    if let Some(f) = env("GG_WORKER_CA") {
        c.ca_file = Some(f.into());
    }
    if let Some(f) = env("GG_WORKER_FINGERPRINT") {
        c.fingerprint = Some(f);
    }
    if let Some(s) = env("GG_REMOTE_STRICT") {
        c.strict = Some(s == "1");
    }
    if let Some(s) = env("GG_STRAGGLER_SECS") {
        c.straggler_secs = Some(s.parse().map_err(|_| format!("GG_STRAGGLER_SECS=`{s}`: not a number"))?);
    }
    for (var, field) in [
        ("GG_LAMBDA_FUNCTION", &mut c.function),
        ("GG_S3_BUCKET", &mut c.bucket),
        ("GG_LAMBDA_REGION", &mut c.region),
        ("GG_LAMBDA_ENDPOINT", &mut c.lambda_endpoint),
        ("GG_S3_ENDPOINT", &mut c.s3_endpoint),
    ] {
        if let Some(v) = env(var) {
            *field = Some(v);
        }
    }
    if let Some(s) = env("GG_LAMBDA_TIMEOUT") {
        c.invoke_timeout_secs = Some(s.parse().map_err(|_| format!("GG_LAMBDA_TIMEOUT=`{s}`: not a number"))?);
    }
    Ok(c)
}

/// The config files that apply here, lowest priority first.
fn files() -> Vec<PathBuf> {
    [system_file(), user_file(), project_file()].into_iter().flatten().collect()
}

/// The engine settings of `files` (lowest priority first), merged.
fn engine_from(files: &[PathBuf]) -> Result<EngineConfig, String> {
    let mut c = EngineConfig::default();
    for file in files {
        merge(&mut c, read(file)?);
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

fn merge(into: &mut EngineConfig, from: EngineConfig) {
    into.kind = from.kind.or(into.kind.take());
    into.workers = from.workers.or(into.workers.take());
    into.token_file = from.token_file.or(into.token_file.take());
    into.ca_file = from.ca_file.or(into.ca_file.take());
    into.fingerprint = from.fingerprint.or(into.fingerprint.take());
    into.strict = from.strict.or(into.strict);
    into.straggler_secs = from.straggler_secs.or(into.straggler_secs);
    into.function = from.function.or(into.function.take());
    into.bucket = from.bucket.or(into.bucket.take());
    into.region = from.region.or(into.region.take());
    into.lambda_endpoint = from.lambda_endpoint.or(into.lambda_endpoint.take());
    into.s3_endpoint = from.s3_endpoint.or(into.s3_endpoint.take());
    into.invoke_timeout_secs = from.invoke_timeout_secs.or(into.invoke_timeout_secs);
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
    std::env::var_os("GG_SYSTEM_CONFIG")
        .filter(|p| !p.is_empty())
        .map_or_else(|| "/etc/gg/config.toml".into(), PathBuf::from)
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
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    if set("GG_DIR") || set("GG_ENGINE") {
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
        assert_eq!(c.kind.as_deref(), Some("remote"));
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
        let mut c = EngineConfig { kind: Some("remote".into()), strict: Some(true), ..Default::default() };
        merge(
            &mut c,
            EngineConfig { workers: Some(vec!["http://x:1".into()]), strict: Some(false), ..Default::default() },
        );
        assert_eq!(c.kind.as_deref(), Some("remote"));
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
        let mut c = read(&p).unwrap();
        assert_eq!((c.function.as_deref(), c.bucket.as_deref()), (Some("gg-build"), Some("blobs")));
        assert_eq!(c.invoke_timeout_secs, Some(30.0));
        merge(
            &mut c,
            EngineConfig { bucket: Some("other".into()), region: Some("eu-west-1".into()), ..Default::default() },
        );
        assert_eq!(c.bucket.as_deref(), Some("other"));
        assert_eq!(c.s3_endpoint.as_deref(), Some("http://127.0.0.1:9000"), "kept from the earlier source");
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
    }

    /// Writes `text` to `rel` under `dir`, returning the path.
    fn file(dir: &Path, rel: &str, text: &str) -> PathBuf {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
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
        assert_eq!(c.kind.as_deref(), Some("remote"), "from the system file");
        assert_eq!(c.workers.unwrap(), ["http://u:1"], "the user's over the system's");
        assert_eq!(c.strict, Some(false), "the project's over both");
        assert_eq!(engine_from(&[system]).unwrap().workers.unwrap(), ["http://s:1"]);
        assert_eq!(engine_from(&[]).unwrap(), EngineConfig::default());
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
