//! gg's core: the IR (names, thunks, placeholders), the content-addressed
//! store with its reductions cache, the local engine and the scheduler that
//! forces a graph of thunks.
//!
//! Nothing here knows about compilers or Ninja; those build thunks on top.

pub mod beneath;
pub mod config;
pub mod depfile;
mod encode;
pub mod engine;
pub mod env;
pub mod evict;
pub mod fsck;
pub mod fsutil;
pub mod fxhash;
pub mod home;
pub mod interrupt;
pub mod jail;
pub mod name;
pub mod placeholder;
pub mod process;
mod puts;
pub mod relpath;
pub mod sandbox;
pub mod scheduler;
pub mod shared;
pub mod store;
pub mod tally;
pub mod thunk;

pub use name::{Kind, Name, OutputRef};
pub use store::{Reduction, Store, StoreError};
pub use thunk::{Function, IrError, Object, Thunk, ThunkInput};
