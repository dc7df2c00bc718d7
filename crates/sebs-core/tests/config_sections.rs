//! The typed deployment sections: SeBS's own example configs load with no warnings, each section
//! parses with exact values, credentials never show in `Debug` or serialized output, unknown keys
//! are warnings and bad values are errors naming their JSON path.

use std::path::{Path, PathBuf};

use sebs_core::ConfigError;
use sebs_core::config::{
    Architecture, DeploymentName, FunctionUrlAuthType, GcpExecutionEnvironment,
    GcpPackageDeploymentType, LoadedConfig, UserConfig,
};

/// SeBS's `config/example.json` (spcl/serverless-benchmarks, commit bf5bc35), verbatim.
const SEBS_EXAMPLE: &str = r#"{
  "experiments": {
    "deployment": "aws",
    "update_code": false,
    "update_storage": false,
    "download_results": false,
    "architecture": "arm64", 
    "container_deployment": true,
    "runtime": {
      "language": "python",
      "version": "3.8"
    },
    "type": "invocation-overhead",
    "perf-cost": {
      "benchmark": "110.dynamic-html",
      "experiments": ["cold", "warm", "burst", "sequential"],
      "input-size": "test",
      "repetitions": 50,
      "concurrent-invocations": 50,
      "memory-sizes": [128, 256]
    },
    "network-ping-pong": {
      "invocations": 50,
      "repetitions": 1000,
      "threads": 1
    },
    "invocation-overhead": {
      "repetitions": 5,
      "N": 20,
      "type": "payload",
      "payload_begin": 1024,
      "payload_end": 6251000,
      "payload_points": 20,
      "code_begin": 1048576,
      "code_end": 261619712,
      "code_points": 20
    },
    "eviction-model": {
      "invocations": 1,
      "function_copy_idx": 0,
      "repetitions": 5,
      "sleep": 1
    }
  },
  "deployment": {
    "name": "aws",
    "aws": {
      "region": "us-east-1",
      "lambda-role": ""
    },
    "azure": {
      "region": "westeurope"
    },
    "gcp": {
      "region": "europe-west1",
      "project_name": "",
      "credentials": ""
    },
    "local": {
      "storage": {
        "address": "",
        "mapped_port": -1,
        "access_key": "",
        "secret_key": "",
        "instance_id": "",
        "input_buckets": [],
        "output_buckets": [],
        "type": "minio"
      }
    },
    "openwhisk": {
      "shutdownStorage": false,
      "removeCluster": false,
      "wskBypassSecurity": "true",
      "wskExec": "wsk",
      "experimentalManifest": false,
      "docker_registry": {
        "registry": "",
        "username": "",
        "password": ""
      },
      "storage": {
        "address": "",
        "mapped_port": -1,
        "access_key": "",
        "secret_key": "",
        "instance_id": "",
        "input_buckets": [],
        "output_buckets": [],
        "type": "minio"
      }
    }
  }
}
"#;

/// An older `config/example.json` of SeBS (commit 012bd0b), verbatim.
const SEBS_EXAMPLE_OLD: &str = r#"{
  "experiments": {
    "update_code": false,
    "update_storage": false,
    "download_results": false,
    "runtime": {
      "language": "python",
      "version": "3.6"
    },
    "type": "invocation-overhead",
    "perf-cost": {
      "benchmark": "110.dynamic-html",
      "experiments": ["cold", "warm", "burst", "sequential"],
      "input-size": "test",
      "repetitions": 50,
      "concurrent-invocations": 50,
      "memory-sizes": [128, 256]
    },
    "network-ping-pong": {
      "invocations": 50,
      "repetitions": 1000,
      "threads": 1
    },
    "invocation-overhead": {
      "invocations": 1,
      "repetitions": 5,
      "N": 20,
      "threads": 1,
      "payload_begin": 1024,
      "payload_end": 6251000,
      "payload_points": 20,
      "code_begin": 1048576,
      "code_end": 261619712,
      "code_points": 20
    }
  },
  "deployment": {
    "name": "aws",
    "aws": {
      "region": "us-east-1",
      "lambda-role": ""
    },
    "azure": {
      "region": "westeurope"
    }
  }
}
"#;

