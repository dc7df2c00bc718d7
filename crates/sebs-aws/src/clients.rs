//! The SDK clients of one backend, each pointed at its service's endpoint (AWS, or the
//! emulator `endpoint-url` names).

use aws_config::SdkConfig;

use crate::config::{AwsSettings, Service};

/// One client per service.
#[derive(Clone, Debug)]
pub struct Clients {
    /// Lambda.
    pub lambda: aws_sdk_lambda::Client,
    /// S3 (path-style against emulators).
    pub s3: aws_sdk_s3::Client,
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// STS.
    pub sts: aws_sdk_sts::Client,
    /// CloudWatch Logs.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// CloudWatch (metrics).
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// Step Functions.
    pub sfn: aws_sdk_sfn::Client,
    /// API Gateway v2.
    pub apigw: aws_sdk_apigatewayv2::Client,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// The shared SDK configuration (region, credentials).
    pub sdk: SdkConfig,
}

macro_rules! client {
    ($krate:ident, $sdk:expr, $settings:expr, $service:expr) => {{
        let mut b = $krate::config::Builder::from($sdk);
        if let Some(url) = $settings.endpoint($service) {
            b = b.endpoint_url(url);
        }
        $krate::Client::from_conf(b.build())
    }};
}

impl Clients {
    /// Build the clients (no request is sent).
    pub fn new(sdk: SdkConfig, settings: &AwsSettings) -> Clients {
        let s3 = {
            let mut b = aws_sdk_s3::config::Builder::from(&sdk);
            if let Some(url) = settings.endpoint(Service::S3) {
                // Emulators serve buckets by path, not by virtual host.
                b = b.endpoint_url(url).force_path_style(true);
            }
            aws_sdk_s3::Client::from_conf(b.build())
        };
        Clients {
            lambda: client!(aws_sdk_lambda, &sdk, settings, Service::Lambda),
            s3,
            dynamodb: client!(aws_sdk_dynamodb, &sdk, settings, Service::DynamoDb),
            iam: client!(aws_sdk_iam, &sdk, settings, Service::Iam),
            sts: client!(aws_sdk_sts, &sdk, settings, Service::Sts),
            logs: client!(aws_sdk_cloudwatchlogs, &sdk, settings, Service::Logs),
            cloudwatch: client!(aws_sdk_cloudwatch, &sdk, settings, Service::CloudWatch),
            apigw: client!(aws_sdk_apigatewayv2, &sdk, settings, Service::ApiGateway),
            sqs: client!(aws_sdk_sqs, &sdk, settings, Service::Sqs),
            sfn: client!(aws_sdk_sfn, &sdk, settings, Service::StepFunctions),
            sdk,
        }
    }
}
