//! A cursor over a step's arguments: positional words in order, and
//! `key=value` words for the keys the verb declares. Whatever is left over
//! at the end is an error that quotes the verb's usage.

use super::error::{CaseError, ErrorSink, Span};
use super::model::{Addr, FdRef};
use super::parse::{WordList, is_fd_name, is_ident, parse_duration};
use crate::names;
use std::time::Duration;

pub(crate) struct Cursor<'a> {
    list: &'a WordList<'a>,
    usage: &'static str,
    positional: Vec<(String, Span)>,
    next: usize,
    kv: Vec<(String, String, Span, bool)>,
}

impl<'a> Cursor<'a> {
    pub fn new(list: &'a WordList<'a>, usage: &'static str, kv_keys: &[&str]) -> Cursor<'a> {
        let mut positional = Vec::new();
        let mut kv = Vec::new();
        for (w, s) in &list.items {
            match w.split_once('=') {
                Some((k, v)) if kv_keys.contains(&k) => kv.push((k.to_string(), v.to_string(), *s, false)),
                _ => positional.push((w.clone(), *s)),
            }
        }
        Cursor { list, usage, positional, next: 0, kv }
    }

    pub fn sink(&self) -> &ErrorSink<'a> {
        self.list.sink
    }

    pub fn verb_span(&self) -> Span {
        // The verb precedes the first argument; callers use this for
        // whole-step complaints.
        self.list.items.first().map(|(_, s)| *s).unwrap_or(self.list.end_span)
    }

    pub fn err_at(&self, span: Span, msg: impl Into<String>) -> CaseError {
        self.list.sink.at(span, msg)
    }

    fn missing(&self, what: &str) -> CaseError {
        self.err_at(self.list.end_span, format!("missing {what} (usage: {})", self.usage))
    }

    pub fn peek_pos(&self) -> Option<&str> {
        self.positional.get(self.next).map(|(w, _)| w.as_str())
    }

    pub fn opt_pos(&mut self) -> Option<(String, Span)> {
        let item = self.positional.get(self.next).cloned();
        if item.is_some() {
            self.next += 1;
        }
        item
    }

    pub fn pos(&mut self, what: &str) -> Result<(String, Span), CaseError> {
        self.opt_pos().ok_or_else(|| self.missing(what))
    }

    pub fn rest_pos(&mut self) -> Vec<(String, Span)> {
        let rest = self.positional[self.next..].to_vec();
        self.next = self.positional.len();
        rest
    }

    pub fn word(&mut self, what: &str) -> Result<String, CaseError> {
        Ok(self.pos(what)?.0)
    }

    /// A name the step binds (a new fd, thread or counter).
    pub fn name(&mut self) -> Result<String, CaseError> {
        let (w, s) = self.pos("NAME")?;
        if !is_ident(&w) {
            return Err(self.err_at(s, format!("bad name `{w}` (letters, digits and `_`, starting with a letter)")));
        }
        Ok(w)
    }

    pub fn fd(&mut self, what: &str) -> Result<FdRef, CaseError> {
        let (w, s) = self.pos(what)?;
        self.fd_from(&w, s)
    }

    pub fn fd_from(&self, w: &str, s: Span) -> Result<FdRef, CaseError> {
        if let Some(v) = names::parse_i64(w) {
            return Ok(FdRef::Raw(v));
        }
        if is_fd_name(w) {
            return Ok(FdRef::Name(w.to_string()));
        }
        Err(self.err_at(s, format!("bad fd `{w}` (a name such as p.r, or a number such as -1)")))
    }

    pub fn int(&mut self, what: &str) -> Result<i64, CaseError> {
        let (w, s) = self.pos(what)?;
        names::parse_i64(&w).ok_or_else(|| self.err_at(s, format!("bad number `{w}` for {what}")))
    }

    pub fn duration(&mut self, what: &str) -> Result<Duration, CaseError> {
        let (w, s) = self.pos(what)?;
        parse_duration(&w).ok_or_else(|| self.err_at(s, format!("bad duration `{w}` (with a unit: ns, us, ms or s)")))
    }

