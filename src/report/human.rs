//! Plain-text renderings: a failure message, a result table, a summary.

use super::record::CaseResult;
use super::status::{ALL, Status};
use std::collections::BTreeMap;

/// The message a failing case shows: the step, expected vs observed, hints.
pub fn failure_message(r: &CaseResult) -> String {
    let mut s = String::new();
    match (&r.failure, r.status) {
        (Some(f), Status::Fail | Status::Error | Status::Xfail) => s.push_str(&f.to_string()),
        _ => s.push_str(r.reason.as_deref().unwrap_or("")),
    }
    if let (Some(reason), Status::Xfail | Status::Timeout) = (&r.reason, r.status) {
        if r.failure.is_some() || r.status == Status::Xfail {
            s.push_str(&format!("\n    {}: {reason}", r.status));
        }
    }
    for h in &r.hints {
        s.push_str(&format!("\n    hint: {h}"));
    }
    for n in &r.notes {
        s.push_str(&format!("\n    note: {n}"));
    }
    if let Some(e) = &r.stderr {
        let tail: Vec<&str> = e.lines().rev().take(20).collect();
        s.push_str("\n    stderr:");
        for l in tail.into_iter().rev() {
            s.push_str(&format!("\n      {l}"));
        }
    }
    s
}

/// One line per case: status, name, time and the reason where there is one.
pub fn table(results: &[CaseResult]) -> String {
    let width = results.iter().map(|r| r.name.len()).max().unwrap_or(4).min(60);
    let mut out = String::new();
    for r in results {
        let reason = match r.status {
            Status::Pass => String::new(),
            _ => r.reason.clone().unwrap_or_default(),
        };
        let reason = reason.lines().next().unwrap_or("").to_string();
        out.push_str(format!("{:<7} {:<width$} {:>8.1} ms  {}\n", r.status.name(), r.name, r.duration_ms, reason).trim_end());
        out.push('\n');
    }
    out
}

pub fn summary_line(summary: &BTreeMap<Status, usize>) -> String {
    ALL.iter()
        .filter_map(|s| summary.get(s).filter(|n| **n > 0).map(|n| format!("{n} {}", s.name())))
        .collect::<Vec<_>>()
        .join(", ")
}
