//! Lambda runtime identifiers mapped to what runs them here: `python3.X` to a local CPython of
//! that version (else the default `python3`, with a warning), `nodejs<N>.x` to a local Node.js
//! of that major (else the `node` on PATH, with a warning), `provided*` to the package's own
//! `bootstrap` speaking the Runtime API. Handlers are checked against the package.

use std::path::Path;

use crate::spec::{Protocol, Runtime};

use super::ApiError;

/// The kind of runtime an identifier names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Family {
    /// `python3.X`: the `3.X` version.
    Python(String),
    /// `nodejs<N>.x`: the major version.
    Node(u32),
    /// `provided`, `provided.al2`, `provided.al2023`.
    Provided,
}

/// The family of a Lambda runtime identifier, or `InvalidParameterValueException`.
pub(crate) fn family(runtime: &str) -> Result<Family, ApiError> {
    let unsupported = || {
        ApiError::invalid(format!(
            "The runtime parameter of {runtime} is not supported by the local platform: use python3.X (X >= 8), nodejs<N>.x (N >= 16), provided, provided.al2 or provided.al2023"
        ))
    };
    if let Some(minor) = runtime.strip_prefix("python3.") {
        return match minor.parse::<u32>() {
            Ok(m) if m >= 8 && !minor.starts_with('0') => Ok(Family::Python(format!("3.{m}"))),
            _ => Err(unsupported()),
        };
    }
    if let Some(major) = runtime
        .strip_prefix("nodejs")
        .and_then(|r| r.strip_suffix(".x"))
    {
        return match major.parse::<u32>() {
            Ok(m) if m >= 16 && !major.starts_with('0') => Ok(Family::Node(m)),
            _ => Err(unsupported()),
        };
    }
    match runtime {
        "provided" | "provided.al2" | "provided.al2023" => Ok(Family::Provided),
        _ => Err(unsupported()),
    }
}

/// The local interpreter for `family` (found once per identifier by the caller's cache).
/// Blocking: it runs interpreters to learn their versions.
pub(crate) fn interpreter(runtime: &str, family: &Family) -> Result<Runtime, ApiError> {
    match family {
        Family::Python(version) => {
            let found = match sebs_core::python::find(Some(version)) {
                Ok(py) => py,
                Err(e) => {
                    let py = sebs_core::python::find(None).map_err(|e| {
                        ApiError::service(format!("no Python interpreter for {runtime}: {e}"))
                    })?;
                    tracing::warn!(
                        "{runtime}: {e}; functions of this runtime run on the default python3 ({})",
                        py.full_version
                    );
                    py
                }
            };
            Ok(Runtime::Python {
                interpreter: found.path,
            })
        }
        Family::Node(major) => {
            let found = match sebs_core::node::find(Some(&major.to_string())) {
                Ok(node) => node,
                Err(e) => {
                    let node = sebs_core::node::find(None)
                        .map_err(|e| ApiError::service(format!("no Node.js for {runtime}: {e}")))?;
                    tracing::warn!(
                        "{runtime}: {e}; functions of this runtime run on the node on PATH ({})",
                        node.full_version
                    );
                    node
                }
            };
            Ok(Runtime::Node { node: found.path })
        }
        Family::Provided => Err(ApiError::service(
            "provided runtimes run the package's bootstrap: no interpreter to find",
        )),
    }
}

/// The runtime and protocol of a function of `family` whose package is `code_dir`.
pub(crate) fn runtime_for(
    family: &Family,
    interpreter: Option<Runtime>,
    code_dir: &Path,
) -> Result<(Runtime, Protocol), ApiError> {
    match (family, interpreter) {
        (Family::Provided, _) => {
            let bootstrap = code_dir.join("bootstrap");
            if !bootstrap.is_file() {
                return Err(ApiError::invalid(
                    "The deployment package of a provided runtime must hold an executable file named `bootstrap` at its root",
                ));
            }
            Ok((Runtime::Custom { bootstrap }, Protocol::RuntimeApi))
        }
        (_, Some(runtime)) => Ok((runtime, Protocol::Channel)),
        (_, None) => Err(ApiError::service("no interpreter was resolved")),
    }
}

/// Check that `handler` (`module.function`) names a module of the package in `code_dir`, as
/// the runtime will load it. Provided runtimes interpret the handler themselves.
pub(crate) fn check_handler(
    family: &Family,
    handler: Option<&str>,
    code_dir: &Path,
) -> Result<(), ApiError> {
    if *family == Family::Provided {
        return Ok(());
    }
    let handler = handler.filter(|h| !h.is_empty()).ok_or_else(|| {
        ApiError::invalid("Handler is required for python and nodejs runtimes (`module.function`)")
    })?;
    let Some((module, function)) = handler
        .rsplit_once('.')
        .filter(|(m, f)| !m.is_empty() && !f.is_empty() && !m.split(['/', '.']).any(|p| p == ".."))
    else {
        return Err(ApiError::invalid(format!(
            "Handler `{handler}` is not of the form `module.function`"
        )));
    };
    let candidates: Vec<std::path::PathBuf> = match family {
        Family::Python(_) => {
            let base = code_dir.join(module.replace('.', "/"));
            vec![base.with_extension("py"), base.join("__init__.py")]
        }
        Family::Node(_) => {
            let base = code_dir.join(module);
            let with = |ext: &str| std::path::PathBuf::from(format!("{}{ext}", base.display()));
            vec![
                with(".js"),
                with(".mjs"),
                with(".cjs"),
                base.clone(),
                base.join("index.js"),
            ]
        }
        Family::Provided => Vec::new(),
    };
    if candidates.iter().any(|p| p.is_file()) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "Handler `{handler}`: the deployment package has no module `{module}` (looked for {}) to find `{function}` in",
            candidates
                .iter()
                .filter_map(|p| p.strip_prefix(code_dir).ok())
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_identifiers() {
        assert_eq!(family("python3.12").unwrap(), Family::Python("3.12".into()));
        assert_eq!(family("nodejs20.x").unwrap(), Family::Node(20));
        assert_eq!(family("provided.al2023").unwrap(), Family::Provided);
        for bad in [
            "python2.7",
            "python3.7",
            "python3.x",
            "nodejs20",
            "nodejs8.10",
            "java21",
            "",
        ] {
            assert!(family(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn handlers_must_name_a_module_of_the_package() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("pkg/app.py"), "").unwrap();
        std::fs::write(dir.path().join("index.mjs"), "").unwrap();
        let py = Family::Python("3.12".into());
        assert!(check_handler(&py, Some("pkg.app.handler"), dir.path()).is_ok());
        assert!(check_handler(&py, Some("app.handler"), dir.path()).is_err());
        assert!(check_handler(&py, Some("handler"), dir.path()).is_err());
        assert!(check_handler(&py, None, dir.path()).is_err());
        let node = Family::Node(20);
        assert!(check_handler(&node, Some("index.handler"), dir.path()).is_ok());
        assert!(check_handler(&node, Some("main.handler"), dir.path()).is_err());
        assert!(check_handler(&Family::Provided, None, dir.path()).is_ok());
    }
}
