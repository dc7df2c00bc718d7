//! What the fake's Resource Manager does with valid requests: resources created (with the
//! documented long-running patterns), read, listed and deleted; storage keys; a site's settings,
//! host keys and loaded functions.

use std::collections::BTreeMap;

use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use serde_json::{Value, json};

use super::fake::{FakeAzure, arm_error, reply, with_headers};
use super::runtime::loaded_functions;

fn resource_type(path: &str) -> &'static str {
    let p = path.to_ascii_lowercase();
    if p.contains("/microsoft.storage/") {
        "Microsoft.Storage/storageAccounts"
    } else if p.contains("/microsoft.web/serverfarms") {
        "Microsoft.Web/serverfarms"
    } else if p.contains("/microsoft.web/sites") {
        "Microsoft.Web/sites"
    } else if p.contains("/microsoft.insights/") {
        "microsoft.insights/components"
    } else if p.contains("/microsoft.documentdb/") {
        "Microsoft.DocumentDB/databaseAccounts"
    } else {
        "Microsoft.Resources/resourceGroups"
    }
}

/// The resource group part of a path (`/subscriptions/x/resourceGroups/y`), lower-case.
fn group_key(path: &str) -> String {
    path.split('/')
        .take(5)
        .collect::<Vec<_>>()
        .join("/")
        .to_ascii_lowercase()
}

/// The resource a create request describes, as the provider would show it.
fn created(fake: &FakeAzure, path: &str, name: &str, body: &Value) -> Value {
    let kind = resource_type(path);
    let mut r = json!({
        "id": path, "name": name, "type": kind,
        "location": body["location"], "tags": body.get("tags").cloned().unwrap_or(json!({})),
    });
    if let Some(k) = body.get("kind") {
        r["kind"] = k.clone();
    }
    let mut props = body.get("properties").cloned().unwrap_or(json!({}));
    props["provisioningState"] = json!("Succeeded");
    match kind {
        "Microsoft.Storage/storageAccounts" => {
            r["sku"] = json!({"name": body["sku"]["name"], "tier": "Standard"});
            props["primaryEndpoints"] = json!({"blob": format!("{}/{name}/", fake.blob_endpoint)});
        }
        "Microsoft.Web/serverfarms" => r["sku"] = body["sku"].clone(),
        "Microsoft.Web/sites" => {
            props["state"] = json!("Running");
            props["defaultHostName"] = json!(format!("{name}.azurewebsites.net"));
        }
        "microsoft.insights/components" => {
            let key = fake.next_id();
            props["AppId"] = json!(fake.next_id());
            props["InstrumentationKey"] = json!(key);
            props["ConnectionString"] = json!(format!(
                "InstrumentationKey={key};IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/"
            ));
        }
        "Microsoft.DocumentDB/databaseAccounts" => {
            props["documentEndpoint"] = json!(format!("{}/", fake.url));
        }
        _ => {}
    }
    r["properties"] = props;
    r
}

/// A valid request for operation `id` on `path`.
pub fn arm_operation(
    fake: &FakeAzure,
    id: &str,
    op: &Value,
    path: &str,
    named: &[(String, String)],
    body: Value,
) -> Response<Full<Bytes>> {
    let key = path.to_ascii_lowercase();
    let name = named.last().map(|(_, v)| v.clone()).unwrap_or_default();
    let api = op["api-version"].as_str().unwrap();
    let group_exists = named.len() <= 2
        || fake
            .state
            .lock()
            .unwrap()
            .resources
            .contains_key(&group_key(path));
    let lro = op["long-running"].as_str();
    match id {
        "Subscriptions_List" => reply(
            200,
            &json!({"value": [{"id": format!("/subscriptions/{}", fake.subscription),
                "subscriptionId": fake.subscription, "displayName": "sebs tests", "state": "Enabled"}]}),
        ),
        _ if id.ends_with("_ListByResourceGroup") => {
            if !group_exists {
                return arm_error(404, "ResourceGroupNotFound", "resource group not found");
            }
            let prefix = format!("{}/", key);
            let value: Vec<Value> = fake
                .state
                .lock()
                .unwrap()
                .resources
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix) && !k[prefix.len()..].contains('/'))
                .map(|(_, v)| v.clone())
                .collect();
            reply(200, &json!({"value": value}))
        }
        _ if id.ends_with("_Get") || id.ends_with("_GetProperties") => {
            if !group_exists {
                return arm_error(404, "ResourceGroupNotFound", "resource group not found");
            }
            match fake.state.lock().unwrap().resources.get(&key) {
                Some(r) => reply(200, r),
                None => arm_error(404, "ResourceNotFound", &format!("{path} was not found")),
            }
        }
        _ if id.ends_with("_CreateOrUpdate") || id.ends_with("_Create") => {
            if !group_exists {
                return arm_error(404, "ResourceGroupNotFound", "resource group not found");
            }
            create(fake, id, path, &key, &name, api, lro, &body)
        }
        _ if id.ends_with("_Delete") => delete(fake, &key, api, lro),
        "StorageAccounts_ListKeys" => {
            if !fake
                .state
                .lock()
                .unwrap()
                .resources
                .contains_key(key.trim_end_matches("/listkeys"))
            {
                return arm_error(404, "ResourceNotFound", path);
            }
            let value = fake
                .account_keys
                .get(&name_at(path, 8))
                .cloned()
                .unwrap_or_else(|| {
                    base64::engine::general_purpose::STANDARD
                        .encode(format!("generated-key-of-{}", name_at(path, 8)))
                });
            reply(
                200,
                &json!({"keys": [{"keyName": "key1", "value": value, "permissions": "FULL"}]}),
            )
        }
        "DatabaseAccounts_ListKeys" => reply(
            200,
            &json!({"primaryMasterKey": super::cosmos::MASTER_KEY, "secondaryMasterKey": "ZmFrZS0y",
                "primaryReadonlyMasterKey": "ZmFrZS0z", "secondaryReadonlyMasterKey": "ZmFrZS00"}),
        ),
        _ => site_operation(fake, id, path, &name_at(path, 8), body),
    }
}

