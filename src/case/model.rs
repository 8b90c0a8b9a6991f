//! The parsed form of a case file: a header and a tree of steps, each step
//! carrying the span it came from.

use super::error::Span;
use super::header::Header;
use std::path::PathBuf;
use std::time::Duration;

/// One case (one variant of one file), ready to run.
#[derive(Clone, Debug)]
pub struct Case {
    pub path: PathBuf,
    pub header: Header,
    /// The variant values this instance was parsed with, `(axis, label, value)`.
    pub variant: Vec<VariantValue>,
    pub body: Block,
    /// The source lines, so that failures can quote the step.
    pub lines: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariantValue {
    pub axis: String,
    pub label: String,
    pub value: String,
}

impl Case {
    /// The source text of the step at `span`, trimmed.
    pub fn line_text(&self, span: Span) -> &str {
        self.lines
            .get(span.line.saturating_sub(1) as usize)
            .map(|l| l.trim())
            .unwrap_or("")
    }

    /// The variant value for an axis, e.g. the wait syscall.
    pub fn variant_value(&self, axis: &str) -> Option<&str> {
        self.variant.iter().find(|v| v.axis == axis).map(|v| v.value.as_str())
    }
}

pub type Block = Vec<Stmt>;

#[derive(Clone, Debug)]
pub struct Stmt {
    pub span: Span,
    pub kind: StmtKind,
}

#[derive(Clone, Debug)]
pub enum StmtKind {
    Op(Op),
    /// `thread NAME { ... }`: run the block on a new thread, now.
    Thread { name: String, body: Block },
    /// `fork NAME { ... }`: run the block in a child process, now.
    Fork { name: String, body: Block },
    /// `repeat N [as VAR] { ... }` or `repeat for DURATION [max N] { ... }`.
    Repeat(Repeat),
}

#[derive(Clone, Debug)]
pub struct Repeat {
    pub count: RepeatCount,
    pub var: Option<String>,
    pub until: Option<Cond>,
    pub body: Block,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RepeatCount {
    Times(u64),
    For { budget: Duration, max: Option<u64> },
}

/// One step: an action, what it must return, and what to record.
#[derive(Clone, Debug)]
pub struct Op {
    pub action: Action,
    pub expect: Option<Expect>,
    /// `as NAME`: bind NAME to the fd of the first event returned.
    pub bind: Option<String>,
    /// `-> COUNTER`: add the step's numeric result to counters.
    pub capture: Vec<String>,
}

/// A reference to a file descriptor: a name from the fd table (possibly
/// with `$var` parts resolved at run time) or a raw number, which may be
/// invalid on purpose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FdRef {
    Name(String),
    Raw(i64),
}

impl std::fmt::Display for FdRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FdRef::Name(n) => write!(f, "{n}"),
            FdRef::Raw(v) => write!(f, "{v}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockType {
    Stream,
    Dgram,
    SeqPacket,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
    Tcp6,
    Udp6,
}

/// The kinds `source` can make: a watched end `.r` and a writing end `.w`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    Pipe,
    Fifo,
    Stream,
    Dgram,
    SeqPacket,
    Tcp,
    Tcp6,
    Udp,
    EventFd,
    Pty,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Addr {
    /// `127.0.0.1:0`, `[::1]:8080`.
    Literal(String),
    /// The address another socket is bound to.
    Of(FdRef),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitVia {
    /// `wait`: the case's `wait` variant, or epoll_wait.
    Default,
    EpollWait,
    EpollPwait,
    EpollPwait2,
}

/// The timeout argument of a wait, as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeout {
    /// Milliseconds, any int (negative means infinite for the kernel).
    Ms(i64),
    /// A duration; for epoll_pwait2 it becomes a timespec.
    Dur(Duration),
    /// A raw timespec for epoll_pwait2 (may be invalid on purpose).
    Spec { sec: i64, nsec: i64 },
    /// A NULL timespec pointer (epoll_pwait2: infinite).
    Null,
    /// A timespec pointer the kernel cannot read (epoll_pwait2: EFAULT).
    Bad,
}

/// Where the events buffer of a wait points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufKind {
    Normal,
    Null,
    /// An address in the kernel half: fails the up-front access_ok check.
    Kernel,
    /// A mapped read-only page: faults only when an event is copied.
    ReadOnly,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigMaskArg {
    /// No sigmask argument (NULL).
    Null,
    /// The set of signals blocked during the wait; empty blocks none.
    Set(Vec<i32>),
    /// A pointer the kernel cannot read.
    Bad,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IoctlReq {
    SetParams { usecs: i64, budget: i64, prefer: i64, pad: i64 },
    GetParams,
    Raw(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigDisposition {
    Handler { restart: bool },
    Ignore,
    Default,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigHow {
    Block,
    Unblock,
    Set,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KillTarget {
    /// The whole case process (`kill self SIG`).
    Process,
    /// One of the case's threads.
    Thread(String),
    /// A child made by `fork`.
    Child(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// N bytes for byte streams, the 8-byte value N for an eventfd.
    Count(u64),
    Text(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockOpt {
    ReusePort,
    ReuseAddr,
    RcvBuf,
    SndBuf,
    Linger,
    OobInline,
    IncomingCpu,
    /// SO_ATTACH_REUSEPORT_CBPF with the program `ret #VALUE`.
    ReusePortCbpf,
    /// SO_DETACH_REUSEPORT_BPF.
    DetachBpf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RlimitKind {
    NoFile,
}

/// The event pointer epoll_ctl is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventPtr {
    Normal,
    Null,
    /// A kernel address: copy_from_user fails.
    Bad,
}

/// Loop variables whose values are ORed into a ctl's events or become its data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CtlVars {
    pub events: Vec<String>,
    pub data: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutHow {
    Rd,
    Wr,
    RdWr,
}

/// Everything a step can do. Names bound by a step are `String`s; names
/// read are `FdRef`s.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    // Sources of file descriptors.
    Epoll { name: String, flags: i64 },
    EpollCreate { name: String, size: i64 },
    Pipe { name: String, flags: i32 },
    Fifo { name: String },
    SocketPair { name: String, ty: SockType, nonblock: bool },
    Socket { name: String, proto: Proto, nonblock: bool },
    EventFd { name: String, init: u64, flags: i32 },
    TimerFd { name: String, flags: i32 },
    SignalFd { name: String, signals: Vec<i32> },
    File { name: String, path: Option<String> },
    Dir { name: String, path: Option<String> },
    Open { name: String, path: String, flags: i32 },
    Pty { name: String },
    Inotify { name: String },
    Memfd { name: String },
    Source { name: String, kind: SourceKind },
    Dup { new: String, old: FdRef },
    Dup2 { old: FdRef, new: String },
    Close { fd: FdRef },
    // Sockets.
    SetSockOpt { fd: FdRef, opt: SockOpt, value: i64 },
    Bind { fd: FdRef, addr: Addr },
    Listen { fd: FdRef, backlog: i32 },
    Connect { fd: FdRef, addr: Addr },
    Accept { new: String, listener: FdRef, nonblock: bool },
    Shutdown { fd: FdRef, how: ShutHow },
    Send { fd: FdRef, len: u64, oob: bool },
    Recv { fd: FdRef, len: u64, oob: bool },
    // Plain I/O.
    Write { fd: FdRef, payload: Payload },
    Read { fd: FdRef, len: u64 },
    Fill { fd: FdRef },
    Drain { fd: FdRef },
    Nonblock { fd: FdRef, on: bool },
    Arm { fd: FdRef, after: Duration, interval: Duration },
    GetFd { fd: FdRef },
    // The calls under test.
    Ctl { ep: FdRef, op: i32, fd: FdRef, events: u32, data: Option<u64>, event_ptr: EventPtr, vars: CtlVars },
    Wait {
        ep: FdRef,
        via: WaitVia,
        timeout: Timeout,
        max: i64,
        buf: BufKind,
        sigmask: SigMaskArg,
        sigsetsize: Option<i64>,
    },
    Ioctl { fd: FdRef, req: IoctlReq, null_arg: bool },
    Poll { fds: Vec<(FdRef, u32)>, timeout: i64 },
    Select { read: Vec<FdRef>, write: Vec<FdRef>, except: Vec<FdRef>, timeout: Option<Duration> },
    // Signals.
    SigAction { sig: i32, disposition: SigDisposition },
    SigMask { how: SigHow, sigs: Vec<i32> },
    Kill { target: KillTarget, sig: i32 },
    /// The registration of FD in EP as /proc/self/fdinfo shows it.
    Fdinfo { ep: FdRef, fd: FdRef },
    /// kcmp(KCMP_EPOLL_TFD): is FD's file the one registered in EP under FD's number?
    Kcmp { ep: FdRef, fd: FdRef },
    /// Checks the duration of this thread's previous step.
    Took { op: CmpOp, dur: Duration },
    Rlimit { resource: RlimitKind, value: u64 },
    Pidfd { name: String, child: String },
    SendFd { sock: FdRef, fd: FdRef },
    RecvFd { new: String, sock: FdRef },
    /// Reads, or writes, /proc/sys/NAME; a written value is restored after the case.
    Sysctl { name: String, value: Option<i64> },
    SetUid { uid: u32 },
    /// Pins the calling thread to one CPU.
    Pin { cpu: u32 },
    /// inotify_add_watch on the case's temporary directory.
    Watch { fd: FdRef },
    /// Creates (or touches) a file NAME in the case's temporary directory.
    Touch { name: String },
    /// unshare(CLONE_NEWNS), with every mount made private.
    UnshareMount,
    /// unshare(CLONE_NEWUTS): a private hostname.
    UnshareUts,
    SetHostname { name: String },
    Mount { name: String },
    Umount { name: String },
    /// How many times the counting handler of `sig` has run.
    Handled { sig: i32 },
    // Threads and processes.
    Asleep { names: Vec<String> },
    Awake { names: Vec<String>, window: Duration },
    Interrupt { names: Vec<String> },
    Join { names: Vec<String>, within: Option<Duration> },
    Yield,
    /// A uniformly random integer in 0..SIDES (/dev/urandom): for randomised
    /// cases, and for testing the tooling with a case that fails by chance.
    Dice { sides: u64 },
    Claim { fd: FdRef },
    Release { fd: FdRef },
    // Counters and statistics.
    Reset { counters: Vec<String> },
    Check(Check),
    Report { counters: Vec<String> },
}

/// What a step must return. Alternatives are tried in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Expect {
    pub alts: Vec<Alt>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Alt {
    pub pattern: Pattern,
    /// `if COND`: the alternative only applies when the condition holds.
    pub guard: Option<Guard>,
    /// `@name`: counters incremented when this alternative matches.
    pub labels: Vec<String>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Pattern {
    /// Success, whatever the value.
    Ok,
    /// Anything, error or not.
    Any,
    /// No events (a wait or poll that returns 0).
    None,
    Errno(i32),
    /// An exact return value (a byte count, a counter, a count of woken threads).
    Int(i64),
    /// This many events, whichever they are.
    EventCount(u64),
    /// Exactly these events, in any order.
    Events(Vec<EventPat>),
    /// Named fields of a structured result (`usecs=25 budget=8`).
    Fields(Vec<(String, i64)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct EventPat {
    pub fd: FdRef,
    pub mask: u32,
    /// `~MASK`: at least these bits.
    pub at_least: bool,
    pub data: Option<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Guard {
    Kernel { op: CmpOp, version: super::header::KVersion },
    Probe { probe: super::header::Probe, negate: bool },
    /// `axis=label`: this variant of the case.
    Variant { axis: String, label: String, negate: bool },
    /// `A && B`: all of them.
    All(Vec<Guard>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn parse(s: &str) -> Option<CmpOp> {
        Some(match s {
            "==" => CmpOp::Eq,
            "!=" => CmpOp::Ne,
            "<" => CmpOp::Lt,
            "<=" => CmpOp::Le,
            ">" => CmpOp::Gt,
            ">=" => CmpOp::Ge,
            _ => return None,
        })
    }

    pub fn holds<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// `a+b OP 10` or `a OP b`: sums of counters compared with a number or a sum.
#[derive(Clone, Debug, PartialEq)]
pub struct Cond {
    pub lhs: Vec<String>,
    pub op: CmpOp,
    pub rhs: Operand,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Int(i64),
    Sum(Vec<String>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    Compare(Cond),
    /// Counts that should be uniform across the counters; fails when a
    /// count leaves the Hoeffding band whose false-alarm rate is `alpha`.
    Uniform { counters: Vec<String>, alpha: f64 },
}
