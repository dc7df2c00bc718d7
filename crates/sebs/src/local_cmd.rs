//! `sebs local start | serve | stop | echo`: the local platform as a daemon
//! (`sebs_platforms::local::daemon`), and the echo server the benchmark script uses as a floor.

use anyhow::Result;
use sebs_platforms::local::daemon::{self, ServeRequest};

use crate::cli::{LocalStartArgs, LocalStopArgs};

fn request(args: &LocalStartArgs) -> ServeRequest {
    ServeRequest {
        options: args.common.options(Some(&args.local)),
        benchmark: args.benchmark.clone(),
        size: args.size.clone(),
        output: args.output.clone(),
        deployments: args.deployments,
        measure_interval: args.measure_interval,
        port: args.port,
        storage_configuration: args.storage_configuration.clone(),
        memory: args.memory,
        timeout: args.timeout,
    }
}

/// `sebs local serve`.
pub async fn serve(args: &LocalStartArgs) -> Result<i32> {
    daemon::serve(&request(args)).await?;
    Ok(0)
}

/// `sebs local start`.
pub fn start(args: &LocalStartArgs) -> Result<i32> {
    let (pid, log) = daemon::start(&args.output)?;
    println!("{}", args.output.display());
    tracing::info!("local platform running (pid {pid}, log {})", log.display());
    Ok(0)
}

/// `sebs local stop`.
pub fn stop(args: &LocalStopArgs) -> Result<i32> {
    if daemon::stop(&args.input, &args.output)? {
        println!("{}", args.output.display());
    }
    Ok(0)
}

/// `sebs local echo`: answer every request with its body, with hyper alone.
pub async fn echo(port: u16) -> Result<i32> {
    use http_body_util::{BodyExt, Full};
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let service = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                let body = req.into_body().collect().await?.to_bytes();
                Ok::<_, hyper::Error>(hyper::Response::new(Full::new(body)))
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
