//! Which engine runs thunks ([`EngineKind`]): `GG_ENGINE` or the config
//! files' `kind`, parsed once here so that every place that chooses an
//! engine matches an enum, not a string.

use std::fmt;
use std::str::FromStr;

/// The engines a configuration can name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum EngineKind {
    /// Thunks run on this machine (the default).
    #[default]
    Local,
    /// Thunks run on gg-workers (`workers`).
    Remote,
    /// Thunks run as AWS Lambda invocations (`function`, `bucket`).
    Lambda,
}

impl EngineKind {
    /// Every kind, in the order error messages list them.
    pub const ALL: [EngineKind; 3] = [EngineKind::Local, EngineKind::Remote, EngineKind::Lambda];

    /// What a bad name is told.
    pub const EXPECTED: &'static str = "expected `local`, `remote` or `lambda`";

    /// The name a configuration uses.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Local => "local",
            EngineKind::Remote => "remote",
            EngineKind::Lambda => "lambda",
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EngineKind {
    type Err = String;

    /// The kind named `s`; the error names `s` and the accepted names (the
    /// caller adds where `s` came from).
    fn from_str(s: &str) -> Result<EngineKind, String> {
        EngineKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("engine `{s}`: {}", EngineKind::EXPECTED))
    }
}

impl TryFrom<String> for EngineKind {
    type Error = String;

    fn try_from(s: String) -> Result<EngineKind, String> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_parses_from_its_own_name() {
        for k in EngineKind::ALL {
            assert_eq!(k.as_str().parse::<EngineKind>(), Ok(k));
            assert_eq!(k.to_string(), k.as_str());
        }
        assert_eq!(EngineKind::default(), EngineKind::Local);
    }

    #[test]
    fn a_bad_name_is_named_with_the_accepted_ones() {
        let e = "Remote".parse::<EngineKind>().unwrap_err();
        assert_eq!(e, "engine `Remote`: expected `local`, `remote` or `lambda`");
        assert!("".parse::<EngineKind>().is_err());
    }

    #[test]
    fn a_config_file_value_is_parsed_by_the_same_rule() {
        #[derive(serde::Deserialize)]
        struct T {
            kind: EngineKind,
        }
        assert_eq!(toml::from_str::<T>("kind = \"lambda\"").unwrap().kind, EngineKind::Lambda);
        let e = toml::from_str::<T>("kind = \"aws\"").err().unwrap().to_string();
        assert!(e.contains("engine `aws`: expected `local`, `remote` or `lambda`"), "{e}");
    }
}
