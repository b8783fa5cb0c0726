//! A real embedded database on the blocking pool: SQLite (compiled in by `rusqlite`), one
//! connection per pool thread, opened by the pool's per-thread resource. Queries never
//! run on an event loop; the loop answers other clients meanwhile.
//!
//! | route | what happens |
//! | --- | --- |
//! | `POST /notes` | the body is stored as a note: `201 Created`, `Location: /notes/ID` |
//! | `GET /notes/ID` | the note, or 404 |
//! | `GET /notes` | how many notes there are |
//!
//! ```sh
//! cargo run --example sqlite      # then: curl -d 'hello' http://127.0.0.1:3000/notes
//! ```

mod common;

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use warden::{Request, Response, Server, with_resource};

/// Opens this thread's connection. WAL lets readers go on while one thread writes; the
/// busy timeout makes a writer wait for another's transaction instead of failing.
fn open(path: &Path) -> rusqlite::Result<Connection> {
    let db = Connection::open(path)?;
    db.pragma_update(None, "journal_mode", "WAL")?;
    db.busy_timeout(Duration::from_secs(5))?;
    Ok(db)
}

/// Runs `query` on this pool thread's connection; a database error is a 500 with its
/// reason in the log, a database that could not be opened a 503: never a panic.
fn with_db(query: impl FnOnce(&Connection) -> rusqlite::Result<Response>) -> Response {
    let answer = with_resource(|db: &mut rusqlite::Result<Connection>| match db {
        Ok(db) => query(db).unwrap_or_else(|e| {
            log::error!("sqlite: {e}");
            Response::status_page(500)
        }),
        Err(e) => {
            log::error!("sqlite: this thread could not open the database: {e}");
            Response::status_page(503)
        }
    });
    answer.unwrap_or_else(|| Response::status_page(500))
}

fn handler(req: &Request<'_>) -> Response {
    match (req.method(), req.path()) {
        ("POST", "/notes") => {
            let body = String::from_utf8_lossy(req.body()).into_owned();
            req.blocking(move |_| {
                with_db(|db| {
                    db.execute("INSERT INTO notes (body) VALUES (?1)", params![body])?;
                    let id = db.last_insert_rowid();
                    Ok(Response::text(format!("{id}\n"))
                        .with_status(201)
                        .with_header("Location", format!("/notes/{id}")))
                })
            })
        }
        ("GET", "/notes") => req.blocking(|_| {
            with_db(|db| {
                let n: i64 = db.query_row("SELECT count(*) FROM notes", [], |row| row.get(0))?;
                Ok(Response::text(format!("{n}\n")))
            })
        }),
        ("GET", path) => {
            let Some(Ok(id)) = path.strip_prefix("/notes/").map(str::parse::<i64>) else {
                return Response::status_page(404);
            };
            req.blocking(move |_| {
                with_db(|db| {
                    let note: Option<String> = db
                        .query_row("SELECT body FROM notes WHERE id = ?1", params![id], |row| {
                            row.get(0)
                        })
                        .optional()?;
                    Ok(note.map_or_else(|| Response::status_page(404), Response::text))
                })
            })
        }
        _ => Response::status_page(404),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let self_test = common::self_test();
    let dir = std::env::temp_dir().join(format!("warden-sqlite-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("notes.db");
    // The schema, once, before any pool thread opens the file.
    open(&path)?.execute_batch(
        "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
    )?;
    let opened = path.clone();
    let server = Server::builder()
        .bind(common::addr("127.0.0.1:3000"))
        .blocking_threads(4)
        .blocking_resource(move || open(&opened))
        .serve(handler)?;
    let addr = server.local_addrs()[0];
    println!("listening on http://{addr} (database {})", path.display());

    if self_test {
        let created = common::post(addr, "/notes", "the first note")?;
        assert!(created.starts_with("HTTP/1.1 201"), "{created}");
        assert!(created.contains("Location: /notes/1"), "{created}");
        // Writes from several pool threads at once, each on its own connection.
        let writers: Vec<_> = (0..8)
            .map(|i| std::thread::spawn(move || common::post(addr, "/notes", &format!("note {i}"))))
            .collect();
        for writer in writers {
            let reply = writer.join().expect("client thread")?;
            assert!(reply.starts_with("HTTP/1.1 201"), "{reply}");
        }
        let first = common::get(addr, "/notes/1")?;
        assert!(first.ends_with("the first note"), "{first}");
        assert!(common::get(addr, "/notes")?.ends_with("9\n"));
        assert!(common::get(addr, "/notes/99")?.starts_with("HTTP/1.1 404"));
        server.shutdown(Duration::from_secs(2));
        server.wait()?;
        std::fs::remove_dir_all(&dir)?;
        println!("self-test passed");
        return Ok(());
    }
    server.wait()?;
    Ok(())
}
