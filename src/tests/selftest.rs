//! Runs the `epollcheck` binary on `fixtures/selftest`, whose cases are
//! built to end in each status, and checks the whole run against the model
//! in `fixtures/selftest/EXPECTED`; then checks the CLI's error handling.

use epollcheck::report::{RunRecord, Status};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn epollcheck() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_epollcheck"));
    c.current_dir(root());
    c
}

fn expected_model() -> Vec<(String, Status, String)> {
    let text = std::fs::read_to_string(root().join("fixtures/selftest/EXPECTED")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.splitn(3, char::is_whitespace).filter(|p| !p.is_empty());
            let name = parts.next().unwrap().to_string();
            let rest = l[name.len()..].trim_start();
            let (status, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            (name, Status::parse(status).unwrap_or_else(|| panic!("bad status in {l}")), reason.trim().to_string())
        })
        .collect()
}

/// Processes started for our cases inherit the run's environment, so a
/// unique variable marks them; none may be left once a run is over.
fn leftover_case_processes(tag: &str) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let env = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let env = String::from_utf8_lossy(&env);
        if env.contains("EPOLLCHECK_CHILD=") && env.contains(tag) {
            out.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    out
}

#[test]
fn every_status_comes_out_as_the_model_says() {
    let out = std::env::temp_dir().join(format!("epollcheck-selftest-{}.json", std::process::id()));
    let tag = format!("EPOLLCHECK_SELFTEST_TAG=run-{}", std::process::id());
    // A private TMPDIR: every temporary file of the run lands there.
    let tmp = tempfile::tempdir().unwrap();
    let run = epollcheck()
        .env("TMPDIR", tmp.path())
        .env("EPOLLCHECK_ROOT", root().join("fixtures/selftest"))
        .env("EPOLLCHECK_SELFTEST_TAG", tag.trim_start_matches("EPOLLCHECK_SELFTEST_TAG="))
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "a run with FAIL, TIMEOUT and ERROR exits 1: {}", String::from_utf8_lossy(&run.stderr));
    let record = RunRecord::load(&out).unwrap();
    let model = expected_model();
    let mut got: Vec<&str> = record.results.iter().map(|r| r.name.as_str()).collect();
    let mut want: Vec<&str> = model.iter().map(|m| m.0.as_str()).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "the run holds exactly the model's tests");
    for (name, status, reason) in &model {
        let r = record.results.iter().find(|r| &r.name == name).unwrap();
        assert_eq!(r.status, *status, "{name}: {:?}", r.reason);
        let text = r.reason.clone().unwrap_or_default();
        assert!(text.contains(reason.as_str()), "{name}: reason {text:?} lacks {reason:?}");
    }
    let fail = record.results.iter().find(|r| r.name == "status::fail").unwrap();
    assert_eq!(fail.hints, vec!["fixed by 0123456789ab a made-up fix"]);
    assert_eq!(fail.failure.as_ref().unwrap().line, 8);
    assert!(record.kernel.numeric.is_some());
    assert_eq!(record.summary[&Status::Pass], 5);
    assert!(leftover_case_processes(&tag).is_empty(), "case processes outlived the run");
    // Every case's scratch directory, progress page and restore journal is
    // gone (the TIMEOUT cases were killed and could not clean up); only the
    // serial locks, shared by all runs, stay.
    let left: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("epollcheck-serial-"))
        .collect();
    assert!(left.is_empty(), "temporary files outlived the run: {left:?}");
    let _ = std::fs::remove_file(out);
}

