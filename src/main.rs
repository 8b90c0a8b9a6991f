//! `epollcheck`: the command line. All logic lives in the library.

fn main() {
    // This binary is also the case process: re-executed with
    // EPOLLCHECK_CHILD set, it runs one case and exits here.
    epollcheck::exec::run_if_child();
    // Inside a matrix VM, this binary is /init.
    epollcheck::vm::guest::run_if_guest();
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(epollcheck::cli::main(&args));
}
