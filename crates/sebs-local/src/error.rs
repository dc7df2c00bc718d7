//! Errors of the platform's API (a function's own failures are [`crate::Outcome`]s).

/// Errors of the platform's API (not of functions).
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// No function of that name is deployed.
    #[error("function `{0}` is not deployed on the local platform")]
    NotFound(String),
    /// Concurrency limit reached and the queue is full.
    #[error("function `{0}` is throttled: its concurrency limit is reached and the queue is full")]
    Throttled(String),
    /// Waited in the queue longer than the function's timeout.
    #[error("function `{0}`: the request waited in the queue longer than the function timeout")]
    QueueTimeout(String),
    /// An instance could not be started.
    #[error("cannot start an instance of `{function}`: {message}")]
    Spawn {
        /// Function name.
        function: String,
        /// Cause.
        message: String,
    },
}
