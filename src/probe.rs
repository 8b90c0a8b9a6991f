//! What kernel this is and what it can do. Features are probed by calling
//! them, never guessed from the version: distro kernels carry backports.

use crate::case::{KVersion, Probe};
use crate::names::errno_name;
use crate::sys::{self, epoll, io};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The kernel and machine a run happened on, as recorded in run records.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct KernelInfo {
    /// `uname -r`.
    pub release: String,
    /// `uname -v`.
    pub version: String,
    /// `[major, minor, patch]` parsed from the release, if it parses.
    pub numeric: Option<[u32; 3]>,
    pub arch: String,
    pub cpus: usize,
    /// `kvm`, `tcg`, `qemu`, another hypervisor name, `none`, or `unknown`.
    pub virt: String,
}

impl KernelInfo {
    pub fn kversion(&self) -> Option<KVersion> {
        self.numeric.map(|[a, b, c]| KVersion(a, b, c))
    }
}

pub fn kernel() -> KernelInfo {
    let uts = nix::sys::utsname::uname().ok();
    let field = |f: fn(&nix::sys::utsname::UtsName) -> &std::ffi::OsStr| {
        uts.as_ref().map(|u| f(u).to_string_lossy().into_owned()).unwrap_or_default()
    };
    let release = std::env::var("EPOLLCHECK_FAKE_RELEASE").unwrap_or_else(|_| field(|u| u.release()));
    let version = field(|u| u.version());
    let numeric = numeric_version(&release, &version).map(|v| [v.0, v.1, v.2]);
    KernelInfo {
        version,
        arch: field(|u| u.machine()),
        cpus: cpus(),
        virt: virt(),
        numeric,
        release,
    }
}

/// The kernel's real version. Distribution kernels keep the ABI name in
/// the release (`5.10.0-46-cloud-amd64` is 5.10.262) and say the upstream
/// version in `uname -v` (`#1 SMP Debian 5.10.262-1 (...)`), which wins
/// when its major.minor agrees with the release's.
pub fn numeric_version(release: &str, version: &str) -> Option<KVersion> {
    let from_release = KVersion::parse_release(release);
    let from_version = ["Debian ", "Ubuntu "].iter().find_map(|d| {
        let at = version.find(d)? + d.len();
        KVersion::parse_release(&version[at..])
    });
    match (from_release, from_version) {
        (Some(r), Some(v)) if (r.0, r.1) == (v.0, v.1) && v.2 >= r.2 => Some(v),
        (r, _) => r,
    }
}

/// CPUs this process may run on (affinity and cgroup limits included).
pub fn cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Best effort: the VM runner says `tcg` or `kvm` through the environment;
/// otherwise DMI and the CPU's hypervisor flag tell whether we are a guest.
fn virt() -> String {
    if let Ok(v) = std::env::var("EPOLLCHECK_VIRT") {
        return v;
    }
    let read = |p: &str| std::fs::read_to_string(p).map(|s| s.trim().to_string()).unwrap_or_default();
    let vendor = read("/sys/class/dmi/id/sys_vendor");
    let product = read("/sys/class/dmi/id/product_name");
    let cpuinfo = read("/proc/cpuinfo");
    let hypervisor = cpuinfo.lines().any(|l| l.starts_with("flags") && l.split_whitespace().any(|f| f == "hypervisor"));
    if vendor.contains("QEMU") || product.contains("QEMU") {
        return if hypervisor { "kvm".into() } else { "qemu".into() };
    }
    if product.contains("Firecracker") || cpuinfo.contains("Firecracker") {
        return "firecracker".into();
    }
    if hypervisor {
        return "hypervisor".into();
    }
    if vendor.is_empty() && cpuinfo.is_empty() { "unknown".into() } else { "none".into() }
}

/// Probe results are cached for the process: a listing checks every case's
/// requirements, and most cases share a few probes.
fn cache() -> &'static Mutex<HashMap<Probe, Result<(), String>>> {
    static CACHE: OnceLock<Mutex<HashMap<Probe, Result<(), String>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// `Ok` when the kernel/machine has the feature, else why not.
pub fn check(p: &Probe) -> Result<(), String> {
    if let Some(r) = cache().lock().unwrap_or_else(|e| e.into_inner()).get(p) {
        return r.clone();
    }
    let r = run_probe(p);
    cache().lock().unwrap_or_else(|e| e.into_inner()).insert(p.clone(), r.clone());
    r
}

/// The first unmet requirement, as a SKIP reason.
pub fn unmet(requires: &[Probe]) -> Option<String> {
    requires.iter().find_map(|p| check(p).err())
}