#[test]
fn trace_prints_every_call_with_its_result() {
    let out = epollcheck().env("EPOLLCHECK_ROOT", root().join("fixtures/selftest")).args(["run", "--trace", "cases/status/fail.ept"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(text.contains("epoll_ctl(3, EPOLL_CTL_ADD, 4, {EPOLLIN, data=7}) = 0"), "{text}");
    assert!(text.contains("epoll_wait(3, buf, 16, 0) = 1 event: p.r EPOLLIN data=7"), "{text}");
    assert!(text.contains("== FAIL"), "{text}");
}

#[test]
fn trace_of_a_timeout_keeps_the_steps_before_the_hang() {
    let out = epollcheck().env("EPOLLCHECK_ROOT", root().join("fixtures/selftest")).args(["run", "--trace", "cases/status/timeout.ept"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(text.contains("main   L4    epoll_create1(0) = 3"), "{text}");
    assert!(text.contains("== TIMEOUT"), "{text}");
    assert!(text.contains("note: the trace ends at the deadline"), "{text}");
}

#[test]
fn trace_shows_each_step_of_a_fork_once_in_time_order() {
    let out = epollcheck().env("EPOLLCHECK_ROOT", root().join("fixtures/selftest")).args(["run", "--trace", "cases/interp/fork-in-loop.ept"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(text.matches("epoll_create1(").count(), 1, "steps before a fork are not repeated by the child: {text}");
    for kid in ["kid0", "kid1", "kid2"] {
        assert_eq!(text.lines().filter(|l| l.contains(&format!(" {kid} "))).count(), 1, "{kid}: {text}");
    }
    let starts: Vec<f64> = text.lines().filter_map(|l| l.split_whitespace().next()?.parse().ok()).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "steps in time order: {text}");
}

fn usage_error(args: &[&str]) -> String {
    let out = epollcheck().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?} is a usage error");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_command_lines_are_named_not_panicked_on() {
    assert!(usage_error(&["run", "--bogus"]).contains("unknown option `--bogus` for `epollcheck run`"));
    assert!(usage_error(&["frobnicate"]).contains("unknown command `frobnicate`"));
    assert!(usage_error(&["run", "--jobs", "many"]).contains("--jobs takes a number, not `many`"));
    assert!(usage_error(&["run", "no_such_test_anywhere"]).contains("no test matches"));
    let e = epollcheck().env("EPOLLCHECK_ROOT", "/nonexistent").args(["list"]).output().unwrap();
    assert_eq!(e.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&e.stderr).contains("EPOLLCHECK_ROOT=/nonexistent has no cases/ directory"));
}

#[test]
fn check_reports_file_line_and_column() {
    let out = epollcheck().args(["check", "fixtures/bad-cases/unknown-flag.ept"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("fixtures/bad-cases/unknown-flag.ept:5:18: unknown EPOLL flag `BOGUS`"), "{err}");
    let ok = epollcheck().args(["check"]).output().unwrap();
    assert_eq!(ok.status.code(), Some(0), "the shipped cases all parse: {}", String::from_utf8_lossy(&ok.stderr));
    assert!(Path::new(&root().join("cases")).is_dir());
}

#[test]
fn repro_until_fail_finds_a_rare_failure() {
    // fixtures/flaky's case fails when a 300-sided die shows 0. In 20000
    // runs the chance of never seeing it is (299/300)^20000, about 1e-29.
    let out = epollcheck()
        .env("EPOLLCHECK_ROOT", root().join("fixtures/flaky"))
        .args(["repro", "flaky::one_in_300", "--until-fail", "--repeat", "20000"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL x1"), "{text}");
    assert!(text.contains("cases/flaky/one-in-300.ept:10: check roll > 0"), "{text}");
    assert!(text.contains("dice 300: rolled 0 = 0"), "the failing run's trace is printed: {text}");
}

#[test]
fn diff_names_regressions_and_fixes() {
    let dir = tempfile::tempdir().unwrap();
    let run = |root: &str, out: &str| {
        epollcheck().env("EPOLLCHECK_ROOT", root).args(["run", "--quiet", "--out", out]).output().unwrap();
    };
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    run(&root().join("fixtures/selftest").display().to_string(), a.to_str().unwrap());
    // The same record with one test made worse and one made better.
    let mut rec: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&a).unwrap()).unwrap();
    for r in rec["results"].as_array_mut().unwrap() {
        match r["name"].as_str().unwrap() {
            "status::pass" => r["status"] = "FAIL".into(),
            "status::fail" => r["status"] = "PASS".into(),
            _ => {}
        }
    }
    std::fs::write(&b, rec.to_string()).unwrap();
    let out = epollcheck().args(["diff"]).arg(&a).arg(&b).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "regressions make diff exit 1: {text}");
    assert!(text.contains("1 regressions, 1 fixes"), "{text}");
    assert!(text.contains("status::pass: PASS -> FAIL"), "{text}");
    assert!(text.contains("status::fail: FAIL -> PASS"), "{text}");
    let same = epollcheck().args(["diff"]).arg(&a).arg(&a).output().unwrap();
    assert_eq!(same.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&same.stdout).contains("No changes."));
}

#[test]
fn machine_formats_agree_with_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("r.json");
    let ktap = epollcheck()
        .env("EPOLLCHECK_ROOT", root().join("fixtures/selftest"))
        .args(["run", "--format", "ktap", "--out"])
        .arg(&rec)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&ktap.stdout);
    assert!(text.starts_with("KTAP version 1\n"), "{text}");
    assert!(text.contains("\n1..20\n"), "{text}");
    assert!(text.contains("ok 19 status::xfail # XFAIL known-bad"), "{text}");
    assert!(text.contains("not ok 16 status::timeout # TIMEOUT no result within 1s"), "{text}");
    assert!(text.contains("ok 14 status::skip # SKIP needs 100000 CPUs"), "{text}");
    let kcidb = epollcheck().args(["export", "kcidb"]).arg(&rec).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&kcidb.stdout).unwrap();
    assert_eq!(v["version"]["major"], 5);
    assert_eq!(v["tests"].as_array().unwrap().len(), 20);
    assert!(v["tests"].as_array().unwrap().iter().any(|t| t["path"] == "epollcheck.status.xfail" && t["status"] == "PASS" && t["misc"]["epollcheck_status"] == "XFAIL"));
}
