//! `epollcheck list`: the test instances, and whether each would run here.

use crate::probe;
use crate::suite::{self, Suite};

pub const HELP: &str = "\
usage: epollcheck list [FILTER...] [--format plain|json]

Lists every test instance (a case file times its variants) with its title;
instances whose requirements this machine does not meet are marked SKIP
with the reason, exactly as `run` and `cargo test` would skip them.
";

pub fn main(args: &[String]) -> Result<i32, String> {
    let p = super::parse("list", args, &["format"], &[])?;
    let suite = Suite::locate()?;
    let items = suite::filter(suite::expand(&suite.files()?), &p.pos, false);
    let json = match p.value("format") {
        None | Some("plain") => false,
        Some("json") => true,
        Some(f) => return Err(format!("unknown format `{f}` for list (plain or json)")),
    };
    let mut rows = Vec::new();
    for (inst, header) in &items {
        let (title, skip) = match header {
            Some(h) => (h.title.clone(), probe::unmet(&h.requirements(&inst.variant))),
            None => (String::new(), None),
        };
        rows.push((inst.name.clone(), inst.path.display().to_string(), title, skip));
    }
    if json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|(n, f, t, s)| serde_json::json!({"name": n, "file": f, "title": t, "skip": s}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?);
        return Ok(0);
    }
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    for (name, _, title, skip) in &rows {
        match skip {
            Some(why) => println!("{name:<width$}  SKIP ({why})  {title}"),
            None => println!("{name:<width$}  {title}"),
        }
    }
    eprintln!("{} test instances", rows.len());
    Ok(0)
}
