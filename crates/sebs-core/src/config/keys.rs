//! Unknown keys: removed before strict deserialization and reported as warnings, so a config
//! written for another SeBS version loads, and only real type or value errors fail.
//!
//! The keys each section knows are read from its `Deserialize` impl (the field names and aliases
//! serde passes to `deserialize_struct`), so a field added to a struct is known at once; a
//! hand-kept list had already drifted (`deployment.local.busy-poll-us` was reported unknown
//! and dropped).

use serde::de::{self, DeserializeOwned, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::Value;

use super::cloud::{
    AwsConfig, AwsCredentials, AzureConfig, AzureCredentials, GcpConfig, GcpCredentialsObject,
    GcpDeploymentConfiguration, GcpRuntimeSettings, GcpScaling,
};
use super::cluster::{KnativeConfig, OpenWhiskConfig};
use super::experiments::{
    EvictionModelConfig, ExperimentsConfig, InvocationOverheadConfig, NetworkPingPongConfig,
    PerfCostConfig, RuntimeConfig, ScalingConfig,
};
use super::local::{LocalDeploymentConfig, LocalFunctionConfig};
use super::secret::DockerRegistry;
use super::{DeploymentConfig, UserConfig};

/// A position in the config document whose keys are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Node {
    Root,
    Experiments,
    Runtime,
    PerfCost,
    NetworkPingPong,
    InvocationOverhead,
    EvictionModel,
    Scaling,
    Deployment,
    Local,
    /// `deployment.local.functions`: any key (a function or benchmark name).
    LocalFunctions,
    LocalFunction,
    Aws,
    AwsCredentials,
    Azure,
    AzureCredentials,
    Gcp,
    GcpCredentials,
    GcpConfiguration,
    GcpScaling,
    GcpRuntime,
    OpenWhisk,
    Knative,
    Registry,
    /// Free-form (storage, cached resources, flags) or a leaf: not checked.
    Free,
}

impl Node {
    /// Every checked node, for tests.
    #[cfg(test)]
    pub(crate) const CHECKED: [Node; 23] = [
        Node::Root,
        Node::Experiments,
        Node::Runtime,
        Node::PerfCost,
        Node::NetworkPingPong,
        Node::InvocationOverhead,
        Node::EvictionModel,
        Node::Scaling,
        Node::Deployment,
        Node::Local,
        Node::LocalFunction,
        Node::Aws,
        Node::AwsCredentials,
        Node::Azure,
        Node::AzureCredentials,
        Node::Gcp,
        Node::GcpCredentials,
        Node::GcpConfiguration,
        Node::GcpScaling,
        Node::GcpRuntime,
        Node::OpenWhisk,
        Node::Knative,
        Node::Registry,
    ];

    /// The keys allowed here; `None`: any key.
    pub(crate) fn keys(self) -> Option<&'static [&'static str]> {
        Some(match self {
            Node::Root => fields::<UserConfig>(),
            Node::Experiments => fields::<ExperimentsConfig>(),
            Node::Runtime => fields::<RuntimeConfig>(),
            Node::PerfCost => fields::<PerfCostConfig>(),
            Node::NetworkPingPong => fields::<NetworkPingPongConfig>(),
            Node::InvocationOverhead => fields::<InvocationOverheadConfig>(),
            Node::EvictionModel => fields::<EvictionModelConfig>(),
            Node::Scaling => fields::<ScalingConfig>(),
            Node::Deployment => fields::<DeploymentConfig>(),
            Node::Local => fields::<LocalDeploymentConfig>(),
            Node::LocalFunction => fields::<LocalFunctionConfig>(),
            Node::Aws => fields::<AwsConfig>(),
            Node::AwsCredentials => fields::<AwsCredentials>(),
            Node::Azure => fields::<AzureConfig>(),
            Node::AzureCredentials => fields::<AzureCredentials>(),
            Node::Gcp => fields::<GcpConfig>(),
            Node::GcpCredentials => fields::<GcpCredentialsObject>(),
            Node::GcpConfiguration => fields::<GcpDeploymentConfiguration>(),
            Node::GcpScaling => fields::<GcpScaling>(),
            Node::GcpRuntime => fields::<GcpRuntimeSettings>(),
            Node::OpenWhisk => fields::<OpenWhiskConfig>(),
            Node::Knative => fields::<KnativeConfig>(),
            Node::Registry => fields::<DockerRegistry>(),
            Node::LocalFunctions | Node::Free => return None,
        })
    }

    /// The node of the value under `key`.
    fn child(self, key: &str) -> Node {
        match (self, key) {
            (Node::Root, "experiments") => Node::Experiments,
            (Node::Root, "deployment") => Node::Deployment,
            (Node::Experiments, "runtime") => Node::Runtime,
            (Node::Experiments, "perf-cost") => Node::PerfCost,
            (Node::Experiments, "network-ping-pong") => Node::NetworkPingPong,
            (Node::Experiments, "invocation-overhead") => Node::InvocationOverhead,
            (Node::Experiments, "eviction-model") => Node::EvictionModel,
            (Node::Experiments, "scaling") => Node::Scaling,
            (Node::Deployment, "local") => Node::Local,
            (Node::Deployment, "aws") => Node::Aws,
            (Node::Deployment, "azure") => Node::Azure,
            (Node::Deployment, "gcp") => Node::Gcp,
            (Node::Deployment, "openwhisk") => Node::OpenWhisk,
            (Node::Deployment, "knative") => Node::Knative,
            (Node::Local, "functions") => Node::LocalFunctions,
            (Node::LocalFunctions, _) => Node::LocalFunction,
            (Node::Aws, "credentials") => Node::AwsCredentials,
            (Node::Azure, "credentials") => Node::AzureCredentials,
            (Node::Gcp, "credentials") => Node::GcpCredentials,
            (Node::Gcp, "configuration") => Node::GcpConfiguration,
            (Node::GcpConfiguration, "function-gen1") => Node::GcpScaling,
            (Node::GcpConfiguration, "function-gen2" | "container") => Node::GcpRuntime,
            (Node::OpenWhisk | Node::Knative, "docker_registry") => Node::Registry,
            _ => Node::Free,
        }
    }
}

