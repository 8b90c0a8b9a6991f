//! The `# key: value` header of a case file.

use super::error::{CaseError, ErrorSink, Span};
pub use super::variants::VariantAxis;
use super::variants::parse_variants;
use std::fmt;
use std::time::Duration;

/// A kernel version, `major.minor[.patch]`; suffixes such as `-cloud-amd64`
/// are dropped when it is read from `uname -r`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KVersion(pub u32, pub u32, pub u32);

impl KVersion {
    /// Parses the leading `5.10.56` of a release string.
    pub fn parse_release(s: &str) -> Option<KVersion> {
        let mut nums = [0u32; 3];
        let mut count = 0;
        for part in s.split(['.', '-', '+', '~', '_']).take(3) {
            let digits: String = part.chars().take_while(|c| c.is_ascii_digit()).collect();
            if digits.is_empty() {
                break;
            }
            nums[count] = digits.parse().ok()?;
            count += 1;
            if digits.len() != part.len() {
                break;
            }
        }
        (count >= 2).then_some(KVersion(nums[0], nums[1], nums[2]))
    }

    /// Parses exactly `5.10` or `5.10.56`.
    pub fn parse_exact(s: &str) -> Option<KVersion> {
        let parts: Vec<&str> = s.split('.').collect();
        if !(2..=3).contains(&parts.len()) {
            return None;
        }
        let n: Option<Vec<u32>> = parts.iter().map(|p| p.parse().ok()).collect();
        let n = n?;
        Some(KVersion(n[0], n[1], *n.get(2).unwrap_or(&0)))
    }
}

impl fmt::Display for KVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// A half-open range of kernel versions, `[from, to)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KRange {
    pub from: Option<KVersion>,
    pub to: Option<KVersion>,
}

impl KRange {
    pub fn contains(&self, v: KVersion) -> bool {
        self.from.is_none_or(|f| v >= f) && self.to.is_none_or(|t| v < t)
    }
}

impl fmt::Display for KRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<KVersion>| v.map(|v| v.to_string()).unwrap_or_default();
        write!(f, "{}..{}", show(&self.from), show(&self.to))
    }
}

/// A kernel release range in which the documented behaviour is known not
/// to hold: FAIL there is XFAIL, PASS there is XPASS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XFail {
    pub ranges: Vec<KRange>,
    pub reason: String,
}

/// A feature probe named in `requires:` or in an `if` guard.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Probe {
    Syscall(String),
    Flag(u32),
    Ioctl(String),
    Root,
    Cap(String),
    Cpus(u32),
    /// The hard RLIMIT_NOFILE allows at least this many fds.
    NoFile(u64),
    Ipv6,
    Path(String),
    Config(String),
    /// The case changes machine-wide state (a global sysctl): it runs only
    /// where EPOLLCHECK_DISRUPTIVE=1 says the machine is throwaway.
    Disruptive,
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Probe::Syscall(s) => write!(f, "syscall={s}"),
            Probe::Flag(b) => write!(f, "flag={}", crate::names::epoll_mask_name(*b)),
            Probe::Ioctl(s) => write!(f, "ioctl={s}"),
            Probe::Root => write!(f, "root"),
            Probe::Cap(c) => write!(f, "cap={c}"),
            Probe::Cpus(n) => write!(f, "cpus>={n}"),
            Probe::NoFile(n) => write!(f, "nofile>={n}"),
            Probe::Ipv6 => write!(f, "ipv6"),
            Probe::Path(p) => write!(f, "path={p}"),
            Probe::Config(c) => write!(f, "config={c}"),
            Probe::Disruptive => write!(f, "disruptive"),
        }
    }
}

pub const KNOWN_SYSCALLS: &[&str] = &[
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "pidfd_open",
    "memfd_create",
    "kcmp",
];

/// Words before `=` that name probes, in `requires:` and `if` guards.
pub const PROBE_KEYS: &[&str] = &["syscall", "flag", "ioctl", "cap", "path", "config"];

pub const KNOWN_CAPS: &[&str] = &["NET_ADMIN", "BLOCK_SUSPEND", "SYS_ADMIN", "SYS_RESOURCE"];

