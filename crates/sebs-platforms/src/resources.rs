//! `sebs resources`: list and delete what sebs created on a platform, through the platform's
//! own [`Platform::resources`] and [`Platform::delete`].

use anyhow::Result;

use crate::platform::{Platform, Resource};
use crate::settings::{RunOptions, Settings};

/// Which resources a command acts on.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only this kind (`function`, `bucket`, ...).
    pub kind: Option<String>,
    /// Only these names.
    pub names: Vec<String>,
    /// Only names starting with this.
    pub prefix: Option<String>,
}

impl Selection {
    fn matches(&self, r: &Resource) -> bool {
        self.kind.as_deref().is_none_or(|k| k == r.kind)
            && (self.names.is_empty() || self.names.contains(&r.name))
            && self.prefix.as_deref().is_none_or(|p| r.name.starts_with(p))
    }
}

/// One deletion and its outcome.
#[derive(Debug)]
pub struct Removal {
    /// The resource.
    pub resource: Resource,
    /// `None` if deleted (or, in a dry run, would be); else why not.
    pub error: Option<String>,
}

/// The platform of `options` and its resources matching `selection`.
pub async fn list(options: &RunOptions, selection: &Selection) -> Result<(String, Vec<Resource>)> {
    let settings = Settings::resolve(options)?;
    let platform = crate::factory::create(&settings)?;
    let found = platform.resources().await;
    let name = platform.name().to_owned();
    platform.shutdown().await;
    Ok((
        name,
        found?
            .into_iter()
            .filter(|r| selection.matches(r))
            .collect(),
    ))
}

/// Delete the resources matching `selection` (all of them for `cleanup`), or only say which
/// with `dry_run`. A failed deletion is reported and the others go on.
pub async fn remove(
    options: &RunOptions,
    selection: &Selection,
    dry_run: bool,
) -> Result<(String, Vec<Removal>)> {
    let settings = Settings::resolve(options)?;
    let platform = crate::factory::create(&settings)?;
    let result = remove_on(platform.as_ref(), selection, dry_run).await;
    let name = platform.name().to_owned();
    platform.shutdown().await;
    Ok((name, result?))
}

async fn remove_on(
    platform: &dyn Platform,
    selection: &Selection,
    dry_run: bool,
) -> Result<Vec<Removal>> {
    let mut out = Vec::new();
    for resource in platform.resources().await? {
        if !selection.matches(&resource) {
            continue;
        }
        let error = if dry_run {
            None
        } else {
            tracing::info!("deleting the {} {}", resource.kind, resource.name);
            platform
                .delete(&resource)
                .await
                .err()
                .map(|e| format!("{e:#}"))
        };
        out.push(Removal { resource, error });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection() {
        let f = Resource::function("sebs-ab-x");
        assert!(Selection::default().matches(&f));
        let only_buckets = Selection {
            kind: Some("bucket".into()),
            ..Default::default()
        };
        assert!(!only_buckets.matches(&f));
        let prefix = Selection {
            prefix: Some("sebs-ab".into()),
            ..Default::default()
        };
        assert!(prefix.matches(&f));
        let named = Selection {
            names: vec!["other".into()],
            ..Default::default()
        };
        assert!(!named.matches(&f));
    }
}
