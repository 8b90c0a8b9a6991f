//! Runs the suite on several kernels at once: the host natively, the rest
//! in qemu guests, as many at a time as the host has CPUs. A guest that
//! panics, oopses or hangs becomes an ERROR column with the console tail;
//! the others finish regardless.

use super::fetch::{self, Kernel};
use super::qemu::{self, Accel, GuestRun, Outcome, VmOptions};
use super::spec::{KernelSpec, Target};
use crate::exec::RunConfig;
use crate::export::agree::{self, Built};
use crate::probe::KernelInfo;
use crate::report::{CaseResult, RunRecord, Status};
use crate::suite::{self, Suite};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Clone, Debug)]
pub struct Options {
    pub targets: Vec<Target>,
    pub jobs: usize,
    /// None: KVM if it really works here, else TCG.
    pub accel: Option<Accel>,
    pub deadline: Duration,
    pub refresh: bool,
    pub filters: Vec<String>,
    pub append: Vec<String>,
    pub smp: u32,
    /// Keep every step's trace in the records (bisect shows them).
    pub record_trace: bool,
    /// Also export every selected case as C, run the programs next to the
    /// suite on every kernel and compare their verdicts.
    pub c_exports: bool,
}

/// One column of the matrix: the label asked for and the record it got.
pub type Column = (String, RunRecord);

enum Job {
    Host,
    Vm(Kernel, Vec<String>),
}

