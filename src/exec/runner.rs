//! The parent side: starts one case process, enforces its deadline, and
//! turns what comes back (or does not) into a status.

use super::child::{CHILD_ENV, ChildReport, ChildSpec, PROGRESS_BYTES, RESULT_MARK, Verdict};
use super::trace::Trace;
use crate::case::{Case, Instance, load};
use crate::names::signal_name;
use crate::probe::KernelInfo;
use crate::report::status::finalize;
use crate::report::{CaseResult, Status};
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The binary to re-execute as the case process (our own).
    pub exe: PathBuf,
    /// The suite root: the case process runs there, so fixture paths such
    /// as `fixtures/hello.txt` resolve.
    pub root: PathBuf,
    pub trace: bool,
    /// Multiplies every case's timeout (slow emulated machines).
    pub timeout_scale: f64,
    /// Whether unmet `requires:` make a case SKIP. Off when the user forces
    /// a skipped case to run (to see whether a backport made it work).
    pub check_requires: bool,
}

impl RunConfig {
    pub fn new(root: &Path) -> Result<RunConfig, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find our own executable to run cases in: {e}"))?;
        let scale = match std::env::var("EPOLLCHECK_TIMEOUT_SCALE") {
            Ok(v) => v.parse::<f64>().ok().filter(|s| *s > 0.0).ok_or_else(|| format!("EPOLLCHECK_TIMEOUT_SCALE={v} is not a positive number"))?,
            Err(_) => 1.0,
        };
        Ok(RunConfig { exe, root: root.to_path_buf(), trace: false, timeout_scale: scale, check_requires: true })
    }
}

/// Output kept from a case process; more is dropped (a case cannot flood us).
const MAX_STDOUT: usize = 64 << 20;
const MAX_STDERR: usize = 64 << 10;

pub fn run_instance(cfg: &RunConfig, inst: &Instance, kernel: &KernelInfo) -> CaseResult {
    let started = Instant::now();
    let file = inst.path.display().to_string();
    let case = match load(&cfg.root, inst) {
        Ok(c) => c,
        Err(e) => {
            return CaseResult { status: Status::Error, reason: Some(e.to_string()), ..base(inst, &file, "", started) };
        }
    };
    if let Some(reason) = crate::probe::unmet(&case.header.requirements(&inst.variant)).filter(|_| cfg.check_requires) {
        return CaseResult { status: Status::Skip, reason: Some(reason), ..base(inst, &file, &case.header.title, started) };
    }
    let mut r = spawn_and_wait(cfg, inst, &case, kernel);
    r.duration_ms = started.elapsed().as_secs_f64() * 1e3;
    r
}

fn base(inst: &Instance, file: &str, title: &str, started: Instant) -> CaseResult {
    CaseResult { duration_ms: started.elapsed().as_secs_f64() * 1e3, ..CaseResult::bare(&inst.name, file, title, Status::Error, None) }
}

pub fn hints(case: &Case) -> Vec<String> {
    let h = &case.header;
    h.fixed_by.iter().map(|c| format!("fixed by {c}")).chain(h.introduced_by.iter().map(|c| format!("introduced by {c}"))).collect()
}

