//! The calls under test, as raw system calls in the step's own block:
//! epoll_create1, epoll_create, epoll_ctl, the wait family and the
//! eventpoll ioctls; poll and select go through the runtime.

use super::cwrite::{Out, c_i64, c_int, c_mask, c_names, c_sigset, c_u64, cstr, fd_expr, fd_ref};
use super::stmt::Env;
use crate::case::model::*;
use crate::names::MaskKind;

/// Renders the step if it is one of these calls; false if it is not.
pub fn emit(o: &mut Out, a: &Action, env: &Env<'_>) -> bool {
    match a {
        Action::Epoll { name, flags } => {
            o.line(format!("o = ec_made(cx, {}, EC_EPOLL, syscall(SYS_epoll_create1, {}));", cstr(name), create1_flags(*flags as i32)));
        }
        Action::EpollCreate { name, size } => {
            o.line(format!("o = ec_made(cx, {}, EC_EPOLL, syscall(SYS_epoll_create, {}));", cstr(name), c_int(*size as i32)));
        }
        Action::Ctl { ep, op, fd, events, data, event_ptr, vars } => ctl(o, ep, *op, fd, *events, *data, *event_ptr, vars),
        Action::Wait { ep, via, timeout, max, buf, sigmask, sigsetsize } => {
            let w = WaitArgs { via: which(env, *via), timeout: *timeout, max: *max, buf: *buf, sigmask, sigsetsize: *sigsetsize };
            wait(o, ep, &w, env);
        }
        Action::Ioctl { fd, req, null_arg } => ioctl(o, fd, req, *null_arg),
        Action::Poll { fds, timeout } => {
            let (refs, evs): (Vec<String>, Vec<String>) = fds.iter().map(|(r, m)| (fd_ref(r), poll_events(*m))).unzip();
            let (names, events) = match refs.len() {
                0 => ("NULL".to_string(), "NULL".to_string()),
                _ => (format!("NAMES({})", refs.join(", ")), format!("(const short[]){{ {} }}", evs.join(", "))),
            };
            o.line(format!("RUN(ec_poll(cx, {names}, {events}, {}, {}));", fds.len(), c_int(*timeout as i32)));
        }
        Action::Select { read, write, except, timeout } => {
            let set = |l: &[FdRef]| match l.len() {
                0 => "NULL, 0".to_string(),
                n => format!("{}, {n}", c_names(&l.iter().map(|r| r.to_string()).collect::<Vec<_>>())),
            };
            let ms = timeout.map(|d| d.as_millis() as i64).unwrap_or(-1);
            o.line(format!("RUN(ec_select(cx, {}, {}, {}, {}));", set(read), set(write), set(except), c_i64(ms)));
        }
        _ => return false,
    }
    true
}

fn create1_flags(f: i32) -> String {
    match f {
        0 => "0".into(),
        f if f == libc::EPOLL_CLOEXEC => "EPOLL_CLOEXEC".into(),
        f if f > 0 => format!("{f:#x}"),
        f => c_int(f),
    }
}

fn ctl_op(op: i32) -> String {
    match op {
        libc::EPOLL_CTL_ADD => "EPOLL_CTL_ADD".into(),
        libc::EPOLL_CTL_DEL => "EPOLL_CTL_DEL".into(),
        libc::EPOLL_CTL_MOD => "EPOLL_CTL_MOD".into(),
        op => c_int(op),
    }
}

