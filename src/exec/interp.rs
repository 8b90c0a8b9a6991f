//! Walks a case's steps on one thread: runs each action, checks its
//! outcome against the expectation, counts, captures and traces.

use super::failure::{FailKind, Failure};
use super::outcome::{Outcome, render_alts};
use super::state::{FdEntry, Shared, lock};
use super::tasks::ThreadTask;
use super::trace::TraceEntry;
use super::{calls, control, extra, fixtures, io_ops};
use crate::case::model::*;
use crate::case::Span;
use crate::names::MaskKind;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// What one action produced: its outcome and, when tracing, the call as made.
pub struct Exec {
    pub outcome: Outcome,
    pub call: Option<String>,
}

/// A step's failure before any expectation is consulted (a name that does
/// not exist, a deadline that passed).
pub type StepResult = Result<Exec, Failure>;

/// Per-thread interpreter state.
pub struct Ctx {
    pub sh: Arc<Shared>,
    pub thread: String,
    pub task: Option<Arc<ThreadTask>>,
    /// Loop variables of enclosing `repeat ... as VAR`.
    pub vars: Vec<(String, u64)>,
    /// `as NAME` bindings: thread-local names for fd numbers.
    pub aliases: HashMap<String, i32>,
    /// Enclosing repeats: `(index, total if known)`.
    pub iters: Vec<(u64, Option<u64>)>,
    /// Slot in the progress page, when the runner gave us one.
    pub slot: Option<usize>,
    /// The span of the step being run, for failures raised deep inside.
    pub span: Span,
    /// How long this thread's previous step took (for `took`).
    pub last_elapsed: Duration,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Go,
    Stop,
}

impl Ctx {
    pub fn new(sh: Arc<Shared>, thread: &str, task: Option<Arc<ThreadTask>>) -> Ctx {
        Ctx { sh, thread: thread.to_string(), task, vars: vec![], aliases: HashMap::new(), iters: vec![], slot: None, span: Span::default(), last_elapsed: Duration::ZERO }
    }

    /// A failure at the current step.
    pub fn failure(&self, kind: FailKind, expected: impl Into<String>, observed: impl Into<String>, detail: Option<String>) -> Failure {
        Failure {
            kind,
            path: self.sh.case.path.display().to_string(),
            line: self.span.line,
            step: self.sh.case.line_text(self.span).to_string(),
            thread: self.thread.clone(),
            iteration: self.iters.iter().map(|(i, n)| match n {
                Some(n) => format!("iteration {} of {n}", i + 1),
                None => format!("iteration {}", i + 1),
            }).collect(),
            expected: expected.into(),
            observed: observed.into(),
            detail,
        }
    }

    /// An ERROR: the case could not do what it asked for.
    pub fn error(&self, what: impl Into<String>) -> Failure {
        self.failure(FailKind::Error, "the step to run", what, None)
    }

    /// `p$i.r` with the current loop values.
    pub fn resolve_name(&self, name: &str) -> String {
        if !name.contains('$') {
            return name.to_string();
        }
        let mut out = name.to_string();
        let mut vars = self.vars.clone();
        vars.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
        for (k, v) in &vars {
            out = out.replace(&format!("${k}"), &v.to_string());
        }
        out
    }

    /// The fd number a reference stands for (a closed name gives the
    /// number it had).
    pub fn fd(&self, r: &FdRef) -> Result<i32, Failure> {
        match r {
            FdRef::Raw(v) => Ok(*v as i32),
            FdRef::Name(n) => {
                let n = self.resolve_name(n);
                if let Some(&fd) = self.aliases.get(&n) {
                    return Ok(fd);
                }
                lock(&self.sh.fds).number(&n).ok_or_else(|| self.error(format!("no fd named `{n}` exists at this point")))
            }
        }
    }

    /// The table entry of a live name, or a synthetic one for raw numbers.
    pub fn entry(&self, r: &FdRef) -> Result<FdEntry, Failure> {
        let fd = self.fd(r)?;
        let t = lock(&self.sh.fds);
        if let FdRef::Name(n) = r {
            let n = self.resolve_name(n);
            // An `as` alias shadows a table name of the same spelling, as
            // it does in fd().
            if !self.aliases.contains_key(&n) {
                if let Some(e) = t.names.get(&n) {
                    return Ok(*e);
                }
            }
        }
        Ok(FdEntry { fd, kind: t.kind_of_fd(fd) })
    }

