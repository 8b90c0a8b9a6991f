//! Threads and forked children: starting them, seeing them asleep in the
//! kernel, counting who woke, interrupting and joining them, all with
//! deadlines and without sleeping as synchronisation.

use super::failure::{FailKind, Failure};
use super::fixtures::call;
use super::interp::{Ctx, Exec, Flow, StepResult, run_block};
use super::outcome::Outcome;
use super::state::lock;
use super::tasks::{Backoff, ForkTask, Sleep, Task, ThreadTask, describe_task};
use crate::case::model::{Block, KillTarget};
use crate::names::{errno_name, signal_name};
use crate::sys::{io, proc, signal as sig};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// What a forked child sends back when its block ends.
#[derive(serde::Serialize, serde::Deserialize)]
struct ForkReport {
    failure: Option<Failure>,
    trace: Vec<super::trace::TraceEntry>,
}

/// The signal `interrupt` sends: a real-time signal no fixture uses, with a
/// counting handler installed without SA_RESTART when the case starts.
pub const INTERRUPT_SIG: i32 = 40;

pub fn spawn_thread(ctx: &mut Ctx, name: &str, body: &Block) -> Flow {
    let name = ctx.resolve_name(name);
    if let Some(Task::Thread(old)) = ctx.sh.tasks.get(&name) {
        if !old.is_done() {
            ctx.sh.fail(ctx.error(format!("thread {name} is still running; join it before starting it again")));
            return Flow::Stop;
        }
    }
    let live = ctx.sh.tasks.live_threads().len();
    if live >= super::limits::MAX_THREADS {
        ctx.sh.fail(ctx.error(format!("a case may run at most {} threads at once ({live} are alive)", super::limits::MAX_THREADS)));
        return Flow::Stop;
    }
    let task = Arc::new(ThreadTask::new(&name));
    ctx.sh.tasks.insert(&name, Task::Thread(task.clone()));
    let mut child = Ctx::new(ctx.sh.clone(), &name, Some(task.clone()));
    child.vars = ctx.vars.clone();
    child.aliases = ctx.aliases.clone();
    child.iters = ctx.iters.clone();
    child.slot = super::child::next_slot();
    child.span = ctx.span;
    let body = body.clone();
    let t2 = task.clone();
    let spawned = std::thread::Builder::new().name(name.clone()).spawn(move || {
        t2.tid.store(sig::gettid(), Ordering::SeqCst);
        t2.started.store(true, Ordering::SeqCst);
        run_block(&mut child, &body);
        t2.finish();
    });
    match spawned {
        Ok(h) => {
            ctx.sh.tasks.keep_handle(h);
            Flow::Go
        }
        Err(e) => {
            task.finish();
            ctx.sh.fail(ctx.error(format!("cannot start thread {name}: {e}")));
            Flow::Stop
        }
    }
}

/// Runs the block in a forked child that shares every fd (and so every
/// epoll instance) with the case. Its failure comes back over a pipe.
pub fn spawn_fork(ctx: &mut Ctx, name: &str, body: &Block) -> Flow {
    // `fork kid$i`: stored under the name join, asleep and pidfd look up.
    let name = &ctx.resolve_name(name);
    let live = ctx.sh.tasks.live_threads();
    if !live.is_empty() {
        ctx.sh.fail(ctx.error(format!("fork needs every thread joined first (still running: {})", live.join(", "))));
        return Flow::Stop;
    }
    let (r, w) = match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
        Ok((r, w)) => (std::os::fd::IntoRawFd::into_raw_fd(r), std::os::fd::IntoRawFd::into_raw_fd(w)),
        Err(e) => {
            ctx.sh.fail(ctx.error(format!("pipe2 for fork failed: {e}")));
            return Flow::Stop;
        }
    };
    match proc::fork() {
        Ok(0) => {
            let _ = io::close(r);
            // The parent keeps the steps made before the fork; the child
            // reports only its own, or the trace would show them twice.
            let _ = ctx.sh.trace.take();
            ctx.thread = name.to_string();
            ctx.slot = None;
            run_block(ctx, body);
            let failure = ctx.sh.take_failure();
            let code = i32::from(failure.is_some());
            let (trace, _) = ctx.sh.trace.take();
            let json = serde_json::to_vec(&ForkReport { failure, trace }).unwrap_or_default();
            let mut sent = 0;
            while sent < json.len() {
                match io::write(w, &json[sent..]) {
                    Ok(n) if n > 0 => sent += n as usize,
                    _ => break,
                }
            }
            proc::exit_now(code)
        }
        Ok(pid) => {
            let _ = io::close(w);
            ctx.sh.tasks.insert(name, Task::Fork(Arc::new(ForkTask { pid, report_fd: r.into(), reaped: Default::default() })));
            Flow::Go
        }
        Err(e) => {
            let _ = io::close(r);
            let _ = io::close(w);
            ctx.sh.fail(ctx.error(format!("fork failed: {}", errno_name(e))));
            Flow::Stop
        }
    }
}

