//! The other steps, each one call of the runtime: fixtures, data, sockets,
//! signals, introspection, threads and forks, counters.

use super::cwrite::{Out, c_flags, c_i64, c_names, c_signal, c_sigset, cstr, fd_ref};
use super::expect::{cond_counters, cond_expr, cond_text};
use super::stmt::{Emitted, Env};
use crate::case::model::*;
use std::time::Duration;

pub fn emit(o: &mut Out, a: &Action, env: &Env<'_>) -> Emitted {
    let call = fixture(a).or_else(|| data(a)).or_else(|| extra(a)).or_else(|| control(a));
    match call {
        Some(c) => {
            o.line(format!("RUN({c});"));
            Ok(())
        }
        None => {
            // The step's kind, as the model names it (`Wait`, `Ctl`, ...).
            let debug = format!("{a:?}");
            let kind = debug.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("?");
            Err(super::ExportError::new(env.line, kind, "the exporter has no C rendering for this step"))
        }
    }
}

fn ns(d: Duration) -> String {
    c_i64(d.as_nanos().min(i64::MAX as u128) as i64)
}

fn opt_path(p: &Option<String>) -> String {
    p.as_deref().map(cstr).unwrap_or_else(|| "NULL".into())
}

fn fixture(a: &Action) -> Option<String> {
    Some(match a {
        Action::Pipe { name, flags } => {
            let t = [(libc::O_NONBLOCK as i64, "O_NONBLOCK"), (libc::O_CLOEXEC as i64, "O_CLOEXEC"), (libc::O_DIRECT as i64, "O_DIRECT")];
            format!("ec_pipe(cx, {}, {})", cstr(name), c_flags(*flags as i64, &t))
        }
        Action::Fifo { name } => format!("ec_fifo(cx, {})", cstr(name)),
        Action::SocketPair { name, ty, nonblock } => format!("ec_socketpair(cx, {}, {}, {})", cstr(name), crate::names::flags::sock_type_name(*ty), u8::from(*nonblock)),
        Action::Socket { name, proto, nonblock } => {
            let (fam, ty) = match proto {
                Proto::Tcp => ("AF_INET", "SOCK_STREAM"),
                Proto::Udp => ("AF_INET", "SOCK_DGRAM"),
                Proto::Tcp6 => ("AF_INET6", "SOCK_STREAM"),
                Proto::Udp6 => ("AF_INET6", "SOCK_DGRAM"),
            };
            format!("ec_socket(cx, {}, {fam}, {ty}, {})", cstr(name), u8::from(*nonblock))
        }
        Action::EventFd { name, init, flags } => {
            let t = [(libc::EFD_NONBLOCK as i64, "EFD_NONBLOCK"), (libc::EFD_SEMAPHORE as i64, "EFD_SEMAPHORE"), (libc::EFD_CLOEXEC as i64, "EFD_CLOEXEC")];
            format!("ec_eventfd(cx, {}, {}u, {})", cstr(name), *init as u32, c_flags(*flags as i64, &t))
        }
        Action::TimerFd { name, flags } => format!("ec_timerfd(cx, {}, {})", cstr(name), c_flags(*flags as i64, &[(libc::TFD_NONBLOCK as i64, "TFD_NONBLOCK")])),
        Action::SignalFd { name, signals } => format!("ec_signalfd(cx, {}, {})", cstr(name), c_sigset(signals)),
        Action::File { name, path } => format!("ec_file(cx, {}, {})", cstr(name), opt_path(path)),
        Action::Dir { name, path } => format!("ec_dir(cx, {}, {})", cstr(name), opt_path(path)),
        Action::Open { name, path, flags } => format!("ec_open(cx, {}, {}, {})", cstr(name), cstr(path), crate::names::open_flags_name(*flags)),
        Action::Pty { name } => format!("ec_pty(cx, {})", cstr(name)),
        Action::Inotify { name } => format!("ec_inotify(cx, {})", cstr(name)),
        Action::Memfd { name } => format!("ec_memfd(cx, {})", cstr(name)),
        Action::Source { name, kind } => format!("ec_source(cx, {}, {})", cstr(name), source_kind(*kind)),
        Action::Dup { new, old } => format!("ec_dup(cx, {}, {})", cstr(new), fd_ref(old)),
        Action::Dup2 { old, new } => format!("ec_dup2(cx, {}, {})", fd_ref(old), cstr(new)),
        Action::Close { fd } => format!("ec_close(cx, {})", fd_ref(fd)),
        _ => return None,
    })
}

