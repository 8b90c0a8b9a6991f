//! `epollcheck run`: the suite on the running kernel, with a run record.

use crate::exec::RunConfig;
use crate::report::human::{failure_message, summary_line, table};
use crate::report::{CaseResult, RunRecord, Status};
use crate::suite::{self, Suite};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub const HELP: &str = "\
usage: epollcheck run [FILTER...] [options]
       epollcheck run --trace CASE

Runs every case (or those whose name contains a FILTER) on the running
kernel, each in its own process under its deadline, and writes a run record.

options:
  --out PATH          where to write the run record (default results/<kernel-release>.json)
  --jobs N            cases run at once (default: the number of CPUs)
  --exact             FILTERs must equal whole test names
  --include-skipped   run cases even when their requirements are not met
  --quiet             no progress line and no table, only the summary
  --format FMT        human (default), ktap, junit or json (the run record) on stdout
  --record-trace      keep every step's trace in the run record
  --trace CASE        run the one case file CASE (a path or a test name) and print
                      every step: the call as made, its raw result and timing
";

pub fn main(args: &[String]) -> Result<i32, String> {
    let p = super::parse("run", args, &["out", "jobs", "trace", "format"], &["exact", "include-skipped", "quiet", "record-trace"])?;
    let format = Format::parse(p.value("format"))?;
    let suite = Suite::locate()?;
    let mut cfg = RunConfig::new(&suite.root)?;
    cfg.check_requires = !p.flag("include-skipped");
    cfg.trace = p.flag("record-trace");
    if let Some(case) = p.value("trace") {
        if !p.pos.is_empty() {
            return Err("--trace takes one case; give it as --trace CASE without other filters".into());
        }
        return trace(&suite, cfg, case);
    }
    let items = suite::filter(suite::expand(&suite.files()?), &p.pos, p.flag("exact"));
    if items.is_empty() {
        return Err(format!("no test matches {:?} (see `epollcheck list`)", p.pos));
    }
    let jobs = p.number("jobs")?.map(|j| j as usize).unwrap_or_else(crate::probe::cpus).max(1);
    let kernel = crate::probe::kernel();
    let quiet = p.flag("quiet") || format != Format::Human;
    let started_at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let start = Instant::now();
    let total = items.len();
    let tty = std::io::stderr().is_terminal() && !quiet;
    eprintln!("epollcheck: {total} tests on Linux {} ({}, {} CPUs), {jobs} at a time", kernel.release, kernel.arch, kernel.cpus);
    let results = suite::run_all(&cfg, items, &kernel, jobs, &|n, r| progress(n, total, r, tty, quiet));
    if tty {
        eprint!("\r\x1b[2K");
    }
    let dur = start.elapsed().as_secs_f64() * 1e3;
    if !quiet {
        print!("{}", table(&results));
        print_failures(&results);
    }
    let record = RunRecord::new(kernel, results, dur, started_at);
    let out = p.value("out").map(PathBuf::from).unwrap_or_else(|| default_record_path(&record.kernel.release));
    save(&record, &out)?;
    let line = format!("{} in {:.1} s; run record: {}", summary_line(&record.summary), dur / 1e3, out.display());
    if format == Format::Human {
        println!("{line}");
    } else {
        eprintln!("{line}");
        print!("{}", format.render(&[(record.kernel.release.clone(), record.clone())])?);
    }
    Ok(exit_code(&record.results))
}

fn progress(n: usize, total: usize, r: &CaseResult, tty: bool, quiet: bool) {
    // Inside a matrix VM the host reads these lines off the console.
    if std::env::var("EPOLLCHECK_PROGRESS").is_ok_and(|v| v == "lines") {
        eprintln!("@@P {n}/{total} {} {}", r.status.name(), r.name);
    } else if tty {
        eprint!("\r\x1b[2K[{n:>4}/{total}] {:<7} {}", r.status.name(), r.name);
    } else if !quiet && !r.status.is_ok() {
        eprintln!("[{n:>4}/{total}] {:<7} {}", r.status.name(), r.name);
    }
}

