//! Checks that need the whole case: every name used is made somewhere,
//! threads and counters exist, `$var`s are in scope, and timing or
//! statistical cases state their false-alarm rate.

use super::error::{CaseError, ErrorSink, Span};
use super::model::*;
use std::collections::BTreeSet;

pub(crate) fn validate(sink: &ErrorSink<'_>, case: &Case) -> Result<(), CaseError> {
    let h = &case.header;
    if h.man.is_empty() && h.links.is_empty() {
        return Err(sink.at(
            h.span_of("title").unwrap_or(Span::new(1, 1)),
            "missing `# man:` or `# link:` header (a case names the documentation it checks)",
        ));
    }
    check_variants(sink, case)?;
    let mut defs = Defs { axes: h.variants.clone(), ..Defs::default() };
    collect(&case.body, &mut defs);
    let mut scope = Vec::new();
    walk(sink, &case.body, &defs, &mut scope)?;
    if defs.timing.is_some() && h.stat.is_none() {
        let (what, span) = defs.timing.clone().expect("checked");
        return Err(sink.at(span, format!("{what} makes this a timing or statistical case: add a `# stat:` header that states its window and false-alarm rate")));
    }
    Ok(())
}

fn check_variants(sink: &ErrorSink<'_>, case: &Case) -> Result<(), CaseError> {
    for axis in &case.header.variants {
        if axis.name == "wait" {
            for (_, v) in &axis.values {
                if !matches!(v.as_str(), "epoll_wait" | "epoll_pwait" | "epoll_pwait2") {
                    return Err(sink.at(axis.span, format!("the `wait` axis takes epoll_wait, epoll_pwait or epoll_pwait2, not `{v}`")));
                }
            }
            continue;
        }
        let used = sink.lines.iter().any(|l| !l.trim_start().starts_with('#') && l.contains(&format!("${}", axis.name)));
        if !used {
            return Err(sink.at(axis.span, format!("variant axis `{}` is never used (write ${} in a step)", axis.name, axis.name)));
        }
    }
    Ok(())
}

#[derive(Default)]
struct Defs {
    fds: BTreeSet<String>,
    /// Names that only exist with an end: `p` for `p.r`/`p.w`.
    paired: BTreeSet<String>,
    tasks: BTreeSet<String>,
    counters: BTreeSet<String>,
    timing: Option<(String, Span)>,
    axes: Vec<super::header::VariantAxis>,
}

fn ends(a: &Action) -> Option<(&str, &'static [&'static str])> {
    Some(match a {
        Action::Pipe { name, .. } | Action::Fifo { name } => (name, &["r", "w"]),
        Action::Source { name, .. } => (name, &["r", "w"]),
        Action::SocketPair { name, .. } => (name, &["a", "b"]),
        Action::Pty { name } => (name, &["m", "s"]),
        _ => return None,
    })
}

fn single_def(a: &Action) -> Option<&str> {
    Some(match a {
        Action::Epoll { name, .. }
        | Action::EpollCreate { name, .. }
        | Action::Socket { name, .. }
        | Action::EventFd { name, .. }
        | Action::TimerFd { name, .. }
        | Action::SignalFd { name, .. }
        | Action::File { name, .. }
        | Action::Dir { name, .. }
        | Action::Open { name, .. }
        | Action::Inotify { name }
        | Action::Memfd { name }
        | Action::Dup { new: name, .. }
        | Action::Dup2 { new: name, .. }
        | Action::Accept { new: name, .. }
        | Action::Pidfd { name, .. }
        | Action::RecvFd { new: name, .. } => name,
        _ => return None,
    })
}

fn collect(block: &Block, d: &mut Defs) {
    for stmt in block {
        match &stmt.kind {
            StmtKind::Op(op) => collect_op(op, stmt.span, d),
            StmtKind::Thread { name, body } | StmtKind::Fork { name, body } => {
                d.tasks.insert(name.clone());
                collect(body, d);
            }
            StmtKind::Repeat(r) => {
                if matches!(r.count, RepeatCount::For { .. }) && d.timing.is_none() {
                    d.timing = Some(("`repeat for` (a time budget)".into(), stmt.span));
                }
                collect(&r.body, d);
            }
        }
    }
}

fn collect_op(op: &Op, span: Span, d: &mut Defs) {
    if let Some((base, list)) = ends(&op.action) {
        d.paired.insert(base.to_string());
        for e in list {
            d.fds.insert(format!("{base}.{e}"));
        }
    }
    if let Some(n) = single_def(&op.action) {
        d.fds.insert(n.to_string());
    }
    if let Some(b) = &op.bind {
        d.fds.insert(b.clone());
    }
    for c in &op.capture {
        d.counters.insert(c.clone());
    }
    for alt in op.expect.iter().flat_map(|e| &e.alts) {
        d.counters.extend(alt.labels.iter().cloned());
    }
    match &op.action {
        Action::Reset { counters } => d.counters.extend(counters.iter().cloned()),
        Action::Awake { .. } if d.timing.is_none() => d.timing = Some(("`awake` (a quiescence window)".into(), span)),
        Action::Check(Check::Uniform { .. }) if d.timing.is_none() => d.timing = Some(("`check ... uniform`".into(), span)),
        _ => {}
    }
}

