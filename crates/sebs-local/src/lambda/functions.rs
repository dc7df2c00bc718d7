//! Functions: CreateFunction, GetFunction, GetFunctionConfiguration, UpdateFunctionCode,
//! UpdateFunctionConfiguration, DeleteFunction, ListFunctions, and the download of a function's
//! zip (`Code.Location`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use bytes::Bytes;
use serde_json::json;

use super::requests::{self, CreateFunction, UpdateCode, UpdateConfiguration};
use super::runtimes::{self, Family};
use super::{
    ApiError, CodePackage, LambdaFunction, check_qualifier, code, function_name, json_answer,
    no_content, query_pairs, request_region, shapes,
};
use crate::spec::{FunctionSpec, Protocol, Runtime};
use crate::state::Shared;

type AppState = Arc<Shared>;

/// CreateFunction's limit on the request (a 50 MB zip, base64-encoded, and the rest).
const MAX_REQUEST: usize = 69_905_067;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/2015-03-31/functions",
            get(list_functions).post(create_function),
        )
        .route(
            "/2015-03-31/functions/",
            get(list_functions).post(create_function),
        )
        .route(
            "/2015-03-31/functions/{name}",
            get(get_function).delete(delete_function),
        )
        .route(
            "/2015-03-31/functions/{name}/configuration",
            get(get_configuration).put(update_configuration),
        )
        .route("/2015-03-31/functions/{name}/code", put(update_code))
        .route("/sebs/lambda/code/{name}", get(download_code))
        // CreateFunction and UpdateFunctionCode carry zips: their bodies are read by hand
        // against Lambda's limit (the gateway's default is the 6 MB of invocations).
        .layer(axum::extract::DefaultBodyLimit::disable())
}

/// Read a control-plane body of at most [`MAX_REQUEST`] bytes.
async fn read_body(body: Body, operation: &str) -> Result<Bytes, ApiError> {
    match crate::gateway::read_limited(body, MAX_REQUEST).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(size)) => Err(ApiError::too_large(format!(
            "Request must be smaller than {MAX_REQUEST} bytes for the {operation} operation (got {size})"
        ))),
        Err(e) => Err(ApiError::invalid(format!(
            "{operation}: cannot read the request body: {e}"
        ))),
    }
}

fn endpoint(shared: &Shared) -> String {
    format!("http://{}", shared.addr)
}

/// The directory of a new code revision of `name`, under the platform's directory.
fn new_revision_dir(shared: &Shared, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let home = shared.work_dir.path().join("lambda").join(name);
    let dir = home.join(uuid::Uuid::new_v4().simple().to_string());
    (home, dir)
}

/// Fetch the zip `code` names and unpack it as a new revision of `name`.
async fn new_package(
    shared: &Arc<Shared>,
    name: &str,
    code: &requests::CodeInput,
) -> Result<CodePackage, ApiError> {
    let store = shared.lambda.code_store.lock().expect("lock").clone();
    let zip = code::fetch(code, store).await?;
    let (_, dir) = new_revision_dir(shared, name);
    tokio::task::spawn_blocking(move || code::store_package(&zip, &dir))
        .await
        .map_err(|e| ApiError::service(format!("unpacking failed: {e}")))?
}

/// The local runtime of `f` (interpreters are found once per runtime identifier).
async fn runtime_of(
    shared: &Arc<Shared>,
    f: &LambdaFunction,
    family: &Family,
) -> Result<(Runtime, Protocol), ApiError> {
    let interpreter = if *family == Family::Provided {
        None
    } else {
        let cached = shared
            .lambda
            .interpreters
            .lock()
            .expect("lock")
            .get(&f.runtime)
            .cloned();
        match cached {
            Some(r) => Some(r),
            None => {
                let (runtime, family) = (f.runtime.clone(), family.clone());
                let found =
                    tokio::task::spawn_blocking(move || runtimes::interpreter(&runtime, &family))
                        .await
                        .map_err(|e| ApiError::service(format!("runtime lookup failed: {e}")))??;
                shared
                    .lambda
                    .interpreters
                    .lock()
                    .expect("lock")
                    .insert(f.runtime.clone(), found.clone());
                Some(found)
            }
        }
    };
    runtimes::runtime_for(family, interpreter, &f.code.dir)
}

