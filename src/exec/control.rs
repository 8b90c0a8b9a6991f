//! Steps that steer a case rather than call epoll: signals, counters,
//! checks, claims, and the conditions of `until` and `if`.

use super::failure::FailKind;
use super::fixtures::call;
use super::interp::{Ctx, Exec, StepResult};
use super::outcome::Outcome;
use super::state::lock;
use crate::case::model::*;
use crate::names::signal_name;
use crate::sys::signal as sig;

pub use super::concurrency::{spawn_fork, spawn_thread};

pub fn execute(ctx: &mut Ctx, a: &Action) -> StepResult {
    match a {
        Action::SigAction { sig: s, disposition } => {
            let d = match disposition {
                SigDisposition::Handler { restart } => sig::Disposition::Count { restart: *restart },
                SigDisposition::Ignore => sig::Disposition::Ignore,
                SigDisposition::Default => sig::Disposition::Default,
            };
            let r = sig::set_disposition(*s, d);
            Ok(Exec { outcome: Outcome::from_result(r), call: call!(ctx, "sigaction({}, {})", signal_name(*s), disposition_name(disposition)) })
        }
        Action::SigMask { how, sigs } => {
            let h = match how {
                SigHow::Block => libc::SIG_BLOCK,
                SigHow::Unblock => libc::SIG_UNBLOCK,
                SigHow::Set => libc::SIG_SETMASK,
            };
            let r = sig::sigprocmask(h, sig::kernel_sigset(sigs)).map(|_| 0);
            Ok(Exec { outcome: Outcome::from_result(r), call: call!(ctx, "rt_sigprocmask({}, {})", crate::names::flags::sig_how_name(*how), crate::names::flags::sigset_name(sigs)) })
        }
        Action::Kill { target, sig: s } => super::concurrency::kill(ctx, target, *s),
        Action::Handled { sig: s } => Ok(Exec { outcome: Outcome::Ret(sig::handled(*s) as i64), call: call!(ctx, "handler runs of {}", signal_name(*s)) }),
        Action::Asleep { names } => super::concurrency::asleep(ctx, names),
        Action::Awake { names, window } => super::concurrency::awake(ctx, names, *window),
        Action::Interrupt { names } => super::concurrency::interrupt(ctx, names),
        Action::Join { names, within } => super::concurrency::join(ctx, names, *within),
        Action::Dice { sides } => {
            let mut b = [0u8; 8];
            std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").map_err(|e| ctx.error(format!("cannot open /dev/urandom: {e}")))?, &mut b)
                .map_err(|e| ctx.error(format!("cannot read /dev/urandom: {e}")))?;
            let roll = u64::from_ne_bytes(b) % sides;
            Ok(Exec { outcome: Outcome::Ret(roll as i64), call: call!(ctx, "dice {sides}: rolled {roll}") })
        }
        Action::Yield => {
            std::thread::yield_now();
            Ok(Exec { outcome: Outcome::Ret(0), call: call!(ctx, "sched_yield()") })
        }
        Action::Claim { fd } => {
            let fd = ctx.fd(fd)?;
            let mut c = lock(&ctx.sh.claims);
            let holders = c.entry(fd).or_insert(0);
            let before = *holders;
            *holders += 1;
            Ok(Exec { outcome: Outcome::Ret(before as i64), call: call!(ctx, "claim fd {fd} ({before} other holders)") })
        }
        Action::Release { fd } => {
            let fd = ctx.fd(fd)?;
            let mut c = lock(&ctx.sh.claims);
            let holders = c.entry(fd).or_insert(0);
            *holders = holders.saturating_sub(1);
            Ok(Exec { outcome: Outcome::Ret(0), call: call!(ctx, "release fd {fd}") })
        }
        Action::Reset { counters } => {
            let mut c = lock(&ctx.sh.counters);
            for n in counters {
                c.insert(n.clone(), 0);
            }
            Ok(Exec { outcome: Outcome::Ret(0), call: None })
        }
        Action::Check(check) => run_check(ctx, check),
        Action::Report { counters } => {
            let line = counters.iter().map(|n| format!("{n}={}", ctx.sh.counter(n))).collect::<Vec<_>>().join(" ");
            lock(&ctx.sh.notes).push(line.clone());
            Ok(Exec { outcome: Outcome::Ret(0), call: call!(ctx, "report {line}") })
        }
        other => Err(ctx.error(format!("internal: no executor for {other:?}"))),
    }
}

fn sum(ctx: &Ctx, names: &[String]) -> i64 {
    names.iter().map(|n| ctx.sh.counter(n)).sum()
}

fn rhs(ctx: &Ctx, o: &Operand) -> i64 {
    match o {
        Operand::Int(v) => *v,
        Operand::Sum(s) => sum(ctx, s),
    }
}

pub fn cond_holds(ctx: &Ctx, c: &Cond) -> bool {
    c.op.holds(sum(ctx, &c.lhs), rhs(ctx, &c.rhs))
}

