//! The arguments of each step. Every verb has a usage line, which error
//! messages quote and `docs/case-format.md` lists.

use super::args::Cursor;
use super::error::{CaseError, ErrorSink, Span};
use super::header::suggest;
use super::model::*;
use super::parse::{WordList, is_ident};
use crate::names::{self, MaskKind};

/// `(verb, usage)`, in the order the documentation presents them.
pub const VERBS: &[(&str, &str)] = &[
    ("epoll", "epoll NAME [CLOEXEC|FLAGS]"),
    ("epoll_create", "epoll_create NAME SIZE"),
    ("pipe", "pipe NAME [NONBLOCK] [CLOEXEC] [DIRECT]"),
    ("fifo", "fifo NAME"),
    ("socketpair", "socketpair NAME stream|dgram|seqpacket [NONBLOCK]"),
    ("socket", "socket NAME tcp|udp|tcp6|udp6 [NONBLOCK]"),
    ("eventfd", "eventfd NAME [INIT] [NONBLOCK] [SEMAPHORE]"),
    ("timerfd", "timerfd NAME [NONBLOCK]"),
    ("signalfd", "signalfd NAME SIG[|SIG...]"),
    ("file", "file NAME [PATH]"),
    ("dir", "dir NAME [PATH]"),
    ("open", "open NAME PATH [rdonly|wronly|rdwr|path] [NONBLOCK]"),
    ("pty", "pty NAME"),
    ("inotify", "inotify NAME"),
    ("memfd", "memfd NAME"),
    ("source", "source NAME pipe|fifo|stream|dgram|seqpacket|tcp|tcp6|udp|eventfd|pty"),
    ("dup", "dup NEW OLD"),
    ("dup2", "dup2 OLD NEW"),
    ("close", "close FD"),
    ("setsockopt", "setsockopt FD REUSEPORT|REUSEADDR|RCVBUF|SNDBUF|LINGER|OOBINLINE|INCOMING_CPU|REUSEPORT_CBPF|DETACH_BPF [VALUE]"),
    ("bind", "bind FD ADDR|SOCKET"),
    ("listen", "listen FD [BACKLOG]"),
    ("connect", "connect FD ADDR|SOCKET"),
    ("accept", "accept NEW LISTENER [NONBLOCK]"),
    ("shutdown", "shutdown FD rd|wr|rdwr"),
    ("send", "send FD N [OOB]"),
    ("recv", "recv FD N [OOB]"),
    ("write", "write FD [N|\"TEXT\"]"),
    ("read", "read FD [N]"),
    ("fill", "fill FD"),
    ("drain", "drain FD"),
    ("nonblock", "nonblock FD [on|off]"),
    ("arm", "arm FD DURATION [every=DURATION]"),
    ("getfd", "getfd FD"),
    ("ctl", "ctl EP add|mod|del|OP FD [EVENTS] [data=N] [event=valid|null|bad]"),
    ("wait", "wait EP TIMEOUT [max=N] [buf=null|kernel|readonly]"),
    ("epoll_wait", "epoll_wait EP TIMEOUT [max=N] [buf=null|kernel|readonly]"),
    ("epoll_pwait", "epoll_pwait EP TIMEOUT [max=N] [sigmask=SIGS|empty|null|bad] [sigsetsize=N] [buf=...]"),
    ("epoll_pwait2", "epoll_pwait2 EP TIMEOUT|null|bad [sec=N nsec=N] [max=N] [sigmask=...] [sigsetsize=N] [buf=...]"),
    ("ioctl", "ioctl FD EPIOCSPARAMS|EPIOCGPARAMS|FIONREAD|NUMBER [usecs=N budget=N prefer=N pad=N] [arg=null]"),
    ("poll", "poll FD[:EVENTS]... [timeout=MS]"),
    ("select", "select FD:rwx... [timeout=MS|null]"),
    ("sigaction", "sigaction SIG handler|restart|ignore|default"),
    ("sigmask", "sigmask block|unblock|set SIG[|SIG...]|none"),
    ("kill", "kill self|THREAD|CHILD SIG"),
    ("handled", "handled SIG => COUNT"),
    ("fdinfo", "fdinfo EP FD => events=MASK data=N count=N"),
    ("kcmp", "kcmp EP FD => 0"),
    ("took", "took OP DURATION"),
    ("rlimit", "rlimit nofile N"),
    ("pidfd", "pidfd NAME CHILD"),
    ("sendfd", "sendfd SOCKET FD"),
    ("recvfd", "recvfd NEW SOCKET"),
    ("sysctl", "sysctl NAME [VALUE]"),
    ("setuid", "setuid UID"),
    ("pin", "pin CPU"),
    ("watch", "watch INOTIFY"),
    ("touch", "touch NAME"),
    ("unshare", "unshare mount|uts"),
    ("sethostname", "sethostname NAME"),
    ("mount", "mount NAME"),
    ("umount", "umount NAME"),
    ("asleep", "asleep THREAD..."),
    ("awake", "awake THREAD... [window=DURATION] => COUNT"),
    ("interrupt", "interrupt THREAD..."),
    ("join", "join THREAD|CHILD... [within=DURATION]"),
    ("yield", "yield"),
    ("dice", "dice SIDES => N"),
    ("claim", "claim FD => COUNT-OF-OTHER-HOLDERS"),
    ("release", "release FD"),
    ("reset", "reset COUNTER..."),
    ("check", "check SUM OP SUM|N  or  check COUNTER... uniform [alpha=P]"),
    ("report", "report COUNTER..."),
];

