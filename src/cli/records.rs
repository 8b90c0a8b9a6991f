//! `epollcheck export kcidb` and `epollcheck diff`: working with run records.

use crate::report::diff::{diff, render};
use crate::report::kcidb::to_kcidb;
use crate::report::RunRecord;
use std::path::Path;

pub const EXPORT_HELP: &str = "\
usage: epollcheck export kcidb RUN.json... [--out FILE]

Converts run records to KernelCI KCIDB I/O data (schema v5.3): a checkout
and a build per kernel, a test per case instance (path epollcheck.AREA.CASE,
status PASS/FAIL/ERROR/SKIP; XFAIL and XPASS are PASS with the exact status
in misc). Writes to stdout or FILE; submit with kcidb-submit.
";

pub const DIFF_HELP: &str = "\
usage: epollcheck diff OLD.json NEW.json

Lists the regressions (was PASS, XFAIL, XPASS or SKIP; is FAIL, TIMEOUT or
ERROR), the fixes, other status changes, and new or removed tests between
two run records, for example the same kernel before and after an update.
Exit status 1 when there are regressions.
";

fn load_all(paths: &[String]) -> Result<Vec<RunRecord>, String> {
    if paths.is_empty() {
        return Err("give one or more run records (results/*.json)".into());
    }
    paths.iter().map(|p| RunRecord::load(Path::new(p))).collect()
}

pub fn export(args: &[String]) -> Result<i32, String> {
    let Some((what, rest)) = args.split_first() else {
        return Err("export what? (epollcheck export kcidb RUN.json...)".into());
    };
    if what != "kcidb" {
        return Err(format!("unknown export `{what}` (only kcidb; for C reproducers use `epollcheck export-c`)"));
    }
    let p = super::parse("export", rest, &["out"], &[])?;
    let data = to_kcidb(&load_all(&p.pos)?);
    let text = serde_json::to_string_pretty(&data).map_err(|e| e.to_string())? + "\n";
    match p.value("out") {
        Some(f) => std::fs::write(f, text).map_err(|e| format!("cannot write {f}: {e}"))?,
        None => print!("{text}"),
    }
    Ok(0)
}

pub fn diff_main(args: &[String]) -> Result<i32, String> {
    let p = super::parse("diff", args, &[], &[])?;
    let [old, new] = p.pos.as_slice() else {
        return Err("diff takes two run records: epollcheck diff OLD.json NEW.json".into());
    };
    let (a, b) = (RunRecord::load(Path::new(old))?, RunRecord::load(Path::new(new))?);
    let d = diff(&a, &b);
    print!("{}", render(&d, &a, &b));
    Ok(if d.regressions.is_empty() { 0 } else { 1 })
}
