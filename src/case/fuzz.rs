//! A mutation fuzzer for the parser and validator that runs on stable
//! Rust: it mutates real case files (bytes, tokens, lines, splices) and
//! checks that every input either parses or is rejected with a located
//! error, and that nothing panics, recurses without bound or hangs.

use super::discover::{header_of, variant_combinations};
use super::parse::parse_case;
use std::path::Path;

/// xorshift64*: deterministic from the seed, good enough to mutate with.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }
}

/// Words the language gives meaning to, so mutations reach deep paths.
const DICT: &[&str] = &[
    "{", "}", ";", ",", "=>", "->", "#", "##", "\"", "$i", "$", "@", "@c", "or", "if", "as", "~", "|", "=",
    "repeat", "thread", "fork", "for", "until", "max", "epoll", "ctl", "wait", "epoll_pwait2", "pipe", "source",
    "IN", "OUT", "ET", "ONESHOT", "EXCLUSIVE", "0x80000000", "-1", "0", "18446744073709551615", "-9223372036854775808",
    "99999999999999999999", "1e-6", "10s", "0ns", "9999999s", "kernel>=6.9", "mode=lt", "data=$i", "event=null",
    "# title: t", "# man: m", "# variants: mode=lt:IN,et:IN|ET", "# requires: syscall=epoll_pwait2", "# xfail: 5.5.. x",
    "# stat: s", "check a b uniform", "awake t => 1", "asleep t", "join t", "none", "EINVAL", "p.r IN, q.w OUT",
];

pub fn mutate(rng: &mut Rng, input: &str, other: &str) -> String {
    let mut s = input.to_string();
    for _ in 0..1 + rng.below(4) {
        s = match rng.below(8) {
            0 => flip_byte(rng, &s),
            1 => insert_word(rng, &s),
            2 => delete_span(rng, &s),
            3 => duplicate_line(rng, &s),
            4 => swap_lines(rng, &s),
            5 => splice(rng, &s, other),
            6 => s.chars().take(rng.below(s.chars().count() + 1)).collect(),
            _ => nest(rng, &s),
        };
    }
    s
}

fn char_index(s: &str, rng: &mut Rng) -> usize {
    let n = s.chars().count();
    s.char_indices().nth(rng.below(n + 1)).map_or(s.len(), |(i, _)| i)
}

fn flip_byte(rng: &mut Rng, s: &str) -> String {
    let mut b = s.as_bytes().to_vec();
    if !b.is_empty() {
        let i = rng.below(b.len());
        b[i] ^= 1 << rng.below(8);
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn insert_word(rng: &mut Rng, s: &str) -> String {
    let i = char_index(s, rng);
    let w = DICT[rng.below(DICT.len())];
    let sep = [" ", "\n", ""][rng.below(3)];
    format!("{}{sep}{w}{sep}{}", &s[..i], &s[i..])
}

fn delete_span(rng: &mut Rng, s: &str) -> String {
    let a = char_index(s, rng);
    let len = rng.below(40);
    let b = s[a..].char_indices().nth(len).map_or(s.len(), |(i, _)| a + i);
    format!("{}{}", &s[..a], &s[b..])
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

fn duplicate_line(rng: &mut Rng, s: &str) -> String {
    let mut l = lines(s);
    if !l.is_empty() {
        let i = rng.below(l.len());
        for _ in 0..1 + rng.below(3) {
            l.insert(i, l[i]);
        }
    }
    l.join("\n")
}

fn swap_lines(rng: &mut Rng, s: &str) -> String {
    let mut l = lines(s);
    if l.len() > 1 {
        let (a, b) = (rng.below(l.len()), rng.below(l.len()));
        l.swap(a, b);
    }
    l.join("\n")
}

fn splice(rng: &mut Rng, s: &str, other: &str) -> String {
    let (a, b) = (lines(s), lines(other));
    let cut_a = rng.below(a.len() + 1);
    let cut_b = rng.below(b.len() + 1);
    a[..cut_a].iter().chain(&b[cut_b..]).copied().collect::<Vec<_>>().join("\n")
}

/// Wraps a stretch of lines in blocks, sometimes very deeply.
fn nest(rng: &mut Rng, s: &str) -> String {
    let depth = if rng.below(10) == 0 { 100 + rng.below(5000) } else { 1 + rng.below(20) };
    let opener = ["repeat 2 {", "thread t {", "fork f {", "repeat for 1ms {"][rng.below(4)];
    format!("{s}\n{}\nyield\n{}", format!("{opener}\n").repeat(depth), "}\n".repeat(depth))
}

/// Parses every variant of `text`; an `Err` is fine, a panic is not (the
/// caller catches it).
pub fn exercise(text: &str) -> Result<(), String> {
    let path = Path::new("fuzz.ept");
    let header = header_of(path, text).map_err(|e| e.headline())?;
    for v in variant_combinations(&header).into_iter().take(8) {
        let e = parse_case(path, text, &v);
        if let Err(e) = e {
            // Every rejection must point into the file.
            let lines = text.lines().count().max(1) as u32;
            if e.span.line == 0 || e.span.line > lines + 1 {
                return Err(format!("error outside the file (line {} of {lines}): {e}", e.span.line));
            }
        }
    }
    Ok(())
}
