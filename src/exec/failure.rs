//! Why a case did not pass: the step, what was expected, what happened.

use serde::{Deserialize, Serialize};
use std::fmt;

/// FAIL is a verdict on epoll; ERROR means a fixture broke (or the case is
/// wrong) and says nothing about epoll.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailKind {
    Fail,
    Error,
    /// The case found mid-run that it cannot run here (e.g. EPERM for want
    /// of a capability that no probe could see).
    Skip,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: FailKind,
    /// `cases/oneshot/disarm.ept`.
    pub path: String,
    pub line: u32,
    /// The step as written.
    pub step: String,
    pub thread: String,
    /// `iteration 3 of 200`, innermost last, when inside repeats.
    pub iteration: Vec<String>,
    pub expected: String,
    pub observed: String,
    /// Extra explanation (a check's numbers, a thread's state).
    pub detail: Option<String>,
}

impl Failure {
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            FailKind::Fail => "FAIL",
            FailKind::Error => "ERROR",
            FailKind::Skip => "SKIP",
        }
    }

    /// `path:line: step`, the first line of every failure message.
    pub fn headline(&self) -> String {
        format!("{}:{}: {}", self.path, self.line, self.step)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.headline())?;
        writeln!(f, "    expected: {}", self.expected)?;
        write!(f, "    observed: {}", self.observed)?;
        if let Some(d) = &self.detail {
            for line in d.lines() {
                write!(f, "\n    {line}")?;
            }
        }
        if self.thread != "main" || !self.iteration.is_empty() {
            let mut place = format!("thread {}", self.thread);
            for it in &self.iteration {
                place.push_str(", ");
                place.push_str(it);
            }
            write!(f, "\n    where: {place}")?;
        }
        Ok(())
    }
}