fn walk(sink: &ErrorSink<'_>, block: &Block, d: &Defs, scope: &mut Vec<String>) -> Result<(), CaseError> {
    for stmt in block {
        match &stmt.kind {
            StmtKind::Op(op) => check_op(sink, op, stmt.span, d, scope)?,
            StmtKind::Thread { body, .. } | StmtKind::Fork { body, .. } => walk(sink, body, d, scope)?,
            StmtKind::Repeat(r) => {
                if let Some(c) = &r.until {
                    check_cond(sink, c, stmt.span, d)?;
                }
                if let Some(v) = r.var.as_ref().filter(|v| scope.contains(v)) {
                    // Names like p$i.r and masks would disagree about which
                    // loop's value $i means.
                    return Err(sink.at(stmt.span, format!("loop variable `{v}` is already bound by an enclosing repeat: give this loop another name")));
                }
                scope.extend(r.var.clone());
                walk(sink, &r.body, d, scope)?;
                if r.var.is_some() {
                    scope.pop();
                }
            }
        }
    }
    Ok(())
}

fn check_guards(sink: &ErrorSink<'_>, op: &Op, span: Span, axes: &[super::header::VariantAxis]) -> Result<(), CaseError> {
    for alt in op.expect.iter().flat_map(|e| &e.alts) {
        let guards: Vec<&Guard> = match &alt.guard {
            Some(Guard::All(gs)) => gs.iter().collect(),
            Some(g) => vec![g],
            None => vec![],
        };
        for g in guards {
        if let Guard::Variant { axis, label, .. } = g {
            let Some(a) = axes.iter().find(|a| &a.name == axis) else {
                return Err(sink.at(alt.span, format!("`if {axis}={label}`: no variant axis `{axis}` (and not a known probe)")));
            };
            if !a.values.iter().any(|(l, _)| l == label) {
                let labels: Vec<&str> = a.values.iter().map(|(l, _)| l.as_str()).collect();
                return Err(sink.at(alt.span, format!("`if {axis}={label}`: the axis `{axis}` has no label `{label}` (labels: {})", labels.join(", "))));
            }
        }
        }
    }
    let _ = span;
    Ok(())
}

