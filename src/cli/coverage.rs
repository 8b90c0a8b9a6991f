//! `epollcheck coverage`: writes (or checks) docs/coverage.md.

use crate::report::coverage::{CaseCover, build, parse_items};
use crate::suite::{self, Suite};

pub const HELP: &str = "\
usage: epollcheck coverage [--check]

Builds docs/coverage.md from docs/coverage-items.txt (the catalogue items
and anchor tests) and the `# covers:` headers of the case files. With
--check, writes nothing and fails when docs/coverage.md is stale, a case
claims an unknown item, or an item is neither covered nor marked untestable.
";

pub fn main(args: &[String]) -> Result<i32, String> {
    let p = super::parse("coverage", args, &[], &["check"])?;
    let suite = Suite::locate()?;
    let items_path = suite.root.join("docs/coverage-items.txt");
    let text = std::fs::read_to_string(&items_path).map_err(|e| format!("cannot read {}: {e}", items_path.display()))?;
    let items = parse_items(&text).map_err(|e| format!("{}: {e}", items_path.display()))?;
    let files = suite.files()?;
    let expanded = suite::expand(&files);
    let mut cases = Vec::new();
    for f in &files {
        let header = f.text.as_ref().ok().and_then(|t| crate::case::discover::header_of(&f.path, t).ok());
        let Some(h) = header else { return Err(format!("{} does not parse (run `epollcheck check`)", f.path.display())) };
        let instances = expanded.iter().filter(|(i, _)| i.path == f.path).count();
        cases.push(CaseCover { file: f.path.display().to_string(), covers: h.covers, instances });
    }
    let report = build(&items, &cases);
    let out = suite.root.join("docs/coverage.md");
    if p.flag("check") {
        let current = std::fs::read_to_string(&out).unwrap_or_default();
        let mut problems = report.problems;
        if current != report.markdown {
            problems.insert(0, "docs/coverage.md is stale: run `epollcheck coverage` and commit it".into());
        }
        for pr in &problems {
            eprintln!("coverage: {pr}");
        }
        println!("{}", report.markdown.lines().filter(|l| l.starts_with("- ")).collect::<Vec<_>>().join("\n"));
        return Ok(if problems.is_empty() { 0 } else { 1 });
    }
    std::fs::write(&out, &report.markdown).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!("wrote {}", out.display());
    for pr in &report.problems {
        eprintln!("coverage: {pr}");
    }
    Ok(0)
}
