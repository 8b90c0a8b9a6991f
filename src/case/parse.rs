//! Turns the tokens of a case body into a tree of steps.

use super::error::{CaseError, ErrorSink, Span};
use super::expect::parse_expect;
use super::header::parse_header;
use super::lex::{Tok, Token, lex};
use super::model::*;
use super::verbs::{parse_action, parse_cond};
use std::path::Path;
use std::time::Duration;

/// Parses one variant of a case file. `variant` lists `(axis, label, value)`.
pub fn parse_case(path: &Path, text: &str, variant: &[VariantValue]) -> Result<Case, CaseError> {
    let lines: Vec<&str> = text.lines().collect();
    let sink = ErrorSink { path, lines: &lines };
    let (header, body_start) = parse_header(&sink)?;
    let subst: Vec<(String, String)> = variant.iter().map(|v| (v.axis.clone(), v.value.clone())).collect();
    let tokens = lex(&sink, body_start, &subst)?;
    let mut p = Parser { sink: &sink, toks: &tokens, pos: 0, depth: 0 };
    let body = p.block(None)?;
    let case = Case {
        path: path.to_path_buf(),
        header,
        variant: variant.to_vec(),
        body,
        lines: lines.iter().map(|l| l.to_string()).collect(),
    };
    super::validate::validate(&sink, &case)?;
    Ok(case)
}

/// Blocks nest at most this deep: enough for any real case, and a bound
/// that keeps the recursive parser (and interpreter) off the stack limit
/// whatever a file holds.
pub const MAX_DEPTH: usize = 16;

/// A `repeat N` above this is almost certainly a typo; a long-running loop
/// says `repeat for DURATION max N` instead.
pub const MAX_REPEAT: u64 = 10_000_000;

struct Parser<'a> {
    sink: &'a ErrorSink<'a>,
    toks: &'a [Token],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    /// Parses steps until the matching `}` (when `open` is the span of a
    /// `{`) or the end of the file.
    fn block(&mut self, open: Option<Span>) -> Result<Block, CaseError> {
        let mut out = Vec::new();
        loop {
            let Some(t) = self.peek() else {
                return match open {
                    Some(s) => Err(self.sink.at(s, "this `{` is never closed (expected a `}`)")),
                    None => Ok(out),
                };
            };
            match t.tok {
                Tok::Newline | Tok::Semi => self.pos += 1,
                Tok::RBrace if open.is_some() => {
                    self.pos += 1;
                    return Ok(out);
                }
                Tok::RBrace => return Err(self.sink.at(t.span, "unexpected `}` (no block is open)")),
                _ => out.push(self.stmt()?),
            }
        }
    }

    /// One step, or a block statement with its body.
    fn stmt(&mut self) -> Result<Stmt, CaseError> {
        let start = self.pos;
        while let Some(t) = self.peek() {
            if matches!(t.tok, Tok::Newline | Tok::Semi | Tok::RBrace | Tok::LBrace) {
                break;
            }
            self.pos += 1;
        }
        let head = &self.toks[start..self.pos];
        let Some(first) = head.first() else {
            // Only a `{` can end a statement before it starts.
            let at = self.peek().map(|t| t.span).unwrap_or_default();
            return Err(self.sink.at(at, "a `{` must follow `thread NAME`, `fork NAME` or `repeat ...` on the same line"));
        };
        let span = first.span;
        if let Some(t) = self.peek().filter(|t| t.tok == Tok::LBrace) {
            let open = t.span;
            if self.depth >= MAX_DEPTH {
                return Err(self.sink.at(open, format!("blocks nest more than {MAX_DEPTH} deep")));
            }
            self.pos += 1;
            self.depth += 1;
            let body = self.block(Some(open))?;
            self.depth -= 1;
            return block_stmt(self.sink, head, body);
        }
        let op = parse_op(self.sink, head)?;
        Ok(Stmt { span, kind: StmtKind::Op(op) })
    }
}

