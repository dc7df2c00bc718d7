//! What finding Python and Node.js interpreters share: asking a candidate program for its real
//! executable and its version.

use std::path::PathBuf;
use std::process::Command;

/// Run a probe that prints the interpreter's real executable on its first line and its full
/// version on the second. `None` if the program does not run, fails, or prints no path.
pub(crate) fn path_and_version(probe: &mut Command) -> Option<(PathBuf, String)> {
    let out = probe.output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let mut lines = text.lines();
    let path = PathBuf::from(lines.next()?.trim());
    let full_version = lines.next()?.trim().to_owned();
    if path.as_os_str().is_empty() {
        return None;
    }
    Some((path, full_version))
}