fn run_probe(p: &Probe) -> Result<(), String> {
    match p {
        Probe::Syscall(name) => probe_syscall(name),
        Probe::Flag(bits) => probe_flag(*bits),
        Probe::Ioctl(name) => probe_ioctl(name),
        Probe::Root => {
            let uid = nix::unistd::geteuid();
            if uid.is_root() { Ok(()) } else { Err(format!("needs root (running as uid {uid})")) }
        }
        Probe::Cap(name) => probe_cap(name),
        Probe::Cpus(n) => {
            let have = cpus();
            if have >= *n as usize { Ok(()) } else { Err(format!("needs {n} CPUs ({have} available)")) }
        }
        Probe::NoFile(n) => {
            let hard = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).map(|(_, h)| h).unwrap_or(0);
            // Case processes cap their own limit at 8192 (exec::limits).
            let usable = hard.min(8192);
            if usable >= *n { Ok(()) } else { Err(format!("needs {n} open files (the hard RLIMIT_NOFILE allows {usable})")) }
        }
        Probe::Ipv6 => probe_ipv6(),
        Probe::Path(path) => {
            if std::path::Path::new(path).exists() { Ok(()) } else { Err(format!("{path} does not exist")) }
        }
        Probe::Config(name) => probe_config(name),
        Probe::Disruptive => {
            if std::env::var("EPOLLCHECK_DISRUPTIVE").is_ok_and(|v| v == "1") {
                Ok(())
            } else {
                Err("changes machine-wide state; runs only with EPOLLCHECK_DISRUPTIVE=1 (throwaway machines: the VM matrix, CI)".into())
            }
        }
    }
}

/// Calls the syscall with arguments that cannot do anything; ENOSYS means
/// the kernel does not have it.
fn probe_syscall(name: &str) -> Result<(), String> {
    let r = match name {
        "epoll_create" => epoll::epoll_create(0),
        "epoll_create1" => epoll::epoll_create1(-1),
        "epoll_ctl" => epoll::epoll_ctl(-1, 1, -1, epoll::CtlEvent::Null),
        "epoll_wait" => epoll::epoll_wait(-1, epoll::EventsArg::Null, 1, 0),
        "epoll_pwait" => epoll::epoll_pwait(-1, epoll::EventsArg::Null, 1, 0, epoll::SigmaskArg::Null, 8),
        "epoll_pwait2" => epoll::epoll_pwait2(-1, epoll::EventsArg::Null, 1, epoll::TimespecArg::Null, epoll::SigmaskArg::Null, 8),
        "pidfd_open" => sys::proc_probe::pidfd_open(-1),
        "memfd_create" => sys::proc_probe::memfd_create_bad(),
        "kcmp" => sys::proc_probe::kcmp_bad(),
        other => return Err(format!("no probe for syscall {other}")),
    };
    match r {
        Err(libc::ENOSYS) => Err(format!("syscall {name} missing (ENOSYS)")),
        _ => Ok(()),
    }
}

/// Runs `f` with a fresh epoll fd and eventfd, closing both afterwards.
fn with_epoll_and_eventfd<T>(f: impl FnOnce(i32, i32) -> T) -> Result<T, String> {
    let ep = epoll::epoll_create1(0).map_err(|e| format!("epoll_create1 failed: {}", errno_name(e)))? as i32;
    let ev = match nix::sys::eventfd::EventFd::new() {
        Ok(ev) => std::os::fd::IntoRawFd::into_raw_fd(std::os::fd::OwnedFd::from(ev)),
        Err(e) => {
            let _ = io::close(ep);
            return Err(format!("eventfd failed: {e}"));
        }
    };
    let out = f(ep, ev);
    let _ = io::close(ev);
    let _ = io::close(ep);
    Ok(out)
}

fn probe_flag(bits: u32) -> Result<(), String> {
    let name = crate::names::epoll_mask_name(bits);
    let exclusive = bits & libc::EPOLLEXCLUSIVE as u32 != 0;
    with_epoll_and_eventfd(|ep, ev| {
        let add = epoll::EpollEvent { events: bits | libc::EPOLLIN as u32, u64: 0 };
        if let Err(e) = epoll::epoll_ctl(ep, libc::EPOLL_CTL_ADD, ev, epoll::CtlEvent::Event(&add)) {
            return Err(format!("flag {name} rejected by EPOLL_CTL_ADD ({})", errno_name(e)));
        }
        // Kernels before 4.5 accept any unknown bit, so a plain ADD proves
        // nothing for EPOLLEXCLUSIVE; MOD of an exclusive item is EINVAL
        // only where the kernel knows the flag.
        if exclusive && epoll::epoll_ctl(ep, libc::EPOLL_CTL_MOD, ev, epoll::CtlEvent::Event(&add)) != Err(libc::EINVAL) {
            return Err(format!("flag {name} is not known to this kernel (EPOLL_CTL_MOD of an exclusive item was not EINVAL)"));
        }
        Ok(())
    })?
}

