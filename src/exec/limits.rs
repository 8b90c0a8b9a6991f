//! Containment of a case process: resource limits, so that a runaway case
//! (a loop that opens fds or starts threads without end) cannot take the
//! machine down, and, when run as root, a private network namespace for
//! cases that use IP, so they never meet the host's ports or services.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// Open files per case: far above what any case needs (the path-limit
/// cases make about 1000 epoll instances), far below the host's limit.
pub const MAX_FILES: u64 = 8192;
/// Address space: cases allocate little, but a wait with a huge maxevents
/// reserves (never touches) up to 25 GiB of address space.
pub const MAX_ADDRESS_SPACE: u64 = 64 << 30;
/// CPU seconds: far above any case's deadline (the runner kills at the
/// deadline); a backstop if the runner itself were gone.
pub const MAX_CPU_SECONDS: u64 = 300;
/// Threads a case may have alive at once.
pub const MAX_THREADS: usize = 512;

/// Lowers the soft and hard limits of this process; limits already lower
/// are kept.
pub fn apply() {
    for (res, want) in [(Resource::RLIMIT_NOFILE, MAX_FILES), (Resource::RLIMIT_AS, MAX_ADDRESS_SPACE), (Resource::RLIMIT_CPU, MAX_CPU_SECONDS)] {
        if let Ok((soft, hard)) = getrlimit(res) {
            let _ = setrlimit(res, soft.min(want), hard.min(want).max(soft.min(want)));
        }
    }
}

/// Whether the case makes IP sockets (TCP or UDP, including `source`).
pub fn uses_ip(block: &crate::case::model::Block) -> bool {
    use crate::case::model::{Action, SourceKind, StmtKind};
    block.iter().any(|s| match &s.kind {
        StmtKind::Op(op) => matches!(
            op.action,
            Action::Socket { .. } | Action::Source { kind: SourceKind::Tcp | SourceKind::Tcp6 | SourceKind::Udp, .. }
        ),
        StmtKind::Thread { body, .. } | StmtKind::Fork { body, .. } => uses_ip(body),
        StmtKind::Repeat(r) => uses_ip(&r.body),
    })
}

/// As root, moves an IP-using case into a network namespace of its own
/// with loopback up: its ports, sysctls and TIME_WAIT sockets never touch
/// the host's. Unprivileged runs share the host's loopback (and bind only
/// to port 0). `EPOLLCHECK_NO_NETNS=1` turns this off for debugging.
pub fn private_network(case: &crate::case::Case) -> Result<bool, String> {
    if !nix::unistd::geteuid().is_root() || !uses_ip(&case.body) || std::env::var("EPOLLCHECK_NO_NETNS").is_ok_and(|v| v == "1") {
        return Ok(false);
    }
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| format!("cannot make a private network namespace: {e}"))?;
    crate::sys::net::loopback_up().map_err(|e| format!("cannot bring loopback up in the private network namespace: {}", crate::names::errno_name(e)))?;
    Ok(true)
}
