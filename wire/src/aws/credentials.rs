//! AWS credentials and region, found the way the AWS CLI finds them:
//! `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN` first,
//! else the profile `AWS_PROFILE` (default `default`) of the shared
//! credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else
//! `~/.aws/credentials`); the region from `AWS_REGION`,
//! `AWS_DEFAULT_REGION`, else the profile's `region` in the config file
//! (`AWS_CONFIG_FILE`, else `~/.aws/config`, where profiles other than
//! `default` are headed `[profile NAME]`).
//!
//! The two files are INI: `[section]` headers and `key = value` lines,
//! `#` or `;` comments. That small subset is all the AWS CLI writes, so it
//! is read here rather than through a general INI crate.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A key pair, with the session token of temporary credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    // The secret never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("access_key", &self.access_key).finish_non_exhaustive()
    }
}

/// Where settings are read from; the process environment in real use.
pub trait Env {
    fn var(&self, key: &str) -> Option<String>;
}

/// The process environment (empty values count as unset).
#[derive(Debug)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }
}

impl Credentials {
    /// The environment's keys, else the profile's; an error says where it
    /// looked.
    pub fn find(env: &dyn Env) -> Result<Credentials, String> {
        if let (Some(access_key), Some(secret_key)) = (env.var("AWS_ACCESS_KEY_ID"), env.var("AWS_SECRET_ACCESS_KEY")) {
            return Ok(Credentials { access_key, secret_key, session_token: env.var("AWS_SESSION_TOKEN") });
        }
        let profile = profile_name(env);
        let file = shared_file(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
        let missing = || {
            format!(
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give profile `{profile}` \
                 aws_access_key_id and aws_secret_access_key in `{}`",
                file.as_deref().map_or("~/.aws/credentials".into(), |f| f.display().to_string())
            )
        };
        let Some(file) = file.as_deref() else { return Err(missing()) };
        let sections = match std::fs::read_to_string(file) {
            Ok(text) => parse_ini(&text).map_err(|e| format!("`{}`: {e}", file.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
            Err(e) => return Err(format!("cannot read `{}`: {e}", file.display())),
        };
        let Some(keys) = sections.get(&profile) else { return Err(missing()) };
        match (keys.get("aws_access_key_id"), keys.get("aws_secret_access_key")) {
            (Some(a), Some(s)) => Ok(Credentials {
                access_key: a.clone(),
                secret_key: s.clone(),
                session_token: keys.get("aws_session_token").cloned(),
            }),
            _ => Err(missing()),
        }
    }
}

/// The region: the environment's, else the profile's in the config file,
/// else `us-east-1` (what the AWS CLI assumes for S3-compatible servers).
pub fn region(env: &dyn Env) -> Result<String, String> {
    if let Some(r) = env.var("AWS_REGION").or_else(|| env.var("AWS_DEFAULT_REGION")) {
        return Ok(r);
    }
    let profile = profile_name(env);
    if let Some(file) = shared_file(env, "AWS_CONFIG_FILE", "config") {
        if let Ok(text) = std::fs::read_to_string(&file) {
            let sections = parse_ini(&text).map_err(|e| format!("`{}`: {e}", file.display()))?;
            let head = if profile == "default" { profile } else { format!("profile {profile}") };
            if let Some(r) = sections.get(&head).and_then(|s| s.get("region")) {
                return Ok(r.clone());
            }
        }
    }
    Ok("us-east-1".into())
}

fn profile_name(env: &dyn Env) -> String {
    env.var("AWS_PROFILE").unwrap_or_else(|| "default".into())
}

fn shared_file(env: &dyn Env, var: &str, leaf: &str) -> Option<PathBuf> {
    env.var(var).map(PathBuf::from).or_else(|| env.var("HOME").map(|h| Path::new(&h).join(".aws").join(leaf)))
}

type Sections = HashMap<String, HashMap<String, String>>;

/// Sections of key/value pairs; a line that is none of header, pair,
/// comment or blank is an error naming its line.
fn parse_ini(text: &str) -> Result<Sections, String> {
    let mut sections = Sections::new();
    let mut current: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(head) = line.strip_prefix('[') {
            let head = head.strip_suffix(']').ok_or_else(|| format!("line {}: `[` without `]`", i + 1))?;
            let head = head.split_whitespace().collect::<Vec<_>>().join(" ");
            sections.entry(head.clone()).or_default();
            current = Some(head);
            continue;
        }
        let (k, v) = line.split_once('=').ok_or_else(|| format!("line {}: expected `key = value`", i + 1))?;
        // Nested settings (`s3 =` followed by indented lines) have no
        // section of their own; they are skipped with their parent.
        if let Some(section) = &current {
            if !raw.starts_with([' ', '\t']) {
                sections.get_mut(section).expect("entered").insert(k.trim().to_string(), v.trim().to_string());
            }
        }
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Vars(Vec<(&'static str, String)>);

    impl Env for Vars {
        fn var(&self, key: &str) -> Option<String> {
            self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone())
        }
    }

    const CREDENTIALS: &str = "\
# written by aws configure
[default]
aws_access_key_id = AKDEFAULT
aws_secret_access_key = secret/default

[ build ]
aws_access_key_id=AKBUILD
aws_secret_access_key=secret+build
aws_session_token = token123
";

    const CONFIG: &str = "\
[default]
region = eu-west-1
s3 =
    max_concurrent_requests = 20
[profile build]
region = ap-south-1
";

    fn files() -> (tempfile::TempDir, String, String) {
        let d = tempfile::tempdir().unwrap();
        let c = d.path().join("credentials");
        let g = d.path().join("config");
        std::fs::write(&c, CREDENTIALS).unwrap();
        std::fs::write(&g, CONFIG).unwrap();
        (d, c.display().to_string(), g.display().to_string())
    }

    #[test]
    fn environment_keys_come_first() {
        let (_d, c, _) = files();
        let env = Vars(vec![
            ("AWS_ACCESS_KEY_ID", "AKENV".into()),
            ("AWS_SECRET_ACCESS_KEY", "s".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", c),
        ]);
        let got = Credentials::find(&env).unwrap();
        assert_eq!((got.access_key.as_str(), got.session_token), ("AKENV", None));
    }

    #[test]
    fn profiles_are_read_from_the_shared_files() {
        let (_d, c, g) = files();
        let env = Vars(vec![("AWS_SHARED_CREDENTIALS_FILE", c.clone()), ("AWS_CONFIG_FILE", g.clone())]);
        assert_eq!(Credentials::find(&env).unwrap().secret_key, "secret/default");
        assert_eq!(region(&env).unwrap(), "eu-west-1");
        let env =
            Vars(vec![("AWS_SHARED_CREDENTIALS_FILE", c), ("AWS_CONFIG_FILE", g), ("AWS_PROFILE", "build".into())]);
        let got = Credentials::find(&env).unwrap();
        assert_eq!(
            got,
            Credentials {
                access_key: "AKBUILD".into(),
                secret_key: "secret+build".into(),
                session_token: Some("token123".into())
            }
        );
        assert_eq!(region(&env).unwrap(), "ap-south-1");
        assert!(!format!("{got:?}").contains("secret"), "the secret is not in Debug output");
    }

    #[test]
    fn missing_credentials_say_where_they_were_looked_for() {
        let (_d, c, _) = files();
        let env = Vars(vec![("AWS_SHARED_CREDENTIALS_FILE", c.clone()), ("AWS_PROFILE", "nope".into())]);
        let e = Credentials::find(&env).unwrap_err();
        assert!(e.contains("profile `nope`") && e.contains(&c), "{e}");
        let env = Vars(vec![("HOME", "/nonexistent".into())]);
        let e = Credentials::find(&env).unwrap_err();
        assert!(e.contains("AWS_ACCESS_KEY_ID") && e.contains("/nonexistent/.aws/credentials"), "{e}");
        assert_eq!(region(&env).unwrap(), "us-east-1");
    }

    #[test]
    fn a_malformed_file_names_its_line() {
        let d = tempfile::tempdir().unwrap();
        let c = d.path().join("credentials");
        std::fs::write(&c, "[default]\naws_access_key_id AK\n").unwrap();
        let env = Vars(vec![("AWS_SHARED_CREDENTIALS_FILE", c.display().to_string())]);
        let e = Credentials::find(&env).unwrap_err();
        assert!(e.contains("line 2") && e.contains("credentials"), "{e}");
    }
}
