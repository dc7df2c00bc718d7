//! The AWS Lambda backend.