fn source_kind(k: SourceKind) -> &'static str {
    match k {
        SourceKind::Pipe => "EC_SRC_PIPE",
        SourceKind::Fifo => "EC_SRC_FIFO",
        SourceKind::Stream => "EC_SRC_STREAM",
        SourceKind::Dgram => "EC_SRC_DGRAM",
        SourceKind::SeqPacket => "EC_SRC_SEQPACKET",
        SourceKind::Tcp => "EC_SRC_TCP",
        SourceKind::Tcp6 => "EC_SRC_TCP6",
        SourceKind::Udp => "EC_SRC_UDP",
        SourceKind::EventFd => "EC_SRC_EVENTFD",
        SourceKind::Pty => "EC_SRC_PTY",
    }
}

fn data(a: &Action) -> Option<String> {
    Some(match a {
        Action::SetSockOpt { fd, opt, value } => format!("ec_setsockopt(cx, {}, {}, {})", fd_ref(fd), sockopt(*opt), c_i64(*value)),
        Action::Bind { fd, addr } => format!("ec_bind(cx, {}, {})", fd_ref(fd), address(addr)),
        Action::Connect { fd, addr } => format!("ec_connect(cx, {}, {})", fd_ref(fd), address(addr)),
        Action::Listen { fd, backlog } => format!("ec_listen(cx, {}, {backlog})", fd_ref(fd)),
        Action::Accept { new, listener, nonblock } => format!("ec_accept(cx, {}, {}, {})", cstr(new), fd_ref(listener), u8::from(*nonblock)),
        Action::Shutdown { fd, how } => {
            format!("ec_shutdown(cx, {}, {})", fd_ref(fd), crate::names::flags::shut_how_name(*how))
        }
        Action::Send { fd, len, oob } => format!("ec_send(cx, {}, {len}, {})", fd_ref(fd), u8::from(*oob)),
        Action::Recv { fd, len, oob } => format!("ec_recv(cx, {}, {len}, {})", fd_ref(fd), u8::from(*oob)),
        Action::Write { fd, payload: Payload::Count(n) } => format!("ec_write(cx, {}, {n}ULL)", fd_ref(fd)),
        Action::Write { fd, payload: Payload::Text(t) } => format!("ec_write_text(cx, {}, {})", fd_ref(fd), cstr(t)),
        Action::Read { fd, len } => format!("ec_read(cx, {}, {len})", fd_ref(fd)),
        Action::Fill { fd } => format!("ec_fill(cx, {})", fd_ref(fd)),
        Action::Drain { fd } => format!("ec_drain(cx, {})", fd_ref(fd)),
        Action::Nonblock { fd, on } => format!("ec_nonblock(cx, {}, {})", fd_ref(fd), u8::from(*on)),
        Action::Arm { fd, after, interval } => format!("ec_arm(cx, {}, {}, {})", fd_ref(fd), ns(*after), ns(*interval)),
        Action::GetFd { fd } => format!("ec_getfd(cx, {})", fd_ref(fd)),
        _ => return None,
    })
}

fn sockopt(o: SockOpt) -> &'static str {
    match o {
        SockOpt::ReusePort => "EC_SO_REUSEPORT",
        SockOpt::ReuseAddr => "EC_SO_REUSEADDR",
        SockOpt::RcvBuf => "EC_SO_RCVBUF",
        SockOpt::SndBuf => "EC_SO_SNDBUF",
        SockOpt::Linger => "EC_SO_LINGER",
        SockOpt::OobInline => "EC_SO_OOBINLINE",
        SockOpt::IncomingCpu => "EC_SO_INCOMING_CPU",
        SockOpt::ReusePortCbpf => "EC_SO_REUSEPORT_CBPF",
        SockOpt::DetachBpf => "EC_SO_DETACH_BPF",
    }
}

/// `"127.0.0.1:0"`, `"[::1]:0"`, or the name of the socket whose address it is.
fn address(a: &Addr) -> String {
    match a {
        Addr::Literal(s) => match s.parse::<std::net::SocketAddr>() {
            Ok(std::net::SocketAddr::V6(v6)) if v6.scope_id() != 0 => cstr(&format!("[{}%{}]:{}", v6.ip(), v6.scope_id(), v6.port())),
            Ok(sa) => cstr(&sa.to_string()),
            Err(_) => cstr(s),
        },
        Addr::Of(r) => fd_ref(r),
    }
}