/// Check `f` against its package and deploy it on the platform: new instances start with its
/// code and configuration, idle ones of the previous deployment are retired (the next
/// invocation is cold, as on Lambda after an update).
async fn deploy(shared: &Arc<Shared>, f: &LambdaFunction) -> Result<(), ApiError> {
    let family = runtimes::family(&f.runtime)?;
    runtimes::check_handler(&family, f.handler.as_deref(), &f.code.dir)?;
    let (runtime, protocol) = runtime_of(shared, f, &family).await?;
    if let Runtime::Custom { bootstrap } = &runtime {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(bootstrap).map_or(0, |m| m.permissions().mode());
        if mode & 0o100 == 0 {
            return Err(ApiError::invalid(
                "The package's `bootstrap` is not executable: zip it with its executable bit (chmod 755 bootstrap)",
            ));
        }
    }
    let mut env = f.env.clone();
    for (k, v) in [
        ("AWS_REGION", f.region.clone()),
        ("AWS_DEFAULT_REGION", f.region.clone()),
        ("AWS_EXECUTION_ENV", format!("AWS_Lambda_{}", f.runtime)),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", f.name),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
    ] {
        env.insert(k.to_owned(), v);
    }
    let spec = FunctionSpec {
        runtime,
        protocol,
        handler: f.handler.clone().unwrap_or_default(),
        env,
        code_hash: f.code.sha256.clone(),
        timeout: Duration::from_secs(f.timeout),
        ..FunctionSpec::python(
            &f.name,
            f.code.dir.clone(),
            Default::default(),
            f.memory,
            Duration::from_secs(f.timeout),
        )
    };
    crate::platform::deploy(shared, spec).await;
    Ok(())
}

/// `POST /2015-03-31/functions`: CreateFunction (201 with the `FunctionConfiguration`).
async fn create_function(
    State(shared): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_body(body, "CreateFunction").await?;
    let req: CreateFunction = requests::parse(&body, "CreateFunction")?;
    requests::function_name(&req.function_name)?;
    requests::refuse_unsupported(&req.rest)?;
    if req.package_type.as_deref().is_some_and(|p| p != "Zip") {
        return Err(ApiError::invalid(
            "PackageType Image is not supported by the local platform: upload a Zip package",
        ));
    }
    if req.publish == Some(true) {
        return Err(ApiError::invalid(
            "Publish is not supported by the local platform: it has no versions, only $LATEST",
        ));
    }
    let role = req
        .role
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::invalid("Role is required"))?;
    let runtime = req
        .runtime
        .ok_or_else(|| ApiError::invalid("Runtime is required for Zip packages"))?;
    runtimes::family(&runtime)?;
    let env = requests::environment(req.environment.map(|e| e.variables).unwrap_or_default())?;
    let memory = requests::memory(req.memory_size.unwrap_or(128))?;
    let timeout = requests::timeout(req.timeout.unwrap_or(3))?;
    let architectures =
        requests::architectures(req.architectures)?.unwrap_or_else(|| vec!["x86_64".into()]);
    let name = req.function_name;
    let _changes = shared.lambda.changes.lock().await;
    let exists = shared
        .lambda
        .functions
        .lock()
        .expect("lock")
        .contains_key(&name)
        || shared.functions.lock().expect("lock").contains_key(&name);
    if exists {
        return Err(ApiError::conflict(format!(
            "Function already exist: {name}"
        )));
    }
    let code = new_package(&shared, &name, &req.code).await?;
    let (home, _) = new_revision_dir(&shared, &name);
    let f = LambdaFunction {
        region: request_region(&headers),
        runtime,
        role,
        handler: req.handler,
        description: req.description.unwrap_or_default(),
        memory,
        timeout,
        env,
        architectures,
        ephemeral_storage: req.ephemeral_storage.map_or(512, |e| e.size),
        tracing_mode: req
            .tracing_config
            .and_then(|t| t.mode)
            .unwrap_or_else(|| "PassThrough".into()),
        tags: req.tags.unwrap_or_default(),
        code,
        home: home.clone(),
        last_modified: shapes::timestamp(),
        revision_id: uuid::Uuid::new_v4().to_string(),
        url: None,
        policy: BTreeMap::new(),
        name: name.clone(),
    };
    if let Err(e) = deploy(&shared, &f).await {
        let _ = std::fs::remove_dir_all(&home);
        return Err(e);
    }
    let answer = shapes::configuration(&f);
    shared
        .lambda
        .functions
        .lock()
        .expect("lock")
        .insert(name, f);
    Ok(json_answer(StatusCode::CREATED, &answer))
}

