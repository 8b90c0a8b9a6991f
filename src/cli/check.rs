//! `epollcheck check`: parse and validate case files without running them.

use crate::case::discover::{self, CaseFile};
use crate::suite::{self, Suite};
use std::path::Path;

pub const HELP: &str = "\
usage: epollcheck check [PATH|DIR...]

Parses and validates case files (every variant) without running them, and
prints each error as path:line:col with the offending line. Without PATHs,
checks the whole suite. Exit status 1 when any file has an error.
";

pub fn main(args: &[String]) -> Result<i32, String> {
    let p = super::parse("check", args, &[], &[])?;
    let files: Vec<CaseFile> = if p.pos.is_empty() {
        Suite::locate()?.files()?
    } else {
        let mut paths = Vec::new();
        for f in &p.pos {
            let path = Path::new(f);
            if path.is_dir() {
                paths.extend(discover::find_files(path).map_err(|e| format!("cannot list {f}: {e}"))?);
            } else {
                paths.push(path.to_path_buf());
            }
        }
        paths.iter().map(|f| discover::read_case_file(Path::new("."), f, Path::new("cases"))).collect()
    };
    let mut bad = 0;
    let mut instances = 0;
    for (inst, _) in suite::expand(&files) {
        instances += 1;
        if let Err(e) = crate::case::load(Path::new("."), &inst) {
            bad += 1;
            eprintln!("{e}\n");
        }
    }
    eprintln!("{} files, {instances} test instances, {bad} with errors", files.len());
    Ok(if bad == 0 { 0 } else { 1 })
}
