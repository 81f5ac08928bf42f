//! `gg-cc`: the compiler wrapper. `gg-cc COMPILER ARGS…`, `gg-cc ARGS…`
//! (the `cc` on PATH), or a masquerade link named like the compiler.
//! Anything it cannot cache runs the real compiler unchanged.

use gg_wrapper::invoke;

fn main() {
    let argv: Vec<String> = match std::env::args_os().map(|a| a.into_string()).collect::<Result<_, _>>() {
        Ok(v) => v,
        Err(_) => {
            eprintln!("gg-cc: error: arguments that are not UTF-8 are not supported");
            std::process::exit(1);
        }
    };
    let inv = match invoke::resolve(&argv) {
        Ok(inv) => inv,
        Err(e) => {
            eprintln!("gg-cc: error: {e:#}");
            std::process::exit(1);
        }
    };
    if std::env::var_os("GG_DISABLE").is_some_and(|v| v == "1") {
        let e = gg_wrapper::exec_real(&inv);
        eprintln!("gg-cc: error: {e:#}");
        std::process::exit(1);
    }
    match gg_wrapper::run(&inv) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            // An internal error: fall back to the real compiler, unchanged.
            gg_wrapper::log::debug(&format!("internal error, running the compiler directly: {e:#}"));
            let e = gg_wrapper::exec_real(&inv);
            eprintln!("gg-cc: error: {e:#}");
            std::process::exit(1);
        }
    }
}
