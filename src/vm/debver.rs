//! Debian version ordering (deb-version(7)), to pick the newest kernel
//! package of a series.

use std::cmp::Ordering;

/// Compares two Debian versions `[epoch:]upstream[-revision]`.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (ea, ra) = split_epoch(a);
    let (eb, rb) = split_epoch(b);
    ea.cmp(&eb).then_with(|| {
        let (ua, da) = ra.rsplit_once('-').unwrap_or((ra, "0"));
        let (ub, db) = rb.rsplit_once('-').unwrap_or((rb, "0"));
        compare_part(ua, ub).then_with(|| compare_part(da, db))
    })
}

fn split_epoch(v: &str) -> (u64, &str) {
    match v.split_once(':') {
        Some((e, r)) if e.chars().all(|c| c.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
        _ => (0, v),
    }
}

/// `~` sorts before everything, even the end of the string; letters sort
/// before other characters.
fn char_order(c: Option<char>) -> i32 {
    match c {
        Some('~') => -1,
        None => 0,
        Some(c) if c.is_ascii_alphabetic() => c as i32,
        Some(c) => c as i32 + 256,
    }
}

fn compare_part(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        if a.is_empty() && b.is_empty() {
            return Ordering::Equal;
        }
        let na = a.find(|c: char| c.is_ascii_digit()).unwrap_or(a.len());
        let nb = b.find(|c: char| c.is_ascii_digit()).unwrap_or(b.len());
        let (sa, sb) = (&a[..na], &b[..nb]);
        let mut ca = sa.chars();
        let mut cb = sb.chars();
        loop {
            let (x, y) = (ca.next(), cb.next());
            if x.is_none() && y.is_none() {
                break;
            }
            let o = char_order(x).cmp(&char_order(y));
            if o != Ordering::Equal {
                return o;
            }
        }
        a = &a[na..];
        b = &b[nb..];
        let da = a.find(|c: char| !c.is_ascii_digit()).unwrap_or(a.len());
        let db = b.find(|c: char| !c.is_ascii_digit()).unwrap_or(b.len());
        let xa: u128 = a[..da].parse().unwrap_or(0);
        let xb: u128 = b[..db].parse().unwrap_or(0);
        if xa != xb {
            return xa.cmp(&xb);
        }
        a = &a[da..];
        b = &b[db..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_ordering() {
        assert_eq!(compare("6.1.192-3", "6.1.176-1"), Ordering::Greater);
        assert_eq!(compare("5.10.262-1", "5.10.251-5"), Ordering::Greater);
        assert_eq!(compare("7.3~rc7-1~exp1", "7.3-1"), Ordering::Less);
        assert_eq!(compare("6.12.95-1~bpo12+1", "6.12.95-1"), Ordering::Less);
        assert_eq!(compare("1:1.0", "2.0"), Ordering::Greater);
        assert_eq!(compare("1.0a", "1.0"), Ordering::Greater);
        assert_eq!(compare("1.0", "1.0"), Ordering::Equal);
    }
}
