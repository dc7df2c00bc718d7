//! The execution role of sebs's functions: `sebs-<id>-lambda-role`, assumable by Lambda, with
//! an inline policy for what the benchmarks use — logs, S3 and DynamoDB (SeBS forgets the
//! latter) — limited to sebs's own buckets, tables and log groups.

use anyhow::{Context, Result};

use crate::clients::Clients;

/// The role's name for resource id `id`.
pub fn role_name(id: &str) -> String {
    format!("sebs-{id}-lambda-role")
}

const POLICY_NAME: &str = "sebs-benchmarks-access";

const TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// The inline policy: logs of sebs's functions, sebs's buckets and tables.
pub fn access_policy(id: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": format!("arn:aws:logs:*:*:log-group:/aws/lambda/sebs-{id}-*"),
            },
            {
                "Effect": "Allow",
                "Action": ["s3:*"],
                "Resource": [
                    format!("arn:aws:s3:::sebs-benchmarks-{id}"),
                    format!("arn:aws:s3:::sebs-benchmarks-{id}/*"),
                ],
            },
            {
                "Effect": "Allow",
                "Action": ["dynamodb:*"],
                "Resource": [
                    format!("arn:aws:dynamodb:*:*:table/sebs-benchmarks-{id}-*"),
                    format!("arn:aws:dynamodb:*:*:table/sebs-benchmarks-{id}-*/index/*"),
                ],
            },
        ],
    })
    .to_string()
}

/// The ARN of the role, created (with its policy) unless it exists. Returns `(arn, created)`:
/// a role just created takes seconds before Lambda can assume it.
pub async fn ensure_role(clients: &Clients, id: &str) -> Result<(String, bool)> {
    let name = role_name(id);
    match clients.iam.get_role().role_name(&name).send().await {
        Ok(out) => {
            if let Some(role) = out.role() {
                return Ok((role.arn().to_owned(), false));
            }
        }
        Err(e) => {
            let not_found = e
                .as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception());
            if !not_found {
                return Err(crate::sdk_error(e)).with_context(|| {
                    format!(
                        "failed to look up the IAM role {name}; the credentials need iam:GetRole/CreateRole/PutRolePolicy, or set deployment.aws.lambda-role to an existing role's ARN"
                    )
                });
            }
        }
    }
    tracing::info!("creating the IAM role {name} for sebs's functions");
    let created = clients
        .iam
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(TRUST_POLICY)
        .description("Execution role of the functions sebs deploys (Serverless Benchmark Suite)")
        .send()
        .await
        .map_err(crate::sdk_error)
        .with_context(|| format!("failed to create the IAM role {name}"))?;
    clients
        .iam
        .put_role_policy()
        .role_name(&name)
        .policy_name(POLICY_NAME)
        .policy_document(access_policy(id))
        .send()
        .await
        .map_err(crate::sdk_error)
        .with_context(|| format!("failed to attach the access policy to the IAM role {name}"))?;
    let arn = created
        .role()
        .map(|r| r.arn().to_owned())
        .context("IAM CreateRole returned no role")?;
    Ok((arn, true))
}

/// Delete the role and its policies (inline and attached).
pub async fn delete_role(clients: &Clients, name: &str) -> Result<()> {
    let inline = clients
        .iam
        .list_role_policies()
        .role_name(name)
        .send()
        .await
        .map_err(crate::sdk_error)?;
    for policy in inline.policy_names() {
        clients
            .iam
            .delete_role_policy()
            .role_name(name)
            .policy_name(policy)
            .send()
            .await
            .map_err(crate::sdk_error)?;
    }
    let attached = clients
        .iam
        .list_attached_role_policies()
        .role_name(name)
        .send()
        .await
        .map_err(crate::sdk_error)?;
    for policy in attached.attached_policies() {
        if let Some(arn) = policy.policy_arn() {
            clients
                .iam
                .detach_role_policy()
                .role_name(name)
                .policy_arn(arn)
                .send()
                .await
                .map_err(crate::sdk_error)?;
        }
    }
    clients
        .iam
        .delete_role()
        .role_name(name)
        .send()
        .await
        .map_err(crate::sdk_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_covers_s3_and_dynamodb_of_this_id_only() {
        let p: serde_json::Value = serde_json::from_str(&access_policy("ab12")).unwrap();
        let text = p.to_string();
        assert!(text.contains("arn:aws:s3:::sebs-benchmarks-ab12/*"));
        assert!(text.contains("table/sebs-benchmarks-ab12-*"));
        assert!(text.contains("dynamodb:*"));
        assert!(!text.contains("\"*\""), "no wildcard resource: {text}");
        assert_eq!(role_name("ab12"), "sebs-ab12-lambda-role");
    }
}