pub fn usage(verb: &str) -> &'static str {
    VERBS.iter().find(|(v, _)| *v == verb).map(|(_, u)| *u).unwrap_or("")
}

pub(crate) fn parse_action(sink: &ErrorSink<'_>, verb: &str, span: Span, list: &WordList<'_>) -> Result<Action, CaseError> {
    let Some(&(_, usage)) = VERBS.iter().find(|(v, _)| *v == verb) else {
        let all: Vec<&str> = VERBS.iter().map(|(v, _)| *v).collect();
        let block = ["thread", "fork", "repeat"];
        let hint = if block.contains(&verb) {
            format!("; `{verb}` opens a block and needs `{{`")
        } else {
            suggest(verb, &all).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default()
        };
        return Err(sink.at(span, format!("unknown step `{verb}`{hint}")));
    };
    let mut c = Cursor::new(list, usage, kv_keys(verb));
    let action = fixture(verb, &mut c)
        .or_else(|| socket_or_io(verb, &mut c))
        .or_else(|| epoll_call(verb, &mut c))
        .or_else(|| control(verb, &mut c))
        .expect("every verb in VERBS has a parser")?;
    c.finish()?;
    Ok(action)
}

fn kv_keys(verb: &str) -> &'static [&'static str] {
    match verb {
        "wait" | "epoll_wait" => &["max", "buf"],
        "epoll_pwait" => &["max", "buf", "sigmask", "sigsetsize"],
        "epoll_pwait2" => &["max", "buf", "sigmask", "sigsetsize", "sec", "nsec"],
        "ioctl" => &["usecs", "budget", "prefer", "pad", "arg"],
        "poll" | "select" => &["timeout"],
        "arm" => &["every"],
        "awake" => &["window"],
        "join" => &["within"],
        "check" => &["alpha"],
        "ctl" => &["data", "event"],
        _ => &[],
    }
}

type Parsed = Option<Result<Action, CaseError>>;

