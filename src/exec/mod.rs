//! Runs a case: the interpreter (in a child process per case) and the
//! parent-side runner that enforces deadlines.

pub mod child;
mod calls;
mod concurrency;
mod control;
mod extra;
pub mod failure;
mod fixtures;
mod interp;
mod io_ops;
pub mod limits;
pub mod outcome;
pub mod runner;
mod sources;
pub mod state;
pub mod tasks;
pub mod trace;

pub use child::run_if_child;
pub use runner::{RunConfig, run_instance};
pub use control::uniform_band;