fn print_failures(results: &[CaseResult]) {
    let bad: Vec<&CaseResult> = results.iter().filter(|r| !r.status.is_ok()).collect();
    if bad.is_empty() {
        return;
    }
    println!("\nfailures:");
    for r in bad {
        println!("\n---- {} ({}) ----\n{}", r.name, r.status, failure_message(r));
    }
    println!();
}

pub fn default_record_path(release: &str) -> PathBuf {
    let safe: String = release.chars().map(|c| if c == '/' { '_' } else { c }).collect();
    PathBuf::from("results").join(format!("{safe}.json"))
}

pub fn save(record: &RunRecord, out: &std::path::Path) -> Result<(), String> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let json = serde_json::to_string_pretty(record).map_err(|e| e.to_string())?;
    std::fs::write(out, json + "\n").map_err(|e| format!("cannot write {}: {e}", out.display()))
}

pub fn exit_code(results: &[CaseResult]) -> i32 {
    if results.iter().all(|r| r.status.is_ok()) { 0 } else { 1 }
}

fn trace(suite: &Suite, mut cfg: RunConfig, case: &str) -> Result<i32, String> {
    let all = suite::expand(&suite.files()?);
    let by_path: Vec<_> = all.iter().filter(|(i, _)| i.path.to_string_lossy() == case || suite.root.join(&i.path) == std::path::Path::new(case)).cloned().collect();
    let items = if by_path.is_empty() { suite::filter(all, &[case.to_string()], false) } else { by_path };
    let files: std::collections::BTreeSet<_> = items.iter().map(|(i, _)| i.path.clone()).collect();
    match files.len() {
        0 => return Err(format!("no case file matches `{case}` (see `epollcheck list`)")),
        1 => {}
        n => return Err(format!("`{case}` matches {n} case files; --trace takes one (give its path)")),
    }
    cfg.trace = true;
    let kernel = crate::probe::kernel();
    let mut worst = 0;
    for (inst, _) in items {
        let r = crate::exec::run_instance(&cfg, &inst, &kernel);
        print_trace(&r);
        if !r.status.is_ok() {
            worst = 1;
        }
    }
    Ok(worst)
}

pub fn print_trace(r: &CaseResult) {
    println!("== {} ({})", r.name, r.file);
    for e in r.trace.iter().flatten() {
        let iter = if e.iteration.is_empty() { String::new() } else { format!(" #{}", e.iteration.iter().map(|i| (i + 1).to_string()).collect::<Vec<_>>().join(".")) };
        println!("{:>9.3} ms {:>8.3} ms  {:<6} L{:<3}{iter}  {} = {}", e.start_us as f64 / 1e3, e.dur_us as f64 / 1e3, e.thread, e.line, e.call, e.result);
    }
    let status = r.status;
    println!("== {status}{}", if status == Status::Pass { String::new() } else { format!("\n{}", failure_message(r)) });
}

/// The machine-readable renderings of `run` and `matrix`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Ktap,
    Junit,
    Json,
}

impl Format {
    pub fn parse(v: Option<&str>) -> Result<Format, String> {
        Ok(match v {
            None | Some("human") => Format::Human,
            Some("ktap") => Format::Ktap,
            Some("junit") => Format::Junit,
            Some("json") => Format::Json,
            Some(f) => return Err(format!("--format {f}: expected human, ktap, junit or json")),
        })
    }

    /// One run (a single column) or several (a matrix).
    pub fn render(self, cols: &[(String, RunRecord)]) -> Result<String, String> {
        use crate::report::{junit, ktap};
        Ok(match (self, cols) {
            (Format::Ktap, [(_, one)]) => ktap::run_ktap(one),
            (Format::Ktap, many) => ktap::matrix_ktap(many),
            (Format::Junit, cols) => junit::to_junit(cols),
            (Format::Json, [(_, one)]) => serde_json::to_string_pretty(one).map_err(|e| e.to_string())? + "\n",
            (Format::Json, many) => serde_json::to_string_pretty(&crate::report::matrix::build(many.to_vec())).map_err(|e| e.to_string())? + "\n",
            (Format::Human, _) => String::new(),
        })
    }
}
