//! Threads and forked children of a case, and the /proc readings that tell
//! whether a thread is asleep in the kernel (LTP's technique: no sleeps).

use super::state::lock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// One case thread, as the other threads see it.
pub struct ThreadTask {
    pub name: String,
    /// Kernel thread id; 0 until the thread has started.
    pub tid: AtomicI32,
    /// Steps whose call has returned; a woken waiter moves this on.
    pub progress: AtomicU64,
    /// The syscall number the current step is making, -1 outside calls.
    pub syscall: AtomicI64,
    /// The line of the current step, for "where was it stuck" messages.
    pub line: AtomicU64,
    /// `progress` when `asleep` last saw the thread sleeping.
    pub asleep_mark: Mutex<Option<u64>>,
    done: Mutex<bool>,
    done_cv: Condvar,
    pub started: AtomicBool,
}

impl ThreadTask {
    pub fn new(name: &str) -> ThreadTask {
        ThreadTask {
            name: name.to_string(),
            tid: AtomicI32::new(0),
            progress: AtomicU64::new(0),
            syscall: AtomicI64::new(-1),
            line: AtomicU64::new(0),
            asleep_mark: Mutex::new(None),
            done: Mutex::new(false),
            done_cv: Condvar::new(),
            started: AtomicBool::new(false),
        }
    }

    pub fn finish(&self) {
        *lock(&self.done) = true;
        self.done_cv.notify_all();
    }

    pub fn is_done(&self) -> bool {
        *lock(&self.done)
    }

    /// Waits until the thread is done or `deadline` passes.
    pub fn wait_done(&self, deadline: std::time::Instant) -> bool {
        let mut done = lock(&self.done);
        while !*done {
            let now = std::time::Instant::now();
            if now >= deadline {
                return false;
            }
            done = self.done_cv.wait_timeout(done, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
        true
    }

    /// `S` state and inside the expected syscall: asleep in the kernel.
    pub fn sleeping(&self) -> Sleep {
        let tid = self.tid.load(Ordering::SeqCst);
        if tid == 0 {
            return Sleep::NotYet;
        }
        if self.is_done() {
            return Sleep::Gone;
        }
        let want = self.syscall.load(Ordering::SeqCst);
        if want < 0 {
            return Sleep::NotYet;
        }
        match read_task(tid) {
            None => Sleep::Gone,
            Some(t) if t.state == 'S' && t.syscall.is_none_or(|s| s == want) => Sleep::Asleep,
            Some(_) => Sleep::NotYet,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sleep {
    Asleep,
    NotYet,
    Gone,
}

/// A child made by `fork`: its pid and the pipe it reports a failure on
/// (-1 once `join` has read and closed it).
pub struct ForkTask {
    pub pid: i32,
    pub report_fd: std::sync::atomic::AtomicI32,
    pub reaped: Mutex<Option<i32>>,
}

#[derive(Clone)]
pub enum Task {
    Thread(Arc<ThreadTask>),
    Fork(Arc<ForkTask>),
}

#[derive(Default)]
pub struct Tasks {
    map: Mutex<HashMap<String, Task>>,
    handles: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Tasks {
    pub fn insert(&self, name: &str, t: Task) {
        lock(&self.map).insert(name.to_string(), t);
    }

    pub fn get(&self, name: &str) -> Option<Task> {
        lock(&self.map).get(name).cloned()
    }

    /// Keeps a new thread's handle, and joins the threads that have
    /// finished: an exited thread keeps its stack until it is joined, so a
    /// loop that starts threads would otherwise hold every stack it ever
    /// made (a 2 s race loop reached 129 MB).
    pub fn keep_handle(&self, h: std::thread::JoinHandle<()>) {
        let mut handles = lock(&self.handles);
        let (finished, running): (Vec<_>, Vec<_>) = handles.drain(..).partition(|h| h.is_finished());
        for f in finished {
            let _ = f.join();
        }
        *handles = running;
        handles.push(h);
    }

    pub fn threads(&self) -> Vec<Arc<ThreadTask>> {
        lock(&self.map)
            .values()
            .filter_map(|t| if let Task::Thread(t) = t { Some(t.clone()) } else { None })
            .collect()
    }

    pub fn forks(&self) -> Vec<Arc<ForkTask>> {
        lock(&self.map)
            .values()
            .filter_map(|t| if let Task::Fork(f) = t { Some(f.clone()) } else { None })
            .collect()
    }

    /// Threads that have not finished.
    pub fn live_threads(&self) -> Vec<String> {
        let mut v: Vec<String> = self.threads().iter().filter(|t| !t.is_done()).map(|t| t.name.clone()).collect();
        v.sort();
        v
    }
}

/// A thread's scheduler state and current syscall from /proc.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskState {
    pub state: char,
    /// `None` when /proc/.../syscall is unreadable or says `running`.
    pub syscall: Option<i64>,
}

pub fn read_task(tid: i32) -> Option<TaskState> {
    let pid = std::process::id();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).ok()?;
    // The command name may contain spaces and parentheses; the state is
    // the first field after the last `)`.
    let after = &stat[stat.rfind(')')? + 1..];
    let state = after.trim_start().chars().next()?;
    let syscall = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/syscall"))
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|w| w.parse::<i64>().ok()));
    Some(TaskState { state, syscall })
}

/// A description for messages: `state S in syscall 232`.
pub fn describe_task(tid: i32) -> String {
    match read_task(tid) {
        None => "no longer running".into(),
        Some(t) => match t.syscall {
            Some(nr) => format!("state {} in syscall {}", t.state, syscall_name(nr)),
            None => format!("state {}", t.state),
        },
    }
}

pub fn syscall_name(nr: i64) -> String {
    let known: &[(i64, &str)] = &[
        (libc::SYS_read, "read"),
        (libc::SYS_write, "write"),
        (crate::sys::nr::POLL, "poll"),
        (crate::sys::nr::SELECT, "select"),
        (crate::sys::nr::EPOLL_WAIT, if cfg!(target_arch = "x86_64") { "epoll_wait" } else { "epoll_pwait" }),
        (libc::SYS_epoll_pwait, "epoll_pwait"),
        (libc::SYS_epoll_pwait2, "epoll_pwait2"),
        (libc::SYS_accept4, "accept4"),
        (libc::SYS_connect, "connect"),
        (libc::SYS_recvfrom, "recvfrom"),
        (libc::SYS_futex, "futex"),
        (libc::SYS_wait4, "wait4"),
        (libc::SYS_nanosleep, "nanosleep"),
        (libc::SYS_clock_nanosleep, "clock_nanosleep"),
    ];
    known.iter().find(|(n, _)| *n == nr).map(|(_, s)| s.to_string()).unwrap_or_else(|| format!("#{nr}"))
}

/// Total CPU time consumed does not matter here; what matters is that a
/// polling loop lets the observed thread run. Yield first, then back off to
/// short naps, so a single-CPU machine still makes progress.
pub struct Backoff(u32);

impl Backoff {
    pub fn new() -> Backoff {
        Backoff(0)
    }

    pub fn pause(&mut self) {
        self.0 += 1;
        if self.0 < 20 {
            std::thread::yield_now();
        } else {
            let us = (self.0 as u64 * 10).min(1000);
            std::thread::sleep(std::time::Duration::from_micros(us));
        }
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new()
    }
}
