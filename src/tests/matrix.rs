//! The VM matrix with deliberately broken guests: a kernel that panics at
//! boot, a guest that never finishes, and a healthy one running a case that
//! hangs. Each broken one must be reported for its own column while the
//! others finish. Needs qemu-system-x86_64 and Debian's archive (or a
//! cached 6.1 kernel); .ci/run installs qemu.

use epollcheck::report::Status;
use epollcheck::report::matrix::Matrix;
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn have_qemu() -> bool {
    Command::new("qemu-system-x86_64").arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn broken_guests_are_reported_per_kernel() {
    if !have_qemu() {
        // Without qemu there is no VM to break; .ci/run installs it so CI
        // always runs this test.
        eprintln!("SKIPPED broken_guests_are_reported_per_kernel: qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_epollcheck"))
        .current_dir(root())
        .env("EPOLLCHECK_ROOT", root().join("fixtures/selftest"))
        .args(["matrix", "--accel", "tcg", "--deadline", "40", "--jobs", "3", "--out"])
        .arg(out.path())
        .args(["--kernel", "debian:6.1,rdinit=/nonexistent", "--kernel", "debian:6.1,epollcheck.stall", "--kernel", "debian:6.1"])
        .args(["--", "status::pass", "status::timeout"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "a matrix with ERROR and TIMEOUT cells exits 1: {stderr}");
    let m: Matrix = serde_json::from_str(&std::fs::read_to_string(out.path().join("matrix.json")).unwrap()).unwrap();
    assert_eq!(m.columns.len(), 3, "{stderr}");
    let col = |label: &str| m.columns.iter().position(|c| c.label == label).unwrap_or_else(|| panic!("no column {label}"));
    let cell = |c: usize, name: &str| m.rows.iter().find(|r| r.name == name).and_then(|r| r.cells[c].clone()).unwrap();

    let panicked = col("debian:6.1,rdinit=/nonexistent");
    let c = cell(panicked, "status::pass");
    assert_eq!(c.status, Status::Error);
    assert!(c.reason.unwrap().contains("the VM died without a result"));
    assert!(m.columns[panicked].meta["console_tail"].contains("Kernel panic"), "{:?}", m.columns[panicked].meta);

    let stalled = col("debian:6.1,epollcheck.stall");
    let c = cell(stalled, "status::pass");
    assert_eq!(c.status, Status::Error);
    assert!(c.reason.unwrap().contains("no result within 40s"));

    let healthy = col("debian:6.1");
    assert_eq!(cell(healthy, "status::pass").status, Status::Pass);
    assert_eq!(cell(healthy, "status::timeout").status, Status::Timeout, "a hanging case is a TIMEOUT cell, not a lost VM");
    assert!(m.columns[healthy].meta.contains_key("boot_s"));
    assert!(m.columns[healthy].release.starts_with("6.1."));
    for f in ["matrix.md", "matrix.html"] {
        assert!(out.path().join(f).is_file(), "{f} written");
    }
}
