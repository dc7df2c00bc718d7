//! Workflows on AWS Step Functions: the definition translated to the States Language
//! ([`asl`]), one standard state machine per workflow (`sebs-<id>-<benchmark>`) run by a role
//! that may invoke sebs's functions, executions started and polled, and their histories read
//! back as the engine's records ([`history`]).

pub mod asl;
pub mod history;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_sdk_sfn::types::HistoryEvent;
use sebs_platforms::workflow::WorkflowSpec;
use sebs_workflows::run::{Failure, WorkflowRun};
use serde_json::Value;

use crate::clients::Clients;

/// The state machines' role for resource id `id`.
pub fn role_name(id: &str) -> String {
    format!("sebs-{id}-sfn-role")
}

/// The state machine of workflow `workflow` (its deployed name, or a benchmark id): named
/// `sebs-<id>-...` so `sebs resources` finds it, in the 80 characters of `[A-Za-z0-9_-]` Step
/// Functions allows.
pub fn machine_name(id: &str, workflow: &str) -> String {
    let prefix = format!("sebs-{id}-");
    let full = if workflow.starts_with(&prefix) {
        workflow.to_string()
    } else {
        format!("{prefix}{workflow}")
    };
    let name: String = full
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    name.chars().take(80).collect()
}

const TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"states.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// The role's inline policy: invoking sebs's functions of this resource id, nothing else.
pub fn invoke_policy(id: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction"],
            "Resource": [
                format!("arn:aws:lambda:*:*:function:sebs-{id}-*"),
                format!("arn:aws:lambda:*:*:function:sebs-{id}-*:*"),
            ],
        }],
    })
    .to_string()
}

/// The role's ARN, created unless it exists; `true` when just created.
async fn ensure_role(clients: &Clients, id: &str) -> Result<(String, bool)> {
    let name = role_name(id);
    if let Ok(out) = clients.iam.get_role().role_name(&name).send().await
        && let Some(role) = out.role()
    {
        return Ok((role.arn().to_owned(), false));
    }
    tracing::info!("creating the IAM role {name} for sebs's state machines");
    let created = clients
        .iam
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(TRUST_POLICY)
        .description("Role of the Step Functions state machines sebs deploys (Serverless Benchmark Suite)")
        .send()
        .await
        .map_err(crate::sdk_error)
        .with_context(|| format!("failed to create the IAM role {name}; the credentials need iam:CreateRole and iam:PutRolePolicy"))?;
    clients
        .iam
        .put_role_policy()
        .role_name(&name)
        .policy_name("sebs-invoke-functions")
        .policy_document(invoke_policy(id))
        .send()
        .await
        .map_err(crate::sdk_error)
        .with_context(|| format!("failed to attach the invoke policy to the IAM role {name}"))?;
    let arn = created
        .role()
        .map(|r| r.arn().to_owned())
        .context("IAM CreateRole returned no role")?;
    Ok((arn, true))
}

/// The ARN of the state machine called `name`, if it exists.
async fn find_machine(clients: &Clients, name: &str) -> Result<Option<String>> {
    let all = list_all(clients)
        .await
        .context("failed to list Step Functions state machines (states:ListStateMachines)")?;
    Ok(all.into_iter().find(|(n, _)| n == name).map(|(_, arn)| arn))
}

/// Create or update the state machine `name` with `definition`; returns its ARN.
pub async fn deploy(clients: &Clients, id: &str, name: &str, definition: &Value) -> Result<String> {
    let (role, created) = ensure_role(clients, id).await?;
    let text = definition.to_string();
    if let Some(arn) = find_machine(clients, name).await? {
        clients
            .sfn
            .update_state_machine()
            .state_machine_arn(&arn)
            .definition(&text)
            .role_arn(&role)
            .send()
            .await
            .map_err(crate::sdk_error)
            .with_context(|| format!("failed to update the state machine {name}"))?;
        return Ok(arn);
    }
    // A role just created takes seconds before Step Functions may assume it.
    let attempts = if created { 12 } else { 1 };
    let mut last = None;
    for attempt in 0..attempts {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        let sent = clients
            .sfn
            .create_state_machine()
            .name(name)
            .definition(&text)
            .role_arn(&role)
            .r#type(aws_sdk_sfn::types::StateMachineType::Standard)
            .send()
            .await;
        match sent {
            Ok(out) => return Ok(out.state_machine_arn().to_owned()),
            Err(e) => last = Some(crate::sdk_error(e)),
        }
    }
    Err(last.expect("at least one attempt"))
        .with_context(|| format!("failed to create the state machine {name}"))
}

