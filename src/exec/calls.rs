//! The calls under test: epoll_ctl, the wait family, the eventpoll ioctls,
//! and poll/select for comparison. Arguments go to the kernel as written.

use super::fixtures::call;
use super::interp::{Ctx, Exec, StepResult};
use super::outcome::Outcome;
use super::state::lock;
use crate::case::model::*;
use crate::names;
use crate::sys::epoll::{self, CtlEvent, EventsArg, SigmaskArg};
use crate::sys::mem::{EventBuffer, ReadOnlyPage};
use std::time::Duration;

pub fn execute(ctx: &mut Ctx, a: &Action) -> Option<StepResult> {
    Some(match a {
        Action::Ctl { ep, op, fd, events, data, event_ptr, vars } => ctl(ctx, ep, *op, fd, *events, *data, *event_ptr, vars),
        Action::Wait { ep, via, timeout, max, buf, sigmask, sigsetsize } => wait(ctx, ep, *via, *timeout, *max, *buf, sigmask, *sigsetsize),
        Action::Ioctl { fd, req, null_arg } => ioctl(ctx, fd, req, *null_arg),
        Action::Poll { fds, timeout } => poll(ctx, fds, *timeout),
        Action::Select { read, write, except, timeout } => select(ctx, read, write, except, *timeout),
        _ => return None,
    })
}

#[allow(clippy::too_many_arguments)]
fn ctl(ctx: &mut Ctx, ep: &FdRef, op: i32, fd: &FdRef, events: u32, data: Option<u64>, ptr: EventPtr, vars: &CtlVars) -> StepResult {
    let epfd = ctx.fd(ep)?;
    let tfd = ctx.fd(fd)?;
    let var = |name: &str| ctx.vars.iter().rev().find(|(k, _)| k == name).map(|(_, v)| *v);
    let events = vars.events.iter().filter_map(|v| var(v)).fold(events, |m, v| m | v as u32);
    // The default data is the target's fd number, the convention of most
    // event loops; expectations then name the fd without repeating it.
    let data = vars.data.as_deref().and_then(var).or(data).unwrap_or(tfd as u64);
    let ev = epoll::EpollEvent { events, u64: data };
    let arg = match ptr {
        EventPtr::Normal => CtlEvent::Event(&ev),
        EventPtr::Null => CtlEvent::Null,
        EventPtr::Bad => CtlEvent::Kernel,
    };
    let r = epoll::epoll_ctl(epfd, op, tfd, arg);
    if r.is_ok() {
        let mut t = lock(&ctx.sh.fds);
        match op {
            libc::EPOLL_CTL_ADD | libc::EPOLL_CTL_MOD => {
                t.registrations.insert((epfd, tfd), data);
            }
            libc::EPOLL_CTL_DEL => {
                t.registrations.remove(&(epfd, tfd));
            }
            _ => {}
        }
    }
    let shown_ev = match ptr {
        EventPtr::Normal => format!("{{{}, data={data}}}", names::epoll_mask_name(events)),
        EventPtr::Null => "NULL".into(),
        EventPtr::Bad => "(kernel address)".into(),
    };
    Ok(Exec { outcome: Outcome::from_result(r), call: call!(ctx, "epoll_ctl({epfd}, {}, {tfd}, {shown_ev})", names::ctl_op_name(op)) })
}

/// The syscall a `wait` step makes: the explicit verb, else the case's
/// `wait` variant, else epoll_wait.
fn which(ctx: &Ctx, via: WaitVia) -> WaitVia {
    match via {
        WaitVia::Default => match ctx.sh.case.variant_value("wait") {
            Some("epoll_pwait") => WaitVia::EpollPwait,
            Some("epoll_pwait2") => WaitVia::EpollPwait2,
            _ => WaitVia::EpollWait,
        },
        v => v,
    }
}

/// Milliseconds for epoll_wait/epoll_pwait; sub-millisecond durations round
/// up so that a short timeout never becomes "do not wait".
fn timeout_ms(t: Timeout) -> i32 {
    match t {
        Timeout::Ms(v) => v.clamp(i32::MIN as i64, i32::MAX as i64) as i32,
        Timeout::Dur(d) => d.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32,
        Timeout::Null | Timeout::Bad => -1,
        Timeout::Spec { sec, nsec } => (sec * 1000 + nsec / 1_000_000) as i32,
    }
}

