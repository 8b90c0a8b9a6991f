//! Booting one guest under qemu: the console (ttyS0) goes to a file we
//! tail for progress and crash reports; the run record comes back on
//! ttyS1, a second file, framed by markers. A deadline bounds every boot.

use super::guest::{EXPORTS_BEGIN, EXPORTS_END, INIT_MARK, PROBE_MARK, RECORD_BEGIN, RECORD_END};
use crate::export::agree::ExportRun;
use crate::report::RunRecord;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    Tcg,
    Kvm,
}

impl Accel {
    pub fn name(self) -> &'static str {
        match self {
            Accel::Tcg => "tcg",
            Accel::Kvm => "kvm",
        }
    }
}

#[derive(Clone, Debug)]
pub struct VmOptions {
    pub accel: Accel,
    pub smp: u32,
    pub mem_mb: u32,
    pub deadline: Duration,
    pub timeout_scale: f64,
    pub jobs: usize,
    pub filters: Vec<String>,
    /// Extra kernel command-line words (tests use it to break a guest).
    pub append: Vec<String>,
}

pub enum Outcome {
    Record { record: Box<RunRecord>, rc: i32 },
    /// qemu ended without a record: a panic, an oops that killed init, or
    /// qemu itself failing.
    Died(String),
    TimedOut,
}

pub struct GuestRun {
    pub outcome: Outcome,
    /// Host seconds from starting qemu to our init's first line.
    pub boot_s: Option<f64>,
    pub wall_s: f64,
    pub console_tail: String,
    /// The console showed a kernel oops, BUG, WARNING or panic.
    pub kernel_trouble: Option<String>,
    /// What the exported C programs said, when the guest had them.
    pub exports: Option<Vec<ExportRun>>,
}

pub fn qemu_binary() -> Result<PathBuf, String> {
    let name = "qemu-system-x86_64";
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("{name} not found: install it (apt-get install qemu-system-x86) to run kernels in VMs, or use --kernel host"))
}

pub fn qemu_version() -> String {
    Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).lines().next().map(str::to_string))
        .unwrap_or_default()
}

fn command(image: &Path, initrd: &Path, o: &VmOptions, console: &Path, results: &Path, extra: &[&str]) -> Result<Command, String> {
    let mut cmd = Command::new(qemu_binary()?);
    let accel = match o.accel {
        // With several vCPUs, qemu 7.2's multi-threaded TCG crashes 6.12+
        // guests now and then (reference notes, vm-matrix §2); one host
        // thread for all vCPUs does not, at the speed of -smp 1.
        Accel::Tcg => "tcg,thread=single",
        Accel::Kvm => "kvm",
    };
    let mut append = vec!["console=ttyS0".to_string(), "panic=-1".into(), "quiet".into(), format!("epollcheck.virt={}", o.accel.name())];
    append.push(format!("epollcheck.scale={}", o.timeout_scale));
    append.push(format!("epollcheck.jobs={}", o.jobs));
    if !o.filters.is_empty() {
        append.push(format!("epollcheck.filter={}", o.filters.join(",")));
    }
    append.extend(o.append.iter().cloned());
    append.extend(extra.iter().map(|s| s.to_string()));
    cmd.args(["-nodefaults", "-no-user-config", "-machine", "pc", "-accel", accel])
        .args(["-cpu", if o.accel == Accel::Kvm { "host" } else { "max" }])
        .args(["-smp", &o.smp.to_string(), "-m", &o.mem_mb.to_string()])
        .args(["-display", "none", "-no-reboot", "-nic", "none", "-monitor", "none"])
        .arg("-kernel")
        .arg(image)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", &append.join(" ")])
        .arg("-chardev")
        .arg(format!("file,id=console,path={}", console.display()))
        .args(["-serial", "chardev:console"])
        .arg("-chardev")
        .arg(format!("file,id=results,path={}", results.display()))
        .args(["-serial", "chardev:results"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    Ok(cmd)
}

/// Boots the guest and waits for it (or the deadline). `progress` gets
/// the guest's progress lines as they appear on the console.
pub fn run(image: &Path, initrd: &Path, o: &VmOptions, work: &Path, progress: &dyn Fn(&str)) -> GuestRun {
    let console = work.join("console.log");
    let results = work.join("results.log");
    let start = Instant::now();
    let mut cmd = match command(image, initrd, o, &console, &results, &[]) {
        Ok(c) => c,
        Err(e) => return died(e, start),
    };
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return died(format!("cannot start qemu: {e}"), start),
    };
    let mut tail = ConsoleTail::new(&console);
    let mut boot_s = None;
    let status = loop {
        for line in tail.new_lines() {
            if boot_s.is_none() && line.starts_with(INIT_MARK) {
                boot_s = Some(start.elapsed().as_secs_f64());
                progress("booted");
            } else if let Some(p) = line.strip_prefix("@@P ") {
                progress(p);
            }
        }
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if start.elapsed() > o.deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return died(format!("cannot wait for qemu: {e}"), start),
        }
    };
    let mut qemu_err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut qemu_err);
    }
    let console_text = std::fs::read_to_string(&console).unwrap_or_default();
    let console_tail = last_lines(&console_text, 40);
    let kernel_trouble = trouble(&console_text);
    let wall_s = start.elapsed().as_secs_f64();
    let sent = std::fs::read(&results).unwrap_or_default();
    let exports = parse_exports(&sent);
    let outcome = match status {
        None => Outcome::TimedOut,
        Some(_) => match parse_record(&sent) {
            Ok((record, rc)) => Outcome::Record { record: Box::new(record), rc },
            Err(why) => {
                let q = qemu_err.trim();
                Outcome::Died(if q.is_empty() { why } else { format!("{why}; qemu said: {q}") })
            }
        },
    };
    GuestRun { outcome, boot_s, wall_s, console_tail, kernel_trouble, exports }
}

