//! actix-web 4 with one worker, answering warden's benchmark routes.
use actix_web::{web, App, HttpResponse, HttpServer};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8081".into());
    HttpServer::new(|| {
        App::new()
            .route("/plaintext", web::get().to(|| async {
                HttpResponse::Ok().content_type("text/plain").body("Hello, World!")
            }))
            .route("/json", web::get().to(|| async {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .body(r#"{"message":"Hello, World!"}"#)
            }))
            .route("/fault/panic", web::get().to(|| async {
                if true {
                    panic!("fault route: the handler panics");
                }
                HttpResponse::Ok().finish()
            }))
    })
    .workers(std::env::var("WORKERS").ok().and_then(|w| w.parse().ok()).unwrap_or(1))
    .bind(addr)?
    .run()
    .await
}
