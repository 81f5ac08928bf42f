//! `gg create-thunk`: build a thunk from flags, store it, print its name
//! and optionally write a placeholder for its first output.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use gg_core::{placeholder, Function, Object, OutputRef, Store, Thunk, ThunkInput};

use crate::spec;

#[derive(clap::Args, Debug)]
#[command(after_help = "OBJECT is `NAME=PATH` (a blob already in the store), `FILE` (stored, placed at the same \
relative path) or `FILE=PATH`. PATH is relative to the sandbox root. In ARGS and envar values, \
@@GG_ROOT@@ stands for the sandbox root at run time.\n\n\
Example:\n  gg create-thunk --function /usr/bin/gcc=bin/gcc --value hello.c --output hello.o \\\n    \
--envar PATH=/usr/bin --placeholder hello.o -- gcc -c hello.c -o hello.o")]
pub struct Args {
    /// The program to run (an OBJECT; it is added to the executables).
    #[arg(long, value_name = "OBJECT")]
    function: String,
    /// A data input.
    #[arg(long = "value", value_name = "OBJECT")]
    values: Vec<String>,
    /// An input placed with its executable bit set.
    #[arg(long = "executable", value_name = "OBJECT")]
    executables: Vec<String>,
    /// Another thunk's output as an input: `T…#OUTPUT=PATH` (or `T…=PATH` for its first output).
    #[arg(long = "thunk", value_name = "REF=PATH")]
    thunks: Vec<String>,
    /// A file the function writes, relative to the sandbox root; the first is the default output.
    #[arg(long = "output", value_name = "PATH", required = true)]
    outputs: Vec<String>,
    /// An environment variable; the function sees no others.
    #[arg(long = "envar", value_name = "NAME=VALUE")]
    envars: Vec<String>,
    /// Working directory, relative to the sandbox root.
    #[arg(long, value_name = "DIR", default_value = "")]
    cwd: String,
    /// Seconds before the function's process group is killed (0: the engine's default).
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    timeout: u64,
    /// Write a placeholder for the first output at this path.
    #[arg(long, value_name = "FILE")]
    placeholder: Option<PathBuf>,
    /// The whole argv, argv[0] included.
    #[arg(last = true, required = true, value_name = "ARGS")]
    args: Vec<String>,
}

pub fn run(store: &Store, a: Args) -> Result<ExitCode> {
    let (function_hash, function_path) = spec::object(store, "--function", &a.function)?;
    let values = objects(store, "--value", &a.values)?;
    let mut executables = objects(store, "--executable", &a.executables)?;
    if !executables.iter().any(|o| o.hash == function_hash && o.path == function_path) {
        executables.push(Object { hash: function_hash, path: function_path });
    }
    let mut thunks = Vec::new();
    for t in &a.thunks {
        let Some((r, path)) = t.split_once('=') else { bail!("--thunk `{t}`: expected `T…#OUTPUT=PATH`") };
        let output: OutputRef = r.parse().with_context(|| format!("--thunk `{t}`"))?;
        let producer = store.get_thunk(&output.thunk).with_context(|| format!("--thunk `{t}`"))?;
        if producer.output_index(output.output.as_deref()).is_none() {
            let declared = producer.outputs.join("`, `");
            bail!(
                "--thunk `{t}`: thunk `{}` has no output `{}` (it declares `{declared}`)",
                output.thunk,
                output.output.unwrap_or_default()
            );
        }
        thunks.push(ThunkInput { output, path: path.strip_prefix("./").unwrap_or(path).to_string() });
    }
    let cwd = match a.cwd.as_str() {
        "." | "./" => String::new(),
        c => c.trim_end_matches('/').to_string(),
    };
    let outputs = a.outputs.iter().map(|o| o.strip_prefix("./").unwrap_or(o).to_string()).collect();
    let function = Function { hash: function_hash, args: a.args, envars: a.envars };
    let thunk = Thunk::new(function, values, executables, thunks, outputs, cwd, a.timeout)?;
    let name = store.put_thunk(&thunk)?;
    if let Some(p) = &a.placeholder {
        placeholder::write(p, &OutputRef::first(name))?;
    }
    println!("{name}");
    Ok(ExitCode::SUCCESS)
}

fn objects(store: &Store, flag: &str, specs: &[String]) -> Result<Vec<Object>> {
    specs.iter().map(|s| spec::object(store, flag, s).map(|(hash, path)| Object { hash, path })).collect()
}