#[allow(clippy::too_many_arguments)]
fn ctl(o: &mut Out, ep: &FdRef, op: i32, fd: &FdRef, events: u32, data: Option<u64>, ptr: EventPtr, vars: &CtlVars) {
    // Loop variables are ORed into the mask; `data=$m` is one's value.
    let mut mask: Vec<String> = vars.events.iter().map(|v| format!("(uint32_t)VAR({})", cstr(v))).collect();
    if events != 0 || mask.is_empty() {
        mask.insert(0, c_mask(MaskKind::Epoll, events));
    }
    let data = match (&vars.data, data) {
        (Some(v), _) => format!("VAR({})", cstr(v)),
        (None, Some(d)) => c_u64(d),
        (None, None) => "(uint64_t)fd".into(),
    };
    let arg = match ptr {
        EventPtr::Normal => "&ev",
        EventPtr::Null => "NULL",
        EventPtr::Bad => "EC_KERNEL_ADDR",
    };
    let op = ctl_op(op);
    o.open("");
    o.line(format!("int ep = {}, fd = {};", fd_expr(ep), fd_expr(fd)));
    o.line(format!("struct epoll_event ev = {{ .events = {}, .data.u64 = {data} }};", mask.join(" | ")));
    o.line(format!("long r = syscall(SYS_epoll_ctl, ep, {op}, fd, {arg});"));
    o.line(format!("o = ec_ctl_done(cx, r, ep, {op}, fd, ev.data.u64);"));
    o.close();
}

/// The syscall a `wait` step makes: the verb's, else the case's `wait`
/// variant, else epoll_wait.
fn which(env: &Env<'_>, via: WaitVia) -> WaitVia {
    match via {
        WaitVia::Default => match env.case.variant_value("wait") {
            Some("epoll_pwait") => WaitVia::EpollPwait,
            Some("epoll_pwait2") => WaitVia::EpollPwait2,
            _ => WaitVia::EpollWait,
        },
        v => v,
    }
}

struct WaitArgs<'a> {
    via: WaitVia,
    timeout: Timeout,
    max: i64,
    buf: BufKind,
    sigmask: &'a SigMaskArg,
    sigsetsize: Option<i64>,
}

/// Milliseconds for epoll_wait/epoll_pwait; a duration rounds up.
fn timeout_ms(t: Timeout) -> i32 {
    match t {
        Timeout::Ms(v) => v.clamp(i32::MIN as i64, i32::MAX as i64) as i32,
        Timeout::Dur(d) => d.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32,
        Timeout::Null | Timeout::Bad => -1,
        Timeout::Spec { sec, nsec } => (sec.wrapping_mul(1000).wrapping_add(nsec / 1_000_000)) as i32,
    }
}

/// The timespec of epoll_pwait2; negative milliseconds are NULL (forever).
fn timespec(t: Timeout) -> Option<(i64, i64)> {
    match t {
        Timeout::Ms(v) if v < 0 => None,
        Timeout::Ms(v) => Some((v / 1000, (v % 1000) * 1_000_000)),
        Timeout::Dur(d) => Some((d.as_secs() as i64, d.subsec_nanos() as i64)),
        Timeout::Spec { sec, nsec } => Some((sec, nsec)),
        Timeout::Null | Timeout::Bad => None,
    }
}

fn wait(o: &mut Out, ep: &FdRef, w: &WaitArgs<'_>, env: &Env<'_>) {
    o.open("");
    o.line(format!("int ep = {};", fd_expr(ep)));
    if w.timeout == Timeout::Bad && w.via != WaitVia::EpollPwait2 {
        o.line("(void)ep;");
        o.line("RUN(ec_error(cx, \"a bad timeout pointer needs epoll_pwait2 (the other waits take milliseconds)\"));");
        o.close();
        return;
    }
    let max = w.max.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    let len = max.max(1) as i64;
    let (events, copied) = events_arg(o, w.buf, len);
    let (nr, call) = wait_call(o, w, events, max);
    if env.in_thread {
        o.line(format!("ENTER({nr});"));
    }
    o.line(format!("long n = {call};"));
    if env.in_thread {
        o.line("LEFT();");
    }
    o.line(format!("o = ec_waited(cx, n, ep, {copied}, {len});"));
    match w.buf {
        BufKind::Normal if len > 4096 => o.line(format!("ec_free_event_buffer(evs, {len});")),
        BufKind::ReadOnly => o.line("munmap(page, 4096);"),
        _ => {}
    }
    o.close();
}

