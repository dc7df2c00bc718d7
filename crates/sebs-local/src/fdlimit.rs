//! The platform's file-descriptor limit. The gateway holds a few descriptors per instance (its
//! channel, its cgroup's counters) and one per client connection, so 1,000 instances behind
//! 1,000 connections need several thousand: more than the 1,024 most systems give a process by
//! default. The platform raises its soft limit to the hard one when it starts; instances get back
//! the limit the process started with (Lambda gives a function 1,024), so a function sees the
//! host's usual limit rather than the gateway's.

use std::sync::OnceLock;

/// Linux never allows more than `fs.nr_open` (1,048,576 by default) descriptors per process,
/// whatever the hard limit says (it may be `RLIM_INFINITY`).
const CEILING: libc::rlim_t = 1 << 20;

/// The limit the process had before [`raise`] first ran (`None` if it could not be read).
static STARTED_WITH: OnceLock<Option<libc::rlimit>> = OnceLock::new();

/// Raise this process's soft `RLIMIT_NOFILE` to its hard limit, once per process; returns the
/// limit it started with, for [`restore`] in instances.
pub(crate) fn raise() -> Option<libc::rlimit> {
    *STARTED_WITH.get_or_init(|| {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: plain syscall filling `limit`.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return None;
        }
        let target = limit.rlim_max.min(CEILING);
        if limit.rlim_cur < target {
            let raised = libc::rlimit {
                rlim_cur: target,
                rlim_max: limit.rlim_max,
            };
            // SAFETY: plain syscall; raising the soft limit up to the hard one needs no privilege.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
                tracing::debug!(
                    "could not raise the file-descriptor limit from {} to {target}: {}",
                    limit.rlim_cur,
                    std::io::Error::last_os_error()
                );
            }
        }
        Some(limit)
    })
}

/// The soft descriptor limit the process runs with now.
pub(crate) fn current() -> Option<libc::rlim_t> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscall filling `limit`.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0).then_some(limit.rlim_cur)
}

/// In a child between fork and exec: put back the limit the platform started with.
///
/// # Safety
///
/// Only for a `pre_exec` hook or a forked child: it changes the calling process. `setrlimit` is
/// async-signal-safe.
pub(crate) unsafe fn restore(started_with: Option<libc::rlimit>) {
    if let Some(limit) = started_with {
        // SAFETY: plain syscall; lowering a soft limit needs no privilege.
        unsafe {
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raise_lifts_the_soft_limit_to_the_hard_one_and_remembers_the_old() {
        let before = current().expect("readable");
        let started = raise().expect("readable");
        // Another test of this process may have raised it first; then `before` is raised too.
        assert!(started.rlim_cur <= before);
        let after = current().expect("readable");
        assert_eq!(after, started.rlim_max.min(CEILING).max(started.rlim_cur));
        // Idempotent: the first limit is what instances get back.
        assert_eq!(raise().map(|l| l.rlim_cur), Some(started.rlim_cur));
    }
}
