//! The case language: files under `cases/` parsed into a model with spans.
//! See `docs/case-format.md` for the language itself.

mod args;
#[cfg(test)]
mod bad_cases;
pub mod discover;
pub mod error;
pub mod fuzz;
mod expect;
pub mod header;
mod lex;
pub mod model;
pub mod parse;
mod validate;
mod variants;
pub mod verbs;

pub use discover::{Instance, instances, load};
pub use error::{CaseError, Span};
pub use header::{Header, KVersion, Probe};
pub use model::Case;
pub use parse::parse_case;