fn block_stmt(sink: &ErrorSink<'_>, head: &[Token], body: Block) -> Result<Stmt, CaseError> {
    let span = head[0].span;
    let verb = head[0].word().unwrap_or("");
    let kind = match verb {
        "thread" | "fork" => {
            let name = match head.get(1).and_then(|t| t.word()) {
                Some(n) if is_ident(n) && head.len() == 2 => n.to_string(),
                _ => return Err(sink.at(span, format!("expected `{verb} NAME {{`"))),
            };
            if verb == "thread" {
                StmtKind::Thread { name, body }
            } else {
                StmtKind::Fork { name, body }
            }
        }
        "repeat" => StmtKind::Repeat(parse_repeat(sink, head, body)?),
        _ => {
            return Err(sink.at(
                span,
                format!("`{{` after `{verb}`: only `thread`, `fork` and `repeat` open blocks"),
            ));
        }
    };
    Ok(Stmt { span, kind })
}

/// `repeat N [as VAR] [until COND]` or `repeat for DURATION [max N] [until COND]`.
fn parse_repeat(sink: &ErrorSink<'_>, head: &[Token], body: Block) -> Result<Repeat, CaseError> {
    let words = WordList::new(sink, &head[1..], head[0].span)?;
    let mut i = 0;
    let count = if words.get(0) == Some("for") {
        let budget = words.duration(1, "a time budget such as 2s")?;
        i = 2;
        let mut max = None;
        if words.get(2) == Some("max") {
            max = Some(words.count(3, "an iteration cap")?);
            i = 4;
        }
        RepeatCount::For { budget, max }
    } else {
        i += 1;
        let n = words.count(0, "an iteration count or `for DURATION`")?;
        if n > MAX_REPEAT {
            return Err(words.err(0, format!("repeat count {n} is above {MAX_REPEAT} (for a long loop write `repeat for DURATION max N`)")));
        }
        RepeatCount::Times(n)
    };
    let mut var = None;
    if words.get(i) == Some("as") {
        let v = words.get(i + 1).filter(|v| is_ident(v));
        var = Some(v.ok_or_else(|| sink.at(words.span(i), "expected a variable name after `as`"))?.to_string());
        i += 2;
    }
    let mut until = None;
    if words.get(i) == Some("until") {
        until = Some(parse_cond(sink, &words.items[i + 1..], words.span(i))?);
        i = words.items.len();
    }
    if i < words.items.len() {
        return Err(sink.at(words.span(i), format!("unexpected `{}` in repeat (expected `as`, `max` or `until`)", words.items[i].0)));
    }
    if let (RepeatCount::Times(n), true) = (&count, var.is_none() && until.is_none()) {
        if *n == 0 {
            return Err(sink.at(head[0].span, "repeat 0 runs nothing"));
        }
    }
    Ok(Repeat { count, var, until, body })
}

/// Parses `verb args [-> counter]... [=> expect [as NAME]]`.
fn parse_op(sink: &ErrorSink<'_>, toks: &[Token]) -> Result<Op, CaseError> {
    let verb_tok = &toks[0];
    let Some(verb) = verb_tok.word() else {
        return Err(sink.at(verb_tok.span, format!("expected a step, found {}", verb_tok.describe())));
    };
    let arrow = toks.iter().position(|t| t.tok == Tok::Arrow);
    let first_capture = toks.iter().position(|t| t.tok == Tok::Capture);
    let args_end = [arrow, first_capture].into_iter().flatten().min().unwrap_or(toks.len());
    let mut capture = Vec::new();
    let mut expect_toks: &[Token] = &[];
    let mut bind = None;
    if let Some(a) = arrow {
        let end = first_capture.filter(|&c| c > a).unwrap_or(toks.len());
        let (ex, b) = split_bind(sink, &toks[a + 1..end])?;
        expect_toks = ex;
        bind = b;
        if expect_toks.is_empty() {
            return Err(sink.at(toks[a].span, "expected an outcome after `=>` (e.g. ok, none, EINVAL, p.r IN)"));
        }
    }
    if let Some(c) = first_capture {
        let end = arrow.filter(|&a| a > c).unwrap_or(toks.len());
        capture = parse_captures(sink, &toks[c..end])?;
    }
    let args = WordList::new(sink, &toks[1..args_end], verb_tok.span)?;
    let action = parse_action(sink, verb, verb_tok.span, &args)?;
    let expect = if expect_toks.is_empty() {
        None
    } else {
        Some(parse_expect(sink, &action, expect_toks)?)
    };
    if bind.is_some() && !matches!(action, Action::Wait { .. }) {
        return Err(sink.at(verb_tok.span, "`as NAME` binds the fd of a returned event, so it only follows a wait"));
    }
    Ok(Op { action, expect, bind, capture })
}

