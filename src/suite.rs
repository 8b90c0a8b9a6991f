//! The suite on disk: where `cases/` is, which test instances it holds, and
//! running many of them in parallel.

use crate::case::discover::{self, CaseFile};
use crate::case::{Instance, header::Header};
use crate::exec::{RunConfig, run_instance};
use crate::probe::KernelInfo;
use crate::report::CaseResult;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
pub struct Suite {
    /// The directory holding `cases/` (and `fixtures/`); case processes run there.
    pub root: PathBuf,
}

impl Suite {
    /// `EPOLLCHECK_ROOT`, else the nearest directory upwards from here that
    /// has a `cases/` directory, else the source tree this was built from.
    pub fn locate() -> Result<Suite, String> {
        if let Ok(r) = std::env::var("EPOLLCHECK_ROOT") {
            let root = PathBuf::from(&r);
            return if root.join("cases").is_dir() {
                Ok(Suite { root })
            } else {
                Err(format!("EPOLLCHECK_ROOT={r} has no cases/ directory"))
            };
        }
        let cwd = std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
        for dir in cwd.ancestors() {
            if dir.join("cases").is_dir() {
                return Ok(Suite { root: dir.to_path_buf() });
            }
        }
        let built = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        if built.join("cases").is_dir() {
            return Ok(Suite { root: built });
        }
        Err("cannot find the cases/ directory: run from an epollcheck checkout, or set EPOLLCHECK_ROOT to the directory that holds cases/".into())
    }

    pub fn cases_dir(&self) -> PathBuf {
        self.root.join("cases")
    }

    /// Every case file, read, with paths relative to the root (`cases/...`).
    pub fn files(&self) -> Result<Vec<CaseFile>, String> {
        let dir = self.cases_dir();
        let paths = discover::find_files(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        Ok(paths.iter().map(|p| self.read(p)).collect())
    }

    fn read(&self, abs: &Path) -> CaseFile {
        let rel = abs.strip_prefix(&self.root).unwrap_or(abs);
        discover::read_case_file(&self.root, rel, Path::new("cases"))
    }

    /// The files whose instances could be named `name` (the `--exact` fast
    /// path: nextest starts us once per test, so reading every file each
    /// time would be quadratic).
    pub fn files_for_name(&self, name: &str) -> Result<Vec<CaseFile>, String> {
        let dir = self.cases_dir();
        let paths = discover::find_files(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let root = Path::new("cases");
        Ok(paths
            .iter()
            .filter(|p| {
                let rel = p.strip_prefix(&self.root).unwrap_or(p);
                let base = discover::base_name(root, rel);
                name == base || name.starts_with(&format!("{base}::"))
            })
            .map(|p| self.read(p))
            .collect())
    }
}

/// Instances of all files, each with its header when the header parses.
pub fn expand(files: &[CaseFile]) -> Vec<(Instance, Option<Header>)> {
    let mut out = Vec::new();
    for f in files {
        let header = f.text.as_ref().ok().and_then(|t| discover::header_of(&f.path, t).ok());
        for inst in discover::instances(f) {
            out.push((inst, header.clone()));
        }
    }
    out
}

/// Keeps instances whose name contains any filter (all when none given);
/// `exact` asks for whole-name equality.
pub fn filter<T>(items: Vec<(Instance, T)>, filters: &[String], exact: bool) -> Vec<(Instance, T)> {
    if filters.is_empty() {
        return items;
    }
    items
        .into_iter()
        .filter(|(i, _)| filters.iter().any(|f| if exact { i.name == *f } else { matches_filter(i, f) }))
        .collect()
}

/// A filter matches part of a test name, or a case file's path or a
/// directory above it (`cases/wait/`, `cases/wait`).
fn matches_filter(i: &Instance, f: &str) -> bool {
    let path = i.path.to_string_lossy();
    let dir = f.trim_end_matches('/');
    i.name.contains(f) || path == f || (f.contains('/') && path.starts_with(&format!("{dir}/")))
}

/// Holds the cross-process locks of a case while it runs, so that cases
/// sharing global state never overlap, under `cargo test`, `cargo nextest
/// run` (a process per test) and our own runner alike: a `serial: KEY`
/// case holds KEY's lock; every case holds the "alone" lock shared, and a
/// `serial: alone` case holds it exclusively, so it runs with nothing else.
pub struct SerialGuard(#[allow(dead_code)] Vec<std::fs::File>);

fn lock_file(key: &str) -> Option<std::fs::File> {
    let safe: String = key.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let path = std::env::temp_dir().join(format!("epollcheck-serial-{safe}.lock"));
    std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path).ok()
}

pub fn serial_lock(key: Option<&str>) -> SerialGuard {
    // A lock that cannot be taken only costs isolation, not the
    // correctness of a verdict: carry on without it.
    let mut held = Vec::new();
    if let Some(all) = lock_file("alone") {
        let r = crate::sys::misc::flock(std::os::fd::AsRawFd::as_raw_fd(&all), key == Some("alone"));
        if r.is_ok() {
            held.push(all);
        }
    }
    if let Some(k) = key.filter(|k| *k != "alone") {
        if let Some(f) = lock_file(k) {
            if crate::sys::misc::flock(std::os::fd::AsRawFd::as_raw_fd(&f), true).is_ok() {
                held.push(f);
            }
        }
    }
    SerialGuard(held)
}

/// Runs instances on `jobs` worker threads (each case in its own process),
/// calling `done` as each finishes. Results come back in input order.
pub fn run_all(
    cfg: &RunConfig,
    items: Vec<(Instance, Option<Header>)>,
    kernel: &KernelInfo,
    jobs: usize,
    done: &(dyn Fn(usize, &CaseResult) + Sync),
) -> Vec<CaseResult> {
    let n = items.len();
    type Queue = Mutex<VecDeque<(usize, Instance, Option<Header>)>>;
    let queue: Arc<Queue> =
        Arc::new(Mutex::new(items.into_iter().enumerate().map(|(i, (a, b))| (i, a, b)).collect()));
    let results: Mutex<Vec<Option<CaseResult>>> = Mutex::new(vec![None; n]);
    let finished = Mutex::new(0usize);
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let next = crate::exec::state::lock(&queue).pop_front();
                let Some((idx, inst, header)) = next else { break };
                let _guard = serial_lock(header.as_ref().and_then(|h| h.serial.as_deref()));
                let r = run_instance(cfg, &inst, kernel);
                let count = {
                    let mut f = crate::exec::state::lock(&finished);
                    *f += 1;
                    *f
                };
                done(count, &r);
                crate::exec::state::lock(&results)[idx] = Some(r);
            });
        }
    });
    results.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter().flatten().collect()
}
