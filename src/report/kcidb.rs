//! Run records as KernelCI KCIDB I/O data (schema v5.3): one checkout and
//! one build per kernel, one test per case instance.

use super::human::failure_message;
use super::record::RunRecord;
use super::status::Status;
use serde_json::{Value, json};

pub const ORIGIN: &str = "epollcheck";

/// KCIDB ids may hold anything after `origin:`; paths only letters,
/// digits, `_` and `-` between dots.
fn path_part(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

pub fn kcidb_status(s: Status) -> &'static str {
    match s {
        Status::Pass | Status::Xfail | Status::Xpass => "PASS",
        Status::Fail => "FAIL",
        Status::Timeout | Status::Error => "ERROR",
        Status::Skip => "SKIP",
    }
}

pub fn to_kcidb(records: &[RunRecord]) -> Value {
    let mut checkouts = Vec::new();
    let mut builds = Vec::new();
    let mut tests = Vec::new();
    for rec in records {
        let k = &rec.kernel;
        let key = format!("{}-{}", path_part(&k.release), rec.started_at);
        let checkout_id = format!("{ORIGIN}:{key}");
        let build_id = format!("{ORIGIN}:{key}:build");
        let start = super::timefmt::rfc3339(rec.started_at);
        let pkg = rec.meta.get("package").cloned().unwrap_or_default();
        checkouts.push(json!({
            "id": checkout_id, "origin": ORIGIN, "start_time": start, "valid": true,
            "tree_name": if pkg.is_empty() { "unknown" } else { "debian" },
            "comment": format!("Linux {} ({})", k.release, k.version),
            "misc": {"package": pkg, "package_version": rec.meta.get("package_version"), "source_url": rec.meta.get("source_url"), "distro": rec.distro},
        }));
        builds.push(json!({
            "id": build_id, "checkout_id": checkout_id, "origin": ORIGIN, "architecture": k.arch,
            "start_time": start, "status": "PASS",
            "comment": format!("kernel {} as booted by epollcheck", k.release),
        }));
        for (i, r) in rec.results.iter().enumerate() {
            let path = format!("epollcheck.{}", r.name.split("::").map(path_part).collect::<Vec<_>>().join("."));
            let mut t = json!({
                "id": format!("{ORIGIN}:{key}:{i}:{}", r.name),
                "build_id": build_id, "origin": ORIGIN, "path": path,
                "status": kcidb_status(r.status),
                "comment": r.title,
                "start_time": start,
                "duration": r.duration_ms / 1e3,
                "environment": {
                    "comment": format!("{} on {}, {} CPUs", k.virt, k.arch, k.cpus),
                    "misc": {"virt": k.virt, "cpus": k.cpus, "accel": rec.meta.get("accel")},
                },
                "misc": {"epollcheck_status": r.status.name(), "file": r.file, "reason": r.reason},
            });
            if !matches!(r.status, Status::Pass | Status::Skip) {
                let mut excerpt = failure_message(r);
                excerpt.truncate(16_000);
                t["log_excerpt"] = Value::String(excerpt);
            }
            tests.push(t);
        }
    }
    json!({"version": {"major": 5, "minor": 3}, "checkouts": checkouts, "builds": builds, "tests": tests})
}
