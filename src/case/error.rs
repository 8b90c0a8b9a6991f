//! Errors in case files, each with the file, line and column it is about.

use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// A 1-based position in a case file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Span {
    pub line: u32,
    pub col: u32,
}

impl Span {
    pub fn new(line: u32, col: u32) -> Span {
        Span { line, col }
    }

    /// The span `n` characters further along the same line.
    pub fn shift(self, n: usize) -> Span {
        Span { line: self.line, col: self.col + n as u32 }
    }
}

/// A case file that could not be read, parsed or validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseError {
    pub path: PathBuf,
    pub span: Span,
    /// What was wrong, as a lowercase sentence fragment.
    pub message: String,
    /// The offending source line, for the caret display.
    pub source_line: Option<String>,
}

impl CaseError {
    pub fn new(path: &Path, span: Span, message: impl Into<String>) -> CaseError {
        CaseError {
            path: path.to_path_buf(),
            span,
            message: message.into(),
            source_line: None,
        }
    }

    /// `path:line:col: message`, the first line of the display.
    pub fn headline(&self) -> String {
        format!(
            "{}:{}:{}: {}",
            self.path.display(),
            self.span.line,
            self.span.col,
            self.message
        )
    }
}

impl fmt::Display for CaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.headline())?;
        if let Some(src) = &self.source_line {
            let gutter = self.span.line.to_string();
            let pad = " ".repeat(gutter.len());
            let caret_pad = " ".repeat(self.span.col.saturating_sub(1) as usize);
            write!(f, "\n{pad} |\n{gutter} | {src}\n{pad} | {caret_pad}^")?;
        }
        Ok(())
    }
}

impl std::error::Error for CaseError {}

/// Builds errors for one file, attaching source lines as it goes.
pub(crate) struct ErrorSink<'a> {
    pub path: &'a Path,
    pub lines: &'a [&'a str],
}

impl ErrorSink<'_> {
    pub fn at(&self, span: Span, message: impl Into<String>) -> CaseError {
        let mut e = CaseError::new(self.path, span, message);
        e.source_line = self
            .lines
            .get(span.line.saturating_sub(1) as usize)
            .map(|l| l.trim_end().to_string());
        e
    }
}
