//! The part of a step after `=>`: what the kernel must return.
//!
//! ```text
//! expect := alt ("or" alt)*
//! alt    := pattern ["if" guard] ("@" counter)*
//! pattern:= ok | any | none | ERRNO | INT [events] | key=INT... | event ("," event)*
//! event  := FD ["~"]MASK [data=N]
//! ```

use super::error::{CaseError, ErrorSink, Span};
use super::header::{KVersion, Probe};
use super::lex::{Tok, Token};
use super::model::*;
use super::parse::{is_fd_name, is_ident};
use crate::names::{self, MaskKind};

pub(crate) fn parse_expect(sink: &ErrorSink<'_>, action: &Action, toks: &[Token]) -> Result<Expect, CaseError> {
    let mut alts = Vec::new();
    for part in toks.split(|t| t.word() == Some("or")) {
        let Some(first) = part.first() else {
            let at = toks.iter().find(|t| t.word() == Some("or")).map(|t| t.span).unwrap_or_default();
            return Err(sink.at(at, "empty alternative around `or`"));
        };
        alts.push(parse_alt(sink, action, part, first.span)?);
    }
    Ok(Expect { alts })
}

fn parse_alt(sink: &ErrorSink<'_>, action: &Action, toks: &[Token], span: Span) -> Result<Alt, CaseError> {
    let tail = toks
        .iter()
        .position(|t| t.word().is_some_and(|w| w == "if" || w.starts_with('@')))
        .unwrap_or(toks.len());
    let pattern = parse_pattern(sink, action, &toks[..tail], span)?;
    let mut labels = Vec::new();
    let mut guard = None;
    let mut i = tail;
    while i < toks.len() {
        let w = toks[i].word().unwrap_or("");
        if let Some(label) = w.strip_prefix('@') {
            if !is_ident(label) {
                return Err(sink.at(toks[i].span, format!("bad counter label `{w}` (write @name)")));
            }
            labels.push(label.to_string());
            i += 1;
        } else if w == "if" {
            let end = toks[i + 1..].iter().position(|t| t.word().is_some_and(|w| w.starts_with('@'))).map_or(toks.len(), |p| i + 1 + p);
            guard = Some(parse_guard(sink, &toks[i + 1..end], toks[i].span)?);
            i = end;
        } else {
            return Err(sink.at(toks[i].span, format!("unexpected {} after the outcome (expected `@counter`, `if` or `or`)", toks[i].describe())));
        }
    }
    check_fits(sink, action, &pattern, span)?;
    Ok(Alt { pattern, guard, labels, span })
}

fn parse_pattern(sink: &ErrorSink<'_>, action: &Action, toks: &[Token], span: Span) -> Result<Pattern, CaseError> {
    let words: Vec<Option<&str>> = toks.iter().map(|t| t.word()).collect();
    let Some(Some(first)) = words.first().copied() else {
        return Err(sink.at(span, "expected an outcome (ok, any, none, an errno, a number or events)"));
    };
    if toks.len() == 1 {
        match first {
            "ok" => return Ok(Pattern::Ok),
            "any" => return Ok(Pattern::Any),
            "none" => return Ok(Pattern::None),
            _ => {}
        }
        if let Some(e) = names::parse_errno(first) {
            return Ok(Pattern::Errno(e));
        }
        if first.starts_with('E') && first.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(sink.at(span, format!("unknown errno `{first}`")));
        }
    }
    // Values from 2^63 up (an eventfd near its maximum) read back as the
    // same 64 bits, so they are compared as two's complement.
    if let Some(n) = names::parse_i64(first).or_else(|| names::parse_u64(first).map(|u| u as i64)) {
        return match (toks.len(), words.get(1).copied().flatten()) {
            (1, _) => Ok(Pattern::Int(n)),
            (2, Some("events" | "event")) if n >= 0 => Ok(Pattern::EventCount(n as u64)),
            _ => Err(sink.at(toks[1].span, format!("unexpected {} after the number (only `events` may follow)", toks[1].describe()))),
        };
    }
    if let Some((k, _)) = first.split_once('=') {
        if is_ident(k) && !is_fd_name(first) {
            return parse_fields(sink, toks);
        }
    }
    parse_events(sink, action, toks)
}

fn parse_fields(sink: &ErrorSink<'_>, toks: &[Token]) -> Result<Pattern, CaseError> {
    let mut fields = Vec::new();
    for t in toks {
        let w = t.word().unwrap_or("");
        let parsed = w.split_once('=').and_then(|(k, v)| Some((k.to_string(), names::parse_i64(v)?)));
        match parsed {
            Some(f) => fields.push(f),
            None => return Err(sink.at(t.span, format!("expected `field=NUMBER`, found {}", t.describe()))),
        }
    }
    Ok(Pattern::Fields(fields))
}

