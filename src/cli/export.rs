//! `epollcheck export-c`: one case instance as a standalone C program.

use crate::case::{Instance, load};
use crate::suite::{self, Suite};
use std::path::Path;

pub const HELP: &str = "\
usage: epollcheck export-c CASE [--variant LABEL[,LABEL...]] [--out FILE]

Writes one case instance as a standalone C program (libc and pthreads only)
that makes the case's calls against the running kernel, checks the same
expectations and prints the same verdict as `epollcheck run`. Build and run
it from the suite root, where fixture paths resolve:

    cc -O2 -pthread repro.c -o repro && ./repro

CASE is a case file (cases/oneshot/disarm.ept) or a test name
(oneshot::disarm, or with its variant, signal::eintr_never_restarted::epoll_pwait::restart).
A case with variants needs one: the test name's suffix, or --variant with
one label per axis, in the order of the case's `variants:` lines.

options:
  --variant LABELS   the variant's labels, comma separated (e.g. epoll_pwait,restart)
  --out FILE         write the program to FILE (default: standard output)

The program prints PASS, `XFAIL: reason`, `XPASS: reason`, `SKIP: reason`,
TIMEOUT, or the failure as epollcheck shows it, and exits 0 for PASS, XFAIL
and XPASS, 1 for FAIL, 2 for ERROR, 77 for SKIP and 124 for TIMEOUT.
";

pub fn main(args: &[String]) -> Result<i32, String> {
    let p = super::parse("export-c", args, &["variant", "out"], &[])?;
    let [wanted] = p.pos.as_slice() else {
        return Err("export-c takes one CASE: a case file or a test name (see `epollcheck export-c --help`)".into());
    };
    let suite = Suite::locate()?;
    let inst = pick(&suite, wanted, p.value("variant"))?;
    let case = load(&suite.root, &inst).map_err(|e| e.to_string())?;
    let program = crate::export::export_c(&case).map_err(|e| e.to_string())?;
    match p.value("out") {
        Some(out) => std::fs::write(out, program).map_err(|e| format!("cannot write {out}: {e}"))?,
        None => {
            use std::io::Write;
            match std::io::stdout().lock().write_all(program.as_bytes()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(format!("cannot write the program: {e}")),
                _ => {}
            }
        }
    }
    Ok(0)
}

/// The one instance CASE (and --variant) names.
fn pick(suite: &Suite, wanted: &str, variant: Option<&str>) -> Result<Instance, String> {
    let all: Vec<Instance> = suite::expand(&suite.files()?).into_iter().map(|(i, _)| i).collect();
    let by_path: Vec<&Instance> = all.iter().filter(|i| same_file(suite, &i.path, wanted)).collect();
    let mut found: Vec<&Instance> = if by_path.is_empty() {
        all.iter().filter(|i| i.name == wanted || base_of(i) == wanted).collect()
    } else {
        by_path
    };
    if found.is_empty() {
        return Err(format!("no case file or test is named `{wanted}` (see `epollcheck list`)"));
    }
    if let Some(v) = variant {
        let labels: Vec<&str> = v.split(',').map(str::trim).filter(|l| !l.is_empty()).collect();
        found.retain(|i| i.variant.iter().map(|x| x.label.as_str()).eq(labels.iter().copied()));
        if found.is_empty() {
            return Err(format!("`{wanted}` has no variant {v} (its instances: see `epollcheck list {wanted}`)"));
        }
    }
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        many => {
            let names: Vec<&str> = many.iter().map(|i| i.name.as_str()).collect();
            Err(format!("`{wanted}` has {} variants; pick one with --variant or its test name: {}", many.len(), names.join(", ")))
        }
    }
}

fn same_file(suite: &Suite, path: &Path, wanted: &str) -> bool {
    let w = Path::new(wanted);
    if path == w || suite.root.join(path) == w {
        return true;
    }
    match (std::fs::canonicalize(suite.root.join(path)), std::fs::canonicalize(w)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The test name without its variant suffix.
fn base_of(i: &Instance) -> String {
    crate::case::discover::base_name(Path::new("cases"), &i.path)
}
