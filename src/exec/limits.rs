//! Resource limits for a case process, so that a runaway case (a loop that
//! opens fds or starts threads without end) cannot take the machine down.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// Open files per case: far above what any case needs (the path-limit
/// cases make about 1000 epoll instances), far below the host's limit.
pub const MAX_FILES: u64 = 8192;
/// Address space: cases allocate little, but a wait with a huge maxevents
/// reserves (never touches) up to 25 GiB of address space.
pub const MAX_ADDRESS_SPACE: u64 = 64 << 30;

/// Lowers the soft and hard limits of this process; limits already lower
/// are kept.
pub fn apply() {
    for (res, want) in [(Resource::RLIMIT_NOFILE, MAX_FILES), (Resource::RLIMIT_AS, MAX_ADDRESS_SPACE)] {
        if let Ok((soft, hard)) = getrlimit(res) {
            let _ = setrlimit(res, soft.min(want), hard.min(want).max(soft.min(want)));
        }
    }
}
