//! Inside the VM: our binary is /init (pid 1). It mounts what the suite
//! needs, brings loopback up, runs the suite as a child process (reaping
//! every orphan, as pid 1 must), sends the run record out on the second
//! serial port framed by markers, and powers the machine off.

use std::io::Write;
use std::process::Command;

pub const INIT_MARK: &str = "@@EPOLLCHECK-INIT";
pub const PROBE_MARK: &str = "@@EPOLLCHECK-PROBE-OK";
pub const RECORD_BEGIN: &str = "@@EPOLLCHECK-RECORD-BEGIN";
pub const RECORD_END: &str = "@@EPOLLCHECK-RECORD-END";
pub const EXPORTS_BEGIN: &str = "@@EPOLLCHECK-EXPORTS-BEGIN";
pub const EXPORTS_END: &str = "@@EPOLLCHECK-EXPORTS-END";
/// Where `matrix --c-exports` puts the compiled C programs in the guest.
pub const EXPORTS_DIR: &str = "/exports";

/// Returns unless this process is the init of a guest booted by `matrix`.
pub fn run_if_guest() {
    if std::process::id() != 1 || std::env::args().count() > 1 {
        return;
    }
    guest_main()
}

/// `epollcheck.KEY=VALUE` parameters from the kernel command line.
struct Params(Vec<(String, String)>);

impl Params {
    fn read() -> Params {
        let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
        Params(
            cmdline
                .split_whitespace()
                .filter_map(|w| w.strip_prefix("epollcheck."))
                .map(|w| match w.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (w.to_string(), "1".to_string()),
                })
                .collect(),
        )
    }

    fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
    }
}

fn say(msg: &str) {
    let mut e = std::io::stderr();
    let _ = writeln!(e, "{msg}");
}

fn mount_all() {
    use nix::mount::{MsFlags, mount};
    let m = |src: &str, dst: &str, fs: &str| {
        let _ = std::fs::create_dir_all(dst);
        if let Err(e) = mount(Some(src), dst, Some(fs), MsFlags::empty(), None::<&str>) {
            say(&format!("epollcheck init: mount {fs} on {dst}: {e}"));
        }
    };
    m("proc", "/proc", "proc");
    m("sysfs", "/sys", "sysfs");
    m("devtmpfs", "/dev", "devtmpfs");
    m("devpts", "/dev/pts", "devpts");
    m("tmpfs", "/tmp", "tmpfs");
    m("tmpfs", "/dev/shm", "tmpfs");
}

