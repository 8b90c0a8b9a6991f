//! `cargo test --test cases`: every case file (and variant) is a test.
//! The logic lives in the library (`epollcheck::trials`); this file only
//! wires it to libtest-mimic.

use std::process::ExitCode;

fn main() -> ExitCode {
    // This binary is also the case process: re-executed with
    // EPOLLCHECK_CHILD set, it runs one case and exits here.
    epollcheck::exec::run_if_child();
    let args = libtest_mimic::Arguments::from_args();
    let trials = epollcheck::trials::trials(&args);
    // `exit_code()`, not `exit()`: the latter skips destructors (see
    // nextest-rs/datatest-stable#20).
    let conclusion = libtest_mimic::run(&args, trials);
    epollcheck::trials::cleanup();
    conclusion.exit_code()
}
