//! Broadcast over sockets: fan-out across two workers, ids and order, replay from
//! `Last-Event-ID`, a subscriber that does not read cut while the others receive, one
//! that resets removed, topics bounded, nothing injected into the event stream, HEAD,
//! keep-alive comments, and a drain that ends every subscription with its last chunk.
mod util;

use std::time::Duration;

use util::{Client, PATIENCE, eventually, get, next_event};
use warden::{
    Broadcast, BroadcastConfig, CloseReason, Event, EventId, PublishError, Request, Response,
    Server, ServerHandle,
};

/// A server whose `/topics/NAME` subscribes to NAME on `hub` (anything else: "plain").
fn hub_server(
    hub: &Broadcast,
    workers: usize,
    configure: impl FnOnce(warden::Builder) -> warden::Builder,
) -> ServerHandle {
    let subscriptions = hub.clone();
    configure(
        Server::builder()
            .bind("127.0.0.1:0")
            .workers(workers)
            .broadcast(hub),
    )
    .serve(move |req: &Request<'_>| -> Response {
        match req.path().strip_prefix("/topics/") {
            Some(topic) => subscriptions.subscribe(req, topic),
            None => Response::text("plain"),
        }
    })
    .expect("server starts")
}

fn config(f: impl FnOnce(&mut BroadcastConfig)) -> BroadcastConfig {
    let mut config = BroadcastConfig::default();
    f(&mut config);
    config
}

/// Subscribes to `topic` (with `Last-Event-ID` if given) and reads the head.
fn subscribe(server: &ServerHandle, topic: &str, last_id: Option<u64>) -> Client {
    let mut client = Client::to(server);
    let last = last_id.map_or(String::new(), |n| format!("Last-Event-ID: {n}\r\n"));
    client.send(format!(
        "GET /topics/{topic} HTTP/1.1\r\nHost: a\r\n{last}\r\n"
    ));
    let head = client.head_reply().expect("the subscription's head");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    assert_eq!(head.header("x-accel-buffering"), Some("no"));
    client
}

/// The next event is `event: reset` whose data begins with `why`.
fn assert_reset(client: &mut Client, why: &str) {
    let event = next_event(client);
    assert!(
        event.starts_with(&format!("event: reset\ndata: {why}: ")),
        "{event:?}"
    );
}

fn waiting_until_subscribed(server: &ServerHandle, n: u64) {
    eventually("every subscriber counted", || {
        server.stats().http.subscribers == n
    });
}

#[test]
fn one_publish_reaches_subscribers_on_both_workers_in_order() {
    let hub = Broadcast::new(BroadcastConfig::default());
    let server = hub_server(&hub, 2, |b| b);
    let mut clients: Vec<Client> = (0..6).map(|_| subscribe(&server, "news", None)).collect();
    waiting_until_subscribed(&server, 6);
    let per_worker: Vec<u64> = server
        .stats()
        .workers
        .iter()
        .map(|w| w.counters.subscribers)
        .collect();
    assert!(
        per_worker.iter().all(|&n| n > 0),
        "both workers serve subscribers: {per_worker:?}"
    );
    for i in 1..=3 {
        let id = hub
            .publish("news", &Event::new(&format!("event {i}")))
            .expect("published");
        assert_eq!(id, EventId::local(i));
    }
    for client in &mut clients {
        for i in 1..=3 {
            assert_eq!(next_event(client), format!("id: {i}\ndata: event {i}\n\n"));
        }
    }
    assert_eq!(server.stats().broadcast.published, 3);
}

#[test]
fn last_event_id_replays_what_is_kept() {
    let hub = Broadcast::new(config(|c| c.history = 3));
    let server = hub_server(&hub, 1, |b| b);
    for i in 1..=5 {
        hub.publish("t", &Event::new(&i.to_string()))
            .expect("published");
    }
    // After 3: 4 and 5, then live ones.
    let mut resumed = subscribe(&server, "t", Some(3));
    assert_eq!(next_event(&mut resumed), "id: 4\ndata: 4\n\n");
    assert_eq!(next_event(&mut resumed), "id: 5\ndata: 5\n\n");
    // Older than what is kept (3, 4, 5): the gap is said, then what is kept.
    let mut late = subscribe(&server, "t", Some(1));
    assert_reset(&mut late, "gone");
    // Newer than the last id (the ids began again): said, then everything kept.
    let mut ahead = subscribe(&server, "t", Some(99));
    assert_reset(&mut ahead, "unknown");
    // None: live events only.
    let mut live = subscribe(&server, "t", None);
    waiting_until_subscribed(&server, 4);
    hub.publish("t", &Event::new("6")).expect("published");
    assert_eq!(next_event(&mut resumed), "id: 6\ndata: 6\n\n");
    for client in [&mut late, &mut ahead] {
        for i in 3..=6 {
            assert_eq!(next_event(client), format!("id: {i}\ndata: {i}\n\n"));
        }
    }
    assert_eq!(next_event(&mut live), "id: 6\ndata: 6\n\n");
}