fn split_bind<'t>(sink: &ErrorSink<'_>, toks: &'t [Token]) -> Result<(&'t [Token], Option<String>), CaseError> {
    let n = toks.len();
    if n >= 2 && toks[n - 2].word() == Some("as") {
        let name = toks[n - 1].word().filter(|w| is_ident(w));
        let name = name.ok_or_else(|| sink.at(toks[n - 1].span, "expected a name after `as`"))?;
        return Ok((&toks[..n - 2], Some(name.to_string())));
    }
    Ok((toks, None))
}

fn parse_captures(sink: &ErrorSink<'_>, toks: &[Token]) -> Result<Vec<String>, CaseError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let name = toks.get(i + 1).and_then(|t| t.word()).filter(|w| is_ident(w));
        match (&toks[i].tok, name) {
            (Tok::Capture, Some(n)) => out.push(n.to_string()),
            _ => return Err(sink.at(toks[i].span, "expected `-> COUNTER` (a counter name after each `->`)")),
        }
        i += 2;
    }
    Ok(out)
}

/// The arguments of a step: words in order, with their spans.
pub(crate) struct WordList<'a> {
    pub sink: &'a ErrorSink<'a>,
    pub items: Vec<(String, Span)>,
    /// Where the step starts, for "missing argument" messages.
    pub end_span: Span,
}

impl<'a> WordList<'a> {
    pub fn new(sink: &'a ErrorSink<'a>, toks: &[Token], verb_span: Span) -> Result<WordList<'a>, CaseError> {
        let mut items = Vec::new();
        for t in toks {
            match &t.tok {
                Tok::Word(w) => items.push((w.clone(), t.span)),
                Tok::Str(s) => items.push((format!("\"{s}"), t.span)),
                _ => return Err(sink.at(t.span, format!("unexpected {} here", t.describe()))),
            }
        }
        let end_span = toks.last().map(|t| t.span).unwrap_or(verb_span);
        Ok(WordList { sink, items, end_span })
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        self.items.get(i).map(|(w, _)| w.as_str())
    }

    pub fn span(&self, i: usize) -> Span {
        self.items.get(i).map(|(_, s)| *s).unwrap_or(self.end_span)
    }

    pub fn err(&self, i: usize, msg: impl Into<String>) -> CaseError {
        self.sink.at(self.span(i), msg)
    }

    pub fn need(&self, i: usize, what: &str) -> Result<&str, CaseError> {
        self.get(i).ok_or_else(|| self.err(i, format!("missing {what}")))
    }

    pub fn duration(&self, i: usize, what: &str) -> Result<Duration, CaseError> {
        let w = self.need(i, what)?;
        parse_duration(w).ok_or_else(|| self.err(i, format!("bad duration `{w}` (expected {what}, with a unit: ns, us, ms or s)")))
    }

    pub fn count(&self, i: usize, what: &str) -> Result<u64, CaseError> {
        let w = self.need(i, what)?;
        crate::names::parse_u64(w).ok_or_else(|| self.err(i, format!("bad number `{w}` (expected {what})")))
    }
}

/// `10s`, `500ms`, `200us`, `1ns`, `1.5s`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = s.split_at(split);
    let value: f64 = num.parse().ok()?;
    let nanos = match unit {
        "ns" => value,
        "us" => value * 1e3,
        "ms" => value * 1e6,
        "s" => value * 1e9,
        "min" => value * 60e9,
        _ => return None,
    };
    if !nanos.is_finite() || nanos > 86_400e9 {
        return None;
    }
    Some(Duration::from_nanos(nanos.round() as u64))
}