fn fixture(verb: &str, c: &mut Cursor<'_>) -> Parsed {
    let r = (|| {
        Ok(match verb {
            "epoll" => {
                let name = c.name()?;
                let flags = match c.opt_pos() {
                    None => 0,
                    Some((w, _)) if w.eq_ignore_ascii_case("CLOEXEC") || w == "EPOLL_CLOEXEC" => libc::EPOLL_CLOEXEC as i64,
                    Some((w, s)) => names::parse_i64(&w).ok_or_else(|| c.err_at(s, format!("bad epoll_create1 flags `{w}` (CLOEXEC or a number)")))?,
                };
                Action::Epoll { name, flags }
            }
            "epoll_create" => Action::EpollCreate { name: c.name()?, size: c.int("SIZE")? },
            "pipe" => {
                let name = c.name()?;
                let flags = c.flag_words(&[("NONBLOCK", libc::O_NONBLOCK), ("CLOEXEC", libc::O_CLOEXEC), ("DIRECT", libc::O_DIRECT)]);
                Action::Pipe { name, flags }
            }
            "fifo" => Action::Fifo { name: c.name()? },
            "socketpair" => {
                let name = c.name()?;
                let ty = c.choice("socket type", &[("stream", SockType::Stream), ("dgram", SockType::Dgram), ("seqpacket", SockType::SeqPacket)])?;
                Action::SocketPair { name, ty, nonblock: c.opt_flag("NONBLOCK") }
            }
            "socket" => {
                let name = c.name()?;
                let proto = c.choice("protocol", &[("tcp", Proto::Tcp), ("udp", Proto::Udp), ("tcp6", Proto::Tcp6), ("udp6", Proto::Udp6)])?;
                Action::Socket { name, proto, nonblock: c.opt_flag("NONBLOCK") }
            }
            "eventfd" => {
                let name = c.name()?;
                let init = match c.peek_pos() {
                    Some(w) if names::parse_u64(w).is_some() => c.int("INIT")? as u64,
                    _ => 0,
                };
                let flags = c.flag_words(&[("NONBLOCK", libc::EFD_NONBLOCK), ("SEMAPHORE", libc::EFD_SEMAPHORE), ("CLOEXEC", libc::EFD_CLOEXEC)]);
                Action::EventFd { name, init, flags }
            }
            "timerfd" => {
                let name = c.name()?;
                Action::TimerFd { name, flags: c.flag_words(&[("NONBLOCK", libc::TFD_NONBLOCK)]) }
            }
            "signalfd" => Action::SignalFd { name: c.name()?, signals: c.signals()? },
            "file" => Action::File { name: c.name()?, path: c.opt_pos().map(|(w, _)| w) },
            "dir" => Action::Dir { name: c.name()?, path: c.opt_pos().map(|(w, _)| w) },
            "open" => {
                let name = c.name()?;
                let path = c.word("PATH")?;
                let mode = c.opt_choice(&[("rdonly", libc::O_RDONLY), ("wronly", libc::O_WRONLY), ("rdwr", libc::O_RDWR), ("path", libc::O_PATH)]).unwrap_or(libc::O_RDONLY);
                let flags = mode | c.flag_words(&[("NONBLOCK", libc::O_NONBLOCK)]);
                Action::Open { name, path, flags }
            }
            "pty" => Action::Pty { name: c.name()? },
            "inotify" => Action::Inotify { name: c.name()? },
            "memfd" => Action::Memfd { name: c.name()? },
            "source" => {
                let name = c.name()?;
                let kind = c.choice("source kind", SOURCE_KINDS)?;
                Action::Source { name, kind }
            }
            "dup" => Action::Dup { new: c.name()?, old: c.fd("OLD")? },
            "dup2" => {
                let old = c.fd("OLD")?;
                // NEW names an open fd, possibly a pair end (`p.r`).
                let (new, s) = c.pos("NEW")?;
                if !super::parse::is_fd_name(&new) {
                    return Err(Some(c.err_at(s, format!("bad name `{new}` (an open fd such as x or p.r)"))));
                }
                Action::Dup2 { old, new }
            }
            "close" => Action::Close { fd: c.fd("FD")? },
            _ => return Err(None),
        })
    })();
    lift(r)
}

pub const SOURCE_KINDS: &[(&str, SourceKind)] = &[
    ("pipe", SourceKind::Pipe),
    ("fifo", SourceKind::Fifo),
    ("stream", SourceKind::Stream),
    ("dgram", SourceKind::Dgram),
    ("seqpacket", SourceKind::SeqPacket),
    ("tcp", SourceKind::Tcp),
    ("tcp6", SourceKind::Tcp6),
    ("udp", SourceKind::Udp),
    ("eventfd", SourceKind::EventFd),
    ("pty", SourceKind::Pty),
];

