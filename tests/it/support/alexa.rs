//! An Alexa-like sender for the soak tests: many distinct messages plus
//! re-deliveries, spread over replicas at random, every answer other than
//! 200 retried with a small back-off until it is 200, as Alexa does.
//!
//! The schedule is fixed up front from a seed: message `i` is sent once, and
//! after every `redelivery_every`-th message one earlier message is sent
//! again, half the time a recent one (often still in flight on another
//! worker: a concurrent duplicate), half the time any earlier one (a late
//! re-delivery). A test injects its faults while the sender runs, marks each
//! outage with [`Progress::fault_begins`] / [`Progress::fault_ends`], and
//! reads what they caused from the [`Report`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::wait::wait_for;

/// Builds one attempt of message `i`: the body and extra headers. Called for
/// every attempt, so that a signature can carry a fresh timestamp.
pub type Prepare = Arc<dyn Fn(usize) -> (Vec<u8>, Vec<(&'static str, String)>) + Send + Sync>;

/// First pause after a non-200; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(20);
/// Longest pause between attempts of one delivery.
const MAX_BACKOFF: Duration = Duration::from_millis(500);
/// Attempts per delivery before the soak fails (about 100 s at the cap).
const MAX_ATTEMPTS: usize = 200;
/// How long [`Running::wait_until`] waits for its condition.
const PATIENCE: Duration = Duration::from_secs(60);

/// `messages` from the environment variable `SOAK_MESSAGES`, else `default`.
pub fn soak_messages(default: usize) -> usize {
    std::env::var("SOAK_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What to send, where, how.
pub struct Sender {
    /// Distinct messages (indices `0..messages`).
    pub messages: usize,
    /// One re-delivery after every this many messages (10: 10 %).
    pub redelivery_every: usize,
    /// Concurrent senders.
    pub workers: usize,
    /// The replicas' URLs; each attempt picks one at random.
    pub urls: Vec<String>,
    /// Body and headers of an attempt.
    pub prepare: Prepare,
}

/// Counters shared with the running workers.
#[derive(Default)]
pub struct Progress {
    /// Deliveries answered 200 (first sends and re-deliveries).
    acked: AtomicUsize,
    /// HTTP requests sent.
    attempts: AtomicUsize,
    /// Requests sent but not answered yet.
    in_flight: AtomicUsize,
    /// Non-200 answers by status ("error" for no answer at all).
    non_200: Mutex<BTreeMap<String, usize>>,
    /// The test's fault is active.
    fault: AtomicBool,
    /// 503s answered while a fault was active.
    fault_503: AtomicUsize,
}

impl Progress {
    /// Deliveries answered 200 so far.
    pub fn acked(&self) -> usize {
        self.acked.load(Ordering::SeqCst)
    }

    /// 503s answered while a fault was active so far.
    pub fn fault_503(&self) -> usize {
        self.fault_503.load(Ordering::SeqCst)
    }

    /// A fault starts now (call right before injecting it); returns the
    /// requests in flight at this moment.
    pub fn fault_begins(&self) -> usize {
        self.fault.store(true, Ordering::SeqCst);
        self.in_flight.load(Ordering::SeqCst)
    }

    /// The fault is over (call once it is repaired).
    pub fn fault_ends(&self) {
        self.fault.store(false, Ordering::SeqCst);
    }
}

/// A sender at work.
pub struct Running {
    /// Live counters.
    pub progress: Arc<Progress>,
    workers: Vec<JoinHandle<()>>,
    started: Instant,
    messages: usize,
    redeliveries: usize,
}

/// What a finished run did.
#[derive(Debug)]
pub struct Report {
    /// Distinct messages, each answered 200.
    pub messages: usize,
    /// Re-deliveries of earlier messages, each answered 200.
    pub redeliveries: usize,
    /// HTTP requests sent (including retries).
    pub attempts: usize,
    /// Non-200 answers by status ("error": no answer).
    pub non_200: BTreeMap<String, usize>,
    /// 503s answered while a fault was active.
    pub fault_503: usize,
    /// From the first request to the last 200.
    pub duration: Duration,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "messages={} redeliveries={} attempts={} non_200={:?} 503_during_faults={} \
             duration={:.1}s",
            self.messages,
            self.redeliveries,
            self.attempts,
            self.non_200,
            self.fault_503,
            self.duration.as_secs_f64()
        )
    }
}

impl Sender {
    /// Start the workers; they run until every delivery got its 200.
    pub fn spawn(self) -> Running {
        let schedule = Arc::new(schedule(self.messages, self.redelivery_every));
        let redeliveries = schedule.len() - self.messages;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let progress = Arc::new(Progress::default());
        let next = Arc::new(AtomicUsize::new(0));
        let urls = Arc::new(self.urls);
        let workers = (0..self.workers)
            .map(|w| {
                let (client, urls, progress, next, schedule, prepare) = (
                    client.clone(),
                    urls.clone(),
                    progress.clone(),
                    next.clone(),
                    schedule.clone(),
                    self.prepare.clone(),
                );
                tokio::spawn(async move {
                    let mut rng = XorShift::new(w as u64 + 1);
                    loop {
                        let job = next.fetch_add(1, Ordering::SeqCst);
                        let Some(&i) = schedule.get(job) else { break };
                        deliver(&client, &urls, &prepare, &progress, &mut rng, i).await;
                    }
                })
            })
            .collect();
        Running {
            progress,
            workers,
            started: Instant::now(),
            messages: self.messages,
            redeliveries,
        }
    }
}

impl Running {
    /// Wait until `done(&progress)` holds; panics after a minute (`what`
    /// says which condition) or when every worker finished first.
    pub async fn wait_until(&self, what: &str, done: impl Fn(&Progress) -> bool) {
        wait_for(what, PATIENCE, async || {
            if done(&self.progress) {
                return Ok(());
            }
            assert!(
                self.workers.iter().any(|w| !w.is_finished()),
                "the sender finished before {what}"
            );
            Err(format!("{} deliveries acknowledged", self.progress.acked()))
        })
        .await;
    }

    /// Wait for every delivery's 200 (a worker's panic is re-raised).
    pub async fn finish(self) -> Report {
        for w in self.workers {
            if let Err(e) = w.await {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        let p = &self.progress;
        Report {
            messages: self.messages,
            redeliveries: self.redeliveries,
            attempts: p.attempts.load(Ordering::SeqCst),
            non_200: p.non_200.lock().unwrap().clone(),
            fault_503: p.fault_503(),
            duration: self.started.elapsed(),
        }
    }
}

/// Send message `i` until a replica answers 200.
async fn deliver(
    client: &reqwest::Client,
    urls: &[String],
    prepare: &Prepare,
    progress: &Progress,
    rng: &mut XorShift,
    i: usize,
) {
    let mut backoff = FIRST_BACKOFF;
    for _ in 0..MAX_ATTEMPTS {
        let url = &urls[rng.below(urls.len())];
        let (body, headers) = prepare(i);
        let mut request = client.post(url).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        progress.attempts.fetch_add(1, Ordering::SeqCst);
        progress.in_flight.fetch_add(1, Ordering::SeqCst);
        let answer = request.send().await;
        progress.in_flight.fetch_sub(1, Ordering::SeqCst);
        let status = match answer {
            Ok(r) if r.status() == 200 => {
                progress.acked.fetch_add(1, Ordering::SeqCst);
                return;
            }
            Ok(r) => r.status().as_u16().to_string(),
            Err(_) => "error".to_owned(),
        };
        if status == "503" && progress.fault.load(Ordering::SeqCst) {
            progress.fault_503.fetch_add(1, Ordering::SeqCst);
        }
        *progress.non_200.lock().unwrap().entry(status).or_default() += 1;
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    panic!("message {i} was not acknowledged in {MAX_ATTEMPTS} attempts");
}

/// Message indices in sending order: each of `0..messages` once, plus one
/// earlier message again after every `every`-th.
fn schedule(messages: usize, every: usize) -> Vec<usize> {
    let mut rng = XorShift::new(0x5eed);
    let mut out = Vec::with_capacity(messages + messages / every.max(1));
    for i in 0..messages {
        out.push(i);
        if every > 0 && i % every == every - 1 {
            let again = if rng.below(2) == 0 {
                let recent = 16.min(i + 1);
                i + 1 - recent + rng.below(recent)
            } else {
                rng.below(i + 1)
            };
            out.push(again);
        }
    }
    out
}

/// A tiny deterministic generator (xorshift64).
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform-enough in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[test]
fn the_schedule_sends_every_message_once_plus_a_tenth_again() {
    let s = schedule(500, 10);
    assert_eq!(s.len(), 550);
    let mut seen = vec![0usize; 500];
    let mut first_deliveries = 0;
    for &i in &s {
        if seen[i] == 0 {
            // First deliveries come in order, so a re-delivery is always of
            // a message already sent (one of a later message would show up
            // here out of order).
            assert_eq!(i, first_deliveries, "{s:?}");
            first_deliveries += 1;
        }
        seen[i] += 1;
    }
    assert_eq!(first_deliveries, 500);
    assert_eq!(seen.iter().sum::<usize>(), 550);
}
