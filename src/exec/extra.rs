//! Steps for the less common corners of the catalogue: fdinfo and kcmp
//! introspection, timing checks, limits, pidfds, fd passing, sysctls (always
//! restored), credentials, CPU pinning, inotify and mounts.

use super::failure::FailKind;
use super::fixtures::{call, fixture_error, made};
use super::interp::{Ctx, Exec, StepResult};
use super::outcome::Outcome;
use super::state::{FdKind, lock};
use super::tasks::Task;
use crate::case::model::*;
use crate::names::errno_name;
use crate::sys::misc;
use std::io::IoSlice;

pub fn execute(ctx: &mut Ctx, a: &Action) -> Option<StepResult> {
    Some(match a {
        Action::Fdinfo { ep, fd } => fdinfo(ctx, ep, fd),
        Action::Kcmp { ep, fd } => {
            let (epfd, tfd) = match (ctx.fd(ep), ctx.fd(fd)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => return Some(Err(e)),
            };
            let r = misc::kcmp_epoll_tfd(tfd, epfd, tfd, 0);
            Ok(Exec { outcome: Outcome::from_result(r), call: call!(ctx, "kcmp(self, self, KCMP_EPOLL_TFD, {tfd}, {{{epfd}, {tfd}, 0}})") })
        }
        Action::Took { op, dur } => took(ctx, *op, *dur),
        Action::Rlimit { resource: RlimitKind::NoFile, value } => {
            let hard = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).map(|(_, h)| h).unwrap_or(*value);
            let r = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, *value, hard.max(*value));
            Ok(Exec { outcome: Outcome::from_result(r.map(|_| 0).map_err(|e| e as i32)), call: call!(ctx, "setrlimit(RLIMIT_NOFILE, {value})") })
        }
        Action::Pidfd { name, child } => pidfd(ctx, name, child),
        Action::SendFd { sock, fd } => sendfd(ctx, sock, fd),
        Action::RecvFd { new, sock } => recvfd(ctx, new, sock),
        Action::Sysctl { name, value } => sysctl(ctx, name, *value),
        Action::SetUid { uid } => Ok(Exec { outcome: Outcome::from_result(misc::setresuid(*uid)), call: call!(ctx, "setresuid({uid}, {uid}, {uid})") }),
        Action::Pin { cpu } => {
            let mut set = nix::sched::CpuSet::new();
            let r = set.set(*cpu as usize).and_then(|_| nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set));
            Ok(Exec { outcome: Outcome::from_result(r.map(|_| 0).map_err(|e| e as i32)), call: call!(ctx, "sched_setaffinity(0, {{{cpu}}})") })
        }
        Action::Watch { fd } => watch(ctx, fd),
        Action::Touch { name } => {
            let path = ctx.sh.tempdir.as_path().join(format!("touch-{}", ctx.resolve_name(name)));
            let r = std::fs::OpenOptions::new().create(true).append(true).open(&path).map(|_| 0).map_err(|e| e.raw_os_error().unwrap_or(libc::EIO));
            Ok(Exec { outcome: Outcome::from_result(r), call: call!(ctx, "open(\"{}\", O_CREAT)", path.display()) })
        }
        Action::UnshareMount => unshare_mount(ctx),
        Action::UnshareUts => {
            let r = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUTS);
            Ok(Exec { outcome: Outcome::from_result(r.map(|_| 0).map_err(|e| e as i32)), call: call!(ctx, "unshare(CLONE_NEWUTS)") })
        }
        Action::SetHostname { name } => {
            let r = nix::unistd::sethostname(name);
            Ok(Exec { outcome: Outcome::from_result(r.map(|_| 0).map_err(|e| e as i32)), call: call!(ctx, "sethostname(\"{name}\")") })
        }
        Action::Mount { name } => mount(ctx, name, true),
        Action::Umount { name } => mount(ctx, name, false),
        _ => return None,
    })
}