/// Delete the state machine `arn`.
pub async fn delete(clients: &Clients, arn: &str) -> Result<()> {
    clients
        .sfn
        .delete_state_machine()
        .state_machine_arn(arn)
        .send()
        .await
        .map_err(crate::sdk_error)
        .with_context(|| format!("failed to delete the state machine {arn}"))?;
    Ok(())
}

/// The names and ARNs of resource id `id`'s state machines.
pub async fn list(clients: &Clients, id: &str) -> Result<Vec<(String, String)>> {
    let prefix = format!("sebs-{id}-");
    let mut all = list_all(clients).await?;
    all.retain(|(name, _)| name.starts_with(&prefix));
    Ok(all)
}

/// The names and ARNs of every state machine of the account and region.
pub async fn list_all(clients: &Clients) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = clients
            .sfn
            .list_state_machines()
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(crate::sdk_error)?;
        out.extend(
            page.state_machines()
                .iter()
                .map(|m| (m.name().to_owned(), m.state_machine_arn().to_owned())),
        );
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(out),
        }
    }
}

/// Deploy `spec`'s state machine over its (deployed) functions and return its runner.
pub async fn runner(
    clients: &Clients,
    id: &str,
    spec: &WorkflowSpec,
) -> Result<StepFunctionsRunner> {
    let mut functions = BTreeMap::new();
    for (func_name, deployed) in &spec.functions {
        let conf = crate::functions::configuration(clients, deployed).await?;
        let arn = conf
            .function_arn()
            .with_context(|| format!("Lambda returned no ARN for {deployed}"))?;
        functions.insert(func_name.clone(), arn.to_owned());
    }
    // The engine's bound on fan-out is the functions' concurrency limit; unbounded is 0 here.
    let max_concurrency = u32::try_from(spec.concurrency_limit).unwrap_or(0);
    let comment = format!(
        "sebs workflow {} (SeBS-Flow definition, translated by sebs)",
        spec.benchmark
    );
    let target = asl::Target {
        functions: &functions,
        max_concurrency,
        comment: &comment,
    };
    let translation = asl::translate(&spec.definition, &target)
        .with_context(|| format!("workflow {} cannot run on Step Functions", spec.benchmark))?;
    let name = machine_name(id, &spec.name);
    let arn = deploy(clients, id, &name, &translation.asl).await?;
    tracing::info!(
        "state machine {name} deployed ({} states)",
        translation.names.len()
    );
    Ok(StepFunctionsRunner {
        clients: clients.clone(),
        arn,
        workflow: spec.benchmark.clone(),
        names: translation.names,
        memory_mb: spec.memory_mb,
        // Every function may run to its timeout along a long chain; past this, a request is
        // stopped and recorded as failed rather than waited for without end.
        timeout: Duration::from_secs(spec.timeout_s.max(1) * 20 + 60),
    })
}

/// Runs requests of one deployed workflow as Step Functions executions.
pub struct StepFunctionsRunner {
    /// The client.
    pub clients: Clients,
    /// The state machine's ARN.
    pub arn: String,
    /// The workflow (benchmark id).
    pub workflow: String,
    /// What each state name stands for.
    pub names: BTreeMap<String, asl::StateInfo>,
    /// The functions' memory (MB).
    pub memory_mb: u64,
    /// The longest a request may take before it is stopped and recorded as timed out.
    pub timeout: Duration,
}

#[async_trait::async_trait]
impl sebs_workflows::WorkflowRunner for StepFunctionsRunner {
    /// Start one execution with `input`, wait for it, and read its history. Never fails: what
    /// went wrong is the request's `failure`.
    async fn run(&self, input: &Value) -> WorkflowRun {
        let name = uuid::Uuid::new_v4().to_string();
        match self.execute(&name, input).await {
            Ok(run) => run,
            Err(e) => WorkflowRun {
                workflow: self.workflow.clone(),
                request_id: name,
                failure: Some(Failure {
                    state: String::new(),
                    error: "sebs.StepFunctionsError".into(),
                    cause: format!("{e:#}"),
                }),
                ..WorkflowRun::default()
            },
        }
    }
}

