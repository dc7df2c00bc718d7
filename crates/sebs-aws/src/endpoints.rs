//! HTTP endpoints of functions: a function URL (public, `AuthType=NONE`, SeBS's default) or
//! an API Gateway HTTP API (quick create with the function as its default route).

use anyhow::{Context, Result};
use aws_sdk_apigatewayv2::types::ProtocolType;
use aws_sdk_lambda::types::FunctionUrlAuthType;

use crate::clients::Clients;

/// The function URL of `function`, created (public) unless it exists.
pub async fn function_url(clients: &Clients, function: &str) -> Result<String> {
    match clients
        .lambda
        .get_function_url_config()
        .function_name(function)
        .send()
        .await
    {
        Ok(out) => return Ok(out.function_url().to_owned()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) => {}
        Err(e) => {
            return Err(crate::sdk_error(e))
                .with_context(|| format!("failed to read the function URL of {function}"));
        }
    }
    tracing::info!("creating a function URL for {function}");
    let out = clients
        .lambda
        .create_function_url_config()
        .function_name(function)
        .auth_type(FunctionUrlAuthType::None)
        .send()
        .await
        .map_err(crate::sdk_error)
        .with_context(|| format!("failed to create a function URL for {function}"))?;
    // A public URL needs a resource policy allowing anyone to invoke through it.
    let permission = clients
        .lambda
        .add_permission()
        .function_name(function)
        .statement_id("sebs-function-url")
        .action("lambda:InvokeFunctionUrl")
        .principal("*")
        .function_url_auth_type(FunctionUrlAuthType::None)
        .send()
        .await;
    if let Err(e) = permission
        && !e
            .as_service_error()
            .is_some_and(|s| s.is_resource_conflict_exception())
    {
        return Err(crate::sdk_error(e))
            .with_context(|| format!("failed to make the function URL of {function} public"));
    }
    Ok(out.function_url().to_owned())
}

/// The name sebs gives the HTTP API of `function`.
pub fn api_name(function: &str) -> String {
    format!("{function}-http-api")
}

/// The endpoint of the HTTP API of `function` (whose ARN is `arn`), created unless it exists.
pub async fn http_api(clients: &Clients, function: &str, arn: &str) -> Result<String> {
    let name = api_name(function);
    if let Some((_, endpoint)) = find_api(clients, &name).await? {
        return Ok(endpoint);
    }
    tracing::info!("creating the API Gateway HTTP API {name}");
    let api = clients
        .apigw
        .create_api()
        .name(&name)
        .protocol_type(ProtocolType::Http)
        .target(arn)
        .send()
        .await
        .map_err(crate::sdk_error)
        .with_context(|| format!("failed to create the HTTP API {name}"))?;
    let id = api.api_id().unwrap_or_default().to_owned();
    // arn:aws:lambda:<region>:<account>:function:<name>
    let parts: Vec<&str> = arn.split(':').collect();
    let (region, account) = (parts.get(3).copied(), parts.get(4).copied());
    let mut permission = clients
        .lambda
        .add_permission()
        .function_name(function)
        .statement_id(format!("sebs-http-api-{id}"))
        .action("lambda:InvokeFunction")
        .principal("apigateway.amazonaws.com");
    if let (Some(region), Some(account)) = (region, account) {
        permission =
            permission.source_arn(format!("arn:aws:execute-api:{region}:{account}:{id}/*"));
    }
    if let Err(e) = permission.send().await
        && !e
            .as_service_error()
            .is_some_and(|s| s.is_resource_conflict_exception())
    {
        return Err(crate::sdk_error(e))
            .with_context(|| format!("failed to allow the HTTP API {name} to invoke {function}"));
    }
    api.api_endpoint()
        .map(str::to_owned)
        .with_context(|| format!("the HTTP API {name} has no endpoint"))
}

/// `(id, endpoint)` of the HTTP API named `name`.
pub async fn find_api(clients: &Clients, name: &str) -> Result<Option<(String, String)>> {
    Ok(list_apis(clients)
        .await?
        .into_iter()
        .find(|(n, _, _)| n == name)
        .map(|(_, id, endpoint)| (id, endpoint)))
}

/// Every HTTP API: `(name, id, endpoint)`.
pub async fn list_apis(clients: &Clients) -> Result<Vec<(String, String, String)>> {
    let mut apis = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = clients
            .apigw
            .get_apis()
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(crate::sdk_error)
            .context("failed to list the API Gateway HTTP APIs")?;
        for api in out.items() {
            apis.push((
                api.name().unwrap_or_default().to_owned(),
                api.api_id().unwrap_or_default().to_owned(),
                api.api_endpoint().unwrap_or_default().to_owned(),
            ));
        }
        match out.next_token() {
            Some(next) if !next.is_empty() && Some(next) != token.as_deref() => {
                token = Some(next.to_owned())
            }
            _ => break,
        }
    }
    Ok(apis)
}
