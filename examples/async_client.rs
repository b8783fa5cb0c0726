//! An async library answering deferred requests: a handler defers, and a tokio runtime on
//! a thread of its own does the slow part (here, an HTTP call to another service) and
//! answers through the `Responder`. The loop never waits for it, and no loop thread runs
//! async code: the runtime is the application's, warden only takes the answer.
//!
//! | route | what happens |
//! | --- | --- |
//! | `/backend` | the "other service" (on a second listener here, to keep it self-contained) |
//! | `/aggregate` | calls `/backend` three times concurrently from the runtime, answers the sum |
//! | `/slow` | the call takes longer than the handler deadline: the client gets 503 |
//!
//! ```sh
//! cargo run --example async_client   # then: curl http://127.0.0.1:3000/aggregate
//! ```

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use warden::{Request, Response, Server};

/// `GET path` to `addr` with tokio, the body of the answer.
async fn fetch(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await?;
    match reply.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.1 200") => Ok(body.to_owned()),
        _ => Err(std::io::Error::other(format!(
            "the backend answered: {reply:?}"
        ))),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let self_test = common::self_test();
    // The application's runtime, on its own thread; handlers reach it through a handle.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let handle = runtime.handle().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("app-tokio".to_owned())
        .spawn(move || runtime.block_on(async move { stopped.await.ok() }))?;

    // Known once the server is bound: the backend is this server's second listener.
    let backend: Arc<OnceLock<SocketAddr>> = Arc::default();
    let route_backend = Arc::clone(&backend);
    let server = Server::builder()
        .bind(common::addr("127.0.0.1:3000"))
        .bind("127.0.0.1:0")
        .handler_deadline(Some(Duration::from_millis(500)))
        .serve(move |req: &Request<'_>| match req.path() {
            "/backend" => Response::text("21"),
            "/backend/slow" => req.blocking(|_| {
                std::thread::sleep(Duration::from_secs(2));
                Response::text("too late")
            }),
            path @ ("/aggregate" | "/slow") => {
                let Some(&addr) = route_backend.get() else {
                    return Response::status_page(503);
                };
                let slow = path == "/slow";
                let (placeholder, responder) = req.defer();
                handle.spawn(async move {
                    let answer = if slow {
                        fetch(addr, "/backend/slow").await.map(|b| b.len())
                    } else {
                        // Three calls at once: the runtime's concurrency, not the loop's.
                        let (a, b, c) = tokio::join!(
                            fetch(addr, "/backend"),
                            fetch(addr, "/backend"),
                            fetch(addr, "/backend")
                        );
                        [a, b, c]
                            .into_iter()
                            .map(|r| r?.trim().parse::<usize>().map_err(std::io::Error::other))
                            .sum()
                    };
                    let response = match answer {
                        Ok(total) => Response::text(format!("{total}\n")),
                        Err(e) => Response::text(format!("backend failed: {e}\n")).with_status(502),
                    };
                    // Past the handler deadline the client was answered 503 already;
                    // this answer is then refused, and dropped.
                    let _ = responder.send(response);
                });
                placeholder
            }
            _ => Response::status_page(404),
        })?;
    let addrs = server.local_addrs();
    let _ = backend.set(addrs[1]);
    println!("listening on http://{}", addrs[0]);

    if self_test {
        let sum = common::get(addrs[0], "/aggregate")?;
        assert!(
            sum.starts_with("HTTP/1.1 200") && sum.ends_with("63\n"),
            "{sum}"
        );
        let slow = common::get(addrs[0], "/slow")?;
        assert!(slow.starts_with("HTTP/1.1 503"), "{slow}");
        server.shutdown(Duration::from_secs(3));
        server.wait()?;
        let _ = stop.send(());
        thread.join().map_err(|_| "the runtime thread panicked")?;
        println!("self-test passed");
        return Ok(());
    }
    server.wait()?;
    let _ = stop.send(());
    let _ = thread.join();
    Ok(())
}
