//! Function URLs (CreateFunctionUrlConfig, GetFunctionUrlConfig, UpdateFunctionUrlConfig,
//! DeleteFunctionUrlConfig) and the resource policy (AddPermission, GetPolicy,
//! RemovePermission). The URL handed out is the platform's HTTP trigger,
//! `http://127.0.0.1:<port>/function/<name>/`; permissions are recorded and returned, not
//! enforced (nothing here checks signatures).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{delete, get};
use serde_json::{Value, json};

use super::requests::{self, AddPermission, UrlConfigInput};
use super::{
    ApiError, LambdaFunction, UrlConfig, check_qualifier, function_name, json_answer, no_content,
    query_pairs, shapes,
};
use crate::state::Shared;

type AppState = Arc<Shared>;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/2021-10-31/functions/{name}/url",
            get(get_url)
                .post(create_url)
                .put(update_url)
                .delete(delete_url),
        )
        .route(
            "/2015-03-31/functions/{name}/policy",
            get(get_policy).post(add_permission),
        )
        .route(
            "/2015-03-31/functions/{name}/policy/{sid}",
            delete(remove_permission),
        )
}

fn endpoint(shared: &Shared) -> String {
    format!("http://{}", shared.addr)
}

/// Apply `change` to function `name`'s record under the registry's lock.
fn with_function<T>(
    shared: &Shared,
    name: &str,
    change: impl FnOnce(&mut LambdaFunction) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut functions = shared.lambda.functions.lock().expect("lock");
    let f = functions
        .get_mut(name)
        .ok_or_else(|| ApiError::function_not_found(name))?;
    change(f)
}

fn url_not_found() -> ApiError {
    ApiError::not_found("The resource you requested does not exist.")
}

fn auth_type(given: Option<String>) -> Result<String, ApiError> {
    match given.as_deref() {
        Some("NONE" | "AWS_IAM") => Ok(given.unwrap_or_default()),
        Some(other) => Err(ApiError::invalid(format!(
            "AuthType `{other}` is invalid: expected NONE or AWS_IAM"
        ))),
        None => Err(ApiError::invalid("AuthType is required (NONE or AWS_IAM)")),
    }
}

fn invoke_mode(given: Option<String>) -> Result<String, ApiError> {
    match given.as_deref() {
        None | Some("BUFFERED") => Ok("BUFFERED".into()),
        Some("RESPONSE_STREAM") => Err(ApiError::invalid(
            "InvokeMode RESPONSE_STREAM is not supported by the local platform: use BUFFERED",
        )),
        Some(other) => Err(ApiError::invalid(format!(
            "InvokeMode `{other}` is invalid: expected BUFFERED"
        ))),
    }
}

/// `POST /2021-10-31/functions/{name}/url`: CreateFunctionUrlConfig (201).
async fn create_url(
    State(shared): State<AppState>,
    Path(name): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_qualifier(&query_pairs(uri.query()))?;
    let req: UrlConfigInput = requests::parse(&body, "CreateFunctionUrlConfig")?;
    requests::refuse_unsupported(&req.rest)?;
    let config = UrlConfig {
        auth_type: auth_type(req.auth_type)?,
        cors: req.cors,
        invoke_mode: invoke_mode(req.invoke_mode)?,
        created: shapes::timestamp(),
        modified: shapes::timestamp(),
    };
    let name = function_name(&name);
    let endpoint = endpoint(&shared);
    let answer = with_function(&shared, &name, |f| {
        if f.url.is_some() {
            return Err(ApiError::conflict(format!(
                "Failed to create function url config for [functionArn = {}]. Error message:  FunctionUrlConfig exists for this Lambda function",
                f.arn()
            )));
        }
        let answer = shapes::url_config(f, &config, &endpoint, false);
        f.url = Some(config);
        Ok(answer)
    })?;
    Ok(json_answer(StatusCode::CREATED, &answer))
}

/// `GET /2021-10-31/functions/{name}/url`: GetFunctionUrlConfig.
async fn get_url(
    State(shared): State<AppState>,
    Path(name): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    check_qualifier(&query_pairs(uri.query()))?;
    let f = shared.lambda.get(&function_name(&name))?;
    let url = f.url.as_ref().ok_or_else(url_not_found)?;
    Ok(json_answer(
        StatusCode::OK,
        &shapes::url_config(&f, url, &endpoint(&shared), true),
    ))
}

