//! Resource limits for instances: memory, CPU share and pids through cgroups (v1 or v2) where
//! they are writable, else `RLIMIT_AS` set in the child before it runs the function.
//!
//! Each platform gets its own cgroup below the one `sebs` runs in (so the host's own limits keep
//! applying), and each instance a cgroup below that.

use std::path::{Path, PathBuf};

/// Lambda gives one full vCPU at 1769 MB; the CPU share scales linearly with memory.
pub const MB_PER_VCPU: f64 = 1769.0;

/// Virtual address space is not resident memory: an interpreter maps far more than it touches,
/// so the rlimit fallback allows this much on top of the configured memory.
const RLIMIT_HEADROOM: u64 = 128 * 1024 * 1024;

/// Which mechanism enforces limits, and which limits it applies.
#[derive(Debug, Clone)]
pub enum Backend {
    /// cgroup v1: one directory per controller.
    V1 {
        /// memory controller directory of the platform.
        memory: PathBuf,
        /// cpu controller directory, when instances get a CPU share (asked for and writable).
        cpu: Option<PathBuf>,
        /// pids controller directory, when instances get a process limit (asked for and
        /// writable).
        pids: Option<PathBuf>,
    },
    /// cgroup v2: one unified directory of the platform.
    V2 {
        /// The platform's cgroup.
        dir: PathBuf,
        /// Whether instances get a CPU share (`cpu.max`): asked for and the controller enabled.
        cpu: bool,
        /// Whether instances get a process limit (`pids.max`): asked for and the controller
        /// enabled.
        pids: bool,
    },
    /// `setrlimit(RLIMIT_AS)` in the child.
    Rlimit,
}

impl Backend {
    /// A short description for logs and reports, naming only the limits actually applied: for
    /// example `cgroup v1 (memory, pids)` when no CPU share was asked for.
    pub fn describe(&self) -> String {
        match self {
            Backend::V1 { cpu, pids, .. } => {
                format!("cgroup v1 ({})", controllers(cpu.is_some(), pids.is_some()))
            }
            Backend::V2 { cpu, pids, .. } => format!("cgroup v2 ({})", controllers(*cpu, *pids)),
            // V8 reserves far more address space than it uses: Node.js instances get no
            // RLIMIT_AS, only the heap limit their runtime is started with.
            Backend::Rlimit => "rlimit (RLIMIT_AS; Node.js: V8 heap limit)".into(),
        }
    }
}

/// `memory`, then `cpu` and `pids` where applied.
fn controllers(cpu: bool, pids: bool) -> String {
    let mut parts = vec!["memory"];
    if cpu {
        parts.push("cpu");
    }
    if pids {
        parts.push("pids");
    }
    parts.join(", ")
}

/// The limits besides memory (always limited) that the platform was asked to apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requested {
    /// A CPU share per instance.
    pub cpu: bool,
    /// A maximum number of processes per instance.
    pub pids: bool,
}

/// Limits to apply to one instance.
#[derive(Debug, Clone, Copy)]
pub struct InstanceLimits {
    /// Memory in MB.
    pub memory_mb: u64,
    /// CPU share in vCPUs, if CPU is limited.
    pub cpus: Option<f64>,
    /// Maximum number of processes/threads.
    pub pids: Option<u64>,
}

/// The platform-level limits manager.
#[derive(Debug)]
pub struct Limits {
    backend: Backend,
}

/// An instance's cgroup (or the rlimit it runs under).
#[derive(Debug)]
pub struct InstanceCgroup {
    /// Files the instance writes `0` into to join its cgroups.
    pub procs: Vec<PathBuf>,
    /// The memory cgroup directory (v1 memory controller or v2 unified dir).
    memory: Option<PathBuf>,
    /// All directories to remove when the instance is gone (deepest first).
    dirs: Vec<PathBuf>,
    v2: bool,
    /// `RLIMIT_AS` for the fallback.
    pub rlimit_as: Option<u64>,
    /// The peak-usage file, kept open: it is read and reset around every invocation.
    peak: Option<std::fs::File>,
}

