//! A `redis-server` of the test's own on a free loopback port (never the system's
//! service), killed when dropped. `.ci/run` installs Debian's `redis-server`; a machine
//! without it fails the test with how to install it, never skips.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::PATIENCE;

/// How a test's Redis keeps its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Persistence {
    /// Nothing on disk: a restart loses every topic.
    None,
    /// `--appendonly yes --appendfsync always`: every write is on disk before it is
    /// answered, so a kill -9 loses nothing.
    Always,
}

/// A running `redis-server`.
pub struct Redis {
    child: Option<Child>,
    pub addr: SocketAddr,
    dir: PathBuf,
    persistence: Persistence,
}

/// A port nobody listens on now (the listener that found it is closed).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("address").port()
}

impl Redis {
    /// Starts one on a free port.
    pub fn start(persistence: Persistence) -> Redis {
        Redis::start_on(free_port(), persistence)
    }

    /// Starts one on `port` (a restart: the same port, the same folder).
    pub fn start_on(port: u16, persistence: Persistence) -> Redis {
        let dir = std::env::temp_dir().join(format!("warden-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a folder for redis");
        let mut redis = Redis {
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
            persistence,
        };
        redis.run();
        redis
    }

    fn run(&mut self) {
        let mut command = Command::new("redis-server");
        command
            .args([
                "--port",
                &self.addr.port().to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .args(["--save", "", "--dir"])
            .arg(&self.dir)
            .args(["--protected-mode", "no"]);
        match self.persistence {
            Persistence::None => command.args(["--appendonly", "no"]),
            Persistence::Always => command.args(["--appendonly", "yes", "--appendfsync", "always"]),
        };
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server ({e}): install Redis 7, e.g. \
                     `apt-get install -y redis-server` (tests start their own on a free port)"
                )
            });
        self.child = Some(child);
        let start = Instant::now();
        while self.ping().is_err() {
            assert!(
                start.elapsed() < PATIENCE,
                "redis-server did not answer PING"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills it (SIGKILL: nothing flushed that was not already).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills it and starts it again on the same port with the same folder.
    pub fn restart(&mut self) {
        self.kill();
        self.run();
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Sends one command (its words) and returns the first line of the answer.
    pub fn command(&self, words: &[&str]) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(self.addr)?;
        stream.set_read_timeout(Some(PATIENCE))?;
        let mut request = format!("*{}\r\n", words.len());
        for word in words {
            request.push_str(&format!("${}\r\n{word}\r\n", word.len()));
        }
        stream.write_all(request.as_bytes())?;
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line)?;
        Ok(line.trim_end().to_owned())
    }

    fn ping(&self) -> std::io::Result<()> {
        match self.command(&["PING"])?.as_str() {
            "+PONG" => Ok(()),
            other => Err(std::io::Error::other(other.to_owned())),
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A TCP listener that accepts and never answers: a broker that is up but silent.
pub fn silent_listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let accepting = listener.try_clone().expect("clone");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in accepting.incoming().flatten() {
            held.push(stream); // kept open, never read from nor written to
        }
    });
    (listener, addr)
}

/// Reads what is left of a stream, for a message.
pub fn drain(mut stream: impl Read) -> String {
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    text
}

/// A TCP relay to Redis whose connections can be wedged: after [`Relay::wedge`], the
/// connections made before it stay open but nothing passes through them any more (a
/// subscription that is alive and no longer fed); later connections pass as usual.
pub struct Relay {
    pub addr: SocketAddr,
    wedged: std::sync::Arc<std::sync::atomic::AtomicU64>,
    made: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Relay {
    pub fn to(target: SocketAddr) -> Relay {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU64, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let wedged = Arc::new(AtomicU64::new(0));
        let made = Arc::new(AtomicU64::new(0));
        let (wedged_at, count) = (Arc::clone(&wedged), Arc::clone(&made));
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let generation = count.fetch_add(1, Ordering::SeqCst) + 1;
                for (from, to) in [
                    (
                        client.try_clone().expect("clone"),
                        server.try_clone().expect("clone"),
                    ),
                    (server, client),
                ] {
                    let wedged = Arc::clone(&wedged_at);
                    std::thread::spawn(move || {
                        let (mut from, mut to) = (from, to);
                        let mut buf = [0u8; 16384];
                        loop {
                            let n = match from.read(&mut buf) {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            // Wedged: what comes is swallowed, the connection stays open.
                            if wedged.load(Ordering::SeqCst) >= generation {
                                continue;
                            }
                            if to.write_all(&buf[..n]).is_err() {
                                return;
                            }
                        }
                    });
                }
            }
        });
        Relay { addr, wedged, made }
    }

    /// Wedges every connection made so far.
    pub fn wedge(&self) {
        use std::sync::atomic::Ordering;
        self.wedged
            .store(self.made.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}