/// Turns "not my verb" (`Err(None)`) into `None` for the `or_else` chain.
fn lift(r: Result<Action, Option<CaseError>>) -> Parsed {
    match r {
        Ok(a) => Some(Ok(a)),
        Err(Some(e)) => Some(Err(e)),
        Err(None) => None,
    }
}

fn socket_or_io(verb: &str, c: &mut Cursor<'_>) -> Parsed {
    let r = (|| {
        Ok(match verb {
            "setsockopt" => {
                let fd = c.fd("FD")?;
                let opt = c.choice(
                    "socket option",
                    &[
                        ("REUSEPORT", SockOpt::ReusePort),
                        ("REUSEADDR", SockOpt::ReuseAddr),
                        ("RCVBUF", SockOpt::RcvBuf),
                        ("SNDBUF", SockOpt::SndBuf),
                        ("LINGER", SockOpt::Linger),
                        ("OOBINLINE", SockOpt::OobInline),
                        ("INCOMING_CPU", SockOpt::IncomingCpu),
                        ("REUSEPORT_CBPF", SockOpt::ReusePortCbpf),
                        ("DETACH_BPF", SockOpt::DetachBpf),
                    ],
                )?;
                let value = if c.peek_pos().is_some() { c.int("VALUE")? } else { 1 };
                Action::SetSockOpt { fd, opt, value }
            }
            "bind" => Action::Bind { fd: c.fd("FD")?, addr: c.addr()? },
            "listen" => {
                let fd = c.fd("FD")?;
                let backlog = if c.peek_pos().is_some() { c.int("BACKLOG")? as i32 } else { 128 };
                Action::Listen { fd, backlog }
            }
            "connect" => Action::Connect { fd: c.fd("FD")?, addr: c.addr()? },
            "accept" => Action::Accept { new: c.name()?, listener: c.fd("LISTENER")?, nonblock: c.opt_flag("NONBLOCK") },
            "shutdown" => Action::Shutdown { fd: c.fd("FD")?, how: c.choice("direction", &[("rd", ShutHow::Rd), ("wr", ShutHow::Wr), ("rdwr", ShutHow::RdWr)])? },
            "send" => Action::Send { fd: c.fd("FD")?, len: c.int("N")? as u64, oob: c.opt_flag("OOB") },
            "recv" => Action::Recv { fd: c.fd("FD")?, len: c.int("N")? as u64, oob: c.opt_flag("OOB") },
            "write" => {
                let fd = c.fd("FD")?;
                let payload = match c.opt_pos() {
                    None => Payload::Count(1),
                    Some((w, _)) if w.starts_with('"') => Payload::Text(w[1..].to_string()),
                    Some((w, s)) => Payload::Count(names::parse_u64(&w).ok_or_else(|| c.err_at(s, format!("bad byte count `{w}`")))?),
                };
                Action::Write { fd, payload }
            }
            "read" => {
                let fd = c.fd("FD")?;
                let len = if c.peek_pos().is_some() { c.int("N")? as u64 } else { 4096 };
                Action::Read { fd, len }
            }
            "fill" => Action::Fill { fd: c.fd("FD")? },
            "drain" => Action::Drain { fd: c.fd("FD")? },
            "nonblock" => {
                let fd = c.fd("FD")?;
                let on = c.opt_choice(&[("on", true), ("off", false)]).unwrap_or(true);
                Action::Nonblock { fd, on }
            }
            "arm" => {
                let fd = c.fd("FD")?;
                let after = c.duration("DURATION")?;
                let interval = c.kv_duration("every")?.unwrap_or_default();
                Action::Arm { fd, after, interval }
            }
            "getfd" => Action::GetFd { fd: c.fd("FD")? },
            _ => return Err(None),
        })
    })();
    lift(r)
}

