//! Values that may hold secrets. None of these types implements `Serialize`, so a struct that
//! holds one cannot be written to a result or cache file unless the field is skipped: the
//! compiler enforces what review would otherwise have to.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A secret string (a key, a password): readable through [`Secret::expose`], printed by `Debug`
/// as `<redacted>`, never serialized.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that hands it to a provider.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty (SeBS's configs use `""` for "not set").
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A container registry and the login for it (`docker_registry` of the OpenWhisk and Knative
/// sections, `resources.docker` that SeBS caches). Empty strings mean "not set", as in SeBS.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DockerRegistry {
    /// Registry address, e.g. `docker.io` or `registry.example.com:5000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// User name for the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password or token for the registry (never serialized).
    #[serde(default, skip_serializing)]
    pub password: Option<Secret>,
}

/// A storage configuration kept verbatim: the output of `sebs storage start` (MinIO or ScyllaDB
/// address, ports, keys, buckets). `Debug` redacts the values of keys that name secrets.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct StorageSection(Value);

impl StorageSection {
    /// The configuration as written, secrets included.
    pub fn value(&self) -> &Value {
        &self.0
    }
}

impl fmt::Debug for StorageSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StorageSection({})", redact(&self.0))
    }
}

/// Whether a storage key holds a secret (`access_key`, `secret_key`, `password`, connection
/// strings, tokens).
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "key",
        "secret",
        "password",
        "token",
        "connection",
        "credential",
    ]
    .iter()
    .any(|word| key.contains(word))
}

fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_secret_key(k) && !v.is_object() {
                        Value::String("<redacted>".into())
                    } else {
                        redact(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// `true`/`false` given as a JSON boolean or as a string (SeBS's example config writes
/// `"wskBypassSecurity": "true"`); `""` is false, as it is to SeBS.
pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    struct Flag;
    impl<'de> serde::de::Visitor<'de> for Flag {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("true or false (a boolean, or the string \"true\" or \"false\")")
        }
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            match v.to_ascii_lowercase().as_str() {
                "true" => Ok(Some(true)),
                "false" | "" => Ok(Some(false)),
                _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
            }
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(Flag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn storage_debug_redacts_keys_but_keeps_addresses() {
        let s: StorageSection = serde_json::from_value(json!({
            "object": {"minio": {"address": "10.0.0.1:9011", "access_key": "AK", "secret_key": "SK"}},
            "nosql": {"scylladb": {"password": "PW", "mapped_port": 9012}}
        }))
        .unwrap();
        let text = format!("{s:?}");
        assert!(
            text.contains("10.0.0.1:9011") && text.contains("9012"),
            "{text}"
        );
        for secret in ["\"AK\"", "\"SK\"", "\"PW\""] {
            assert!(!text.contains(secret), "{text}");
        }
        assert_eq!(s.value()["object"]["minio"]["secret_key"], "SK");
    }

    #[test]
    fn flag_accepts_booleans_and_their_strings_only() {
        let parse = |v: Value| flag(v).map_err(|e| e.to_string());
        assert_eq!(parse(json!(true)), Ok(Some(true)));
        assert_eq!(parse(json!("true")), Ok(Some(true)));
        assert_eq!(parse(json!("False")), Ok(Some(false)));
        assert_eq!(parse(json!("")), Ok(Some(false)));
        assert_eq!(parse(Value::Null), Ok(None));
        assert!(parse(json!("yes")).unwrap_err().contains("true or false"));
        assert!(parse(json!(1)).is_err());
    }
}
