//! The generator's own tests: small cases export to C that compiles without
//! warnings and reaches the interpreter's verdict with its messages.

use super::export_c;
use crate::case::model::{Pattern, StmtKind};
use crate::case::parse_case;
use std::path::Path;
use std::process::Command;

fn case(body: &str) -> crate::case::Case {
    let text = format!("# title: t\n# man: epoll(7)\n{body}");
    parse_case(Path::new("cases/t.ept"), &text, &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// Compiles the program as the agreement check does and runs it; `None`
/// where there is no C compiler.
fn build_and_run(c: &str, name: &str) -> Option<(i32, String)> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    if Command::new(&cc).arg("--version").output().is_err() {
        eprintln!("no C compiler ({cc}): not compiling the export");
        return None;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let src = dir.path().join(format!("{name}.c"));
    let bin = dir.path().join(name);
    std::fs::write(&src, c).expect("write the program");
    let out = Command::new(&cc).args(["-O2", "-pthread", "-Wall", "-Wextra", "-Werror"]).arg(&src).arg("-o").arg(&bin).output().expect("run cc");
    let diagnostics = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && diagnostics.is_empty(), "the export does not compile cleanly:\n{diagnostics}");
    let run = Command::new(&bin).current_dir(env!("CARGO_MANIFEST_DIR")).output().expect("run the program");
    Some((run.status.code().unwrap_or(-1), String::from_utf8_lossy(&run.stdout).into_owned()))
}

#[test]
fn a_small_case_exports_compiles_and_passes() {
    let c = export_c(&case("epoll e\npipe p\nctl e add p.r IN|ONESHOT data=7\nwrite p.w 1\nwait e 0 => p.r IN data=7\nwait e 0 => none\n")).unwrap();
    assert!(c.contains("/* cases/t.ept:5: ctl e add p.r IN|ONESHOT data=7 */"), "{c}");
    assert!(c.contains("syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, fd, &ev)"));
    assert!(c.contains("EXPECT(\"p.r EPOLLIN data=7\");"));
    if let Some((code, out)) = build_and_run(&c, "small") {
        assert_eq!((code, out.as_str()), (0, "PASS\n"));
    }
}

#[test]
fn a_failure_reads_as_the_interpreter_reports_it() {
    let c = export_c(&case("epoll e\npipe p\nctl e add p.r IN\nclose p.w\nwait e 0 => p.r IN\n")).unwrap();
    if let Some((code, out)) = build_and_run(&c, "fails") {
        assert_eq!(code, 1);
        assert_eq!(out, "cases/t.ept:7: wait e 0 => p.r IN\n    expected: p.r EPOLLIN\n    observed: 1 event: p.r EPOLLHUP\n");
    }
}

#[test]
fn threads_loops_counters_and_statistics_run_in_c() {
    let body = "# stat: exact round robin\nepoll e\nrepeat 4 as i {\n  eventfd ev$i 1\n  ctl e add ev$i IN\n}\n\
                repeat 40 {\n  wait e 0 max=1 => ev0 IN @a or ev1 IN @b or ev2 IN @c or ev3 IN @d\n}\n\
                check a b c d uniform\nthread t { wait e -1 max=1 => 1 events as got ; read got => 1 }\njoin t\n\
                fork kid { wait e 0 => 3 events }\njoin kid\ncheck a+b == c+d\n";
    let c = export_c(&case(body)).unwrap();
    assert!(c.contains("static void thread_t_"), "{c}");
    assert!(c.contains("static void fork_kid_"));
    if let Some((code, out)) = build_and_run(&c, "threads") {
        assert_eq!(code, 0, "{out}");
        assert!(out.ends_with("PASS\n") && out.contains("a=10 b=10 c=10 d=10 within"), "{out}");
    }
}

#[test]
fn unmet_requirements_skip_and_deadlines_time_out() {
    let skip = export_c(&case("# requires: path=/no/such/path\nepoll e\n")).unwrap();
    if let Some((code, out)) = build_and_run(&skip, "skip") {
        assert_eq!((code, out.as_str()), (77, "SKIP: /no/such/path does not exist\n"));
    }
    let stuck = export_c(&case("# timeout: 300ms\nepoll e\nwait e -1\n")).unwrap();
    if let Some((code, out)) = build_and_run(&stuck, "stuck") {
        assert_eq!(code, 124);
        assert_eq!(out, "TIMEOUT: no result within 300ms; it was at cases/t.ept:5: wait e -1 (main)\n");
    }
}

#[test]
fn expectations_spell_out_flags_guards_and_labels() {
    let c = export_c(&case("epoll e\nwait e 0 => e ~IN|RDHUP data=3, 4 OUT or EINTR if kernel>=6.9 @late or none if !root\npoll e:IN|PRI => none\n")).unwrap();
    assert!(c.contains("EXPECT(\"e ~EPOLLIN|EPOLLRDHUP data=3, 4 EPOLLOUT or EINTR if kernel>=6.9.0 @late or none if !root\");"), "{c}");
    assert!(c.contains("RUN(ec_poll(cx, NAMES(\"e\"), (const short[]){ POLLIN | POLLPRI }, 1, 0));"));
}

#[test]
fn what_cannot_be_rendered_is_refused_with_its_line() {
    let mut c = case("epoll e\nepoll f => EINVAL\n");
    let StmtKind::Op(op) = &mut c.body[1].kind else { panic!() };
    op.expect.as_mut().unwrap().alts[0].pattern = Pattern::Errno(4095);
    let e = export_c(&c).unwrap_err();
    assert_eq!(e.to_string(), "cases/t.ept:4: cannot export `errno 4095`: the runtime knows errnos by name only");
}

#[test]
fn the_runtime_bands_agree_with_the_interpreter_to_1e_9() {
    let cases: &[(&[i64], f64)] = &[(&[250, 250, 250, 250], 1e-6), (&[1, 2, 3], 0.05), (&[400, 200, 200, 200], 1e-6), (&[7, 0], 0.5), (&[123_456, 120_000, 130_001, 99, 5], 1e-9)];
    let mut main = String::from("int main(void)\n{\n\tdouble lo, hi, chi2;\n");
    for (counts, alpha) in cases {
        let list: Vec<String> = counts.iter().map(|c| c.to_string()).collect();
        main.push_str(&format!("\t{{ long long c[] = {{ {} }}; ec_band(c, {}, {alpha:e}, &lo, &hi, &chi2); printf(\"%.17g %.17g %.17g\\n\", lo, hi, chi2); }}\n", list.join(", "), counts.len()));
    }
    main.push_str("\treturn 0;\n}\n");
    let Some((code, out)) = build_and_run(&format!("{}\n{main}", super::RUNTIME), "bands") else { return };
    assert_eq!(code, 0);
    for ((counts, alpha), line) in cases.iter().zip(out.lines()) {
        let want = crate::exec::uniform_band(counts, *alpha);
        let got: Vec<f64> = line.split(' ').map(|v| v.parse().unwrap()).collect();
        for (g, w) in got.iter().zip([want.lo, want.hi, want.chi2]) {
            assert!((g - w).abs() <= 1e-9 * w.abs().max(1.0), "{counts:?} alpha {alpha}: C {g}, Rust {w}");
        }
    }
}
