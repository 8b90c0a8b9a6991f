//! Statements: each step as a short block under a comment that quotes it
//! with its `path:line`; `thread` and `fork` blocks as functions of their
//! own; `repeat` as a `for` loop over the runtime's loop state.

use super::cwrite::{Out, comment_text, cstr, ident};
use super::expect::{cond_expr, expect_text};
use super::{ExportError, calls, steps};
use crate::case::Span;
use crate::case::model::{Action, Block, Case, Op, Repeat, RepeatCount, StmtKind};
use crate::names::MaskKind;
use std::collections::HashSet;

/// Where a step is rendered.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub case: &'a Case,
    pub line: u32,
    /// On a case thread, whose calls `asleep` and `awake` watch.
    pub in_thread: bool,
}

pub type Emitted = Result<(), ExportError>;

pub struct Gen<'a> {
    case: &'a Case,
    funcs: Vec<String>,
    taken: HashSet<String>,
}

impl<'a> Gen<'a> {
    pub fn new(case: &'a Case) -> Gen<'a> {
        Gen { case, funcs: Vec::new(), taken: HashSet::new() }
    }

    /// The thread and fork functions made so far, innermost first.
    pub fn functions(&self) -> &[String] {
        &self.funcs
    }

    /// `static void NAME(struct ec_ctx *cx) { ... }` running `body`.
    pub fn function(&mut self, name: &str, body: &Block, in_thread: bool) -> Result<String, ExportError> {
        let mut o = Out::new(1);
        if has_steps(body) {
            o.line("struct ec_outcome o;");
            o.blank();
        }
        self.block(&mut o, body, in_thread)?;
        if body.is_empty() {
            o.line("(void)cx;");
        }
        Ok(format!("static void {name}(struct ec_ctx *cx)\n{{\n{}}}\n", o.finish()))
    }

    fn block(&mut self, o: &mut Out, body: &Block, in_thread: bool) -> Emitted {
        for (i, s) in body.iter().enumerate() {
            if i > 0 {
                o.blank();
            }
            let line = s.span.line;
            let text = self.case.line_text(s.span);
            o.line(format!("/* {}:{line}: {} */", self.case.path.display(), comment_text(text)));
            match &s.kind {
                StmtKind::Op(op) => self.op(o, op, line, in_thread)?,
                StmtKind::Thread { name, body } => self.task(o, "thread", name, body, s.span)?,
                StmtKind::Fork { name, body } => self.task(o, "fork", name, body, s.span)?,
                StmtKind::Repeat(r) => self.repeat(o, r, line, in_thread)?,
            }
        }
        Ok(())
    }

    /// A thread or fork block: its body becomes a function, started here.
    fn task(&mut self, o: &mut Out, kind: &str, name: &str, body: &Block, span: Span) -> Emitted {
        let mut f = format!("{kind}_{}_{}", ident(name), span.line);
        if !self.taken.insert(f.clone()) {
            f = format!("{f}_{}", span.col);
            self.taken.insert(f.clone());
        }
        // A fork's child carries on as the thread that forked: the main one.
        let text = self.function(&f, body, kind == "thread")?;
        self.funcs.push(text);
        o.line(format!("BLOCK({});", span.line));
        o.line(format!("{}({}, {f});", if kind == "thread" { "SPAWN" } else { "FORK" }, cstr(name)));
        Ok(())
    }

    fn repeat(&mut self, o: &mut Out, r: &Repeat, line: u32, in_thread: bool) -> Emitted {
        let var = r.var.as_deref().map(cstr).unwrap_or_else(|| "NULL".into());
        let init = match r.count {
            RepeatCount::Times(n) => format!("ec_times(cx, {n}, {var})"),
            RepeatCount::For { budget, max } => {
                let max = max.map(|m| m.to_string()).unwrap_or_else(|| "-1".into());
                format!("ec_for(cx, {}LL, {max}, {var})", budget.as_nanos())
            }
        };
        let until = r.until.as_ref().map(cond_expr).unwrap_or_else(|| "0".into());
        let l = format!("loop{line}");
        o.line(format!("BLOCK({line});"));
        o.open(format!("for (struct ec_loop {l} = {init}; ec_next(cx, &{l}); ec_again(cx, &{l}, {until}))"));
        self.block(o, &r.body, in_thread)?;
        o.close();
        Ok(())
    }

    /// A step: its action (which leaves its outcome in `o`), then what it
    /// must return, the counters it feeds and the name it binds.
    fn op(&mut self, o: &mut Out, op: &Op, line: u32, in_thread: bool) -> Emitted {
        let env = Env { case: self.case, line, in_thread };
        o.line(format!("STEP({line});"));
        if !calls::emit(o, &op.action, &env) {
            steps::emit(o, &op.action, &env)?;
        }
        match &op.expect {
            Some(e) => o.line(format!("EXPECT({});", cstr(&expect_text(e, mask_kind(&op.action), line)?))),
            None if !never_errno(&op.action) && under_test(&op.action) => o.line("EXPECT_SUCCESS();"),
            None if !never_errno(&op.action) => o.line("FIXTURE_OK();"),
            None => {}
        }
        for c in &op.capture {
            o.line(format!("CAPTURE({});", cstr(c)));
        }
        if let Some(b) = &op.bind {
            o.line(format!("BIND({});", cstr(b)));
        }
        Ok(())
    }
}

/// Whether a block (not counting thread and fork bodies) has steps.
fn has_steps(body: &Block) -> bool {
    body.iter().any(|s| match &s.kind {
        StmtKind::Op(_) => true,
        StmtKind::Repeat(r) => has_steps(&r.body),
        StmtKind::Thread { .. } | StmtKind::Fork { .. } => false,
    })
}

/// Steps whose failure, when the case states no outcome, is a verdict on
/// epoll (FAIL) rather than a broken fixture (ERROR).
fn under_test(a: &Action) -> bool {
    matches!(
        a,
        Action::Epoll { .. } | Action::EpollCreate { .. } | Action::Ctl { .. } | Action::Wait { .. } | Action::Ioctl { .. } | Action::Poll { .. } | Action::Select { .. }
    )
}

/// Steps whose outcome is never an errno (they succeed or stop the case).
fn never_errno(a: &Action) -> bool {
    matches!(
        a,
        Action::Pipe { .. }
            | Action::Fifo { .. }
            | Action::SocketPair { .. }
            | Action::Pty { .. }
            | Action::Source { .. }
            | Action::Handled { .. }
            | Action::Asleep { .. }
            | Action::Awake { .. }
            | Action::Interrupt { .. }
            | Action::Join { .. }
            | Action::Yield
            | Action::Dice { .. }
            | Action::Claim { .. }
            | Action::Release { .. }
            | Action::Reset { .. }
            | Action::Check(_)
            | Action::Report { .. }
            | Action::Took { .. }
    )
}

fn mask_kind(a: &Action) -> MaskKind {
    match a {
        Action::Poll { .. } | Action::Select { .. } => MaskKind::Poll,
        _ => MaskKind::Epoll,
    }
}
