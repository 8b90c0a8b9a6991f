//! State shared by all threads of a running case: the fd table, the shadow
//! of each epoll's registrations, counters, claims and the first failure.

use super::failure::Failure;
use super::tasks::Tasks;
use super::trace::Trace;
use crate::case::{Case, KVersion};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

/// What a name in the fd table refers to; reads and writes depend on it
/// (an eventfd moves 8-byte counters, a listening socket is drained by
/// accepting).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdKind {
    Epoll,
    Pipe,
    Socket { listening: bool },
    EventFd,
    TimerFd,
    SignalFd,
    Inotify,
    File,
    Dir,
    Other,
}

#[derive(Clone, Copy, Debug)]
pub struct FdEntry {
    pub fd: i32,
    pub kind: FdKind,
}

#[derive(Default)]
pub struct FdTable {
    pub names: HashMap<String, FdEntry>,
    /// Names that were closed, with the number they had: cases refer to a
    /// closed fd on purpose (DEL of a closed fd is EBADF; events of a
    /// registration that outlived `close` still carry its data).
    pub closed: HashMap<String, i32>,
    /// `(epfd, fd) -> data` of the latest ADD/MOD, so that `p.r IN` in an
    /// expectation matches the data the registration carries.
    pub registrations: HashMap<(i32, i32), u64>,
}

impl FdTable {
    pub fn insert(&mut self, name: String, fd: i32, kind: FdKind) {
        self.closed.remove(&name);
        self.names.insert(name, FdEntry { fd, kind });
    }

    /// Forgets `name` (it was closed), remembering its number.
    pub fn forget(&mut self, name: &str) -> Option<FdEntry> {
        let e = self.names.remove(name)?;
        self.closed.insert(name.to_string(), e.fd);
        Some(e)
    }

    /// The fd number a name has or had.
    pub fn number(&self, name: &str) -> Option<i32> {
        self.names.get(name).map(|e| e.fd).or_else(|| self.closed.get(name).copied())
    }

    pub fn kind_of_fd(&self, fd: i32) -> FdKind {
        self.names.values().find(|e| e.fd == fd).map_or(FdKind::Other, |e| e.kind)
    }

    /// Names currently bound to a number, for rendering events.
    pub fn names_of(&self, fd: i32) -> Vec<&str> {
        let mut v: Vec<&str> = self.names.iter().filter(|(_, e)| e.fd == fd).map(|(n, _)| n.as_str()).collect();
        v.sort();
        v
    }
}

/// Everything the threads of one case share.
pub struct Shared {
    pub case: Case,
    pub kernel: Option<KVersion>,
    pub fds: Mutex<FdTable>,
    pub counters: Mutex<BTreeMap<String, i64>>,
    /// Fd number -> how many holders currently claim it.
    pub claims: Mutex<HashMap<i32, u32>>,
    pub tasks: Tasks,
    failure: Mutex<Option<Failure>>,
    stop: AtomicBool,
    pub trace: Trace,
    pub notes: Mutex<Vec<String>>,
    /// Scratch directory for FIFOs, regular files and mounts. The runner
    /// makes it and removes it after the case process is gone (a killed
    /// case cannot clean up after itself).
    pub tempdir: std::path::PathBuf,
    /// The main thread's tid, for `kill main SIG`.
    pub main_tid: std::sync::atomic::AtomicI32,
    /// The case runs in a network namespace of its own (root, IP cases).
    pub own_netns: bool,
    /// How much slower than real hardware this machine is taken to be
    /// (EPOLLCHECK_TIMEOUT_SCALE); scales step deadlines, never windows
    /// that a case measures.
    pub timeout_scale: f64,
}

/// Locks a mutex even if a panicking thread poisoned it: the state behind
/// these locks stays consistent step by step.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub fn new(case: Case, kernel: Option<KVersion>, trace: Trace, tempdir: std::path::PathBuf) -> std::io::Result<Shared> {
        Ok(Shared {
            case,
            kernel,
            fds: Mutex::default(),
            counters: Mutex::default(),
            claims: Mutex::default(),
            tasks: Tasks::default(),
            failure: Mutex::new(None),
            stop: AtomicBool::new(false),
            trace,
            notes: Mutex::default(),
            tempdir,
            main_tid: std::sync::atomic::AtomicI32::new(0),
            own_netns: false,
            timeout_scale: 1.0,
        })
    }

    /// Records a failure; the first one wins and stops every thread.
    pub fn fail(&self, f: Failure) {
        let mut slot = lock(&self.failure);
        if slot.is_none() {
            *slot = Some(f);
        }
        self.stop.store(true, Ordering::SeqCst);
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    pub fn take_failure(&self) -> Option<Failure> {
        lock(&self.failure).take()
    }

    pub fn add_counter(&self, name: &str, delta: i64) {
        *lock(&self.counters).entry(name.to_string()).or_insert(0) += delta;
    }

    pub fn counter(&self, name: &str) -> i64 {
        lock(&self.counters).get(name).copied().unwrap_or(0)
    }
}
