//! The seven statuses a case can end with, and how a child's verdict plus
//! the case's known-bad kernel ranges become one of them.

use crate::case::header::{Header, KVersion};
use crate::exec::child::Verdict;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// The kernel behaves as documented.
    Pass,
    /// The kernel does not behave as documented.
    Fail,
    /// It fails on a kernel the case names as known-bad.
    Xfail,
    /// It passes on a kernel the case names as known-bad: a fix was
    /// probably backported.
    Xpass,
    /// Not run here, with the reason (a missing feature, root, CPUs).
    Skip,
    /// The case did not finish within its deadline and was killed.
    Timeout,
    /// A fixture failed, the case file is broken, or the case process
    /// crashed: no verdict on epoll.
    Error,
}

pub const ALL: [Status; 7] = [Status::Pass, Status::Fail, Status::Xfail, Status::Xpass, Status::Skip, Status::Timeout, Status::Error];

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Xfail => "XFAIL",
            Status::Xpass => "XPASS",
            Status::Skip => "SKIP",
            Status::Timeout => "TIMEOUT",
            Status::Error => "ERROR",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        ALL.into_iter().find(|st| st.name().eq_ignore_ascii_case(s))
    }

    /// Whether a run with this status is acceptable (a test "passes").
    pub fn is_ok(self) -> bool {
        matches!(self, Status::Pass | Status::Xfail | Status::Xpass | Status::Skip)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Maps a child's verdict through the case's `xfail:` ranges for kernel `k`.
/// Returns the status and, for XFAIL/XPASS, the reason.
pub fn finalize(verdict: Verdict, header: &Header, k: Option<KVersion>) -> (Status, Option<String>) {
    let known = k.and_then(|k| header.xfail.iter().find(|x| x.ranges.iter().any(|r| r.contains(k))));
    let ranges = |x: &crate::case::header::XFail| x.ranges.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(", ");
    match (verdict, known) {
        (Verdict::Pass, None) => (Status::Pass, None),
        (Verdict::Pass, Some(x)) => (
            Status::Xpass,
            Some(format!("passes although {} is listed as known-bad ({}): a fix was probably backported", ranges(x), x.reason)),
        ),
        (Verdict::Fail, Some(x)) => (Status::Xfail, Some(format!("known-bad on {}: {}", ranges(x), x.reason))),
        (Verdict::Fail, None) => (Status::Fail, None),
        (Verdict::Error, _) => (Status::Error, None),
        (Verdict::Skip, _) => (Status::Skip, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::header::{KRange, XFail};

    fn header_with_xfail() -> Header {
        let h = crate::case::discover::header_of(std::path::Path::new("t.ept"), "# title: t\n# man: x(2)\n").unwrap();
        Header {
            xfail: vec![XFail {
                ranges: vec![KRange { from: Some(KVersion(5, 5, 0)), to: Some(KVersion(5, 10, 56)) }],
                reason: "pipe writes do not wake readers".into(),
            }],
            ..h
        }
    }

    #[test]
    fn xfail_ranges_turn_fail_into_xfail_and_pass_into_xpass() {
        let h = header_with_xfail();
        let inside = Some(KVersion(5, 10, 0));
        let outside = Some(KVersion(6, 1, 0));
        assert_eq!(finalize(Verdict::Fail, &h, inside).0, Status::Xfail);
        assert_eq!(finalize(Verdict::Pass, &h, inside).0, Status::Xpass);
        assert_eq!(finalize(Verdict::Fail, &h, outside), (Status::Fail, None));
        assert_eq!(finalize(Verdict::Pass, &h, outside), (Status::Pass, None));
        assert_eq!(finalize(Verdict::Error, &h, inside).0, Status::Error);
        assert_eq!(finalize(Verdict::Skip, &h, inside).0, Status::Skip);
        assert_eq!(finalize(Verdict::Fail, &h, None).0, Status::Fail);
    }

    #[test]
    fn only_failures_are_not_ok() {
        let bad: Vec<Status> = ALL.into_iter().filter(|s| !s.is_ok()).collect();
        assert_eq!(bad, vec![Status::Fail, Status::Timeout, Status::Error]);
        assert_eq!(Status::parse("xpass"), Some(Status::Xpass));
        assert_eq!(serde_json::to_string(&Status::Xfail).unwrap(), "\"XFAIL\"");
    }
}