/// `tfd:        5 events:       19 data:                5  pos:0 ino:...`
fn fdinfo(ctx: &mut Ctx, ep: &FdRef, fd: &FdRef) -> StepResult {
    let epfd = ctx.fd(ep)?;
    let tfd = ctx.fd(fd)?;
    let text = match std::fs::read_to_string(format!("/proc/self/fdinfo/{epfd}")) {
        Ok(t) => t,
        Err(e) => return Ok(Exec { outcome: Outcome::Errno(e.raw_os_error().unwrap_or(libc::EIO)), call: call!(ctx, "read /proc/self/fdinfo/{epfd}") }),
    };
    let mut found: Vec<(i64, i64)> = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let get = |key: &str| fields.iter().position(|f| *f == key).and_then(|i| fields.get(i + 1)).copied();
        if get("tfd:").and_then(|v| v.parse::<i32>().ok()) == Some(tfd) {
            let events = get("events:").and_then(|v| i64::from_str_radix(v, 16).ok()).unwrap_or(-1);
            let data = get("data:").and_then(|v| u64::from_str_radix(v, 16).ok()).map(|d| d as i64).unwrap_or(-1);
            found.push((events, data));
        }
    }
    let outcome = match found.first() {
        None => Outcome::Errno(libc::ENOENT),
        Some(&(events, data)) => Outcome::Fields(vec![("events", events), ("data", data), ("count", found.len() as i64)]),
    };
    Ok(Exec { outcome, call: call!(ctx, "grep tfd {tfd} /proc/self/fdinfo/{epfd}") })
}

fn took(ctx: &mut Ctx, op: CmpOp, dur: std::time::Duration) -> StepResult {
    let last = ctx.last_elapsed;
    if op.holds(last, dur) {
        return Ok(Exec { outcome: Outcome::Ret(last.as_micros() as i64), call: call!(ctx, "previous step took {last:?}") });
    }
    Err(ctx.failure(FailKind::Fail, format!("the previous step to take {} {dur:?}", op.symbol()), format!("it took {last:?}"), None))
}

fn pidfd(ctx: &mut Ctx, name: &str, child: &str) -> StepResult {
    let child = ctx.resolve_name(child);
    let pid = match ctx.sh.tasks.get(&child) {
        Some(Task::Fork(f)) => f.pid,
        _ => return Err(ctx.error(format!("pidfd needs `{child}` to be a fork"))),
    };
    let r = misc::pidfd_open(pid);
    made(ctx, name, r, FdKind::Other, call!(ctx, "pidfd_open({pid}, 0)"))
}

fn sendfd(ctx: &mut Ctx, sock: &FdRef, fd: &FdRef) -> StepResult {
    use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
    let s = ctx.fd(sock)?;
    let f = ctx.fd(fd)?;
    let fds = [f];
    let iov = [IoSlice::new(b"F")];
    let r = sendmsg::<()>(s, &iov, &[ControlMessage::ScmRights(&fds)], MsgFlags::empty(), None);
    Ok(Exec { outcome: Outcome::from_result(r.map(|n| n as i64).map_err(|e| e as i32)), call: call!(ctx, "sendmsg({s}, SCM_RIGHTS [{f}])") })
}

fn recvfd(ctx: &mut Ctx, new: &str, sock: &FdRef) -> StepResult {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    let s = ctx.fd(sock)?;
    let mut byte = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    let got = recvmsg::<()>(s, &mut iov, Some(&mut space), MsgFlags::empty()).map_err(|e| e as i32).map(|msg| {
        msg.cmsgs().ok().into_iter().flatten().find_map(|c| match c {
            ControlMessageOwned::ScmRights(fds) => fds.first().copied(),
            _ => None,
        })
    });
    let r = match got {
        Ok(Some(fd)) => Ok(fd as i64),
        Ok(None) => return Err(ctx.error("recvmsg returned no SCM_RIGHTS fd")),
        Err(e) => Err(e),
    };
    let kind = r.as_ref().map(|&fd| lock(&ctx.sh.fds).kind_of_fd(fd as i32)).unwrap_or(FdKind::Other);
    made(ctx, new, r, kind, call!(ctx, "recvmsg({s}) SCM_RIGHTS"))
}

