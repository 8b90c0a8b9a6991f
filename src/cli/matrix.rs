//! `epollcheck matrix`: the suite on several kernels, side by side.

use crate::report::matrix::{build, has_failures, to_markdown};
use crate::report::RunRecord;
use crate::suite::Suite;
use crate::vm::matrix::{Options, run};
use crate::vm::qemu::Accel;
use crate::vm::spec::{DEFAULT, KernelSpec, Target};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub const HELP: &str = "\
usage: epollcheck matrix [--kernel SPEC]... [options] [-- FILTER...]
       epollcheck matrix --shell --kernel SPEC
       epollcheck matrix --merge RUN.json...

Runs the suite on several kernels: SPEC is a Debian series (debian:5.10,
debian:6.1, debian:6.12, debian:sid), the path of a kernel image (your own
arch/x86/boot/bzImage; a `config` or `.config` beside it is used for
config probes), or `host` (run natively). Default: the four Debian series
and the host. Debian kernels are fetched once from Debian's archive into
$XDG_CACHE_HOME/epollcheck (a private apt setup; the system's is untouched).

Writes results/<release>.json per kernel, results/matrix.json,
results/matrix.md and results/matrix.html. Exit status 1 when any cell is
FAIL, TIMEOUT or ERROR.

needs: qemu-system-x86_64 (apt-get install qemu-system-x86); apt-get, dpkg
and debian-archive-keyring to fetch Debian kernels; busybox-static for --shell.

options:
  --kernel SPEC       a kernel to run (repeatable); SPEC,WORD,... adds kernel
                      command-line words for that kernel (debian:6.12,mitigations=off)
  --jobs N            kernels at once (default: the number of CPUs)
  --accel kvm|tcg     skip the KVM probe (default: KVM where a test boot works, else TCG)
  --deadline SECS     per-kernel deadline (default 600)
  --refresh           update the package index and fetch the newest kernels
  --out DIR           where to write (default results)
  --shell             boot one kernel to an interactive shell with the suite inside
  --merge             do not run anything: merge the given run records
  --append WORD       extra kernel command-line word (repeatable)
  --format FMT        also print the result as ktap, junit or json on stdout
  --c-exports         also export every selected case as C (needs cc), run the
                      programs on every kernel beside the suite and fail when a
                      program's verdict differs from the interpreter's
";

pub fn main(args: &[String]) -> Result<i32, String> {
    let p = super::parse("matrix", args, &["kernel", "jobs", "accel", "deadline", "out", "append", "format"], &["refresh", "shell", "merge", "c-exports"])?;
    let out = PathBuf::from(p.value("out").unwrap_or("results"));
    let format = super::run::Format::parse(p.value("format"))?;
    if p.flag("merge") {
        let records: Result<Vec<(String, RunRecord)>, String> = p.pos.iter().map(|f| RunRecord::load(std::path::Path::new(f)).map(|r| (r.meta.get("kernel_spec").cloned().unwrap_or_else(|| r.kernel.release.clone()), r))).collect();
        return write(records?, &out, format);
    }
    let targets: Vec<Target> = match p.values("kernel") {
        v if v.is_empty() => DEFAULT.iter().map(|s| Target::parse(s)).collect::<Result<_, _>>()?,
        v => v.iter().map(|s| Target::parse(s)).collect::<Result<_, _>>()?,
    };
    let accel = match p.value("accel") {
        None | Some("auto") => None,
        Some("kvm") => Some(Accel::Kvm),
        Some("tcg") => Some(Accel::Tcg),
        Some(a) => return Err(format!("--accel {a}: expected kvm, tcg or auto")),
    };
    let suite = Suite::locate()?;
    if p.flag("shell") {
        let specs: Vec<KernelSpec> = targets.iter().map(|t| t.spec.clone()).collect();
        return super::matrix_shell::main(&suite, &specs, accel);
    }
    let o = Options {
        targets,
        jobs: p.number("jobs")?.map(|j| j as usize).unwrap_or_else(crate::probe::cpus),
        accel,
        deadline: Duration::from_secs(p.number("deadline")?.unwrap_or(600)),
        refresh: p.flag("refresh"),
        filters: p.pos.clone(),
        append: p.values("append"),
        smp: 2,
        record_trace: false,
        c_exports: p.flag("c-exports"),
    };
    let start = Instant::now();
    let log = |m: &str| eprintln!("[{:>6.1}s] {m}", start.elapsed().as_secs_f64());
    let cols = run(&suite, &o, &log)?;
    let mut used = std::collections::BTreeSet::new();
    for (_, rec) in &cols {
        // One file per kernel, named after its release; a second column on
        // the same release (other command-line words) gets a suffix.
        let base = rec.kernel.release.replace('/', "_");
        let mut name = base.clone();
        let mut n = 2;
        while !used.insert(name.clone()) {
            name = format!("{base}-{n}");
            n += 1;
        }
        super::run::save(rec, &out.join(format!("{name}.json")))?;
    }
    eprintln!("matrix of {} kernels in {:.1} s", cols.len(), start.elapsed().as_secs_f64());
    write(cols, &out, format)
}

fn write(cols: Vec<(String, RunRecord)>, out: &std::path::Path, format: super::run::Format) -> Result<i32, String> {
    if format != super::run::Format::Human {
        print!("{}", format.render(&cols)?);
    }
    let records: Vec<(String, RunRecord)> = cols.iter().map(|(l, r)| (l.clone(), r.clone())).collect();
    let m = build(cols);
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let w = |name: &str, text: String| std::fs::write(out.join(name), text).map_err(|e| format!("cannot write {}: {e}", out.join(name).display()));
    w("matrix.json", serde_json::to_string_pretty(&m).map_err(|e| e.to_string())? + "\n")?;
    w("matrix.md", to_markdown(&m))?;
    w("matrix.html", crate::report::html::to_html(&m))?;
    let human = format == super::run::Format::Human;
    for c in &m.columns {
        let line = format!("{:<14} {:<40} {}", c.label, c.release, crate::report::human::summary_line(&c.totals));
        if human { println!("{line}") } else { eprintln!("{line}") }
    }
    let line = format!("{} differing tests; wrote {}/matrix.{{json,md,html}}", m.differences.len(), out.display());
    if human { println!("{line}") } else { eprintln!("{line}") }
    let mut exports_disagree = false;
    for (label, rec) in &records {
        if let Some(c) = rec.meta.get("c_exports") {
            eprintln!("C exports on {label}: {c}");
        }
        if let Some(d) = rec.meta.get("c_exports_disagree") {
            exports_disagree = true;
            eprintln!("{d}");
        }
    }
    Ok(if has_failures(&m) || exports_disagree { 1 } else { 0 })
}