fn show_cond(ctx: &Ctx, c: &Cond) -> (String, String) {
    let lhs = c.lhs.join("+");
    let r = match &c.rhs {
        Operand::Int(v) => v.to_string(),
        Operand::Sum(s) => s.join("+"),
    };
    let values: Vec<String> = c.lhs.iter().chain(match &c.rhs {
        Operand::Sum(s) => s.iter(),
        Operand::Int(_) => [].iter(),
    }).map(|n| format!("{n} = {}", ctx.sh.counter(n))).collect();
    (format!("{lhs} {} {r}", c.op.symbol()), values.join(", "))
}

fn run_check(ctx: &mut Ctx, check: &Check) -> StepResult {
    match check {
        Check::Compare(c) => {
            let (text, values) = show_cond(ctx, c);
            if cond_holds(ctx, c) {
                return Ok(Exec { outcome: Outcome::Ret(1), call: call!(ctx, "check {text} [{values}] holds") });
            }
            Err(ctx.failure(FailKind::Fail, text, values, None))
        }
        Check::Uniform { counters, alpha } => {
            let counts: Vec<i64> = counters.iter().map(|n| ctx.sh.counter(n)).collect();
            let u = uniform_band(&counts, *alpha);
            let shown: Vec<String> = counters.iter().zip(&counts).map(|(n, c)| format!("{n}={c}")).collect();
            let note = format!(
                "{} within [{:.1}, {:.1}] (Hoeffding band, false-alarm rate {alpha:e}); chi-square {:.2} with {} d.o.f.",
                shown.join(" "), u.lo, u.hi, u.chi2, counts.len().saturating_sub(1)
            );
            lock(&ctx.sh.notes).push(note.clone());
            if u.total > 0 && counts.iter().all(|&c| (c as f64) >= u.lo && (c as f64) <= u.hi) {
                return Ok(Exec { outcome: Outcome::Ret(1), call: call!(ctx, "check uniform: {note}") });
            }
            Err(ctx.failure(
                FailKind::Fail,
                format!("every count within [{:.1}, {:.1}] of {} total (uniform, false-alarm rate {alpha:e})", u.lo, u.hi, u.total),
                shown.join(" "),
                Some(format!("chi-square {:.2} with {} d.o.f.", u.chi2, counts.len().saturating_sub(1))),
            ))
        }
    }
}

/// The acceptance band of a uniformity check: with N counts over K cells,
/// each cell is within `t = sqrt(N/2 · ln(2K/α))` of N/K except with
/// probability at most α (Hoeffding per cell, union bound over cells).
pub struct Band {
    pub total: i64,
    pub lo: f64,
    pub hi: f64,
    pub chi2: f64,
}

pub fn uniform_band(counts: &[i64], alpha: f64) -> Band {
    let total: i64 = counts.iter().sum();
    let k = counts.len().max(1) as f64;
    let n = total as f64;
    let mean = n / k;
    let t = (n / 2.0 * (2.0 * k / alpha).ln()).sqrt();
    let chi2 = if mean > 0.0 { counts.iter().map(|&c| (c as f64 - mean).powi(2) / mean).sum() } else { 0.0 };
    Band { total, lo: mean - t, hi: mean + t, chi2 }
}

pub fn guard_holds(ctx: &Ctx, g: &Guard) -> bool {
    match g {
        Guard::Kernel { op, version } => ctx.sh.kernel.is_some_and(|k| op.holds(k, *version)),
        Guard::Probe { probe, negate } => crate::probe::check(probe).is_ok() != *negate,
        Guard::Variant { axis, label, negate } => ctx.sh.case.variant.iter().any(|v| &v.axis == axis && &v.label == label) != *negate,
        Guard::All(gs) => gs.iter().all(|g| guard_holds(ctx, g)),
    }
}

/// `SIG_IGN`, `SIG_DFL`, or our counting handler (with SA_RESTART or not).
fn disposition_name(d: &SigDisposition) -> &'static str {
    match d {
        SigDisposition::Handler { restart: true } => "{counting handler, SA_RESTART}",
        SigDisposition::Handler { restart: false } => "{counting handler}",
        SigDisposition::Ignore => "SIG_IGN",
        SigDisposition::Default => "SIG_DFL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hoeffding_band_matches_the_catalogue() {
        // K=4, N=1000, alpha=1e-6: t = 89.1, accept 161..339 (catalogue §4.3).
        let b = uniform_band(&[250, 250, 250, 250], 1e-6);
        assert!((b.lo - 160.9).abs() < 0.2, "{}", b.lo);
        assert!((b.hi - 339.1).abs() < 0.2, "{}", b.hi);
        assert_eq!(b.chi2, 0.0);
    }

    #[test]
    fn a_starved_cell_falls_outside_the_band() {
        let b = uniform_band(&[400, 200, 200, 200], 1e-6);
        assert!(400.0 > b.hi);
    }
}