    /// Deadline for a blocking control step: `within`, or the default that
    /// leaves the case time to report before its own timeout.
    pub fn deadline(&self, within: Option<Duration>) -> Instant {
        let case_limit = self.sh.case.header.timeout.mul_f64(0.8);
        let span = within.unwrap_or(case_limit.min(Duration::from_secs(5)));
        // Scaled like the case's own deadline, so a slow emulated machine
        // reports a slow step as the kernel's, not as the runner's, fault.
        Instant::now() + span.mul_f64(self.sh.timeout_scale)
    }

    pub fn tracing(&self) -> bool {
        self.sh.trace.enabled()
    }

    /// Marks the syscall this thread is about to make, for `asleep`.
    pub fn entering(&self, nr: i64) {
        if let Some(t) = &self.task {
            t.syscall.store(nr, Ordering::SeqCst);
        }
    }

    pub fn left(&self) {
        if let Some(t) = &self.task {
            t.syscall.store(-1, Ordering::SeqCst);
            t.progress.fetch_add(1, Ordering::SeqCst);
        }
    }
}

pub fn run_block(ctx: &mut Ctx, block: &Block) -> Flow {
    for stmt in block {
        if ctx.sh.stopped() {
            return Flow::Stop;
        }
        ctx.span = stmt.span;
        let flow = match &stmt.kind {
            StmtKind::Op(op) => run_op(ctx, op),
            StmtKind::Thread { name, body } => control::spawn_thread(ctx, name, body),
            StmtKind::Fork { name, body } => control::spawn_fork(ctx, name, body),
            StmtKind::Repeat(r) => run_repeat(ctx, r),
        };
        if flow == Flow::Stop {
            return Flow::Stop;
        }
    }
    Flow::Go
}

fn run_repeat(ctx: &mut Ctx, r: &Repeat) -> Flow {
    let span = ctx.span;
    let start = Instant::now();
    let (total, budget, cap) = match r.count {
        RepeatCount::Times(n) => (Some(n), None, Some(n)),
        RepeatCount::For { budget, max } => (None, Some(budget), max),
    };
    let mut i = 0u64;
    loop {
        if cap.is_some_and(|c| i >= c) || budget.is_some_and(|b| start.elapsed() >= b) {
            return Flow::Go;
        }
        if let Some(v) = &r.var {
            ctx.vars.push((v.clone(), i));
        }
        ctx.iters.push((i, total));
        let flow = run_block(ctx, &r.body);
        ctx.iters.pop();
        if r.var.is_some() {
            ctx.vars.pop();
        }
        ctx.span = span;
        if flow == Flow::Stop {
            return Flow::Stop;
        }
        if r.until.as_ref().is_some_and(|c| control::cond_holds(ctx, c)) {
            return Flow::Go;
        }
        i += 1;
    }
}

fn run_op(ctx: &mut Ctx, op: &Op) -> Flow {
    if let (Some(slot), Some(page)) = (ctx.slot, super::child::progress_page()) {
        page.slots()[slot].store(ctx.span.line, Ordering::Relaxed);
    }
    if let Some(t) = &ctx.task {
        t.line.store(ctx.span.line as u64, Ordering::Relaxed);
    }
    let started = Instant::now();
    let result = execute(ctx, &op.action);
    let elapsed = started.elapsed();
    if !matches!(op.action, Action::Took { .. }) {
        ctx.last_elapsed = elapsed;
    }
    let exec = match result {
        Ok(e) => e,
        Err(f) => {
            if ctx.tracing() {
                let failed = Exec { outcome: Outcome::Ret(0), call: Some(format!("({})", f.observed)) };
                push_trace(ctx, &failed, started, elapsed);
            }
            ctx.sh.fail(f);
            return Flow::Stop;
        }
    };
    if ctx.tracing() {
        push_trace(ctx, &exec, started, elapsed);
    }
    if let Err(f) = judge(ctx, op, &exec.outcome) {
        ctx.sh.fail(f);
        return Flow::Stop;
    }
    for c in &op.capture {
        ctx.sh.add_counter(c, exec.outcome.value());
    }
    if let Some(name) = &op.bind {
        bind_first_event(ctx, name, &exec.outcome);
    }
    Flow::Go
}

