//! The effective OpenWhisk settings: `deployment.openwhisk` (SeBS's keys read as they are, plus
//! `apihost`, `auth`, `namespace`, `docker_image`), completed from the `wsk` CLI's properties
//! file (`WSK_CONFIG_FILE`, else `~/.wskprops`: `APIHOST`, `AUTH`, `NAMESPACE`), which is where a
//! SeBS user's `wsk` finds them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sebs_core::config::{OpenWhiskConfig, Secret, StorageSection};

/// Settings of the OpenWhisk backend.
#[derive(Debug, Clone)]
pub struct OpenWhiskSettings {
    /// API host URL, e.g. `https://10.0.0.5:31001`.
    pub apihost: String,
    /// `uuid:key` (never logged).
    pub auth: Secret,
    /// Namespace (`_`: the authorization's own).
    pub namespace: String,
    /// Skip TLS verification (`wskBypassSecurity`).
    pub insecure: bool,
    /// Image template for image actions.
    pub docker_image: Option<String>,
    /// SeBS's resource id.
    pub resources_id: String,
    /// Storage the functions reach.
    pub storage: Option<StorageSection>,
    /// Local state (resource id, deployed actions).
    pub state_dir: PathBuf,
}

impl OpenWhiskSettings {
    /// Resolve from the section and the properties file; `cache_dir/openwhisk` keeps state.
    pub fn resolve(
        config: Option<&OpenWhiskConfig>,
        cache_dir: &Path,
    ) -> Result<OpenWhiskSettings> {
        let default = OpenWhiskConfig::default();
        let config = config.unwrap_or(&default);
        let props_path = std::env::var_os("WSK_CONFIG_FILE")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".wskprops")));
        let props = match &props_path {
            Some(p) if p.is_file() => read_props(p)?,
            _ => BTreeMap::new(),
        };
        let where_from = props_path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "~/.wskprops".into());
        let apihost = config
            .apihost
            .clone()
            .or_else(|| props.get("APIHOST").cloned())
            .with_context(|| format!(
                "no OpenWhisk API host: set deployment.openwhisk.apihost (e.g. \"https://10.0.0.5:31001\") or APIHOST in {where_from} (`wsk property set --apihost ...`)"
            ))?;
        let apihost = if apihost.contains("://") {
            apihost
        } else {
            // `wsk` takes a bare host and speaks HTTPS to it.
            format!("https://{apihost}")
        };
        let auth = config
            .auth
            .clone()
            .or_else(|| props.get("AUTH").map(|a| Secret::new(a.clone())))
            .filter(|a| !a.is_empty())
            .with_context(|| format!(
                "no OpenWhisk authorization: set deployment.openwhisk.auth to \"<uuid>:<key>\" or AUTH in {where_from} (`wsk property set --auth ...`)"
            ))?;
        if !auth.expose().contains(':') {
            bail!(
                "the OpenWhisk authorization is not of the form <uuid>:<key> (deployment.openwhisk.auth or AUTH in {where_from})"
            );
        }
        let namespace = config
            .namespace
            .clone()
            .or_else(|| props.get("NAMESPACE").cloned())
            .unwrap_or_else(|| "_".into());
        let state_dir = std::path::absolute(cache_dir)?.join("openwhisk");
        let resources_id = crate::common::resources_id(
            config.resources.as_ref(),
            &state_dir,
            "deployment.openwhisk.resources.resources_id",
        )?;
        Ok(OpenWhiskSettings {
            apihost: apihost.trim_end_matches('/').to_owned(),
            auth,
            namespace,
            insecure: config.wsk_bypass_security.unwrap_or(false),
            docker_image: config.docker_image.clone(),
            resources_id,
            storage: config.storage.clone(),
            state_dir,
        })
    }
}

/// `KEY=VALUE` lines of a `wsk` properties file.
fn read_props(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read {}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_wins_over_the_properties_file() {
        let dir = tempfile::tempdir().unwrap();
        let config: OpenWhiskConfig = serde_json::from_value(serde_json::json!({
            "apihost": "http://127.0.0.1:3233",
            "auth": "u:k",
            "wskBypassSecurity": "true",
            "resources": {"resources_id": "abc"}
        }))
        .unwrap();
        let s = OpenWhiskSettings::resolve(Some(&config), dir.path()).unwrap();
        assert_eq!(s.apihost, "http://127.0.0.1:3233");
        assert_eq!(s.namespace, "_");
        assert!(s.insecure);
        assert_eq!(s.resources_id, "abc");
        assert!(!format!("{s:?}").contains("u:k"), "Debug shows no key");
    }

    #[test]
    fn properties_files_are_read_like_wsk_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let props = dir.path().join("wskprops");
        std::fs::write(
            &props,
            "# wsk\nAPIHOST=10.0.0.5:31001\nAUTH=a:b\nNAMESPACE=guest\n",
        )
        .unwrap();
        let read = read_props(&props).unwrap();
        assert_eq!(read["APIHOST"], "10.0.0.5:31001");
        assert_eq!(read["NAMESPACE"], "guest");
    }
}
