//! Agreement between exported C programs and the interpreter, wherever the
//! suite runs: build every selected instance as C on the host, run the
//! programs next to the suite (natively or inside a matrix guest), and
//! compare each program's status with the interpreter's. An exporter that
//! drifts from the interpreter then shows up on every kernel, not only on
//! the one CI happens to run.

use crate::report::RunRecord;
use crate::suite::{self, Suite};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The compiler flags of every agreement build: any warning is a failure.
pub const CFLAGS: [&str; 6] = ["-O1", "-pthread", "-Wall", "-Wextra", "-Werror", "-fdiagnostics-color=never"];

/// One exported program's result.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportRun {
    pub name: String,
    /// PASS, FAIL, ... as the interpreter names them; EXPORT or COMPILE
    /// when the program could not be made.
    pub status: String,
    /// The program's last lines (or the exporter's or compiler's message).
    pub output: String,
}

/// Programs built on the host: `dir/NAME` for each instance that built,
/// and a failed `ExportRun` for each that did not.
pub struct Built {
    pub dir: PathBuf,
    pub programs: Vec<String>,
    pub failed: Vec<ExportRun>,
}

/// A file name for a test name (`oneshot::disarm` -> `oneshot__disarm`).
pub fn file_name(test: &str) -> String {
    test.replace("::", "__")
}

/// Exports and compiles the instances FILTERS select into `dir`, `jobs`
/// compilers at once. Compiled programs are cached by the hash of their
/// source and the compiler, so a second matrix run does not rebuild them.
pub fn build_all(s: &Suite, filters: &[String], dir: &Path, jobs: usize, log: &(dyn Fn(&str) + Sync)) -> Result<Built, String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let version = Command::new(&cc).arg("--version").output().map_err(|e| format!("cannot run the C compiler `{cc}` ({e}): install gcc (apt-get install gcc) or set CC"))?;
    let cc_id = String::from_utf8_lossy(&version.stdout).lines().next().unwrap_or("").to_string();
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let cache = crate::vm::fetch::cache_dir().join("c-exports");
    let _ = std::fs::create_dir_all(&cache);
    let items: Vec<_> = suite::filter(suite::expand(&s.files()?), filters, false).into_iter().map(|(i, _)| i).collect();
    log(&format!("exporting {} instances as C and compiling them ({cc_id})", items.len()));
    let queue = Mutex::new(items.into_iter().collect::<std::collections::VecDeque<_>>());
    let results = Mutex::new((Vec::new(), Vec::new()));
    std::thread::scope(|sc| {
        for _ in 0..jobs.max(1) {
            sc.spawn(|| loop {
                // A statement of its own, so the queue is unlocked while
                // this thread compiles.
                let Some(inst) = crate::exec::state::lock(&queue).pop_front() else { break };
                let r = build_one(s, &inst, dir, &cache, &cc, &cc_id);
                let mut res = crate::exec::state::lock(&results);
                match r {
                    Ok(()) => res.0.push(inst.name.clone()),
                    Err((status, output)) => res.1.push(ExportRun { name: inst.name.clone(), status, output }),
                }
            });
        }
    });
    let (mut programs, mut failed) = results.into_inner().unwrap_or_default();
    programs.sort();
    failed.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Built { dir: dir.to_path_buf(), programs, failed })
}

fn build_one(s: &Suite, inst: &crate::case::Instance, dir: &Path, cache: &Path, cc: &str, cc_id: &str) -> Result<(), (String, String)> {
    let case = crate::case::load(&s.root, inst).map_err(|e| ("EXPORT".to_string(), e.to_string()))?;
    let program = super::export_c(&case).map_err(|e| ("EXPORT".to_string(), e.to_string()))?;
    let key = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (program.as_str(), cc_id, CFLAGS).hash(&mut h);
        format!("{:016x}", h.finish())
    };
    let out = dir.join(file_name(&inst.name));
    let cached = cache.join(&key);
    if std::fs::copy(&cached, &out).is_ok() {
        return Ok(());
    }
    let src = dir.join(format!("{}.c", file_name(&inst.name)));
    std::fs::write(&src, &program).map_err(|e| ("EXPORT".to_string(), format!("cannot write {}: {e}", src.display())))?;
    let res = Command::new(cc).args(CFLAGS).arg(&src).arg("-o").arg(&out).stdin(Stdio::null()).output();
    let _ = std::fs::remove_file(&src);
    match res {
        Ok(o) if o.status.success() && o.stderr.is_empty() => {
            // Into the cache through a temporary name: another run may be
            // reading the same entry.
            let tmp = cache.join(format!("{key}.{}", std::process::id()));
            if std::fs::copy(&out, &tmp).is_ok() {
                let _ = std::fs::rename(&tmp, &cached);
            }
            Ok(())
        }
        Ok(o) => Err(("COMPILE".into(), last_lines(&String::from_utf8_lossy(&o.stderr), 20))),
        Err(e) => Err(("COMPILE".into(), format!("cannot run {cc}: {e}"))),
    }
}

/// The status an exported program's exit means (see `export-c --help`).
pub fn status_of(code: Option<i32>, stdout: &str) -> String {
    let last = stdout.lines().last().unwrap_or("");
    match code {
        Some(0) if last == "PASS" => "PASS",
        Some(0) if last.starts_with("XFAIL:") => "XFAIL",
        Some(0) if last.starts_with("XPASS:") => "XPASS",
        Some(0) => "EXIT0?",
        Some(1) => "FAIL",
        Some(2) => "ERROR",
        Some(77) => "SKIP",
        Some(124) => "TIMEOUT",
        // Killed by a signal: the runner calls a crashed case ERROR.
        None => "ERROR",
        Some(_) => "EXIT?",
    }
    .to_string()
}