fn task(ctx: &Ctx, name: &str) -> Result<Task, Failure> {
    let name = ctx.resolve_name(name);
    ctx.sh.tasks.get(&name).ok_or_else(|| ctx.error(format!("thread or fork `{name}` has not been started")))
}

/// Whether the case is being torn down (another thread failed).
fn stopping(ctx: &Ctx) -> Result<(), Failure> {
    if ctx.sh.stopped() {
        // The first failure is already recorded; this one is only a way out.
        return Err(ctx.failure(FailKind::Error, "", "stopped after another thread failed", None));
    }
    Ok(())
}

/// Waits until each named thread is asleep inside its current syscall.
pub fn asleep(ctx: &mut Ctx, names: &[String]) -> StepResult {
    let deadline = ctx.deadline(None);
    for n in names {
        match task(ctx, n)? {
            Task::Thread(t) => wait_asleep(ctx, &t, deadline)?,
            Task::Fork(f) => wait_fork_asleep(ctx, &f, deadline)?,
        }
    }
    Ok(Exec { outcome: Outcome::Ret(0), call: call!(ctx, "asleep {}", names.join(" ")) })
}

fn wait_asleep(ctx: &Ctx, t: &ThreadTask, deadline: Instant) -> Result<(), Failure> {
    let mut backoff = Backoff::new();
    loop {
        stopping(ctx)?;
        match t.sleeping() {
            Sleep::Asleep => {
                *lock(&t.asleep_mark) = Some(t.progress.load(Ordering::SeqCst));
                return Ok(());
            }
            Sleep::Gone => {
                let line = t.line.load(Ordering::Relaxed);
                return Err(ctx.failure(FailKind::Fail, format!("thread {} asleep in the kernel", t.name), format!("it finished instead (its last step was line {line}): the call returned without blocking"), None));
            }
            Sleep::NotYet if Instant::now() >= deadline => {
                let tid = t.tid.load(Ordering::SeqCst);
                return Err(ctx.failure(FailKind::Fail, format!("thread {} asleep in the kernel", t.name), format!("not asleep after {:?}: {}", deadline_span(ctx), describe_task(tid)), None));
            }
            Sleep::NotYet => backoff.pause(),
        }
    }
}

fn deadline_span(ctx: &Ctx) -> Duration {
    ctx.deadline(None).saturating_duration_since(Instant::now())
}

fn wait_fork_asleep(ctx: &Ctx, f: &ForkTask, deadline: Instant) -> Result<(), Failure> {
    let mut backoff = Backoff::new();
    loop {
        stopping(ctx)?;
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", f.pid)).unwrap_or_default();
        let state = stat.rfind(')').and_then(|i| stat[i + 1..].trim_start().chars().next());
        if state == Some('S') {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(ctx.failure(FailKind::Fail, format!("child {} asleep in the kernel", f.pid), format!("state {state:?}"), None));
        }
        backoff.pause();
    }
}

/// Counts the threads that got past the step `asleep` saw them in, once
/// every thread has either moved on or stayed asleep for the whole window.
pub fn awake(ctx: &mut Ctx, names: &[String], window: Duration) -> StepResult {
    let mut threads = Vec::new();
    for n in names {
        let Task::Thread(t) = task(ctx, n)? else {
            return Err(ctx.error(format!("awake counts threads; {n} is a fork")));
        };
        let Some(mark) = *lock(&t.asleep_mark) else {
            return Err(ctx.error(format!("awake {n} needs an earlier `asleep {n}` to know where it slept")));
        };
        threads.push((t, mark));
    }
    let deadline = ctx.deadline(None);
    let mut quiet_since: Option<Instant> = None;
    let mut backoff = Backoff::new();
    loop {
        stopping(ctx)?;
        let woke = threads.iter().filter(|(t, m)| t.progress.load(Ordering::SeqCst) > *m).count();
        let settled = threads.iter().all(|(t, m)| t.progress.load(Ordering::SeqCst) > *m || t.sleeping() == Sleep::Asleep);
        let now = Instant::now();
        if woke == threads.len() {
            // Every waiter is past its call: nothing can change any more.
            return Ok(Exec { outcome: Outcome::Ret(woke as i64), call: call!(ctx, "awake {}: all {woke} woke", names.join(" ")) });
        }
        match (settled, quiet_since) {
            (true, Some(since)) if now - since >= window => {
                return Ok(Exec { outcome: Outcome::Ret(woke as i64), call: call!(ctx, "awake {}: {woke} woke", names.join(" ")) });
            }
            (true, None) => quiet_since = Some(now),
            (false, _) => quiet_since = None,
            _ => {}
        }
        if now >= deadline {
            let states: Vec<String> = threads.iter().map(|(t, _)| format!("{}: {}", t.name, describe_task(t.tid.load(Ordering::SeqCst)))).collect();
            return Err(ctx.failure(FailKind::Fail, "the waiters to settle (each woken or asleep)", format!("still changing at the deadline: {}", states.join("; ")), None));
        }
        backoff.pause();
    }
}

