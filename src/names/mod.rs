//! The kernel's names for numbers: epoll event bits, poll bits, errnos,
//! signals and `epoll_ctl` operations.
//!
//! Everything we print goes through here, so that a report says
//! `EPOLLIN|EPOLLRDHUP` and `EINVAL`, never `0x2001` or `22` on their own.

pub mod flags;
pub use flags::{flags_name, ioctl_name, open_flags_name};

/// One named bit of an epoll event mask, as `<sys/epoll.h>` names it.
struct Bit {
    name: &'static str,
    value: u32,
}

const EPOLL_BITS: &[Bit] = &[
    Bit { name: "EPOLLIN", value: 0x1 },
    Bit { name: "EPOLLPRI", value: 0x2 },
    Bit { name: "EPOLLOUT", value: 0x4 },
    Bit { name: "EPOLLERR", value: 0x8 },
    Bit { name: "EPOLLHUP", value: 0x10 },
    Bit { name: "EPOLLNVAL", value: 0x20 },
    Bit { name: "EPOLLRDNORM", value: 0x40 },
    Bit { name: "EPOLLRDBAND", value: 0x80 },
    Bit { name: "EPOLLWRNORM", value: 0x100 },
    Bit { name: "EPOLLWRBAND", value: 0x200 },
    Bit { name: "EPOLLMSG", value: 0x400 },
    Bit { name: "EPOLLRDHUP", value: 0x2000 },
    Bit { name: "EPOLLEXCLUSIVE", value: 1 << 28 },
    Bit { name: "EPOLLWAKEUP", value: 1 << 29 },
    Bit { name: "EPOLLONESHOT", value: 1 << 30 },
    Bit { name: "EPOLLET", value: 1 << 31 },
];

const POLL_BITS: &[Bit] = &[
    Bit { name: "POLLIN", value: 0x1 },
    Bit { name: "POLLPRI", value: 0x2 },
    Bit { name: "POLLOUT", value: 0x4 },
    Bit { name: "POLLERR", value: 0x8 },
    Bit { name: "POLLHUP", value: 0x10 },
    Bit { name: "POLLNVAL", value: 0x20 },
    Bit { name: "POLLRDNORM", value: 0x40 },
    Bit { name: "POLLRDBAND", value: 0x80 },
    Bit { name: "POLLWRNORM", value: 0x100 },
    Bit { name: "POLLWRBAND", value: 0x200 },
    Bit { name: "POLLMSG", value: 0x400 },
    Bit { name: "POLLRDHUP", value: 0x2000 },
];

/// Which family of bit names a mask belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskKind {
    Epoll,
    Poll,
}

impl MaskKind {
    fn table(self) -> &'static [Bit] {
        match self {
            MaskKind::Epoll => EPOLL_BITS,
            MaskKind::Poll => POLL_BITS,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            MaskKind::Epoll => "EPOLL",
            MaskKind::Poll => "POLL",
        }
    }
}

/// Parses one flag name: `IN`, `EPOLLIN`, `POLLIN` (any case), or a number.
pub fn flag_value(kind: MaskKind, word: &str) -> Option<u32> {
    if let Some(v) = parse_u64(word) {
        return u32::try_from(v).ok();
    }
    let upper = word.to_ascii_uppercase();
    // Case files may use the short form (`IN`) or either full prefix, so
    // that a line copied from C (`EPOLLIN`) or from poll code works as is.
    let short = upper
        .strip_prefix(kind.prefix())
        .or_else(|| upper.strip_prefix("EPOLL"))
        .or_else(|| upper.strip_prefix("POLL"))
        .unwrap_or(&upper);
    kind.table()
        .iter()
        .find(|b| &b.name[kind.prefix().len()..] == short)
        .map(|b| b.value)
}

/// Parses `IN|OUT|0x100`; `0` is the empty mask.
pub fn parse_mask(kind: MaskKind, text: &str) -> Result<u32, String> {
    parse_mask_at(kind, text).map_err(|(_, m)| m)
}

/// Like [`parse_mask`], with the byte offset of the part that is wrong.
pub fn parse_mask_at(kind: MaskKind, text: &str) -> Result<u32, (usize, String)> {
    let mut mask = 0u32;
    let mut offset = 0;
    for part in text.split('|') {
        let here = offset;
        offset += part.len() + 1;
        match flag_value(kind, part) {
            Some(v) => mask |= v,
            None => {
                return Err((here, format!(
                    "unknown {} flag `{part}` (expected a name such as {} or a number such as 0x{:x})",
                    kind.prefix(),
                    example_flags(kind),
                    0x2000
                )));
            }
        }
    }
    Ok(mask)
}