/// Segment `i` of a path (`/subscriptions/s/resourceGroups/g/providers/P/T/name`: 8 = name).
fn name_at(path: &str, i: usize) -> String {
    path.split('/').nth(i).unwrap_or_default().to_owned()
}

#[allow(clippy::too_many_arguments)]
fn create(
    fake: &FakeAzure,
    id: &str,
    path: &str,
    key: &str,
    name: &str,
    api: &str,
    lro: Option<&str>,
    body: &Value,
) -> Response<Full<Bytes>> {
    let existed = fake.state.lock().unwrap().resources.contains_key(key);
    let resource = created(fake, path, name, body);
    let mut error = None;
    if id == "WebApps_CreateOrUpdate" {
        error = fake.state.lock().unwrap().fail_next_site.take();
        if error.is_none() {
            let mut s = fake.state.lock().unwrap();
            s.keys
                .insert(name.to_owned(), format!("fnkey-{}", name.len() * 7919));
            s.settings.insert(name.to_owned(), BTreeMap::new());
        }
    }
    if error.is_none() {
        fake.state
            .lock()
            .unwrap()
            .resources
            .insert(key.to_owned(), resource.clone());
    }
    match lro {
        Some(kind) => {
            let (header, url) = fake.start_operation(kind, api, 200, resource.clone(), error);
            let mut pending = resource;
            pending["properties"]["provisioningState"] = json!("Creating");
            let status = if id.starts_with("DatabaseAccounts") {
                200
            } else {
                202
            };
            let body = if status == 202 && kind == "location" {
                Value::Null
            } else {
                pending
            };
            with_headers(
                reply(status, &body),
                &[(header, &url), ("retry-after", "0")],
            )
        }
        None => reply(
            if existed || id.starts_with("Components") {
                200
            } else {
                201
            },
            &resource,
        ),
    }
}

fn delete(fake: &FakeAzure, key: &str, api: &str, lro: Option<&str>) -> Response<Full<Bytes>> {
    let removed: Vec<String> = {
        let mut s = fake.state.lock().unwrap();
        let gone: Vec<String> = s
            .resources
            .keys()
            .filter(|k| *k == key || k.starts_with(&format!("{key}/")))
            .cloned()
            .collect();
        for k in &gone {
            s.resources.remove(k);
        }
        gone
    };
    for k in &removed {
        if resource_type(k) == "Microsoft.Web/sites" {
            fake.workers.restart(k.rsplit('/').next().unwrap());
        }
    }
    if removed.is_empty() {
        return reply(204, &Value::Null);
    }
    match lro {
        Some(kind) => {
            let (header, url) = fake.start_operation(kind, api, 200, Value::Null, None);
            with_headers(
                reply(202, &Value::Null),
                &[(header, &url), ("retry-after", "0")],
            )
        }
        None => reply(200, &Value::Null),
    }
}

/// Settings, keys and functions of a site.
fn site_operation(
    fake: &FakeAzure,
    id: &str,
    path: &str,
    app: &str,
    body: Value,
) -> Response<Full<Bytes>> {
    let site_key = path
        .to_ascii_lowercase()
        .split("/microsoft.web/sites/")
        .next()
        .unwrap()
        .to_owned()
        + "/microsoft.web/sites/"
        + &app.to_ascii_lowercase();
    if !fake.state.lock().unwrap().resources.contains_key(&site_key) {
        return arm_error(
            404,
            "ResourceNotFound",
            &format!("site {app} was not found"),
        );
    }
    match id {
        "WebApps_ListApplicationSettings" => {
            let s = fake.settings(app);
            reply(
                200,
                &json!({"id": path, "name": "appsettings", "type": "Microsoft.Web/sites/config", "properties": s}),
            )
        }
        "WebApps_ListHostKeys" => {
            let key = fake
                .state
                .lock()
                .unwrap()
                .keys
                .get(app)
                .cloned()
                .unwrap_or_default();
            reply(
                200,
                &json!({"masterKey": "master-not-used", "functionKeys": {"default": key}, "systemKeys": {}}),
            )
        }
        "WebApps_ListFunctions" => {
            let value: Vec<Value> = loaded_functions(fake, app)
                .iter()
                .map(|f| {
                    json!({"id": format!("{path}/{f}"), "name": format!("{app}/{f}"),
                    "type": "Microsoft.Web/sites/functions", "properties": {"name": f}})
                })
                .collect();
            reply(200, &json!({"value": value}))
        }
        "WebApps_UpdateApplicationSettings" => {
            let settings: BTreeMap<String, String> = body["properties"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            fake.state
                .lock()
                .unwrap()
                .settings
                .insert(app.to_owned(), settings.clone());
            // A settings change restarts the app: its instances go.
            fake.workers.restart(app);
            reply(
                200,
                &json!({"id": path, "name": "appsettings", "type": "Microsoft.Web/sites/config", "properties": settings}),
            )
        }
        other => fake.violation(format!("{other}: the fake does not serve it")),
    }
}
