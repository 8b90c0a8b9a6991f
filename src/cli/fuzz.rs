//! `epollcheck fuzz`: the parser and validator under mutated case files for
//! a time budget. A developer tool; CI runs it for a bounded time.

use crate::case::fuzz::{Rng, exercise, mutate};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An input the parser and validator still chew on after this long is a
/// hang: no real case file takes a millisecond.
const HANG: Duration = Duration::from_secs(5);

pub const HELP: &str = "\
usage: epollcheck fuzz [--seconds N] [--seed S] [--save DIR]

Mutates the case files under cases/, fixtures/bad-cases and the examples of
docs/case-format.md (bytes, language tokens, lines, splices, deep nesting)
and feeds every result to the parser and validator for N seconds (default
60). Each input must parse or be rejected with an error located in the
file; a panic is a failure, and so is an input that keeps the parser busy
for more than 5 s (a hang): either way the input is saved under --save DIR
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
    let watchdog = Watchdog::start(save.join(format!("hang-{seed}.ept")));
    let (mut runs, mut rejected, mut failures) = (0u64, 0u64, 0u64);
    while start.elapsed() < budget {
        let a = &corpus[rng.below(corpus.len())];
        let b = &corpus[rng.below(corpus.len())];
        let input = mutate(&mut rng, a, b);
        runs += 1;
        watchdog.feed(runs, &input);
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

/// Watches the fuzz loop from another thread: a panic is caught in the
/// loop, but an input that never finishes parsing can only be seen from
/// outside. On a hang it saves the input and ends the process with 1.
struct Watchdog {
    runs: Arc<AtomicU64>,
    current: Arc<Mutex<String>>,
}

impl Watchdog {
    fn start(file: std::path::PathBuf) -> Watchdog {
        let dog = Watchdog { runs: Arc::new(AtomicU64::new(0)), current: Arc::new(Mutex::new(String::new())) };
        let (runs, current) = (dog.runs.clone(), dog.current.clone());
        std::thread::spawn(move || {
            let (mut seen, mut since) = (0, Instant::now());
            loop {
                std::thread::sleep(Duration::from_millis(250));
                let now = runs.load(Ordering::Relaxed);
                if now != seen {
                    (seen, since) = (now, Instant::now());
                } else if since.elapsed() > HANG {
                    let input = current.lock().map(|s| s.clone()).unwrap_or_default();
                    let _ = std::fs::create_dir_all(file.parent().unwrap_or(std::path::Path::new(".")));
                    let _ = std::fs::write(&file, input);
                    eprintln!("fuzz: input {now} still parsing after {HANG:?} (a hang); input saved as {}", file.display());
                    std::process::exit(1);
                }
            }
        });
        dog
    }

    fn feed(&self, run: u64, input: &str) {
        if let Ok(mut c) = self.current.lock() {
            c.clear();
            c.push_str(input);
        }
        self.runs.store(run, Ordering::Relaxed);
    }
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
