//! Steps that make file descriptors: epoll instances (under test) and the
//! fixtures they watch (made with nix), plus dup and close.

use super::interp::{Ctx, Exec, StepResult};
use super::outcome::Outcome;
use super::state::{FdKind, lock};
use crate::case::model::*;
use crate::names::{self, errno_name, flags_name, open_flags_name};
use crate::sys::{epoll, io};
use nix::sys::socket::{AddressFamily, SockFlag, SockType as NixSockType, socketpair};
use std::os::fd::{IntoRawFd, OwnedFd};

/// Builds the traced call text only when tracing is on.
macro_rules! call {
    ($ctx:expr, $($fmt:tt)*) => {
        if $ctx.tracing() { Some(format!($($fmt)*)) } else { None }
    };
}
pub(crate) use call;

pub fn execute(ctx: &mut Ctx, a: &Action) -> Option<StepResult> {
    Some(match a {
        Action::Epoll { name, flags } => {
            let r = epoll::epoll_create1(*flags as i32);
            made(ctx, name, r, FdKind::Epoll, call!(ctx, "epoll_create1({})", flags_name(names::flags::EPOLL_CREATE1, *flags)))
        }
        Action::EpollCreate { name, size } => {
            let r = epoll::epoll_create(*size as i32);
            made(ctx, name, r, FdKind::Epoll, call!(ctx, "epoll_create({size})"))
        }
        Action::Pipe { name, flags } => pipe(ctx, name, *flags),
        Action::Fifo { name } => fifo(ctx, name),
        Action::SocketPair { name, ty, nonblock } => pair(ctx, name, *ty, *nonblock, ("a", "b")),
        Action::Socket { name, proto, nonblock } => socket(ctx, name, *proto, *nonblock),
        Action::EventFd { name, init, flags } => eventfd(ctx, name, *init, *flags),
        Action::TimerFd { name, flags } => timerfd(ctx, name, *flags),
        Action::SignalFd { name, signals } => signalfd(ctx, name, signals),
        Action::File { name, path } => file(ctx, name, path.as_deref()),
        Action::Dir { name, path } => dir(ctx, name, path.as_deref()),
        Action::Open { name, path, flags } => open(ctx, name, path, *flags),
        Action::Pty { name } => pty(ctx, name, ("m", "s")),
        Action::Inotify { name } => nix_made(ctx, name, nix::sys::inotify::Inotify::init(nix::sys::inotify::InitFlags::empty()).map(OwnedFd::from), FdKind::Inotify, "inotify_init1(0)"),
        Action::Memfd { name } => {
            let r = nix::sys::memfd::memfd_create("epollcheck", nix::sys::memfd::MFdFlags::empty());
            nix_made(ctx, name, r, FdKind::File, "memfd_create(\"epollcheck\", 0)")
        }
        Action::Source { name, kind } => super::sources::source(ctx, name, *kind),
        Action::Dup { new, old } => dup(ctx, new, old),
        Action::Dup2 { old, new } => dup2(ctx, old, new),
        Action::Close { fd } => close(ctx, fd),
        _ => return None,
    })
}

/// Binds `name` to a new fd and reports the fd number as the outcome.
pub fn made(ctx: &Ctx, name: &str, r: Result<i64, i32>, kind: FdKind, call: Option<String>) -> StepResult {
    if let Ok(fd) = r {
        lock(&ctx.sh.fds).insert(ctx.resolve_name(name), fd as i32, kind);
    }
    Ok(Exec { outcome: Outcome::from_result(r), call })
}

pub fn nix_made(ctx: &Ctx, name: &str, r: nix::Result<OwnedFd>, kind: FdKind, call: &str) -> StepResult {
    let r = r.map(|fd| fd.into_raw_fd() as i64).map_err(|e| e as i32);
    made(ctx, name, r, kind, call!(ctx, "{call}"))
}

