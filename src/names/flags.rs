//! Names for the `flags` arguments of the calls that make a case's fds
//! (`epoll_create1`, `pipe2`, `eventfd`, `timerfd_create`, `open`,
//! `accept4`) and of `send`/`recv`, for ioctl request numbers and for the
//! other constants a step passes, so a trace reads
//! `pipe2(O_NONBLOCK|O_CLOEXEC)`, not `pipe2(0x80800)`.

use crate::case::model::{ShutHow, SigHow, SigMaskArg, SockOpt, SockType};

/// One call's flag constants, as its man page names them.
pub type FlagTable = &'static [(&'static str, i64)];

pub const EPOLL_CREATE1: FlagTable = &[("EPOLL_CLOEXEC", libc::EPOLL_CLOEXEC as i64)];

pub const PIPE2: FlagTable = &[("O_NONBLOCK", libc::O_NONBLOCK as i64), ("O_CLOEXEC", libc::O_CLOEXEC as i64), ("O_DIRECT", libc::O_DIRECT as i64)];

pub const EVENTFD: FlagTable = &[("EFD_SEMAPHORE", libc::EFD_SEMAPHORE as i64), ("EFD_NONBLOCK", libc::EFD_NONBLOCK as i64), ("EFD_CLOEXEC", libc::EFD_CLOEXEC as i64)];

pub const TIMERFD: FlagTable = &[("TFD_NONBLOCK", libc::TFD_NONBLOCK as i64), ("TFD_CLOEXEC", libc::TFD_CLOEXEC as i64)];

pub const ACCEPT4: FlagTable = &[("SOCK_NONBLOCK", libc::SOCK_NONBLOCK as i64), ("SOCK_CLOEXEC", libc::SOCK_CLOEXEC as i64)];

pub const MSG: FlagTable = &[
    ("MSG_OOB", libc::MSG_OOB as i64),
    ("MSG_PEEK", libc::MSG_PEEK as i64),
    ("MSG_DONTWAIT", libc::MSG_DONTWAIT as i64),
    ("MSG_WAITALL", libc::MSG_WAITALL as i64),
    ("MSG_NOSIGNAL", libc::MSG_NOSIGNAL as i64),
    ("MSG_MORE", libc::MSG_MORE as i64),
];

/// `open(2)` flags after the access mode (O_RDONLY is 0, so it is named
/// from the low two bits, not found as a bit).
const OPEN: FlagTable = &[
    ("O_CREAT", libc::O_CREAT as i64),
    ("O_EXCL", libc::O_EXCL as i64),
    ("O_NOCTTY", libc::O_NOCTTY as i64),
    ("O_TRUNC", libc::O_TRUNC as i64),
    ("O_APPEND", libc::O_APPEND as i64),
    ("O_NONBLOCK", libc::O_NONBLOCK as i64),
    ("O_DIRECTORY", libc::O_DIRECTORY as i64),
    ("O_NOFOLLOW", libc::O_NOFOLLOW as i64),
    ("O_CLOEXEC", libc::O_CLOEXEC as i64),
    ("O_PATH", libc::O_PATH as i64),
];

/// `A|B`, unknown bits as hex, no flags as `0`.
pub fn flags_name(table: FlagTable, flags: impl Into<i64>) -> String {
    let flags = flags.into();
    let mut parts: Vec<String> = Vec::new();
    let mut rest = flags;
    for (name, value) in table {
        if *value != 0 && flags & value == *value {
            parts.push((*name).to_string());
            rest &= !value;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    if parts.is_empty() { "0".into() } else { parts.join("|") }
}

/// `O_RDONLY|O_DIRECTORY`: the access mode, then the other flags.
pub fn open_flags_name(flags: i32) -> String {
    let mode = match flags & libc::O_ACCMODE {
        libc::O_RDONLY => "O_RDONLY",
        libc::O_WRONLY => "O_WRONLY",
        libc::O_RDWR => "O_RDWR",
        _ => "O_ACCMODE",
    };
    match flags_name(OPEN, i64::from(flags & !libc::O_ACCMODE)) {
        rest if rest == "0" => mode.to_string(),
        rest => format!("{mode}|{rest}"),
    }
}

/// The ioctl requests cases make by number, named when we know them.
pub fn ioctl_name(nr: u64) -> String {
    let known: &[(&str, u64)] = &[
        ("EPIOCSPARAMS", crate::sys::epoll::EPIOCSPARAMS),
        ("EPIOCGPARAMS", crate::sys::epoll::EPIOCGPARAMS),
        ("FIONREAD", libc::FIONREAD),
        ("FIONBIO", libc::FIONBIO),
        ("FIOCLEX", libc::FIOCLEX),
    ];
    known.iter().find(|(_, v)| *v == nr).map_or_else(|| format!("{nr:#x}"), |(n, _)| (*n).to_string())
}

/// `SOCK_STREAM`: the socket types a case names.
pub fn sock_type_name(t: SockType) -> &'static str {
    match t {
        SockType::Stream => "SOCK_STREAM",
        SockType::Dgram => "SOCK_DGRAM",
        SockType::SeqPacket => "SOCK_SEQPACKET",
    }
}

pub fn shut_how_name(h: ShutHow) -> &'static str {
    match h {
        ShutHow::Rd => "SHUT_RD",
        ShutHow::Wr => "SHUT_WR",
        ShutHow::RdWr => "SHUT_RDWR",
    }
}

