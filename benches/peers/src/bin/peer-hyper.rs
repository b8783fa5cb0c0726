//! hyper 1 (http1, pipeline flush) on a current-thread tokio runtime: one worker.
use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

async fn route(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
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
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
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
