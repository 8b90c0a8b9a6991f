//! The run record: one JSON file per run on one kernel, holding every
//! case's status and why. Its schema is versioned; see docs/run-record.md.

use super::status::{ALL, Status};
use crate::exec::failure::Failure;
use crate::exec::trace::TraceEntry;
use crate::probe::KernelInfo;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped on any incompatible change to the record's shape.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CaseResult {
    /// `oneshot::disarm` (with `::variant` suffixes).
    pub name: String,
    /// `cases/oneshot/disarm.ept`.
    pub file: String,
    pub title: String,
    pub status: Status,
    /// Why: the SKIP reason, the XFAIL range, the failing step's headline.
    pub reason: Option<String>,
    pub duration_ms: f64,
    pub failure: Option<Failure>,
    /// `fixed by ...` / `introduced by ...` commit hints.
    #[serde(default)]
    pub hints: Vec<String>,
    /// Lines from the case's `report` steps and statistical checks.
    #[serde(default)]
    pub notes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<Vec<TraceEntry>>,
    /// Standard error of the case process, when it said anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
}

impl CaseResult {
    /// A result with a status and its reason and nothing else: no time,
    /// no failing step (the case never ran, or a test builds a record).
    pub fn bare(name: &str, file: &str, title: &str, status: Status, reason: Option<String>) -> CaseResult {
        CaseResult {
            name: name.to_string(),
            file: file.to_string(),
            title: title.to_string(),
            status,
            reason,
            duration_ms: 0.0,
            failure: None,
            hints: vec![],
            notes: vec![],
            trace: None,
            stderr: None,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    pub schema_version: u32,
    pub tool: Tool,
    /// Seconds since the Unix epoch when the run started.
    pub started_at: u64,
    pub kernel: KernelInfo,
    /// `PRETTY_NAME` of /etc/os-release, where the run happened.
    pub distro: Option<String>,
    pub uid: u32,
    /// Free-form facts about the run (for VM runs: the kernel package,
    /// boot and suite times).
    #[serde(default)]
    pub meta: BTreeMap<String, String>,
    pub duration_ms: f64,
    pub summary: BTreeMap<Status, usize>,
    pub results: Vec<CaseResult>,
}

pub fn summarize(results: &[CaseResult]) -> BTreeMap<Status, usize> {
    let mut m: BTreeMap<Status, usize> = ALL.iter().map(|s| (*s, 0)).collect();
    for r in results {
        *m.entry(r.status).or_insert(0) += 1;
    }
    m
}

pub fn distro() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=")).map(|v| v.trim_matches('"').to_string())
}

impl RunRecord {
    pub fn new(kernel: KernelInfo, results: Vec<CaseResult>, duration_ms: f64, started_at: u64) -> RunRecord {
        RunRecord {
            schema_version: SCHEMA_VERSION,
            tool: Tool { name: "epollcheck".into(), version: env!("CARGO_PKG_VERSION").into() },
            started_at,
            kernel,
            distro: distro(),
            uid: nix::unistd::getuid().as_raw(),
            meta: BTreeMap::new(),
            duration_ms,
            summary: summarize(&results),
            results,
        }
    }

    pub fn load(path: &std::path::Path) -> Result<RunRecord, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let rec: RunRecord = serde_json::from_str(&text).map_err(|e| format!("{} is not a run record: {e}", path.display()))?;
        if rec.schema_version != SCHEMA_VERSION {
            return Err(format!("{} has schema version {}; this epollcheck reads version {SCHEMA_VERSION}", path.display(), rec.schema_version));
        }
        Ok(rec)
    }
}