/// The events array a wait is given, and the one its outcome is read from.
fn events_arg(o: &mut Out, buf: BufKind, len: i64) -> (&'static str, &'static str) {
    match buf {
        BufKind::Normal if len <= 4096 => {
            o.line(format!("struct epoll_event evs[{len}];"));
            ("evs", "evs")
        }
        BufKind::Normal => {
            // A huge maxevents: reserved address space, touched only where
            // the kernel writes.
            o.line(format!("struct epoll_event *evs = EVENT_BUFFER({len});"));
            ("evs", "evs")
        }
        BufKind::Null => ("NULL", "NULL"),
        BufKind::Kernel => ("EC_KERNEL_ADDR", "NULL"),
        BufKind::ReadOnly => {
            o.line("void *page = READONLY_PAGE();");
            ("page", "NULL")
        }
    }
}

/// The syscall number a wait makes and the call itself.
fn wait_call(o: &mut Out, w: &WaitArgs<'_>, events: &str, max: i32) -> (&'static str, String) {
    let setsize = c_u64(w.sigsetsize.unwrap_or(8) as u64);
    let mask = match w.sigmask {
        SigMaskArg::Null => "NULL",
        SigMaskArg::Bad => "EC_KERNEL_ADDR",
        SigMaskArg::Set(s) => {
            o.line(format!("uint64_t mask = {};", c_sigset(s)));
            "&mask"
        }
    };
    let ms = c_int(timeout_ms(w.timeout));
    match w.via {
        WaitVia::EpollPwait => ("SYS_epoll_pwait", format!("syscall(SYS_epoll_pwait, ep, {events}, {max}, {ms}, {mask}, {setsize})")),
        WaitVia::EpollPwait2 => {
            let ts = match (w.timeout, timespec(w.timeout)) {
                (Timeout::Bad, _) => "EC_KERNEL_ADDR",
                (_, Some((s, ns))) => {
                    o.line(format!("struct timespec ts = {{ {}, {} }};", c_i64(s), c_i64(ns)));
                    "&ts"
                }
                (_, None) => "NULL",
            };
            ("SYS_epoll_pwait2", format!("syscall(SYS_epoll_pwait2, ep, {events}, {max}, {ts}, {mask}, {setsize})"))
        }
        _ => ("SYS_epoll_wait", format!("syscall(SYS_epoll_wait, ep, {events}, {max}, {ms})")),
    }
}

fn ioctl(o: &mut Out, fd: &FdRef, req: &IoctlReq, null_arg: bool) {
    o.open("");
    o.line(format!("int fd = {};", fd_expr(fd)));
    let arg = |name: &str| if null_arg { "NULL".to_string() } else { name.to_string() };
    match req {
        IoctlReq::SetParams { usecs, budget, prefer, pad } => {
            // Values are truncated to the field widths, as the interpreter
            // (and any C caller assigning them) does.
            if !null_arg {
                o.line(format!(
                    "struct ec_epoll_params p = {{ .busy_poll_usecs = {}u, .busy_poll_budget = {}, .prefer_busy_poll = {}, .pad = {} }};",
                    *usecs as u32, *budget as u16, *prefer as u8, *pad as u8
                ));
            }
            o.line(format!("o = ec_ret(cx, syscall(SYS_ioctl, fd, EPIOCSPARAMS, {}));", arg("&p")));
        }
        IoctlReq::GetParams => {
            o.line("struct ec_epoll_params p = { 0 };");
            o.line(format!("long r = syscall(SYS_ioctl, fd, EPIOCGPARAMS, {});", arg("&p")));
            o.line("o = ec_params(cx, r, &p);");
        }
        IoctlReq::Raw(nr) => {
            if !null_arg {
                o.line("unsigned char scratch[16384] = { 0 }; /* the largest argument an _IOC request encodes */");
            }
            let request = match *nr {
                n if n == libc::FIONREAD => "FIONREAD".to_string(),
                n if n == libc::FIONBIO => "FIONBIO".to_string(),
                n => format!("{n:#x}UL"),
            };
            o.line(format!("o = ec_ret(cx, syscall(SYS_ioctl, fd, {request}, {}));", arg("scratch")));
        }
    }
    o.close();
}

/// poll events as the `short` poll takes: names, or a cast when they do
/// not fit.
fn poll_events(mask: u32) -> String {
    let c = c_mask(MaskKind::Poll, mask);
    if mask <= 0x7fff { c } else { format!("(short)({c})") }
}
