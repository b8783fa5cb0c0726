//! may_minihttp with one worker (`WORKERS=n` for n): the fastest plaintext server measured
//! here. `/sleep?ms=N` sleeps the coroutine, may's way to wait without blocking its thread.
use std::io;

use may_minihttp::{HttpService, HttpServiceFactory, Request, Response};

#[derive(Clone)]
struct Routes;

impl HttpService for Routes {
    fn call(&mut self, req: Request, rsp: &mut Response) -> io::Result<()> {
        let path = req.path().split('?').next().unwrap_or("");
        let route = if path == "/sleep" { "/sleep" } else { req.path() };
        match route {
            "/plaintext" => {
                rsp.header("Content-Type: text/plain");
                rsp.body("Hello, World!");
            }
            "/json" => {
                rsp.header("Content-Type: application/json");
                rsp.body(r#"{"message":"Hello, World!"}"#);
            }
            "/sleep" => {
                let ms = req
                    .path()
                    .split_once('?')
                    .map(|(_, q)| q)
                    .into_iter()
                    .flat_map(|q| q.split('&'))
                    .find_map(|kv| kv.strip_prefix("ms="))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0u64)
                    .min(10_000);
                may::coroutine::sleep(std::time::Duration::from_millis(ms));
                rsp.header("Content-Type: text/plain");
                rsp.body_vec(format!("slept {ms} ms\n").into_bytes());
            }
            "/fault/panic" => panic!("fault route: the handler panics"),
            _ => {
                rsp.status_code(404, "Not Found");
            }
        }
        Ok(())
    }
}

struct Factory;

impl HttpServiceFactory for Factory {
    type Service = Routes;
    fn new_service(&self, _: usize) -> Routes {
        Routes
    }
}

fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8083".into());
    let workers = std::env::var("WORKERS").ok().and_then(|w| w.parse().ok()).unwrap_or(1);
    may::config().set_workers(workers);
    let server = Factory.start(addr).expect("bind");
    server.join().expect("server");
}