impl Probe {
    pub fn parse(word: &str) -> Result<Probe, String> {
        if word == "root" {
            return Ok(Probe::Root);
        }
        if word == "ipv6" {
            return Ok(Probe::Ipv6);
        }
        if word == "disruptive" {
            return Ok(Probe::Disruptive);
        }
        if let Some(n) = word.strip_prefix("nofile>=") {
            return n.parse().map(Probe::NoFile).map_err(|_| format!("bad fd count in `{word}` (expected e.g. nofile>=2048)"));
        }
        if let Some(n) = word.strip_prefix("cpus>=") {
            return n
                .parse()
                .map(Probe::Cpus)
                .map_err(|_| format!("bad CPU count in `{word}` (expected e.g. cpus>=2)"));
        }
        let Some((key, value)) = word.split_once('=') else {
            return Err(unknown_probe(word));
        };
        match key {
            "syscall" if KNOWN_SYSCALLS.contains(&value) => Ok(Probe::Syscall(value.into())),
            "syscall" => Err(format!(
                "unknown syscall `{value}` in requires (known: {})",
                KNOWN_SYSCALLS.join(", ")
            )),
            "flag" => crate::names::parse_mask(crate::names::MaskKind::Epoll, value).map(Probe::Flag),
            "ioctl" if matches!(value, "EPIOCSPARAMS" | "EPIOCGPARAMS") => Ok(Probe::Ioctl(value.into())),
            "ioctl" => Err(format!("unknown ioctl `{value}` (known: EPIOCSPARAMS, EPIOCGPARAMS)")),
            "cap" if KNOWN_CAPS.contains(&value) => Ok(Probe::Cap(value.into())),
            "cap" => Err(format!("unknown capability `{value}` (known: {})", KNOWN_CAPS.join(", "))),
            "path" => Ok(Probe::Path(value.into())),
            "config" => Ok(Probe::Config(value.trim_start_matches("CONFIG_").into())),
            _ => Err(unknown_probe(word)),
        }
    }
}

fn unknown_probe(word: &str) -> String {
    format!(
        "unknown requirement `{word}` (expected syscall=NAME, flag=EPOLLXXX, ioctl=NAME, root, cap=NAME, cpus>=N, nofile>=N, ipv6, disruptive, path=PATH or config=NAME)"
    )
}

/// A kernel commit named as the fix for, or the cause of, a behaviour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    pub id: String,
    pub subject: String,
}

