//! Steps that move data or configure fixtures: sockets, reads and writes,
//! filling and draining, timers.

use super::fixtures::call;
use super::interp::{Ctx, Exec, StepResult};
use super::outcome::Outcome;
use super::state::{FdEntry, FdKind, lock};
use crate::case::model::*;
use crate::names::{self, flags_name};
use crate::sys::io;
use nix::sys::socket::{SockaddrIn, SockaddrIn6, SockaddrStorage};
use std::net::SocketAddr;

pub fn execute(ctx: &mut Ctx, a: &Action) -> Option<StepResult> {
    Some(match a {
        Action::SetSockOpt { fd, opt, value } => setsockopt(ctx, fd, *opt, *value),
        Action::Bind { fd, addr } => with_addr(ctx, fd, addr, "bind", nix::sys::socket::bind),
        Action::Listen { fd, backlog } => listen(ctx, fd, *backlog),
        Action::Connect { fd, addr } => {
            ctx.entering(libc::SYS_connect);
            let r = with_addr(ctx, fd, addr, "connect", nix::sys::socket::connect);
            ctx.left();
            r
        }
        Action::Accept { new, listener, nonblock } => accept(ctx, new, listener, *nonblock),
        Action::Shutdown { fd, how } => shutdown(ctx, fd, *how),
        Action::Send { fd, len, oob } => send(ctx, fd, *len, *oob),
        Action::Recv { fd, len, oob } => recv(ctx, fd, *len, *oob),
        Action::Write { fd, payload } => write(ctx, fd, payload),
        Action::Read { fd, len } => read(ctx, fd, *len),
        Action::Fill { fd } => fill(ctx, fd),
        Action::Drain { fd } => drain(ctx, fd),
        Action::Nonblock { fd, on } => nonblock(ctx, fd, *on),
        Action::Arm { fd, after, interval } => arm(ctx, fd, *after, *interval),
        Action::GetFd { fd } => getfd(ctx, fd),
        _ => return None,
    })
}

fn shutdown(ctx: &mut Ctx, fd: &FdRef, how: ShutHow) -> StepResult {
    let fd = ctx.fd(fd)?;
    let h = match how {
        ShutHow::Rd => libc::SHUT_RD,
        ShutHow::Wr => libc::SHUT_WR,
        ShutHow::RdWr => libc::SHUT_RDWR,
    };
    Ok(Exec { outcome: Outcome::from_result(io::shutdown(fd, h)), call: call!(ctx, "shutdown({fd}, {})", names::flags::shut_how_name(how)) })
}

fn send(ctx: &mut Ctx, fd: &FdRef, len: u64, oob: bool) -> StepResult {
    let fd = ctx.fd(fd)?;
    let buf = vec![b'x'; len as usize];
    let flags = if oob { libc::MSG_OOB } else { 0 };
    Ok(Exec { outcome: Outcome::from_result(io::send(fd, &buf, flags)), call: call!(ctx, "send({fd}, {len} bytes, {})", flags_name(names::flags::MSG, flags)) })
}

fn recv(ctx: &mut Ctx, fd: &FdRef, len: u64, oob: bool) -> StepResult {
    let fd = ctx.fd(fd)?;
    let mut buf = vec![0u8; len as usize];
    let flags = if oob { libc::MSG_OOB } else { 0 };
    ctx.entering(libc::SYS_recvfrom);
    let r = io::recv(fd, &mut buf, flags);
    ctx.left();
    Ok(Exec { outcome: Outcome::from_result(r), call: call!(ctx, "recv({fd}, {len}, {})", flags_name(names::flags::MSG, flags)) })
}

fn nonblock(ctx: &mut Ctx, fd: &FdRef, on: bool) -> StepResult {
    let fd = ctx.fd(fd)?;
    Ok(Exec { outcome: Outcome::from_result(set_nonblock(fd, on).map(|_| 0)), call: call!(ctx, "fcntl({fd}, F_SETFL, O_NONBLOCK={on})") })
}

fn arm(ctx: &mut Ctx, fd: &FdRef, after: std::time::Duration, interval: std::time::Duration) -> StepResult {
    let fd = ctx.fd(fd)?;
    let r = io::timerfd_settime(fd, after, interval);
    Ok(Exec { outcome: Outcome::from_result(r), call: call!(ctx, "timerfd_settime({fd}, {after:?}, every {interval:?})") })
}

fn getfd(ctx: &mut Ctx, fd: &FdRef) -> StepResult {
    let fd = ctx.fd(fd)?;
    Ok(Exec { outcome: Outcome::from_result(io::fcntl_int(fd, libc::F_GETFD, 0)), call: call!(ctx, "fcntl({fd}, F_GETFD)") })
}

