//! Namespaces that isolate instances: detected once at start-up, planned per instance.

use std::path::PathBuf;

use crate::spec::{FunctionSpec, Protocol};
use crate::state::Shared;

/// Namespaces instances can be put in, as detected at start-up.
#[derive(Debug, Clone, Copy, Default)]
pub struct Isolation {
    /// A private mount namespace (and so a private `/tmp`).
    pub mount: bool,
    /// A private, empty network namespace.
    pub net: bool,
}

impl Isolation {
    pub(crate) fn detect() -> Isolation {
        let probe = |flags: libc::c_int| {
            let mut command = std::process::Command::new("/bin/true");
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(&mut command, move || {
                    if libc::unshare(flags) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
            command.status().is_ok_and(|s| s.success())
        };
        Isolation {
            mount: probe(libc::CLONE_NEWNS),
            net: probe(libc::CLONE_NEWNET),
        }
    }

    /// For logs and results: `mount, net namespaces` or `none`.
    pub fn describe(&self) -> String {
        match (self.mount, self.net) {
            (true, true) => "mount and network namespaces".into(),
            (true, false) => "mount namespace".into(),
            (false, true) => "network namespace".into(),
            (false, false) => "none".into(),
        }
    }

    /// What to do for one instance: `(unshare flags, directory to bind over /tmp)`.
    pub(crate) fn plan(
        &self,
        spec: &FunctionSpec,
        shared: &Shared,
        tmp: &std::path::Path,
    ) -> (libc::c_int, Option<PathBuf>) {
        let mut flags = 0;
        let mut private_tmp = None;
        if self.mount {
            flags |= libc::CLONE_NEWNS;
            // Everything the instance opens by path after the mount must be outside /tmp.
            let outside = |p: &std::path::Path| !p.starts_with("/tmp");
            if outside(&spec.code_dir) && outside(shared.work_dir.path()) {
                private_tmp = Some(tmp.to_owned());
            }
        }
        if self.net && !spec.network && spec.protocol == Protocol::Channel {
            flags |= libc::CLONE_NEWNET;
        }
        (flags, private_tmp)
    }
}