fn check_op(sink: &ErrorSink<'_>, op: &Op, span: Span, d: &Defs, scope: &[String]) -> Result<(), CaseError> {
    check_guards(sink, op, span, &d.axes)?;
    if let Action::Ctl { vars, .. } = &op.action {
        for v in vars.events.iter().chain(vars.data.iter()) {
            if !scope.contains(v) {
                return Err(sink.at(span, format!("`${v}` is not an enclosing `repeat ... as {v}`")));
            }
        }
    }
    for name in bound_names(&op.action).into_iter().chain(op.bind.as_deref()) {
        check_vars(sink, name, span, scope)?;
    }
    for fd in fd_refs(&op.action).into_iter().chain(expected_fds(op)) {
        if let FdRef::Name(n) = fd {
            check_vars(sink, n, span, scope)?;
            check_fd(sink, n, span, d)?;
        }
    }
    match &op.action {
        Action::Pidfd { child, .. } if !d.tasks.iter().any(|t| template_matches(t, child)) => {
            return Err(sink.at(span, format!("no fork named `{child}` in this case")));
        }
        Action::Asleep { names } | Action::Awake { names, .. } | Action::Interrupt { names } | Action::Join { names, .. } => {
            for n in names {
                if !d.tasks.iter().any(|t| template_matches(t, n)) {
                    return Err(sink.at(span, format!("no thread or fork named `{n}` in this case")));
                }
            }
        }
        Action::Kill { target: KillTarget::Thread(n), .. } if n != "main" && !d.tasks.iter().any(|t| template_matches(t, n)) => {
            return Err(sink.at(span, format!("no thread or fork named `{n}` to signal (or write `self`)")));
        }
        Action::Check(Check::Compare(c)) => check_cond(sink, c, span, d)?,
        Action::Check(Check::Uniform { counters, .. }) | Action::Report { counters } => {
            for c in counters {
                check_counter(sink, c, span, d)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn check_cond(sink: &ErrorSink<'_>, c: &Cond, span: Span, d: &Defs) -> Result<(), CaseError> {
    let rhs: &[String] = match &c.rhs {
        Operand::Sum(s) => s,
        Operand::Int(_) => &[],
    };
    for name in c.lhs.iter().chain(rhs) {
        check_counter(sink, name, span, d)?;
    }
    Ok(())
}

fn check_counter(sink: &ErrorSink<'_>, name: &str, span: Span, d: &Defs) -> Result<(), CaseError> {
    if d.counters.contains(name) {
        return Ok(());
    }
    Err(sink.at(span, format!("counter `{name}` is never counted (label an outcome with @{name}, capture with -> {name}, or reset it)")))
}

fn check_fd(sink: &ErrorSink<'_>, name: &str, span: Span, d: &Defs) -> Result<(), CaseError> {
    if d.fds.iter().any(|f| template_matches(f, name)) {
        return Ok(());
    }
    if d.paired.contains(name) {
        let ends: Vec<&String> = d.fds.iter().filter(|f| f.starts_with(&format!("{name}."))).collect();
        let list: Vec<&str> = ends.iter().map(|s| s.as_str()).collect();
        return Err(sink.at(span, format!("`{name}` has two ends: name one of {}", list.join(" or "))));
    }
    Err(sink.at(span, format!("no fd named `{name}` is made anywhere in this case")))
}

fn check_vars(sink: &ErrorSink<'_>, name: &str, span: Span, scope: &[String]) -> Result<(), CaseError> {
    let mut rest = name;
    while let Some(i) = rest.find('$') {
        let var: String = rest[i + 1..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !scope.contains(&var) {
            return Err(sink.at(span, format!("`${var}` in `{name}` is not a variant axis or an enclosing `repeat ... as {var}`")));
        }
        rest = &rest[i + 1 + var.len()..];
    }
    Ok(())
}

fn bound_names(a: &Action) -> Vec<&str> {
    ends(a).map(|(b, _)| b).into_iter().chain(single_def(a)).collect()
}

/// Every fd an action reads (not the ones it binds).
pub(crate) fn fd_refs(a: &Action) -> Vec<&FdRef> {
    match a {
        Action::Dup { old, .. } | Action::Dup2 { old, .. } => vec![old],
        Action::Close { fd }
        | Action::SetSockOpt { fd, .. }
        | Action::Listen { fd, .. }
        | Action::Shutdown { fd, .. }
        | Action::Send { fd, .. }
        | Action::Recv { fd, .. }
        | Action::Write { fd, .. }
        | Action::Read { fd, .. }
        | Action::Fill { fd }
        | Action::Drain { fd }
        | Action::Nonblock { fd, .. }
        | Action::Arm { fd, .. }
        | Action::GetFd { fd }
        | Action::Ioctl { fd, .. }
        | Action::Claim { fd }
        | Action::Release { fd }
        | Action::Watch { fd } => vec![fd],
        Action::Fdinfo { ep, fd } | Action::Kcmp { ep, fd } => vec![ep, fd],
        Action::SendFd { sock, fd } => vec![sock, fd],
        Action::RecvFd { sock, .. } => vec![sock],
        Action::Bind { fd, addr } | Action::Connect { fd, addr } => match addr {
            Addr::Of(other) => vec![fd, other],
            Addr::Literal(_) => vec![fd],
        },
        Action::Accept { listener, .. } => vec![listener],
        Action::Ctl { ep, fd, .. } => vec![ep, fd],
        Action::Wait { ep, .. } => vec![ep],
        Action::Poll { fds, .. } => fds.iter().map(|(f, _)| f).collect(),
        Action::Select { read, write, except, .. } => read.iter().chain(write).chain(except).collect(),
        _ => vec![],
    }
}

fn expected_fds(op: &Op) -> Vec<&FdRef> {
    let mut out = Vec::new();
    for alt in op.expect.iter().flat_map(|e| &e.alts) {
        if let Pattern::Events(evs) = &alt.pattern {
            out.extend(evs.iter().map(|e| &e.fd));
        }
    }
    out
}

/// Whether a defined name (possibly with `$var` parts, which stand for
/// loop indexes) can be the used name: `w$t` covers `w0`, `w$t` and `w$u`.
fn template_matches(def: &str, used: &str) -> bool {
    if def == used {
        return true;
    }
    let Some(i) = def.find('$') else { return false };
    if !used.starts_with(&def[..i]) {
        return false;
    }
    let rest_def = &def[i + 1..];
    let var_len = rest_def.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').count();
    let after = &rest_def[var_len..];
    let used_rest = &used[i..];
    // The used name may itself hold a `$var` here, or a run of digits.
    let taken = if let Some(v) = used_rest.strip_prefix('$') {
        1 + v.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').count()
    } else {
        used_rest.chars().take_while(|c| c.is_ascii_digit()).count()
    };
    taken > 0 && (1..=taken).any(|n| template_matches(after, &used_rest[n..]))
}

#[cfg(test)]
mod tests {
    use super::template_matches;

    #[test]
    fn templates_cover_loop_names() {
        assert!(template_matches("w$t", "w0"));
        assert!(template_matches("w$t", "w12"));
        assert!(template_matches("w$t", "w$u"));
        assert!(template_matches("p$i.r", "p3.r"));
        assert!(!template_matches("p$i.r", "p3.w"));
        assert!(!template_matches("w$t", "w"));
        assert!(!template_matches("w$t", "x0"));
    }
}