fn example_flags(kind: MaskKind) -> &'static str {
    match kind {
        MaskKind::Epoll => "IN, OUT, RDHUP, ET, ONESHOT, EXCLUSIVE",
        MaskKind::Poll => "IN, OUT, PRI, HUP",
    }
}

/// Renders a mask by name: `EPOLLIN|EPOLLRDHUP`, unknown bits as hex,
/// the empty mask as `0`.
pub fn mask_name(kind: MaskKind, mask: u32) -> String {
    let mut parts = Vec::new();
    let mut rest = mask;
    for b in kind.table() {
        if mask & b.value != 0 {
            parts.push(b.name.to_string());
            rest &= !b.value;
        }
    }
    if rest != 0 {
        parts.push(format!("0x{rest:x}"));
    }
    if parts.is_empty() {
        "0".to_string()
    } else {
        parts.join("|")
    }
}

pub fn epoll_mask_name(mask: u32) -> String {
    mask_name(MaskKind::Epoll, mask)
}

/// Parses a decimal, `0x` hex or negative integer.
pub fn parse_i64(word: &str) -> Option<i64> {
    let (neg, digits) = match word.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, word),
    };
    let v = parse_u64(digits)?;
    if neg {
        // i64::MIN has no positive counterpart.
        return if v == 1u64 << 63 { Some(i64::MIN) } else { i64::try_from(v).ok().map(|v| -v) };
    }
    i64::try_from(v).ok()
}

/// Parses a decimal or `0x` hex unsigned integer (with `_` separators).
pub fn parse_u64(word: &str) -> Option<u64> {
    let clean: String = word.chars().filter(|&c| c != '_').collect();
    if clean.is_empty() {
        return None;
    }
    if let Some(hex) = clean.strip_prefix("0x").or_else(|| clean.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if clean.chars().all(|c| c.is_ascii_digit()) {
        clean.parse().ok()
    } else {
        None
    }
}

macro_rules! name_table {
    ($fn_name:ident, $fn_value:ident, $($name:ident),* $(,)?) => {
        /// The symbolic name of a value, if it has one.
        pub fn $fn_name(v: i32) -> Option<&'static str> {
            $(if v == libc::$name { return Some(stringify!($name)); })*
            None
        }
        /// The value of a symbolic name.
        pub fn $fn_value(name: &str) -> Option<i32> {
            $(if name == stringify!($name) { return Some(libc::$name); })*
            None
        }
    };
}

name_table!(
    errno_name_opt, errno_value,
    EPERM, ENOENT, ESRCH, EINTR, EIO, ENXIO, E2BIG, ENOEXEC, EBADF, ECHILD,
    EAGAIN, ENOMEM, EACCES, EFAULT, ENOTBLK, EBUSY, EEXIST, EXDEV, ENODEV,
    ENOTDIR, EISDIR, EINVAL, ENFILE, EMFILE, ENOTTY, ETXTBSY, EFBIG, ENOSPC,
    ESPIPE, EROFS, EMLINK, EPIPE, EDOM, ERANGE, EDEADLK, ENAMETOOLONG,
    ENOLCK, ENOSYS, ENOTEMPTY, ELOOP, ENOMSG, EIDRM, ENOSTR, ENODATA, ETIME,
    ENOSR, ENOLINK, EPROTO, EBADMSG, EOVERFLOW, EILSEQ, EUSERS, ENOTSOCK,
    EDESTADDRREQ, EMSGSIZE, EPROTOTYPE, ENOPROTOOPT, EPROTONOSUPPORT,
    ESOCKTNOSUPPORT, EOPNOTSUPP, EPFNOSUPPORT, EAFNOSUPPORT, EADDRINUSE,
    EADDRNOTAVAIL, ENETDOWN, ENETUNREACH, ENETRESET, ECONNABORTED,
    ECONNRESET, ENOBUFS, EISCONN, ENOTCONN, ESHUTDOWN, ETOOMANYREFS,
    ETIMEDOUT, ECONNREFUSED, EHOSTDOWN, EHOSTUNREACH, EALREADY, EINPROGRESS,
    ESTALE, EDQUOT, ECANCELED, EOWNERDEAD, ENOTRECOVERABLE, ERFKILL,
    EHWPOISON,
);

