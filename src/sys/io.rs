//! Plain I/O on raw fd numbers: the operations a case performs on its
//! fixtures, where the fd may have been closed by another thread on purpose.

use super::{SysResult, check, check_int};
use std::time::Duration;

/// `read(fd, buf, len)`: read(2).
pub fn read(fd: i32, buf: &mut [u8]) -> SysResult<i64> {
    // SAFETY: the kernel writes at most buf.len() bytes into buf.
    check(unsafe { libc::syscall(libc::SYS_read, fd, buf.as_mut_ptr(), buf.len()) })
}

/// `write(fd, buf, len)`: write(2).
pub fn write(fd: i32, buf: &[u8]) -> SysResult<i64> {
    // SAFETY: the kernel reads at most buf.len() bytes from buf.
    check(unsafe { libc::syscall(libc::SYS_write, fd, buf.as_ptr(), buf.len()) })
}

/// `close(fd)`: close(2).
pub fn close(fd: i32) -> SysResult<i64> {
    // SAFETY: takes an int; closing a number we do not own is I/O-unsafe,
    // not memory-unsafe, and cases do it on purpose.
    check(unsafe { libc::syscall(libc::SYS_close, fd) })
}

/// `dup(fd)`: dup(2).
pub fn dup(fd: i32) -> SysResult<i64> {
    // SAFETY: takes an int.
    check(unsafe { libc::syscall(libc::SYS_dup, fd) })
}

/// `dup2(old, new)`: dup(2).
pub fn dup2(old: i32, new: i32) -> SysResult<i64> {
    // SAFETY: takes ints.
    check_int(unsafe { libc::dup2(old, new) })
}

/// `fcntl(fd, cmd, arg)` for the int-valued commands (F_GETFD, F_GETFL, F_SETFL, F_SETFD, F_DUPFD_CLOEXEC).
pub fn fcntl_int(fd: i32, cmd: i32, arg: i32) -> SysResult<i64> {
    // SAFETY: these commands take an int argument and touch no memory.
    check_int(unsafe { libc::fcntl(fd, cmd, arg) })
}

/// `shutdown(fd, how)`: shutdown(2).
pub fn shutdown(fd: i32, how: i32) -> SysResult<i64> {
    // SAFETY: takes ints.
    check_int(unsafe { libc::shutdown(fd, how) })
}

/// `listen(fd, backlog)`: listen(2).
pub fn listen(fd: i32, backlog: i32) -> SysResult<i64> {
    // SAFETY: takes ints.
    check_int(unsafe { libc::listen(fd, backlog) })
}

/// `setsockopt(fd, level, name, &int, sizeof(int))`: setsockopt(2).
pub fn setsockopt_int(fd: i32, level: i32, name: i32, value: i32) -> SysResult<i64> {
    let len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: the kernel reads `len` bytes from `value`, an i32.
    check_int(unsafe { libc::setsockopt(fd, level, name, (&value as *const i32).cast(), len) })
}

/// `setsockopt(fd, SOL_SOCKET, SO_LINGER, {on, secs})`: socket(7).
pub fn set_linger(fd: i32, on: bool, secs: i32) -> SysResult<i64> {
    let l = libc::linger { l_onoff: i32::from(on), l_linger: secs };
    let len = std::mem::size_of::<libc::linger>() as libc::socklen_t;
    // SAFETY: the kernel reads `len` bytes from `l`, a struct linger.
    check_int(unsafe { libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_LINGER, (&l as *const libc::linger).cast(), len) })
}

/// `accept4(fd, NULL, NULL, flags)`: accept(2).
pub fn accept4(fd: i32, flags: i32) -> SysResult<i64> {
    // SAFETY: NULL address arguments: the kernel writes nothing back.
    check_int(unsafe { libc::accept4(fd, std::ptr::null_mut(), std::ptr::null_mut(), flags) })
}

/// `send(fd, buf, len, flags)`: send(2).
pub fn send(fd: i32, buf: &[u8], flags: i32) -> SysResult<i64> {
    // SAFETY: the kernel reads at most buf.len() bytes.
    check(unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), flags) } as libc::c_long)
}

/// `recv(fd, buf, len, flags)`: recv(2).
pub fn recv(fd: i32, buf: &mut [u8], flags: i32) -> SysResult<i64> {
    // SAFETY: the kernel writes at most buf.len() bytes.
    check(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), flags) } as libc::c_long)
}

/// `poll(fds, nfds, timeout)`: poll(2), made as the raw system call (ppoll
/// where the ABI has no poll) so that `asleep` sees the number it expects;
/// glibc's wrapper may pick another one.
pub fn poll(fds: &mut [libc::pollfd], timeout: i32) -> SysResult<i64> {
    let (ptr, n) = (fds.as_mut_ptr(), fds.len() as libc::nfds_t);
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    // SAFETY: the kernel reads and writes exactly fds.len() entries.
    let r = unsafe { libc::syscall(super::nr::POLL, ptr, n, timeout) };
    #[cfg(not(any(target_arch = "x86_64", target_arch = "x86")))]
    let r = {
        let ts = (timeout >= 0).then(|| libc::timespec { tv_sec: (timeout / 1000) as _, tv_nsec: (timeout % 1000) as i64 * 1_000_000 });
        let tsp = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: as above; the timespec outlives the call and the sigmask is NULL.
        unsafe { libc::syscall(super::nr::POLL, ptr, n, tsp, std::ptr::null::<libc::sigset_t>(), 8usize) }
    };
    check(r)
}

