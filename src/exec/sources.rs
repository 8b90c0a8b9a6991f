//! `source NAME KIND`: one readable thing of each kind with the same two
//! names, `NAME.r` (the end a case watches) and `NAME.w` (the end it writes),
//! so one case can run over every fd type as variants.

use super::fixtures::{call, fifo_fds, fixture_error, made_pair, pair, pty_fds};
use super::interp::{Ctx, Exec, StepResult};
use super::outcome::Outcome;
use super::state::{FdKind, lock};
use crate::case::model::{SockType, SourceKind};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{IntoRawFd, OwnedFd};

pub fn source(ctx: &mut Ctx, name: &str, kind: SourceKind) -> StepResult {
    match kind {
        SourceKind::Pipe => {
            let fds = nix::unistd::pipe2(nix::fcntl::OFlag::empty()).map_err(|e| fixture_error(ctx, "pipe2", e))?;
            made_pair(ctx, name, ("r", "w"), fds, FdKind::Pipe, call!(ctx, "pipe2(0)"))
        }
        SourceKind::Fifo => {
            let fds = fifo_fds(ctx, name)?;
            made_pair(ctx, name, ("r", "w"), fds, FdKind::Pipe, call!(ctx, "mkfifo + open x2"))
        }
        SourceKind::Stream => pair(ctx, name, SockType::Stream, false, ("r", "w")),
        SourceKind::Dgram => pair(ctx, name, SockType::Dgram, false, ("r", "w")),
        SourceKind::SeqPacket => pair(ctx, name, SockType::SeqPacket, false, ("r", "w")),
        SourceKind::Tcp => tcp(ctx, name, "127.0.0.1:0"),
        SourceKind::Tcp6 => tcp(ctx, name, "[::1]:0"),
        SourceKind::Udp => udp(ctx, name),
        SourceKind::EventFd => {
            let fd = nix::sys::eventfd::EventFd::new().map_err(|e| fixture_error(ctx, "eventfd", e))?;
            let raw = OwnedFd::from(fd).into_raw_fd();
            let base = ctx.resolve_name(name);
            let mut t = lock(&ctx.sh.fds);
            // One fd under both names: writing "the other end" of an eventfd
            // is writing the eventfd itself.
            t.insert(format!("{base}.r"), raw, FdKind::EventFd);
            t.insert(format!("{base}.w"), raw, FdKind::EventFd);
            Ok(Exec { outcome: Outcome::Ret(0), call: call!(ctx, "eventfd(0, 0)") })
        }
        SourceKind::Pty => {
            let (master, slave) = pty_fds(ctx)?;
            made_pair(ctx, name, ("r", "w"), (slave, master), FdKind::Other, call!(ctx, "posix_openpt [raw]"))
        }
    }
}

/// A connected TCP pair over loopback: `.r` is the accepted (server) side,
/// `.w` the client.
fn tcp(ctx: &mut Ctx, name: &str, addr: &str) -> StepResult {
    let listener = TcpListener::bind(addr).map_err(|e| fixture_error(ctx, &format!("bind {addr}"), e))?;
    let local = listener.local_addr().map_err(|e| fixture_error(ctx, "getsockname", e))?;
    let client = TcpStream::connect(local).map_err(|e| fixture_error(ctx, &format!("connect {local}"), e))?;
    let (server, _) = listener.accept().map_err(|e| fixture_error(ctx, "accept", e))?;
    let fds = (OwnedFd::from(server), OwnedFd::from(client));
    made_pair(ctx, name, ("r", "w"), fds, FdKind::Socket { listening: false }, call!(ctx, "socket+bind {local}+listen, connect, accept"))
}

/// Two UDP sockets on loopback connected to each other.
fn udp(ctx: &mut Ctx, name: &str) -> StepResult {
    let r = UdpSocket::bind("127.0.0.1:0").map_err(|e| fixture_error(ctx, "bind udp", e))?;
    let w = UdpSocket::bind("127.0.0.1:0").map_err(|e| fixture_error(ctx, "bind udp", e))?;
    let (ra, wa) = (addr_of(ctx, &r)?, addr_of(ctx, &w)?);
    w.connect(ra).map_err(|e| fixture_error(ctx, "connect udp", e))?;
    r.connect(wa).map_err(|e| fixture_error(ctx, "connect udp", e))?;
    let fds = (OwnedFd::from(r), OwnedFd::from(w));
    made_pair(ctx, name, ("r", "w"), fds, FdKind::Socket { listening: false }, call!(ctx, "udp {ra} <- {wa}"))
}

fn addr_of(ctx: &Ctx, s: &UdpSocket) -> Result<SocketAddr, super::failure::Failure> {
    s.local_addr().map_err(|e| fixture_error(ctx, "getsockname", e))
}