fn extra(a: &Action) -> Option<String> {
    Some(match a {
        Action::SigAction { sig, disposition } => {
            let d = match disposition {
                SigDisposition::Handler { restart: false } => "EC_SIG_HANDLER",
                SigDisposition::Handler { restart: true } => "EC_SIG_RESTART",
                SigDisposition::Ignore => "EC_SIG_IGNORE",
                SigDisposition::Default => "EC_SIG_DEFAULT",
            };
            format!("ec_sigaction(cx, {}, {d})", c_signal(*sig))
        }
        Action::SigMask { how, sigs } => {
            format!("ec_sigmask(cx, {}, {})", crate::names::flags::sig_how_name(*how), c_sigset(sigs))
        }
        Action::Kill { target, sig } => {
            let t = match target {
                KillTarget::Process => "NULL".to_string(),
                KillTarget::Thread(n) | KillTarget::Child(n) => cstr(n),
            };
            format!("ec_kill(cx, {t}, {})", c_signal(*sig))
        }
        Action::Handled { sig } => format!("ec_handled(cx, {})", c_signal(*sig)),
        Action::Fdinfo { ep, fd } => format!("ec_fdinfo(cx, {}, {})", fd_ref(ep), fd_ref(fd)),
        Action::Kcmp { ep, fd } => format!("ec_kcmp(cx, {}, {})", fd_ref(ep), fd_ref(fd)),
        Action::Took { op, dur } => {
            let c = match op {
                CmpOp::Eq => "EC_EQ",
                CmpOp::Ne => "EC_NE",
                CmpOp::Lt => "EC_LT",
                CmpOp::Le => "EC_LE",
                CmpOp::Gt => "EC_GT",
                CmpOp::Ge => "EC_GE",
            };
            format!("ec_took(cx, {c}, {}, {})", ns(*dur), cstr(&format!("{} {dur:?}", op.symbol())))
        }
        Action::Rlimit { resource: RlimitKind::NoFile, value } => format!("ec_rlimit_nofile(cx, {value}ULL)"),
        Action::Pidfd { name, child } => format!("ec_pidfd(cx, {}, {})", cstr(name), cstr(child)),
        Action::SendFd { sock, fd } => format!("ec_sendfd(cx, {}, {})", fd_ref(sock), fd_ref(fd)),
        Action::RecvFd { new, sock } => format!("ec_recvfd(cx, {}, {})", cstr(new), fd_ref(sock)),
        Action::Sysctl { name, value: None } => format!("ec_sysctl_read(cx, {})", cstr(name)),
        Action::Sysctl { name, value: Some(v) } => format!("ec_sysctl_write(cx, {}, {})", cstr(name), c_i64(*v)),
        Action::SetUid { uid } => format!("ec_setuid(cx, {uid}u)"),
        Action::Pin { cpu } => format!("ec_pin(cx, {cpu}u)"),
        Action::Watch { fd } => format!("ec_watch(cx, {})", fd_ref(fd)),
        Action::Touch { name } => format!("ec_touch(cx, {})", cstr(name)),
        Action::UnshareMount => "ec_unshare_mount(cx)".into(),
        Action::UnshareUts => "ec_unshare_uts(cx)".into(),
        Action::SetHostname { name } => format!("ec_sethostname(cx, {})", cstr(name)),
        Action::Mount { name } => format!("ec_mount(cx, {}, 1)", cstr(name)),
        Action::Umount { name } => format!("ec_mount(cx, {}, 0)", cstr(name)),
        _ => return None,
    })
}

fn control(a: &Action) -> Option<String> {
    Some(match a {
        Action::Asleep { names } => format!("ec_asleep(cx, {})", c_names(names)),
        Action::Awake { names, window } => format!("ec_awake(cx, {}, {})", c_names(names), ns(*window)),
        Action::Interrupt { names } => format!("ec_interrupt(cx, {})", c_names(names)),
        Action::Join { names, within } => format!("ec_join(cx, {}, {})", c_names(names), within.map(ns).unwrap_or_else(|| "-1".into())),
        Action::Yield => "ec_yield(cx)".into(),
        Action::Dice { sides } => format!("ec_dice(cx, {sides}ULL)"),
        Action::Claim { fd } => format!("ec_claim(cx, {}, 0)", fd_ref(fd)),
        Action::Release { fd } => format!("ec_claim(cx, {}, 1)", fd_ref(fd)),
        Action::Reset { counters } => format!("ec_reset(cx, {})", c_names(counters)),
        Action::Check(Check::Compare(c)) => format!("ec_check(cx, {}, {}, {})", cond_expr(c), cstr(&cond_text(c)), c_names(&cond_counters(c))),
        Action::Check(Check::Uniform { counters, alpha }) => format!("ec_uniform(cx, {}, {alpha:e}, {})", c_names(counters), cstr(&format!("{alpha:e}"))),
        Action::Report { counters } => format!("ec_report(cx, {})", c_names(counters)),
        _ => return None,
    })
}
