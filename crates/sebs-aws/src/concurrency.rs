//! The provider's own history of concurrently running instances, for the scaling experiment:
//! CloudWatch's `AWS/Lambda` `ConcurrentExecutions` per function (`FunctionName` dimension),
//! statistic `Maximum`, one value a minute, read with `GetMetricData`.
//!
//! Lambda publishes the metric once a minute and a few minutes late: a run processed right
//! after it ends may miss its last minutes (processing it again later reads them).

use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricDataResult, MetricStat, ScanBy, StatusCode,
};
use aws_smithy_types::DateTime;
use sebs_platforms::ConcurrencyPoint;

/// The metric's namespace.
pub const NAMESPACE: &str = "AWS/Lambda";
/// The metric: instances of a function running an invocation at once.
pub const METRIC: &str = "ConcurrentExecutions";
/// The dimension that selects one function.
pub const DIMENSION: &str = "FunctionName";
/// The statistic read: the most instances at once in each period.
pub const STATISTIC: &str = "Maximum";
/// The period (s): Lambda publishes the metric once a minute.
pub const PERIOD_S: i64 = 60;
/// The most metric queries one `GetMetricData` request may carry.
pub const MAX_QUERIES: usize = 500;

/// The window read for a run from `begin` to `end` (epoch seconds): `begin` rounded down to
/// the minute, to `end` rounded up to the minute plus one minute (epoch seconds).
pub fn window(begin: f64, end: f64) -> Result<(i64, i64)> {
    if !begin.is_finite() || !end.is_finite() || end < begin {
        bail!("the run's window [{begin}, {end}] (epoch seconds) is not a time range");
    }
    let period = PERIOD_S as f64;
    let start = (begin / period).floor() as i64 * PERIOD_S;
    let stop = (end / period).ceil() as i64 * PERIOD_S + PERIOD_S;
    Ok((start, stop))
}

/// `ConcurrentExecutions` of `functions` in `region` over the [`window`] of `begin`..`end`:
/// one point per datapoint CloudWatch returns (a function without data has none), sorted by
/// function, then time. Functions go [`MAX_QUERIES`] to a request.
pub async fn history(
    client: &aws_sdk_cloudwatch::Client,
    region: &str,
    functions: &[String],
    begin: f64,
    end: f64,
) -> Result<Vec<ConcurrencyPoint>> {
    let (start, stop) = window(begin, end)?;
    let mut points = Vec::new();
    for batch in functions.chunks(MAX_QUERIES) {
        let found = batch_history(client, batch, start, stop)
            .await
            .with_context(|| {
                format!(
                    "failed to read the CloudWatch metric {NAMESPACE} {METRIC} of {} in {region}: check the AWS credentials (AWS_ACCESS_KEY_ID/AWS_PROFILE or deployment.aws.credentials), that the region is the one the functions ran in (deployment.aws.region), and that they allow cloudwatch:GetMetricData",
                    names(batch)
                )
            })?;
        points.extend(found);
    }
    points.sort_by(|a, b| a.function.cmp(&b.function).then(a.time.total_cmp(&b.time)));
    Ok(points)
}

/// One `GetMetricData` query: the metric of `function`, under id `f<index>`.
fn query(index: usize, function: &str) -> MetricDataQuery {
    let metric = Metric::builder()
        .namespace(NAMESPACE)
        .metric_name(METRIC)
        .dimensions(Dimension::builder().name(DIMENSION).value(function).build())
        .build();
    MetricDataQuery::builder()
        .id(format!("f{index}"))
        .label(function)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(PERIOD_S as i32)
                .stat(STATISTIC)
                .build(),
        )
        .return_data(true)
        .build()
}