fn died(why: String, start: Instant) -> GuestRun {
    GuestRun { outcome: Outcome::Died(why), boot_s: None, wall_s: start.elapsed().as_secs_f64(), console_tail: String::new(), kernel_trouble: None, exports: None }
}

/// The record between the markers, and the suite's exit code.
pub fn parse_record(bytes: &[u8]) -> Result<(RunRecord, i32), String> {
    let text = String::from_utf8_lossy(bytes);
    let begin = text.find(RECORD_BEGIN).ok_or("the guest sent no run record (it died before the end of the run)")?;
    let body = &text[begin + RECORD_BEGIN.len()..];
    let end = body.find(RECORD_END).ok_or("the run record is cut short (the guest died while sending it)")?;
    let rc = body[end + RECORD_END.len()..].trim().strip_prefix("rc=").and_then(|r| r.split_whitespace().next()?.parse().ok()).unwrap_or(-1);
    let json = body[..end].trim();
    if json.is_empty() {
        return Err(format!("the suite in the guest wrote no record (exit code {rc})"));
    }
    let record: RunRecord = serde_json::from_str(json).map_err(|e| format!("the guest's run record does not parse: {e}"))?;
    Ok((record, rc))
}

/// The exported C programs' results, when the guest sent them whole.
pub fn parse_exports(bytes: &[u8]) -> Option<Vec<ExportRun>> {
    let text = String::from_utf8_lossy(bytes);
    let body = &text[text.find(EXPORTS_BEGIN)? + EXPORTS_BEGIN.len()..];
    serde_json::from_str(body[..body.find(EXPORTS_END)?].trim()).ok()
}

/// What the kernel printed that means trouble, if anything.
pub fn trouble(console: &str) -> Option<String> {
    const SIGNS: [&str; 6] = ["Kernel panic", "Oops:", "BUG:", "WARNING:", "general protection fault", "Call Trace:"];
    console.lines().find(|l| SIGNS.iter().any(|s| l.contains(s))).map(|l| l.trim().to_string())
}

pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Reads a growing file line by line.
struct ConsoleTail {
    path: PathBuf,
    pos: u64,
    partial: String,
}

impl ConsoleTail {
    fn new(path: &Path) -> ConsoleTail {
        ConsoleTail { path: path.to_path_buf(), pos: 0, partial: String::new() }
    }

    fn new_lines(&mut self) -> Vec<String> {
        let Ok(mut f) = std::fs::File::open(&self.path) else { return vec![] };
        if f.seek(std::io::SeekFrom::Start(self.pos)).is_err() {
            return vec![];
        }
        let mut buf = Vec::new();
        let Ok(n) = f.read_to_end(&mut buf) else { return vec![] };
        self.pos += n as u64;
        self.partial.push_str(&String::from_utf8_lossy(&buf));
        let mut out = Vec::new();
        while let Some(i) = self.partial.find('\n') {
            out.push(self.partial[..i].trim_end_matches('\r').to_string());
            self.partial.drain(..=i);
        }
        out
    }
}

/// Whether KVM really works here: /dev/kvm may exist and still fail or
/// hang (nested virtualisation), so boot a guest that only says hello.
pub fn kvm_works(image: &Path, initrd: &Path, work: &Path) -> Result<(), String> {
    if std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm").is_err() {
        return Err("/dev/kvm cannot be opened".into());
    }
    let o = VmOptions { accel: Accel::Kvm, smp: 1, mem_mb: 256, deadline: Duration::from_secs(20), timeout_scale: 1.0, jobs: 1, filters: vec![], append: vec![] };
    let console = work.join("kvm-probe-console.log");
    let results = work.join("kvm-probe-results.log");
    let mut cmd = command(image, initrd, &o, &console, &results, &["epollcheck.probe=1"])?;
    let mut child = cmd.spawn().map_err(|e| format!("cannot start qemu: {e}"))?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(s)) => {
                let text = std::fs::read_to_string(&console).unwrap_or_default();
                return if text.contains(PROBE_MARK) { Ok(()) } else { Err(format!("a KVM guest exited ({s}) without reaching init")) };
            }
            Ok(None) if start.elapsed() > o.deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("a KVM guest did not reach init within {:?}", o.deadline));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(format!("cannot wait for qemu: {e}")),
        }
    }
}