/// `GET /2015-03-31/functions/{name}`: GetFunction.
async fn get_function(
    State(shared): State<AppState>,
    Path(name): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    check_qualifier(&query_pairs(uri.query()))?;
    let f = shared.lambda.get(&function_name(&name))?;
    Ok(json_answer(
        StatusCode::OK,
        &shapes::function(&f, &endpoint(&shared)),
    ))
}

/// `GET /2015-03-31/functions/{name}/configuration`: GetFunctionConfiguration.
async fn get_configuration(
    State(shared): State<AppState>,
    Path(name): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    check_qualifier(&query_pairs(uri.query()))?;
    let f = shared.lambda.get(&function_name(&name))?;
    Ok(json_answer(StatusCode::OK, &shapes::configuration(&f)))
}

/// `GET /2015-03-31/functions/`: ListFunctions, by name, `MaxItems` (default 50) at a time
/// after `Marker`.
async fn list_functions(State(shared): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    let query = query_pairs(uri.query());
    let max = match query.get("MaxItems") {
        None => 50,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|m| (1..=10_000).contains(m))
            .ok_or_else(|| {
                ApiError::invalid(format!("MaxItems `{m}` is invalid: give 1 to 10000"))
            })?,
    };
    let marker = query.get("Marker").cloned().unwrap_or_default();
    let functions = shared.lambda.functions.lock().expect("lock");
    let page: Vec<&LambdaFunction> = functions
        .range::<String, _>((
            std::ops::Bound::Excluded(&marker),
            std::ops::Bound::Unbounded,
        ))
        .map(|(_, f)| f)
        .take(max + 1)
        .collect();
    let mut answer = json!({
        "Functions": page.iter().take(max).map(|f| shapes::configuration(f)).collect::<Vec<_>>(),
    });
    if page.len() > max {
        answer["NextMarker"] = json!(page[max - 1].name);
    }
    Ok(json_answer(StatusCode::OK, &answer))
}

/// `PUT /2015-03-31/functions/{name}/configuration`: UpdateFunctionConfiguration. The function
/// is redeployed: its next invocation starts cold.
async fn update_configuration(
    State(shared): State<AppState>,
    Path(name): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_body(body, "UpdateFunctionConfiguration").await?;
    let req: UpdateConfiguration = requests::parse(&body, "UpdateFunctionConfiguration")?;
    requests::refuse_unsupported(&req.rest)?;
    let name = function_name(&name);
    let _changes = shared.lambda.changes.lock().await;
    let mut f = shared.lambda.get(&name)?;
    if req
        .revision_id
        .as_ref()
        .is_some_and(|r| *r != f.revision_id)
    {
        return Err(ApiError::stale_revision(&name));
    }
    if let Some(runtime) = req.runtime {
        runtimes::family(&runtime)?;
        f.runtime = runtime;
    }
    if let Some(role) = req.role {
        f.role = role;
    }
    if let Some(handler) = req.handler {
        f.handler = Some(handler);
    }
    if let Some(description) = req.description {
        f.description = description;
    }
    if let Some(t) = req.timeout {
        f.timeout = requests::timeout(t)?;
    }
    if let Some(m) = req.memory_size {
        f.memory = requests::memory(m)?;
    }
    if let Some(env) = req.environment {
        f.env = requests::environment(env.variables)?;
    }
    if let Some(a) = requests::architectures(req.architectures)? {
        f.architectures = a;
    }
    if let Some(mode) = req.tracing_config.and_then(|t| t.mode) {
        f.tracing_mode = mode;
    }
    if let Some(e) = req.ephemeral_storage {
        f.ephemeral_storage = e.size;
    }
    f.last_modified = shapes::timestamp();
    f.revision_id = uuid::Uuid::new_v4().to_string();
    deploy(&shared, &f).await?;
    let answer = shapes::configuration(&f);
    shared
        .lambda
        .functions
        .lock()
        .expect("lock")
        .insert(name, f);
    Ok(json_answer(StatusCode::OK, &answer))
}

