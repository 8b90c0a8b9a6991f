//! `epollcheck soak`: the suite again and again, reporting every status
//! that ever differed from the first run. A flake is any such difference.

use crate::exec::RunConfig;
use crate::report::Status;
use crate::suite::{self, Suite};
use std::collections::BTreeMap;
use std::time::Instant;

pub const HELP: &str = "\
usage: epollcheck soak [FILTER...] [--runs N] [--jobs N] [--exact] [--out PATH]

Runs the suite (or the matching cases) N times (default 20) and reports, for
every test whose status ever differed from its first run, how often it got
each status. Writes a JSON summary with --out. Exit status 1 when anything
flaked or failed. --exact: FILTERs must equal whole test names.
";

pub fn main(args: &[String]) -> Result<i32, String> {
    let p = super::parse("soak", args, &["runs", "jobs", "out"], &["exact"])?;
    let suite = Suite::locate()?;
    let cfg = RunConfig::new(&suite.root)?;
    let runs = p.number("runs")?.unwrap_or(20).max(1);
    let jobs = p.number("jobs")?.map(|j| j as usize).unwrap_or_else(crate::probe::cpus).max(1);
    let items = suite::filter(suite::expand(&suite.files()?), &p.pos, p.flag("exact"));
    if items.is_empty() {
        return Err(format!("no test matches {:?}", p.pos));
    }
    let kernel = crate::probe::kernel();
    let mut seen: BTreeMap<String, BTreeMap<Status, u64>> = BTreeMap::new();
    let mut first: BTreeMap<String, Status> = BTreeMap::new();
    let mut walls = Vec::new();
    for run in 1..=runs {
        let t = Instant::now();
        let results = suite::run_all(&cfg, items.clone(), &kernel, jobs, &|_, _| {});
        walls.push(t.elapsed().as_secs_f64());
        let mut changed = 0;
        for r in &results {
            *seen.entry(r.name.clone()).or_default().entry(r.status).or_insert(0) += 1;
            let f = *first.entry(r.name.clone()).or_insert(r.status);
            if f != r.status {
                changed += 1;
                eprintln!("run {run}: {} was {f}, now {}: {}", r.name, r.status, r.reason.clone().unwrap_or_default());
            }
        }
        eprintln!("run {run}/{runs}: {} tests in {:.2} s, {changed} differing from run 1", results.len(), walls.last().unwrap_or(&0.0));
    }
    let flaky: Vec<(&String, &BTreeMap<Status, u64>)> = seen.iter().filter(|(_, m)| m.len() > 1).collect();
    let failing: Vec<&String> = first.iter().filter(|(_, s)| !s.is_ok()).map(|(n, _)| n).collect();
    let mean = walls.iter().sum::<f64>() / walls.len() as f64;
    let max = walls.iter().cloned().fold(0.0, f64::max);
    println!("{runs} runs of {} tests on {}: {} flaky, {} not ok; wall per run mean {mean:.2} s, max {max:.2} s", items.len(), kernel.release, flaky.len(), failing.len());
    for (name, m) in &flaky {
        let counts: Vec<String> = m.iter().map(|(s, n)| format!("{s} x{n}")).collect();
        println!("  FLAKY {name}: {}", counts.join(", "));
    }
    if let Some(out) = p.value("out") {
        let json = serde_json::json!({
            "kernel": kernel.release, "runs": runs, "tests": items.len(),
            "wall_seconds": walls, "flaky": flaky.iter().map(|(n, m)| (n.to_string(), m.iter().map(|(s, c)| (s.name(), *c)).collect::<BTreeMap<_, _>>())).collect::<BTreeMap<_, _>>(),
            "not_ok": failing,
        });
        std::fs::write(out, serde_json::to_string_pretty(&json).map_err(|e| e.to_string())? + "\n").map_err(|e| format!("cannot write {out}: {e}"))?;
    }
    Ok(if flaky.is_empty() && failing.is_empty() { 0 } else { 1 })
}