/// The points of up to [`MAX_QUERIES`] functions from `start` to `stop` (epoch seconds), all
/// pages of the answer.
async fn batch_history(
    client: &aws_sdk_cloudwatch::Client,
    batch: &[String],
    start: i64,
    stop: i64,
) -> Result<Vec<ConcurrencyPoint>> {
    let queries: Vec<MetricDataQuery> =
        batch.iter().enumerate().map(|(i, f)| query(i, f)).collect();
    let mut points = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .get_metric_data()
            .set_metric_data_queries(Some(queries.clone()))
            .start_time(DateTime::from_secs(start))
            .end_time(DateTime::from_secs(stop))
            .scan_by(ScanBy::TimestampAscending)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(crate::sdk_error)?;
        for result in out.metric_data_results() {
            points.extend(result_points(batch, result)?);
        }
        match out.next_token() {
            Some(next) if Some(next) != token.as_deref() => token = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(points)
}

/// The points of one query's result (one page of it).
fn result_points(batch: &[String], result: &MetricDataResult) -> Result<Vec<ConcurrencyPoint>> {
    let function = result
        .id()
        .and_then(|id| id.strip_prefix('f'))
        .and_then(|i| i.parse::<usize>().ok())
        .and_then(|i| batch.get(i))
        .with_context(|| {
            format!(
                "CloudWatch answered for a query sebs did not send (id {:?})",
                result.id()
            )
        })?;
    if let Some(status @ (StatusCode::Forbidden | StatusCode::InternalError)) = result.status_code()
    {
        let messages: Vec<&str> = result.messages().iter().filter_map(|m| m.value()).collect();
        bail!(
            "CloudWatch answered {} for {function}: {}",
            status.as_str(),
            messages.join("; ")
        );
    }
    let (times, values) = (result.timestamps(), result.values());
    if times.len() != values.len() {
        bail!(
            "CloudWatch answered {} timestamps and {} values for {function}",
            times.len(),
            values.len()
        );
    }
    Ok(times
        .iter()
        .zip(values)
        .map(|(t, v)| ConcurrencyPoint {
            time: t.as_secs_f64(),
            period: PERIOD_S as f64,
            function: function.clone(),
            instances: *v,
        })
        .collect())
}

/// The functions of a batch for a message: the first three, and how many more.
fn names(batch: &[String]) -> String {
    let mut text = batch
        .iter()
        .take(3)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if batch.len() > 3 {
        let _ = write!(text, " and {} more", batch.len() - 3);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_whole_minutes_with_one_more_at_the_end() {
        assert_eq!(
            window(1_000_015.5, 1_000_130.2).unwrap(),
            (999_960, 1_000_200)
        );
        // Already on minutes: begin stays, end gains one minute.
        assert_eq!(window(1_200.0, 1_320.0).unwrap(), (1_200, 1_380));
        assert_eq!(window(1_200.0, 1_200.0).unwrap(), (1_200, 1_260));
        assert!(window(f64::NAN, 1.0).is_err());
        assert!(window(100.0, 50.0).is_err());
    }

    #[test]
    fn queries_name_the_function_and_the_statistic() {
        let q = query(7, "sebs-x-fn");
        assert_eq!(q.id(), Some("f7"));
        let stat = q.metric_stat().unwrap();
        assert_eq!(stat.period(), Some(60));
        assert_eq!(stat.stat(), Some("Maximum"));
        let metric = stat.metric().unwrap();
        assert_eq!(metric.namespace(), Some("AWS/Lambda"));
        assert_eq!(metric.metric_name(), Some("ConcurrentExecutions"));
        let d = &metric.dimensions()[0];
        assert_eq!(
            (d.name(), d.value()),
            (Some("FunctionName"), Some("sebs-x-fn"))
        );
    }

    #[test]
    fn results_map_back_to_their_function() {
        let batch = vec!["a".to_owned(), "b".to_owned()];
        let result = MetricDataResult::builder()
            .id("f1")
            .timestamps(DateTime::from_secs(120))
            .values(4.0)
            .status_code(StatusCode::Complete)
            .build();
        let points = result_points(&batch, &result).unwrap();
        assert_eq!(
            points,
            vec![ConcurrencyPoint {
                time: 120.0,
                period: 60.0,
                function: "b".into(),
                instances: 4.0
            }]
        );
        let stray = MetricDataResult::builder().id("f2").build();
        assert!(result_points(&batch, &stray).is_err());
        let forbidden = MetricDataResult::builder()
            .id("f0")
            .status_code(StatusCode::Forbidden)
            .build();
        let e = result_points(&batch, &forbidden).unwrap_err().to_string();
        assert!(e.contains("Forbidden") && e.contains(" a:"), "{e}");
        let names = names(&["a", "b", "c", "d", "e"].map(String::from));
        assert_eq!(names, "a, b, c and 2 more");
    }
}