/// Every section with credentials and the resources SeBS caches.
const FULL: &str = r#"{
  "deployment": {
    "name": "knative",
    "aws": {
      "region": "eu-central-1",
      "credentials": {"access_key": "AKIA-SECRET-1", "secret_key": "aws-secret-2", "account_id": "123456789012"},
      "resources": {
        "resources_id": "a1b2", "storage_buckets": {"benchmarks": "sebs-benchmarks-a1b2"},
        "lambda-role": "arn:aws:iam::123456789012:role/sebs-lambda-role",
        "use-function-url": true, "function-url-auth-type": "AWS_IAM",
        "http-apis": {"api": {"arn": "arn:aws:execute-api:x", "endpoint": "https://api.example"}},
        "function-urls": {"f": {"url": "https://f.lambda-url.on.aws/", "function_name": "f", "auth_type": "NONE"}},
        "docker": {"registry": null, "username": null}, "container_repository": null,
        "benchmarks": "sebs-benchmarks-a1b2", "written-by-a-newer-sebs": {"x": 1}
      }
    },
    "azure": {
      "region": "westeurope",
      "credentials": {"appId": "azure-app-3", "tenant": "azure-tenant-4", "password": "azure-pass-5", "subscription_id": "sub-6"},
      "resources": {
        "resources_id": "c3", "resource_group": "sebs_resource_group_c3",
        "storage_accounts": [{"account_name": "function1", "connection_string": "azure-conn-7"}],
        "data_storage_account": {"account_name": "storagec3", "connection_string": "azure-conn-8"},
        "cosmosdb_account": {"account_name": "cosmos", "credential": "azure-cosmos-9"}
      }
    },
    "gcp": {
      "region": "us-central1", "project_name": "proj",
      "credentials": {"credentials-json": "/keys/gcp-secret-10.json", "project_id": "proj"},
      "system-variant": "gen2",
      "configuration": {
        "function-gen1": {"min-instances": 0, "max-instances": 20},
        "function-gen2": {"vcpus": 1, "gcp-concurrency": 80, "worker-concurrency": 1, "worker-threads": 8,
                          "min-instances": 0, "max-instances": 20, "cpu-boost": false, "cpu-throttle": true},
        "container": {"environment": "gen2", "vcpus": 2, "gcp-concurrency": 10, "worker-concurrency": 2,
                      "worker-threads": 4, "min-instances": 1, "max-instances": 5, "cpu-boost": true, "cpu-throttle": false},
        "package-deployment-type": "function-gen2"
      },
      "resources": {"resources_id": "e5", "container_repository": "sebs-benchmarks-e5"}
    },
    "openwhisk": {
      "shutdownStorage": true, "removeCluster": false, "wskBypassSecurity": false, "wskExec": "/usr/bin/wsk",
      "experimentalManifest": true, "dockerhubRepository": "me/sebs",
      "docker_registry": {"registry": "registry.local:5000", "username": "me", "password": "ow-registry-11"},
      "storage": {"object": {"type": "minio", "minio": {"address": "10.0.0.5:9011", "access_key": "ow-ak-12", "secret_key": "ow-sk-13"}}},
      "resources": {"resources_id": "ow1", "docker": {"registry": "registry.local:5000", "username": "me", "password": "ow-registry-14"}},
      "apihost": "https://10.0.0.5:31001", "auth": "ow-uuid:ow-auth-17", "namespace": "guest", "docker_image": "me/ow:{benchmark}"
    },
    "knative": {
      "namespace": "sebs", "kubeconfig": "/home/me/.kube/config", "context": "kind-sebs",
      "ingress": "http://192.168.49.2:31080", "domain": "example.com", "knativeExec": "func",
      "shutdownStorage": false, "removeCluster": true,
      "docker_registry": {"registry": "docker.io", "username": "me", "password": "kn-registry-15"},
      "storage": {"address": "10.0.0.6:9011", "secret_key": "kn-sk-16"},
      "image": "r.io/sebs-{benchmark}:1", "min_scale": 0, "max_scale": 4, "container_concurrency": 2,
      "scale_to_zero_wait_s": 120
    }
  }
}"#;