/// Reads or writes /proc/sys/NAME. Before the first write of a file the
/// old value goes to the runner's restore journal, and the runner writes
/// it back after the case process is gone, however it ended.
fn sysctl(ctx: &mut Ctx, name: &str, value: Option<i64>) -> StepResult {
    let path = format!("/proc/sys/{}", name.replace('.', "/"));
    let current = std::fs::read_to_string(&path).map_err(|e| e.raw_os_error().unwrap_or(libc::EIO));
    let Some(v) = value else {
        let r = current.and_then(|t| t.trim().parse::<i64>().map_err(|_| libc::EINVAL));
        return Ok(Exec { outcome: Outcome::from_result(r), call: call!(ctx, "read {path}") });
    };
    let old = current.map_err(|e| ctx.error(format!("cannot read {path}: {}", errno_name(e))))?;
    if ctx.sh.own_netns && path.starts_with("/proc/sys/net/") {
        // The case's own network namespace ends with it, and with it this
        // setting; the host's value was never touched.
    } else if let Some(journal) = super::child::restore_journal() {
        use std::io::Write;
        let line = format!("{path}\t{}\n", old.trim());
        let ok = std::fs::OpenOptions::new().append(true).open(journal).and_then(|mut f| f.write_all(line.as_bytes()));
        ok.map_err(|e| fixture_error(ctx, "record the sysctl to restore", e))?;
    } else {
        return Err(ctx.error("refusing to write a sysctl without a restore journal (run through epollcheck)"));
    }
    let r = std::fs::write(&path, v.to_string()).map(|_| 0).map_err(|e| e.raw_os_error().unwrap_or(libc::EIO));
    Ok(Exec { outcome: Outcome::from_result(r), call: call!(ctx, "write {path} = {v} (was {})", old.trim()) })
}

fn watch(ctx: &mut Ctx, fd: &FdRef) -> StepResult {
    let fd = ctx.fd(fd)?;
    let dir = ctx.sh.tempdir.as_path();
    let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).map_err(|e| fixture_error(ctx, "inotify_add_watch", e))?;
    let mask = libc::IN_CREATE | libc::IN_DELETE | libc::IN_MODIFY | libc::IN_ATTRIB;
    let r = misc::inotify_add_watch(fd, &c, mask);
    Ok(Exec { outcome: Outcome::from_result(r), call: call!(ctx, "inotify_add_watch({fd}, \"{}\", IN_CREATE|IN_DELETE|IN_MODIFY|IN_ATTRIB)", dir.display()) })
}

fn unshare_mount(ctx: &mut Ctx) -> StepResult {
    use nix::mount::{MsFlags, mount};
    let r = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
        .and_then(|_| mount::<str, str, str, str>(None, "/", None, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None));
    Ok(Exec { outcome: Outcome::from_result(r.map(|_| 0).map_err(|e| e as i32)), call: call!(ctx, "unshare(CLONE_NEWNS); mount(/, MS_REC|MS_PRIVATE)") })
}

/// tmpfs on a directory in the case's temporary directory.
fn mount(ctx: &mut Ctx, name: &str, on: bool) -> StepResult {
    use nix::mount::{MsFlags, mount, umount};
    let dir = ctx.sh.tempdir.as_path().join(format!("mnt-{}", ctx.resolve_name(name)));
    let r = if on {
        std::fs::create_dir_all(&dir).map_err(|e| fixture_error(ctx, "mkdir", e))?;
        mount(Some("tmpfs"), &dir, Some("tmpfs"), MsFlags::empty(), None::<&str>)
    } else {
        umount(&dir)
    };
    let verb = if on { "mount(tmpfs)" } else { "umount" };
    Ok(Exec { outcome: Outcome::from_result(r.map(|_| 0).map_err(|e| e as i32)), call: call!(ctx, "{verb} {}", dir.display()) })
}