impl fmt::Display for Commit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.subject.is_empty() {
            write!(f, "{}", self.id)
        } else {
            write!(f, "{} {}", self.id, self.subject)
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub title: String,
    pub man: Vec<String>,
    pub links: Vec<String>,
    pub requires: Vec<Probe>,
    pub xfail: Vec<XFail>,
    pub fixed_by: Vec<Commit>,
    pub introduced_by: Vec<Commit>,
    pub variants: Vec<VariantAxis>,
    pub timeout: Duration,
    pub serial: Option<String>,
    pub tags: Vec<String>,
    /// The false-alarm statement of a timing or statistical case.
    pub stat: Option<String>,
    pub notes: Vec<String>,
    /// Catalogue items and anchor tests this case covers (`B-19`, `ltp:epoll_wait07`).
    pub covers: Vec<String>,
    /// Where each key was written, for validation messages.
    pub spans: Vec<(String, Span)>,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

pub const KNOWN_KEYS: &[&str] = &[
    "title",
    "man",
    "link",
    "requires",
    "xfail",
    "fixed-by",
    "introduced-by",
    "variants",
    "timeout",
    "serial",
    "tags",
    "stat",
    "note",
    "covers",
];

impl Header {
    pub fn span_of(&self, key: &str) -> Option<Span> {
        self.spans.iter().find(|(k, _)| k == key).map(|(_, s)| *s)
    }

    /// The case's requirements for one variant: a `wait` variant needs its
    /// syscall (epoll_pwait2 is missing before 5.11).
    pub fn requirements(&self, variant: &[super::model::VariantValue]) -> Vec<Probe> {
        let mut r = self.requires.clone();
        for v in variant.iter().filter(|v| v.axis == "wait") {
            r.push(Probe::Syscall(v.value.clone()));
        }
        r
    }
}

/// Reads the header lines (`# key: value`) at the top of a file. Returns the
/// header and the index of the first body line.
pub(crate) fn parse_header(sink: &ErrorSink<'_>) -> Result<(Header, usize), CaseError> {
    let mut h = Header {
        title: String::new(),
        man: vec![],
        links: vec![],
        requires: vec![],
        xfail: vec![],
        fixed_by: vec![],
        introduced_by: vec![],
        variants: vec![],
        timeout: DEFAULT_TIMEOUT,
        serial: None,
        tags: vec![],
        stat: None,
        notes: vec![],
        covers: vec![],
        spans: vec![],
    };
    let mut body_start = sink.lines.len();
    for (idx, raw) in sink.lines.iter().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if !line.starts_with('#') {
            body_start = idx;
            break;
        }
        let Some((key, value, vcol)) = split_key(raw) else { continue };
        let lineno = (idx + 1) as u32;
        let span = Span::new(lineno, (raw.find('#').unwrap_or(0) + 3) as u32);
        if !KNOWN_KEYS.contains(&key) {
            let hint = suggest(key, KNOWN_KEYS).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
            return Err(sink.at(
                span,
                format!("unknown header key `{key}`{hint} (known: {}; write `##` for a prose comment)", KNOWN_KEYS.join(", ")),
            ));
        }
        let vspan = Span::new(lineno, vcol as u32);
        apply_key(sink, &mut h, key, value, vspan)?;
        h.spans.push((key.to_string(), span));
    }
    if h.title.is_empty() {
        return Err(sink.at(Span::new(1, 1), "missing `# title:` header (every case states its behaviour in one sentence)"));
    }
    Ok((h, body_start))
}

/// Splits `# key: value` into its parts; `None` for a comment line.
fn split_key(raw: &str) -> Option<(&str, &str, usize)> {
    let hash = raw.find('#')?;
    let rest = &raw[hash + 1..];
    if rest.starts_with('#') {
        return None;
    }
    let trimmed = rest.trim_start();
    let lead = rest.len() - trimmed.len();
    let colon = trimmed.find(':')?;
    let key = &trimmed[..colon];
    let is_key = !key.is_empty()
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !is_key {
        return None;
    }
    let after = &trimmed[colon + 1..];
    let value = after.trim();
    let vcol = hash + 1 + lead + colon + 1 + (after.len() - after.trim_start().len()) + 1;
    Some((key, value, vcol))
}

fn apply_key(sink: &ErrorSink<'_>, h: &mut Header, key: &str, value: &str, span: Span) -> Result<(), CaseError> {
    if value.is_empty() {
        return Err(sink.at(span, format!("empty value for `{key}`")));
    }
    match key {
        "title" if !h.title.is_empty() => return Err(sink.at(span, "a second `title:` (a case states one behaviour)")),
        "title" => h.title = value.to_string(),
        "man" => h.man.push(value.to_string()),
        "link" => h.links.push(value.to_string()),
        "note" => h.notes.push(value.to_string()),
        "covers" => {
            for id in value.split([' ', ',']).filter(|w| !w.is_empty()) {
                let ok = id.chars().all(|c| c.is_ascii_alphanumeric() || "-_:.".contains(c));
                if !ok {
                    return Err(sink.at(span, format!("bad item id `{id}` in covers (e.g. B-19, H23, ltp:epoll_wait07)")));
                }
                h.covers.push(id.to_string());
            }
        }
        "stat" => h.stat = Some(value.to_string()),
        "tags" => h.tags.extend(value.split([' ', ',']).filter(|t| !t.is_empty()).map(String::from)),
        "serial" => h.serial = Some(value.to_string()),
        "timeout" => {
            h.timeout = super::parse::parse_duration(value)
                .filter(|d| !d.is_zero())
                .ok_or_else(|| sink.at(span, format!("bad timeout `{value}` (expected a duration such as 10s or 500ms)")))?
        }
        "requires" => {
            for word in value.split([' ', ',']).filter(|w| !w.is_empty()) {
                h.requires.push(Probe::parse(word).map_err(|m| sink.at(span, m))?);
            }
        }
        "fixed-by" => h.fixed_by.push(parse_commit(sink, value, span)?),
        "introduced-by" => h.introduced_by.push(parse_commit(sink, value, span)?),
        "xfail" => h.xfail.push(parse_xfail(sink, value, span)?),
        "variants" => super::variants::add_axis(h, parse_variants(sink, value, span)?).map_err(|m| sink.at(span, m))?,
        _ => unreachable!("key list and match arms agree"),
    }
    Ok(())
}

