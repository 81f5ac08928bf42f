//! The Lambda engine: gg-worker as a custom runtime (`bootstrap`) that
//! runs one thunk or ready chain per invocation with blobs in S3, and the
//! client engine (`GG_ENGINE=lambda`) that invokes it through the Invoke
//! API. See docs/lambda.md.

pub mod blobs;
pub mod client;
pub mod fanout;
pub mod function;
pub mod invoke;
pub mod payload;
pub mod runtime;

use crate::aws::ProcessEnv;

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
    runtime::serve(&rt, &|req| function.handle(&req.payload, req.deadline))
}