fn guest_main() -> ! {
    mount_all();
    let uptime = std::fs::read_to_string("/proc/uptime").unwrap_or_default();
    say(&format!("{INIT_MARK} uptime={}", uptime.split_whitespace().next().unwrap_or("?")));
    if let Err(e) = crate::sys::net::loopback_up() {
        say(&format!("epollcheck init: cannot bring lo up: {}", crate::names::errno_name(e)));
    }
    let p = Params::read();
    if p.get("probe").is_some() {
        say(PROBE_MARK);
        power_off();
    }
    if p.get("stall").is_some() {
        // A test hook: a guest that never finishes, to prove the host's
        // deadline. Sleep in the kernel forever.
        say("epollcheck init: stalling on purpose (epollcheck.stall)");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
    if p.get("shell").is_some() {
        shell();
    }
    let rc = run_suite(&p);
    let exports = run_exports(&p);
    power_off_after(rc, exports.as_deref())
}

/// The exported C programs the host put in /exports, run one at a time
/// from /suite with the environment the suite had.
fn run_exports(p: &Params) -> Option<Vec<crate::export::agree::ExportRun>> {
    let list = std::fs::read_to_string(format!("{EXPORTS_DIR}/LIST")).ok()?;
    let programs: Vec<String> = list.lines().map(str::to_string).collect();
    say(&format!("@@P running {} exported C programs", programs.len()));
    let scale: f64 = p.get("scale").and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let mut env = vec![("EPOLLCHECK_TIMEOUT_SCALE", scale.to_string()), ("EPOLLCHECK_DISRUPTIVE", "1".to_string()), ("TMPDIR", "/tmp".to_string())];
    if std::path::Path::new("/suite/kconfig").exists() {
        env.push(("EPOLLCHECK_KCONFIG", "/suite/kconfig".to_string()));
    }
    // Each program stops itself at its case's timeout (at most 30 s here)
    // times the scale; the backstop only catches one that cannot.
    let backstop = std::time::Duration::from_secs_f64(30.0 * scale + 30.0);
    Some(crate::export::agree::run_programs(std::path::Path::new(EXPORTS_DIR), &programs, std::path::Path::new("/suite"), &env, backstop))
}

fn suite_command(p: &Params) -> Command {
    let mut cmd = Command::new("/bin/epollcheck");
    cmd.arg("run").arg("--quiet").args(["--out", "/tmp/record.json"]);
    cmd.args(["--jobs", p.get("jobs").unwrap_or("2")]);
    if p.get("trace").is_some() {
        cmd.args(["--record-trace", "--exact"]);
    }
    for f in p.get("filter").unwrap_or("").split(',').filter(|f| !f.is_empty()) {
        cmd.arg(f);
    }
    cmd.current_dir("/suite")
        .env("EPOLLCHECK_ROOT", "/suite")
        .env("EPOLLCHECK_VIRT", p.get("virt").unwrap_or("unknown"))
        .env("EPOLLCHECK_TIMEOUT_SCALE", p.get("scale").unwrap_or("1"))
        // A VM is thrown away after the run: cases that change
        // machine-wide state may run here.
        .env("EPOLLCHECK_DISRUPTIVE", "1")
        .env("EPOLLCHECK_PROGRESS", "lines")
        .env("TMPDIR", "/tmp")
        .env("HOME", "/")
        .env("PATH", "/bin");
    if std::path::Path::new("/suite/kconfig").exists() {
        cmd.env("EPOLLCHECK_KCONFIG", "/suite/kconfig");
    }
    cmd
}

/// Runs the suite and reaps every child until it is done; returns its exit code.
fn run_suite(p: &Params) -> i32 {
    let child = match suite_command(p).spawn() {
        Ok(c) => c,
        Err(e) => {
            say(&format!("epollcheck init: cannot start the suite: {e}"));
            return 125;
        }
    };
    let pid = child.id() as i32;
    loop {
        match crate::sys::proc::waitpid(-1, 0) {
            Ok((p, status)) if p == pid => {
                return if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 128 + libc::WTERMSIG(status) };
            }
            Ok(_) => {}
            Err(libc::ECHILD) => return 125,
            Err(_) => {}
        }
    }
}

fn send_record(rc: i32, exports: Option<&[crate::export::agree::ExportRun]>) {
    let record = std::fs::read("/tmp/record.json").unwrap_or_default();
    let Ok(port) = std::fs::OpenOptions::new().write(true).open("/dev/ttyS1") else {
        say("epollcheck init: no /dev/ttyS1 to send the record on");
        return;
    };
    // Raw mode, so the line discipline does not turn \n into \r\n.
    if let Ok(mut t) = nix::sys::termios::tcgetattr(&port) {
        nix::sys::termios::cfmakeraw(&mut t);
        let _ = nix::sys::termios::tcsetattr(&port, nix::sys::termios::SetArg::TCSANOW, &t);
    }
    let mut w = &port;
    if let Some(runs) = exports {
        let _ = writeln!(w, "{EXPORTS_BEGIN}");
        let _ = w.write_all(serde_json::to_string(runs).unwrap_or_default().as_bytes());
        let _ = writeln!(w, "\n{EXPORTS_END}");
    }
    let _ = writeln!(w, "{RECORD_BEGIN}");
    let _ = w.write_all(&record);
    let _ = writeln!(w, "\n{RECORD_END} rc={rc}");
    let _ = w.flush();
    let _ = nix::sys::termios::tcdrain(&port);
}

fn power_off_after(rc: i32, exports: Option<&[crate::export::agree::ExportRun]>) -> ! {
    send_record(rc, exports);
    power_off()
}

fn power_off() -> ! {
    nix::unistd::sync();
    let _ = nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_POWER_OFF);
    // reboot(2) does not return on success; if it failed, pid 1 must not exit.
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

fn shell() -> ! {
    say("epollcheck: the suite is in /suite; try `epollcheck list` or `epollcheck run --trace cases/oneshot/disarm.ept`");
    let err = std::os::unix::process::CommandExt::exec(
        Command::new("/bin/busybox")
            .args(["sh", "-l"])
            .current_dir("/suite")
            .env("PATH", "/bin")
            .env("EPOLLCHECK_ROOT", "/suite")
            .env("HOME", "/")
            .env("PS1", "epollcheck-vm# "),
    );
    say(&format!("epollcheck init: cannot start a shell ({err}); is busybox-static installed on the host?"));
    power_off()
}