/// Every secret value in [`FULL`].
const SECRETS: [&str; 17] = [
    "ow-auth-17",
    "AKIA-SECRET-1",
    "aws-secret-2",
    "azure-app-3",
    "azure-tenant-4",
    "azure-pass-5",
    "azure-conn-7",
    "azure-conn-8",
    "azure-cosmos-9",
    "gcp-secret-10",
    "ow-registry-11",
    "ow-ak-12",
    "ow-sk-13",
    "ow-registry-14",
    "kn-registry-15",
    "kn-sk-16",
    // Not a secret by itself, but part of a credentials block.
    "/keys/",
];

fn parse(text: &str) -> Result<LoadedConfig, ConfigError> {
    UserConfig::parse(text, Path::new("c.json"))
}

fn error(text: &str) -> (String, String) {
    match parse(text).unwrap_err() {
        ConfigError::Invalid {
            json_path, message, ..
        } => (json_path, message),
        other => panic!("expected a value error, got {other:?}"),
    }
}

#[test]
fn sebs_example_config_loads_without_warnings() {
    let loaded = parse(SEBS_EXAMPLE).unwrap();
    assert_eq!(loaded.unknown_keys, Vec::<String>::new());
    let c = loaded.config;
    assert_eq!(c.experiments.architecture, Architecture::Arm64);
    assert_eq!(c.experiments.container_deployment, Some(true));
    assert_eq!(c.experiments.runtime.version.as_deref(), Some("3.8"));
    let d = c.deployment;
    assert_eq!(d.name, DeploymentName::Aws);

    let aws = d.aws.unwrap();
    assert_eq!(aws.region.as_deref(), Some("us-east-1"));
    assert_eq!(aws.lambda_role.as_deref(), Some(""));
    assert!(aws.credentials.is_none() && aws.resources.is_none());

    let azure = d.azure.unwrap();
    assert_eq!(azure.region.as_deref(), Some("westeurope"));
    assert!(azure.credentials.is_none());

    let gcp = d.gcp.unwrap();
    assert_eq!(gcp.region.as_deref(), Some("europe-west1"));
    assert_eq!(gcp.project_name.as_deref(), Some(""));
    // `"credentials": ""` is SeBS's "no file": the environment is used.
    let creds = gcp.credentials.unwrap();
    assert_eq!(creds.credentials_json, None);
    assert_eq!(creds.project_id, None);

    assert_eq!(d.local.storage.unwrap()["type"], "minio");

    let ow = d.openwhisk.unwrap();
    assert_eq!(ow.shutdown_storage, Some(false));
    assert_eq!(ow.remove_cluster, Some(false));
    assert_eq!(ow.wsk_bypass_security, Some(true));
    assert_eq!(ow.wsk_exec.as_deref(), Some("wsk"));
    assert_eq!(ow.experimental_manifest, Some(false));
    assert_eq!(ow.dockerhub_repository, None);
    let registry = ow.docker_registry.unwrap();
    assert_eq!(registry.registry.as_deref(), Some(""));
    assert_eq!(registry.username.as_deref(), Some(""));
    assert!(registry.password.unwrap().is_empty());
    let storage = ow.storage.unwrap();
    assert_eq!(storage.value()["mapped_port"], -1);
    assert!(d.knative.is_none());
}

#[test]
fn older_sebs_example_config_loads_without_warnings() {
    let loaded = parse(SEBS_EXAMPLE_OLD).unwrap();
    assert_eq!(loaded.unknown_keys, Vec::<String>::new());
    let overhead = loaded.config.experiments.invocation_overhead.unwrap();
    assert_eq!((overhead.invocations, overhead.threads), (Some(1), Some(1)));
    assert_eq!(loaded.config.experiments.architecture, Architecture::X64);
}

