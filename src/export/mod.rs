//! `epollcheck export-c`: one case instance as a standalone C program that
//! a kernel developer can build with `cc -O2 -pthread repro.c` and run
//! against the running kernel, to the same verdict as `epollcheck run`.
//!
//! The program is the fixed runtime in `runtime/*.c` (the interpreter's
//! machinery, in C: the fd table by name, the shadow of the registrations,
//! expectation matching, threads, forks, probes, the deadline) followed by
//! the case: one function per thread or fork block and `case_main`, where
//! each step is a short block under a comment quoting it with its
//! `path:line`. The calls under test are raw `syscall(2)`s in that block.

pub mod agree;
mod calls;
mod cwrite;
mod expect;
mod steps;
mod stmt;
#[cfg(test)]
mod tests;

use crate::case::discover::{base_name, instance_name};
use crate::case::model::Case;
use cwrite::{Out, comment_text, cstr};
use std::fmt;
use std::path::Path;

/// The runtime every export starts with: one C file, kept in
/// `runtime/` as sections in the order they are pasted.
pub const RUNTIME: &str = concat!(
    include_str!("runtime/00-prelude.c"),
    include_str!("runtime/01-util.c"),
    include_str!("runtime/02-names.c"),
    include_str!("runtime/03-state.c"),
    include_str!("runtime/04-failures.c"),
    include_str!("runtime/05-fds.c"),
    include_str!("runtime/06-outcomes.c"),
    include_str!("runtime/07-probes.c"),
    include_str!("runtime/08-expect.c"),
    include_str!("runtime/09-counters.c"),
    include_str!("runtime/10-fixtures.c"),
    include_str!("runtime/11-sockets.c"),
    include_str!("runtime/12-pollselect.c"),
    include_str!("runtime/13-signals.c"),
    include_str!("runtime/14-introspect.c"),
    include_str!("runtime/15-tasks.c"),
    include_str!("runtime/16-stats.c"),
    include_str!("runtime/17-repeat.c"),
    include_str!("runtime/18-process.c"),
);

/// A construct the exporter cannot render faithfully: it refuses rather
/// than emit a program that could disagree with the interpreter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportError {
    pub path: String,
    pub line: u32,
    pub construct: String,
    pub why: String,
}

impl ExportError {
    pub fn new(line: u32, construct: &str, why: &str) -> ExportError {
        ExportError { path: String::new(), line, construct: construct.to_string(), why: why.to_string() }
    }
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: cannot export `{}`: {}", self.path, self.line, self.construct, self.why)
    }
}

impl std::error::Error for ExportError {}

/// The C program for one case instance (a case parsed with its variant).
pub fn export_c(case: &Case) -> Result<String, ExportError> {
    let path = case.path.display().to_string();
    let mut g = stmt::Gen::new(case);
    let main = g.function("case_main", &case.body, false).map_err(|mut e| {
        e.path = path.clone();
        e
    })?;
    let mut out = String::new();
    out.push_str(&banner(case));
    out.push('\n');
    out.push_str(RUNTIME);
    out.push('\n');
    out.push_str(&tables(case));
    for f in g.functions() {
        out.push('\n');
        out.push_str(f);
    }
    out.push('\n');
    out.push_str(&main);
    out.push('\n');
    out.push_str(&main_function(case));
    Ok(out)
}

/// The test name of an instance: `oneshot::disarm::epoll_pwait2`.
pub fn test_name(case: &Case) -> String {
    instance_name(&base_name(Path::new("cases"), &case.path), &case.variant)
}

fn banner(case: &Case) -> String {
    let h = &case.header;
    let mut o = Out::new(0);
    o.line("/*");
    o.line(format!(" * {}: {}", case.path.display(), comment_text(&h.title)));
    if !case.variant.is_empty() {
        let v: Vec<String> = case.variant.iter().map(|v| format!("{}={}", v.axis, v.label)).collect();
        o.line(format!(" * variant: {} (test {})", v.join(" "), test_name(case)));
    }
    for m in h.man.iter().map(|m| format!("man: {m}")).chain(h.links.iter().map(|l| format!("link: {l}"))) {
        o.line(format!(" * {}", comment_text(&m)));
    }
    o.line(" *");
    o.line(format!(" * Exported by `epollcheck export-c` (epollcheck {}): the case's steps,", env!("CARGO_PKG_VERSION")));
    o.line(" * made against the running kernel, with the same checks and verdict.");
    o.line(" * Build and run it from the suite root (fixture paths are relative to it):");
    o.line(" *");
    o.line(" *     cc -O2 -pthread repro.c -o repro && ./repro");
    o.line(" *");
    o.line(" * Exit status: 0 PASS, XFAIL or XPASS; 1 FAIL; 2 ERROR; 77 SKIP; 124 TIMEOUT.");
    o.line(" */");
    o.finish()
}

