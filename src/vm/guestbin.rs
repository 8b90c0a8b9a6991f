//! The epollcheck binary that goes into the guests. Every case is a new
//! process, and under emulation a dynamic PIE binary spends most of its
//! start-up applying relocations (185 ms a case in a TCG guest, measured);
//! a static non-PIE build has none to apply (37 ms). So the matrix uses, in
//! order: EPOLLCHECK_GUEST_BIN; this binary if it is already static; a
//! static build made with cargo when this is a source checkout; or this
//! binary with its shared libraries.

use crate::suite::Suite;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub const TARGET: &str = "x86_64-unknown-linux-gnu";
pub const RUSTFLAGS: &str = "-C target-feature=+crt-static -C relocation-model=static";

static CHOSEN: OnceLock<Result<PathBuf, String>> = OnceLock::new();

pub fn guest_binary(suite: &Suite) -> Result<PathBuf, String> {
    CHOSEN.get_or_init(|| choose(suite)).clone()
}

fn choose(suite: &Suite) -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("EPOLLCHECK_GUEST_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find our executable: {e}"))?;
    if is_static(&exe) {
        return Ok(exe);
    }
    match build_static(&suite.root) {
        Ok(p) => Ok(p),
        Err(why) => {
            eprintln!("note: using {} with its shared libraries in the guests ({why}); cases start about 5 times slower there than with a static build", exe.display());
            Ok(exe)
        }
    }
}

/// A binary without an ELF interpreter is static.
fn is_static(exe: &Path) -> bool {
    let Ok(bytes) = std::fs::read(exe) else { return false };
    !bytes.windows(b"/lib64/ld-linux".len()).take(64 * 1024).any(|w| w == b"/lib64/ld-linux")
}

/// `cargo build --release --target x86_64-unknown-linux-gnu` with a static,
/// non-PIE relocation model, in the checkout the suite lives in. The
/// explicit --target keeps the flags away from build scripts and keeps the
/// artifacts apart from the normal build.
fn build_static(root: &Path) -> Result<PathBuf, String> {
    if !root.join("Cargo.toml").is_file() {
        return Err(format!("{} is not a source checkout", root.display()));
    }
    eprintln!("building a static epollcheck for the guests (cargo build --release --target {TARGET})");
    let status = Command::new("cargo")
        .args(["build", "--release", "--quiet", "--target", TARGET, "--bin", "epollcheck"])
        .current_dir(root)
        .env("RUSTFLAGS", RUSTFLAGS)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build for {TARGET} failed ({status})"));
    }
    let bin = root.join("target").join(TARGET).join("release/epollcheck");
    if bin.is_file() { Ok(bin) } else { Err(format!("{} was not built", bin.display())) }
}