impl StepFunctionsRunner {
    async fn execute(&self, name: &str, input: &Value) -> Result<WorkflowRun> {
        let started = self
            .clients
            .sfn
            .start_execution()
            .state_machine_arn(&self.arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .map_err(crate::sdk_error)
            .context("StartExecution failed")?;
        let execution = started.execution_arn().to_owned();
        self.wait(&execution).await?;
        let events = self.history(&execution).await?;
        let ctx = history::Context {
            workflow: &self.workflow,
            request_id: name,
            names: &self.names,
            memory_mb: self.memory_mb,
        };
        Ok(history::to_run(&events, &ctx))
    }

    /// Poll until the execution is no longer running (10 ms, doubling to 1 s); stop it past
    /// the timeout.
    async fn wait(&self, execution: &str) -> Result<()> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut pause = Duration::from_millis(10);
        loop {
            let out = self
                .clients
                .sfn
                .describe_execution()
                .execution_arn(execution)
                .send()
                .await
                .map_err(crate::sdk_error)
                .context("DescribeExecution failed")?;
            if out.status() != &aws_sdk_sfn::types::ExecutionStatus::Running {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                let _ = self
                    .clients
                    .sfn
                    .stop_execution()
                    .execution_arn(execution)
                    .error("sebs.Timeout")
                    .cause(format!(
                        "sebs stopped the execution after {:?}",
                        self.timeout
                    ))
                    .send()
                    .await;
                bail!("the execution ran past {:?} and was stopped", self.timeout);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    async fn history(&self, execution: &str) -> Result<Vec<history::Event>> {
        let mut events = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .clients
                .sfn
                .get_execution_history()
                .execution_arn(execution)
                .include_execution_data(true)
                .max_results(1000)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(crate::sdk_error)
                .context("GetExecutionHistory failed")?;
            events.extend(page.events().iter().map(event));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(events),
            }
        }
    }
}

/// The fields of an SDK history event the record needs.
fn event(e: &HistoryEvent) -> history::Event {
    let ts = e.timestamp();
    let mut out = history::Event {
        id: e.id(),
        previous: e.previous_event_id(),
        timestamp: ts.secs() as f64 + f64::from(ts.subsec_nanos()) / 1e9,
        kind: e.r#type().as_str().to_owned(),
        ..history::Event::default()
    };
    if let Some(d) = e.state_entered_event_details() {
        out.name = Some(d.name().to_owned());
    }
    if let Some(d) = e.state_exited_event_details() {
        out.name = Some(d.name().to_owned());
    }
    if let Some(d) = e.map_iteration_started_event_details() {
        out.name = d.name().map(str::to_owned);
        out.index = Some(i64::from(d.index()));
    }
    if let Some(d) = e.lambda_function_succeeded_event_details() {
        out.output = d.output().map(str::to_owned);
    }
    if let Some(d) = e.execution_succeeded_event_details() {
        out.output = d.output().map(str::to_owned);
    }
    let failure = e
        .lambda_function_failed_event_details()
        .map(|d| (d.error(), d.cause()))
        .or_else(|| {
            e.lambda_function_timed_out_event_details()
                .map(|d| (d.error(), d.cause()))
        })
        .or_else(|| {
            e.lambda_function_schedule_failed_event_details()
                .map(|d| (d.error(), d.cause()))
        })
        .or_else(|| {
            e.lambda_function_start_failed_event_details()
                .map(|d| (d.error(), d.cause()))
        })
        .or_else(|| {
            e.execution_failed_event_details()
                .map(|d| (d.error(), d.cause()))
        })
        .or_else(|| {
            e.execution_timed_out_event_details()
                .map(|d| (d.error(), d.cause()))
        })
        .or_else(|| {
            e.execution_aborted_event_details()
                .map(|d| (d.error(), d.cause()))
        });
    if let Some((error, cause)) = failure {
        out.error = error.map(str::to_owned);
        out.cause = cause.map(str::to_owned);
    }
    out
}

#[cfg(test)]
mod tests;