pub fn interrupt(ctx: &mut Ctx, names: &[String]) -> StepResult {
    let mut sent = 0;
    for n in names {
        match task(ctx, n)? {
            Task::Thread(t) if !t.is_done() => {
                let tid = t.tid.load(Ordering::SeqCst);
                if tid != 0 && sig::tgkill(tid, INTERRUPT_SIG).is_ok() {
                    sent += 1;
                }
            }
            Task::Fork(f) => {
                if sig::kill(f.pid, INTERRUPT_SIG).is_ok() {
                    sent += 1;
                }
            }
            Task::Thread(_) => {}
        }
    }
    Ok(Exec { outcome: Outcome::Ret(sent), call: call!(ctx, "interrupt {} (signal {INTERRUPT_SIG})", names.join(" ")) })
}

pub fn join(ctx: &mut Ctx, names: &[String], within: Option<Duration>) -> StepResult {
    let deadline = ctx.deadline(within);
    for n in names {
        match task(ctx, n)? {
            Task::Thread(t) => {
                if !t.wait_done(deadline) {
                    let tid = t.tid.load(Ordering::SeqCst);
                    let line = t.line.load(Ordering::Relaxed);
                    let step = ctx.sh.case.line_text(crate::case::Span::new(line as u32, 1)).to_string();
                    return Err(ctx.failure(FailKind::Fail, format!("thread {} to finish", t.name), format!("still running at line {line} (`{step}`), {}", describe_task(tid)), None));
                }
            }
            Task::Fork(f) => join_fork(ctx, n, &f, deadline)?,
        }
    }
    Ok(Exec { outcome: Outcome::Ret(0), call: call!(ctx, "join {}", names.join(" ")) })
}

fn join_fork(ctx: &Ctx, name: &str, f: &ForkTask, deadline: Instant) -> Result<(), Failure> {
    let mut backoff = Backoff::new();
    let status = loop {
        if let Some(s) = *lock(&f.reaped) {
            break s;
        }
        match proc::waitpid(f.pid, libc::WNOHANG) {
            Ok((0, _)) if Instant::now() >= deadline => {
                return Err(ctx.failure(FailKind::Fail, format!("child {name} to exit"), "still running at the deadline", None));
            }
            Ok((0, _)) => backoff.pause(),
            Ok((_, s)) => {
                *lock(&f.reaped) = Some(s);
                break s;
            }
            Err(e) => return Err(ctx.error(format!("waitpid for {name} failed: {}", errno_name(e)))),
        }
    };
    let mut report = Vec::new();
    let mut buf = [0u8; 4096];
    // Read once and closed, so a case that forks in a loop does not
    // collect a pipe per child.
    let fd = f.report_fd.swap(-1, Ordering::SeqCst);
    while let Ok(n) = io::read(fd, &mut buf) {
        if n <= 0 {
            break;
        }
        report.extend_from_slice(&buf[..n as usize]);
    }
    if fd >= 0 {
        let _ = io::close(fd);
    }
    if let Ok(r) = serde_json::from_slice::<ForkReport>(&report) {
        // The child's steps join the case's trace, so --trace shows them.
        for e in r.trace {
            ctx.sh.trace.push_merged(e);
        }
        if let Some(fail) = r.failure {
            ctx.sh.fail(fail);
            return Ok(());
        }
    }
    if libc::WIFSIGNALED(status) {
        return Err(ctx.error(format!("child {name} was killed by {}", signal_name(libc::WTERMSIG(status)))));
    }
    if libc::WEXITSTATUS(status) != 0 {
        return Err(ctx.error(format!("child {name} exited with status {}", libc::WEXITSTATUS(status))));
    }
    Ok(())
}

pub fn kill(ctx: &mut Ctx, target: &KillTarget, s: i32) -> StepResult {
    let (r, shown) = match target {
        KillTarget::Process => (sig::kill(std::process::id() as i32, s), "self".to_string()),
        KillTarget::Thread(n) if n == "main" => {
            let tid = ctx.sh.main_tid.load(Ordering::SeqCst);
            (sig::tgkill(tid, s), format!("main thread (tid {tid})"))
        }
        KillTarget::Thread(n) | KillTarget::Child(n) => match task(ctx, n)? {
            Task::Thread(t) => {
                let tid = wait_started(ctx, &t)?;
                (sig::tgkill(tid, s), format!("thread {n} (tid {tid})"))
            }
            Task::Fork(f) => (sig::kill(f.pid, s), format!("child {n} (pid {})", f.pid)),
        },
    };
    Ok(Exec { outcome: Outcome::from_result(r), call: call!(ctx, "kill {shown} {}", signal_name(s)) })
}

fn wait_started(ctx: &Ctx, t: &ThreadTask) -> Result<i32, Failure> {
    let deadline = ctx.deadline(None);
    let mut backoff = Backoff::new();
    loop {
        let tid = t.tid.load(Ordering::SeqCst);
        if tid != 0 {
            return Ok(tid);
        }
        if Instant::now() >= deadline {
            return Err(ctx.error(format!("thread {} never started", t.name)));
        }
        backoff.pause();
    }
}
