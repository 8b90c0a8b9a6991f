//! Statuses, run records and their renderings.

pub mod coverage;
pub mod diff;
pub mod html;
pub mod human;
pub mod junit;
pub mod kcidb;
pub mod ktap;
pub mod matrix;
pub mod record;
pub mod status;
pub mod timefmt;

pub use record::{CaseResult, RunRecord};
pub use status::Status;
