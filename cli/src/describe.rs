//! `gg describe`: show a thunk or value readably, found by name, by a
//! placeholder file or by a thunk file.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use gg_core::{placeholder, Name, OutputRef, Store, Thunk};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A name (`V…`, `T…`, `T…#output`), a placeholder file or a thunk file.
    target: String,
    /// Print the thunk's canonical JSON encoding instead.
    #[arg(long)]
    json: bool,
}

pub fn run(store: &Store, a: &Args) -> Result<ExitCode> {
    let (thunk, name) = match find(store, &a.target)? {
        Found::Value(name) => {
            let where_ = if store.has(&name) { "in the store" } else { "not in the store" };
            println!("value {name}\n  size      {} bytes\n  stored    {where_}", name.size());
            return Ok(ExitCode::SUCCESS);
        }
        Found::Thunk(thunk, name) => (thunk, name),
    };
    if a.json {
        println!("{}", String::from_utf8(thunk.encode()).expect("JSON is UTF-8"));
    } else {
        print!("{}", describe(store, &thunk, &name));
    }
    Ok(ExitCode::SUCCESS)
}

enum Found {
    Value(Name),
    Thunk(Box<Thunk>, Name),
}

fn find(store: &Store, target: &str) -> Result<Found> {
    if let Ok(r) = target.parse::<OutputRef>() {
        return load(store, &r.thunk, target);
    }
    if let Ok(n) = target.parse::<Name>() {
        return Ok(Found::Value(n));
    }
    let path = Path::new(target);
    if !path.exists() {
        bail!("`{target}` is neither a name nor an existing file");
    }
    if let Some(r) = placeholder::read(path)? {
        return load(store, &r.thunk, target);
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read `{target}`"))?;
    // A thunk file is JSON carrying the IR version key; other JSON files
    // (package.json…) are plain values.
    let thunk_like = bytes.trim_ascii_start().starts_with(b"{") && bytes.windows(5).any(|w| w == b"\"_gg\"");
    if thunk_like {
        let thunk = Thunk::decode(&bytes).with_context(|| format!("`{target}` is not a valid thunk file"))?;
        let name = thunk.name();
        return Ok(Found::Thunk(Box::new(thunk), name));
    }
    Ok(Found::Value(Name::of_value(&bytes)))
}

fn load(store: &Store, name: &Name, target: &str) -> Result<Found> {
    let thunk = store.get_thunk(name).with_context(|| format!("cannot describe `{target}`"))?;
    Ok(Found::Thunk(Box::new(thunk), *name))
}

fn describe(store: &Store, t: &Thunk, name: &Name) -> String {
    let mut s = String::new();
    let f = &t.function;
    let _ = writeln!(s, "thunk {name}");
    let _ = writeln!(s, "  function  {} ({})", f.hash, t.function_path());
    let _ = writeln!(s, "  args      {}", f.args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" "));
    for e in &f.envars {
        let _ = writeln!(s, "  envar     {e}");
    }
    let _ = writeln!(s, "  cwd       {}", if t.cwd.is_empty() { "(sandbox root)" } else { &t.cwd });
    let _ = writeln!(
        s,
        "  timeout   {}",
        if t.timeout == 0 { "engine default".to_string() } else { format!("{}s", t.timeout) }
    );
    for o in &t.values {
        let _ = writeln!(s, "  value     {} {}", o.path, o.hash);
    }
    for o in &t.executables {
        let _ = writeln!(s, "  exec      {} {}", o.path, o.hash);
    }
    for i in &t.thunks {
        let _ = writeln!(s, "  thunk     {} {}", i.path, i.output);
    }
    let reduction = store.reduction(name);
    for o in &t.outputs {
        let value = reduction.as_ref().and_then(|r| r.get(Some(o)));
        let _ = writeln!(s, "  output    {o} {}", value.map_or("(not forced yet)".to_string(), |v| v.to_string()));
    }
    s
}

/// Quotes an argument for display when the shell would split or expand it.
fn quote(a: &str) -> String {
    let plain = !a.is_empty() && a.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%^".contains(&b));
    if plain {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}
