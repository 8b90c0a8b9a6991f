//! Signal dispositions, thread-directed signals and the handler that counts.

use super::{SysResult, check, check_int};
use std::sync::atomic::{AtomicU32, Ordering};

/// How many times each signal's counting handler has run.
static HANDLED: [AtomicU32; 65] = [const { AtomicU32::new(0) }; 65];

extern "C" fn counting_handler(sig: libc::c_int) {
    // Async-signal-safe: a relaxed atomic add and nothing else.
    if let Some(slot) = HANDLED.get(sig as usize) {
        slot.fetch_add(1, Ordering::Relaxed);
    }
}

pub fn handled(sig: i32) -> u32 {
    HANDLED.get(sig as usize).map_or(0, |s| s.load(Ordering::Relaxed))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// The counting handler, with or without SA_RESTART.
    Count { restart: bool },
    Ignore,
    Default,
}

/// `sigaction(sig, {handler, flags}, NULL)`: sigaction(2).
pub fn set_disposition(sig: i32, d: Disposition) -> SysResult<i64> {
    // SAFETY: sigaction is plain data; all-zero is a valid start.
    let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
    act.sa_sigaction = match d {
        Disposition::Count { .. } => counting_handler as *const () as usize,
        Disposition::Ignore => libc::SIG_IGN,
        Disposition::Default => libc::SIG_DFL,
    };
    act.sa_flags = if let Disposition::Count { restart: true } = d { libc::SA_RESTART } else { 0 };
    // SAFETY: `act.sa_mask` is a valid sigset for sigemptyset to initialise.
    unsafe { libc::sigemptyset(&mut act.sa_mask) };
    // SAFETY: the handler only does an atomic add (async-signal-safe); the
    // kernel reads `act` and writes nothing back (old action is NULL).
    check_int(unsafe { libc::sigaction(sig, &act, std::ptr::null_mut()) })
}

/// `gettid()`: gettid(2).
pub fn gettid() -> i32 {
    // SAFETY: no arguments.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// `tgkill(getpid(), tid, sig)`: tgkill(2).
pub fn tgkill(tid: i32, sig: i32) -> SysResult<i64> {
    let pid = std::process::id() as i32;
    // SAFETY: takes ints.
    check(unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, sig) })
}

/// `kill(pid, sig)`: kill(2).
pub fn kill(pid: i32, sig: i32) -> SysResult<i64> {
    // SAFETY: takes ints.
    check_int(unsafe { libc::kill(pid, sig) })
}

/// The kernel's 64-bit sigset for a list of signals.
pub fn kernel_sigset(sigs: &[i32]) -> u64 {
    sigs.iter().filter(|&&s| (1..=64).contains(&s)).fold(0, |m, &s| m | 1u64 << (s - 1))
}

/// `rt_sigprocmask(how, set, old, 8)` on the calling thread: returns the old mask.
pub fn sigprocmask(how: i32, set: u64) -> SysResult<u64> {
    let mut old: u64 = 0;
    // SAFETY: the kernel reads 8 bytes from `set` and writes 8 to `old`.
    check(unsafe { libc::syscall(libc::SYS_rt_sigprocmask, how, &set as *const u64, &mut old as *mut u64, 8usize) })?;
    Ok(old)
}
