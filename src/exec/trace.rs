//! The step trace: every call with its raw arguments, result and timing,
//! kept when `--trace` or `repro` asks for it.

use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Instant;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEntry {
    pub thread: String,
    pub line: u32,
    /// The step as written in the case.
    pub step: String,
    /// The call as made, e.g. `epoll_ctl(3, EPOLL_CTL_ADD, 5, {EPOLLIN, data=7})`.
    pub call: String,
    /// The result, e.g. `0`, `-1 EINVAL`, `1 event: p.r EPOLLIN data=5`.
    pub result: String,
    /// Microseconds since the case started.
    pub start_us: u64,
    pub dur_us: u64,
    /// Repeat iterations enclosing the step, outermost first.
    pub iteration: Vec<u64>,
}

/// A loop of a million iterations must not exhaust memory: the trace keeps
/// the first entries and counts the rest.
const MAX_ENTRIES: usize = 200_000;

pub struct Trace {
    enabled: bool,
    start: Instant,
    entries: Mutex<Vec<TraceEntry>>,
    dropped: Mutex<u64>,
}

impl Trace {
    pub fn new(enabled: bool) -> Trace {
        Trace { enabled, start: Instant::now(), entries: Mutex::default(), dropped: Mutex::default() }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn micros_since_start(&self, t: Instant) -> u64 {
        t.duration_since(self.start).as_micros() as u64
    }

    pub fn push(&self, e: TraceEntry) {
        let mut v = super::state::lock(&self.entries);
        if v.len() < MAX_ENTRIES {
            v.push(e);
        } else {
            *super::state::lock(&self.dropped) += 1;
        }
    }

    pub fn take(&self) -> (Vec<TraceEntry>, u64) {
        (std::mem::take(&mut *super::state::lock(&self.entries)), *super::state::lock(&self.dropped))
    }
}
