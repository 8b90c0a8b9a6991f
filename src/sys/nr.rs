//! Syscall numbers that differ by architecture. arm64 and other newer ABIs
//! have no epoll_create, epoll_wait, poll or select: glibc implements them
//! with epoll_create1, epoll_pwait, ppoll and pselect6, and so do we.

#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
mod arch {
    pub const EPOLL_CREATE: Option<libc::c_long> = Some(libc::SYS_epoll_create);
    pub const EPOLL_WAIT: libc::c_long = libc::SYS_epoll_wait;
    pub const POLL: libc::c_long = libc::SYS_poll;
    pub const SELECT: libc::c_long = libc::SYS_select;
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "x86")))]
mod arch {
    pub const EPOLL_CREATE: Option<libc::c_long> = None;
    pub const EPOLL_WAIT: libc::c_long = libc::SYS_epoll_pwait;
    pub const POLL: libc::c_long = libc::SYS_ppoll;
    pub const SELECT: libc::c_long = libc::SYS_pselect6;
}

pub use arch::*;