/// A timespec for epoll_pwait2; negative milliseconds mean NULL (forever),
/// as for epoll_wait.
fn timespec(t: Timeout) -> Option<libc::timespec> {
    let ts = |sec: i64, nsec: i64| libc::timespec { tv_sec: sec as libc::time_t, tv_nsec: nsec as libc::c_long };
    match t {
        Timeout::Ms(v) if v < 0 => None,
        Timeout::Ms(v) => Some(ts(v / 1000, (v % 1000) * 1_000_000)),
        Timeout::Dur(d) => Some(ts(d.as_secs() as i64, d.subsec_nanos() as i64)),
        Timeout::Spec { sec, nsec } => Some(ts(sec, nsec)),
        Timeout::Null | Timeout::Bad => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn wait(ctx: &mut Ctx, ep: &FdRef, via: WaitVia, timeout: Timeout, max: i64, buf: BufKind, sigmask: &SigMaskArg, sigsetsize: Option<i64>) -> StepResult {
    let epfd = ctx.fd(ep)?;
    let via = which(ctx, via);
    if timeout == Timeout::Bad && via != WaitVia::EpollPwait2 {
        return Err(ctx.error("a bad timeout pointer needs epoll_pwait2 (the other waits take milliseconds)"));
    }
    let maxevents = max.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    let mut buffer = EventBuffer::new(maxevents.max(1) as usize).map_err(|e| ctx.error(format!("cannot allocate {maxevents} events: {e}")))?;
    let page = match buf {
        BufKind::ReadOnly => Some(ReadOnlyPage::new().map_err(|e| ctx.error(format!("cannot map a read-only page: {e}")))?),
        _ => None,
    };
    let arg = match (buf, &page) {
        (BufKind::Null, _) => EventsArg::Null,
        (BufKind::Kernel, _) => EventsArg::Kernel,
        (BufKind::ReadOnly, Some(p)) => EventsArg::ReadOnly(p),
        _ => EventsArg::Buffer(&mut buffer),
    };
    let mask = match sigmask {
        SigMaskArg::Null => SigmaskArg::Null,
        SigMaskArg::Set(s) => SigmaskArg::Set(crate::sys::signal::kernel_sigset(s)),
        SigMaskArg::Bad => SigmaskArg::Bad,
    };
    let setsize = sigsetsize.unwrap_or(epoll::KERNEL_SIGSET_SIZE as i64) as usize;
    let (r, shown) = match via {
        WaitVia::EpollPwait => {
            let ms = timeout_ms(timeout);
            ctx.entering(libc::SYS_epoll_pwait);
            (epoll::epoll_pwait(epfd, arg, maxevents, ms, mask, setsize), format!("epoll_pwait({epfd}, buf, {maxevents}, {ms}, {}, {setsize})", crate::names::flags::sigmask_arg_name(sigmask)))
        }
        WaitVia::EpollPwait2 => {
            let ts = timespec(timeout);
            let targ = match (&ts, timeout) {
                (_, Timeout::Bad) => epoll::TimespecArg::Kernel,
                (Some(t), _) => epoll::TimespecArg::Spec(t),
                (None, _) => epoll::TimespecArg::Null,
            };
            ctx.entering(libc::SYS_epoll_pwait2);
            let shown_ts = if timeout == Timeout::Bad { "(kernel address)".to_string() } else { show_ts(&ts) };
            let shown = format!("epoll_pwait2({epfd}, buf, {maxevents}, {shown_ts}, {}, {setsize})", crate::names::flags::sigmask_arg_name(sigmask));
            (epoll::epoll_pwait2(epfd, arg, maxevents, targ, mask, setsize), shown)
        }
        _ => {
            let ms = timeout_ms(timeout);
            ctx.entering(crate::sys::nr::EPOLL_WAIT);
            (epoll::epoll_wait(epfd, arg, maxevents, ms), format!("epoll_wait({epfd}, buf, {maxevents}, {ms})"))
        }
    };
    ctx.left();
    if r == Err(libc::EOVERFLOW) {
        return Err(ctx.error(format!("internal: events buffer smaller than maxevents {maxevents}")));
    }
    let outcome = match r {
        Ok(n) => {
            let count = if buf == BufKind::Normal { (n.max(0) as usize).min(buffer.len()) } else { 0 };
            Outcome::Events { ret: n, ep: epfd, events: (0..count).map(|i| buffer.get(i)).collect() }
        }
        Err(e) => Outcome::Errno(e),
    };
    Ok(Exec { outcome, call: if ctx.tracing() { Some(shown) } else { None } })
}

fn show_ts(ts: &Option<libc::timespec>) -> String {
    match ts {
        None => "NULL".into(),
        Some(t) => format!("{{{}, {}}}", t.tv_sec, t.tv_nsec),
    }
}

fn ioctl(ctx: &mut Ctx, fd: &FdRef, req: &IoctlReq, null_arg: bool) -> StepResult {
    let fd = ctx.fd(fd)?;
    match req {
        IoctlReq::SetParams { usecs, budget, prefer, pad } => {
            // Out-of-range values are truncated to the field widths, as a C
            // caller assigning them would; cases choose values that fit.
            let mut p = epoll::EpollParams { busy_poll_usecs: *usecs as u32, busy_poll_budget: *budget as u16, prefer_busy_poll: *prefer as u8, pad: *pad as u8 };
            let r = epoll::ioctl_params(fd, epoll::EPIOCSPARAMS, if null_arg { None } else { Some(&mut p) });
            Ok(Exec { outcome: Outcome::from_result(r), call: call!(ctx, "ioctl({fd}, EPIOCSPARAMS, {p:?})") })
        }
        IoctlReq::GetParams => {
            let mut p = epoll::EpollParams::default();
            let r = epoll::ioctl_params(fd, epoll::EPIOCGPARAMS, if null_arg { None } else { Some(&mut p) });
            let outcome = match r {
                Ok(_) => Outcome::Fields(vec![
                    ("usecs", p.busy_poll_usecs as i64),
                    ("budget", p.busy_poll_budget as i64),
                    ("prefer", p.prefer_busy_poll as i64),
                    ("pad", p.pad as i64),
                ]),
                Err(e) => Outcome::Errno(e),
            };
            Ok(Exec { outcome, call: call!(ctx, "ioctl({fd}, EPIOCGPARAMS, &params)") })
        }
        IoctlReq::Raw(nr) => {
            let mut scratch = Box::new([0u8; epoll::RAW_IOCTL_ARG_BYTES]);
            let r = epoll::ioctl_raw(fd, *nr, if null_arg { None } else { Some(&mut scratch) });
            Ok(Exec { outcome: Outcome::from_result(r), call: call!(ctx, "ioctl({fd}, {}, &scratch)", crate::names::ioctl_name(*nr)) })
        }
    }
}

fn poll(ctx: &mut Ctx, fds: &[(FdRef, u32)], timeout: i64) -> StepResult {
    let mut pfds = Vec::new();
    for (r, ev) in fds {
        pfds.push(libc::pollfd { fd: ctx.fd(r)?, events: *ev as i16, revents: 0 });
    }
    ctx.entering(crate::sys::nr::POLL);
    let r = crate::sys::io::poll(&mut pfds, timeout as i32);
    ctx.left();
    let outcome = match r {
        Ok(n) => Outcome::Ready { ret: n, fds: pfds.iter().filter(|p| p.revents != 0).map(|p| (p.fd, p.revents as u16 as u32)).collect() },
        Err(e) => Outcome::Errno(e),
    };
    Ok(Exec { outcome, call: call!(ctx, "poll({}, {timeout})", crate::names::flags::pollfds_name(&pfds.iter().map(|p| (p.fd, p.events as u16 as u32)).collect::<Vec<_>>())) })
}

fn select(ctx: &mut Ctx, read: &[FdRef], write: &[FdRef], except: &[FdRef], timeout: Option<Duration>) -> StepResult {
    let nums = |list: &[FdRef]| -> Result<Vec<i32>, super::failure::Failure> { list.iter().map(|r| ctx.fd(r)).collect() };
    let (r, w, x) = (nums(read)?, nums(write)?, nums(except)?);
    if r.iter().chain(&w).chain(&x).any(|&fd| !(0..libc::FD_SETSIZE as i32).contains(&fd)) {
        return Err(ctx.error(format!("select cannot watch fds outside 0..{} (FD_SETSIZE)", libc::FD_SETSIZE)));
    }
    ctx.entering(crate::sys::nr::SELECT);
    let res = crate::sys::io::select(&r, &w, &x, timeout);
    ctx.left();
    let outcome = match res {
        // select counts a bit per set; the outcome counts ready fds, as
        // poll does, so one expectation reads the same for both.
        Ok((_, hits)) => Outcome::Ready {
            ret: hits.len() as i64,
            fds: hits
                .iter()
                .map(|h| (h.fd, select_bits(h)))
                .collect(),
        },
        Err(e) => Outcome::Errno(e),
    };
    Ok(Exec { outcome, call: call!(ctx, "select(r={r:?}, w={w:?}, x={x:?}, {})", timeout.map_or("NULL".to_string(), |t| format!("{t:?}"))) })
}

/// A select(2) hit as poll bits: readable IN, writable OUT, exceptional PRI.
fn select_bits(h: &crate::sys::io::SelectHit) -> u32 {
    let bit = |set: bool, b: i16| if set { b as u16 as u32 } else { 0 };
    bit(h.read, libc::POLLIN) | bit(h.write, libc::POLLOUT) | bit(h.except, libc::POLLPRI)
}
