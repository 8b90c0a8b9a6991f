//! KTAP version 1 (Documentation/dev-tools/ktap.rst), as kselftest emits
//! it: a plan, one result line per test, `#` diagnostic lines before a
//! failing test's result, and directives SKIP, XFAIL, TIMEOUT and ERROR
//! (XPASS is not a KTAP directive; parsers fall back to `ok` for it).

use super::human::failure_message;
use super::record::{CaseResult, RunRecord};
use super::status::Status;

/// Descriptions and directive text may not contain `#`.
fn clean(s: &str) -> String {
    s.lines().next().unwrap_or("").replace('#', "no.")
}

fn result_line(n: usize, r: &CaseResult) -> String {
    let reason = clean(r.reason.as_deref().unwrap_or(""));
    let name = clean(&r.name);
    match r.status {
        Status::Pass => format!("ok {n} {name}"),
        Status::Skip => format!("ok {n} {name} # SKIP {reason}"),
        Status::Xfail => format!("ok {n} {name} # XFAIL {reason}"),
        Status::Xpass => format!("ok {n} {name} # XPASS {reason}"),
        Status::Fail => format!("not ok {n} {name}"),
        Status::Timeout => format!("not ok {n} {name} # TIMEOUT {reason}"),
        Status::Error => format!("not ok {n} {name} # ERROR {reason}"),
    }
}

/// One run as a KTAP document; nested subtests are indented by `indent`.
fn body(rec: &RunRecord, indent: &str, out: &mut String) {
    out.push_str(&format!("{indent}KTAP version 1\n"));
    out.push_str(&format!("{indent}# epollcheck {} on Linux {} ({}, {} CPUs, {})\n", rec.tool.version, rec.kernel.release, rec.kernel.arch, rec.kernel.cpus, rec.kernel.virt));
    out.push_str(&format!("{indent}1..{}\n", rec.results.len()));
    for (i, r) in rec.results.iter().enumerate() {
        if matches!(r.status, Status::Fail | Status::Error | Status::Timeout | Status::Xfail) {
            for line in failure_message(r).lines() {
                out.push_str(&format!("{indent}# {line}\n"));
            }
        }
        out.push_str(&format!("{indent}{}\n", result_line(i + 1, r)));
    }
    let s = &rec.summary;
    let get = |st: Status| s.get(&st).copied().unwrap_or(0);
    out.push_str(&format!(
        "{indent}# Totals: pass:{} fail:{} xfail:{} xpass:{} skip:{} error:{}\n",
        get(Status::Pass),
        get(Status::Fail),
        get(Status::Xfail),
        get(Status::Xpass),
        get(Status::Skip),
        get(Status::Error) + get(Status::Timeout)
    ));
}

pub fn run_ktap(rec: &RunRecord) -> String {
    let mut out = String::new();
    body(rec, "", &mut out);
    out
}

/// Several kernels: each is a subtest of the top-level document.
pub fn matrix_ktap(cols: &[(String, RunRecord)]) -> String {
    let mut out = format!("KTAP version 1\n1..{}\n", cols.len());
    for (i, (label, rec)) in cols.iter().enumerate() {
        out.push_str(&format!("    # Subtest: {}\n", clean(label)));
        body(rec, "    ", &mut out);
        let ok = rec.results.iter().all(|r| r.status.is_ok());
        out.push_str(&format!("{}ok {} {} ({})\n", if ok { "" } else { "not " }, i + 1, clean(label), clean(&rec.kernel.release)));
    }
    out
}
