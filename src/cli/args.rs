//! A small, strict argument parser: every subcommand declares its options,
//! and anything else is an error that names the option and the command.

use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Parsed {
    pub pos: Vec<String>,
    values: HashMap<&'static str, Vec<String>>,
    flags: Vec<&'static str>,
}

impl Parsed {
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(|v| v.last()).map(|s| s.as_str())
    }

    pub fn values(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }

    pub fn flag(&self, name: &str) -> bool {
        self.flags.contains(&name)
    }

    /// A numeric option, with a message naming the option when it is not a number.
    pub fn number(&self, name: &str) -> Result<Option<u64>, String> {
        match self.value(name) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| format!("--{name} takes a number, not `{v}`")),
        }
    }
}

/// `with_value` options take an argument (`--out PATH` or `--out=PATH`);
/// `bare` options are switches.
pub fn parse(cmd: &str, args: &[String], with_value: &[&'static str], bare: &[&'static str]) -> Result<Parsed, String> {
    let mut p = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            p.pos.extend(args[i..].iter().cloned());
            break;
        }
        let Some(body) = a.strip_prefix("--") else {
            if a.starts_with('-') && a.len() > 1 && a.parse::<f64>().is_err() {
                return Err(format!("unknown option `{a}` for `epollcheck {cmd}` (see `epollcheck {cmd} --help`)"));
            }
            p.pos.push(a.clone());
            continue;
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        if let Some(&n) = with_value.iter().find(|&&n| n == name) {
            let v = match inline {
                Some(v) => v,
                None if i < args.len() => {
                    i += 1;
                    args[i - 1].clone()
                }
                None => return Err(format!("--{n} needs a value (see `epollcheck {cmd} --help`)")),
            };
            p.values.entry(n).or_default().push(v);
        } else if let Some(&n) = bare.iter().find(|&&n| n == name) {
            if inline.is_some() {
                return Err(format!("--{n} takes no value"));
            }
            p.flags.push(n);
        } else {
            return Err(format!("unknown option `--{name}` for `epollcheck {cmd}` (see `epollcheck {cmd} --help`)"));
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn values_flags_and_positionals() {
        let p = parse("run", &v(&["oneshot", "--out=x.json", "--jobs", "3", "--quiet"]), &["out", "jobs"], &["quiet"]).unwrap();
        assert_eq!(p.pos, vec!["oneshot"]);
        assert_eq!(p.value("out"), Some("x.json"));
        assert_eq!(p.number("jobs"), Ok(Some(3)));
        assert!(p.flag("quiet"));
    }

    #[test]
    fn unknown_options_are_named() {
        let e = parse("run", &v(&["--bogus"]), &[], &[]).unwrap_err();
        assert_eq!(e, "unknown option `--bogus` for `epollcheck run` (see `epollcheck run --help`)");
        let e = parse("run", &v(&["--out"]), &["out"], &[]).unwrap_err();
        assert_eq!(e, "--out needs a value (see `epollcheck run --help`)");
    }
}
