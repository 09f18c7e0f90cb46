//! `backend = "amqp"`: publish to a RabbitMQ exchange with publisher
//! confirms: persistent (`delivery_mode = 2`), `mandatory` (a message no
//! queue takes comes back and is an error, not an ack), `message_id =
//! requestId`.
//!
//! One connection and one confirm-mode channel, kept by a background task
//! that re-makes them when they break (checked every second and whenever a
//! publish finds them down). A publish never connects: while they are down it
//! answers 503 at once.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
};
use tokio::sync::Notify;

use super::AmqpQueueConfig;
use super::{PublishError, Publisher, Redactor, STARTUP_TIMEOUT};
use crate::config::SecretUrl;
use crate::handlers::HandlerSetupError;

/// How often the keeper looks at the connection when nobody asked it to.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// Longest pause between two failed reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A confirm-mode publisher on one long-lived AMQP connection.
pub struct AmqpPublisher {
    shared: Arc<Shared>,
}

struct Shared {
    url: SecretUrl,
    exchange: ShortString,
    routing_key: ShortString,
    connect_timeout: Duration,
    link: Mutex<Option<Link>>,
    wake: Notify,
    redactor: Redactor,
}

#[derive(Clone)]
struct Link {
    // Held so the connection lives as long as its channel is in use.
    _connection: Arc<Connection>,
    channel: Channel,
}

impl std::fmt::Debug for AmqpPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpPublisher")
            .field("url", &self.shared.redactor.url())
            .field("exchange", &self.shared.exchange.as_str())
            .field("routing_key", &self.shared.routing_key.as_str())
            .finish_non_exhaustive()
    }
}

impl AmqpPublisher {
    /// Connect, enable confirms, check that the exchange exists, and start
    /// the keeper task; `timeout` bounds each reconnection attempt.
    pub async fn connect(
        cfg: &AmqpQueueConfig,
        timeout: Duration,
    ) -> Result<Self, HandlerSetupError> {
        let redactor = Redactor::new(&cfg.url);
        let shared = Arc::new(Shared {
            url: cfg.url.clone(),
            exchange: cfg.exchange.as_str().into(),
            routing_key: cfg.routing_key.as_str().into(),
            connect_timeout: timeout.max(Duration::from_secs(1)),
            link: Mutex::new(None),
            wake: Notify::new(),
            redactor: redactor.clone(),
        });
        let link = match tokio::time::timeout(STARTUP_TIMEOUT, open(&shared)).await {
            Ok(Ok(link)) => link,
            Ok(Err(e)) => {
                return Err(redactor
                    .setup_error("handler.queue.url", format!("cannot connect to AMQP: {e}")))
            }
            Err(_) => {
                return Err(
                    redactor.setup_error("handler.queue.url", "AMQP broker did not answer in time")
                )
            }
        };
        // A failed passive declare closes its channel: use a throwaway one.
        let check = async {
            let channel = link._connection.create_channel().await?;
            channel
                .exchange_declare(
                    shared.exchange.clone(),
                    ExchangeKind::Direct,
                    ExchangeDeclareOptions {
                        passive: true,
                        ..Default::default()
                    },
                    FieldTable::default(),
                )
                .await?;
            let _ = channel.close(200, "checked".into()).await;
            Ok::<_, lapin::Error>(())
        };
        match tokio::time::timeout(STARTUP_TIMEOUT, check).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Err(HandlerSetupError {
                    key: "handler.queue.exchange",
                    reason: redactor.clean(format!(
                        "exchange {:?} is not usable at {}: declare it first ({e})",
                        cfg.exchange,
                        redactor.url()
                    )),
                })
            }
            Err(_) => {
                return Err(
                    redactor.setup_error("handler.queue.url", "AMQP broker did not answer in time")
                )
            }
        }
        tracing::info!(url = redactor.url(), exchange = %cfg.exchange, routing_key = %cfg.routing_key, "queue: publishing to AMQP");
        *lock(&shared.link) = Some(link);
        tokio::spawn(keep(Arc::downgrade(&shared)));
        Ok(Self { shared })
    }

    /// The channel if it is up; otherwise wake the keeper.
    fn channel(&self) -> Option<Channel> {
        let link = lock(&self.shared.link).clone();
        match link {
            Some(link) if link.channel.status().connected() => Some(link.channel),
            _ => {
                self.shared.wake.notify_one();
                None
            }
        }
    }
}

