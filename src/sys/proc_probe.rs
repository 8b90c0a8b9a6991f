//! Calls used only to learn whether a syscall exists.

use super::{SysResult, check};

/// `pidfd_open(pid, 0)`: pidfd_open(2), Linux 5.3.
pub fn pidfd_open(pid: i32) -> SysResult<i64> {
    // SAFETY: takes ints.
    check(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })
}

/// `memfd_create(NULL, ~0)`: fails EFAULT or EINVAL where it exists.
pub fn memfd_create_bad() -> SysResult<i64> {
    // SAFETY: NULL name: the kernel faults (EFAULT) instead of reading.
    check(unsafe { libc::syscall(libc::SYS_memfd_create, std::ptr::null::<u8>(), !0u32) })
}

/// `kcmp(0, 0, -1, 0, 0)`: fails EINVAL or ESRCH where kcmp exists
/// (CONFIG_KCMP), ENOSYS where it does not.
pub fn kcmp_bad() -> SysResult<i64> {
    // SAFETY: an invalid type: the kernel rejects it before touching memory.
    check(unsafe { libc::syscall(libc::SYS_kcmp, 0, 0, -1, 0, 0) })
}
