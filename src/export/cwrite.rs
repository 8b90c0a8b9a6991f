//! Writing C text: an indenting line writer, string literals, comments,
//! and numbers and flag sets as a C reader expects to see them.

use crate::case::model::FdRef;
use crate::names::{self, MaskKind};

/// Lines of C with tab indentation.
#[derive(Default)]
pub struct Out {
    text: String,
    depth: usize,
}

impl Out {
    pub fn new(depth: usize) -> Out {
        Out { text: String::new(), depth }
    }

    pub fn line(&mut self, s: impl AsRef<str>) {
        for _ in 0..self.depth {
            self.text.push('\t');
        }
        self.text.push_str(s.as_ref());
        self.text.push('\n');
    }

    /// `head {` and one level deeper.
    pub fn open(&mut self, head: impl AsRef<str>) {
        let head = head.as_ref();
        self.line(if head.is_empty() { "{".to_string() } else { format!("{head} {{") });
        self.depth += 1;
    }

    pub fn close(&mut self) {
        self.close_with("");
    }

    /// `}` followed by `tail` (`;` after an initializer).
    pub fn close_with(&mut self, tail: &str) {
        self.depth -= 1;
        self.line(format!("}}{tail}"));
    }

    pub fn blank(&mut self) {
        self.text.push('\n');
    }

    pub fn finish(self) -> String {
        self.text
    }
}

/// A C string literal.
pub fn cstr(s: &str) -> String {
    let mut out = String::from("\"");
    let mut prev = '\0';
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            // `??x` could read as a trigraph.
            '?' if prev == '?' => out.push_str("\\?"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\{:03o}", c as u32)),
            c => out.push(c),
        }
        prev = c;
    }
    out.push('"');
    out
}

/// Text that can sit inside a `/* ... */` comment.
pub fn comment_text(s: &str) -> String {
    s.replace("*/", "* /").replace("/*", "/ *")
}

/// A reference to an fd for the runtime's helpers: its name (with `$var`
/// parts resolved at run time) or a raw number.
pub fn fd_ref(r: &FdRef) -> String {
    match r {
        FdRef::Name(n) => cstr(n),
        FdRef::Raw(v) => cstr(&v.to_string()),
    }
}

/// An fd as an int expression: `FD("p.r")`, or a raw number as the
/// interpreter truncates it.
pub fn fd_expr(r: &FdRef) -> String {
    match r {
        FdRef::Name(n) => format!("FD({})", cstr(n)),
        FdRef::Raw(v) => c_int(*v as i32),
    }
}

pub fn c_int(v: i32) -> String {
    if v == i32::MIN { "(-2147483647 - 1)".into() } else { v.to_string() }
}

pub fn c_i64(v: i64) -> String {
    match v {
        i64::MIN => "(-9223372036854775807LL - 1)".into(),
        v if v > i32::MAX as i64 || v < i32::MIN as i64 => format!("{v}LL"),
        v => v.to_string(),
    }
}

pub fn c_u64(v: u64) -> String {
    if v > u32::MAX as u64 { format!("{v:#x}ULL") } else { v.to_string() }
}

/// A flag set as C names joined by `|`: `EPOLLIN | EPOLLONESHOT`; unknown
/// bits in hex; the empty set as 0.
pub fn c_mask(kind: MaskKind, mask: u32) -> String {
    let named = names::mask_name(kind, mask);
    if named == "0" {
        return "0".into();
    }
    named.split('|').collect::<Vec<_>>().join(" | ")
}

/// Flags from a table of `(value, C name)`, the rest in hex.
pub fn c_flags(v: i64, table: &[(i64, &str)]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut rest = v;
    for &(bit, name) in table {
        if bit != 0 && v & bit == bit {
            parts.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 || parts.is_empty() {
        parts.push(match rest {
            0 => "0".to_string(),
            r if r < 0 => r.to_string(),
            r => format!("{r:#x}"),
        });
    }
    parts.join(" | ")
}

/// `SIGUSR1`, or the number of a signal without a name.
pub fn c_signal(s: i32) -> String {
    names::signal_name_opt(s).map(str::to_string).unwrap_or_else(|| s.to_string())
}

/// The kernel sigset of signals: `EC_SIG(SIGUSR1) | EC_SIG(SIGUSR2)`, or 0.
pub fn c_sigset(sigs: &[i32]) -> String {
    let parts: Vec<String> = sigs.iter().filter(|&&s| (1..=64).contains(&s)).map(|&s| format!("EC_SIG({})", c_signal(s))).collect();
    if parts.is_empty() { "0".into() } else { parts.join(" | ") }
}

/// `NAMES("t0", "t1")`: a NULL-terminated list for the runtime.
pub fn c_names<S: AsRef<str>>(list: &[S]) -> String {
    format!("NAMES({})", list.iter().map(|s| cstr(s.as_ref())).collect::<Vec<_>>().join(", "))
}

/// A C identifier made from a case name (`w$i` becomes `w_i`).
pub fn ident(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_what_c_needs() {
        assert_eq!(cstr("a\"b\\c??="), "\"a\\\"b\\\\c?\\?=\"");
        assert_eq!(comment_text("x */ y /* z"), "x * / y / * z");
        assert_eq!(c_int(i32::MIN), "(-2147483647 - 1)");
        assert_eq!(c_u64(u64::MAX), "0xffffffffffffffffULL");
    }

    #[test]
    fn masks_and_flags_read_as_c() {
        assert_eq!(c_mask(MaskKind::Epoll, 0x8000_0001), "EPOLLIN | EPOLLET");
        assert_eq!(c_mask(MaskKind::Epoll, 0x0010_0001), "EPOLLIN | 0x100000");
        assert_eq!(c_mask(MaskKind::Poll, 0), "0");
        let t = [(libc::O_NONBLOCK as i64, "O_NONBLOCK"), (libc::O_CLOEXEC as i64, "O_CLOEXEC")];
        assert_eq!(c_flags(0, &t), "0");
        assert_eq!(c_flags((libc::O_NONBLOCK | libc::O_CLOEXEC) as i64, &t), "O_NONBLOCK | O_CLOEXEC");
        assert_eq!(c_sigset(&[libc::SIGUSR1, 40]), "EC_SIG(SIGUSR1) | EC_SIG(40)");
    }
}
