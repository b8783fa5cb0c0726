//! The Redis engine (feature `redis`): Redis 7 or Valkey, through the `redis` crate's
//! blocking API (no async runtime).
//!
//! Per topic T, two keys with the hash tag `{T}` (one cluster slot): `PREFIX:{T}:m`, a hash
//! of the epoch (`e`) and the last number (`n`), and `PREFIX:{T}:s`, a stream of the kept
//! events whose ids are `0-N`. A publish is one script: the epoch (made if the topic is
//! new, or was lost), the next number, `XADD` trimmed to exactly the newest `history`,
//! and `PUBLISH` on the server set's one channel `PREFIX:events`; so number, history and
//! notification are one atomic step. A replay is one script too: the epoch, the last
//! number, and the events after an id of that epoch (all kept for another epoch).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use redis::io::tcp::TcpSettings;
use redis::{Client, Connection, IntoConnectionInfo, Value};

use crate::broadcast::broker::{
    Broker, BrokerError, Feed, Notice, Outgoing, Replay, Session, Stored,
};
use crate::broadcast::config::EventId;
use crate::broadcast::link::random;

const PUBLISH: &str = r"
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', epoch, 'n', 0)
end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local kind, kind_len = ARGV[6], '-'
if ARGV[7] == '1' then
  kind_len = tostring(#kind)
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], '0-' .. n, 'd', ARGV[8], 't', kind)
else
  kind = ''
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], '0-' .. n, 'd', ARGV[8])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PUBLISH', ARGV[4], 'e ' .. epoch .. ' ' .. n .. ' ' .. #ARGV[5] .. ' ' .. kind_len .. ' ' .. ARGV[5] .. kind .. ARGV[8])
return {epoch, n}
";

const REPLAY: &str = r"
local meta = redis.call('HMGET', KEYS[1], 'e', 'n')
if not meta[1] then
  return {'', '0', {}}
end
local from = '-'
if meta[1] == ARGV[1] then
  from = '(0-' .. ARGV[2]
end
return {meta[1], meta[2], redis.call('XRANGE', KEYS[2], from, '+', 'COUNT', ARGV[3])}
";

/// How a [`RedisBroker`] reaches Redis.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisConfig {
    /// `redis://HOST:PORT[/DB]` (or `redis://:PASSWORD@HOST:PORT`).
    pub url: String,
    /// The deadline of each connection attempt and each command. Default 400 ms, so a
    /// publish is answered (503) within a second of Redis going silent.
    pub timeout: Duration,
    /// A topic with no publish for this long is dropped by Redis (its keys expire);
    /// reconnecting clients then get `event: reset`. Default 24 hours.
    pub retention: Duration,
    /// What the keys and the channel begin with: servers that share topics share it.
    /// Default `warden`.
    pub prefix: String,
}

impl RedisConfig {
    /// The defaults, for Redis at `url`.
    pub fn new(url: &str) -> RedisConfig {
        RedisConfig {
            url: url.to_owned(),
            timeout: Duration::from_millis(400),
            retention: Duration::from_secs(24 * 3600),
            prefix: "warden".to_owned(),
        }
    }
}

/// Redis 7 (or Valkey) as a [`Broker`]: see the module of `Broadcast::with_broker`.
///
/// ```no_run
/// use std::sync::Arc;
/// use warden_reactor::{Broadcast, BroadcastConfig, RedisBroker, RedisConfig};
///
/// let broker = RedisBroker::new(RedisConfig::new("redis://127.0.0.1:6379"))?;
/// let hub = Broadcast::with_broker(BroadcastConfig::default(), Arc::new(broker))?;
/// # let _ = hub;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RedisBroker {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    config: RedisConfig,
    channel: String,
    publish: redis::Script,
    replay: redis::Script,
}

impl RedisBroker {
    /// A broker for Redis at `config.url`. Nothing is connected yet.
    ///
    /// # Errors
    ///
    /// [`BrokerError::Refused`] when the URL is not one of Redis.
    pub fn new(config: RedisConfig) -> Result<RedisBroker, BrokerError> {
        let refused = |e: redis::RedisError| BrokerError::Refused(format!("{}: {e}", config.url));
        // Every command is one write answered before the next (a batch is one pipeline):
        // no write should wait for an acknowledgement (Nagle). Nor does connecting wait
        // for a round trip that names the client library: against a silent broker it would
        // cost a whole deadline before the first command.
        let info = config
            .url
            .as_str()
            .into_connection_info()
            .map_err(refused)?
            .set_tcp_settings(TcpSettings::default().set_nodelay(true));
        let settings = info.redis_settings().clone().set_skip_set_lib_name();
        let info = info.set_redis_settings(settings);
        let client = Client::open(info).map_err(refused)?;
        Ok(RedisBroker {
            inner: Arc::new(Inner {
                client,
                channel: format!("{}:events", config.prefix),
                config,
                publish: redis::Script::new(PUBLISH),
                replay: redis::Script::new(REPLAY),
            }),
        })
    }
}

