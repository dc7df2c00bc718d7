//! What an instance prints: its stdout and stderr go to one file it appends to
//! (`output.log` in its directory), which the platform keeps to its last bytes and reads back
//! only by its tail. A function printing megabytes per call costs neither the platform's
//! memory nor (beyond a moment) the disk.
//!
//! The platform's sweeper calls [`OutputLog::trim`] every 100 ms: everything but the last `cap`
//! bytes is released by punching a hole at the start of the file (`FALLOC_FL_PUNCH_HOLE`; the
//! file keeps its length, so the instance's appends and the byte count are undisturbed). Where
//! the file system cannot punch holes, the file is emptied once it holds four times the cap.
//! Between two trims the file holds what the function printed in 100 ms.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The end of an instance's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tail {
    /// The last bytes printed, as text (invalid UTF-8 replaced).
    pub(crate) text: String,
    /// Bytes printed in all, including those dropped.
    pub(crate) total: u64,
}

impl Tail {
    /// The last `lines` lines of the tail, and whether earlier output is left out.
    pub(crate) fn last_lines(&self, lines: usize) -> (String, bool) {
        let text = self.text.trim_end();
        let kept: Vec<&str> = text.lines().rev().take(lines).collect();
        let shown: usize = kept.iter().map(|l| l.len() + 1).sum();
        let cut = (shown as u64) < self.total.saturating_sub(1);
        (kept.into_iter().rev().collect::<Vec<_>>().join("\n"), cut)
    }
}

/// An instance's captured output.
#[derive(Debug)]
pub(crate) struct OutputLog {
    /// The platform's handle: read and append.
    file: File,
    /// Bytes before this offset were released (punched).
    released: AtomicU64,
    /// Bytes dropped by emptying the file (where holes cannot be punched).
    emptied: AtomicU64,
    /// Whether the file system punches holes (until it says otherwise).
    punch: AtomicBool,
}

impl OutputLog {
    /// Create (or empty) the file at `path`.
    pub(crate) fn create(path: &Path) -> std::io::Result<OutputLog> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        file.set_len(0)?;
        Ok(OutputLog {
            file,
            released: AtomicU64::new(0),
            emptied: AtomicU64::new(0),
            punch: AtomicBool::new(true),
        })
    }

    /// A handle for the instance's stdout or stderr (appending).
    pub(crate) fn writer(&self) -> std::io::Result<File> {
        self.file.try_clone()
    }

    fn len(&self) -> u64 {
        self.file.metadata().map_or(0, |m| m.len())
    }

    /// Release all but (about) the last `cap` bytes, once there are at least `cap` more to
    /// release; the holes are block-aligned, so up to a block more is kept.
    pub(crate) fn trim(&self, cap: u64) {
        let size = self.len();
        let released = self.released.load(Ordering::Acquire);
        if self.punch.load(Ordering::Acquire) {
            let until = size.saturating_sub(cap) / 4096 * 4096;
            if until < released + cap.max(4096) {
                return;
            }
            // SAFETY: plain syscall on our own descriptor.
            let rc = unsafe {
                libc::fallocate(
                    self.file.as_raw_fd(),
                    libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                    released as libc::off_t,
                    (until - released) as libc::off_t,
                )
            };
            if rc == 0 {
                self.released.store(until, Ordering::Release);
                return;
            }
            tracing::debug!(
                "cannot punch holes in an instance's output ({}); it is emptied when it grows",
                std::io::Error::last_os_error()
            );
            self.punch.store(false, Ordering::Release);
        }
        if size > cap.saturating_mul(4).max(64 * 1024) && self.file.set_len(0).is_ok() {
            self.emptied.fetch_add(size, Ordering::AcqRel);
            self.released.store(0, Ordering::Release);
        }
    }

    /// The last `max` bytes printed (fewer if released), never more.
    pub(crate) fn tail(&self, max: usize) -> Tail {
        let size = self.len();
        let from = size
            .saturating_sub(max as u64)
            .max(self.released.load(Ordering::Acquire));
        let mut buf = vec![0u8; (size - from.min(size)) as usize];
        let n = self.file.read_at(&mut buf, from).unwrap_or(0);
        buf.truncate(n);
        // A hole punched meanwhile reads as zeros.
        let start = buf.iter().position(|&b| b != 0).unwrap_or(buf.len());
        Tail {
            text: String::from_utf8_lossy(&buf[start..]).into_owned(),
            total: size + self.emptied.load(Ordering::Acquire),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;

    fn allocated(path: &Path) -> u64 {
        std::fs::metadata(path).unwrap().blocks() * 512
    }

    #[test]
    fn trimming_keeps_the_tail_and_counts_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("output.log");
        let log = OutputLog::create(&path).unwrap();
        let mut out = log.writer().unwrap();
        for i in 0..1000 {
            writeln!(out, "{i:04} {}", "x".repeat(1019)).unwrap();
        }
        log.trim(64 * 1024);
        // Appends go on after a trim.
        writeln!(out, "last line").unwrap();
        let tail = log.tail(4096);
        assert_eq!(tail.total, 1000 * 1025 + 10);
        assert!(tail.text.ends_with("last line\n"), "{}", tail.text);
        let (lines, cut) = tail.last_lines(2);
        assert!(lines.starts_with("0999 ") && lines.ends_with("\nlast line"));
        assert!(cut);
        if log.punch.load(Ordering::Acquire) {
            assert!(
                allocated(&path) <= 2 * 64 * 1024 + 8192,
                "{} bytes still allocated",
                allocated(&path)
            );
        }
        // Nothing more to release: a second trim changes nothing.
        log.trim(64 * 1024);
        assert_eq!(log.tail(4096), tail);
    }

    #[test]
    fn without_holes_the_file_is_emptied_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let log = OutputLog::create(&dir.path().join("output.log")).unwrap();
        log.punch.store(false, Ordering::Release);
        let mut out = log.writer().unwrap();
        out.write_all(&vec![b'a'; 300 * 1024]).unwrap();
        log.trim(64 * 1024);
        out.write_all(b"after\n").unwrap();
        let tail = log.tail(4096);
        assert_eq!(tail.text, "after\n");
        assert_eq!(tail.total, 300 * 1024 + 6);
    }

    #[test]
    fn a_short_output_is_shown_whole() {
        let dir = tempfile::tempdir().unwrap();
        let log = OutputLog::create(&dir.path().join("output.log")).unwrap();
        log.writer().unwrap().write_all(b"one\ntwo\n").unwrap();
        log.trim(64 * 1024);
        let (lines, cut) = log.tail(4096).last_lines(20);
        assert_eq!(lines, "one\ntwo");
        assert!(!cut);
    }
}