fn epoll_call(verb: &str, c: &mut Cursor<'_>) -> Parsed {
    let r = (|| {
        Ok(match verb {
            "ctl" => {
                let ep = c.fd("EP")?;
                let (opw, ops) = c.pos("OP (add, mod, del or a number)")?;
                let op = names::parse_ctl_op(&opw).ok_or_else(|| c.err_at(ops, format!("bad epoll_ctl op `{opw}` (add, mod, del or a number)")))?;
                let fd = c.fd("FD")?;
                let mut vars = CtlVars::default();
                let events = match c.opt_pos() {
                    Some((w, s)) => parse_events_with_vars(c, &w, s, &mut vars.events)?,
                    None => 0,
                };
                let data = match c.kv("data") {
                    Some((v, _)) if v.starts_with('$') && is_ident(&v) => {
                        vars.data = Some(v[1..].to_string());
                        None
                    }
                    Some((v, s)) => Some(names::parse_u64(&v).or_else(|| names::parse_i64(&v).map(|i| i as u64)).ok_or_else(|| c.err_at(s, format!("bad number `{v}` for data=")))?),
                    None => None,
                };
                let event_ptr = match c.kv("event") {
                    None => EventPtr::Normal,
                    Some((v, _)) if v == "valid" => EventPtr::Normal,
                    Some((v, _)) if v == "null" => EventPtr::Null,
                    Some((v, _)) if v == "bad" => EventPtr::Bad,
                    Some((v, s)) => return Err(Some(c.err_at(s, format!("bad value `{v}` for event= (valid, null or bad)")))),
                };
                Action::Ctl { ep, op, fd, events, data, event_ptr, vars }
            }
            "wait" | "epoll_wait" | "epoll_pwait" | "epoll_pwait2" => parse_wait(verb, c)?,
            "ioctl" => {
                let fd = c.fd("FD")?;
                let (w, s) = c.pos("request")?;
                let req = match w.as_str() {
                    "EPIOCSPARAMS" => IoctlReq::SetParams {
                        usecs: c.kv_int("usecs")?.unwrap_or(0),
                        budget: c.kv_int("budget")?.unwrap_or(0),
                        prefer: c.kv_int("prefer")?.unwrap_or(0),
                        pad: c.kv_int("pad")?.unwrap_or(0),
                    },
                    "EPIOCGPARAMS" => IoctlReq::GetParams,
                    "FIONREAD" => IoctlReq::Raw(libc::FIONREAD),
                    "FIONBIO" => IoctlReq::Raw(libc::FIONBIO),
                    _ => IoctlReq::Raw(names::parse_u64(&w).ok_or_else(|| c.err_at(s, format!("unknown ioctl `{w}` (EPIOCSPARAMS, EPIOCGPARAMS, FIONREAD, FIONBIO or a number)")))?),
                };
                Action::Ioctl { fd, req, null_arg: c.kv_null("arg")? }
            }
            "poll" => {
                let mut fds = Vec::new();
                while let Some((w, s)) = c.opt_pos() {
                    let (name, mask) = match w.split_once(':') {
                        Some((n, m)) => (n.to_string(), names::parse_mask_at(MaskKind::Poll, m).map_err(|(at, e)| c.err_at(s.shift(n.len() + 1 + at), e))?),
                        None => (w.clone(), libc::POLLIN as u32),
                    };
                    fds.push((c.fd_from(&name, s)?, mask));
                }
                let timeout = c.kv_int("timeout")?.unwrap_or(0);
                Action::Poll { fds, timeout }
            }
            "select" => parse_select(c)?,
            _ => return Err(None),
        })
    })();
    lift(r)
}