fn parse_events(sink: &ErrorSink<'_>, action: &Action, toks: &[Token]) -> Result<Pattern, CaseError> {
    let kind = match action {
        Action::Poll { .. } | Action::Select { .. } => MaskKind::Poll,
        _ => MaskKind::Epoll,
    };
    let mut out = Vec::new();
    for group in toks.split(|t| t.tok == Tok::Comma) {
        let Some(fd_tok) = group.first() else {
            let at = toks.iter().find(|t| t.tok == Tok::Comma).map(|t| t.span).unwrap_or_default();
            return Err(sink.at(at, "empty event between commas"));
        };
        let fd_word = fd_tok.word().unwrap_or("");
        let fd = match names::parse_i64(fd_word) {
            Some(v) => FdRef::Raw(v),
            None if is_fd_name(fd_word) => FdRef::Name(fd_word.to_string()),
            None => return Err(sink.at(fd_tok.span, format!("expected an outcome (ok, any, none, an errno, a number, or events such as `p.r IN`), found {}", fd_tok.describe()))),
        };
        let Some(mask_tok) = group.get(1) else {
            return Err(sink.at(fd_tok.span, format!("missing event mask after `{fd_word}` (e.g. `{fd_word} IN`)")));
        };
        let mask_word = mask_tok.word().unwrap_or("");
        let (at_least, mask_text) = match mask_word.strip_prefix('~') {
            Some(m) => (true, m),
            None => (false, mask_word),
        };
        let mask = names::parse_mask_at(kind, mask_text).map_err(|(at, m)| sink.at(mask_tok.span.shift(at + usize::from(at_least)), m))?;
        let mut data = None;
        for t in &group[2..] {
            match t.word().and_then(|w| w.strip_prefix("data=")) {
                Some(v) if data.is_none() => {
                    data = Some(names::parse_u64(v).ok_or_else(|| sink.at(t.span, format!("bad data value `{v}`")))?);
                }
                _ => return Err(sink.at(t.span, format!("unexpected {} in an event (expected `data=N` or `,`)", t.describe()))),
            }
        }
        out.push(EventPat { fd, mask, at_least, data });
    }
    Ok(Pattern::Events(out))
}

fn parse_guard(sink: &ErrorSink<'_>, toks: &[Token], at: Span) -> Result<Guard, CaseError> {
    let text: String = toks.iter().filter_map(|t| t.word()).collect::<Vec<_>>().join("");
    if text.contains("&&") {
        let span = toks.first().map(|t| t.span).unwrap_or(at);
        let parts: Result<Vec<Guard>, CaseError> = text.split("&&").map(|part| parse_one_guard(sink, part, span, at)).collect();
        return parts.map(Guard::All);
    }
    let span = toks.first().map(|t| t.span).unwrap_or(at);
    parse_one_guard(sink, &text, span, at)
}

fn parse_one_guard(sink: &ErrorSink<'_>, text: &str, span: Span, at: Span) -> Result<Guard, CaseError> {
    let text = text.to_string();
    if text.is_empty() {
        return Err(sink.at(at, "expected a condition after `if` (e.g. kernel>=6.9 or syscall=epoll_pwait2)"));
    }
    if let Some(rest) = text.strip_prefix("kernel") {
        let ops = [">=", "<=", "==", "!=", ">", "<"];
        let Some(op) = ops.iter().find(|o| rest.starts_with(**o)) else {
            return Err(sink.at(span, format!("expected a comparison after `kernel` in `{text}` (e.g. kernel>=6.9)")));
        };
        let version = KVersion::parse_exact(&rest[op.len()..])
            .ok_or_else(|| sink.at(span, format!("bad kernel version `{}` (e.g. 6.9 or 5.10.56)", &rest[op.len()..])))?;
        return Ok(Guard::Kernel { op: CmpOp::parse(op).expect("listed op"), version });
    }
    let (negate, word) = match text.strip_prefix('!') {
        Some(w) => (true, w),
        None => (false, text.as_str()),
    };
    match Probe::parse(word) {
        Ok(probe) => Ok(Guard::Probe { probe, negate }),
        // `axis=label` names a variant; validation checks the axis exists.
        Err(m) => match word.split_once('=') {
            Some((axis, label)) if is_ident(axis) && is_ident(label) && !super::header::PROBE_KEYS.contains(&axis) => {
                Ok(Guard::Variant { axis: axis.to_string(), label: label.to_string(), negate })
            }
            _ => Err(sink.at(span, m)),
        },
    }
}

/// Rejects outcomes a step can never produce, so that a typo fails at
/// parse time instead of as a confusing FAIL.
fn check_fits(sink: &ErrorSink<'_>, action: &Action, p: &Pattern, span: Span) -> Result<(), CaseError> {
    let waits = matches!(action, Action::Wait { .. } | Action::Poll { .. } | Action::Select { .. });
    let msg = match p {
        Pattern::Events(_) | Pattern::EventCount(_) if !waits => "events can only be expected from wait, poll or select",
        Pattern::None if !waits => "`none` means no events: it fits wait, poll or select (use 0 for a zero result)",
        Pattern::Fields(_) if !matches!(action, Action::Ioctl { req: IoctlReq::GetParams, .. } | Action::Fdinfo { .. }) => {
            "fields (`name=N`) can only be expected from `ioctl FD EPIOCGPARAMS` or `fdinfo`"
        }
        Pattern::Errno(_) if no_errno(action) => "this step does not fail with an errno",
        _ => return Ok(()),
    };
    Err(sink.at(span, msg))
}

fn no_errno(a: &Action) -> bool {
    matches!(
        a,
        Action::Asleep { .. }
            | Action::Awake { .. }
            | Action::Join { .. }
            | Action::Reset { .. }
            | Action::Check(_)
            | Action::Report { .. }
            | Action::Claim { .. }
            | Action::Release { .. }
            | Action::Yield
            | Action::Handled { .. }
            | Action::Took { .. }
            | Action::Dice { .. }
    )
}
