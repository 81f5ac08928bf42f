//! Parsing the object arguments of `gg create-thunk`: `NAME=PATH` for a
//! blob already in the store, `FILE` or `FILE=PATH` for a file to store.

use std::path::Path;

use anyhow::{bail, Context, Result};
use gg_core::{relpath, Name, Store};

/// Resolves one `--value`/`--executable`/`--function` argument to the blob
/// it names (storing the file if it is one) and its sandbox path.
pub fn object(store: &Store, flag: &str, spec: &str) -> Result<(Name, String)> {
    let (head, path) = match spec.split_once('=') {
        Some((h, p)) => (h, Some(p)),
        None => (spec, None),
    };
    if let Ok(name) = head.parse::<Name>() {
        let Some(path) = path else { bail!("{flag} `{spec}`: a name needs a path (`NAME=PATH`)") };
        if !store.has(&name) {
            bail!("{flag} `{spec}`: `{name}` is not in the store (`gg put` the file first)");
        }
        return Ok((name, checked_path(flag, spec, path)?));
    }
    let file = Path::new(head);
    let path = match path {
        Some(p) => p,
        None => head,
    };
    let path = checked_path(flag, spec, path).with_context(|| {
        format!("{flag} `{spec}`: give the sandbox path explicitly with `FILE=PATH` (e.g. `{head}=bin/tool`)")
    })?;
    let name = store.put_file(file).with_context(|| format!("{flag} `{spec}`"))?;
    Ok((name, path))
}

fn checked_path(flag: &str, spec: &str, path: &str) -> Result<String> {
    let path = path.strip_prefix("./").unwrap_or(path);
    match relpath::check(path) {
        Ok(()) => Ok(path.to_string()),
        Err(why) => bail!("{flag} `{spec}`: sandbox path `{path}`: {why}"),
    }
}