    pub fn choice<T: Copy>(&mut self, what: &str, options: &[(&str, T)]) -> Result<T, CaseError> {
        let (w, s) = self.pos(what)?;
        options
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&w))
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                let list: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                self.err_at(s, format!("bad {what} `{w}` (expected one of: {})", list.join(", ")))
            })
    }

    pub fn opt_choice<T: Copy>(&mut self, options: &[(&str, T)]) -> Option<T> {
        let w = self.peek_pos()?;
        let v = options.iter().find(|(n, _)| n.eq_ignore_ascii_case(w)).map(|(_, v)| *v)?;
        self.next += 1;
        Some(v)
    }

    /// ORs together the following flag words that name one of `flags`.
    pub fn flag_words(&mut self, flags: &[(&str, i32)]) -> i32 {
        let mut acc = 0;
        while let Some(v) = self.opt_choice(flags) {
            acc |= v;
        }
        acc
    }

    pub fn opt_flag(&mut self, name: &str) -> bool {
        self.opt_choice(&[(name, true)]).unwrap_or(false)
    }

    pub fn signal(&mut self) -> Result<i32, CaseError> {
        let (w, s) = self.pos("SIG")?;
        names::parse_signal(&w).ok_or_else(|| self.err_at(s, format!("unknown signal `{w}` (e.g. SIGUSR1 or USR1)")))
    }

    pub fn signals(&mut self) -> Result<Vec<i32>, CaseError> {
        let (w, s) = self.pos("SIG")?;
        super::verbs::parse_sigs(&w).ok_or_else(|| self.err_at(s, format!("bad signal list `{w}` (e.g. USR1|USR2)")))
    }

    /// One or more names (threads, counters) to the end of the arguments.
    pub fn idents(&mut self, what: &str) -> Result<Vec<String>, CaseError> {
        let rest = self.rest_pos();
        if rest.is_empty() {
            return Err(self.missing(what));
        }
        for (w, s) in &rest {
            if !is_ident(w) {
                return Err(self.err_at(*s, format!("bad {what} name `{w}`")));
            }
        }
        Ok(rest.into_iter().map(|(w, _)| w).collect())
    }

    pub fn addr(&mut self) -> Result<Addr, CaseError> {
        let (w, s) = self.pos("ADDR or SOCKET")?;
        if w.parse::<std::net::SocketAddr>().is_ok() {
            return Ok(Addr::Literal(w));
        }
        if is_fd_name(&w) {
            return Ok(Addr::Of(FdRef::Name(w)));
        }
        Err(self.err_at(s, format!("bad address `{w}` (e.g. 127.0.0.1:0, [::1]:0, or a bound socket's name)")))
    }

    pub fn kv(&mut self, key: &str) -> Option<(String, Span)> {
        let item = self.kv.iter_mut().find(|(k, _, _, used)| k == key && !*used)?;
        item.3 = true;
        Some((item.1.clone(), item.2))
    }

    pub fn kv_int(&mut self, key: &str) -> Result<Option<i64>, CaseError> {
        match self.kv(key) {
            None => Ok(None),
            Some((v, s)) => names::parse_i64(&v).map(Some).ok_or_else(|| self.err_at(s, format!("bad number `{v}` for {key}="))),
        }
    }

    pub fn kv_duration(&mut self, key: &str) -> Result<Option<Duration>, CaseError> {
        match self.kv(key) {
            None => Ok(None),
            Some((v, s)) => parse_duration(&v).map(Some).ok_or_else(|| self.err_at(s, format!("bad duration `{v}` for {key}= (e.g. 50ms)"))),
        }
    }

    /// `key=null` is the only accepted value: it asks for a NULL pointer.
    pub fn kv_null(&mut self, key: &str) -> Result<bool, CaseError> {
        match self.kv(key) {
            None => Ok(false),
            Some((v, _)) if v == "null" => Ok(true),
            Some((v, s)) => Err(self.err_at(s, format!("bad value `{v}` for {key}= (only null)"))),
        }
    }

    pub fn finish(&self) -> Result<(), CaseError> {
        if let Some((w, s)) = self.positional.get(self.next) {
            return Err(self.err_at(*s, format!("unexpected argument `{w}` (usage: {})", self.usage)));
        }
        if let Some((k, _, s, _)) = self.kv.iter().find(|(_, _, _, used)| !used) {
            return Err(self.err_at(*s, format!("`{k}=` given twice (usage: {})", self.usage)));
        }
        Ok(())
    }
}