fn setsockopt(ctx: &mut Ctx, fd: &FdRef, opt: SockOpt, value: i64) -> StepResult {
    let fd = ctx.fd(fd)?;
    let v = value as i32;
    let r = match opt {
        SockOpt::ReusePort => io::setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT, v),
        SockOpt::ReuseAddr => io::setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, v),
        SockOpt::RcvBuf => io::setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, v),
        SockOpt::SndBuf => io::setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, v),
        SockOpt::Linger => io::set_linger(fd, true, v),
        SockOpt::OobInline => io::setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_OOBINLINE, v),
        SockOpt::IncomingCpu => io::setsockopt_int(fd, libc::SOL_SOCKET, crate::sys::misc::SO_INCOMING_CPU, v),
        SockOpt::ReusePortCbpf => crate::sys::misc::attach_reuseport_ret(fd, v as u32),
        SockOpt::DetachBpf => io::setsockopt_int(fd, libc::SOL_SOCKET, crate::sys::misc::SO_DETACH_REUSEPORT_BPF, 0),
    };
    Ok(Exec { outcome: Outcome::from_result(r), call: call!(ctx, "setsockopt({fd}, SOL_SOCKET, {}, {value})", names::flags::sockopt_name(opt)) })
}

/// Resolves an address (a literal, or the address another socket is bound
/// to) and calls `f` (bind or connect) with it.
fn with_addr(ctx: &mut Ctx, fd: &FdRef, addr: &Addr, what: &str, f: fn(i32, &dyn nix::sys::socket::SockaddrLike) -> nix::Result<()>) -> StepResult {
    let fd = ctx.fd(fd)?;
    let (r, shown) = match addr {
        Addr::Literal(s) => {
            let sa: SocketAddr = s.parse().map_err(|e| ctx.error(format!("bad address {s}: {e}")))?;
            let r = match sa {
                SocketAddr::V4(v4) => f(fd, &SockaddrIn::from(v4)),
                SocketAddr::V6(v6) => f(fd, &SockaddrIn6::from(v6)),
            };
            (r, s.clone())
        }
        Addr::Of(other) => {
            let ofd = ctx.fd(other)?;
            let sa: SockaddrStorage = nix::sys::socket::getsockname(ofd).map_err(|e| ctx.error(format!("getsockname of {other} failed: {e}")))?;
            (f(fd, &sa), format!("{sa}"))
        }
    };
    let r = r.map(|_| 0).map_err(|e| e as i32);
    Ok(Exec { outcome: Outcome::from_result(r), call: call!(ctx, "{what}({fd}, {shown})") })
}

fn listen(ctx: &mut Ctx, r: &FdRef, backlog: i32) -> StepResult {
    let fd = ctx.fd(r)?;
    let res = io::listen(fd, backlog);
    if res.is_ok() {
        let mut t = lock(&ctx.sh.fds);
        for e in t.names.values_mut().filter(|e| e.fd == fd) {
            e.kind = FdKind::Socket { listening: true };
        }
    }
    Ok(Exec { outcome: Outcome::from_result(res), call: call!(ctx, "listen({fd}, {backlog})") })
}

fn accept(ctx: &mut Ctx, new: &str, listener: &FdRef, nonblock: bool) -> StepResult {
    let fd = ctx.fd(listener)?;
    let flags = if nonblock { libc::SOCK_NONBLOCK } else { 0 };
    ctx.entering(libc::SYS_accept4);
    let r = io::accept4(fd, flags);
    ctx.left();
    super::fixtures::made(ctx, new, r, FdKind::Socket { listening: false }, call!(ctx, "accept4({fd}, NULL, NULL, {})", flags_name(names::flags::ACCEPT4, flags)))
}

fn write(ctx: &mut Ctx, r: &FdRef, payload: &Payload) -> StepResult {
    let e = ctx.entry(r)?;
    let bytes: Vec<u8> = match (payload, e.kind) {
        (Payload::Count(n), FdKind::EventFd) => n.to_ne_bytes().to_vec(),
        (Payload::Count(n), _) => vec![b'x'; *n as usize],
        (Payload::Text(t), _) => t.as_bytes().to_vec(),
    };
    ctx.entering(libc::SYS_write);
    let res = io::write(e.fd, &bytes);
    ctx.left();
    let shown = match (payload, e.kind) {
        (Payload::Count(n), FdKind::EventFd) => format!("eventfd value {n}"),
        _ => format!("{} bytes", bytes.len()),
    };
    Ok(Exec { outcome: Outcome::from_result(res), call: call!(ctx, "write({}, {shown})", e.fd) })
}