fn parse_wait(verb: &str, c: &mut Cursor<'_>) -> Result<Action, Option<CaseError>> {
    let via = match verb {
        "epoll_wait" => WaitVia::EpollWait,
        "epoll_pwait" => WaitVia::EpollPwait,
        "epoll_pwait2" => WaitVia::EpollPwait2,
        _ => WaitVia::Default,
    };
    let ep = c.fd("EP")?;
    let sec = c.kv_int("sec")?;
    let nsec = c.kv_int("nsec")?;
    let timeout = match (sec, nsec) {
        (None, None) => {
            let (w, s) = c.pos("TIMEOUT (milliseconds, a duration, or null)")?;
            parse_timeout(&w).ok_or_else(|| c.err_at(s, format!("bad timeout `{w}` (milliseconds such as 0 or -1, a duration such as 200us, or null)")))?
        }
        (s, n) => Timeout::Spec { sec: s.unwrap_or(0), nsec: n.unwrap_or(0) },
    };
    if via != WaitVia::EpollPwait2 && matches!(timeout, Timeout::Spec { .. }) {
        return Err(Some(c.err_at(c.verb_span(), "sec=/nsec= give a timespec, which only epoll_pwait2 takes")));
    }
    if matches!(via, WaitVia::EpollWait | WaitVia::EpollPwait) && matches!(timeout, Timeout::Null | Timeout::Bad) {
        return Err(Some(c.err_at(c.verb_span(), "a null or bad timeout needs epoll_pwait2 (epoll_wait takes milliseconds)")));
    }
    let max = c.kv_int("max")?.unwrap_or(16);
    let buf = match c.kv("buf") {
        None => BufKind::Normal,
        Some((w, s)) => match w.as_str() {
            "null" => BufKind::Null,
            "kernel" => BufKind::Kernel,
            "readonly" => BufKind::ReadOnly,
            _ => return Err(Some(c.err_at(s, format!("bad buf `{w}` (null, kernel or readonly)")))),
        },
    };
    let sigmask = match c.kv("sigmask") {
        None => SigMaskArg::Null,
        Some((w, s)) => match w.as_str() {
            "null" => SigMaskArg::Null,
            "empty" => SigMaskArg::Set(vec![]),
            "bad" => SigMaskArg::Bad,
            _ => SigMaskArg::Set(parse_sigs(&w).ok_or_else(|| c.err_at(s, format!("bad signal set `{w}` (e.g. USR1|USR2, empty, null or bad)")))?),
        },
    };
    if via == WaitVia::EpollWait && sigmask != SigMaskArg::Null {
        return Err(Some(c.err_at(c.verb_span(), "epoll_wait takes no sigmask (use epoll_pwait)")));
    }
    let sigsetsize = c.kv_int("sigsetsize")?;
    Ok(Action::Wait { ep, via, timeout, max, buf, sigmask, sigsetsize })
}

fn parse_timeout(w: &str) -> Option<Timeout> {
    if w == "null" || w == "inf" {
        return Some(Timeout::Null);
    }
    if w == "bad" {
        return Some(Timeout::Bad);
    }
    if let Some(v) = names::parse_i64(w) {
        return Some(Timeout::Ms(v));
    }
    super::parse::parse_duration(w).map(Timeout::Dur)
}

fn parse_select(c: &mut Cursor<'_>) -> Result<Action, Option<CaseError>> {
    let (mut read, mut write, mut except) = (vec![], vec![], vec![]);
    while let Some((w, s)) = c.opt_pos() {
        let Some((name, sets)) = w.split_once(':') else {
            return Err(Some(c.err_at(s, format!("expected FD:SETS such as `{w}:rw` (r = readable, w = writable, x = exceptional)"))));
        };
        let fd = c.fd_from(name, s)?;
        if sets.is_empty() || !sets.chars().all(|ch| "rwx".contains(ch)) {
            return Err(Some(c.err_at(s, format!("bad select sets `{sets}` (letters r, w and x)"))));
        }
        for (ch, list) in [('r', &mut read), ('w', &mut write), ('x', &mut except)] {
            if sets.contains(ch) {
                list.push(fd.clone());
            }
        }
    }
    let timeout = match c.kv("timeout") {
        None => Some(std::time::Duration::ZERO),
        Some((w, _)) if w == "null" => None,
        Some((w, s)) => {
            let ms = names::parse_u64(&w).ok_or_else(|| c.err_at(s, format!("bad select timeout `{w}` (milliseconds or null)")))?;
            Some(std::time::Duration::from_millis(ms))
        }
    };
    Ok(Action::Select { read, write, except, timeout })
}

pub(crate) fn parse_sigs(w: &str) -> Option<Vec<i32>> {
    w.split('|').map(names::parse_signal).collect()
}

