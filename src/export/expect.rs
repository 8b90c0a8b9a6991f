//! What a step must return, as the text the runtime reads back: the
//! expectation after `=>` with every flag and errno by name, variant
//! values substituted, and guards written out in full.
//!
//! ```text
//! p.r EPOLLIN data=7, p.w ~EPOLLOUT or EINTR if kernel>=6.9.0&&!root @late
//! ```

use super::ExportError;
use crate::case::model::{Alt, Cond, EventPat, Expect, FdRef, Guard, Operand, Pattern};
use crate::names::{self, MaskKind};

/// The expectation text for the runtime's `EXPECT`.
pub fn expect_text(e: &Expect, kind: MaskKind, line: u32) -> Result<String, ExportError> {
    let alts: Result<Vec<String>, ExportError> = e.alts.iter().map(|a| alt_text(a, kind, line)).collect();
    Ok(alts?.join(" or "))
}

fn alt_text(a: &Alt, kind: MaskKind, line: u32) -> Result<String, ExportError> {
    let mut s = pattern_text(&a.pattern, kind, line)?;
    if let Some(g) = &a.guard {
        s.push_str(" if ");
        s.push_str(&guard_text(g));
    }
    for l in &a.labels {
        s.push_str(" @");
        s.push_str(l);
    }
    Ok(s)
}

fn pattern_text(p: &Pattern, kind: MaskKind, line: u32) -> Result<String, ExportError> {
    Ok(match p {
        Pattern::Ok => "ok".into(),
        Pattern::Any => "any".into(),
        Pattern::None => "none".into(),
        Pattern::Errno(e) => match names::errno_name_opt(*e) {
            Some(n) => n.to_string(),
            None => return Err(ExportError::new(line, &format!("errno {e}"), "the runtime knows errnos by name only")),
        },
        Pattern::Int(n) => n.to_string(),
        Pattern::EventCount(n) => format!("{n} events"),
        Pattern::Fields(f) => f.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "),
        Pattern::Events(evs) => evs.iter().map(|e| event_text(e, kind)).collect::<Vec<_>>().join(", "),
    })
}

fn event_text(e: &EventPat, kind: MaskKind) -> String {
    let fd = match &e.fd {
        FdRef::Name(n) => n.clone(),
        FdRef::Raw(v) => v.to_string(),
    };
    let tilde = if e.at_least { "~" } else { "" };
    let data = e.data.map(|d| format!(" data={d}")).unwrap_or_default();
    format!("{fd} {tilde}{}{data}", names::mask_name(kind, e.mask))
}

/// `kernel>=6.9.0`, `!syscall=epoll_create`, `mode=et`, joined by `&&`.
fn guard_text(g: &Guard) -> String {
    let not = |negate: bool| if negate { "!" } else { "" };
    match g {
        Guard::Kernel { op, version } => format!("kernel{}{version}", op.symbol()),
        Guard::Probe { probe, negate } => format!("{}{probe}", not(*negate)),
        Guard::Variant { axis, label, negate } => format!("{}{axis}={label}", not(*negate)),
        Guard::All(gs) => gs.iter().map(guard_text).collect::<Vec<_>>().join("&&"),
    }
}

/// A condition on counters as a C expression: `COUNTER("a") + COUNTER("b") >= 100`.
pub fn cond_expr(c: &Cond) -> String {
    let rhs = match &c.rhs {
        Operand::Int(v) => super::cwrite::c_i64(*v),
        Operand::Sum(s) => sum_expr(s),
    };
    format!("{} {} {rhs}", sum_expr(&c.lhs), c.op.symbol())
}

fn sum_expr(names: &[String]) -> String {
    names.iter().map(|n| format!("COUNTER({})", super::cwrite::cstr(n))).collect::<Vec<_>>().join(" + ")
}

/// The condition as the case wrote it, for failure messages: `a+b >= 100`.
pub fn cond_text(c: &Cond) -> String {
    let rhs = match &c.rhs {
        Operand::Int(v) => v.to_string(),
        Operand::Sum(s) => s.join("+"),
    };
    format!("{} {} {rhs}", c.lhs.join("+"), c.op.symbol())
}

/// The counters a condition reads, left then right, for failure messages.
pub fn cond_counters(c: &Cond) -> Vec<String> {
    let mut v = c.lhs.clone();
    if let Operand::Sum(s) = &c.rhs {
        v.extend(s.iter().cloned());
    }
    v
}
