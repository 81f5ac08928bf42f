//! The Lambda engine's function side: gg-worker as a custom runtime
//! (`bootstrap`) that runs one thunk or ready chain per invocation with
//! blobs in S3. The client that invokes it (`GG_ENGINE=lambda`) is in
//! gg-engines; the payload both read is in gg-wire. See docs/lambda.md.

pub mod function;
pub mod runtime;

use gg_wire::aws::ProcessEnv;

/// The custom runtime's main loop: configuration from the environment
/// (a bad one is reported to the Runtime API's init error endpoint), then
/// invocations until the Runtime API goes away.
pub fn serve_from_env() -> Result<(), String> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API")
        .map_err(|_| "AWS_LAMBDA_RUNTIME_API is not set: `gg-worker lambda` runs inside Lambda (or an emulator)")?;
    let rt = runtime::Runtime::new(&api);
    let function = function::Settings::from_env(&ProcessEnv).and_then(function::Function::new);
    let function = match function {
        Ok(f) => f,
        Err(e) => {
            let _ = rt.init_failed(&runtime::FunctionError::new("gg.Config", e.clone()));
            return Err(e);
        }
    };
    let s = function.settings();
    eprintln!(
        "gg-worker lambda: ready: runtime API {api}, scratch {}, store limit {} bytes",
        s.scratch.display(),
        s.store_limit
    );
    runtime::serve(&rt, &|req| function.handle(&req.id, &req.payload, req.deadline))
}