fn control(verb: &str, c: &mut Cursor<'_>) -> Parsed {
    let r = (|| {
        Ok(match verb {
            "sigaction" => {
                let sig = c.signal()?;
                let disposition = c.choice(
                    "disposition",
                    &[("handler", SigDisposition::Handler { restart: false }), ("restart", SigDisposition::Handler { restart: true }), ("ignore", SigDisposition::Ignore), ("default", SigDisposition::Default)],
                )?;
                Action::SigAction { sig, disposition }
            }
            "sigmask" => {
                let how = c.choice("how", &[("block", SigHow::Block), ("unblock", SigHow::Unblock), ("set", SigHow::Set)])?;
                let sigs = if c.peek_pos() == Some("none") {
                    c.opt_pos();
                    vec![]
                } else {
                    c.signals()?
                };
                Action::SigMask { how, sigs }
            }
            "kill" => {
                let (w, _) = c.pos("self, a thread or a child")?;
                let target = if w == "self" { KillTarget::Process } else { KillTarget::Thread(w) };
                Action::Kill { target, sig: c.signal()? }
            }
            "handled" => Action::Handled { sig: c.signal()? },
            "asleep" => Action::Asleep { names: c.idents("THREAD")? },
            "awake" => Action::Awake { names: c.idents("THREAD")?, window: c.kv_duration("window")?.unwrap_or(std::time::Duration::from_millis(20)) },
            "interrupt" => Action::Interrupt { names: c.idents("THREAD")? },
            "join" => Action::Join { names: c.idents("THREAD")?, within: c.kv_duration("within")? },
            "yield" => Action::Yield,
            "dice" => {
                let sides = c.int("SIDES")?;
                if sides < 1 {
                    return Err(Some(c.err_at(c.verb_span(), "dice needs at least one side")));
                }
                Action::Dice { sides: sides as u64 }
            }
            "fdinfo" => Action::Fdinfo { ep: c.fd("EP")?, fd: c.fd("FD")? },
            "kcmp" => Action::Kcmp { ep: c.fd("EP")?, fd: c.fd("FD")? },
            "took" => {
                let (w, s) = c.pos("a comparison such as >= 50ms")?;
                let (op, rest) = split_cmp(&w).ok_or_else(|| c.err_at(s, format!("expected a comparison such as `>= 50ms`, found `{w}`")))?;
                let dur_word = if rest.is_empty() { c.pos("DURATION")?.0 } else { rest.to_string() };
                let dur = super::parse::parse_duration(&dur_word).ok_or_else(|| c.err_at(s, format!("bad duration `{dur_word}` (e.g. 50ms)")))?;
                Action::Took { op, dur }
            }
            "rlimit" => {
                let resource = c.choice("resource", &[("nofile", RlimitKind::NoFile)])?;
                Action::Rlimit { resource, value: c.int("N")? as u64 }
            }
            "pidfd" => Action::Pidfd { name: c.name()?, child: c.name()? },
            "sendfd" => Action::SendFd { sock: c.fd("SOCKET")?, fd: c.fd("FD")? },
            "recvfd" => Action::RecvFd { new: c.name()?, sock: c.fd("SOCKET")? },
            "sysctl" => {
                let (name, s) = c.pos("NAME such as fs.epoll.max_user_watches")?;
                if !name.chars().all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch)) || name.contains("..") {
                    return Err(Some(c.err_at(s, format!("bad sysctl name `{name}` (dotted, e.g. fs.epoll.max_user_watches)"))));
                }
                let value = if c.peek_pos().is_some() { Some(c.int("VALUE")?) } else { None };
                Action::Sysctl { name, value }
            }
            "setuid" => Action::SetUid { uid: c.int("UID")? as u32 },
            "pin" => Action::Pin { cpu: c.int("CPU")? as u32 },
            "watch" => Action::Watch { fd: c.fd("INOTIFY")? },
            "touch" => Action::Touch { name: c.name()? },
            "unshare" => match c.choice("namespace", &[("mount", true), ("uts", false)])? {
                true => Action::UnshareMount,
                false => Action::UnshareUts,
            },
            "sethostname" => Action::SetHostname { name: c.word("NAME")? },
            "mount" => Action::Mount { name: c.name()? },
            "umount" => Action::Umount { name: c.name()? },
            "claim" => Action::Claim { fd: c.fd("FD")? },
            "release" => Action::Release { fd: c.fd("FD")? },
            "reset" => Action::Reset { counters: c.idents("COUNTER")? },
            "report" => Action::Report { counters: c.idents("COUNTER")? },
            "check" => Action::Check(parse_check(c)?),
            _ => return Err(None),
        })
    })();
    lift(r)
}