fn parse_commit(sink: &ErrorSink<'_>, value: &str, span: Span) -> Result<Commit, CaseError> {
    let (id, subject) = value.split_once(' ').unwrap_or((value, ""));
    let ok = (7..=40).contains(&id.len()) && id.chars().all(|c| c.is_ascii_hexdigit());
    if !ok {
        return Err(sink.at(span, format!("bad commit id `{id}` (expected 7 to 40 hex digits, then the subject)")));
    }
    Ok(Commit { id: id.to_string(), subject: subject.trim().to_string() })
}

/// `5.5..5.10.56, 5.11..5.14 pipe writes into a non-empty pipe do not wake readers`.
fn parse_xfail(sink: &ErrorSink<'_>, value: &str, span: Span) -> Result<XFail, CaseError> {
    let mut ranges = Vec::new();
    let mut words = value.split_whitespace().peekable();
    while let Some(w) = words.peek() {
        if !w.contains("..") {
            break;
        }
        for part in w.split(',').filter(|p| !p.is_empty()) {
            ranges.push(parse_range(part).ok_or_else(|| {
                sink.at(span, format!("bad kernel range `{part}` (expected A..B, A.. or ..B with versions like 5.10.56)"))
            })?);
        }
        words.next();
    }
    let reason: Vec<&str> = words.collect();
    if ranges.is_empty() {
        return Err(sink.at(span, "xfail needs kernel ranges first, e.g. `5.5..5.14 reason`"));
    }
    if reason.is_empty() {
        return Err(sink.at(span, "xfail needs a reason after the ranges"));
    }
    Ok(XFail { ranges, reason: reason.join(" ") })
}

fn parse_range(s: &str) -> Option<KRange> {
    let (a, b) = s.split_once("..")?;
    let from = if a.is_empty() { None } else { Some(KVersion::parse_exact(a)?) };
    let to = if b.is_empty() { None } else { Some(KVersion::parse_exact(b)?) };
    if from.is_none() && to.is_none() {
        return None;
    }
    Some(KRange { from, to })
}

/// The closest known word, for "did you mean" hints.
pub(crate) fn suggest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(word, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_strings_parse() {
        assert_eq!(KVersion::parse_release("6.18.44-fc-v1147"), Some(KVersion(6, 18, 44)));
        assert_eq!(KVersion::parse_release("5.10.0-32-cloud-amd64"), Some(KVersion(5, 10, 0)));
        assert_eq!(KVersion::parse_release("7.3-rc7"), Some(KVersion(7, 3, 0)));
        assert_eq!(KVersion::parse_release("6.12.118+deb12-cloud-amd64"), Some(KVersion(6, 12, 118)));
        assert_eq!(KVersion::parse_release("garbage"), None);
    }

    #[test]
    fn ranges_are_half_open() {
        let r = parse_range("5.5..5.10.56").unwrap();
        assert!(r.contains(KVersion(5, 5, 0)));
        assert!(r.contains(KVersion(5, 10, 55)));
        assert!(!r.contains(KVersion(5, 10, 56)));
        assert!(parse_range("6.9..").unwrap().contains(KVersion(7, 2, 0)));
        assert!(parse_range("..").is_none());
    }

    #[test]
    fn suggestions_catch_typos() {
        assert_eq!(suggest("requries", KNOWN_KEYS), Some("requires"));
        assert_eq!(suggest("zzzzzz", KNOWN_KEYS), None);
    }
}
