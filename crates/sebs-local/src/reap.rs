//! Killing every process an instance started, including those that left its process group
//! (`setsid`, a double fork): through the instance's cgroup where it has one, else by walking
//! the process tree below the instance while the instance still holds it together.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

/// The pids listed in a cgroup's `cgroup.procs`.
pub(crate) fn cgroup_pids(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .filter(|&pid: &i32| pid > 0)
        .collect()
}

/// Kill every process in the cgroups `dirs` (the same processes, one directory per v1
/// controller) and wait, at most `wait`, until they are empty. cgroup v2's `cgroup.kill` does it
/// in one write where the kernel has it (5.14+); otherwise the member pids are killed until none
/// is left (a process forking meanwhile puts its child in the same cgroup, where the next round
/// finds it). Returns whether the cgroups are empty.
pub(crate) fn kill_cgroup(dirs: &[impl AsRef<Path>], wait: Duration) -> bool {
    let deadline = std::time::Instant::now() + wait;
    for dir in dirs {
        let kill = dir.as_ref().join("cgroup.kill");
        if kill.is_file() {
            let _ = std::fs::write(kill, "1");
        }
    }
    loop {
        let mut any = false;
        for dir in dirs {
            for pid in cgroup_pids(dir.as_ref()) {
                any = true;
                // SAFETY: plain syscall; the pid belongs to our cgroup.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
        if !any {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// `ppid -> children` for every process the system shows in `/proc`.
fn children_by_parent() -> HashMap<i32, Vec<i32>> {
    let mut map: HashMap<i32, Vec<i32>> = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return map;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if let Some(ppid) = std::fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|stat| stat_field(&stat, 4)?.parse::<i32>().ok())
        {
            map.entry(ppid).or_default().push(pid);
        }
    }
    map
}

/// Field `n` (1-based, as in proc(5)) of a `/proc/<pid>/stat` line. The command name (field 2)
/// may hold spaces and parentheses, so fields from 3 on are counted after its last `)`.
pub(crate) fn stat_field(stat: &str, n: usize) -> Option<&str> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(n.checked_sub(3)?)
}

/// Kill the process groups led by `roots` and every descendant of theirs, also those in other
/// process groups or sessions. The trees are stopped first (a stopped process cannot fork), and
/// walked again until no new descendant shows up, then everything is killed. A process whose
/// parent already exited was re-parented away and is not found: without cgroups, that is the
/// limit of what can be found.
pub(crate) fn kill_tree(roots: &[i32]) {
    let roots: Vec<i32> = roots.iter().copied().filter(|&p| p > 0).collect();
    if roots.is_empty() {
        return;
    }
    // SAFETY (all `kill` calls): plain syscalls on our instances and their descendants.
    for &root in &roots {
        unsafe {
            libc::kill(-root, libc::SIGSTOP);
            libc::kill(root, libc::SIGSTOP);
        }
    }
    let mut found: HashSet<i32> = roots.iter().copied().collect();
    for _ in 0..16 {
        let children = children_by_parent();
        let mut queue: Vec<i32> = found.iter().copied().collect();
        let mut new = Vec::new();
        while let Some(pid) = queue.pop() {
            for &child in children.get(&pid).into_iter().flatten() {
                if found.insert(child) {
                    new.push(child);
                    queue.push(child);
                }
            }
        }
        if new.is_empty() {
            break;
        }
        for pid in new {
            unsafe {
                libc::kill(pid, libc::SIGSTOP);
            }
        }
    }
    for &root in &roots {
        unsafe {
            libc::kill(-root, libc::SIGKILL);
        }
    }
    for pid in found {
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// [`kill_tree`] off the async runtime's threads when there is one (it reads `/proc`).
pub(crate) fn kill_tree_soon(roots: Vec<i32>) {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            handle.spawn_blocking(move || kill_tree(&roots));
        }
        Err(_) => kill_tree(&roots),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let stat = "4242 (a (weird) name) S 17 4242 4242 0 -1";
        assert_eq!(stat_field(stat, 3), Some("S"));
        assert_eq!(stat_field(stat, 4), Some("17"));
        assert_eq!(stat_field(stat, 5), Some("4242"));
        assert_eq!(stat_field(stat, 2), None);
        assert_eq!(stat_field("no parenthesis", 4), None);
    }

    #[test]
    fn a_tree_with_a_new_session_is_killed_whole() {
        // sh starts a child in a new session (setsid), which a process-group kill misses.
        let mut root = std::process::Command::new("sh")
            .args(["-c", "setsid sleep 1000 & echo $!; wait"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(root.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let child: i32 = line.trim().parse().unwrap();
        kill_tree(&[root.id() as i32]);
        let _ = root.wait();
        let gone = (0..200).any(|_| {
            let state = std::fs::read_to_string(format!("/proc/{child}/stat"))
                .ok()
                .and_then(|s| stat_field(&s, 3).map(str::to_owned));
            if matches!(state.as_deref(), None | Some("Z")) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
            false
        });
        assert!(gone, "the setsid child {child} survived");
    }
}
