//! The epoll system calls and ioctls, as raw as the kernel takes them.

use super::mem::{EventBuffer, ReadOnlyPage};
use super::{SysResult, check};

/// `struct epoll_event` as the kernel lays it out (packed on x86-64).
pub type EpollEvent = libc::epoll_event;

/// An address above the user half: `access_ok` rejects it before the call
/// looks at anything else.
pub const KERNEL_ADDR: usize = 0xffff_ffff_8000_0000;

/// Where the events argument of a wait points.
pub enum EventsArg<'a> {
    Buffer(&'a mut EventBuffer),
    Null,
    Kernel,
    ReadOnly(&'a ReadOnlyPage),
}

impl EventsArg<'_> {
    fn ptr(&mut self) -> *mut EpollEvent {
        match self {
            EventsArg::Buffer(b) => b.as_mut_ptr(),
            EventsArg::Null => std::ptr::null_mut(),
            EventsArg::Kernel => KERNEL_ADDR as *mut EpollEvent,
            EventsArg::ReadOnly(p) => p.addr() as *mut EpollEvent,
        }
    }

    /// A buffer must hold `maxevents` entries, or the kernel could write
    /// past it; the other kinds are never written (the kernel faults).
    fn fits(&self, maxevents: i32) -> bool {
        match self {
            EventsArg::Buffer(b) => maxevents <= 0 || (maxevents as usize) <= b.len(),
            _ => true,
        }
    }
}

/// The signal-mask argument of `epoll_pwait`/`epoll_pwait2`.
#[derive(Clone, Copy)]
pub enum SigmaskArg {
    Null,
    /// The kernel's sigset: bit `n-1` is signal `n`.
    Set(u64),
    /// An address the kernel cannot read.
    Bad,
}

/// `struct epoll_params` of ioctl_eventpoll(2).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EpollParams {
    pub busy_poll_usecs: u32,
    pub busy_poll_budget: u16,
    pub prefer_busy_poll: u8,
    pub pad: u8,
}

/// `_IOW(0x8A, 0x01, struct epoll_params)`.
pub const EPIOCSPARAMS: u64 = 0x4008_8a01;
/// `_IOR(0x8A, 0x02, struct epoll_params)`.
pub const EPIOCGPARAMS: u64 = 0x8008_8a02;

/// `epoll_create(size)`: epoll_create(2). ENOSYS on architectures that
/// have only epoll_create1.
pub fn epoll_create(size: i32) -> SysResult<i64> {
    let Some(nr) = super::nr::EPOLL_CREATE else { return Err(libc::ENOSYS) };
    // SAFETY: takes an int, touches no user memory.
    check(unsafe { libc::syscall(nr, size) })
}

/// `epoll_create1(flags)`: epoll_create(2).
pub fn epoll_create1(flags: i32) -> SysResult<i64> {
    // SAFETY: takes an int, touches no user memory.
    check(unsafe { libc::syscall(libc::SYS_epoll_create1, flags) })
}

/// The event argument of epoll_ctl.
#[derive(Clone, Copy)]
pub enum CtlEvent<'a> {
    Event(&'a EpollEvent),
    Null,
    /// An address in the kernel half: copy_from_user fails.
    Kernel,
}

/// `epoll_ctl(epfd, op, fd, event)`: epoll_ctl(2).
pub fn epoll_ctl(epfd: i32, op: i32, fd: i32, event: CtlEvent<'_>) -> SysResult<i64> {
    let ptr = match event {
        CtlEvent::Event(e) => e as *const EpollEvent,
        CtlEvent::Null => std::ptr::null(),
        CtlEvent::Kernel => KERNEL_ADDR as *const EpollEvent,
    };
    // SAFETY: the kernel only reads `*event`: a valid epoll_event, NULL or
    // an address it refuses to read.
    check(unsafe { libc::syscall(libc::SYS_epoll_ctl, epfd, op, fd, ptr) })
}

/// `epoll_wait(epfd, events, maxevents, timeout)`: epoll_wait(2).
pub fn epoll_wait(epfd: i32, mut events: EventsArg<'_>, maxevents: i32, timeout: i32) -> SysResult<i64> {
    if !events.fits(maxevents) {
        return Err(libc::EOVERFLOW);
    }
    // SAFETY: `events` is NULL, a kernel address, a read-only page (all make
    // the kernel fault instead of writing), or a buffer of at least
    // `maxevents` entries (checked above).
    // On architectures without epoll_wait this is epoll_pwait with a NULL
    // mask, exactly what glibc's epoll_wait does there.
    check(unsafe { libc::syscall(super::nr::EPOLL_WAIT, epfd, events.ptr(), maxevents, timeout, std::ptr::null::<u64>(), 8usize) })
}

