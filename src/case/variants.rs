//! The `# variants:` header: one axis per line, whose values multiply into
//! the tests one case file makes.

use super::error::{CaseError, ErrorSink, Span};
use super::header::{Header, PROBE_KEYS};

/// One axis of variants: `wait=epoll_wait,epoll_pwait` or `mode=lt:IN,et:IN|ET`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariantAxis {
    pub name: String,
    /// `(label, value)`; the label names the test, the value is substituted.
    pub values: Vec<(String, String)>,
    pub span: Span,
}

/// Tests one case file may make through its variant axes (the largest
/// grid shipped makes 27).
pub const MAX_VARIANT_TESTS: usize = 256;

pub(super) fn parse_variants(sink: &ErrorSink<'_>, value: &str, span: Span) -> Result<VariantAxis, CaseError> {
    let Some((name, list)) = value.split_once('=') else {
        return Err(sink.at(span, "variants needs `axis=value,value`, e.g. `wait=epoll_wait,epoll_pwait`"));
    };
    let name = name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(sink.at(span, format!("bad variant axis name `{name}` (letters, digits and `_`)")));
    }
    // `if path=x` must mean one thing: these words are probe keys.
    if PROBE_KEYS.contains(&name) || name == "kernel" {
        return Err(sink.at(span, format!("variant axis `{name}` would clash with the `{name}=` probe in `if` guards; rename it")));
    }
    let mut values = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (label, value) = match item.split_once(':') {
            Some((l, v)) => (l.trim().to_string(), v.trim().to_string()),
            None => (item.to_string(), item.to_string()),
        };
        let label_ok = !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !label_ok {
            return Err(sink.at(span, format!("bad variant label `{label}` (write label:value when the value has symbols)")));
        }
        if values.iter().any(|(l, _)| *l == label) {
            return Err(sink.at(span, format!("variant label `{label}` appears twice")));
        }
        values.push((label, value));
    }
    if values.len() < 2 {
        return Err(sink.at(span, "a variant axis needs at least two values"));
    }
    Ok(VariantAxis { name: name.to_string(), values, span })
}

/// Adds an axis to the header: each axis once, and the tests they make
/// together bounded (a few long axes would list billions of tests; the
/// fuzzer found a file that hung `list` that way).
pub(super) fn add_axis(h: &mut Header, axis: VariantAxis) -> Result<(), String> {
    if h.variants.iter().any(|a| a.name == axis.name) {
        return Err(format!("variant axis `{}` is given twice (one `# variants:` line per axis)", axis.name));
    }
    let tests: usize = h.variants.iter().chain([&axis]).map(|a| a.values.len()).product();
    if tests > MAX_VARIANT_TESTS {
        return Err(format!("the variant axes make {tests} tests of this file; a case file may make at most {MAX_VARIANT_TESTS}"));
    }
    h.variants.push(axis);
    Ok(())
}
