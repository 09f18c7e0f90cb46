//! `backend = "amqp"` against the machine's RabbitMQ (127.0.0.1:5672, guest/guest).

use std::net::SocketAddr;

use alexa_endpoint::config::{AmqpQueueConfig, QueueBackend};
use alexa_endpoint::handlers::connect_skill_from_config;
use lapin::message::BasicGetMessage;
use lapin::options::{
    BasicGetOptions, ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use serde_json::{json, Value};

use super::proxy::TcpProxy;
use super::*;
use crate::support::redis::secret_url;

pub(crate) const RABBIT: &str = "127.0.0.1:5672";
const ROUTING_KEY: &str = "alexa.messages";

/// The URL of the RabbitMQ at `addr` (guest/guest, vhost `/`).
pub(crate) fn amqp_url(addr: &str) -> String {
    format!("amqp://guest:guest@{addr}/%2f")
}

/// A test's own exchange (and, when `bind`, a queue bound to it).
pub(crate) struct Topology {
    _connection: Connection,
    channel: Channel,
    exchange: String,
    queue: String,
}

impl Topology {
    pub(crate) async fn new(bind: bool) -> Self {
        let connection = Connection::connect(&amqp_url(RABBIT), ConnectionProperties::default())
            .await
            .expect("RabbitMQ at 127.0.0.1:5672");
        let channel = connection.create_channel().await.unwrap();
        let exchange = unique("alexa-test-exchange");
        let queue = unique("alexa-test-queue");
        channel
            .exchange_declare(
                exchange.as_str().into(),
                ExchangeKind::Direct,
                ExchangeDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        if bind {
            channel
                .queue_declare(
                    queue.as_str().into(),
                    QueueDeclareOptions {
                        durable: true,
                        ..Default::default()
                    },
                    FieldTable::default(),
                )
                .await
                .unwrap();
            channel
                .queue_bind(
                    queue.as_str().into(),
                    exchange.as_str().into(),
                    ROUTING_KEY.into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .unwrap();
        }
        Self {
            _connection: connection,
            channel,
            exchange,
            queue,
        }
    }

    /// The AMQP backend publishing to this exchange at `url`.
    pub(crate) fn backend(&self, url: String) -> QueueBackend {
        QueueBackend::Amqp(AmqpQueueConfig {
            url: secret_url(&url),
            exchange: self.exchange.clone(),
            routing_key: ROUTING_KEY.to_owned(),
        })
    }

    /// Take the next message off the queue, if there is one.
    pub(crate) async fn take(&self) -> Option<BasicGetMessage> {
        self.channel
            .basic_get(self.queue.as_str().into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
    }

    /// Take every message off the queue: (message_id, delivery_mode, payload).
    async fn drain(&self) -> Vec<(String, u8, Value)> {
        let mut out = Vec::new();
        while let Some(msg) = self.take().await {
            let props = &msg.delivery.properties;
            out.push((
                props
                    .message_id()
                    .as_ref()
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                props.delivery_mode().unwrap_or(0),
                serde_json::from_slice(&msg.delivery.data).unwrap(),
            ));
        }
        out
    }

    /// Delete the queue and the exchange.
    pub(crate) async fn delete(self) {
        let _ = self
            .channel
            .queue_delete(self.queue.as_str().into(), QueueDeleteOptions::default())
            .await;
        let _ = self
            .channel
            .exchange_delete(
                self.exchange.as_str().into(),
                ExchangeDeleteOptions::default(),
            )
            .await;
    }
}

#[tokio::test]
async fn publishes_once_persistent_with_its_id_and_acknowledges_only_after_the_confirm() {
    let topology = Topology::new(true).await;
    let app = spawn_queue_app(queue_config(topology.backend(amqp_url(RABBIT)), true)).await;
    let id = unique("amzn1.echo-api.request.amqp");
    let message = json!({"sometag": "message blob"});

    let res = app.post(message_body(&id, message.clone())).await;
    assert_eq!(res.status(), 200);
    // Confirmed and routed: the message is in the bound queue now.
    let first = topology.drain().await;
    assert_eq!(
        first,
        vec![(id.clone(), 2, expected_payload(&id, &message, true))]
    );

    let res = app.post(message_body(&id, message.clone())).await;
    assert_eq!(res.status(), 200);
    assert!(topology.drain().await.is_empty(), "published twice");
    assert_eq!(publish_count(&app, "amqp", "confirmed").await, 1);
    let ready: Value = app.admin_get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["handler"], "amqp");
    app.stop().await;
    topology.delete().await;
    let logs = captured_logs();
    let leaks: Vec<&str> = logs.lines().filter(|l| l.contains("guest")).collect();
    assert!(
        leaks.is_empty(),
        "AMQP credentials reached the log: {leaks:?}"
    );
}

#[tokio::test]
async fn an_unroutable_message_answers_503_and_is_not_acknowledged() {
    // The exchange exists, but no queue is bound: `mandatory` returns it.
    let topology = Topology::new(false).await;
    let app = spawn_queue_app(queue_config(topology.backend(amqp_url(RABBIT)), true)).await;
    let id = unique("amzn1.echo-api.request.amqp-unroutable");
    let res = app.post(message_body(&id, json!({"a": 1}))).await;
    assert_eq!(res.status(), 503);
    assert_eq!(publish_count(&app, "amqp", "failed").await, 1);
    assert_eq!(publish_count(&app, "amqp", "confirmed").await, 0);
    // Not marked handled: the re-delivery runs (and fails) again.
    let res = app.post(message_body(&id, json!({"a": 1}))).await;
    assert_eq!(res.status(), 503);
    assert_eq!(publish_count(&app, "amqp", "failed").await, 2);
    app.stop().await;
    topology.delete().await;
}

#[tokio::test]
async fn a_missing_exchange_stops_start_up_with_a_clear_error() {
    let backend = QueueBackend::Amqp(AmqpQueueConfig {
        url: secret_url(&amqp_url(RABBIT)),
        exchange: unique("alexa-test-no-such-exchange"),
        routing_key: ROUTING_KEY.to_owned(),
    });
    let err = connect_skill_from_config(&queue_config(backend, true))
        .await
        .err()
        .expect("start-up fails");
    assert_eq!(err.key, "handler.queue.exchange");
    assert!(!err.to_string().contains("guest:guest"), "{err}");
}

#[tokio::test]
async fn broker_down_answers_503_then_the_same_delivery_is_published_once_when_it_is_back() {
    let topology = Topology::new(true).await;
    let upstream: SocketAddr = RABBIT.parse().unwrap();
    let proxy = TcpProxy::start(upstream).await;
    let url = amqp_url(&format!("127.0.0.1:{}", proxy.port));
    let app = spawn_queue_app(queue_config(topology.backend(url), true)).await;
    wait_ready(&app, 200).await;

    proxy.cut();
    wait_ready(&app, 503).await;
    let id = unique("amzn1.echo-api.request.amqp-down");
    let message = json!({"during": "outage"});
    let res = app.post(message_body(&id, message.clone())).await;
    assert_eq!(res.status(), 503);
    assert_eq!(publish_count(&app, "amqp", "failed").await, 1);
    assert!(topology.drain().await.is_empty(), "nothing may be queued");

    proxy.restore();
    wait_ready(&app, 200).await;
    let res = app.post(message_body(&id, message.clone())).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        topology.drain().await,
        vec![(id.clone(), 2, expected_payload(&id, &message, true))]
    );
    assert_eq!(publish_count(&app, "amqp", "confirmed").await, 1);
    app.stop().await;
    topology.delete().await;
}
