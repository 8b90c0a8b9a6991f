//! The `epollcheck` command line.

mod args;
mod bisect;
mod check;
mod coverage;
mod export;
mod fuzz;
mod list;
mod matrix;
mod matrix_shell;
mod records;
mod repro;
mod run;
mod soak;

pub use args::{Parsed, parse};

const USAGE: &str = "\
epollcheck: conformance tests for Linux epoll, run against this kernel

usage:
  epollcheck run [FILTER...] [options]   run the suite (or the cases matching FILTER)
  epollcheck run --trace CASE            run one case and print every step with its raw result
  epollcheck list [FILTER...]            list test instances and whether they would run here
  epollcheck check [PATH...]             parse and validate case files without running them
  epollcheck soak [FILTER...] --runs N   run again and again; report every status that ever changed
  epollcheck coverage [--check]          write (or check) docs/coverage.md
  epollcheck export-c CASE [--out FILE]  write one case instance as a standalone C program
  epollcheck matrix [--kernel SPEC]...   run the suite on several kernels (qemu) and the host, side by side
  epollcheck export kcidb RUN.json...    run records as KernelCI KCIDB data
  epollcheck diff OLD.json NEW.json      regressions and fixes between two runs
  epollcheck repro CASE --until-fail     one case again and again; the failing run's full trace
  epollcheck bisect CASE                 one case on every cached kernel; where its result changes
  epollcheck fuzz [--seconds N]          mutated case files against the parser (a developer tool)
  epollcheck help [COMMAND]              this text, or a command's options

FILTER matches part of a test name (oneshot::disarm) or a case file path.
Exit status: 0 when every case is PASS, XFAIL, XPASS or SKIP; 1 when any is
FAIL, TIMEOUT or ERROR; 2 for a usage error.
";

/// Runs the CLI; returns the process exit status.
pub fn main(argv: &[String]) -> i32 {
    let Some(cmd) = argv.first() else {
        eprint!("{USAGE}");
        return 2;
    };
    let rest = &argv[1..];
    if rest.iter().any(|a| a == "--help" || a == "-h") {
        return help(Some(cmd));
    }
    let r = match cmd.as_str() {
        "run" => run::main(rest),
        "list" => list::main(rest),
        "check" => check::main(rest),
        "soak" => soak::main(rest),
        "coverage" => coverage::main(rest),
        "export-c" => export::main(rest),
        "matrix" => matrix::main(rest),
        "export" => records::export(rest),
        "diff" => records::diff_main(rest),
        "repro" => repro::main(rest),
        "bisect" => bisect::main(rest),
        "fuzz" => fuzz::main(rest),
        "help" | "--help" | "-h" => return help(rest.first().map(|s| s.as_str())),
        "--version" | "version" => {
            println!("epollcheck {}", env!("CARGO_PKG_VERSION"));
            return 0;
        }
        other => Err(format!("unknown command `{other}` (commands: run, list, check, soak, coverage, export-c, matrix, export, diff, repro, bisect, fuzz, help)")),
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("epollcheck: error: {e}");
            2
        }
    }
}

fn help(cmd: Option<&str>) -> i32 {
    match cmd {
        Some("run") => print!("{}", run::HELP),
        Some("list") => print!("{}", list::HELP),
        Some("check") => print!("{}", check::HELP),
        Some("soak") => print!("{}", soak::HELP),
        Some("coverage") => print!("{}", coverage::HELP),
        Some("export-c") => print!("{}", export::HELP),
        Some("matrix") => print!("{}", matrix::HELP),
        Some("export") => print!("{}", records::EXPORT_HELP),
        Some("diff") => print!("{}", records::DIFF_HELP),
        Some("repro") => print!("{}", repro::HELP),
        Some("bisect") => print!("{}", bisect::HELP),
        Some("fuzz") => print!("{}", fuzz::HELP),
        _ => print!("{USAGE}"),
    }
    0
}