#[test]
fn a_subscriber_that_does_not_read_is_cut_and_the_others_receive() {
    let hub = Broadcast::new(BroadcastConfig::default());
    let server = hub_server(&hub, 1, |b| b);
    let stalled = {
        // A small window: its events back up in the server, not in the kernel.
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        socket.set_recv_buffer_size(4096).expect("rcvbuf");
        socket
            .connect(&server.local_addrs()[0].into())
            .expect("connect");
        let mut stream = std::net::TcpStream::from(socket);
        std::io::Write::write_all(&mut stream, get("/topics/t").as_bytes()).expect("sent");
        stream
    };
    let mut reader = subscribe(&server, "t", None);
    waiting_until_subscribed(&server, 2);
    // Bursts of 400 KB, each read by the reading subscriber before the next: it keeps
    // up, while the stalled one falls further behind with each (1 MiB is its bound).
    let data = "x".repeat(4000);
    let (read_tx, read) = crossbeam_channel::unbounded();
    std::thread::spawn(move || {
        for _ in 0..2000 {
            if next_event(&mut reader).len() > 4000 {
                let _ = read_tx.send(());
            }
        }
    });
    for _ in 0..20 {
        for _ in 0..100 {
            hub.publish("t", &Event::new(&data)).expect("published");
        }
        for _ in 0..100 {
            read.recv_timeout(PATIENCE)
                .expect("the reader gets every event");
        }
    }
    eventually("the stalled subscriber cut", || {
        let stats = server.stats().http;
        stats.subscribers_cut == 1 && stats.closed(CloseReason::Lagged) == 1
    });
    drop(stalled);
}

#[test]
fn a_subscriber_that_leaves_is_removed_at_once() {
    let hub = Broadcast::new(BroadcastConfig::default());
    let server = hub_server(&hub, 1, |b| b);
    let first = subscribe(&server, "t", None);
    let second = subscribe(&server, "t", None);
    waiting_until_subscribed(&server, 2);
    first.reset();
    waiting_until_subscribed(&server, 1);
    drop(second); // a plain close, as an EventSource that goes away
    waiting_until_subscribed(&server, 0);
    // Nothing is kept for them: a publish finds nobody.
    hub.publish("t", &Event::new("to nobody"))
        .expect("published");
    assert_eq!(server.stats().http.closed(CloseReason::ClientGone), 0);
}

#[test]
fn topics_are_bounded() {
    let hub = Broadcast::new(config(|c| c.max_topics = 2));
    let server = hub_server(&hub, 1, |b| b);
    let _a = subscribe(&server, "a", None);
    let _b = subscribe(&server, "b", None);
    let mut client = Client::to(&server);
    assert_eq!(client.get_status("/topics/c"), 503, "a third topic");
    assert!(matches!(
        hub.publish("c", &Event::new("x")),
        Err(PublishError::TooManyTopics { max: 2, .. })
    ));
    assert!(hub.publish("a", &Event::new("x")).is_ok(), "a known topic");
}

#[test]
fn nothing_published_can_inject_a_field_or_an_event() {
    let hub = Broadcast::new(BroadcastConfig::default());
    let server = hub_server(&hub, 1, |b| b);
    let mut client = subscribe(&server, "t", None);
    waiting_until_subscribed(&server, 1);
    assert!(matches!(
        hub.publish("t", &Event::new("x").event("chat\n\ndata: forged")),
        Err(PublishError::Invalid(_))
    ));
    hub.publish(
        "t",
        &Event::new("line\r\nid: 999\rdata: forged\n\nevent: x")
            .event("chat")
            .id("bogus\nid: 5"),
    )
    .expect("published");
    assert_eq!(
        next_event(&mut client),
        "id: 1\nevent: chat\ndata: line\ndata: id: 999\ndata: data: forged\ndata: \ndata: event: x\n\n"
    );
}

