//! Less common entry points the catalogue needs: kcmp, pidfd_open,
//! inotify_add_watch, a one-instruction reuseport BPF program, setresuid.

use super::{SysResult, check, check_int};

/// `kcmp(pid, pid, KCMP_EPOLL_TFD, fd, &{efd, tfd, toff})`: kcmp(2), Linux 4.13.
/// 0 when `fd`'s file is the one registered in epoll `efd` under number `tfd`.
pub fn kcmp_epoll_tfd(fd: i32, efd: i32, tfd: i32, toff: u32) -> SysResult<i64> {
    #[repr(C)]
    struct Slot {
        efd: u32,
        tfd: u32,
        toff: u32,
    }
    const KCMP_EPOLL_TFD: libc::c_long = 7;
    let pid = std::process::id() as libc::pid_t;
    let slot = Slot { efd: efd as u32, tfd: tfd as u32, toff };
    // SAFETY: the kernel reads the 12-byte slot and writes nothing.
    check(unsafe { libc::syscall(libc::SYS_kcmp, pid, pid, KCMP_EPOLL_TFD, fd as libc::c_long, &slot as *const Slot) })
}

/// `pidfd_open(pid, 0)`: pidfd_open(2), Linux 5.3.
pub fn pidfd_open(pid: i32) -> SysResult<i64> {
    super::proc_probe::pidfd_open(pid)
}

/// `inotify_add_watch(fd, path, mask)`: inotify_add_watch(2).
pub fn inotify_add_watch(fd: i32, path: &std::ffi::CStr, mask: u32) -> SysResult<i64> {
    // SAFETY: `path` is NUL-terminated and only read.
    check_int(unsafe { libc::inotify_add_watch(fd, path.as_ptr(), mask) })
}

pub const SO_INCOMING_CPU: i32 = 49;
pub const SO_ATTACH_REUSEPORT_CBPF: i32 = 51;
pub const SO_DETACH_REUSEPORT_BPF: i32 = 68;

/// Attaches the classic BPF program `ret #k` to a reuseport group
/// (SO_ATTACH_REUSEPORT_CBPF, socket(7)): every packet picks member `k`.
pub fn attach_reuseport_ret(fd: i32, k: u32) -> SysResult<i64> {
    const BPF_RET_K: u16 = 0x06;
    let mut filter = [libc::sock_filter { code: BPF_RET_K, jt: 0, jf: 0, k }];
    let prog = libc::sock_fprog { len: 1, filter: filter.as_mut_ptr() };
    let len = std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t;
    // SAFETY: the kernel reads `prog` and the one filter instruction it points at.
    check_int(unsafe { libc::setsockopt(fd, libc::SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, (&prog as *const libc::sock_fprog).cast(), len) })
}

/// `setresuid(uid, uid, uid)` for the whole process (glibc applies it to every thread).
pub fn setresuid(uid: u32) -> SysResult<i64> {
    // SAFETY: takes ints.
    check_int(unsafe { libc::setresuid(uid, uid, uid) })
}

/// `flock(fd, LOCK_EX or LOCK_SH)`: flock(2), blocking until it is held.
/// (std's File::lock needs Rust 1.89; we support 1.85.)
pub fn flock(fd: i32, exclusive: bool) -> SysResult<i64> {
    let op = if exclusive { libc::LOCK_EX } else { libc::LOCK_SH };
    loop {
        // SAFETY: flock takes an fd and an operation; no memory is passed.
        match check_int(unsafe { libc::flock(fd, op) }) {
            Err(libc::EINTR) => continue,
            r => return r,
        }
    }
}
