//! Statuses, run records and their renderings.

pub mod coverage;
pub mod human;
pub mod record;
pub mod status;

pub use record::{CaseResult, RunRecord};
pub use status::Status;