/// Binds `NAME.x` and `NAME.y` to a pair of new fds.
pub fn made_pair(ctx: &Ctx, name: &str, ends: (&str, &str), fds: (OwnedFd, OwnedFd), kind: FdKind, call: Option<String>) -> StepResult {
    let base = ctx.resolve_name(name);
    let (a, b) = (fds.0.into_raw_fd(), fds.1.into_raw_fd());
    let mut t = lock(&ctx.sh.fds);
    t.insert(format!("{base}.{}", ends.0), a, kind);
    t.insert(format!("{base}.{}", ends.1), b, kind);
    Ok(Exec { outcome: Outcome::Ret(0), call })
}

/// A fixture that could not be made is an ERROR: no verdict on epoll.
pub fn fixture_error(ctx: &Ctx, what: &str, e: impl std::fmt::Display) -> super::failure::Failure {
    ctx.error(format!("{what} failed: {e}"))
}

fn pipe(ctx: &mut Ctx, name: &str, flags: i32) -> StepResult {
    let oflags = nix::fcntl::OFlag::from_bits_truncate(flags);
    let fds = nix::unistd::pipe2(oflags).map_err(|e| fixture_error(ctx, "pipe2", e))?;
    made_pair(ctx, name, ("r", "w"), fds, FdKind::Pipe, call!(ctx, "pipe2({})", flags_name(names::flags::PIPE2, flags)))
}

pub fn fifo_fds(ctx: &Ctx, name: &str) -> Result<(OwnedFd, OwnedFd), super::failure::Failure> {
    let path = ctx.sh.tempdir.as_path().join(format!("fifo-{}", ctx.resolve_name(name)));
    let _ = std::fs::remove_file(&path);
    let cpath = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).map_err(|e| fixture_error(ctx, "mkfifo", e))?;
    io::mkfifo(&cpath, 0o600).map_err(|e| fixture_error(ctx, "mkfifo", errno_name(e)))?;
    // Open the reader non-blocking so that opening it does not wait for a
    // writer, then make it blocking like a pipe's read end.
    let r = io::open(&cpath, libc::O_RDONLY | libc::O_NONBLOCK).map_err(|e| fixture_error(ctx, "open FIFO for reading", errno_name(e)))? as i32;
    let w = io::open(&cpath, libc::O_WRONLY).map_err(|e| fixture_error(ctx, "open FIFO for writing", errno_name(e)))? as i32;
    let fl = io::fcntl_int(r, libc::F_GETFL, 0).unwrap_or(0) as i32;
    let _ = io::fcntl_int(r, libc::F_SETFL, fl & !libc::O_NONBLOCK);
    Ok((owned(r), owned(w)))
}

/// Wraps a raw fd we just opened and own.
fn owned(fd: i32) -> OwnedFd {
    crate::sys::io::own(fd)
}

fn fifo(ctx: &mut Ctx, name: &str) -> StepResult {
    let fds = fifo_fds(ctx, name)?;
    made_pair(ctx, name, ("r", "w"), fds, FdKind::Pipe, call!(ctx, "mkfifo + open(O_RDONLY) + open(O_WRONLY)"))
}

pub fn pair(ctx: &mut Ctx, name: &str, ty: SockType, nonblock: bool, ends: (&str, &str)) -> StepResult {
    let nty = match ty {
        SockType::Stream => NixSockType::Stream,
        SockType::Dgram => NixSockType::Datagram,
        SockType::SeqPacket => NixSockType::SeqPacket,
    };
    let flags = if nonblock { SockFlag::SOCK_NONBLOCK } else { SockFlag::empty() };
    let fds = socketpair(AddressFamily::Unix, nty, None, flags).map_err(|e| fixture_error(ctx, "socketpair", e))?;
    made_pair(ctx, name, ends, fds, FdKind::Socket { listening: false }, call!(ctx, "socketpair(AF_UNIX, {}, 0)", names::flags::sock_type_name(ty)))
}