fn parse_check(c: &mut Cursor<'_>) -> Result<Check, Option<CaseError>> {
    let words = c.rest_pos();
    if words.last().map(|(w, _)| w.as_str()) == Some("uniform") {
        let counters: Vec<String> = words[..words.len() - 1].iter().map(|(w, _)| w.clone()).collect();
        if counters.len() < 2 || !counters.iter().all(|w| is_ident(w)) {
            return Err(Some(c.err_at(c.verb_span(), "uniform needs two or more counter names before it")));
        }
        let alpha = match c.kv("alpha") {
            None => 1e-6,
            Some((w, s)) => w.parse::<f64>().ok().filter(|a| *a > 0.0 && *a < 1.0).ok_or_else(|| c.err_at(s, format!("bad alpha `{w}` (a false-alarm probability such as 1e-6)")))?,
        };
        return Ok(Check::Uniform { counters, alpha });
    }
    Ok(Check::Compare(parse_cond(c.sink(), &words, c.verb_span()).map_err(Some)?))
}

/// `a+b >= 3`, `a == b`, also written without spaces (`a>=3`).
pub(crate) fn parse_cond(sink: &ErrorSink<'_>, words: &[(String, Span)], at: Span) -> Result<Cond, CaseError> {
    let joined: String = words.iter().map(|(w, _)| w.as_str()).collect::<Vec<_>>().join(" ");
    let span = words.first().map(|(_, s)| *s).unwrap_or(at);
    let ops = ["==", "!=", "<=", ">=", "<", ">"];
    let found = ops.iter().filter_map(|op| joined.find(op).map(|i| (i, *op))).min_by_key(|(i, op)| (*i, std::cmp::Reverse(op.len())));
    let Some((idx, op)) = found else {
        return Err(sink.at(span, format!("expected a comparison such as `woke == 1` in `{joined}`")));
    };
    let lhs = parse_sum(&joined[..idx]).ok_or_else(|| sink.at(span, format!("bad counter sum `{}` (names joined by +)", joined[..idx].trim())))?;
    let right = joined[idx + op.len()..].trim();
    let rhs = match names::parse_i64(right) {
        Some(v) => Operand::Int(v),
        None => Operand::Sum(parse_sum(right).ok_or_else(|| sink.at(span, format!("bad right-hand side `{right}` (a number or counters joined by +)")))?),
    };
    Ok(Cond { lhs, op: CmpOp::parse(op).expect("op from list"), rhs })
}

fn parse_sum(s: &str) -> Option<Vec<String>> {
    let parts: Vec<String> = s.split('+').map(|p| p.trim().to_string()).collect();
    parts.iter().all(|p| is_ident(p)).then_some(parts)
}

/// `IN|ET|$m`: named or numeric flags, plus loop variables whose values are
/// ORed in at run time (for loops over every combination of bits).
fn parse_events_with_vars(c: &Cursor<'_>, w: &str, s: Span, vars: &mut Vec<String>) -> Result<u32, CaseError> {
    let mut fixed = Vec::new();
    for part in w.split('|') {
        match part.strip_prefix('$') {
            Some(v) if is_ident(v) => vars.push(v.to_string()),
            _ => fixed.push(part),
        }
    }
    if fixed.is_empty() {
        return Ok(0);
    }
    let text = fixed.join("|");
    names::parse_mask_at(MaskKind::Epoll, &text).map_err(|(at, m)| {
        // Point at the bad part in the original word.
        let bad = &text[at..text[at..].find('|').map_or(text.len(), |e| at + e)];
        let col = w.find(bad).unwrap_or(0);
        c.err_at(s.shift(col), m)
    })
}

/// `>=50ms` or `>=` → (op, rest).
fn split_cmp(w: &str) -> Option<(CmpOp, &str)> {
    for op in [">=", "<=", "==", "!=", ">", "<"] {
        if let Some(rest) = w.strip_prefix(op) {
            return Some((CmpOp::parse(op)?, rest));
        }
    }
    None
}
