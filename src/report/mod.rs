//! Statuses, run records and their renderings.

pub mod coverage;
pub mod html;
pub mod human;
pub mod matrix;
pub mod record;
pub mod status;

pub use record::{CaseResult, RunRecord};
pub use status::Status;
