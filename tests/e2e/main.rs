//! End-to-end tests of the `gg` binary: real processes, a real compiler,
//! a store in a temp folder per test.

mod bad_input;
mod compile;
mod config;
mod debian;
mod evict;
mod example;
mod gg_cc;
mod hermetic;
mod jail;
mod killed;
mod lambda;
mod lambda_doc;
mod lambda_faults;
mod link;
mod ninja;
mod projects;
mod remote;
mod sandbox;
mod shared_cache;
mod store;
mod store_faults;
mod support;
mod thunk_function;
mod worker;