/// Every line a step is on (and line 0, which the interpreter shows as the
/// first line of the file), so that messages can quote the step.
fn step_lines(case: &Case) -> Vec<u32> {
    fn walk(b: &crate::case::model::Block, out: &mut Vec<u32>) {
        use crate::case::model::StmtKind;
        for s in b {
            out.push(s.span.line);
            match &s.kind {
                StmtKind::Thread { body, .. } | StmtKind::Fork { body, .. } => walk(body, out),
                StmtKind::Repeat(r) => walk(&r.body, out),
                StmtKind::Op(_) => {}
            }
        }
    }
    let mut v = vec![0];
    walk(&case.body, &mut v);
    v.sort_unstable();
    v.dedup();
    v
}

fn tables(case: &Case) -> String {
    let h = &case.header;
    let mut o = Out::new(0);
    o.open("static const struct ec_line case_lines[] =");
    for l in step_lines(case) {
        o.line(format!("{{ {l}, {} }},", cstr(case.line_text(crate::case::Span::new(l, 1)))));
    }
    o.line("{ 0, NULL },");
    o.close_with(";");
    o.open("static const struct ec_variant case_variant[] =");
    for v in &case.variant {
        o.line(format!("{{ {}, {}, {} }},", cstr(&v.axis), cstr(&v.label), cstr(&v.value)));
    }
    o.line("{ NULL, NULL, NULL },");
    o.close_with(";");
    let requires: Vec<String> = h.requirements(&case.variant).iter().map(|p| cstr(&p.to_string())).collect();
    o.line(format!("static const char *const case_requires[] = {{ {}NULL }};", requires.iter().map(|r| format!("{r}, ")).collect::<String>()));
    o.open("static const struct ec_xfail case_xfail[] =");
    for x in &h.xfail {
        let ranges = x.ranges.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(", ");
        let fail = format!("known-bad on {ranges}: {}", x.reason);
        let pass = format!("passes although {ranges} is listed as known-bad ({}): a fix was probably backported", x.reason);
        for r in &x.ranges {
            let v = |k: Option<crate::case::KVersion>| k.map(|k| format!("{{ {}, {}, {} }}", k.0, k.1, k.2)).unwrap_or_else(|| "{ 0, 0, 0 }".into());
            o.line(format!("{{ {}, {}, {}, {}, {}, {} }},", v(r.from), v(r.to), u8::from(r.from.is_some()), u8::from(r.to.is_some()), cstr(&fail), cstr(&pass)));
        }
    }
    o.line("{ { 0, 0, 0 }, { 0, 0, 0 }, 0, 0, NULL, NULL },");
    o.close_with(";");
    let hints: Vec<String> = crate::exec::runner::hints(case).iter().map(|s| format!("{}, ", cstr(s))).collect();
    o.line(format!("static const char *const case_hints[] = {{ {}NULL }};", hints.concat()));
    o.finish()
}

fn main_function(case: &Case) -> String {
    let mut o = Out::new(0);
    o.line("int main(void)");
    o.open("");
    o.open("static const struct ec_case c =");
    o.line(format!(".path = {},", cstr(&case.path.display().to_string())));
    o.line(format!(".timeout_ns = {}LL,", case.header.timeout.as_nanos()));
    o.line(".lines = case_lines,");
    o.line(".variant = case_variant,");
    o.line(".requires = case_requires,");
    o.line(".xfail = case_xfail,");
    o.line(".hints = case_hints,");
    if crate::exec::limits::uses_ip(&case.body) {
        o.line(".uses_ip = 1,");
    }
    if let Some(key) = &case.header.serial {
        let safe: String = key.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        o.line(format!(".serial = {},", cstr(&safe)));
    }
    o.line(".body = case_main,");
    o.close_with(";");
    o.line("return ec_run(&c);");
    o.close();
    o.finish()
}