#[test]
fn head_gets_the_head_and_the_connection_goes_on() {
    let hub = Broadcast::new(BroadcastConfig::default());
    let server = hub_server(&hub, 1, |b| b);
    let mut client = Client::to(&server);
    client.send(format!(
        "HEAD /topics/t HTTP/1.1\r\nHost: a\r\n\r\n{}",
        get("/plain")
    ));
    let head = client.head_reply().expect("the head");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    assert_eq!(client.reply().expect("the next").text(), "plain");
    assert_eq!(server.stats().http.subscribers, 0);
}

#[test]
fn an_idle_subscription_gets_keep_alive_comments() {
    let hub = Broadcast::new(BroadcastConfig::default());
    let server = hub_server(&hub, 1, |b| b.sse_keepalive(Duration::from_millis(50)));
    let mut client = subscribe(&server, "t", None);
    let comment = client.chunk().expect("a comment while idle");
    assert_eq!(comment, b":\n\n");
    // And events still come after it.
    waiting_until_subscribed(&server, 1);
    hub.publish("t", &Event::new("after")).expect("published");
    assert_eq!(next_event(&mut client), "id: 1\ndata: after\n\n");
}

#[test]
fn a_drain_ends_every_subscription_with_its_last_chunk() {
    let hub = Broadcast::new(BroadcastConfig::default());
    let server = hub_server(&hub, 2, |b| b);
    let mut clients: Vec<Client> = (0..4).map(|_| subscribe(&server, "t", None)).collect();
    waiting_until_subscribed(&server, 4);
    hub.publish("t", &Event::new("last")).expect("published");
    server.shutdown(PATIENCE);
    for client in &mut clients {
        let body = client
            .chunks_until_close()
            .expect("the stream ends with its last chunk");
        assert!(String::from_utf8_lossy(&body).contains("data: last"));
    }
}

#[test]
fn a_replay_longer_than_the_lag_bound_keeps_its_newest_events_and_the_subscriber() {
    let hub = Broadcast::new(config(|c| c.max_lag = 10_000));
    let server = hub_server(&hub, 1, |b| b);
    let data = "y".repeat(1000);
    for _ in 0..20 {
        hub.publish("t", &Event::new(&data)).expect("published");
    }
    let mut client = subscribe(&server, "t", Some(0));
    waiting_until_subscribed(&server, 1);
    // What did not fit is said, never skipped silently.
    assert_reset(&mut client, "gone");
    let first = next_event(&mut client);
    let first_id: u64 = first
        .strip_prefix("id: ")
        .and_then(|rest| rest.split('\n').next())
        .and_then(|id| id.parse().ok())
        .expect("an id");
    assert!(first_id > 1, "the oldest did not fit in the bound");
    for id in first_id + 1..=20 {
        assert!(next_event(&mut client).starts_with(&format!("id: {id}\n")));
    }
    hub.publish("t", &Event::new("live")).expect("published");
    assert_eq!(next_event(&mut client), "id: 21\ndata: live\n\n");
    assert_eq!(server.stats().http.subscribers_cut, 0);
}

/// A metric of `server`, read over a socket.
fn metric(server: &ServerHandle, name: &str) -> f64 {
    let mut client = Client::to(server);
    let text = client
        .send(get("/metrics"))
        .reply()
        .expect("metrics")
        .text();
    util::prom::parse(&text)
        .unwrap_or_else(|e| panic!("{e}"))
        .value(name, &[])
}

#[test]
fn a_topics_history_is_bounded_in_bytes_as_well() {
    // 120 events of 9 KB under a 100 KB lag: a replay could send 11 of them, so no more
    // is kept. Before, all 120 were (1 MB; 105 MB with 900 KB events).
    let hub = Broadcast::new(config(|c| {
        c.history = 1000;
        c.max_lag = 100_000;
    }));
    let server = hub_server(&hub, 1, |b| b.metrics_route("/metrics"));
    let big = "x".repeat(9_000);
    for _ in 0..120 {
        hub.publish("big", &Event::new(&big)).expect("published");
    }
    let kept = metric(&server, "warden_broadcast_history_bytes");
    assert!(kept <= 110_000.0, "{kept} bytes kept");
    assert!(kept >= 9_000.0, "the newest is kept: {kept}");
    // A client that comes back gets the newest events, whole, the last one last.
    let mut back = subscribe(&server, "big", Some(1));
    let mut replayed = 0;
    loop {
        let event = next_event(&mut back);
        replayed += 1;
        assert!(replayed <= 12, "more replayed than fits the lag");
        if event.starts_with("id: 120\n") {
            break;
        }
    }
    assert!(replayed >= 10, "the newest that fit: {replayed}");
    server.shutdown(Duration::ZERO);
}

