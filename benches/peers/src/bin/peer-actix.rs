//! actix-web 4 with one worker (`WORKERS=n` for n), answering warden's benchmark routes.
//! `/sleep?ms=N` blocks on actix's blocking pool (`web::block`), its documented way.
use actix_web::{web, App, HttpResponse, HttpServer};

#[derive(serde::Deserialize)]
struct Sleep {
    #[serde(default)]
    ms: u64,
}

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
            .route("/sleep", web::get().to(|q: web::Query<Sleep>| async move {
                let ms = q.ms.min(10_000);
                let _ = web::block(move || std::thread::sleep(std::time::Duration::from_millis(ms))).await;
                HttpResponse::Ok().content_type("text/plain").body(format!("slept {ms} ms\n"))
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