pub fn run(suite: &Suite, o: &Options, log: &(dyn Fn(&str) + Sync)) -> Result<Vec<Column>, String> {
    let mut jobs = Vec::new();
    let mut kernels = Vec::new();
    for t in &o.targets {
        match &t.spec {
            KernelSpec::Host => jobs.push((t.text.clone(), Job::Host)),
            KernelSpec::Debian(series) => {
                let mut k = fetch::debian_kernel(series, o.refresh, &|m| log(m))?;
                log(&format!("{}: {} {} ({})", k.label, k.package, k.package_version, k.image.display()));
                k.label = t.text.clone();
                kernels.push(k.clone());
                jobs.push((t.text.clone(), Job::Vm(k, t.append.clone())));
            }
            KernelSpec::Cached(dir) => {
                let mut k = fetch::load_cached(dir)?;
                k.label = format!("{} {}", k.package, k.package_version);
                kernels.push(k.clone());
                jobs.push((k.label.clone(), Job::Vm(k, t.append.clone())));
            }
            KernelSpec::Image(p) => {
                let mut k = image_kernel(p);
                k.label = t.text.clone();
                kernels.push(k.clone());
                jobs.push((t.text.clone(), Job::Vm(k, t.append.clone())));
            }
        }
    }
    let work = tempfile::Builder::new().prefix("epollcheck-matrix-").tempdir().map_err(|e| format!("cannot make a work directory: {e}"))?;
    let accel = if kernels.is_empty() {
        Accel::Tcg
    } else {
        qemu::qemu_binary()?;
        choose_accel(o.accel, &kernels[0], suite, work.path(), log)?
    };
    let built = match o.c_exports {
        true => Some(crate::export::agree::build_all(suite, &o.filters, &work.path().join("exports"), crate::probe::cpus(), log)?),
        false => None,
    };
    let built = built.as_ref();
    let queue = Mutex::new(jobs.into_iter().enumerate().collect::<VecDeque<_>>());
    let results: Mutex<Vec<(usize, Column)>> = Mutex::new(Vec::new());
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..o.jobs.max(1) {
            s.spawn(|| loop {
                let Some((i, (label, job))) = crate::exec::state::lock(&queue).pop_front() else { break };
                let r = match job {
                    Job::Host => run_host(suite, o, built, log),
                    Job::Vm(k, append) => run_vm(suite, o, &k, &append, accel, built, &work.path().join(format!("k{i}")), log),
                };
                match r {
                    Ok(rec) => crate::exec::state::lock(&results).push((i, (label, rec))),
                    Err(e) => crate::exec::state::lock(&errors).push(format!("{label}: {e}")),
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap_or_default();
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    let mut cols = results.into_inner().unwrap_or_default();
    cols.sort_by_key(|(i, _)| *i);
    Ok(cols.into_iter().map(|(_, c)| c).collect())
}

fn image_kernel(p: &std::path::Path) -> Kernel {
    let config = p.parent().map(|d| d.join("config")).filter(|c| c.is_file()).or_else(|| p.parent().map(|d| d.join(".config")).filter(|c| c.is_file()));
    Kernel { label: p.display().to_string(), image: p.to_path_buf(), config, package: "user-supplied image".into(), package_version: String::new(), source_url: p.display().to_string() }
}

fn choose_accel(wanted: Option<Accel>, k: &Kernel, suite: &Suite, work: &std::path::Path, log: &(dyn Fn(&str) + Sync)) -> Result<Accel, String> {
    if let Some(a) = wanted {
        return Ok(a);
    }
    let cache = fetch::cache_dir().join("kvm-probe.txt");
    let key = format!("{} | {}", crate::probe::kernel().release, qemu::qemu_version());
    if let Ok(t) = std::fs::read_to_string(&cache) {
        if let Some(v) = t.lines().find_map(|l| l.strip_prefix(&format!("{key} => "))) {
            return Ok(if v == "kvm" { Accel::Kvm } else { Accel::Tcg });
        }
    }
    let initrd = work.join("probe-initrd.cpio");
    build_initrd(suite, k, None, &initrd)?;
    let verdict = qemu::kvm_works(&k.image, &initrd, work);
    let accel = match &verdict {
        Ok(()) => Accel::Kvm,
        Err(why) => {
            log(&format!("KVM unusable here ({why}); using TCG (software emulation)"));
            Accel::Tcg
        }
    };
    let _ = std::fs::create_dir_all(fetch::cache_dir());
    let _ = std::fs::write(&cache, format!("{key} => {}\n", accel.name()));
    Ok(accel)
}

fn build_initrd(suite: &Suite, k: &Kernel, built: Option<&Built>, out: &std::path::Path) -> Result<u64, String> {
    let exe = super::guestbin::guest_binary(suite)?;
    let busybox = ["/bin/busybox", "/usr/bin/busybox"].iter().map(PathBuf::from).find(|p| p.is_file());
    let exports = built.map(|b| (b.dir.as_path(), b.programs.as_slice()));
    super::initramfs::build(&super::initramfs::Contents { exe: &exe, suite_root: &suite.root, kconfig: k.config.as_deref(), busybox: busybox.as_deref(), exports }, out)
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn run_host(suite: &Suite, o: &Options, built: Option<&Built>, log: &(dyn Fn(&str) + Sync)) -> Result<RunRecord, String> {
    let mut cfg = RunConfig::new(&suite.root)?;
    cfg.trace = o.record_trace;
    let items = suite::filter(suite::expand(&suite.files()?), &o.filters, o.record_trace);
    let kernel = crate::probe::kernel();
    log(&format!("host: running {} tests natively on {}", items.len(), kernel.release));
    let start = Instant::now();
    let results = suite::run_all(&cfg, items, &kernel, crate::probe::cpus(), &|_, _| {});
    let dur = start.elapsed().as_secs_f64();
    let mut rec = RunRecord::new(kernel, results, dur * 1e3, now());
    rec.meta.insert("suite_s".into(), format!("{dur:.2}"));
    log(&format!("host: done in {dur:.1} s: {}", crate::report::human::summary_line(&rec.summary)));
    if let Some(b) = built {
        log(&format!("host: running {} exported C programs", b.programs.len()));
        let mut runs = agree::run_programs(&b.dir, &b.programs, &suite.root, &[], Duration::from_secs(60));
        runs.extend(b.failed.iter().cloned());
        agree::annotate(&mut rec, &runs);
        log(&format!("host: C exports: {}", rec.meta["c_exports"]));
    }
    Ok(rec)
}

#[allow(clippy::too_many_arguments)]
fn run_vm(suite: &Suite, o: &Options, k: &Kernel, append: &[String], accel: Accel, built: Option<&Built>, work: &std::path::Path, log: &(dyn Fn(&str) + Sync)) -> Result<RunRecord, String> {
    std::fs::create_dir_all(work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let initrd = work.join("initrd.cpio");
    let size = build_initrd(suite, k, built, &initrd)?;
    let scale = if accel == Accel::Tcg { 4.0 } else { 1.5 };
    let mut all_append: Vec<String> = o.append.iter().chain(append).cloned().collect();
    if o.record_trace {
        all_append.push("epollcheck.trace=1".into());
    }
    let vo = VmOptions { accel, smp: o.smp, mem_mb: 1024, deadline: o.deadline, timeout_scale: scale, jobs: 2, filters: o.filters.clone(), append: all_append };
    log(&format!("{}: booting ({}, {} vCPUs, initramfs {:.1} MB)", k.label, accel.name(), o.smp, size as f64 / 1e6));
    let last = Mutex::new(Instant::now() - Duration::from_secs(10));
    let progress = |p: &str| {
        let mut l = crate::exec::state::lock(&last);
        if p == "booted" || l.elapsed() > Duration::from_secs(5) {
            *l = Instant::now();
            log(&format!("{}: {p}", k.label));
        }
    };
    let mut run = qemu::run(&k.image, &initrd, &vo, work, &progress);
    let exports = run.exports.take();
    let mut rec = record_of(suite, o, k, append, accel, run, log);
    if let Some(b) = built {
        match exports {
            Some(mut runs) => {
                runs.extend(b.failed.iter().cloned());
                agree::annotate(&mut rec, &runs);
            }
            None => {
                rec.meta.insert("c_exports".into(), "no result (the guest sent none)".into());
                rec.meta.insert("c_exports_disagree".into(), "the guest sent no results for the exported C programs".into());
            }
        }
        log(&format!("{}: C exports: {}", k.label, rec.meta["c_exports"]));
    }
    Ok(rec)
}

#[allow(clippy::too_many_arguments)]
fn record_of(suite: &Suite, o: &Options, k: &Kernel, append: &[String], accel: Accel, run: GuestRun, log: &(dyn Fn(&str) + Sync)) -> RunRecord {
    let mut rec = match run.outcome {
        Outcome::Record { record, .. } => *record,
        Outcome::Died(why) => broken_column(suite, o, k, accel, &format!("the VM died without a result: {why}"), &run.console_tail),
        Outcome::TimedOut => broken_column(suite, o, k, accel, &format!("the VM gave no result within {:?} and was killed", o.deadline), &run.console_tail),
    };
    let m = &mut rec.meta;
    m.insert("kernel_spec".into(), k.label.clone());
    if !append.is_empty() {
        m.insert("append".into(), append.join(" "));
    }
    m.insert("package".into(), k.package.clone());
    m.insert("package_version".into(), k.package_version.clone());
    m.insert("source_url".into(), k.source_url.clone());
    m.insert("accel".into(), accel.name().into());
    m.insert("qemu".into(), qemu::qemu_version());
    m.insert("wall_s".into(), format!("{:.2}", run.wall_s));
    if let Some(b) = run.boot_s {
        m.insert("boot_s".into(), format!("{b:.2}"));
        m.insert("suite_s".into(), format!("{:.2}", (rec.duration_ms / 1e3).max(0.0)));
    }
    if let Some(t) = &run.kernel_trouble {
        m.insert("kernel_trouble".into(), t.clone());
        m.insert("console_tail".into(), run.console_tail.clone());
    }
    log(&format!("{}: {} in {:.1} s ({})", k.label, crate::report::human::summary_line(&rec.summary), run.wall_s, rec.kernel.release));
    rec
}

/// A column for a guest that produced no record: every test is ERROR with
/// the reason, and the console tail is kept.
fn broken_column(suite: &Suite, o: &Options, k: &Kernel, accel: Accel, why: &str, console: &str) -> RunRecord {
    let items = suite.files().map(|f| suite::filter(suite::expand(&f), &o.filters, false)).unwrap_or_default();
    let results: Vec<CaseResult> = items
        .iter()
        .map(|(inst, h)| {
            let title = h.as_ref().map(|h| h.title.clone()).unwrap_or_default();
            CaseResult::bare(&inst.name, &inst.path.display().to_string(), &title, Status::Error, Some(why.to_string()))
        })
        .collect();
    let release = k.package.clone();
    let numeric = crate::case::KVersion::parse_release(&k.package_version).map(|v| [v.0, v.1, v.2]);
    let kernel = KernelInfo { release, version: String::new(), numeric, arch: "x86_64".into(), cpus: o.smp as usize, virt: accel.name().into() };
    let mut rec = RunRecord::new(kernel, results, 0.0, now());
    rec.meta.insert("error".into(), why.to_string());
    rec.meta.insert("console_tail".into(), console.to_string());
    rec
}
