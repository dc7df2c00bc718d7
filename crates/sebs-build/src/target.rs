//! What a package is built for: the platform's layout name and the architecture.
//!
//! `local` packages get dependencies for this machine's interpreter, as they run here. Any other
//! platform (`aws`, ...) runs them in AWS Lambda's managed runtimes, so dependencies are
//! installed for Linux on the target architecture, whatever the host is: binary wheels of the
//! manylinux tags the Lambda runtime's glibc accepts, and npm's optional packages for
//! `linux`/`x64|arm64`/`glibc`.

use sebs_core::config::Architecture;

/// The platform and architecture a package is built for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    /// The platform's layout name (`local`, `aws`, ...).
    pub(crate) platform: &'a str,
    /// The architecture the functions run on.
    pub(crate) architecture: Architecture,
}

impl Target<'_> {
    /// Whether the package runs on this machine (dependencies for the host interpreter).
    pub(crate) fn is_local(&self) -> bool {
        self.platform == "local"
    }

    /// `aws/arm64`: how errors and logs name the target.
    pub(crate) fn describe(&self) -> String {
        format!("{}/{}", self.platform, self.architecture.as_str())
    }

    /// Linux's name of the architecture, as in wheel tags (`x86_64`, `aarch64`).
    pub(crate) fn machine(&self) -> &'static str {
        match self.architecture {
            Architecture::X64 => "x86_64",
            Architecture::Arm64 => "aarch64",
        }
    }

    /// npm's name of the architecture (`--cpu`): `x64`, `arm64`.
    pub(crate) fn npm_cpu(&self) -> &'static str {
        match self.architecture {
            Architecture::X64 => "x64",
            Architecture::Arm64 => "arm64",
        }
    }

    /// The `--platform` values for pip: every manylinux tag whose glibc the Lambda runtime of
    /// Python `version` (`3.11`) provides. pip (before 24) does not widen a `--platform` to the
    /// older glibc versions, so each is listed.
    pub(crate) fn pip_platforms(&self, version: &str) -> Vec<String> {
        let machine = self.machine();
        let (legacy, oldest): (&[&str], u32) = match self.architecture {
            Architecture::X64 => (&["manylinux1", "manylinux2010", "manylinux2014"], 5),
            Architecture::Arm64 => (&["manylinux2014"], 17),
        };
        let newest = lambda_glibc_minor(version);
        legacy
            .iter()
            .map(|tag| format!("{tag}_{machine}"))
            .chain((oldest..=newest).map(|minor| format!("manylinux_2_{minor}_{machine}")))
            .collect()
    }
}

/// The glibc minor version of the Lambda runtime for Python `version`: Amazon Linux 2 (glibc
/// 2.26) up to python3.11, Amazon Linux 2023 (glibc 2.34) from python3.12. A wheel built for a
/// newer glibc (e.g. `manylinux_2_28`) fails to load on python3.11, so it is not accepted there.
fn lambda_glibc_minor(version: &str) -> u32 {
    let minor = version
        .split_once('.')
        .and_then(|(_, minor)| minor.parse::<u32>().ok());
    match minor {
        Some(minor) if minor < 12 => 26,
        _ => 34,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(architecture: Architecture) -> Target<'static> {
        Target {
            platform: "aws",
            architecture,
        }
    }

    #[test]
    fn pip_platforms_follow_the_lambda_runtimes_glibc() {
        let arm = target(Architecture::Arm64).pip_platforms("3.11");
        assert_eq!(arm.first().unwrap(), "manylinux2014_aarch64");
        assert!(arm.contains(&"manylinux_2_17_aarch64".to_owned()));
        assert_eq!(arm.last().unwrap(), "manylinux_2_26_aarch64");
        assert!(!arm.iter().any(|p| p.contains("x86_64")));

        let x64 = target(Architecture::X64).pip_platforms("3.12");
        for tag in [
            "manylinux1_x86_64",
            "manylinux2014_x86_64",
            "manylinux_2_17_x86_64",
            "manylinux_2_28_x86_64",
            "manylinux_2_34_x86_64",
        ] {
            assert!(x64.contains(&tag.to_owned()), "{tag} in {x64:?}");
        }
        assert!(!x64.contains(&"manylinux_2_35_x86_64".to_owned()));
        assert!(
            !target(Architecture::X64)
                .pip_platforms("3.9")
                .contains(&"manylinux_2_28_x86_64".to_owned()),
            "python3.9 runs on Amazon Linux 2 (glibc 2.26)"
        );
    }

    #[test]
    fn names_of_the_architecture() {
        let arm = target(Architecture::Arm64);
        assert_eq!((arm.machine(), arm.npm_cpu()), ("aarch64", "arm64"));
        let x64 = target(Architecture::X64);
        assert_eq!((x64.machine(), x64.npm_cpu()), ("x86_64", "x64"));
        assert!(!x64.is_local());
        assert_eq!(x64.describe(), "aws/x64");
    }
}