fn push_trace(ctx: &Ctx, exec: &Exec, started: Instant, elapsed: Duration) {
    let result = exec.outcome.render(&lock(&ctx.sh.fds));
    ctx.sh.trace.push(TraceEntry {
        thread: ctx.thread.clone(),
        line: ctx.span.line,
        step: ctx.sh.case.line_text(ctx.span).to_string(),
        call: exec.call.clone().unwrap_or_default(),
        result,
        start_us: ctx.sh.trace.micros_since_start(started),
        dur_us: elapsed.as_micros() as u64,
        iteration: ctx.iters.iter().map(|(i, _)| *i).collect(),
    });
}

fn execute(ctx: &mut Ctx, a: &Action) -> StepResult {
    if let Some(r) = fixtures::execute(ctx, a) {
        return r;
    }
    if let Some(r) = io_ops::execute(ctx, a) {
        return r;
    }
    if let Some(r) = calls::execute(ctx, a) {
        return r;
    }
    if let Some(r) = extra::execute(ctx, a) {
        return r;
    }
    control::execute(ctx, a)
}

/// Steps whose failure, when the case states no outcome, is a verdict on
/// epoll (FAIL) rather than a broken fixture (ERROR).
fn under_test(a: &Action) -> bool {
    matches!(
        a,
        Action::Epoll { .. } | Action::EpollCreate { .. } | Action::Ctl { .. } | Action::Wait { .. } | Action::Ioctl { .. } | Action::Poll { .. } | Action::Select { .. }
    )
}

fn mask_kind(a: &Action) -> MaskKind {
    match a {
        Action::Poll { .. } | Action::Select { .. } => MaskKind::Poll,
        _ => MaskKind::Epoll,
    }
}

/// Compares the outcome with the expectation; counts the matched
/// alternative's labels.
fn judge(ctx: &Ctx, op: &Op, o: &Outcome) -> Result<(), Failure> {
    let Some(expect) = &op.expect else {
        if let Outcome::Errno(_) = o {
            let kind = if under_test(&op.action) { FailKind::Fail } else { FailKind::Error };
            let observed = o.render(&lock(&ctx.sh.fds));
            return Err(ctx.failure(kind, "success", observed, None));
        }
        return Ok(());
    };
    let active: Vec<&Alt> = expect.alts.iter().filter(|a| a.guard.as_ref().is_none_or(|g| control::guard_holds(ctx, g))).collect();
    let ep = match &op.action {
        Action::Wait { ep, .. } => ctx.fd(ep).ok(),
        _ => None,
    };
    let resolve = |r: &FdRef| -> Option<(i32, u64)> {
        let fd = ctx.fd(r).ok()?;
        let data = ep.and_then(|e| lock(&ctx.sh.fds).registrations.get(&(e, fd)).copied()).unwrap_or(fd as u64);
        Some((fd, data))
    };
    for alt in &active {
        if super::outcome::matches(&alt.pattern, o, &resolve) {
            for l in &alt.labels {
                ctx.sh.add_counter(l, 1);
            }
            return Ok(());
        }
    }
    let mut expected = render_alts(&active, mask_kind(&op.action));
    if active.is_empty() {
        expected = "(no alternative applies to this kernel)".into();
    } else if active.len() < expect.alts.len() {
        expected.push_str(" (the alternatives for this kernel)");
    }
    let observed = o.render(&lock(&ctx.sh.fds));
    Err(ctx.failure(FailKind::Fail, expected, observed, None))
}

/// `wait ... as got`: `got` names the fd whose registration carries the
/// first event's data.
fn bind_first_event(ctx: &mut Ctx, name: &str, o: &Outcome) {
    let Outcome::Events { ep, events, .. } = o else { return };
    let Some(&(_, data)) = events.first() else { return };
    let fd = {
        let t = lock(&ctx.sh.fds);
        t.registrations.iter().filter(|((e, _), d)| e == ep && **d == data).map(|((_, fd), _)| *fd).min()
    };
    let fd = fd.unwrap_or(data as i32);
    ctx.aliases.insert(name.to_string(), fd);
}