/// Runs each program in `dir` (one at a time: some cases change
/// machine-wide state) from the suite root `root`, each with its own
/// deadline and a backstop after which it is killed.
pub fn run_programs(dir: &Path, programs: &[String], root: &Path, env: &[(&str, String)], backstop: Duration) -> Vec<ExportRun> {
    programs.iter().map(|name| run_program(&dir.join(file_name(name)), name, root, env, backstop)).collect()
}

fn run_program(exe: &Path, name: &str, root: &Path, env: &[(&str, String)], backstop: Duration) -> ExportRun {
    let out_path = std::env::temp_dir().join(format!("epollcheck-export-out-{}", std::process::id()));
    let out_file = match std::fs::File::create(&out_path) {
        Ok(f) => f,
        Err(e) => return ExportRun { name: name.into(), status: "ERROR".into(), output: format!("cannot create {}: {e}", out_path.display()) },
    };
    let mut cmd = Command::new(exe);
    cmd.current_dir(root).stdin(Stdio::null()).stderr(Stdio::null()).process_group(0);
    if let Ok(f) = out_file.try_clone() {
        cmd.stdout(f);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    use std::os::unix::process::CommandExt;
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return ExportRun { name: name.into(), status: "ERROR".into(), output: format!("cannot start {}: {e}", exe.display()) },
    };
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if start.elapsed() > backstop => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(_) => break None,
        }
    };
    // Its forked children share its process group; none may outlive it.
    let _ = crate::sys::signal::kill(-(child.id() as i32), libc::SIGKILL);
    let _ = child.wait();
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    let status = match status {
        Some(s) => status_of(s.code(), &stdout),
        None => "TIMEOUT".into(),
    };
    ExportRun { name: name.into(), status, output: last_lines(&stdout, 12) }
}

/// How many programs agree with the record, and one line (plus the
/// program's output) for each that does not.
pub fn compare(rec: &RunRecord, runs: &[ExportRun]) -> (usize, Vec<String>) {
    let mut agreed = 0;
    let mut disagree = Vec::new();
    for r in runs {
        let want = rec.results.iter().find(|c| c.name == r.name).map(|c| c.status.name().to_string());
        match want {
            Some(w) if w == r.status => agreed += 1,
            Some(w) => disagree.push(format!("{}: C says {}, the interpreter {w}\n{}", r.name, r.status, indent(&r.output))),
            None => disagree.push(format!("{}: C says {}, the interpreter has no result", r.name, r.status)),
        }
    }
    (agreed, disagree)
}

/// Records the comparison in the run record's metadata, where the matrix
/// report shows it.
pub fn annotate(rec: &mut RunRecord, runs: &[ExportRun]) -> usize {
    let (agreed, disagree) = compare(rec, runs);
    rec.meta.insert("c_exports".into(), format!("{agreed}/{} agree", runs.len()));
    if !disagree.is_empty() {
        rec.meta.insert("c_exports_disagree".into(), disagree.join("\n"));
    }
    disagree.len()
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("      {l}")).collect::<Vec<_>>().join("\n")
}

fn last_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_map_to_statuses() {
        assert_eq!(status_of(Some(0), "PASS\n"), "PASS");
        assert_eq!(status_of(Some(0), "note\nXFAIL: known-bad on ..6.2\n"), "XFAIL");
        assert_eq!(status_of(Some(0), "XPASS: a fix was probably backported\n"), "XPASS");
        assert_eq!(status_of(Some(0), "something else\n"), "EXIT0?");
        assert_eq!(status_of(Some(1), "x.ept:3: ..."), "FAIL");
        assert_eq!(status_of(Some(2), ""), "ERROR");
        assert_eq!(status_of(Some(77), "SKIP: needs root"), "SKIP");
        assert_eq!(status_of(Some(124), "TIMEOUT"), "TIMEOUT");
        assert_eq!(status_of(None, ""), "ERROR");
        assert_eq!(status_of(Some(3), ""), "EXIT?");
    }

    fn record(results: &[(&str, crate::report::Status)]) -> RunRecord {
        let kernel = crate::probe::KernelInfo { release: "test".into(), version: String::new(), numeric: None, arch: "x86_64".into(), cpus: 2, virt: String::new() };
        let results = results
            .iter()
            .map(|(n, s)| crate::report::CaseResult::bare(n, "", "", *s, None))
            .collect();
        RunRecord::new(kernel, results, 0.0, 0)
    }

    #[test]
    fn a_differing_or_missing_verdict_is_a_disagreement() {
        use crate::report::Status;
        let mut rec = record(&[("a::pass", Status::Pass), ("a::xfail", Status::Xfail), ("a::skip", Status::Skip)]);
        let run = |n: &str, s: &str| ExportRun { name: n.into(), status: s.into(), output: "out".into() };
        let runs = [run("a::pass", "PASS"), run("a::xfail", "FAIL"), run("a::skip", "SKIP"), run("a::gone", "PASS"), run("a::bad", "COMPILE")];
        assert_eq!(annotate(&mut rec, &runs), 3);
        assert_eq!(rec.meta["c_exports"], "2/5 agree");
        let d = &rec.meta["c_exports_disagree"];
        assert!(d.contains("a::xfail: C says FAIL, the interpreter XFAIL\n      out"), "{d}");
        assert!(d.contains("a::gone: C says PASS, the interpreter has no result"), "{d}");
        assert!(d.contains("a::bad: C says COMPILE"), "{d}");
    }
}
