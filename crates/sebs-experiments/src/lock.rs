//! One run per results directory: an exclusive `flock` on `<dir>/.sebs.lock`, held until the run
//! ends (or its process dies: the kernel releases it, so a killed run never leaves a stale lock).
//! A second run on the same directory is refused before it does any work, with the holder's pid.

use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The lock file's name inside a results directory.
pub const LOCK_FILE: &str = ".sebs.lock";

/// An exclusive lock on a results directory; released when dropped.
#[derive(Debug)]
pub struct DirLock {
    path: PathBuf,
    _file: std::fs::File,
}

impl DirLock {
    /// Create `dir` if needed and lock it for this run, or fail naming the run that holds it.
    /// `flag` is the option that chooses the directory (`--output-dir`), for the error.
    pub fn acquire(dir: &Path, flag: &str) -> Result<DirLock> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create the results directory {}", dir.display()))?;
        let path = dir.join(LOCK_FILE);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .with_context(|| format!("failed to open the lock file {}", path.display()))?;
        // SAFETY: flock on a descriptor `file` owns for the duration of the call.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::WouldBlock {
                return Err(error).with_context(|| format!("failed to lock {}", path.display()));
            }
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim().parse::<u32>() {
                Ok(pid) => format!("another sebs run (pid {pid})"),
                Err(_) => "another sebs run (pid not yet recorded)".to_owned(),
            };
            anyhow::bail!(
                "{holder} is writing results in {}; wait for it to finish, or choose another {flag}",
                dir.display()
            );
        }
        file.set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| writeln!(file, "{}", std::process::id()))
            .and_then(|_| file.flush())
            .with_context(|| format!("failed to write {}", path.display()))?;
        Ok(DirLock { path, _file: file })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holders_pid_until_released() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        let first = DirLock::acquire(&dir, "--output-dir").unwrap();
        let refused = DirLock::acquire(&dir, "--output-dir")
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains(&format!("pid {}", std::process::id())),
            "{refused}"
        );
        assert!(refused.contains("--output-dir"), "{refused}");
        drop(first);
        let again = DirLock::acquire(&dir, "--output-dir").unwrap();
        assert_eq!(
            std::fs::read_to_string(again.path()).unwrap().trim(),
            std::process::id().to_string()
        );
    }
}
