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

/// Processes started for our cases carry EPOLLCHECK_CHILD naming a case
/// under `marker`; none may be left once a run is over.
fn leftover_case_processes(marker: &str) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let env = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let env = String::from_utf8_lossy(&env);
        if env.contains("EPOLLCHECK_CHILD=") && env.contains(marker) {
            out.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    out
}

#[test]
fn every_status_comes_out_as_the_model_says() {
    let out = std::env::temp_dir().join(format!("epollcheck-selftest-{}.json", std::process::id()));
    let run = epollcheck()
        .env("EPOLLCHECK_ROOT", root().join("fixtures/selftest"))
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
    assert_eq!(record.summary[&Status::Pass], 3);
    assert!(leftover_case_processes("cases/status/").is_empty(), "case processes outlived the run");
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
