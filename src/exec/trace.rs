//! The step trace: every call with its raw arguments, result and timing,
//! kept when `--trace` or `repro` asks for it.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
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

/// Opens the journal at fd 1000 or above: a traced run must hand the case
/// the same fd numbers as a plain one (the fd table is part of what a
/// case observes), and the low numbers are the case's.
fn open_out_of_the_way(path: &Path) -> Option<std::fs::File> {
    use std::os::fd::AsRawFd;
    let file = std::fs::OpenOptions::new().append(true).open(path).ok()?;
    let high = crate::sys::io::fcntl_int(file.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 1000).ok()?;
    Some(std::fs::File::from(crate::sys::io::own(high as i32)))
}

/// A loop of a million iterations must not exhaust memory: the trace keeps
/// the first entries and counts the rest.
const MAX_ENTRIES: usize = 200_000;

pub struct Trace {
    enabled: bool,
    start: Instant,
    entries: Mutex<Vec<TraceEntry>>,
    dropped: Mutex<u64>,
    /// A copy of every entry as a JSON line, written as the step returns:
    /// a case killed at its deadline never reports, and this is how the
    /// steps before the hang still reach the user. No lock guards it (a
    /// fork child would inherit a held one): each entry is one write to
    /// a file opened with O_APPEND.
    journal: Option<std::fs::File>,
}

impl Trace {
    pub fn new(enabled: bool) -> Trace {
        Trace { enabled, start: Instant::now(), entries: Mutex::default(), dropped: Mutex::default(), journal: None }
    }

    /// Also appends every entry to the file at `path` (made by the runner).
    pub fn journal_to(mut self, path: Option<&Path>) -> Trace {
        self.journal = path.and_then(open_out_of_the_way);
        self
    }

    /// The entries a journal holds, in the order they were written.
    pub fn read_journal(path: &Path) -> Vec<TraceEntry> {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn micros_since_start(&self, t: Instant) -> u64 {
        t.duration_since(self.start).as_micros() as u64
    }

    pub fn push(&self, e: TraceEntry) {
        self.keep(e, true);
    }

    /// An entry a fork child made: it wrote the journal line itself.
    pub fn push_merged(&self, e: TraceEntry) {
        self.keep(e, false);
    }

    fn keep(&self, e: TraceEntry, journal: bool) {
        let mut v = super::state::lock(&self.entries);
        if v.len() < MAX_ENTRIES {
            if let (true, Some(mut file)) = (journal, self.journal.as_ref()) {
                if let Ok(mut line) = serde_json::to_vec(&e) {
                    line.push(b'\n');
                    let _ = file.write_all(&line);
                }
            }
            v.push(e);
        } else {
            *super::state::lock(&self.dropped) += 1;
        }
    }

    pub fn take(&self) -> (Vec<TraceEntry>, u64) {
        (std::mem::take(&mut *super::state::lock(&self.entries)), *super::state::lock(&self.dropped))
    }
}