/// Size of the kernel's sigset on Linux: 64 signals, 8 bytes.
pub const KERNEL_SIGSET_SIZE: usize = 8;

fn sigmask_ptr(arg: &SigmaskArg, storage: &u64) -> *const u64 {
    match arg {
        SigmaskArg::Null => std::ptr::null(),
        SigmaskArg::Set(_) => storage as *const u64,
        SigmaskArg::Bad => KERNEL_ADDR as *const u64,
    }
}

/// `epoll_pwait(epfd, events, maxevents, timeout, sigmask, sigsetsize)`: epoll_wait(2).
pub fn epoll_pwait(
    epfd: i32,
    mut events: EventsArg<'_>,
    maxevents: i32,
    timeout: i32,
    sigmask: SigmaskArg,
    sigsetsize: usize,
) -> SysResult<i64> {
    if !events.fits(maxevents) {
        return Err(libc::EOVERFLOW);
    }
    let set = if let SigmaskArg::Set(s) = sigmask { s } else { 0 };
    let mask = sigmask_ptr(&sigmask, &set);
    // SAFETY: as for epoll_wait; the kernel reads at most `sigsetsize`
    // bytes of the mask only when sigsetsize == 8, the size of `set`, and
    // rejects any other size with EINVAL before reading.
    check(unsafe {
        libc::syscall(libc::SYS_epoll_pwait, epfd, events.ptr(), maxevents, timeout, mask, sigsetsize)
    })
}

/// The timeout argument of epoll_pwait2.
#[derive(Clone, Copy)]
pub enum TimespecArg<'a> {
    Spec(&'a libc::timespec),
    /// NULL: wait forever.
    Null,
    /// An address the kernel cannot read.
    Kernel,
}

/// `epoll_pwait2(epfd, events, maxevents, timeout, sigmask, sigsetsize)`:
/// epoll_wait(2), Linux 5.11.
pub fn epoll_pwait2(
    epfd: i32,
    mut events: EventsArg<'_>,
    maxevents: i32,
    timeout: TimespecArg<'_>,
    sigmask: SigmaskArg,
    sigsetsize: usize,
) -> SysResult<i64> {
    if !events.fits(maxevents) {
        return Err(libc::EOVERFLOW);
    }
    let set = if let SigmaskArg::Set(s) = sigmask { s } else { 0 };
    let mask = sigmask_ptr(&sigmask, &set);
    let ts = match timeout {
        TimespecArg::Spec(t) => t as *const libc::timespec,
        TimespecArg::Null => std::ptr::null(),
        TimespecArg::Kernel => KERNEL_ADDR as *const libc::timespec,
    };
    // SAFETY: as for epoll_pwait; the kernel only reads `*timeout`, or
    // refuses to read a kernel address.
    check(unsafe {
        libc::syscall(libc::SYS_epoll_pwait2, epfd, events.ptr(), maxevents, ts, mask, sigsetsize)
    })
}

/// `ioctl(fd, EPIOCSPARAMS|EPIOCGPARAMS, params)`: ioctl_eventpoll(2).
/// `None` passes NULL.
pub fn ioctl_params(fd: i32, request: u64, params: Option<&mut EpollParams>) -> SysResult<i64> {
    let ptr = params.map_or(std::ptr::null_mut(), |p| p as *mut EpollParams);
    // SAFETY: both requests encode sizeof(struct epoll_params) == 8, the
    // size of `*params`; on another file type the request is unknown to
    // the driver and fails without touching memory.
    check(unsafe { libc::syscall(libc::SYS_ioctl, fd, request, ptr) })
}

/// Bytes a raw ioctl may write through its argument: the largest size an
/// `_IOC` request can encode.
pub const RAW_IOCTL_ARG_BYTES: usize = 1 << 14;

/// `ioctl(fd, request, arg)` with `arg` a zeroed scratch buffer (or NULL).
pub fn ioctl_raw(fd: i32, request: u64, arg: Option<&mut [u8; RAW_IOCTL_ARG_BYTES]>) -> SysResult<i64> {
    let ptr = arg.map_or(std::ptr::null_mut(), |a| a.as_mut_ptr());
    // SAFETY: the scratch buffer holds the largest size an _IOC request
    // encodes; the legacy requests cases use (FIONREAD, FIONBIO) move an int.
    check(unsafe { libc::syscall(libc::SYS_ioctl, fd, request, ptr) })
}
