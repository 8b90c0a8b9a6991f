//! `epollcheck bisect`: one case on every cached kernel, oldest first,
//! naming where its result changes, with both traces side by side.

use crate::report::{CaseResult, Status};
use crate::suite::Suite;
use crate::vm::fetch;
use crate::vm::matrix::{Options, run};
use crate::vm::qemu::Accel;
use crate::vm::spec::{KernelSpec, Target};
use std::time::Duration;

pub const HELP: &str = "\
usage: epollcheck bisect CASE [--accel kvm|tcg] [--no-host]

Runs one test (its full name, e.g. requeue::et_renotify_pipe, or a case
file with one variant) on every kernel in the cache (fetched earlier by
`epollcheck matrix`) and on the host, sorted by version, prints the status
on each, and for the oldest kernel where the result changes shows the
traces of both sides side by side.
";

pub fn main(args: &[String]) -> Result<i32, String> {
    let p = super::parse("bisect", args, &["accel"], &["no-host"])?;
    let [case] = p.pos.as_slice() else { return Err("bisect takes one test: epollcheck bisect CASE".into()) };
    let suite = Suite::locate()?;
    let items = super::repro::one_case(&suite, case, None)?;
    let [(inst, _)] = items.as_slice() else {
        let names: Vec<String> = items.iter().map(|(i, _)| i.name.clone()).collect();
        return Err(format!("`{case}` has several variants; bisect one of: {}", names.join(", ")));
    };
    let cached = fetch::all_cached();
    if cached.is_empty() {
        return Err("no kernels in the cache: run `epollcheck matrix` once to fetch them".into());
    }
    let mut targets: Vec<Target> = cached.iter().map(|(dir, _)| Target { spec: KernelSpec::Cached(dir.clone()), append: vec![], text: dir.display().to_string() }).collect();
    if !p.flag("no-host") {
        targets.push(Target::parse("host")?);
    }
    let accel = match p.value("accel") {
        Some("kvm") => Some(Accel::Kvm),
        Some("tcg") => Some(Accel::Tcg),
        None => None,
        Some(a) => return Err(format!("--accel {a}: expected kvm or tcg")),
    };
    let o = Options {
        targets,
        jobs: crate::probe::cpus(),
        accel,
        deadline: Duration::from_secs(300),
        refresh: false,
        filters: vec![inst.name.clone()],
        append: vec![],
        smp: 2,
        record_trace: true,
        c_exports: false,
    };
    let mut cols = run(&suite, &o, &|m| eprintln!("{m}"))?;
    cols.sort_by_key(|(_, r)| r.kernel.numeric.unwrap_or([u32::MAX; 3]));
    let cells: Vec<(String, Option<CaseResult>)> = cols
        .iter()
        .map(|(label, r)| (format!("{} ({label})", r.kernel.numeric.map(|[a, b, c]| format!("{a}.{b}.{c}")).unwrap_or_else(|| r.kernel.release.clone())), r.results.iter().find(|c| c.name == inst.name).cloned()))
        .collect();
    println!("{} on {} kernels, oldest first:", inst.name, cells.len());
    for (k, c) in &cells {
        println!("  {:<8} {k}", c.as_ref().map(|c| c.status.name()).unwrap_or("-"));
    }
    let change = cells.windows(2).position(|w| status(&w[0].1) != status(&w[1].1));
    let Some(i) = change else {
        println!("the result is the same on every kernel");
        return Ok(0);
    };
    let (old, new) = (&cells[i], &cells[i + 1]);
    println!("\nthe result changes between {} ({}) and {} ({}):\n", old.0, name(&old.1), new.0, name(&new.1));
    side_by_side(old, new);
    Ok(0)
}

fn status(c: &Option<CaseResult>) -> Option<Status> {
    c.as_ref().map(|c| c.status)
}

fn name(c: &Option<CaseResult>) -> &'static str {
    status(c).map(|s| s.name()).unwrap_or("-")
}

fn steps(c: &Option<CaseResult>) -> Vec<String> {
    let mut v: Vec<String> = c.iter().flat_map(|r| r.trace.iter().flatten()).map(|e| format!("L{} {} = {}", e.line, e.call, e.result)).collect();
    if let Some(f) = c.as_ref().and_then(|r| r.failure.as_ref()) {
        v.push(format!("=> {}: expected {}, observed {}", f.kind_name(), f.expected, f.observed));
    }
    v
}

fn side_by_side(old: &(String, Option<CaseResult>), new: &(String, Option<CaseResult>)) {
    const W: usize = 70;
    let cut = |s: &str| if s.chars().count() > W { format!("{}…", s.chars().take(W - 1).collect::<String>()) } else { s.to_string() };
    let (a, b) = (steps(&old.1), steps(&new.1));
    println!("{:<W$} | {}", cut(&old.0), cut(&new.0));
    println!("{:-<W$}-+-{:-<W$}", "", "");
    for i in 0..a.len().max(b.len()) {
        let l = a.get(i).map(|s| cut(s)).unwrap_or_default();
        let r = b.get(i).map(|s| cut(s)).unwrap_or_default();
        let mark = if l == r { ' ' } else { '*' };
        println!("{l:<W$} {mark} {r}");
    }
}