/// Which sets an fd was found in by select(2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelectHit {
    pub fd: i32,
    pub read: bool,
    pub write: bool,
    pub except: bool,
}

/// `select(nfds, r, w, x, timeout)`: select(2). Fds at or above FD_SETSIZE
/// cannot be put in an fd_set and give EBADF without a call.
pub fn select(read: &[i32], write: &[i32], except: &[i32], timeout: Option<Duration>) -> SysResult<(i64, Vec<SelectHit>)> {
    let all: Vec<i32> = read.iter().chain(write).chain(except).copied().collect();
    if all.iter().any(|&fd| !(0..libc::FD_SETSIZE as i32).contains(&fd)) {
        return Err(libc::EBADF);
    }
    let nfds = all.iter().max().map_or(0, |m| m + 1);
    let mut sets = [read, write, except].map(fd_set_of);
    let [r, w, x] = &mut sets;
    let n = select_raw(nfds, r, w, x, timeout)?;
    let hits = all
        .iter()
        .copied()
        .collect::<std::collections::BTreeSet<i32>>()
        .into_iter()
        .map(|fd| SelectHit { fd, read: in_set(&sets[0], fd), write: in_set(&sets[1], fd), except: in_set(&sets[2], fd) })
        .filter(|h| h.read || h.write || h.except)
        .collect();
    Ok((n, hits))
}

/// The select system call itself (pselect6 where the ABI has no select):
/// glibc's select() is pselect6 on x86_64 too, which `asleep` would not
/// recognise as the select it waits for.
fn select_raw(nfds: i32, r: &mut libc::fd_set, w: &mut libc::fd_set, x: &mut libc::fd_set, timeout: Option<Duration>) -> SysResult<i64> {
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    let ret = {
        let mut tv = timeout.map(|d| libc::timeval { tv_sec: d.as_secs() as libc::time_t, tv_usec: d.subsec_micros() as libc::suseconds_t });
        let tvp = tv.as_mut().map_or(std::ptr::null_mut(), |t| t as *mut libc::timeval);
        // SAFETY: the caller keeps every fd in the sets below FD_SETSIZE, so
        // the kernel reads and writes only within the three fd_sets; tv
        // outlives the call.
        unsafe { libc::syscall(super::nr::SELECT, nfds, r as *mut libc::fd_set, w as *mut libc::fd_set, x as *mut libc::fd_set, tvp) }
    };
    #[cfg(not(any(target_arch = "x86_64", target_arch = "x86")))]
    let ret = {
        let mut ts = timeout.map(|d| libc::timespec { tv_sec: d.as_secs() as libc::time_t, tv_nsec: d.subsec_nanos() as _ });
        let tsp = ts.as_mut().map_or(std::ptr::null_mut(), |t| t as *mut libc::timespec);
        // SAFETY: as above; the sixth argument (the sigmask pair) is NULL.
        unsafe { libc::syscall(super::nr::SELECT, nfds, r as *mut libc::fd_set, w as *mut libc::fd_set, x as *mut libc::fd_set, tsp, std::ptr::null::<u8>()) }
    };
    check(ret)
}

fn fd_set_of(fds: &[i32]) -> libc::fd_set {
    // SAFETY: fd_set is plain data; all-zero is the empty set.
    let mut set: libc::fd_set = unsafe { std::mem::zeroed() };
    for &fd in fds {
        // SAFETY: `select` checked 0 <= fd < FD_SETSIZE before calling us.
        unsafe { libc::FD_SET(fd, &mut set) };
    }
    set
}

fn in_set(set: &libc::fd_set, fd: i32) -> bool {
    // SAFETY: 0 <= fd < FD_SETSIZE, checked in `select`.
    unsafe { libc::FD_ISSET(fd, set) }
}

/// `timerfd_settime(fd, 0, {interval, value}, NULL)`: timerfd_create(2).
pub fn timerfd_settime(fd: i32, value: Duration, interval: Duration) -> SysResult<i64> {
    let ts = |d: Duration| libc::timespec { tv_sec: d.as_secs() as libc::time_t, tv_nsec: d.subsec_nanos() as libc::c_long };
    let spec = libc::itimerspec { it_interval: ts(interval), it_value: ts(value) };
    // SAFETY: the kernel reads `spec`; the old-value pointer is NULL.
    check(unsafe { libc::syscall(libc::SYS_timerfd_settime, fd, 0, &spec as *const libc::itimerspec, std::ptr::null_mut::<libc::itimerspec>()) })
}

/// `mkfifo(path, mode)`: mkfifo(3).
pub fn mkfifo(path: &std::ffi::CStr, mode: u32) -> SysResult<i64> {
    // SAFETY: `path` is a NUL-terminated string the kernel only reads.
    check_int(unsafe { libc::mkfifo(path.as_ptr(), mode) })
}

/// `open(path, flags, 0600)`: open(2).
pub fn open(path: &std::ffi::CStr, flags: i32) -> SysResult<i64> {
    // SAFETY: `path` is a NUL-terminated string the kernel only reads.
    check_int(unsafe { libc::open(path.as_ptr(), flags, 0o600 as libc::c_uint) })
}

/// Takes ownership of an fd number this process just opened.
///
/// Callers pass only fds returned by a successful open/dup a moment ago,
/// which nothing else owns yet.
pub fn own(fd: i32) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: see above: `fd` is open and has no other owner.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }
}
