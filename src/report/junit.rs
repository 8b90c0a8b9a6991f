//! JUnit XML, as CI web UIs show it: failures and errors with their
//! message and full text, skips with the reason, XFAIL/XPASS as passes
//! whose outcome is kept in a property.

use super::human::failure_message;
use super::record::RunRecord;
use super::status::Status;

fn esc(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn suite(rec: &RunRecord, label: &str, out: &mut String) {
    let count = |f: &dyn Fn(Status) -> bool| rec.results.iter().filter(|r| f(r.status)).count();
    let failures = count(&|s| s == Status::Fail);
    let errors = count(&|s| matches!(s, Status::Error | Status::Timeout));
    let skipped = count(&|s| s == Status::Skip);
    out.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{:.3}\" timestamp=\"{}\" hostname=\"{}\">\n",
        esc(label),
        rec.results.len(),
        rec.duration_ms / 1e3,
        super::timefmt::rfc3339(rec.started_at).trim_end_matches("+00:00"),
        esc(&rec.kernel.release)
    ));
    out.push_str("    <properties>\n");
    let props = [("kernel.release", rec.kernel.release.clone()), ("kernel.version", rec.kernel.version.clone()), ("arch", rec.kernel.arch.clone()), ("cpus", rec.kernel.cpus.to_string()), ("virt", rec.kernel.virt.clone())];
    for (k, v) in props.iter().chain(rec.meta.iter().filter(|(k, _)| k.as_str() != "console_tail").map(|(k, v)| (k.as_str(), v.clone())).collect::<Vec<_>>().iter()) {
        out.push_str(&format!("      <property name=\"{}\" value=\"{}\"/>\n", esc(k), esc(v)));
    }
    out.push_str("    </properties>\n");
    for r in &rec.results {
        let (class, name) = match r.name.rsplit_once("::") {
            Some((c, n)) => (c.replace("::", "."), n.to_string()),
            None => (String::new(), r.name.clone()),
        };
        out.push_str(&format!("    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" time=\"{:.3}\"", esc(&class), esc(&name), esc(&r.file), r.duration_ms / 1e3));
        let reason = r.reason.clone().unwrap_or_default();
        let first = reason.lines().next().unwrap_or("").to_string();
        match r.status {
            Status::Pass => out.push_str("/>\n"),
            Status::Xfail | Status::Xpass => {
                out.push_str(&format!(">\n      <properties><property name=\"epollcheck.status\" value=\"{}\"/></properties>\n      <system-out>{}: {}</system-out>\n    </testcase>\n", r.status, r.status, esc(&reason)));
            }
            Status::Skip => out.push_str(&format!(">\n      <skipped message=\"{}\"/>\n    </testcase>\n", esc(&first))),
            Status::Fail => out.push_str(&format!(">\n      <failure message=\"{}\" type=\"FAIL\">{}</failure>\n    </testcase>\n", esc(&first), esc(&failure_message(r)))),
            Status::Timeout | Status::Error => out.push_str(&format!(
                ">\n      <error message=\"{}\" type=\"{}\">{}</error>\n    </testcase>\n",
                esc(&first),
                r.status,
                esc(&failure_message(r))
            )),
        }
    }
    out.push_str("  </testsuite>\n");
}

pub fn to_junit(cols: &[(String, RunRecord)]) -> String {
    let total: usize = cols.iter().map(|(_, r)| r.results.len()).sum();
    let mut out = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"epollcheck\" tests=\"{total}\">\n");
    for (label, rec) in cols {
        suite(rec, label, &mut out);
    }
    out.push_str("</testsuites>\n");
    out
}
