//! hyper 1 (http1, pipeline flush) on tokio: one worker thread by default (a current-thread
//! runtime), `WORKERS=n` for a multi-thread runtime of n workers. `/sleep?ms=N` blocks on
//! tokio's blocking pool (`spawn_blocking`), hyper's documented way to call blocking code.
use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The `ms=N` of a query, capped at 10 s like warden's route.
fn sleep_ms(query: Option<&str>) -> u64 {
    query
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("ms=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0u64)
        .min(10_000)
}

async fn route(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() == "/sleep" {
        let ms = sleep_ms(req.uri().query());
        let body = tokio::task::spawn_blocking(move || {
            std::thread::sleep(std::time::Duration::from_millis(ms));
            format!("slept {ms} ms\n")
        })
        .await
        .unwrap_or_default();
        let mut response = Response::new(Full::new(Bytes::from(body)));
        response
            .headers_mut()
            .insert("content-type", "text/plain".parse().expect("header"));
        return Ok(response);
    }
    let (content_type, body): (&str, &'static [u8]) = match req.uri().path() {
        "/plaintext" => ("text/plain", b"Hello, World!"),
        "/json" => ("application/json", br#"{"message":"Hello, World!"}"#),
        "/fault/panic" => panic!("fault route: the handler panics"),
        _ => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"404 Not Found\n")));
            *r.status_mut() = hyper::StatusCode::NOT_FOUND;
            return Ok(r);
        }
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body)));
    let headers = response.headers_mut();
    headers.insert("content-type", content_type.parse().expect("header"));
    headers.insert("server", "hyper".parse().expect("header"));
    Ok(response)
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8082".into());
    let workers: usize = std::env::var("WORKERS").ok().and_then(|w| w.parse().ok()).unwrap_or(1);
    let runtime = if workers > 1 {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_current_thread().enable_all().build()?
    };
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            tokio::task::spawn(async move {
                let _ = http1::Builder::new()
                    .pipeline_flush(true)
                    .serve_connection(TokioIo::new(stream), service_fn(route))
                    .await;
            });
        }
    })
}
