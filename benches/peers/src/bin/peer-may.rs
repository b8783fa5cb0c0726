//! may_minihttp with one worker: the fastest plaintext server measured here.
use std::io;

use may_minihttp::{HttpService, HttpServiceFactory, Request, Response};

#[derive(Clone)]
struct Routes;

impl HttpService for Routes {
    fn call(&mut self, req: Request, rsp: &mut Response) -> io::Result<()> {
        match req.path() {
            "/plaintext" => {
                rsp.header("Content-Type: text/plain");
                rsp.body("Hello, World!");
            }
            "/json" => {
                rsp.header("Content-Type: application/json");
                rsp.body(r#"{"message":"Hello, World!"}"#);
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
    may::config().set_workers(1);
    let server = Factory.start(addr).expect("bind");
    server.join().expect("server");
}