fn socket(ctx: &mut Ctx, name: &str, proto: Proto, nonblock: bool) -> StepResult {
    let (fam, ty) = match proto {
        Proto::Tcp => (AddressFamily::Inet, NixSockType::Stream),
        Proto::Udp => (AddressFamily::Inet, NixSockType::Datagram),
        Proto::Tcp6 => (AddressFamily::Inet6, NixSockType::Stream),
        Proto::Udp6 => (AddressFamily::Inet6, NixSockType::Datagram),
    };
    let flags = if nonblock { SockFlag::SOCK_NONBLOCK } else { SockFlag::empty() };
    let r = nix::sys::socket::socket(fam, ty, flags, None);
    let shown_fam = if fam == AddressFamily::Inet { "AF_INET" } else { "AF_INET6" };
    let shown_ty = if ty == NixSockType::Stream { "SOCK_STREAM" } else { "SOCK_DGRAM" };
    let shown_flags = if nonblock { "|SOCK_NONBLOCK" } else { "" };
    nix_made(ctx, name, r, FdKind::Socket { listening: false }, &format!("socket({shown_fam}, {shown_ty}{shown_flags}, 0)"))
}

fn eventfd(ctx: &mut Ctx, name: &str, init: u64, flags: i32) -> StepResult {
    let f = nix::sys::eventfd::EfdFlags::from_bits_truncate(flags);
    let r = nix::sys::eventfd::EventFd::from_value_and_flags(init as u32, f).map(OwnedFd::from);
    nix_made(ctx, name, r, FdKind::EventFd, &format!("eventfd({init}, {})", flags_name(names::flags::EVENTFD, flags)))
}

fn timerfd(ctx: &mut Ctx, name: &str, flags: i32) -> StepResult {
    use nix::sys::timerfd::{ClockId, TimerFd, TimerFlags};
    let r = TimerFd::new(ClockId::CLOCK_MONOTONIC, TimerFlags::from_bits_truncate(flags)).map(OwnedFd::from);
    nix_made(ctx, name, r, FdKind::TimerFd, &format!("timerfd_create(CLOCK_MONOTONIC, {})", flags_name(names::flags::TIMERFD, flags)))
}

/// signalfd only sees signals that are blocked, so the step blocks them in
/// the calling thread first (threads started later inherit the mask).
fn signalfd(ctx: &mut Ctx, name: &str, signals: &[i32]) -> StepResult {
    let set = crate::sys::signal::kernel_sigset(signals);
    crate::sys::signal::sigprocmask(libc::SIG_BLOCK, set).map_err(|e| fixture_error(ctx, "sigprocmask", errno_name(e)))?;
    let mut mask = nix::sys::signal::SigSet::empty();
    for &s in signals {
        let sig = nix::sys::signal::Signal::try_from(s).map_err(|e| fixture_error(ctx, "signalfd", e))?;
        mask.add(sig);
    }
    let r = nix::sys::signalfd::SignalFd::new(&mask).map(OwnedFd::from);
    nix_made(ctx, name, r, FdKind::SignalFd, &format!("signalfd(-1, {}, 0)", names::flags::sigset_name(signals)))
}

/// Relative paths are relative to the suite root (where `cases/` and
/// `fixtures/` live); without a path a fresh temporary file is made.
fn file(ctx: &mut Ctx, name: &str, path: Option<&str>) -> StepResult {
    let p = match path {
        Some(p) => std::path::PathBuf::from(p),
        None => ctx.sh.tempdir.as_path().join(format!("file-{}", ctx.resolve_name(name))),
    };
    let flags = if path.is_some() { libc::O_RDONLY } else { libc::O_RDWR | libc::O_CREAT };
    open_path(ctx, name, &p, flags, FdKind::File)
}

fn dir(ctx: &mut Ctx, name: &str, path: Option<&str>) -> StepResult {
    let p = match path {
        Some(p) => std::path::PathBuf::from(p),
        None => {
            let p = ctx.sh.tempdir.as_path().join(format!("dir-{}", ctx.resolve_name(name)));
            std::fs::create_dir_all(&p).map_err(|e| fixture_error(ctx, "mkdir", e))?;
            p
        }
    };
    open_path(ctx, name, &p, libc::O_RDONLY | libc::O_DIRECTORY, FdKind::Dir)
}