#[test]
fn empty_topics_never_lock_out_a_real_one_and_retry_after_is_true() {
    let hub = Broadcast::new(config(|c| {
        c.max_topics = 4;
        c.topic_idle = Duration::from_secs(3600);
    }));
    let server = hub_server(&hub, 1, |b| b);
    // HEAD to three names, and a subscriber that leaves at once.
    for name in ["h1", "h2", "h3"] {
        let mut head = Client::to(&server);
        head.send(format!("HEAD /topics/{name} HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert_eq!(head.head_reply().expect("a head").status, 200);
    }
    drop(subscribe(&server, "gone", None));
    waiting_until_subscribed(&server, 0);
    // Before, all four were topics, idle for an hour yet: this got 503 for 5 minutes.
    assert_eq!(hub.publish("real", &Event::new("1")), Ok(EventId::local(1)));
    // Topics with events, all four idle but not long: a fifth is refused, saying when.
    for name in ["b", "c", "d"] {
        hub.publish(name, &Event::new("1")).expect("room");
    }
    let mut refused = Client::to(&server);
    let reply = refused
        .send(get("/topics/fifth"))
        .reply()
        .expect("an answer");
    assert_eq!(reply.status, 503);
    let retry: u64 = reply
        .header("retry-after")
        .expect("a Retry-After")
        .parse()
        .expect("seconds");
    assert!((3000..=3600).contains(&retry), "Retry-After: {retry}");
    server.shutdown(Duration::ZERO);
}

#[test]
fn a_subscriber_that_keeps_up_is_never_cut_by_a_burst_of_small_events() {
    // 2,000 tiny events in a burst against a history of 16: the reading subscriber is
    // far below its 1 MiB lag, so it gets every one. Before, its place fell out of the
    // count-bounded history and it was cut before it got one.
    let hub = Broadcast::new(config(|c| c.history = 16));
    let server = hub_server(&hub, 1, |b| b);
    let mut client = subscribe(&server, "burst", None);
    waiting_until_subscribed(&server, 1);
    for _ in 0..2000 {
        hub.publish("burst", &Event::new("x")).expect("published");
    }
    for id in 1..=2000u64 {
        let event = next_event(&mut client);
        assert_eq!(event, format!("id: {id}\ndata: x\n\n"));
    }
    assert_eq!(server.stats().http.subscribers_cut, 0);
    server.shutdown(Duration::ZERO);
}

#[test]
fn a_last_event_id_past_u64_reads_as_the_largest_id() {
    let hub = Broadcast::new(config(|c| c.history = 2));
    let server = hub_server(&hub, 1, |b| b);
    for text in ["one", "two", "three"] {
        hub.publish("t", &Event::new(text)).expect("published");
    }
    // Both are past the last id (the ids began again): everything kept is replayed.
    for id in ["18446744073709551615", "99999999999999999999999"] {
        let mut client = Client::to(&server);
        client.send(format!(
            "GET /topics/t HTTP/1.1\r\nHost: a\r\nLast-Event-ID: {id}\r\n\r\n"
        ));
        assert_eq!(client.head_reply().expect("a head").status, 200);
        assert_reset(&mut client, "unknown");
        assert_eq!(next_event(&mut client), "id: 2\ndata: two\n\n", "{id}");
    }
    // Not digits: no id, live events only.
    let mut signed = Client::to(&server);
    signed.send("GET /topics/t HTTP/1.1\r\nHost: a\r\nLast-Event-ID: +1\r\n\r\n");
    assert_eq!(signed.head_reply().expect("a head").status, 200);
    waiting_until_subscribed(&server, 1);
    hub.publish("t", &Event::new("four")).expect("published");
    assert_eq!(next_event(&mut signed), "id: 4\ndata: four\n\n");
    server.shutdown(Duration::ZERO);
}
