//! Finds case files and expands each into test instances, one per variant,
//! named after their path: `cases/oneshot/disarm.ept` is `oneshot::disarm`,
//! and its `epoll_pwait2` variant `oneshot::disarm::epoll_pwait2`.

use super::error::{CaseError, ErrorSink, Span};
use super::header::{Header, parse_header};
use super::model::{Case, VariantValue};
use super::parse::parse_case;
use std::path::{Path, PathBuf};

/// The extension of case files.
pub const EXT: &str = "ept";

/// Refuse files larger than this: a case is a page of text, and reading a
/// stray multi-megabyte file into every test process would be a mistake.
pub const MAX_CASE_BYTES: u64 = 1 << 20;

/// One test: a file and a choice of variant values.
#[derive(Clone, Debug)]
pub struct Instance {
    pub name: String,
    pub path: PathBuf,
    pub variant: Vec<VariantValue>,
}

/// A case file, read and with its header parsed (or the error that stopped it).
#[derive(Clone, Debug)]
pub struct CaseFile {
    pub path: PathBuf,
    pub base_name: String,
    pub text: Result<String, CaseError>,
}

/// Lists `*.ept` files under `root`, sorted, as paths that start with `root`.
pub fn find_files(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    walk(root, &mut out)?;
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let ft = entry.file_type()?;
        if ft.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == EXT) {
            out.push(path);
        }
    }
    Ok(())
}

/// `cases/close-dup/dup-keeps.ept` under root `cases` → `close_dup::dup_keeps`.
pub fn base_name(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path).with_extension("");
    rel.components()
        .map(|c| sanitize(&c.as_os_str().to_string_lossy()))
        .collect::<Vec<_>>()
        .join("::")
}

pub fn sanitize(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}

/// Reads `dir/rel`; the case keeps `rel` as its path (`cases/x.ept`), the
/// name messages and records use. `names_root` is what the test name is
/// relative to (`cases`).
pub fn read_case_file(dir: &Path, rel: &Path, names_root: &Path) -> CaseFile {
    let text = read_text(&dir.join(rel)).map_err(|mut e| {
        e.path = rel.to_path_buf();
        e
    });
    CaseFile { path: rel.to_path_buf(), base_name: base_name(names_root, rel), text }
}

fn read_text(path: &Path) -> Result<String, CaseError> {
    let at = Span::new(1, 1);
    let meta = std::fs::metadata(path).map_err(|e| CaseError::new(path, at, format!("cannot read the file: {e}")))?;
    if meta.len() > MAX_CASE_BYTES {
        return Err(CaseError::new(path, at, format!("file is {} bytes; a case file may be at most {} bytes", meta.len(), MAX_CASE_BYTES)));
    }
    let bytes = std::fs::read(path).map_err(|e| CaseError::new(path, at, format!("cannot read the file: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = upto.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
        let col = upto.iter().rev().take_while(|&&b| b != b'\n').count() as u32 + 1;
        CaseError::new(path, Span::new(line, col), "the file is not UTF-8 text")
    })
}

/// Parses just the header, for listing and variant expansion.
pub fn header_of(path: &Path, text: &str) -> Result<Header, CaseError> {
    let lines: Vec<&str> = text.lines().collect();
    let sink = ErrorSink { path, lines: &lines };
    parse_header(&sink).map(|(h, _)| h)
}

/// Every combination of the header's variant axes (one empty combination
/// when there are none).
pub fn variant_combinations(h: &Header) -> Vec<Vec<VariantValue>> {
    let mut combos: Vec<Vec<VariantValue>> = vec![vec![]];
    for axis in &h.variants {
        let mut next = Vec::new();
        for combo in &combos {
            for (label, value) in &axis.values {
                let mut c = combo.clone();
                c.push(VariantValue { axis: axis.name.clone(), label: label.clone(), value: value.clone() });
                next.push(c);
            }
        }
        combos = next;
    }
    combos
}

pub fn instance_name(base: &str, variant: &[VariantValue]) -> String {
    let mut name = base.to_string();
    for v in variant {
        name.push_str("::");
        name.push_str(&sanitize(&v.label));
    }
    name
}

/// The instances of one file. A file whose header does not parse still
/// yields one instance (named after the file) so that the error shows up
/// as a failing test instead of vanishing from the list.
pub fn instances(file: &CaseFile) -> Vec<Instance> {
    let header = file.text.as_ref().ok().and_then(|t| header_of(&file.path, t).ok());
    let combos = header.as_ref().map(variant_combinations).unwrap_or_else(|| vec![vec![]]);
    combos
        .into_iter()
        .map(|variant| Instance { name: instance_name(&file.base_name, &variant), path: file.path.clone(), variant })
        .collect()
}

/// Reads and parses one instance; a relative path is relative to `root`.
pub fn load(root: &Path, inst: &Instance) -> Result<Case, CaseError> {
    let text = read_text(&root.join(&inst.path)).map_err(|mut e| {
        e.path = inst.path.clone();
        e
    })?;
    parse_case(&inst.path, &text, &inst.variant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_paths() {
        let root = Path::new("cases");
        assert_eq!(base_name(root, Path::new("cases/oneshot/disarm.ept")), "oneshot::disarm");
        assert_eq!(base_name(root, Path::new("cases/close-dup/dup-keeps.ept")), "close_dup::dup_keeps");
    }
}
