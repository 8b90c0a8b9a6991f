//! Splits the body of a case file into tokens with positions.
//!
//! The language is line-oriented: a newline ends a step, `;` separates steps
//! inside an inline block, `{`/`}` open and close blocks, `=>` starts the
//! expectation and `#` starts a comment.

use super::error::{CaseError, ErrorSink, Span};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    Word(String),
    Str(String),
    LBrace,
    RBrace,
    Semi,
    Comma,
    Arrow,
    Capture,
    Newline,
}

#[derive(Clone, Debug)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

impl Token {
    pub fn word(&self) -> Option<&str> {
        match &self.tok {
            Tok::Word(w) => Some(w),
            _ => None,
        }
    }

    /// How the token looks in the source, for messages.
    pub fn describe(&self) -> String {
        match &self.tok {
            Tok::Word(w) => format!("`{w}`"),
            Tok::Str(s) => format!("\"{s}\""),
            Tok::LBrace => "`{`".into(),
            Tok::RBrace => "`}`".into(),
            Tok::Semi => "`;`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Arrow => "`=>`".into(),
            Tok::Capture => "`->`".into(),
            Tok::Newline => "the end of the line".into(),
        }
    }
}

/// Values substituted for `$name` while lexing (the case's variant axes).
pub type Substitutions<'a> = &'a [(String, String)];

/// Tokenises lines `first_line..` of a file; lines before it are the header.
pub(crate) fn lex(
    sink: &ErrorSink<'_>,
    first_line: usize,
    subst: Substitutions<'_>,
) -> Result<Vec<Token>, CaseError> {
    let mut out = Vec::new();
    for (idx, line) in sink.lines.iter().enumerate().skip(first_line) {
        let lineno = (idx + 1) as u32;
        lex_line(sink, line, lineno, subst, &mut out)?;
        out.push(Token {
            tok: Tok::Newline,
            span: Span::new(lineno, line.chars().count() as u32 + 1),
        });
    }
    Ok(out)
}

fn lex_line(
    sink: &ErrorSink<'_>,
    line: &str,
    lineno: u32,
    subst: Substitutions<'_>,
    out: &mut Vec<Token>,
) -> Result<(), CaseError> {
    let chars: Vec<char> = line.chars().collect();
    if let Some(pos) = chars.iter().position(|c| c.is_control() && *c != '\t') {
        let span = Span::new(lineno, pos as u32 + 1);
        return Err(sink.at(span, format!("unexpected control character U+{:04X}", chars[pos] as u32)));
    }
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let span = Span::new(lineno, i as u32 + 1);
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' {
            break;
        }
        let single = match c {
            '{' => Some(Tok::LBrace),
            '}' => Some(Tok::RBrace),
            ';' => Some(Tok::Semi),
            ',' => Some(Tok::Comma),
            _ => None,
        };
        if let Some(tok) = single {
            out.push(Token { tok, span });
            i += 1;
            continue;
        }
        if c == '"' {
            let (text, next) = lex_string(sink, &chars, i, lineno)?;
            out.push(Token { tok: Tok::Str(text), span });
            i = next;
            continue;
        }
        let start = i;
        while i < chars.len() && !is_word_break(chars[i]) {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        split_arrows(&word, span, subst, out);
    }
    Ok(())
}

fn is_word_break(c: char) -> bool {
    c.is_whitespace() || matches!(c, '{' | '}' | ';' | ',' | '"' | '#')
}

/// `a=>b` and `x->c` are written without spaces often enough to allow it.
fn split_arrows(word: &str, span: Span, subst: Substitutions<'_>, out: &mut Vec<Token>) {
    let mut rest = word;
    let mut col = span.col;
    while !rest.is_empty() {
        let arrow = rest.find("=>");
        let capture = rest.find("->");
        let cut = match (arrow, capture) {
            (Some(a), Some(c)) => Some(a.min(c)),
            (a, c) => a.or(c),
        };
        let Some(pos) = cut else {
            push_word(rest, Span::new(span.line, col), subst, out);
            return;
        };
        if pos > 0 {
            push_word(&rest[..pos], Span::new(span.line, col), subst, out);
        }
        let tok = if rest[pos..].starts_with("=>") { Tok::Arrow } else { Tok::Capture };
        out.push(Token { tok, span: Span::new(span.line, col + pos as u32) });
        col += pos as u32 + 2;
        rest = &rest[pos + 2..];
    }
}

fn push_word(word: &str, span: Span, subst: Substitutions<'_>, out: &mut Vec<Token>) {
    let mut text = word.to_string();
    if text.contains('$') {
        // Longest keys first, so `$kind2` is not eaten by `$kind`.
        let mut keys: Vec<&(String, String)> = subst.iter().collect();
        keys.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
        for (k, v) in keys {
            text = text.replace(&format!("${k}"), v);
        }
    }
    out.push(Token { tok: Tok::Word(text), span });
}

fn lex_string(
    sink: &ErrorSink<'_>,
    chars: &[char],
    open: usize,
    lineno: u32,
) -> Result<(String, usize), CaseError> {
    let mut text = String::new();
    let mut i = open + 1;
    while i < chars.len() {
        match chars[i] {
            '"' => return Ok((text, i + 1)),
            '\\' if i + 1 < chars.len() => {
                text.push(match chars[i + 1] {
                    'n' => '\n',
                    't' => '\t',
                    '0' => '\0',
                    other => other,
                });
                i += 2;
            }
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    Err(sink.at(
        Span::new(lineno, open as u32 + 1),
        "unterminated string (expected a closing `\"` on the same line)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn toks(src: &str) -> Vec<Tok> {
        let lines: Vec<&str> = src.lines().collect();
        let sink = ErrorSink { path: Path::new("t.ept"), lines: &lines };
        let subst = vec![("kind".to_string(), "pipe".to_string())];
        lex(&sink, 0, &subst).unwrap().into_iter().map(|t| t.tok).collect()
    }

    fn w(s: &str) -> Tok {
        Tok::Word(s.to_string())
    }

    #[test]
    fn splits_arrows_without_spaces() {
        assert_eq!(
            toks("wait e 0=>none -> c # note"),
            vec![w("wait"), w("e"), w("0"), Tok::Arrow, w("none"), Tok::Capture, w("c"), Tok::Newline]
        );
    }

    #[test]
    fn negative_numbers_are_not_captures() {
        assert_eq!(toks("wait e -1"), vec![w("wait"), w("e"), w("-1"), Tok::Newline]);
    }

    #[test]
    fn substitutes_variant_values() {
        assert_eq!(toks("source s $kind"), vec![w("source"), w("s"), w("pipe"), Tok::Newline]);
    }

    #[test]
    fn blocks_and_strings() {
        assert_eq!(
            toks("thread t { write p.w \"a;b\"; }"),
            vec![
                w("thread"),
                w("t"),
                Tok::LBrace,
                w("write"),
                w("p.w"),
                Tok::Str("a;b".into()),
                Tok::Semi,
                Tok::RBrace,
                Tok::Newline
            ]
        );
    }
}