/// Names: letters, digits, `_`, and `$var` parts; `.end` is separate.
pub fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// A name with an optional `.end`: `p`, `p.r`, `p$i.w`.
pub fn is_fd_name(s: &str) -> bool {
    match s.split_once('.') {
        Some((base, end)) => is_ident(base) && is_ident(end),
        None => is_ident(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::model::{Action, Pattern, StmtKind};

    fn parse(body: &str) -> Case {
        let text = format!("# title: t\n# man: epoll(7)\n{body}");
        parse_case(Path::new("t.ept"), &text, &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    fn op(c: &Case, i: usize) -> &Op {
        match &c.body[i].kind {
            StmtKind::Op(op) => op,
            other => panic!("statement {i} is {other:?}"),
        }
    }

    #[test]
    fn steps_carry_their_line() {
        let c = parse("epoll e\n\n# a comment\npipe p\n");
        assert_eq!(c.body.len(), 2);
        assert_eq!(c.body[1].span.line, 6);
        assert_eq!(c.line_text(c.body[1].span), "pipe p");
    }

    #[test]
    fn inline_blocks_split_on_semicolons() {
        let c = parse("epoll e\npipe p\nthread t { wait e -1 => p.r IN ; yield }\njoin t\n");
        let StmtKind::Thread { name, body } = &c.body[2].kind else { panic!() };
        assert_eq!(name, "t");
        assert_eq!(body.len(), 2);
    }

    #[test]
    fn alternatives_guards_labels_and_captures() {
        let c = parse("epoll e\nwait e 0 => none @quiet or EINTR if kernel>=6.9 @intr -> total\n");
        let o = op(&c, 1);
        let e = o.expect.as_ref().unwrap();
        assert_eq!(e.alts.len(), 2);
        assert_eq!(e.alts[0].pattern, Pattern::None);
        assert_eq!(e.alts[0].labels, vec!["quiet"]);
        assert!(e.alts[1].guard.is_some());
        assert_eq!(e.alts[1].labels, vec!["intr"]);
        assert_eq!(o.capture, vec!["total"]);
    }

    #[test]
    fn event_lists_with_data_and_at_least() {
        let c = parse("epoll e\npipe p\nwait e 0 => p.r ~IN data=7, p.w OUT as got\n");
        let o = op(&c, 2);
        let Pattern::Events(evs) = &o.expect.as_ref().unwrap().alts[0].pattern else { panic!() };
        assert_eq!(evs.len(), 2);
        assert!(evs[0].at_least);
        assert_eq!(evs[0].data, Some(7));
        assert_eq!(evs[1].mask, libc::EPOLLOUT as u32);
        assert_eq!(o.bind.as_deref(), Some("got"));
    }

    #[test]
    fn raw_arguments_stay_raw() {
        let c = parse("epoll e\nctl -1 99 12345 0x80000000 data=0xffffffffffffffff event=null\n");
        let Action::Ctl { op, events, data, event_ptr, .. } = &op(&c, 1).action else { panic!() };
        assert_eq!((*op, *events, *data, *event_ptr), (99, 0x8000_0000, Some(u64::MAX), crate::case::model::EventPtr::Null));
    }

    #[test]
    fn variants_substitute_and_name() {
        let text = "# title: t\n# man: epoll(7)\n# variants: kind=pipe,stream\nepoll e\nsource s $kind\n";
        let h = crate::case::discover::header_of(Path::new("t.ept"), text).unwrap();
        let combos = crate::case::discover::variant_combinations(&h);
        assert_eq!(combos.len(), 2);
        let c = parse_case(Path::new("t.ept"), text, &combos[1]).unwrap();
        assert_eq!(op(&c, 1).action, Action::Source { name: "s".into(), kind: crate::case::model::SourceKind::Stream });
        assert_eq!(crate::case::discover::instance_name("x::y", &combos[1]), "x::y::stream");
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("250ns"), Some(Duration::from_nanos(250)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("5h"), None);
    }
}
