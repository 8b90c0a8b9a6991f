//! What a step returned, how it is shown, and whether it matches what the
//! case expects.

use super::state::FdTable;
use crate::case::model::{Alt, EventPat, FdRef, Pattern};
use crate::names::{self, MaskKind};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A successful return value (a byte count, a counter, an fd).
    Ret(i64),
    Errno(i32),
    /// A wait on `ep` that returned `ret` and these `(events, data)` entries.
    Events { ret: i64, ep: i32, events: Vec<(u32, u64)> },
    /// poll/select: `(fd, revents)` in poll bits.
    Ready { ret: i64, fds: Vec<(i32, u32)> },
    /// A structured result (EPIOCGPARAMS).
    Fields(Vec<(&'static str, i64)>),
}

impl Outcome {
    pub fn from_result(r: Result<i64, i32>) -> Outcome {
        match r {
            Ok(v) => Outcome::Ret(v),
            Err(e) => Outcome::Errno(e),
        }
    }

    /// The number a `-> counter` capture adds.
    pub fn value(&self) -> i64 {
        match self {
            Outcome::Ret(v) => *v,
            Outcome::Errno(_) => 0,
            Outcome::Events { ret, .. } | Outcome::Ready { ret, .. } => *ret,
            Outcome::Fields(_) => 0,
        }
    }

    pub fn is_err(&self) -> bool {
        matches!(self, Outcome::Errno(_))
    }

    pub fn render(&self, t: &FdTable) -> String {
        match self {
            Outcome::Ret(v) => v.to_string(),
            Outcome::Errno(e) => names::errno_name(*e),
            Outcome::Events { ret: 0, .. } | Outcome::Ready { ret: 0, .. } => "none".into(),
            Outcome::Events { ret, ep, events } => {
                let list: Vec<String> = events.iter().map(|&(m, d)| render_event(t, *ep, m, d)).collect();
                format!("{} {}: {}", ret, plural(*ret, "event"), list.join(", "))
            }
            Outcome::Ready { ret, fds } => {
                let list: Vec<String> = fds.iter().map(|&(fd, m)| format!("{} {}", fd_label(t, fd), names::mask_name(MaskKind::Poll, m))).collect();
                format!("{} ready: {}", ret, list.join(", "))
            }
            Outcome::Fields(f) => f.iter().map(|(k, v)| render_field(k, *v)).collect::<Vec<_>>().join(" "),
        }
    }
}

/// Masks are shown in hex and by name; other fields as numbers.
fn render_field(k: &str, v: i64) -> String {
    match k {
        "events" => format!("events={v:#x} ({})", names::epoll_mask_name(v as u32)),
        "data" => format!("data={v:#x}"),
        _ => format!("{k}={v}"),
    }
}

fn plural(n: i64, word: &str) -> String {
    if n == 1 { word.to_string() } else { format!("{word}s") }
}

/// `p.r`, or `fd 7` for a number without a name.
fn fd_label(t: &FdTable, fd: i32) -> String {
    match t.names_of(fd).first() {
        Some(n) => n.to_string(),
        None => format!("fd {fd}"),
    }
}

/// `p.r EPOLLIN data=7`: the registration whose data this is names the fd;
/// data is shown unless it is the fd number itself (the default).
fn render_event(t: &FdTable, ep: i32, mask: u32, data: u64) -> String {
    let mask_s = names::epoll_mask_name(mask);
    let owner = t.registrations.iter().filter(|((e, _), d)| *e == ep && **d == data).map(|((_, fd), _)| *fd).min();
    let fd = owner.or_else(|| i32::try_from(data).ok().filter(|fd| !t.names_of(*fd).is_empty()));
    match fd {
        Some(fd) if data == fd as u64 => format!("{} {mask_s}", fd_label(t, fd)),
        Some(fd) => format!("{} {mask_s} data={data}", fd_label(t, fd)),
        None => format!("{mask_s} data={data:#x}"),
    }
}

/// How the case wrote an alternative, with flags spelt out in full.
pub fn render_pattern(p: &Pattern, kind: MaskKind) -> String {
    match p {
        Pattern::Ok => "success".into(),
        Pattern::Any => "anything".into(),
        Pattern::None => "none".into(),
        Pattern::Errno(e) => names::errno_name(*e),
        Pattern::Int(n) => n.to_string(),
        Pattern::EventCount(n) => format!("{n} {}", plural(*n as i64, "event")),
        Pattern::Events(evs) => evs.iter().map(|e| render_event_pat(e, kind)).collect::<Vec<_>>().join(", "),
        Pattern::Fields(f) => f.iter().map(|(k, v)| render_field(k, *v)).collect::<Vec<_>>().join(" "),
    }
}

fn render_event_pat(e: &EventPat, kind: MaskKind) -> String {
    let tilde = if e.at_least { "at least " } else { "" };
    let data = e.data.map(|d| format!(" data={d}")).unwrap_or_default();
    format!("{} {tilde}{}{data}", e.fd, names::mask_name(kind, e.mask))
}

pub fn render_alts(alts: &[&Alt], kind: MaskKind) -> String {
    alts.iter().map(|a| render_pattern(&a.pattern, kind)).collect::<Vec<_>>().join(" or ")
}

/// Resolves an fd named in a pattern to its number and the data a wait
/// would report for it on the epoll being waited on.
pub type Resolver<'a> = dyn Fn(&FdRef) -> Option<(i32, u64)> + 'a;

/// Whether `o` matches `p`. A name that cannot be resolved matches nothing.
pub fn matches(p: &Pattern, o: &Outcome, resolve: &Resolver<'_>) -> bool {
    match (p, o) {
        (Pattern::Any, _) => true,
        (Pattern::Ok, o) => !o.is_err(),
        (Pattern::Errno(e), Outcome::Errno(got)) => e == got,
        (Pattern::None, Outcome::Events { ret, .. } | Outcome::Ready { ret, .. }) => *ret == 0,
        (Pattern::Int(n), o) if !o.is_err() && !matches!(o, Outcome::Fields(_)) => o.value() == *n,
        (Pattern::EventCount(n), Outcome::Events { ret, .. } | Outcome::Ready { ret, .. }) => *ret == *n as i64,
        (Pattern::Events(pats), Outcome::Events { ret, events, .. }) => {
            let items: Vec<(u64, u32)> = events.iter().map(|&(m, d)| (d, m)).collect();
            *ret as usize == pats.len() && assign(pats, &items, &|pat: &EventPat, &(data, mask)| {
                resolve(&pat.fd).is_some_and(|(_, want)| pat.data.unwrap_or(want) == data && mask_ok(pat, mask))
            })
        }
        (Pattern::Events(pats), Outcome::Ready { ret, fds }) => {
            let items: Vec<(u64, u32)> = fds.iter().map(|&(fd, m)| (fd as u64, m)).collect();
            *ret as usize == pats.len() && assign(pats, &items, &|pat: &EventPat, &(fd, mask)| {
                resolve(&pat.fd).is_some_and(|(want_fd, _)| want_fd as u64 == fd && mask_ok(pat, mask))
            })
        }
        (Pattern::Fields(want), Outcome::Fields(got)) => want.iter().all(|(k, v)| got.iter().any(|(gk, gv)| gk == k && gv == v)),
        _ => false,
    }
}

fn mask_ok(p: &EventPat, mask: u32) -> bool {
    if p.at_least { mask & p.mask == p.mask } else { mask == p.mask }
}

/// Finds a one-to-one assignment of items to patterns (backtracking; the
/// sets are small).
fn assign(pats: &[EventPat], items: &[(u64, u32)], fits: &dyn Fn(&EventPat, &(u64, u32)) -> bool) -> bool {
    if pats.len() != items.len() {
        return false;
    }
    fn go(i: usize, pats: &[EventPat], items: &[(u64, u32)], used: &mut Vec<bool>, fits: &dyn Fn(&EventPat, &(u64, u32)) -> bool) -> bool {
        if i == pats.len() {
            return true;
        }
        for j in 0..items.len() {
            if !used[j] && fits(&pats[i], &items[j]) {
                used[j] = true;
                if go(i + 1, pats, items, used, fits) {
                    return true;
                }
                used[j] = false;
            }
        }
        false
    }
    go(0, pats, items, &mut vec![false; items.len()], fits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(name: &str, mask: u32, at_least: bool) -> EventPat {
        EventPat { fd: FdRef::Name(name.into()), mask, at_least, data: None }
    }

    fn resolver(r: &FdRef) -> Option<(i32, u64)> {
        match r {
            FdRef::Name(n) if n == "a" => Some((5, 5)),
            FdRef::Name(n) if n == "b" => Some((6, 60)),
            _ => None,
        }
    }

    #[test]
    fn event_sets_match_in_any_order() {
        let o = Outcome::Events { ret: 2, ep: 3, events: vec![(0x4, 60), (0x1, 5)] };
        let p = Pattern::Events(vec![pat("a", 0x1, false), pat("b", 0x4, false)]);
        assert!(matches(&p, &o, &resolver));
    }

    #[test]
    fn exact_masks_reject_extra_bits_but_at_least_accepts_them() {
        let o = Outcome::Events { ret: 1, ep: 3, events: vec![(0x11, 5)] };
        assert!(!matches(&Pattern::Events(vec![pat("a", 0x1, false)]), &o, &resolver));
        assert!(matches(&Pattern::Events(vec![pat("a", 0x1, true)]), &o, &resolver));
    }

    #[test]
    fn counts_none_and_errnos() {
        let none = Outcome::Events { ret: 0, ep: 3, events: vec![] };
        assert!(matches(&Pattern::None, &none, &resolver));
        assert!(matches(&Pattern::EventCount(0), &none, &resolver));
        assert!(!matches(&Pattern::Ok, &Outcome::Errno(libc::EINVAL), &resolver));
        assert!(matches(&Pattern::Errno(libc::EINVAL), &Outcome::Errno(libc::EINVAL), &resolver));
        assert!(!matches(&Pattern::Int(0), &Outcome::Errno(libc::EINVAL), &resolver));
    }

    #[test]
    fn wrong_data_does_not_match() {
        let o = Outcome::Events { ret: 1, ep: 3, events: vec![(0x1, 99)] };
        assert!(!matches(&Pattern::Events(vec![pat("a", 0x1, false)]), &o, &resolver));
    }
}
