//! Processes: fork for `fork` blocks, and leaving a child without unwinding.

use super::SysResult;

/// `fork()`: fork(2). Returns 0 in the child and the pid in the parent.
///
/// The caller must make sure no other thread of the process is running
/// case code, so that the child starts without locks held by threads that
/// do not exist in it; glibc resets its own allocator locks in the child.
pub fn fork() -> SysResult<i32> {
    // SAFETY: see above; the interpreter refuses to fork while case threads live.
    let pid = unsafe { libc::fork() };
    if pid == -1 { Err(super::last_errno()) } else { Ok(pid) }
}

/// `_exit(code)`: leave at once, without running destructors or atexit
/// handlers that belong to the parent's state.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and takes an int.
    unsafe { libc::_exit(code) }
}

/// `waitpid(pid, &status, flags)`: returns `(pid, status)`, pid 0 when
/// WNOHANG found nothing.
pub fn waitpid(pid: i32, flags: i32) -> SysResult<(i32, i32)> {
    let mut status = 0;
    // SAFETY: the kernel writes one int to `status`.
    let r = unsafe { libc::waitpid(pid, &mut status, flags) };
    if r == -1 { Err(super::last_errno()) } else { Ok((r, status)) }
}
