//! `gg-cc`: the compiler wrapper. `gg-cc COMPILER ARGS…`, `gg-cc ARGS…`
//! (the `cc` on PATH), or a masquerade link named like the compiler.
//! Anything it cannot cache runs the real compiler unchanged.

use gg_wrapper::invoke;

fn main() {
    let argv_os: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let utf8 = argv_os.iter().all(|a| a.to_str().is_some());
    let argv: Vec<String> = argv_os.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let inv = match invoke::resolve(&argv) {
        Ok(inv) => inv,
        Err(e) => {
            eprintln!("gg-cc: error: {e:#}");
            std::process::exit(1);
        }
    };
    if !utf8 {
        // gg cannot hash what it cannot read as text: run the compiler
        // with the arguments exactly as given.
        use std::os::unix::process::CommandExt;
        let tail = &argv_os[argv_os.len() - inv.args.len()..];
        let e = std::process::Command::new(&inv.compiler).arg0(&inv.arg0).args(tail).exec();
        eprintln!("gg-cc: error: cannot run `{}`: {e}", inv.compiler.display());
        std::process::exit(1);
    }
    if gg_core::env::disable() {
        let e = gg_wrapper::exec_real(&inv);
        eprintln!("gg-cc: error: {e:#}");
        std::process::exit(1);
    }
    gg_engines::shared::register();
    let engine = |store: &gg_core::Store| -> anyhow::Result<Option<Box<dyn gg_core::engine::Executor>>> {
        Ok(match gg_engines::engine::Engine::from_env(store)? {
            gg_engines::engine::Engine::Local(_) => None,
            gg_engines::engine::Engine::Remote(r) => Some(Box::new(r) as Box<dyn gg_core::engine::Executor>),
            gg_engines::engine::Engine::Lambda(l) => Some(l as Box<dyn gg_core::engine::Executor>),
        })
    };
    match gg_wrapper::run(&inv, &engine) {
        Ok(code) => std::process::exit(code),
        Err(e) if gg_wrapper::ran::already() => {
            // The compiler already ran (or a hit was served): running it
            // again would repeat its messages, or a failed compile.
            eprintln!("gg-cc: error: {e:#}");
            std::process::exit(1);
        }
        Err(e) => {
            // An internal error: fall back to the real compiler, unchanged.
            gg_wrapper::log::debug(&format!("internal error, running the compiler directly: {e:#}"));
            let e = gg_wrapper::exec_real(&inv);
            eprintln!("gg-cc: error: {e:#}");
            std::process::exit(1);
        }
    }
}
