//! The malformed-input corpus in `fixtures/bad-cases/`: every file must be
//! rejected with exactly the message `EXPECTED` gives, and never panic.

use super::discover::{instances, read_case_file};
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/bad-cases")
}

/// The headline of the first error in a file (any variant), if any.
pub fn first_error(dir: &Path, file: &str) -> Option<String> {
    let cf = read_case_file(dir, Path::new(file), Path::new("."));
    if let Err(e) = &cf.text {
        return Some(e.headline());
    }
    instances(&cf).iter().find_map(|inst| super::load(dir, inst).err()).map(|e| e.headline())
}

#[test]
fn every_bad_case_fails_with_its_exact_message() {
    let dir = corpus_dir();
    let expected = std::fs::read_to_string(dir.join("EXPECTED")).expect("fixtures/bad-cases/EXPECTED");
    let mut checked = 0;
    for line in expected.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let file = line.split(':').next().expect("a file name");
        let got = first_error(&dir, file);
        assert_eq!(got.as_deref(), Some(line), "{file}");
        checked += 1;
    }
    let on_disk = std::fs::read_dir(&dir).unwrap().filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "ept")).count();
    assert_eq!(checked, on_disk, "every .ept file in fixtures/bad-cases needs a line in EXPECTED");
    assert!(checked >= 30, "the corpus holds at least 30 files, has {checked}");
}
