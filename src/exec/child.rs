//! The case process: our own binary re-executed with `EPOLLCHECK_CHILD`
//! set. It runs one case and prints one result line; the parent enforces
//! the deadline. A process per case keeps fds, signal state, rlimits and
//! stray threads from leaking into the next case, and never forks inside
//! the multi-threaded test harness.

use super::concurrency::INTERRUPT_SIG;
use super::failure::{FailKind, Failure};
use super::interp::{Ctx, run_block};
use super::state::Shared;
use super::trace::{Trace, TraceEntry};
use crate::case::model::VariantValue;
use crate::case::{Instance, load};
use crate::sys::mem::SharedSlots;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

pub const CHILD_ENV: &str = "EPOLLCHECK_CHILD";
/// Prefix of the one stdout line that carries the child's report.
pub const RESULT_MARK: &str = "@@EPOLLCHECK-RESULT ";
/// Bytes of the progress page: one u32 line number per thread slot.
pub const PROGRESS_BYTES: usize = 4096;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChildSpec {
    pub path: PathBuf,
    /// `(axis, label, value)` of the variant.
    pub variant: Vec<(String, String, String)>,
    pub trace: bool,
    pub progress: Option<PathBuf>,
    /// With `trace`: where each trace entry is also written as it is made.
    #[serde(default)]
    pub trace_journal: Option<PathBuf>,
    /// Where to record sysctl values before changing them; the parent
    /// restores them after the case process is gone.
    #[serde(default)]
    pub restore: Option<PathBuf>,
    /// The case's scratch directory, made and removed by the runner.
    #[serde(default)]
    pub tempdir: Option<PathBuf>,
    /// EPOLLCHECK_TIMEOUT_SCALE: the case's steps stretch their own
    /// deadlines (join, asleep) by it, as the runner stretches the case's.
    #[serde(default = "one")]
    pub timeout_scale: f64,
}

fn one() -> f64 {
    1.0
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    Pass,
    Fail,
    Error,
    Skip,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChildReport {
    pub verdict: Verdict,
    pub failure: Option<Failure>,
    /// Lines from `report` steps and statistical checks.
    pub notes: Vec<String>,
    pub trace: Vec<TraceEntry>,
    pub trace_dropped: u64,
}

static PROGRESS: OnceLock<SharedSlots> = OnceLock::new();
static RESTORE: OnceLock<PathBuf> = OnceLock::new();

pub fn restore_journal() -> Option<&'static PathBuf> {
    RESTORE.get()
}
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(1);

pub fn progress_page() -> Option<&'static SharedSlots> {
    PROGRESS.get()
}

/// A progress slot for a new thread (slot 0 is the main thread).
pub fn next_slot() -> Option<usize> {
    let page = PROGRESS.get()?;
    let s = NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
    (s < page.slots().len()).then_some(s)
}

/// If this process was started as a case child, runs the case and never
/// returns; otherwise returns so `main` can carry on.
pub fn run_if_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let report = match serde_json::from_str::<ChildSpec>(&spec) {
        Ok(spec) => run(&spec),
        Err(e) => error_report(format!("bad {CHILD_ENV} value: {e}")),
    };
    let line = serde_json::to_string(&report).unwrap_or_else(|e| format!("{{\"serialisation error\": \"{e}\"}}"));
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{RESULT_MARK}{line}");
    let _ = out.flush();
    // Threads may still be blocked in the kernel (a failed case does not
    // join them); leave without waiting for them or running destructors.
    crate::sys::proc::exit_now(0)
}

fn error_report(msg: String) -> ChildReport {
    let failure = Failure {
        kind: FailKind::Error,
        path: String::new(),
        line: 0,
        step: String::new(),
        thread: "main".into(),
        iteration: vec![],
        expected: "the case to start".into(),
        observed: msg,
        detail: None,
    };
    ChildReport { verdict: Verdict::Error, failure: Some(failure), notes: vec![], trace: vec![], trace_dropped: 0 }
}

fn run(spec: &ChildSpec) -> ChildReport {
    if let Some(p) = &spec.progress {
        if let Ok(f) = std::fs::OpenOptions::new().read(true).write(true).open(p) {
            if let Ok(page) = SharedSlots::map(std::os::fd::AsRawFd::as_raw_fd(&f), PROGRESS_BYTES) {
                let _ = PROGRESS.set(page);
            }
        }
    }
    if let Some(r) = &spec.restore {
        let _ = RESTORE.set(r.clone());
    }
    if let Err(e) = crate::sys::signal::set_disposition(INTERRUPT_SIG, crate::sys::signal::Disposition::Count { restart: false }) {
        return error_report(format!("cannot install the interrupt handler: {}", crate::names::errno_name(e)));
    }
    super::limits::apply();
    let inst = Instance {
        name: String::new(),
        path: spec.path.clone(),
        variant: spec.variant.iter().map(|(a, l, v)| VariantValue { axis: a.clone(), label: l.clone(), value: v.clone() }).collect(),
    };
    let case = match load(std::path::Path::new("."), &inst) {
        Ok(c) => c,
        Err(e) => return error_report(e.to_string()),
    };
    let kernel = crate::probe::kernel().kversion();
    let tempdir = match &spec.tempdir {
        Some(d) => d.clone(),
        // Run by hand without a runner: a directory that outlives us.
        None => match tempfile::Builder::new().prefix("epollcheck-case-").tempdir() {
            Ok(d) => d.keep(),
            Err(e) => return error_report(format!("cannot make a temporary directory: {e}")),
        },
    };
    let own_netns = match super::limits::private_network(&case) {
        Ok(b) => b,
        Err(e) => return error_report(e),
    };
    let mut shared = match Shared::new(case, kernel, Trace::new(spec.trace).journal_to(spec.trace_journal.as_deref()), tempdir) {
        Ok(s) => s,
        Err(e) => return error_report(format!("cannot make a temporary directory: {e}")),
    };
    shared.own_netns = own_netns;
    shared.timeout_scale = spec.timeout_scale;
    let shared = Arc::new(shared);
    shared.main_tid.store(crate::sys::signal::gettid(), std::sync::atomic::Ordering::SeqCst);
    let mut ctx = Ctx::new(shared.clone(), "main", None);
    ctx.slot = PROGRESS.get().map(|_| 0);
    let body = shared.case.body.clone();
    run_block(&mut ctx, &body);
    finish(&ctx, &shared)
}

/// The case is over: threads must have been joined and children reaped.
fn finish(ctx: &Ctx, sh: &Shared) -> ChildReport {
    if !sh.stopped() {
        let live = sh.tasks.live_threads();
        if !live.is_empty() {
            sh.fail(ctx.error(format!("thread(s) still running at the end of the case: {} (join them)", live.join(", "))));
        }
    }
    for f in sh.tasks.forks() {
        if super::state::lock(&f.reaped).is_none() {
            let _ = crate::sys::signal::kill(f.pid, libc::SIGKILL);
            let _ = crate::sys::proc::waitpid(f.pid, 0);
            if !sh.stopped() {
                sh.fail(ctx.error(format!("child pid {} was never joined", f.pid)));
            }
        }
    }
    let failure = sh.take_failure();
    let verdict = match failure.as_ref().map(|f| f.kind) {
        None => Verdict::Pass,
        Some(FailKind::Fail) => Verdict::Fail,
        Some(FailKind::Error) => Verdict::Error,
        Some(FailKind::Skip) => Verdict::Skip,
    };
    let (trace, trace_dropped) = sh.trace.take();
    let notes = std::mem::take(&mut *super::state::lock(&sh.notes));
    ChildReport { verdict, failure, notes, trace, trace_dropped }
}