fn open(ctx: &mut Ctx, name: &str, path: &str, flags: i32) -> StepResult {
    open_path(ctx, name, std::path::Path::new(path), flags, FdKind::Other)
}

fn open_path(ctx: &mut Ctx, name: &str, p: &std::path::Path, flags: i32, kind: FdKind) -> StepResult {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).map_err(|e| fixture_error(ctx, "open", e))?;
    let r = io::open(&c, flags);
    made(ctx, name, r, kind, call!(ctx, "open(\"{}\", {})", p.display(), open_flags_name(flags)))
}

/// A pty pair with the slave in raw mode, so single bytes written to the
/// master become readable at once (canonical mode would wait for a newline).
pub fn pty_fds(ctx: &Ctx) -> Result<(OwnedFd, OwnedFd), super::failure::Failure> {
    use nix::fcntl::OFlag;
    use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY).map_err(|e| fixture_error(ctx, "posix_openpt", e))?;
    grantpt(&master).map_err(|e| fixture_error(ctx, "grantpt", e))?;
    unlockpt(&master).map_err(|e| fixture_error(ctx, "unlockpt", e))?;
    let path = ptsname_r(&master).map_err(|e| fixture_error(ctx, "ptsname_r", e))?;
    let slave = nix::fcntl::open(path.as_str(), OFlag::O_RDWR | OFlag::O_NOCTTY, nix::sys::stat::Mode::empty())
        .map_err(|e| fixture_error(ctx, "open pty slave", e))?;
    let mut tio = nix::sys::termios::tcgetattr(&slave).map_err(|e| fixture_error(ctx, "tcgetattr", e))?;
    nix::sys::termios::cfmakeraw(&mut tio);
    nix::sys::termios::tcsetattr(&slave, nix::sys::termios::SetArg::TCSANOW, &tio).map_err(|e| fixture_error(ctx, "tcsetattr", e))?;
    Ok((OwnedFd::from(master), slave))
}

fn pty(ctx: &mut Ctx, name: &str, ends: (&str, &str)) -> StepResult {
    let fds = pty_fds(ctx)?;
    made_pair(ctx, name, ends, fds, FdKind::Other, call!(ctx, "posix_openpt + open(ptsname) [raw mode]"))
}

fn dup(ctx: &mut Ctx, new: &str, old: &FdRef) -> StepResult {
    let e = ctx.entry(old)?;
    let r = io::dup(e.fd);
    made(ctx, new, r, e.kind, call!(ctx, "dup({})", e.fd))
}

/// `dup2 OLD NEW`: NEW must name an open fd; its number now refers to OLD's file.
fn dup2(ctx: &mut Ctx, old: &FdRef, new: &str) -> StepResult {
    let e = ctx.entry(old)?;
    let new_name = ctx.resolve_name(new);
    let target = lock(&ctx.sh.fds).names.get(&new_name).map(|t| t.fd);
    let Some(target) = target else {
        return Err(ctx.error(format!("dup2 needs `{new_name}` to name an open fd whose number it replaces")));
    };
    let r = io::dup2(e.fd, target);
    made(ctx, new, r, e.kind, call!(ctx, "dup2({}, {target})", e.fd))
}

fn close(ctx: &mut Ctx, r: &FdRef) -> StepResult {
    let fd = ctx.fd(r)?;
    let res = io::close(fd);
    if let FdRef::Name(n) = r {
        let n = ctx.resolve_name(n);
        if ctx.aliases.remove(&n).is_none() {
            let mut t = lock(&ctx.sh.fds);
            if t.forget(&n).is_some_and(|e| e.kind == FdKind::Epoll) {
                t.registrations.retain(|(ep, _), _| *ep != fd);
            }
        }
    }
    Ok(Exec { outcome: Outcome::from_result(res), call: call!(ctx, "close({fd})") })
}