#[test]
fn cloud_sections_parse_with_exact_values() {
    let loaded = parse(FULL).unwrap();
    assert_eq!(loaded.unknown_keys, Vec::<String>::new());
    let d = loaded.config.deployment;
    assert_eq!(d.name, DeploymentName::Knative);

    let aws = d.aws.unwrap();
    assert_eq!(aws.region.as_deref(), Some("eu-central-1"));
    let creds = aws.credentials.unwrap();
    assert_eq!(creds.access_key.unwrap().expose(), "AKIA-SECRET-1");
    assert_eq!(creds.secret_key.unwrap().expose(), "aws-secret-2");
    assert_eq!(creds.account_id.as_deref(), Some("123456789012"));
    let res = aws.resources.unwrap();
    assert_eq!(res.resources_id.as_deref(), Some("a1b2"));
    assert_eq!(res.storage_buckets["benchmarks"], "sebs-benchmarks-a1b2");
    assert_eq!(
        res.lambda_role.as_deref(),
        Some("arn:aws:iam::123456789012:role/sebs-lambda-role")
    );
    assert_eq!(res.use_function_url, Some(true));
    assert_eq!(
        res.function_url_auth_type,
        Some(FunctionUrlAuthType::AwsIam)
    );
    assert_eq!(res.http_apis["api"].endpoint, "https://api.example");
    assert_eq!(res.function_urls["f"].function_name, "f");
    assert_eq!(
        res.function_urls["f"].auth_type,
        Some(FunctionUrlAuthType::None)
    );
    assert_eq!(res.docker.unwrap().registry, None);
    assert_eq!(res.container_repository, None);

    let azure = d.azure.unwrap();
    let creds = azure.credentials.unwrap();
    assert_eq!(creds.app_id.unwrap().expose(), "azure-app-3");
    assert_eq!(creds.tenant.unwrap().expose(), "azure-tenant-4");
    assert_eq!(creds.password.unwrap().expose(), "azure-pass-5");
    assert_eq!(creds.subscription_id.as_deref(), Some("sub-6"));
    let res = azure.resources.unwrap();
    assert_eq!(
        res.resource_group.as_deref(),
        Some("sebs_resource_group_c3")
    );
    assert_eq!(res.storage_accounts[0].account_name, "function1");
    let data = res.data_storage_account.unwrap();
    assert_eq!(data.account_name, "storagec3");
    assert_eq!(data.connection_string.unwrap().expose(), "azure-conn-8");

    let gcp = d.gcp.unwrap();
    assert_eq!(gcp.region.as_deref(), Some("us-central1"));
    assert_eq!(gcp.project_name.as_deref(), Some("proj"));
    assert_eq!(gcp.system_variant.as_deref(), Some("gen2"));
    let creds = gcp.credentials.unwrap();
    assert_eq!(
        creds.credentials_json,
        Some(PathBuf::from("/keys/gcp-secret-10.json"))
    );
    assert_eq!(creds.project_id.as_deref(), Some("proj"));
    let conf = gcp.configuration.unwrap();
    let gen1 = conf.function_gen1.unwrap();
    assert_eq!(
        (gen1.min_instances, gen1.max_instances),
        (Some(0), Some(20))
    );
    let gen2 = conf.function_gen2.unwrap();
    assert_eq!(
        (gen2.vcpus, gen2.gcp_concurrency, gen2.worker_threads),
        (Some(1), Some(80), Some(8))
    );
    assert_eq!(
        (gen2.cpu_boost, gen2.cpu_throttle, gen2.environment),
        (Some(false), Some(true), None)
    );
    let container = conf.container.unwrap();
    assert_eq!(container.environment, Some(GcpExecutionEnvironment::Gen2));
    assert_eq!(
        (container.min_instances, container.max_instances),
        (Some(1), Some(5))
    );
    assert_eq!(
        conf.package_deployment_type,
        Some(GcpPackageDeploymentType::FunctionGen2)
    );
    assert_eq!(
        gcp.resources.unwrap().container_repository.as_deref(),
        Some("sebs-benchmarks-e5")
    );
}