fn probe_ioctl(name: &str) -> Result<(), String> {
    with_epoll_and_eventfd(|ep, _| {
        let mut params = epoll::EpollParams::default();
        match epoll::ioctl_params(ep, epoll::EPIOCGPARAMS, Some(&mut params)) {
            Ok(_) => Ok(()),
            Err(libc::ENOTTY) => Err(format!("ioctl {name} missing (ENOTTY; added in Linux 6.9)")),
            Err(libc::EOPNOTSUPP) => Err(format!("ioctl {name} unsupported (EOPNOTSUPP: kernel built without CONFIG_NET_RX_BUSY_POLL)")),
            Err(e) => Err(format!("ioctl {name} failed with {}", errno_name(e))),
        }
    })?
}

fn probe_cap(name: &str) -> Result<(), String> {
    let bit = match name {
        "NET_ADMIN" => 12,
        "SYS_ADMIN" => 21,
        "SYS_RESOURCE" => 24,
        "BLOCK_SUSPEND" => 36,
        other => return Err(format!("unknown capability {other}")),
    };
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| format!("cannot read /proc/self/status: {e}"))?;
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .ok_or("no CapEff line in /proc/self/status")?;
    if eff & (1u64 << bit) != 0 { Ok(()) } else { Err(format!("needs CAP_{name}")) }
}

fn probe_ipv6() -> Result<(), String> {
    let l = std::net::TcpListener::bind("[::1]:0").map_err(|e| format!("IPv6 loopback unavailable: {e}"))?;
    drop(l);
    Ok(())
}

/// Kernel config options are read from the file named by
/// `EPOLLCHECK_KCONFIG` (the VM runner sets it), `/proc/config.gz`,
/// `/boot/config-RELEASE`, or `/lib/modules/RELEASE/config`.
fn probe_config(name: &str) -> Result<(), String> {
    let release = kernel().release;
    let text = kernel_config(&release)
        .ok_or_else(|| format!("kernel config unavailable (no /proc/config.gz or /boot/config-{release}; set EPOLLCHECK_KCONFIG) to check CONFIG_{name}"))?;
    let want_y = format!("CONFIG_{name}=y");
    let want_m = format!("CONFIG_{name}=m");
    if text.lines().any(|l| l == want_y || l == want_m) {
        Ok(())
    } else {
        Err(format!("kernel built without CONFIG_{name}"))
    }
}

fn kernel_config(release: &str) -> Option<String> {
    if let Ok(p) = std::env::var("EPOLLCHECK_KCONFIG") {
        return std::fs::read_to_string(p).ok();
    }
    if let Ok(gz) = std::fs::read("/proc/config.gz") {
        let mut text = String::new();
        if std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text).is_ok() {
            return Some(text);
        }
    }
    [format!("/boot/config-{release}"), format!("/lib/modules/{release}/config")].iter().find_map(|p| std::fs::read_to_string(p).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_info_is_filled_in() {
        let k = kernel();
        assert!(!k.release.is_empty());
        assert!(k.cpus >= 1);
        assert!(k.numeric.is_some(), "release {} did not parse", k.release);
    }

    #[test]
    fn distribution_versions_win_over_abi_names() {
        let v = numeric_version("5.10.0-46-cloud-amd64", "#1 SMP Debian 5.10.262-1 (2026-11-01)");
        assert_eq!(v, Some(KVersion(5, 10, 262)));
        let v = numeric_version("6.12.118+deb13-cloud-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.12.118-1 (2026-10-20)");
        assert_eq!(v, Some(KVersion(6, 12, 118)));
        assert_eq!(numeric_version("6.18.44-fc-v1147", "#1 SMP PREEMPT_DYNAMIC @0"), Some(KVersion(6, 18, 44)));
        // A version that disagrees on major.minor is not trusted.
        assert_eq!(numeric_version("6.1.0-5-amd64", "#1 SMP Debian 5.10.1-1"), Some(KVersion(6, 1, 0)));
    }

    #[test]
    fn basic_syscalls_exist() {
        assert_eq!(check(&Probe::Syscall("epoll_wait".into())), Ok(()));
        assert_eq!(check(&Probe::Cpus(1)), Ok(()));
        assert!(check(&Probe::Cpus(100_000)).unwrap_err().starts_with("needs 100000 CPUs"));
        assert!(check(&Probe::Path("/no/such/path".into())).is_err());
    }
}
