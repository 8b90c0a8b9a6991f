//! Regressions and fixes between two runs, like the change lists kernel
//! CI dashboards mail out.

use super::record::RunRecord;
use super::status::Status;
use std::collections::BTreeMap;

#[derive(Debug, Default, PartialEq)]
pub struct Diff {
    /// Was ok (PASS, XFAIL, XPASS, SKIP), is not (FAIL, TIMEOUT, ERROR).
    pub regressions: Vec<(String, Status, Status, String)>,
    /// Was not ok, is ok.
    pub fixes: Vec<(String, Status, Status)>,
    /// Other status changes (PASS to SKIP, XFAIL to XPASS, FAIL to ERROR).
    pub changes: Vec<(String, Status, Status)>,
    pub added: Vec<(String, Status)>,
    pub removed: Vec<String>,
}

pub fn diff(old: &RunRecord, new: &RunRecord) -> Diff {
    let old_map: BTreeMap<&str, Status> = old.results.iter().map(|r| (r.name.as_str(), r.status)).collect();
    let mut d = Diff::default();
    for r in &new.results {
        match old_map.get(r.name.as_str()) {
            None => d.added.push((r.name.clone(), r.status)),
            Some(&was) if was == r.status => {}
            Some(&was) if was.is_ok() && !r.status.is_ok() => d.regressions.push((r.name.clone(), was, r.status, r.reason.clone().unwrap_or_default())),
            Some(&was) if !was.is_ok() && r.status.is_ok() => d.fixes.push((r.name.clone(), was, r.status)),
            Some(&was) => d.changes.push((r.name.clone(), was, r.status)),
        }
    }
    let new_names: std::collections::BTreeSet<&str> = new.results.iter().map(|r| r.name.as_str()).collect();
    d.removed = old.results.iter().filter(|r| !new_names.contains(r.name.as_str())).map(|r| r.name.clone()).collect();
    d
}

pub fn render(d: &Diff, old: &RunRecord, new: &RunRecord) -> String {
    let mut s = format!("epollcheck: {} ({}) -> {} ({})\n", old.kernel.release, super::timefmt::rfc3339(old.started_at), new.kernel.release, super::timefmt::rfc3339(new.started_at));
    if d.regressions.is_empty() && d.fixes.is_empty() && d.changes.is_empty() && d.added.is_empty() && d.removed.is_empty() {
        s.push_str("No changes.\n");
        return s;
    }
    s.push_str(&format!("{} regressions, {} fixes, {} other changes, {} new tests, {} removed\n", d.regressions.len(), d.fixes.len(), d.changes.len(), d.added.len(), d.removed.len()));
    if !d.regressions.is_empty() {
        s.push_str("\nRegressions:\n");
        for (n, a, b, why) in &d.regressions {
            s.push_str(&format!("  {n}: {a} -> {b}\n      {}\n", why.lines().next().unwrap_or("")));
        }
    }
    for (title, list) in [("Fixes", &d.fixes), ("Other changes", &d.changes)] {
        if !list.is_empty() {
            s.push_str(&format!("\n{title}:\n"));
            for (n, a, b) in list {
                s.push_str(&format!("  {n}: {a} -> {b}\n"));
            }
        }
    }
    if !d.added.is_empty() {
        s.push_str("\nNew tests:\n");
        for (n, st) in &d.added {
            s.push_str(&format!("  {n}: {st}\n"));
        }
    }
    if !d.removed.is_empty() {
        s.push_str("\nRemoved tests:\n");
        for n in &d.removed {
            s.push_str(&format!("  {n}\n"));
        }
    }
    s
}
