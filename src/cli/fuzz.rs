//! `epollcheck fuzz`: the parser and validator under mutated case files for
//! a time budget. A developer tool; CI runs it for a bounded time.

use crate::case::fuzz::{Rng, exercise, mutate};
use std::time::{Duration, Instant};

pub const HELP: &str = "\
usage: epollcheck fuzz [--seconds N] [--seed S] [--save DIR]

Mutates the case files under cases/, fixtures/bad-cases and the examples of
docs/case-format.md (bytes, language tokens, lines, splices, deep nesting)
and feeds every result to the parser and validator for N seconds (default
60). Each input must parse or be rejected with an error located in the
file; a panic is a failure, and the input is saved under --save DIR
(default target/fuzz-crashes). Exit status 1 on any failure.
";

pub fn main(args: &[String]) -> Result<i32, String> {
    let p = super::parse("fuzz", args, &["seconds", "seed", "save"], &[])?;
    let secs = p.number("seconds")?.unwrap_or(60);
    let seed = p.number("seed")?.unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1));
    let save = std::path::PathBuf::from(p.value("save").unwrap_or("target/fuzz-crashes"));
    let corpus = corpus()?;
    let mut rng = Rng::new(seed);
    let start = Instant::now();
    let budget = Duration::from_secs(secs);
    std::panic::set_hook(Box::new(|_| {}));
    let (mut runs, mut rejected, mut failures) = (0u64, 0u64, 0u64);
    while start.elapsed() < budget {
        let a = &corpus[rng.below(corpus.len())];
        let b = &corpus[rng.below(corpus.len())];
        let input = mutate(&mut rng, a, b);
        runs += 1;
        match std::panic::catch_unwind(|| exercise(&input)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) if !e.starts_with("error outside the file") => rejected += 1,
            outcome => {
                failures += 1;
                let why = match outcome {
                    Ok(Err(e)) => e,
                    _ => "panicked".to_string(),
                };
                let _ = std::fs::create_dir_all(&save);
                let file = save.join(format!("failure-{seed}-{runs}.ept"));
                let _ = std::fs::write(&file, &input);
                eprintln!("fuzz: {why}; input saved as {}", file.display());
            }
        }
    }
    let _ = std::panic::take_hook();
    println!(
        "fuzz: {runs} inputs in {:.1} s (seed {seed}, corpus {} files): {} parsed, {rejected} rejected with a located error, {failures} failures",
        start.elapsed().as_secs_f64(),
        corpus.len(),
        runs - rejected - failures
    );
    Ok(if failures == 0 { 0 } else { 1 })
}

fn corpus() -> Result<Vec<String>, String> {
    let suite = crate::suite::Suite::locate()?;
    let mut out: Vec<String> = suite.files()?.into_iter().filter_map(|f| f.text.ok()).collect();
    let bad = suite.root.join("fixtures/bad-cases");
    for p in crate::case::discover::find_files(&bad).unwrap_or_default() {
        if std::fs::metadata(&p).is_ok_and(|m| m.len() < (1 << 20)) {
            out.push(String::from_utf8_lossy(&std::fs::read(&p).unwrap_or_default()).into_owned());
        }
    }
    if let Ok(doc) = std::fs::read_to_string(suite.root.join("docs/case-format.md")) {
        out.extend(crate::trials::doc_examples(&doc).into_iter().map(|(_, t)| t));
    }
    if out.is_empty() {
        return Err("no case files to mutate".into());
    }
    Ok(out)
}