fn spawn_and_wait(cfg: &RunConfig, inst: &Instance, case: &Case, kernel: &KernelInfo) -> CaseResult {
    let started = Instant::now();
    let mut res = CaseResult { hints: hints(case), ..base(inst, &inst.path.display().to_string(), &case.header.title, started) };
    let progress = match progress_file() {
        Ok(p) => p,
        Err(e) => return error(res, format!("cannot make the progress file: {e}")),
    };
    let restore = match progress_file_named("epollcheck-restore-", 0) {
        Ok(p) => p,
        Err(e) => return error(res, format!("cannot make the restore journal: {e}")),
    };
    let journal = match cfg.trace.then(|| progress_file_named("epollcheck-trace-", 0)).transpose() {
        Ok(j) => j,
        Err(e) => return error(res, format!("cannot make the trace journal: {e}")),
    };
    let scratch = match tempfile::Builder::new().prefix("epollcheck-case-").tempdir() {
        Ok(d) => d,
        Err(e) => return error(res, format!("cannot make the case's temporary directory: {e}")),
    };
    let spec = ChildSpec {
        tempdir: Some(scratch.path().to_path_buf()),
        restore: Some(restore.path().to_path_buf()),
        path: inst.path.clone(),
        variant: inst.variant.iter().map(|v| (v.axis.clone(), v.label.clone(), v.value.clone())).collect(),
        trace: cfg.trace,
        progress: Some(progress.path().to_path_buf()),
        trace_journal: journal.as_ref().map(|j| j.path().to_path_buf()),
        timeout_scale: cfg.timeout_scale,
    };
    let spec_json = serde_json::to_string(&spec).expect("spec serialises");
    let mut cmd = Command::new(&cfg.exe);
    cmd.env(CHILD_ENV, spec_json).current_dir(&cfg.root).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return error(res, format!("cannot start the case process {}: {e}", cfg.exe.display())),
    };
    let pgid = child.id() as i32;
    let out = reader(child.stdout.take(), MAX_STDOUT);
    let err = reader(child.stderr.take(), MAX_STDERR);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let limit = case.header.timeout.mul_f64(cfg.timeout_scale);
    let (status, timed_out) = match rx.recv_timeout(limit) {
        Ok(s) => (s.ok(), false),
        Err(_) => {
            let _ = crate::sys::signal::kill(-pgid, libc::SIGKILL);
            (rx.recv().ok().and_then(|s| s.ok()), true)
        }
    };
    // Forked children of the case share its process group; none may
    // outlive it (and keep its pipes open).
    let _ = crate::sys::signal::kill(-pgid, libc::SIGKILL);
    let restored = restore_sysctls(restore.path());
    // A case may have left a tmpfs mounted in its scratch directory (a
    // failed `mount` case): detach it so the directory can go.
    unmount_leftovers(scratch.path());
    drop(scratch);
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    res.stderr = Some(stderr.trim_end().to_string()).filter(|s| !s.is_empty());
    if let Err(e) = restored {
        return error(res, e);
    }
    if timed_out {
        res.status = Status::Timeout;
        res.reason = Some(format!("no result within {limit:?}; {}", where_stuck(case, progress.path())));
        if let Some(j) = &journal {
            res.trace = Some(Trace::read_journal(j.path()));
            res.notes.push("the trace ends at the deadline: the steps still running then never returned, so they are not in it".into());
        }
        return res;
    }
    let report = stdout.lines().find_map(|l| l.strip_prefix(RESULT_MARK)).and_then(|j| serde_json::from_str::<ChildReport>(j).ok());
    let Some(report) = report else {
        let how = match status {
            Some(s) if s.signal().is_some() => format!("the case process was killed by {}", signal_name(s.signal().unwrap_or(0))),
            Some(s) => format!("the case process exited with {} without a result", s.code().unwrap_or(-1)),
            None => "the case process could not be waited for".into(),
        };
        return error(res, how);
    };
    apply_report(res, report, case, kernel)
}

fn apply_report(mut res: CaseResult, report: ChildReport, case: &Case, kernel: &KernelInfo) -> CaseResult {
    let (status, reason) = finalize(report.verdict, &case.header, kernel.kversion());
    res.status = status;
    res.reason = reason.or_else(|| {
        report.failure.as_ref().map(|f| match report.verdict {
            Verdict::Skip => f.observed.clone(),
            _ => format!("{}: expected {}, observed {}", f.headline(), f.expected, f.observed),
        })
    });
    res.failure = report.failure;
    res.notes = report.notes;
    if !report.trace.is_empty() || report.trace_dropped > 0 {
        let mut t = report.trace;
        if report.trace_dropped > 0 {
            res.notes.push(format!("trace truncated: {} later steps not kept", report.trace_dropped));
        }
        // A fork child's steps arrive at its join: put every step where
        // it happened (the clock is shared, the sort stable).
        t.sort_by_key(|e| e.start_us);
        t.shrink_to_fit();
        res.trace = Some(t);
    }
    res
}