/// Remove the keys sebs does not know from `value`, appending their JSON paths to `unknown`.
pub(crate) fn strip_unknown(value: Value, unknown: &mut Vec<String>) -> Value {
    walk(value, Node::Root, "", unknown)
}

fn walk(value: Value, node: Node, path: &str, unknown: &mut Vec<String>) -> Value {
    let Value::Object(map) = value else {
        return value;
    };
    if node == Node::Free {
        return Value::Object(map);
    }
    let keys = node.keys();
    let mut out = serde_json::Map::new();
    for (k, v) in map {
        let child = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        if keys.is_some_and(|keys| !keys.contains(&k.as_str())) {
            unknown.push(child);
            continue;
        }
        let v = walk(v, node.child(&k), &child, unknown);
        out.insert(k, v);
    }
    Value::Object(out)
}

/// The field names (aliases included) a derived `Deserialize` struct accepts; empty for a type
/// that is not a plain struct (one with `#[serde(flatten)]` asks for a map instead).
fn fields<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut found: &'static [&'static str] = &[];
    // The probe always fails: it only records what the struct asks for.
    let _ = T::deserialize(FieldProbe(&mut found));
    found
}

struct FieldProbe<'a>(&'a mut &'static [&'static str]);

impl<'de> de::Deserializer<'de> for FieldProbe<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("field probe: not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("field probe: fields recorded"))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_checked_section_exposes_its_fields() {
        for node in Node::CHECKED {
            let keys = node.keys().unwrap_or_default();
            assert!(!keys.is_empty(), "{node:?} has no known keys");
        }
        let local = Node::Local.keys().unwrap();
        assert!(local.contains(&"busy-poll-us") && local.contains(&"keep-alive"));
        // Aliases count as known.
        let overhead = Node::InvocationOverhead.keys().unwrap();
        assert!(overhead.contains(&"code_package_begin") && overhead.contains(&"code_begin"));
        assert!(Node::AzureCredentials.keys().unwrap().contains(&"appID"));
    }

    #[test]
    fn walks_maps_of_sections_and_skips_free_blocks() {
        let mut unknown = Vec::new();
        let value = json!({
            "deployment": {
                "local": {"functions": {"f": {"keep-alive": 1, "colour": 2}}, "storage": {"x": 1}},
                "aws": {"resources": {"anything": {"goes": 1}}, "credentials": {"token": "t"}}
            },
            "experiments": {"flags": {"some-flag": true}}
        });
        let out = strip_unknown(value, &mut unknown);
        assert_eq!(
            unknown,
            [
                "deployment.aws.credentials.token",
                "deployment.local.functions.f.colour"
            ]
        );
        assert_eq!(
            out["deployment"]["local"]["functions"]["f"],
            json!({"keep-alive": 1})
        );
        assert_eq!(out["deployment"]["aws"]["resources"]["anything"]["goes"], 1);
        assert_eq!(out["deployment"]["local"]["storage"]["x"], 1);
    }
}