fn lock(m: &Mutex<Option<Link>>) -> std::sync::MutexGuard<'_, Option<Link>> {
    // The guarded value is a plain Option swap: a panic elsewhere cannot
    // leave it half-written.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Connect and open a confirm-mode channel.
async fn open(shared: &Shared) -> Result<Link, lapin::Error> {
    let props = ConnectionProperties::default().with_connection_name("alexa-endpoint".into());
    let connection = Connection::connect(shared.url.expose_str(), props).await?;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    Ok(Link {
        _connection: Arc::new(connection),
        channel,
    })
}

/// The keeper: re-make the link whenever it is down, with backoff; ends when
/// the publisher is dropped.
async fn keep(shared: Weak<Shared>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let Some(s) = shared.upgrade() else { return };
        let up = lock(&s.link)
            .as_ref()
            .is_some_and(|l| l.channel.status().connected());
        if up {
            backoff = Duration::from_millis(100);
            // A wake-up sent while we were not waiting is kept by `Notify`.
            let _ = tokio::time::timeout(CHECK_EVERY, s.wake.notified()).await;
            continue;
        }
        *lock(&s.link) = None;
        match tokio::time::timeout(s.connect_timeout, open(&s)).await {
            Ok(Ok(link)) => {
                tracing::info!(
                    url = s.redactor.url(),
                    "queue: AMQP connection re-established"
                );
                *lock(&s.link) = Some(link);
                continue;
            }
            Ok(Err(e)) => {
                tracing::warn!(url = s.redactor.url(), error = %s.redactor.clean(e), "queue: AMQP reconnection failed");
            }
            Err(_) => tracing::warn!(url = s.redactor.url(), "queue: AMQP reconnection timed out"),
        }
        drop(s);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

#[async_trait]
impl Publisher for AmqpPublisher {
    async fn publish(&self, request_id: &str, payload: Vec<u8>) -> Result<(), PublishError> {
        let channel = self.channel().ok_or(PublishError::NotConnected)?;
        let s = &self.shared;
        let mut properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(request_id.into());
        if let Some(traceparent) = crate::telemetry::spans::current_traceparent() {
            let mut headers = lapin::types::FieldTable::default();
            headers.insert(
                "traceparent".into(),
                lapin::types::AMQPValue::LongString(traceparent.into()),
            );
            properties = properties.with_headers(headers);
        }
        let options = BasicPublishOptions {
            mandatory: true,
            immediate: false,
        };
        let broken = |e: lapin::Error| {
            s.wake.notify_one();
            PublishError::Broker(s.redactor.clean(e))
        };
        let confirm = channel
            .basic_publish(
                s.exchange.clone(),
                s.routing_key.clone(),
                options,
                &payload,
                properties,
            )
            .await
            .map_err(broken)?;
        match confirm.await.map_err(broken)? {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(_)) => Err(PublishError::Refused(format!(
                "unroutable: no queue is bound to exchange {:?} for routing key {:?}",
                s.exchange.as_str(),
                s.routing_key.as_str()
            ))),
            Confirmation::Nack(_) => Err(PublishError::Refused("nacked by the broker".into())),
            Confirmation::NotRequested => Err(PublishError::Broker(
                "the channel is not in confirm mode".into(),
            )),
        }
    }

    async fn ready(&self) -> Result<(), PublishError> {
        self.channel().map(|_| ()).ok_or(PublishError::NotConnected)
    }
}