fn write(path: &Path, value: &str) -> std::io::Result<()> {
    std::fs::write(path, value)
}

/// The current process's cgroup paths: `(v1 controller → path, v2 path)`.
fn own_cgroups() -> (Vec<(String, String)>, Option<String>) {
    let text = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let mut v1 = Vec::new();
    let mut v2 = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (
            parts.next(),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or("/"),
        );
        if controllers.is_empty() {
            v2 = Some(path.to_owned());
        } else {
            for c in controllers.split(',') {
                v1.push((c.to_owned(), path.to_owned()));
            }
        }
    }
    (v1, v2)
}

fn try_make(parent: &Path, name: &str) -> Option<PathBuf> {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

/// `dir` if the controller's `file` is there to write limits to; else the directory is removed.
fn controls(dir: PathBuf, file: &str) -> Option<PathBuf> {
    if dir.join(file).is_file() {
        Some(dir)
    } else {
        let _ = std::fs::remove_dir(&dir);
        None
    }
}

impl Limits {
    /// Find a writable cgroup hierarchy and create the platform's cgroup `name` in it, with the
    /// controllers for what is `requested` where the host has them.
    pub fn detect(name: &str, requested: Requested) -> Limits {
        let root = Path::new("/sys/fs/cgroup");
        let (v1, v2) = own_cgroups();
        if root.join("cgroup.controllers").is_file() {
            if let Some(path) = v2
                && let Some(backend) = Self::setup_v2(root, &path, name, requested)
            {
                return Limits { backend };
            }
        } else if root.join("memory").is_dir() {
            let base = |controller: &str| -> Option<PathBuf> {
                let own = v1
                    .iter()
                    .find(|(c, _)| c == controller)
                    .map(|(_, p)| p.trim_start_matches('/').to_owned())
                    .unwrap_or_default();
                try_make(&root.join(controller).join(own), name)
            };
            if let Some(memory) = base("memory") {
                let cpu = requested.cpu.then(|| base("cpu")).flatten();
                let pids = requested.pids.then(|| base("pids")).flatten();
                return Limits {
                    backend: Backend::V1 {
                        memory,
                        cpu: cpu.and_then(|dir| controls(dir, "cpu.cfs_quota_us")),
                        pids: pids.and_then(|dir| controls(dir, "pids.max")),
                    },
                };
            }
        }
        Limits {
            backend: Backend::Rlimit,
        }
    }

    fn setup_v2(root: &Path, own: &str, name: &str, requested: Requested) -> Option<Backend> {
        // A v2 cgroup with processes cannot enable controllers for children, so the platform's
        // cgroup sits next to ours, under our parent.
        let own_dir = root.join(own.trim_start_matches('/'));
        let parent = own_dir.parent().unwrap_or(root).to_owned();
        let dir = try_make(&parent, name)?;
        let enable = "+memory +cpu +pids";
        let _ = write(&parent.join("cgroup.subtree_control"), enable);
        if write(&dir.join("cgroup.subtree_control"), enable).is_err() {
            let _ = write(&dir.join("cgroup.subtree_control"), "+memory");
        }
        let probe = try_make(&dir, "probe")?;
        // A controller's files appear in a child only where the controller is enabled.
        let has = |file: &str| probe.join(file).is_file();
        let (memory, cpu, pids) = (has("memory.max"), has("cpu.max"), has("pids.max"));
        let _ = std::fs::remove_dir(&probe);
        if memory {
            Some(Backend::V2 {
                dir,
                cpu: requested.cpu && cpu,
                pids: requested.pids && pids,
            })
        } else {
            let _ = std::fs::remove_dir(&dir);
            None
        }
    }

    /// Where platforms of this process create their cgroups (whether or not this one could):
    /// the parent of our own v2 cgroup, or our own cgroup of each v1 controller used.
    pub(crate) fn platform_bases() -> Vec<PathBuf> {
        let root = Path::new("/sys/fs/cgroup");
        let (v1, v2) = own_cgroups();
        if root.join("cgroup.controllers").is_file() {
            return v2
                .map(|own| root.join(own.trim_start_matches('/')))
                .and_then(|own| own.parent().map(Path::to_owned))
                .into_iter()
                .collect();
        }
        ["memory", "cpu", "pids"]
            .into_iter()
            .filter_map(|controller| {
                let own = v1.iter().find(|(c, _)| c == controller)?;
                let dir = root.join(controller).join(own.1.trim_start_matches('/'));
                dir.is_dir().then_some(dir)
            })
            .collect()
    }

    /// Limits through `RLIMIT_AS` only.
    pub fn rlimit() -> Limits {
        Limits {
            backend: Backend::Rlimit,
        }
    }

    /// The backend in use.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Create an instance's cgroup with `limits` (or compute its rlimit).
    pub fn create(&self, instance: &str, limits: InstanceLimits) -> InstanceCgroup {
        let bytes = limits.memory_mb * 1024 * 1024;
        match &self.backend {
            Backend::V1 { memory, cpu, pids } => {
                let mut cg = InstanceCgroup::none();
                if let Some(dir) = try_make(memory, instance) {
                    let limited =
                        write(&dir.join("memory.limit_in_bytes"), &bytes.to_string()).is_ok();
                    // No swap either, where the kernel accounts it.
                    let _ = write(&dir.join("memory.memsw.limit_in_bytes"), &bytes.to_string());
                    if limited {
                        cg.procs.push(dir.join("cgroup.procs"));
                        cg.memory = Some(dir.clone());
                    }
                    cg.dirs.push(dir);
                }
                if let (Some(cpu), Some(cpus)) = (cpu, limits.cpus)
                    && let Some(dir) = try_make(cpu, instance)
                {
                    let (quota, period) = cpu_quota(cpus);
                    if write(&dir.join("cpu.cfs_period_us"), &period.to_string()).is_ok()
                        && write(&dir.join("cpu.cfs_quota_us"), &quota.to_string()).is_ok()
                    {
                        cg.procs.push(dir.join("cgroup.procs"));
                    }
                    cg.dirs.push(dir);
                }
                if let (Some(pids), Some(max)) = (pids, limits.pids)
                    && let Some(dir) = try_make(pids, instance)
                {
                    if write(&dir.join("pids.max"), &max.to_string()).is_ok() {
                        cg.procs.push(dir.join("cgroup.procs"));
                    }
                    cg.dirs.push(dir);
                }
                if cg.memory.is_none() {
                    cg.rlimit_as = Some(bytes + RLIMIT_HEADROOM);
                }
                cg.open_peak()
            }
            Backend::V2 { dir, .. } => {
                let Some(dir) = try_make(dir, instance) else {
                    return InstanceCgroup::rlimit(bytes);
                };
                if write(&dir.join("memory.max"), &bytes.to_string()).is_err() {
                    let _ = std::fs::remove_dir(&dir);
                    return InstanceCgroup::rlimit(bytes);
                }
                let _ = write(&dir.join("memory.swap.max"), "0");
                if let Some(cpus) = limits.cpus {
                    let (quota, period) = cpu_quota(cpus);
                    let _ = write(&dir.join("cpu.max"), &format!("{quota} {period}"));
                }
                if let Some(max) = limits.pids {
                    let _ = write(&dir.join("pids.max"), &max.to_string());
                }
                InstanceCgroup {
                    procs: vec![dir.join("cgroup.procs")],
                    memory: Some(dir.clone()),
                    dirs: vec![dir],
                    v2: true,
                    rlimit_as: None,
                    peak: None,
                }
                .open_peak()
            }
            Backend::Rlimit => InstanceCgroup::rlimit(bytes),
        }
    }

    /// The platform's cgroup directories (one per v1 controller).
    fn platform_dirs(&self) -> Vec<&PathBuf> {
        match &self.backend {
            Backend::V1 { memory, cpu, pids } => [Some(memory), cpu.as_ref(), pids.as_ref()]
                .into_iter()
                .flatten()
                .collect(),
            Backend::V2 { dir, .. } => vec![dir],
            Backend::Rlimit => vec![],
        }
    }

    /// Kill whatever is left in the platform's instance cgroups (children that left their
    /// instance's process group, say), remove those cgroups, then the platform's.
    pub fn cleanup(&self) {
        for dir in self.platform_dirs() {
            remove_cgroup_tree(dir);
        }
    }
}

/// The CFS quota and period (µs) that give `cpus` CPUs: a 100 ms period, at least 1 ms of it.
fn cpu_quota(cpus: f64) -> (u64, u64) {
    let period = 100_000u64;
    (((cpus * period as f64) as u64).max(1000), period)
}

impl InstanceCgroup {
    /// No limits at all (zygotes).
    pub fn none() -> InstanceCgroup {
        InstanceCgroup {
            procs: Vec::new(),
            memory: None,
            dirs: Vec::new(),
            v2: false,
            rlimit_as: None,
            peak: None,
        }
    }

    fn rlimit(bytes: u64) -> InstanceCgroup {
        InstanceCgroup {
            rlimit_as: Some(bytes + RLIMIT_HEADROOM),
            ..InstanceCgroup::none()
        }
    }

    fn open_peak(mut self) -> InstanceCgroup {
        if let Some(dir) = &self.memory {
            let file = if self.v2 {
                "memory.peak"
            } else {
                "memory.max_usage_in_bytes"
            };
            self.peak = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(dir.join(file))
                .or_else(|_| std::fs::File::open(dir.join(file)))
                .ok();
        }
        self
    }

    fn read_u64(&self, file: &str) -> Option<u64> {
        let dir = self.memory.as_ref()?;
        std::fs::read_to_string(dir.join(file))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Whether the kernel's OOM killer killed something in this cgroup.
    pub fn oom_killed(&self) -> bool {
        let Some(dir) = &self.memory else {
            return false;
        };
        let file = if self.v2 {
            "memory.events"
        } else {
            "memory.oom_control"
        };
        std::fs::read_to_string(dir.join(file))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("oom_kill "))
            .any(|n| n.trim().parse::<u64>().unwrap_or(0) > 0)
    }

    /// Peak memory since the last reset, in bytes.
    pub fn peak_bytes(&self) -> Option<u64> {
        use std::os::unix::fs::FileExt;
        let mut buf = [0u8; 32];
        let n = self.peak.as_ref()?.read_at(&mut buf, 0).ok()?;
        std::str::from_utf8(&buf[..n]).ok()?.trim().parse().ok()
    }

    /// Current memory use in bytes.
    pub fn current_bytes(&self) -> Option<u64> {
        self.read_u64(if self.v2 {
            "memory.current"
        } else {
            "memory.usage_in_bytes"
        })
    }

    /// Reset the peak so the next reading covers one invocation (v1; v2 on kernels that allow it).
    pub fn reset_peak(&self) {
        use std::os::unix::fs::FileExt;
        if let Some(file) = &self.peak {
            let _ = file.write_at(b"0", 0);
        }
    }

    /// Whether memory is enforced by a cgroup.
    pub fn is_cgroup(&self) -> bool {
        self.memory.is_some()
    }

    /// Whether the instance's processes, wherever their process group or session, are found
    /// through its cgroups (it joined at least one).
    pub fn tracks_processes(&self) -> bool {
        !self.procs.is_empty()
    }

    /// Kill every process left in the instance's cgroups: the children and grandchildren of a
    /// function that outlive its instance's process group (`setsid`, double forks).
    pub fn kill_processes(&self) {
        let dirs: Vec<&Path> = self.procs.iter().filter_map(|p| p.parent()).collect();
        if !dirs.is_empty() {
            crate::reap::kill_cgroup(&dirs, std::time::Duration::from_secs(1));
        }
    }

    /// Remove the instance's cgroups once its processes are gone.
    pub fn remove(&self) {
        for dir in &self.dirs {
            remove_dir_patiently(dir);
        }
    }
}

/// `rmdir`, retried for a moment: the kernel may need one to let go of a killed process.
fn remove_dir_patiently(dir: &Path) -> bool {
    for _ in 0..20 {
        if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    false
}

/// The directories directly below `dir` (child cgroups).
pub(crate) fn subdirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Kill the processes of a platform's cgroup `dir` and of its instance cgroups, and remove them
/// all. Returns whether `dir` is gone.
pub(crate) fn remove_cgroup_tree(dir: &Path) -> bool {
    for instance in subdirs(dir) {
        crate::reap::kill_cgroup(&[&instance], std::time::Duration::from_secs(1));
        remove_dir_patiently(&instance);
    }
    crate::reap::kill_cgroup(&[dir], std::time::Duration::from_secs(1));
    remove_dir_patiently(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v1(cpu: bool, pids: bool) -> Backend {
        Backend::V1 {
            memory: PathBuf::from("/sys/fs/cgroup/memory/p"),
            cpu: cpu.then(|| PathBuf::from("/sys/fs/cgroup/cpu/p")),
            pids: pids.then(|| PathBuf::from("/sys/fs/cgroup/pids/p")),
        }
    }

    fn v2(cpu: bool, pids: bool) -> Backend {
        Backend::V2 {
            dir: PathBuf::from("/sys/fs/cgroup/p"),
            cpu,
            pids,
        }
    }

    #[test]
    fn description_names_only_the_limits_applied() {
        assert_eq!(v1(false, false).describe(), "cgroup v1 (memory)");
        assert_eq!(v1(false, true).describe(), "cgroup v1 (memory, pids)");
        assert_eq!(v1(true, false).describe(), "cgroup v1 (memory, cpu)");
        assert_eq!(v1(true, true).describe(), "cgroup v1 (memory, cpu, pids)");
        assert_eq!(v2(false, false).describe(), "cgroup v2 (memory)");
        assert_eq!(v2(false, true).describe(), "cgroup v2 (memory, pids)");
        assert_eq!(v2(true, false).describe(), "cgroup v2 (memory, cpu)");
        assert_eq!(v2(true, true).describe(), "cgroup v2 (memory, cpu, pids)");
        assert_eq!(
            Backend::Rlimit.describe(),
            "rlimit (RLIMIT_AS; Node.js: V8 heap limit)"
        );
    }

    #[test]
    fn a_controller_without_its_limit_file_is_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let with = try_make(tmp.path(), "with").unwrap();
        std::fs::write(with.join("pids.max"), "max").unwrap();
        assert_eq!(controls(with.clone(), "pids.max"), Some(with));
        let without = try_make(tmp.path(), "without").unwrap();
        assert_eq!(controls(without.clone(), "pids.max"), None);
        assert!(!without.exists(), "the unusable directory is removed");
    }

    #[test]
    fn the_rlimit_fallback_allows_headroom_over_the_memory_size() {
        let limits = Limits::rlimit();
        assert!(matches!(limits.backend(), Backend::Rlimit));
        let cgroup = limits.create(
            "i",
            InstanceLimits {
                memory_mb: 128,
                cpus: Some(0.5),
                pids: Some(64),
            },
        );
        assert!(!cgroup.is_cgroup());
        assert!(cgroup.procs.is_empty(), "no cgroup to join");
        assert_eq!(cgroup.rlimit_as, Some((128 + 128) * 1024 * 1024));
    }
}