pub fn sig_how_name(h: SigHow) -> &'static str {
    match h {
        SigHow::Block => "SIG_BLOCK",
        SigHow::Unblock => "SIG_UNBLOCK",
        SigHow::Set => "SIG_SETMASK",
    }
}

pub fn sockopt_name(o: SockOpt) -> &'static str {
    match o {
        SockOpt::ReusePort => "SO_REUSEPORT",
        SockOpt::ReuseAddr => "SO_REUSEADDR",
        SockOpt::RcvBuf => "SO_RCVBUF",
        SockOpt::SndBuf => "SO_SNDBUF",
        SockOpt::Linger => "SO_LINGER",
        SockOpt::OobInline => "SO_OOBINLINE",
        SockOpt::IncomingCpu => "SO_INCOMING_CPU",
        SockOpt::ReusePortCbpf => "SO_ATTACH_REUSEPORT_CBPF",
        SockOpt::DetachBpf => "SO_DETACH_REUSEPORT_BPF",
    }
}

/// `{SIGUSR1, SIGINT}`: a signal set as the trace shows it.
pub fn sigset_name(sigs: &[i32]) -> String {
    format!("{{{}}}", sigs.iter().map(|s| super::signal_name(*s)).collect::<Vec<_>>().join(", "))
}

/// The sigmask argument of epoll_pwait and epoll_pwait2.
pub fn sigmask_arg_name(m: &SigMaskArg) -> String {
    match m {
        SigMaskArg::Null => "NULL".into(),
        SigMaskArg::Set(sigs) => format!("&{}", sigset_name(sigs)),
        SigMaskArg::Bad => "(bad pointer)".into(),
    }
}

/// `[{4, POLLIN}, {5, POLLIN|POLLOUT}]`: poll's fd array.
pub fn pollfds_name(fds: &[(i32, u32)]) -> String {
    let each: Vec<String> = fds.iter().map(|(fd, ev)| format!("{{{fd}, {}}}", super::mask_name(super::MaskKind::Poll, *ev))).collect();
    format!("[{}]", each.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_as_the_man_pages_write_them() {
        assert_eq!(flags_name(PIPE2, 0), "0");
        assert_eq!(flags_name(PIPE2, libc::O_NONBLOCK | libc::O_CLOEXEC), "O_NONBLOCK|O_CLOEXEC");
        assert_eq!(flags_name(EPOLL_CREATE1, 1), "0x1");
        assert_eq!(flags_name(EPOLL_CREATE1, libc::EPOLL_CLOEXEC | 1), "EPOLL_CLOEXEC|0x1");
        assert_eq!(open_flags_name(libc::O_RDONLY | libc::O_DIRECTORY), "O_RDONLY|O_DIRECTORY");
        assert_eq!(open_flags_name(libc::O_RDWR), "O_RDWR");
        assert_eq!(ioctl_name(crate::sys::epoll::EPIOCGPARAMS), "EPIOCGPARAMS");
        assert_eq!(ioctl_name(0x8a03), "0x8a03");
        assert_eq!(pollfds_name(&[(4, 1), (5, 5)]), "[{4, POLLIN}, {5, POLLIN|POLLOUT}]");
        assert_eq!(sigmask_arg_name(&SigMaskArg::Set(vec![libc::SIGUSR1])), "&{SIGUSR1}");
    }
}