/// `PUT /2021-10-31/functions/{name}/url`: UpdateFunctionUrlConfig.
async fn update_url(
    State(shared): State<AppState>,
    Path(name): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_qualifier(&query_pairs(uri.query()))?;
    let req: UrlConfigInput = requests::parse(&body, "UpdateFunctionUrlConfig")?;
    requests::refuse_unsupported(&req.rest)?;
    let auth = req.auth_type.map(|a| auth_type(Some(a))).transpose()?;
    let mode = req.invoke_mode.map(|m| invoke_mode(Some(m))).transpose()?;
    let endpoint = endpoint(&shared);
    let answer = with_function(&shared, &function_name(&name), |f| {
        let mut url = f.url.clone().ok_or_else(url_not_found)?;
        if let Some(a) = auth {
            url.auth_type = a;
        }
        if let Some(m) = mode {
            url.invoke_mode = m;
        }
        if req.cors.is_some() {
            url.cors = req.cors;
        }
        url.modified = shapes::timestamp();
        let answer = shapes::url_config(f, &url, &endpoint, true);
        f.url = Some(url);
        Ok(answer)
    })?;
    Ok(json_answer(StatusCode::OK, &answer))
}

/// `DELETE /2021-10-31/functions/{name}/url`: DeleteFunctionUrlConfig (204). The platform's
/// HTTP trigger of the function keeps answering (it serves every deployed function).
async fn delete_url(
    State(shared): State<AppState>,
    Path(name): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    check_qualifier(&query_pairs(uri.query()))?;
    with_function(&shared, &function_name(&name), |f| {
        f.url.take().map(|_| ()).ok_or_else(url_not_found)
    })?;
    Ok(no_content())
}

/// `POST /2015-03-31/functions/{name}/policy`: AddPermission (201 with the statement).
async fn add_permission(
    State(shared): State<AppState>,
    Path(name): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_qualifier(&query_pairs(uri.query()))?;
    let req: AddPermission = requests::parse(&body, "AddPermission")?;
    requests::refuse_unsupported(&req.rest)?;
    let name = function_name(&name);
    let statement = with_function(&shared, &name, |f| {
        if req
            .revision_id
            .as_ref()
            .is_some_and(|r| *r != f.revision_id)
        {
            return Err(ApiError::stale_revision(&f.name));
        }
        if f.policy.contains_key(&req.statement_id) {
            return Err(ApiError::conflict(format!(
                "The statement id ({}) provided already exists. Please provide a new statement id, or remove the existing statement.",
                req.statement_id
            )));
        }
        let principal = if req.principal == "*" {
            json!("*")
        } else if req.principal.ends_with(".amazonaws.com") {
            json!({"Service": req.principal})
        } else {
            json!({"AWS": req.principal})
        };
        let mut condition = serde_json::Map::new();
        if let Some(arn) = &req.source_arn {
            condition.insert("ArnLike".into(), json!({"AWS:SourceArn": arn}));
        }
        let mut equals = serde_json::Map::new();
        if let Some(account) = &req.source_account {
            equals.insert("AWS:SourceAccount".into(), json!(account));
        }
        if let Some(org) = &req.principal_org_id {
            equals.insert("aws:PrincipalOrgID".into(), json!(org));
        }
        if let Some(auth) = &req.function_url_auth_type {
            equals.insert("lambda:FunctionUrlAuthType".into(), json!(auth));
        }
        if req.invoked_via_function_url == Some(true) {
            equals.insert("lambda:InvokedViaFunctionUrl".into(), json!("true"));
        }
        if !equals.is_empty() {
            condition.insert("StringEquals".into(), Value::Object(equals));
        }
        let mut statement = json!({
            "Sid": req.statement_id,
            "Effect": "Allow",
            "Principal": principal,
            "Action": req.action,
            "Resource": f.arn(),
        });
        if !condition.is_empty() {
            statement["Condition"] = Value::Object(condition);
        }
        f.policy.insert(req.statement_id.clone(), statement.clone());
        f.revision_id = uuid::Uuid::new_v4().to_string();
        Ok(statement)
    })?;
    Ok(json_answer(
        StatusCode::CREATED,
        &json!({"Statement": statement.to_string()}),
    ))
}

/// `GET /2015-03-31/functions/{name}/policy`: GetPolicy.
async fn get_policy(
    State(shared): State<AppState>,
    Path(name): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    check_qualifier(&query_pairs(uri.query()))?;
    let f = shared.lambda.get(&function_name(&name))?;
    if f.policy.is_empty() {
        return Err(url_not_found());
    }
    Ok(json_answer(
        StatusCode::OK,
        &json!({"Policy": shapes::policy(&f), "RevisionId": f.revision_id}),
    ))
}

/// `DELETE /2015-03-31/functions/{name}/policy/{sid}`: RemovePermission (204).
async fn remove_permission(
    State(shared): State<AppState>,
    Path((name, sid)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let query = query_pairs(uri.query());
    check_qualifier(&query)?;
    with_function(&shared, &function_name(&name), |f| {
        if query.get("RevisionId").is_some_and(|r| *r != f.revision_id) {
            return Err(ApiError::stale_revision(&f.name));
        }
        f.policy.remove(&sid).ok_or_else(|| {
            ApiError::not_found(format!("Statement {sid} is not found in resource policy."))
        })?;
        f.revision_id = uuid::Uuid::new_v4().to_string();
        Ok(())
    })?;
    Ok(no_content())
}
