//! epollcheck: a data-driven conformance suite for Linux epoll.
//!
//! Case files under `cases/` state one documented behaviour each; the
//! interpreter in [`exec`] runs a case against the running kernel in its own
//! child process, and [`report`] records verdicts per kernel release.

#![deny(unsafe_code)]

pub mod case;
pub mod names;
pub mod exec;
pub mod export;
pub mod probe;
pub mod report;
pub mod sys;
pub mod suite;
pub mod trials;
pub mod cli;
pub mod vm;
