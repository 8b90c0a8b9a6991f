//! `epollcheck matrix --shell --kernel SPEC`: one guest, interactive.

use crate::suite::Suite;
use crate::vm::fetch;
use crate::vm::qemu::{self, Accel};
use crate::vm::spec::KernelSpec;

pub fn main(suite: &Suite, specs: &[KernelSpec], accel: Option<Accel>) -> Result<i32, String> {
    let [spec] = specs else { return Err("--shell takes exactly one --kernel".into()) };
    let k = match spec {
        KernelSpec::Debian(s) => fetch::debian_kernel(s, false, &|m| eprintln!("{m}"))?,
        KernelSpec::Image(p) => fetch::Kernel { label: p.display().to_string(), image: p.clone(), config: None, package: String::new(), package_version: String::new(), source_url: String::new() },
        KernelSpec::Cached(dir) => fetch::load_cached(dir)?,
        KernelSpec::Host => return Err("--shell needs a kernel to boot, not the host".into()),
    };
    let busybox = ["/bin/busybox", "/usr/bin/busybox"].iter().map(std::path::PathBuf::from).find(|p| p.is_file());
    if busybox.is_none() {
        return Err("--shell needs a static busybox on the host: apt-get install busybox-static".into());
    }
    let work = tempfile::Builder::new().prefix("epollcheck-shell-").tempdir().map_err(|e| e.to_string())?;
    let initrd = work.path().join("initrd.cpio");
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    crate::vm::initramfs::build(&crate::vm::initramfs::Contents { exe: &exe, suite_root: &suite.root, kconfig: k.config.as_deref(), busybox: busybox.as_deref(), exports: None }, &initrd)?;
    let accel = accel.unwrap_or(Accel::Tcg);
    eprintln!("booting {} ({}); leave with `poweroff -f` or Ctrl-a x", k.label, accel.name());
    let status = std::process::Command::new(qemu::qemu_binary()?)
        .args(["-nodefaults", "-no-user-config", "-machine", "pc"])
        .args(["-accel", if accel == Accel::Kvm { "kvm" } else { "tcg,thread=single" }])
        .args(["-cpu", if accel == Accel::Kvm { "host" } else { "max" }, "-smp", "2", "-m", "1024"])
        .args(["-display", "none", "-no-reboot", "-nic", "none", "-serial", "mon:stdio", "-serial", "null"])
        .arg("-kernel")
        .arg(&k.image)
        .arg("-initrd")
        .arg(&initrd)
        .args(["-append", &format!("console=ttyS0 panic=-1 quiet epollcheck.shell=1 epollcheck.virt={}", accel.name())])
        .status()
        .map_err(|e| format!("cannot start qemu: {e}"))?;
    Ok(status.code().unwrap_or(1))
}
