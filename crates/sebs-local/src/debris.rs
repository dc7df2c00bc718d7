//! What a platform leaves behind when its process dies without shutting it down (SIGKILL, a
//! crash): its temporary directory and its cgroups, with any process still in them. Both are
//! named after their owner, `<pid>.<start time>` (the process's start time in clock ticks since
//! boot, from `/proc/<pid>/stat`), so a later platform can tell a dead owner from a live one
//! even when the pid has been reused, and sweeps what dead owners left.

use std::path::{Path, PathBuf};

/// Prefix of a platform's temporary directory: `sebs-local-<owner>-<random>`.
pub(crate) const TEMP_PREFIX: &str = "sebs-local-";
/// Prefix of a platform's cgroup: `sebs-<owner>-<port>`.
pub(crate) const CGROUP_PREFIX: &str = "sebs-";

/// The start time of process `pid` (clock ticks since boot), if it is running.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    crate::reap::stat_field(&stat, 22)?.parse().ok()
}

/// This process's owner token: `<pid>.<start time>`.
pub(crate) fn owner_token() -> String {
    let pid = std::process::id();
    format!("{pid}.{}", start_time(pid).unwrap_or(0))
}

/// The owner `(pid, start time)` at the start of `rest` (`<pid>.<start>-...`).
fn parse_owner(rest: &str) -> Option<(u32, u64)> {
    let (token, _) = rest.split_once('-')?;
    let (pid, start) = token.split_once('.')?;
    Some((pid.parse().ok()?, start.parse().ok()?))
}

/// Whether what `name` names (after `prefix`) belongs to a process that is gone: its pid is not
/// running, or runs a process that started at another time (the pid was reused). Names without
/// an owner token (other files, or directories of versions that did not write one) are never
/// stale: their owner cannot be told.
fn is_stale(name: &str, prefix: &str) -> bool {
    let Some((pid, start)) = name.strip_prefix(prefix).and_then(parse_owner) else {
        return false;
    };
    start_time(pid) != Some(start)
}

/// The entries of `dir` whose names mark them as debris of a dead owner.
fn stale_entries(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| e.file_name().to_str().is_some_and(|n| is_stale(n, prefix)))
        .map(|e| e.path())
        .collect()
}

/// Remove the temporary directories of dead platforms under `base`. Returns how many.
pub(crate) fn sweep_temp_dirs(base: &Path) -> usize {
    let mut removed = 0;
    for dir in stale_entries(base, TEMP_PREFIX) {
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => removed += 1,
            Err(e) => tracing::warn!(
                "cannot remove {} left by a dead sebs process: {e}",
                dir.display()
            ),
        }
    }
    removed
}

/// Kill the processes left in the cgroups of dead platforms under each of `bases` (where this
/// platform creates its own), and remove those cgroups. Returns how many were removed.
pub(crate) fn sweep_cgroups(bases: &[PathBuf]) -> usize {
    let mut removed = 0;
    for base in bases {
        for dir in stale_entries(base, CGROUP_PREFIX) {
            if crate::limits::remove_cgroup_tree(&dir) {
                removed += 1;
            } else {
                tracing::warn!(
                    "cannot remove the cgroup {} left by a dead sebs process",
                    dir.display()
                );
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_tokens_name_this_process() {
        let token = owner_token();
        let (pid, start) = parse_owner(&format!("{token}-x")).unwrap();
        assert_eq!(pid, std::process::id());
        assert!(start > 0);
        assert!(!is_stale(&format!("sebs-local-{token}-abc"), TEMP_PREFIX));
    }

    #[test]
    fn only_names_with_a_dead_owner_are_stale() {
        let (pid, start) = parse_owner(&format!("{}-x", owner_token())).unwrap();
        // The same pid with another start time: the pid was reused.
        assert!(is_stale(
            &format!("sebs-{pid}.{}-1", start + 1),
            CGROUP_PREFIX
        ));
        // A pid that cannot run (above the kernel's pid_max of 2^22).
        assert!(is_stale("sebs-local-99999999.5-abc", TEMP_PREFIX));
        // No owner token: never touched.
        for name in [
            "sebs-local-Ab12Cd",
            "sebs-1234-5678",
            "sebs-local-",
            "other",
        ] {
            assert!(!is_stale(name, TEMP_PREFIX), "{name}");
            assert!(!is_stale(name, CGROUP_PREFIX), "{name}");
        }
    }
}
