//! The `cargo test` / `cargo nextest run` view of the suite: one
//! libtest-mimic trial per case instance, plus one per example in
//! `docs/case-format.md`.
//!
//! Requirements are probed while listing, so an unmet one makes the test
//! ignored (nextest counts it as skipped) with the reason; `--include-ignored`
//! runs it anyway, which is how to check whether a backport brought the
//! feature after all.

use crate::case::Instance;
use crate::case::header::Header;
use crate::exec::RunConfig;
use crate::probe::{self, KernelInfo};
use crate::report::Status;
use crate::report::human::failure_message;
use crate::suite::{self, Suite};
use libtest_mimic::{Arguments, Completion, Failed, Trial};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub fn trials(args: &Arguments) -> Vec<Trial> {
    let suite = match Suite::locate() {
        Ok(s) => s,
        Err(e) => return vec![Trial::test("suite::setup", move || Err(Failed::from(e)))],
    };
    let cfg = match RunConfig::new(&suite.root) {
        Ok(c) => Arc::new(c),
        Err(e) => return vec![Trial::test("suite::setup", move || Err(Failed::from(e)))],
    };
    let kernel = Arc::new(probe::kernel());
    let exact_one = args.exact && args.skip.is_empty() && args.filter.is_some();
    let files = match (exact_one, args.filter.as_deref()) {
        (true, Some(name)) => suite.files_for_name(name),
        _ => suite.files(),
    };
    let files = match files {
        Ok(f) => f,
        Err(e) => return vec![Trial::test("suite::setup", move || Err(Failed::from(e)))],
    };
    let mut out: Vec<Trial> = suite::expand(&files).into_iter().map(|(inst, h)| case_trial(&cfg, &kernel, inst, h)).collect();
    if !exact_one || args.filter.as_deref().is_some_and(|f| f.starts_with("docs::")) {
        out.extend(doc_trials(&suite, &cfg, &kernel));
    }
    out
}

fn case_trial(cfg: &Arc<RunConfig>, kernel: &Arc<KernelInfo>, inst: Instance, header: Option<Header>) -> Trial {
    let unmet = header.as_ref().and_then(|h| probe::unmet(&h.requirements(&inst.variant)));
    let name = inst.name.clone();
    let (cfg, kernel) = (cfg.clone(), kernel.clone());
    let serial = header.and_then(|h| h.serial);
    let ignored = unmet.is_some();
    Trial::ignorable_test(name, move || {
        let _guard = suite::serial_lock(serial.as_deref());
        let mut forced = cfg.as_ref().clone();
        if ignored {
            // Run even though a probe said no: the user forced it with
            // --include-ignored, so requirements must not skip it again.
            forced.check_requires = false;
        }
        verdict(crate::exec::run_instance(&forced, &inst, &kernel))
    })
    .with_ignored_flag(ignored)
}

/// PASS, XFAIL and XPASS pass; SKIP is ignored with its reason; FAIL,
/// TIMEOUT and ERROR fail with the full message. `EPOLLCHECK_STRICT=1`
/// makes XPASS fail, for kernel developers confirming a fix.
fn verdict(r: crate::report::CaseResult) -> Result<Completion, Failed> {
    let strict = std::env::var("EPOLLCHECK_STRICT").is_ok_and(|v| v == "1");
    match r.status {
        Status::Pass | Status::Xfail => Ok(Completion::Completed),
        Status::Xpass if !strict => Ok(Completion::Completed),
        Status::Skip => Ok(Completion::ignored_with(r.reason.unwrap_or_default())),
        _ => Err(Failed::from(format!("{}: {}", r.status, failure_message(&r)))),
    }
}

/// Each ```ept block of docs/case-format.md becomes a test that must pass
/// (or skip), so the documentation cannot drift from the language.
fn doc_trials(suite: &Suite, cfg: &Arc<RunConfig>, kernel: &Arc<KernelInfo>) -> Vec<Trial> {
    let doc = suite.root.join("docs/case-format.md");
    let Ok(text) = std::fs::read_to_string(&doc) else { return vec![] };
    let dir = examples_dir();
    let mut out = Vec::new();
    for (i, (line, body)) in doc_examples(&text).into_iter().enumerate() {
        // Named after the example's title, so adding an example does not
        // rename the others.
        let title = body.lines().find_map(|l| l.strip_prefix("# title:")).unwrap_or("untitled");
        let slug: Vec<String> = title.split_whitespace().take(8).map(crate::case::discover::sanitize).collect();
        let mut joined = slug.join("_");
        while joined.contains("__") {
            joined = joined.replace("__", "_");
        }
        let name = format!("docs::case_format::{}", joined.trim_matches('_'));
        let _ = line;
        let path = dir.join(format!("example-{:02}.ept", i + 1));
        let (cfg, kernel) = (cfg.clone(), kernel.clone());
        out.push(Trial::ignorable_test(name.clone(), move || {
            std::fs::create_dir_all(path.parent().unwrap_or(Path::new("."))).map_err(|e| Failed::from(e.to_string()))?;
            std::fs::write(&path, &body).map_err(|e| Failed::from(e.to_string()))?;
            let inst = Instance { name, path: PathBuf::from(&path), variant: vec![] };
            let variants = crate::case::discover::header_of(&path, &body).map(|h| crate::case::discover::variant_combinations(&h)).unwrap_or_else(|_| vec![vec![]]);
            let mut last = Ok(Completion::Completed);
            for v in variants {
                let inst = Instance { variant: v, ..inst.clone() };
                last = verdict(crate::exec::run_instance(&cfg, &inst, &kernel));
                if last.is_err() {
                    break;
                }
            }
            last
        }));
    }
    out
}

fn examples_dir() -> PathBuf {
    std::env::temp_dir().join(format!("epollcheck-doc-examples-{}", std::process::id()))
}

/// Removes the files the doc examples were written to; the harness calls
/// it once every trial has run.
pub fn cleanup() {
    let _ = std::fs::remove_dir_all(examples_dir());
}

/// `(line, text)` of every fenced block whose info string is `ept`.
pub fn doc_examples(md: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in md.lines().enumerate() {
        let t = line.trim_start();
        match &mut current {
            None if t.starts_with("```ept") && t.trim_end() == "```ept" => current = Some((i + 1, String::new())),
            Some((_, body)) if t.starts_with("```") => {
                let done = std::mem::take(body);
                let start = current.take().map(|(l, _)| l).unwrap_or(0);
                out.push((start, done));
            }
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    out
}
