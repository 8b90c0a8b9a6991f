//! Raw system calls: the only module with `unsafe` code.
//!
//! Everything under test is called through `libc::syscall` with the
//! arguments exactly as the case wrote them, so invalid values reach the
//! kernel unchanged and no glibc wrapper newer than the oldest supported
//! distribution is needed (glibc's `epoll_pwait2` wrapper needs 2.35).
//! File descriptors are plain integers here on purpose: a case may close an
//! fd in one thread while another thread still uses the number, which is
//! exactly the behaviour some cases check. That is I/O-unsafe by design but
//! never memory-unsafe: every pointer handed to the kernel points at memory
//! we own and sized for what the kernel may write.

#![allow(unsafe_code)]

pub mod epoll;
pub mod io;
pub mod mem;
pub mod net;
pub mod nr;
pub mod misc;
pub mod proc;
pub mod proc_probe;
pub mod signal;

/// A failed call's errno, as the kernel returned it.
pub type Errno = i32;
pub type SysResult<T> = Result<T, Errno>;

/// The errno of the last failed call on this thread.
pub fn last_errno() -> Errno {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Converts a raw `syscall` return into a result.
// c_long is i64 only on 64-bit targets; the cast keeps 32-bit builds honest.
#[allow(clippy::unnecessary_cast)]
fn check(ret: libc::c_long) -> SysResult<i64> {
    if ret == -1 { Err(last_errno()) } else { Ok(ret as i64) }
}

/// Converts a libc return (an int) into a result.
fn check_int(ret: libc::c_int) -> SysResult<i64> {
    if ret == -1 { Err(last_errno()) } else { Ok(ret as i64) }
}