/// `EINVAL`, or `errno 999` for a value without a name.
pub fn errno_name(e: i32) -> String {
    match errno_name_opt(e) {
        Some(n) => n.to_string(),
        None => format!("errno {e}"),
    }
}

/// The errno names accepted in case files, with `EWOULDBLOCK` as an alias.
pub fn parse_errno(word: &str) -> Option<i32> {
    if word == "EWOULDBLOCK" {
        return Some(libc::EAGAIN);
    }
    if word == "ENOTSUP" {
        return Some(libc::EOPNOTSUPP);
    }
    errno_value(word)
}

name_table!(
    signal_name_opt, signal_value_full,
    SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL,
    SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGCHLD, SIGCONT,
    SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGXCPU, SIGXFSZ, SIGVTALRM,
    SIGPROF, SIGWINCH, SIGIO, SIGPWR, SIGSYS,
);

/// `SIGUSR1`, `USR1` or a number.
pub fn parse_signal(word: &str) -> Option<i32> {
    if let Some(v) = parse_i64(word) {
        return i32::try_from(v).ok().filter(|&s| (1..=64).contains(&s));
    }
    let upper = word.to_ascii_uppercase();
    if let Some(v) = signal_value_full(&upper) {
        return Some(v);
    }
    signal_value_full(&format!("SIG{upper}"))
}

pub fn signal_name(sig: i32) -> String {
    match signal_name_opt(sig) {
        Some(n) => n.to_string(),
        None => format!("signal {sig}"),
    }
}

/// Names of the `epoll_ctl` operations; 4 was EPOLL_CTL_DISABLE in
/// 3.7-rc1 only, so it has no name.
pub fn ctl_op_name(op: i32) -> String {
    match op {
        1 => "EPOLL_CTL_ADD".into(),
        2 => "EPOLL_CTL_DEL".into(),
        3 => "EPOLL_CTL_MOD".into(),
        other => other.to_string(),
    }
}

/// `add`, `ADD`, `EPOLL_CTL_ADD` or a raw number (possibly invalid).
pub fn parse_ctl_op(word: &str) -> Option<i32> {
    let upper = word.to_ascii_uppercase();
    let short = upper.strip_prefix("EPOLL_CTL_").unwrap_or(&upper);
    match short {
        "ADD" => Some(1),
        "DEL" => Some(2),
        "MOD" => Some(3),
        _ => parse_i64(word).and_then(|v| i32::try_from(v).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("IN", 0x1)]
    #[case("EPOLLIN|EPOLLRDHUP", 0x2001)]
    #[case("in|et", 0x8000_0001)]
    #[case("0x10|OUT", 0x14)]
    #[case("0", 0)]
    fn parses_epoll_masks(#[case] text: &str, #[case] want: u32) {
        assert_eq!(parse_mask(MaskKind::Epoll, text), Ok(want));
    }

    #[test]
    fn unknown_flag_is_named_in_the_error() {
        let err = parse_mask(MaskKind::Epoll, "IN|BOGUS").unwrap_err();
        assert!(err.starts_with("unknown EPOLL flag `BOGUS`"), "{err}");
    }

    #[rstest]
    #[case(0x2001, "EPOLLIN|EPOLLRDHUP")]
    #[case(0, "0")]
    #[case(0x0010_0001, "EPOLLIN|0x100000")]
    #[case(0x8000_0000, "EPOLLET")]
    fn renders_masks_by_name(#[case] mask: u32, #[case] want: &str) {
        assert_eq!(epoll_mask_name(mask), want);
    }

    #[test]
    fn errnos_and_signals_round_trip() {
        assert_eq!(parse_errno("EINVAL"), Some(libc::EINVAL));
        assert_eq!(errno_name(libc::ELOOP), "ELOOP");
        assert_eq!(errno_name(9999), "errno 9999");
        assert_eq!(parse_signal("USR1"), Some(libc::SIGUSR1));
        assert_eq!(signal_name(libc::SIGKILL), "SIGKILL");
        assert_eq!(parse_ctl_op("mod"), Some(3));
        assert_eq!(parse_ctl_op("4"), Some(4));
        assert_eq!(ctl_op_name(4), "4");
    }

    #[test]
    fn integers_parse_in_all_forms() {
        assert_eq!(parse_i64("-1"), Some(-1));
        assert_eq!(parse_i64("0x7fffffff"), Some(i32::MAX as i64));
        assert_eq!(parse_u64("1_000"), Some(1000));
        assert_eq!(parse_i64("12ab"), None);
        assert_eq!(parse_i64("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64("9223372036854775808"), None);
    }
}