#[test]
fn cluster_sections_parse_with_exact_values() {
    let d = parse(FULL).unwrap().config.deployment;
    let ow = d.openwhisk.unwrap();
    assert_eq!(ow.shutdown_storage, Some(true));
    assert_eq!(ow.remove_cluster, Some(false));
    assert_eq!(ow.wsk_bypass_security, Some(false));
    assert_eq!(ow.wsk_exec.as_deref(), Some("/usr/bin/wsk"));
    assert_eq!(ow.experimental_manifest, Some(true));
    assert_eq!(ow.dockerhub_repository.as_deref(), Some("me/sebs"));
    let registry = ow.docker_registry.unwrap();
    assert_eq!(registry.registry.as_deref(), Some("registry.local:5000"));
    assert_eq!(registry.password.unwrap().expose(), "ow-registry-11");
    assert_eq!(
        ow.storage.unwrap().value()["object"]["minio"]["address"],
        "10.0.0.5:9011"
    );
    assert_eq!(ow.resources.unwrap().resources_id.as_deref(), Some("ow1"));

    let kn = d.knative.unwrap();
    assert_eq!(kn.namespace.as_deref(), Some("sebs"));
    assert_eq!(kn.kubeconfig, Some(PathBuf::from("/home/me/.kube/config")));
    assert_eq!(kn.context.as_deref(), Some("kind-sebs"));
    assert_eq!(kn.ingress.as_deref(), Some("http://192.168.49.2:31080"));
    assert_eq!(kn.domain.as_deref(), Some("example.com"));
    assert_eq!(kn.knative_exec.as_deref(), Some("func"));
    assert_eq!(
        (kn.shutdown_storage, kn.remove_cluster),
        (Some(false), Some(true))
    );
    let registry = kn.docker_registry.unwrap();
    assert_eq!(registry.username.as_deref(), Some("me"));
    assert_eq!(registry.password.unwrap().expose(), "kn-registry-15");
}

#[test]
fn credentials_never_show_in_debug_output() {
    let config = parse(FULL).unwrap().config;
    let text = format!("{config:?}");
    for secret in SECRETS {
        assert!(!text.contains(secret), "`{secret}` printed by Debug");
    }
    assert!(text.contains("<redacted>"));
    // Ids SeBS itself writes into results stay visible.
    for id in ["123456789012", "sub-6", "\"proj\"", "10.0.0.5:9011"] {
        assert!(text.contains(id), "`{id}` missing from Debug");
    }
}

#[test]
fn credentials_are_never_serialized() {
    let config = parse(FULL).unwrap().config;
    let text = serde_json::to_string(&config).unwrap();
    for secret in SECRETS {
        assert!(!text.contains(secret), "`{secret}` serialized");
    }
    let value = serde_json::to_value(&config.deployment).unwrap();
    for section in ["aws", "azure", "gcp"] {
        assert!(value[section].get("credentials").is_none(), "{section}");
    }
    assert!(value["openwhisk"].get("storage").is_none());
    let example = parse(SEBS_EXAMPLE).unwrap().config.deployment;
    assert!(example.local.storage.is_some());
    let value_example = serde_json::to_value(&example).unwrap();
    assert!(value_example["local"].get("storage").is_none());
    // What is not secret is kept.
    assert_eq!(value["aws"]["region"], "eu-central-1");
    assert_eq!(value["openwhisk"]["docker_registry"]["username"], "me");
    assert_eq!(value["knative"]["namespace"], "sebs");
    assert_eq!(value["openwhisk"]["apihost"], "https://10.0.0.5:31001");
    assert!(value["openwhisk"].get("auth").is_none());
    assert_eq!(value["knative"]["container_concurrency"], 2);
}