impl fmt::Debug for RedisBroker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBroker")
            .field("url", &self.inner.config.url)
            .field("prefix", &self.inner.config.prefix)
            .finish()
    }
}

/// A Redis error as a broker's: the connection's own troubles are `Unreachable`.
fn broker_error(e: redis::RedisError) -> BrokerError {
    if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
        BrokerError::Unreachable(e.to_string())
    } else {
        BrokerError::Refused(e.to_string())
    }
}

impl Inner {
    /// A connection with the deadline on connecting and on every command.
    fn connect(&self) -> Result<Connection, BrokerError> {
        let timeout = self.config.timeout;
        let con = self
            .client
            .get_connection_with_timeout(timeout)
            .map_err(broker_error)?;
        con.set_read_timeout(Some(timeout)).map_err(broker_error)?;
        con.set_write_timeout(Some(timeout)).map_err(broker_error)?;
        Ok(con)
    }

    fn keys(&self, topic: &str) -> (String, String) {
        let prefix = &self.config.prefix;
        (
            format!("{prefix}:{{{topic}}}:m"),
            format!("{prefix}:{{{topic}}}:s"),
        )
    }
}

impl Broker for RedisBroker {
    fn session(&self) -> Result<Box<dyn Session>, BrokerError> {
        let mut con = self.inner.connect()?;
        // Loaded once per connection (a Redis that restarted lost its scripts, and every
        // connection to it is new), one command at a time: in a pipeline, the `redis`
        // crate waits out the deadline once per command when the broker is silent.
        for script in [&self.inner.publish, &self.inner.replay] {
            script.load(&mut con).map_err(broker_error)?;
        }
        Ok(Box::new(RedisSession {
            con,
            inner: Arc::clone(&self.inner),
        }))
    }

    fn feed(&self) -> Result<Box<dyn Feed>, BrokerError> {
        let probe = self.inner.connect()?;
        let (tell, heard) = crossbeam_channel::bounded(1024);
        let (ready, subscribed) = crossbeam_channel::bounded(1);
        let stop = Arc::new(AtomicBool::new(false));
        let inner = Arc::clone(&self.inner);
        let stopping = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("warden-broker-redis".to_owned())
            .spawn(move || listen(&inner, &tell, &ready, &stopping))
            .map_err(|e| BrokerError::Unreachable(format!("cannot start a thread: {e}")))?;
        match subscribed.recv_timeout(self.inner.config.timeout * 3) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                stop.store(true, Ordering::Relaxed);
                return Err(BrokerError::Unreachable(
                    "the subscription was not confirmed in time".to_owned(),
                ));
            }
        }
        Ok(Box::new(RedisFeed {
            heard,
            probe,
            channel: self.inner.channel.clone(),
            stop,
        }))
    }
}