/// Reads: bytes for streams; the value for eventfd, the expiration count for
/// timerfd, the signal number for signalfd.
fn read(ctx: &mut Ctx, r: &FdRef, len: u64) -> StepResult {
    let e = ctx.entry(r)?;
    let size = match e.kind {
        FdKind::EventFd | FdKind::TimerFd => 8,
        FdKind::SignalFd => 128,
        _ => len as usize,
    };
    let mut buf = vec![0u8; size];
    ctx.entering(libc::SYS_read);
    let res = io::read(e.fd, &mut buf);
    ctx.left();
    let res = res.map(|n| decode_read(e, &buf, n));
    Ok(Exec { outcome: Outcome::from_result(res), call: call!(ctx, "read({}, {size})", e.fd) })
}

fn decode_read(e: FdEntry, buf: &[u8], n: i64) -> i64 {
    let u64_at = |b: &[u8]| u64::from_ne_bytes(b[..8].try_into().expect("8 bytes")) as i64;
    match e.kind {
        FdKind::EventFd | FdKind::TimerFd if n == 8 => u64_at(buf),
        FdKind::SignalFd if n >= 4 => u32::from_ne_bytes(buf[..4].try_into().expect("4 bytes")) as i64,
        _ => n,
    }
}

pub fn set_nonblock(fd: i32, on: bool) -> Result<i32, i32> {
    let fl = io::fcntl_int(fd, libc::F_GETFL, 0)? as i32;
    let new = if on { fl | libc::O_NONBLOCK } else { fl & !libc::O_NONBLOCK };
    io::fcntl_int(fd, libc::F_SETFL, new)?;
    Ok(fl)
}

/// Runs `f` with the fd non-blocking, then restores its flags.
fn nonblocking<T>(ctx: &Ctx, fd: i32, f: impl FnOnce() -> T) -> Result<T, super::failure::Failure> {
    let old = set_nonblock(fd, true).map_err(|e| ctx.error(format!("fcntl(F_SETFL, O_NONBLOCK) on {fd} failed: {}", crate::names::errno_name(e))))?;
    let out = f();
    let _ = io::fcntl_int(fd, libc::F_SETFL, old);
    Ok(out)
}

/// Writes until the fd would block; the outcome is the byte count.
fn fill(ctx: &mut Ctx, r: &FdRef) -> StepResult {
    let e = ctx.entry(r)?;
    let chunk = vec![b'x'; 65536];
    let res = nonblocking(ctx, e.fd, || {
        // Big writes first; once one would block, single bytes fill the
        // space a partial write can leave behind.
        let mut size = chunk.len();
        let mut total = 0i64;
        loop {
            match io::write(e.fd, &chunk[..size]) {
                Ok(n) => total += n,
                Err(libc::EAGAIN) if size > 1 => size = 1,
                Err(libc::EAGAIN) => return Ok(total),
                Err(err) => return Err(err),
            }
        }
    })?;
    Ok(Exec { outcome: Outcome::from_result(res), call: call!(ctx, "write({}, ...) until EAGAIN", e.fd) })
}

/// Consumes everything available: bytes (until EAGAIN or EOF), an eventfd's
/// value, or, on a listening socket, every pending connection (accepted and
/// closed). The outcome is the amount consumed.
fn drain(ctx: &mut Ctx, r: &FdRef) -> StepResult {
    let e = ctx.entry(r)?;
    let res = nonblocking(ctx, e.fd, || match e.kind {
        FdKind::Socket { listening: true } => {
            let mut n = 0i64;
            loop {
                match io::accept4(e.fd, 0) {
                    Ok(c) => {
                        let _ = io::close(c as i32);
                        n += 1;
                    }
                    Err(libc::EAGAIN) => return Ok(n),
                    Err(err) => return Err(err),
                }
            }
        }
        _ => {
            let mut buf = vec![0u8; 65536];
            let mut total = 0i64;
            loop {
                match io::read(e.fd, &mut buf) {
                    Ok(0) => return Ok(total),
                    Ok(n) => total += decode_read(e, &buf, n),
                    Err(libc::EAGAIN) => return Ok(total),
                    Err(err) => return Err(err),
                }
            }
        }
    })?;
    Ok(Exec { outcome: Outcome::from_result(res), call: call!(ctx, "drain({}) until EAGAIN", e.fd) })
}