#[test]
fn unknown_keys_in_sections_are_warnings() {
    let loaded = parse(
        r#"{"deployment": {"name": "local",
            "local": {"busy-poll-us": 50, "functions": {"010.sleep": {"keep-alive": 0, "colour": 1}}},
            "aws": {"region": "us-east-1", "regoin": "x", "credentials": {"session_token": "t"}},
            "gcp": {"configuration": {"function-gen2": {"turbo": true}}},
            "openwhisk": {"docker_registry": {"mirror": ""}},
            "knative": {"replicas": 3}}}"#,
    )
    .unwrap();
    assert_eq!(
        loaded.unknown_keys,
        [
            "deployment.aws.credentials.session_token",
            "deployment.aws.regoin",
            "deployment.gcp.configuration.function-gen2.turbo",
            "deployment.knative.replicas",
            "deployment.local.functions.010.sleep.colour",
            "deployment.openwhisk.docker_registry.mirror",
        ]
    );
    let d = loaded.config.deployment;
    // Known keys next to unknown ones still apply.
    assert_eq!(d.local.busy_poll_us, Some(50));
    assert_eq!(d.local.functions["010.sleep"].keep_alive, Some(0.0));
    assert_eq!(d.aws.unwrap().region.as_deref(), Some("us-east-1"));
}