/// The subscription's own thread: `PubSub` borrows its connection, so the connection
/// lives in this thread's frame, and what it hears goes out through `tell`.
fn listen(
    inner: &Inner,
    tell: &Sender<Result<Notice, BrokerError>>,
    ready: &Sender<Result<(), BrokerError>>,
    stop: &AtomicBool,
) {
    let mut con = match inner.connect() {
        Ok(con) => con,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let mut pubsub = con.as_pubsub();
    if let Err(e) = pubsub.subscribe(&inner.channel) {
        let _ = ready.send(Err(broker_error(e)));
        return;
    }
    // Short waits from now on: the thread looks whether its feed was dropped between.
    if let Err(e) = pubsub.set_read_timeout(Some(Duration::from_millis(250))) {
        let _ = ready.send(Err(broker_error(e)));
        return;
    }
    if ready.send(Ok(())).is_err() {
        return;
    }
    while !stop.load(Ordering::Relaxed) {
        let heard = match pubsub.get_message() {
            Ok(message) => match notice(message.get_payload_bytes()) {
                Some(notice) => Ok(notice),
                None => Err(BrokerError::Refused(format!(
                    "a message on {} is not one of ours: {:?}",
                    inner.channel,
                    String::from_utf8_lossy(message.get_payload_bytes())
                ))),
            },
            Err(e) if e.is_timeout() => continue,
            Err(e) => Err(broker_error(e)),
        };
        let broken = heard.is_err();
        if tell.send(heard).is_err() || broken {
            return;
        }
    }
}

/// Reads a message of the channel: `e EPOCH N TOPIC_LEN TYPE_LEN|- TOPIC TYPE DATA`, or
/// `p NONCE` (a probe).
fn notice(payload: &[u8]) -> Option<Notice> {
    let text = std::str::from_utf8(payload).ok()?;
    if let Some(nonce) = text.strip_prefix("p ") {
        return u64::from_str_radix(nonce, 16).ok().map(Notice::Probe);
    }
    let rest = text.strip_prefix("e ")?;
    let mut fields = rest.splitn(5, ' ');
    let epoch = u64::from_str_radix(fields.next()?, 16).ok()?;
    let n = fields.next()?.parse().ok()?;
    let topic_len: usize = fields.next()?.parse().ok()?;
    let kind_len = match fields.next()? {
        "-" => None,
        len => Some(len.parse::<usize>().ok()?),
    };
    let rest = fields.next()?;
    let topic = rest.get(..topic_len)?;
    let rest = rest.get(topic_len..)?;
    let (kind, data) = match kind_len {
        Some(len) => (Some(rest.get(..len)?.to_owned()), rest.get(len..)?),
        None => (None, rest),
    };
    Some(Notice::Event {
        topic: topic.to_owned(),
        epoch,
        event: Stored {
            n,
            kind,
            data: data.to_owned(),
        },
    })
}

struct RedisFeed {
    heard: Receiver<Result<Notice, BrokerError>>,
    /// Probes are published through a connection of their own.
    probe: Connection,
    channel: String,
    stop: Arc<AtomicBool>,
}

impl Feed for RedisFeed {
    fn next(&mut self, wait: Duration) -> Result<Option<Notice>, BrokerError> {
        match self.heard.recv_timeout(wait) {
            Ok(heard) => heard.map(Some),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(BrokerError::Unreachable(
                "the subscription's thread ended".to_owned(),
            )),
        }
    }

    fn probe(&mut self, nonce: u64) -> Result<(), BrokerError> {
        redis::cmd("PUBLISH")
            .arg(&self.channel)
            .arg(format!("p {nonce:x}"))
            .exec(&mut self.probe)
            .map_err(broker_error)
    }
}

impl Drop for RedisFeed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

struct RedisSession {
    con: Connection,
    inner: Arc<Inner>,
}

impl Session for RedisSession {
    fn check(&mut self) -> Result<(), BrokerError> {
        redis::cmd("PING").exec(&mut self.con).map_err(broker_error)
    }

    fn publish(
        &mut self,
        batch: &[Outgoing<'_>],
        history: usize,
        ids: &mut Vec<Result<EventId, BrokerError>>,
    ) -> Result<(), BrokerError> {
        let config = &self.inner.config;
        let retention = config.retention.as_millis().max(1).to_string();
        let history = history.max(1).to_string();
        let mut pipe = redis::pipe();
        for event in batch {
            let (meta, stream) = self.inner.keys(event.topic);
            // A new epoch if the topic is new (or lost): 48 random bits.
            let epoch = format!("{:x}", random() >> 16 | 1 << 44);
            pipe.cmd("EVALSHA")
                .arg(self.inner.publish.get_hash())
                .arg(2)
                .arg(meta)
                .arg(stream)
                .arg(epoch)
                .arg(&history)
                .arg(&retention)
                .arg(&self.inner.channel)
                .arg(event.topic)
                .arg(event.kind.unwrap_or(""))
                .arg(if event.kind.is_some() { "1" } else { "0" })
                .arg(event.data);
        }
        // Sent as one pipeline, its answers read one by one under one deadline for the
        // batch: the crate's own pipeline query would wait out the deadline once per
        // command when the broker goes silent, and a batch is up to 256.
        self.con
            .send_packed_command(&pipe.get_packed_pipeline())
            .map_err(broker_error)?;
        let deadline = std::time::Instant::now() + config.timeout;
        let mut broken = None;
        for _ in batch {
            if std::time::Instant::now() >= deadline {
                return Err(BrokerError::Unreachable(format!(
                    "the broker did not answer a batch within {:?}",
                    config.timeout
                )));
            }
            let answer = self.con.recv_response().map_err(broker_error)?;
            let id = match answer {
                Value::Array(fields) => published(&fields),
                Value::ServerError(e) => {
                    let e = BrokerError::Refused(format!(
                        "{}: {}",
                        e.code(),
                        e.details().unwrap_or("")
                    ));
                    // NOSCRIPT (the scripts were flushed): the next session loads them.
                    broken = Some(e.clone());
                    Err(e)
                }
                other => Err(BrokerError::Refused(format!("unexpected answer {other:?}"))),
            };
            ids.push(id);
        }
        broken.map_or(Ok(()), Err)
    }

    fn replay(
        &mut self,
        topic: &str,
        since: Option<EventId>,
        history: usize,
    ) -> Result<Replay, BrokerError> {
        let (meta, stream) = self.inner.keys(topic);
        let (epoch, n) = match since {
            Some(EventId {
                epoch: Some(epoch),
                n,
            }) => (format!("{epoch:x}"), n),
            _ => (String::new(), 0),
        };
        let answer: Value = redis::cmd("EVALSHA")
            .arg(self.inner.replay.get_hash())
            .arg(2)
            .arg(meta)
            .arg(stream)
            .arg(epoch)
            .arg(n)
            .arg(history.max(1))
            .query(&mut self.con)
            .map_err(broker_error)?;
        replayed(answer).ok_or_else(|| BrokerError::Refused("a replay not as written".to_owned()))
    }
}

/// The answer of the publish script: `[epoch, n]`.
fn published(fields: &[Value]) -> Result<EventId, BrokerError> {
    let wrong = || BrokerError::Refused(format!("the publish script answered {fields:?}"));
    let [epoch, n] = fields else {
        return Err(wrong());
    };
    let epoch = text(epoch).and_then(|e| u64::from_str_radix(&e, 16).ok());
    let n = match n {
        Value::Int(n) => u64::try_from(*n).ok(),
        _ => None,
    };
    match (epoch, n) {
        (Some(epoch), Some(n)) => Ok(EventId {
            epoch: Some(epoch),
            n,
        }),
        _ => Err(wrong()),
    }
}

/// The answer of the replay script: `[epoch, last, [[id, [field, value, ...]], ...]]`.
fn replayed(answer: Value) -> Option<Replay> {
    let Value::Array(fields) = answer else {
        return None;
    };
    let [epoch, last, entries] = &fields[..] else {
        return None;
    };
    let epoch = text(epoch)?;
    let epoch = if epoch.is_empty() {
        None
    } else {
        Some(u64::from_str_radix(&epoch, 16).ok()?)
    };
    let last = text(last)?.parse().ok()?;
    let Value::Array(entries) = entries else {
        return None;
    };
    let mut events = Vec::with_capacity(entries.len());
    for entry in entries {
        let Value::Array(entry) = entry else {
            return None;
        };
        let [id, Value::Array(pairs)] = &entry[..] else {
            return None;
        };
        let n = text(id)?.strip_prefix("0-")?.parse().ok()?;
        let (mut kind, mut data) = (None, None);
        for pair in pairs.chunks(2) {
            match (pair.first().and_then(text).as_deref(), pair.get(1)) {
                (Some("d"), Some(value)) => data = text(value),
                (Some("t"), Some(value)) => kind = text(value),
                _ => {}
            }
        }
        events.push(Stored {
            n,
            kind,
            data: data?,
        });
    }
    Some(Replay {
        epoch,
        last,
        events,
    })
}

/// A bulk or simple string, as text.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(text) => Some(text.clone()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_messages_read_back() {
        let cases: [(&[u8], Option<Notice>); 6] = [
            (
                b"e 3fa 7 6 - pricesEUR 1.08",
                Some(Notice::Event {
                    topic: "prices".to_owned(),
                    epoch: 0x3fa,
                    event: Stored {
                        n: 7,
                        kind: None,
                        data: "EUR 1.08".to_owned(),
                    },
                }),
            ),
            (
                b"e 3fa 8 6 4 pricestickone two",
                Some(Notice::Event {
                    topic: "prices".to_owned(),
                    epoch: 0x3fa,
                    event: Stored {
                        n: 8,
                        kind: Some("tick".to_owned()),
                        data: "one two".to_owned(),
                    },
                }),
            ),
            (b"p 1f", Some(Notice::Probe(0x1f))),
            (b"e 3fa 8 60 - short", None),
            (b"x", None),
            (b"e zz 1 1 - ab", None),
        ];
        for (payload, want) in cases {
            assert_eq!(
                notice(payload),
                want,
                "{:?}",
                String::from_utf8_lossy(payload)
            );
        }
    }
}