/// `PUT /2015-03-31/functions/{name}/code`: UpdateFunctionCode. The new code is a new
/// revision directory; the function is redeployed (its next invocation starts cold).
async fn update_code(
    State(shared): State<AppState>,
    Path(name): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_body(body, "UpdateFunctionCode").await?;
    let req: UpdateCode = requests::parse(&body, "UpdateFunctionCode")?;
    requests::refuse_unsupported(&req.rest)?;
    if req.publish == Some(true) {
        return Err(ApiError::invalid(
            "Publish is not supported by the local platform: it has no versions, only $LATEST",
        ));
    }
    let name = function_name(&name);
    let _changes = shared.lambda.changes.lock().await;
    let mut f = shared.lambda.get(&name)?;
    if req
        .revision_id
        .as_ref()
        .is_some_and(|r| *r != f.revision_id)
    {
        return Err(ApiError::stale_revision(&name));
    }
    let code = new_package(&shared, &name, &req.code).await?;
    let new_dir = code.dir.parent().map(ToOwned::to_owned);
    let remove_new = || {
        if let Some(dir) = &new_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    };
    let old = std::mem::replace(&mut f.code, code);
    if let Some(a) = requests::architectures(req.architectures)? {
        f.architectures = a;
    }
    f.last_modified = shapes::timestamp();
    f.revision_id = uuid::Uuid::new_v4().to_string();
    if req.dry_run == Some(true) {
        let answer = shapes::configuration(&f);
        remove_new();
        return Ok(json_answer(StatusCode::OK, &answer));
    }
    if let Err(e) = deploy(&shared, &f).await {
        remove_new();
        return Err(e);
    }
    // The previous revision stays on disk until the function is deleted: instances busy with
    // it when the update came finish their invocation there.
    tracing::debug!(
        "function {name}: code {} replaced by {}",
        old.sha256,
        f.code.sha256
    );
    let answer = shapes::configuration(&f);
    shared
        .lambda
        .functions
        .lock()
        .expect("lock")
        .insert(name, f);
    Ok(json_answer(StatusCode::OK, &answer))
}

/// `DELETE /2015-03-31/functions/{name}`: DeleteFunction (204). New invocations get 404, idle
/// instances stop now, busy ones after their invocation; the code is removed from disk.
async fn delete_function(
    State(shared): State<AppState>,
    Path(name): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    check_qualifier(&query_pairs(uri.query()))?;
    let name = function_name(&name);
    let _changes = shared.lambda.changes.lock().await;
    crate::platform::remove(&shared, &name).map_err(|_| ApiError::function_not_found(&name))?;
    Ok(no_content())
}

/// `GET /sebs/lambda/code/{name}`: the function's current zip (GetFunction's `Code.Location`).
async fn download_code(
    State(shared): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let f = shared.lambda.get(&name)?;
    let zip = tokio::fs::read(&f.code.zip)
        .await
        .map_err(|e| ApiError::service(format!("cannot read {}: {e}", f.code.zip.display())))?;
    let mut response = (StatusCode::OK, zip).into_response();
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/zip"));
    Ok(response)
}