#[test]
fn bad_values_name_their_path_and_the_fix() {
    let (path, message) = error(r#"{"deployment": {"name": "aws", "aws": {"region": ""}}}"#);
    assert_eq!(path, "deployment.aws.region");
    assert!(message.contains("remove the key"), "{message}");

    let (path, message) =
        error(r#"{"deployment": {"name": "gcp", "gcp": {"region": "Europe West"}}}"#);
    assert_eq!(path, "deployment.gcp.region");
    assert!(message.contains("europe-west1"), "{message}");

    let (path, message) =
        error(r#"{"deployment": {"name": "aws", "aws": {"credentials": {"access_key": "a"}}}}"#);
    assert_eq!(path, "deployment.aws.credentials.secret_key");
    assert!(message.contains("access_key"), "{message}");

    let (path, message) = error(
        r#"{"deployment": {"name": "openwhisk", "openwhisk": {"wskBypassSecurity": "yes"}}}"#,
    );
    assert_eq!(path, "deployment.openwhisk.wskBypassSecurity");
    assert!(message.contains("true or false"), "{message}");

    let (path, message) = error(
        r#"{"deployment": {"name": "openwhisk", "openwhisk": {"apihost": "10.0.0.5:31001"}}}"#,
    );
    assert_eq!(path, "deployment.openwhisk.apihost");
    assert!(message.contains("https://"), "{message}");

    let (path, message) = error(
        r#"{"deployment": {"name": "knative", "knative": {"min_scale": 4, "max_scale": 2}}}"#,
    );
    assert_eq!(path, "deployment.knative.min_scale");
    assert!(message.contains("max_scale"), "{message}");

    let (path, _) = error(
        r#"{"deployment": {"name": "gcp", "gcp": {"configuration": {"function-gen1": {"min-instances": 5, "max-instances": 2}}}}}"#,
    );
    assert_eq!(
        path,
        "deployment.gcp.configuration.function-gen1.max-instances"
    );

    let (path, message) = error(
        r#"{"deployment": {"name": "gcp", "gcp": {"configuration": {"container": {"gcp-concurrency": 5000}}}}}"#,
    );
    assert_eq!(
        path,
        "deployment.gcp.configuration.container.gcp-concurrency"
    );
    assert!(message.contains("1 to 1000"), "{message}");

    let (path, _) = error(
        r#"{"deployment": {"name": "aws", "aws": {"resources": {"function-url-auth-type": "OPEN"}}}}"#,
    );
    assert_eq!(path, "deployment.aws.resources.function-url-auth-type");

    let (path, _) =
        error(r#"{"deployment": {"name": "knative", "knative": {"namespace": "My_NS"}}}"#);
    assert_eq!(path, "deployment.knative.namespace");
    let (path, _) =
        error(r#"{"deployment": {"name": "knative", "knative": {"ingress": "192.168.49.2"}}}"#);
    assert_eq!(path, "deployment.knative.ingress");

    let (path, _) = error(r#"{"deployment": {"name": "local", "local": {"keep-alive": -1}}}"#);
    assert_eq!(path, "deployment.local.keep-alive");
    let (path, _) = error(r#"{"experiments": {"perf-cost": {"memory-sizes": [128, 0]}}}"#);
    assert_eq!(path, "experiments.perf-cost.memory-sizes[1]");

    let err = parse(r#"{"deployment": {"name": "lambda"}}"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("deployment.name") && err.contains("knative"),
        "{err}"
    );
}

#[test]
fn deployment_names_parse_and_list_the_choices() {
    for name in ["local", "aws", "azure", "gcp", "openwhisk", "knative"] {
        let parsed: DeploymentName = name.parse().unwrap();
        assert_eq!(parsed.as_str(), name);
        let from_config = parse(&format!(r#"{{"deployment": {{"name": "{name}"}}}}"#)).unwrap();
        assert_eq!(from_config.config.deployment.name, parsed);
    }
    assert_eq!(DeploymentName::ALL.len(), 6);
    assert_eq!(
        "fission".parse::<DeploymentName>().unwrap_err(),
        "unknown deployment `fission`: expected one of local, aws, azure, gcp, openwhisk, knative"
    );
}

#[test]
fn ignored_settings_name_each_option_once() {
    let config = parse(
        r#"{"experiments": {"system_variant": "container", "container_deployment": true,
            "download_results": true, "flags": {"docker-volume": false, "b": true},
            "runtime": {"language": "python", "language-variant": "pypy"}}}"#,
    )
    .unwrap()
    .config;
    let ignored = config.ignored_settings();
    let paths: Vec<&str> = ignored
        .iter()
        .map(|s| s.split(" = ").next().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "`experiments.system_variant`",
            "`experiments.container_deployment`",
            "`experiments.download_results`",
            "`experiments.flags.b`",
            "`experiments.flags.docker-volume`",
            "`experiments.runtime.language-variant`",
        ]
    );
    assert!(
        ignored[1].contains("container images are not built"),
        "{}",
        ignored[1]
    );
    assert!(ignored[5].contains("\"pypy\""), "{}", ignored[5]);

    // What this build does anyway is not reported.
    let plain = parse(
        r#"{"experiments": {"system_variant": "package", "container_deployment": false,
            "download_results": false, "runtime": {"language-variant": "default"}}}"#,
    )
    .unwrap()
    .config;
    assert_eq!(plain.ignored_settings(), Vec::<String>::new());
    assert_eq!(
        UserConfig::default().ignored_settings(),
        Vec::<String>::new()
    );
    // SeBS's example asks for container deployment.
    assert_eq!(
        parse(SEBS_EXAMPLE).unwrap().config.ignored_settings().len(),
        1
    );
}

/// Memory sizes in a config file are range-checked like `--memory` (128 to 10240 MB), with the
/// JSON path in the error.
#[test]
fn memory_sizes_out_of_the_flag_range_are_rejected_with_their_path() {
    for (sizes, index, shown) in [
        ("[0]", 0, "0 MB"),
        ("[128, 999999]", 1, "999999 MB"),
        ("[127]", 0, "127 MB"),
    ] {
        let err = parse(&format!(
            r#"{{"experiments": {{"perf-cost": {{"memory-sizes": {sizes}}}}}}}"#
        ))
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("`experiments.perf-cost.memory-sizes[{index}]`")),
            "{text}"
        );
        assert!(
            text.contains(shown) && text.contains("128 to 10240 MB"),
            "{text}"
        );
    }
    assert!(parse(r#"{"experiments": {"perf-cost": {"memory-sizes": [128, 10240]}}}"#).is_ok());
}