fn error(mut res: CaseResult, why: String) -> CaseResult {
    res.status = Status::Error;
    res.reason = Some(why);
    res
}

fn progress_file() -> std::io::Result<tempfile::NamedTempFile> {
    progress_file_named("epollcheck-progress-", PROGRESS_BYTES as u64)
}

fn progress_file_named(prefix: &str, len: u64) -> std::io::Result<tempfile::NamedTempFile> {
    let f = tempfile::Builder::new().prefix(prefix).tempfile()?;
    f.as_file().set_len(len)?;
    Ok(f)
}

fn unmount_leftovers(dir: &Path) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_name().to_string_lossy().starts_with("mnt-") {
            let _ = nix::mount::umount2(&e.path(), nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

/// Writes back every sysctl the case changed (the first recorded value of
/// each), whatever happened to the case process.
fn restore_sysctls(journal: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(journal).unwrap_or_default();
    let mut done = std::collections::HashSet::new();
    for line in text.lines() {
        let Some((path, value)) = line.split_once('\t') else { continue };
        if !path.starts_with("/proc/sys/") || !done.insert(path.to_string()) {
            continue;
        }
        std::fs::write(path, value).map_err(|e| format!("could not restore {path} to {value}: {e}"))?;
    }
    Ok(())
}

/// Reads the progress page the case process left: the line each of its
/// threads was on when it was killed.
fn where_stuck(case: &Case, progress: &Path) -> String {
    let bytes = std::fs::read(progress).unwrap_or_default();
    let lines: Vec<u32> = bytes.chunks_exact(4).map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]])).filter(|&l| l != 0).collect();
    if lines.is_empty() {
        return "it never reached its first step".into();
    }
    let at: Vec<String> = lines
        .iter()
        .map(|&l| {
            let who = thread_at(&case.body, l).map(|t| format!("thread {t}")).unwrap_or_else(|| "main".into());
            format!("{}:{}: {} ({who})", case.path.display(), l, case.line_text(crate::case::Span::new(l, 1)))
        })
        .collect();
    format!("it was at {}", at.join("; "))
}

/// The thread block whose body holds a step on `line`, if any.
fn thread_at(block: &crate::case::model::Block, line: u32) -> Option<String> {
    use crate::case::model::StmtKind;
    for stmt in block {
        match &stmt.kind {
            StmtKind::Thread { name, body } | StmtKind::Fork { name, body } => {
                if let Some(inner) = thread_at(body, line) {
                    return Some(inner);
                }
                if contains_line(body, line) {
                    return Some(name.clone());
                }
            }
            StmtKind::Repeat(r) => {
                if let Some(t) = thread_at(&r.body, line) {
                    return Some(t);
                }
            }
            StmtKind::Op(_) => {}
        }
    }
    None
}

fn contains_line(block: &crate::case::model::Block, line: u32) -> bool {
    use crate::case::model::StmtKind;
    block.iter().any(|s| {
        s.span.line == line
            || match &s.kind {
                StmtKind::Thread { body, .. } | StmtKind::Fork { body, .. } => contains_line(body, line),
                StmtKind::Repeat(r) => contains_line(&r.body, line),
                StmtKind::Op(_) => false,
            }
    })
}

fn reader<R: Read + Send + 'static>(src: Option<R>, cap: usize) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(mut s) = src {
            let mut buf = [0u8; 8192];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if out.len() < cap {
                    out.extend_from_slice(&buf[..n.min(cap - out.len())]);
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    })
}
