//! `epollcheck repro`: one case again and again, in fresh processes, with a
//! live tally; stops at the first failure when asked and prints that run's
//! full step trace.

use crate::exec::RunConfig;
use crate::report::human::failure_message;
use crate::report::{CaseResult, Status};
use crate::suite::{self, Suite};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

pub const HELP: &str = "\
usage: epollcheck repro CASE [--repeat N | --until-fail | --for DURATION] [--variant LABEL]

Runs one case (a file path or a test name) again and again, each time in a
fresh process with every step traced, and shows a live count of outcomes.
  --repeat N       N runs (default 20)
  --until-fail     stop at the first FAIL, TIMEOUT or ERROR (at most --repeat
                   runs if given, else 100000) and print that run's trace
  --for DURATION   keep going for a time budget (30s, 5min)
  --variant LABEL  which variant, when the case has several (default: all)
Exit status 1 when any run was FAIL, TIMEOUT or ERROR.
";

pub fn main(args: &[String]) -> Result<i32, String> {
    let p = super::parse("repro", args, &["repeat", "for", "variant"], &["until-fail"])?;
    let [case] = p.pos.as_slice() else { return Err("repro takes one case: epollcheck repro CASE".into()) };
    let suite = Suite::locate()?;
    let mut cfg = RunConfig::new(&suite.root)?;
    cfg.trace = true;
    let items = one_case(&suite, case, p.value("variant"))?;
    let until_fail = p.flag("until-fail");
    let budget = match p.value("for") {
        Some(d) => Some(crate::case::parse::parse_duration(d).ok_or_else(|| format!("--for {d}: expected a duration such as 30s or 5min"))?),
        None => None,
    };
    let max = p.number("repeat")?.unwrap_or(if until_fail || budget.is_some() { 100_000 } else { 20 });
    let kernel = crate::probe::kernel();
    let tty = std::io::stderr().is_terminal();
    let start = Instant::now();
    let mut tally: BTreeMap<Status, u64> = BTreeMap::new();
    let mut first_bad: Option<(u64, CaseResult)> = None;
    let mut runs = 0u64;
    'outer: while runs < max && budget.is_none_or(|b| start.elapsed() < b) {
        for (inst, _) in &items {
            let r = crate::exec::run_instance(&cfg, inst, &kernel);
            runs += 1;
            *tally.entry(r.status).or_insert(0) += 1;
            show(&tally, runs, start.elapsed(), tty);
            if !r.status.is_ok() && first_bad.is_none() {
                first_bad = Some((runs, r));
                if until_fail {
                    break 'outer;
                }
            }
        }
    }
    if tty {
        eprintln!();
    }
    println!("{} runs of {} in {:.1} s on {}: {}", runs, case, start.elapsed().as_secs_f64(), kernel.release, counts(&tally));
    match first_bad {
        Some((n, r)) => {
            println!("\nrun {n} was {}:\n{}\n\nits trace:", r.status, failure_message(&r));
            super::run::print_trace(&r);
            Ok(1)
        }
        None => Ok(0),
    }
}

fn counts(t: &BTreeMap<Status, u64>) -> String {
    t.iter().map(|(s, n)| format!("{s} x{n}")).collect::<Vec<_>>().join(", ")
}

fn show(t: &BTreeMap<Status, u64>, runs: u64, el: Duration, tty: bool) {
    if tty {
        eprint!("\r\x1b[2K[{runs} runs, {:.1} s] {}", el.as_secs_f64(), counts(t));
    } else if runs.is_power_of_two() {
        eprintln!("[{runs} runs, {:.1} s] {}", el.as_secs_f64(), counts(t));
    }
}

/// The instances of the one case file `case` names (path or test name).
pub fn one_case(suite: &Suite, case: &str, variant: Option<&str>) -> Result<Vec<(crate::case::Instance, Option<crate::case::Header>)>, String> {
    let all = suite::expand(&suite.files()?);
    let by_file: Vec<_> = all.iter().filter(|(i, _)| i.path.to_string_lossy() == case.trim_start_matches("./")).cloned().collect();
    let items = if !by_file.is_empty() {
        by_file
    } else {
        let exact: Vec<_> = all.iter().filter(|(i, _)| i.name == case).cloned().collect();
        if !exact.is_empty() { exact } else { all.iter().filter(|(i, _)| i.name.starts_with(&format!("{case}::"))).cloned().collect() }
    };
    if items.is_empty() {
        return Err(format!("no case file or test named `{case}` (see `epollcheck list`)"));
    }
    let files: std::collections::BTreeSet<_> = items.iter().map(|(i, _)| i.path.clone()).collect();
    if files.len() > 1 {
        return Err(format!("`{case}` names {} case files; give one", files.len()));
    }
    match variant {
        None => Ok(items),
        Some(v) => {
            let picked: Vec<_> = items.into_iter().filter(|(i, _)| i.variant.iter().any(|x| x.label == v)).collect();
            if picked.is_empty() { Err(format!("`{case}` has no variant `{v}`")) } else { Ok(picked) }
        }
    }
}
