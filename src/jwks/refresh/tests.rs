//! The key task's timing on paused time, against a scripted source: refresh within the
//! jitter bounds, backoff after failures, and `max_stale` dropping and restoring keys.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::Uri;

use super::{Refresher, Source};
use crate::config::JwksConfig;
use crate::jwks::fetch::{FetchError, Fetched};
use crate::jwks::{parse_jwks, IssuerKeys};
use crate::metrics::Metrics;

/// A source that answers a fixed set or HTTP 500, counting calls.
struct Script {
    ok: std::sync::atomic::AtomicBool,
    calls: std::sync::atomic::AtomicUsize,
}

impl Source for Script {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<Fetched, FetchError>> + Send + '_>> {
        use std::sync::atomic::Ordering::SeqCst;
        self.calls.fetch_add(1, SeqCst);
        let ok = self.ok.load(SeqCst);
        Box::pin(async move {
            if !ok {
                return Err(FetchError::HttpStatus { status: 500 });
            }
            let n = base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                [0xC5u8; 256],
            );
            let body =
                serde_json::json!({"keys": [{"kty": "RSA", "kid": "k1", "n": n, "e": "AQAB"}]})
                    .to_string();
            let (keys, skipped) = parse_jwks(body.as_bytes()).map_err(FetchError::Invalid)?;
            Ok(Fetched {
                keys,
                skipped,
                body: bytes::Bytes::from(body),
            })
        })
    }
}

fn task(ok: bool, max_stale: Option<Duration>) -> (Refresher, Arc<Script>) {
    let script = Arc::new(Script {
        ok: std::sync::atomic::AtomicBool::new(ok),
        calls: std::sync::atomic::AtomicUsize::new(0),
    });
    let refresher = Refresher {
        issuer: "main".into(),
        uri: Uri::from_static("https://idp.example/jwks.json"),
        keys: Arc::new(IssuerKeys::new()),
        source: script.clone(),
        config: JwksConfig {
            refresh_interval: Duration::from_secs(3600),
            min_refresh_interval: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(5),
            max_bytes: 1 << 20,
            cache_dir: None,
            max_stale,
            ca_file: None,
            allow_http: false,
        },
        metrics: Metrics::new().unwrap(),
    };
    (refresher, script)
}

fn calls(script: &Script) -> usize {
    script.calls.load(std::sync::atomic::Ordering::SeqCst)
}

/// Advances paused time in small steps so the task runs at each of its deadlines.
async fn advance(by: Duration) {
    let step = Duration::from_millis(250);
    let mut left = by;
    while !left.is_zero() {
        let d = left.min(step);
        tokio::time::advance(d).await;
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
        left -= d;
    }
}

#[tokio::test(start_paused = true)]
async fn refresh_happens_every_interval_within_the_jitter_bounds() {
    let (refresher, script) = task(true, None);
    let keys = refresher.keys.clone();
    let handle = tokio::spawn(refresher.run());
    advance(Duration::from_millis(250)).await;
    assert_eq!(calls(&script), 1, "fetched at start-up");
    assert!(keys.load().is_some());
    advance(Duration::from_secs(53 * 60)).await;
    assert_eq!(calls(&script), 1, "not before 90% of the interval");
    advance(Duration::from_secs(14 * 60)).await;
    assert_eq!(calls(&script), 2, "by 110% of the interval");
    handle.abort();
}

#[tokio::test(start_paused = true)]
async fn failed_fetches_back_off_exponentially_up_to_the_cap() {
    let (refresher, script) = task(false, None);
    let handle = tokio::spawn(refresher.run());
    advance(Duration::from_millis(500)).await;
    assert_eq!(calls(&script), 1);
    advance(Duration::from_secs(2)).await; // t=2.5: retried at 1
    assert_eq!(calls(&script), 2);
    advance(Duration::from_secs(1)).await; // t=3.5: retried at 3
    assert_eq!(calls(&script), 3);
    advance(Duration::from_secs(12)).await; // t=15.5: retried at 7 and 15
    assert_eq!(calls(&script), 5);
    advance(Duration::from_secs(108)).await; // t=123.5: 31, 63, 123 (cap 60 s)
    assert_eq!(calls(&script), 8);
    handle.abort();
}

#[tokio::test(start_paused = true)]
async fn keys_unconfirmed_for_max_stale_are_dropped_and_restored_by_a_fetch() {
    let (refresher, script) = task(true, Some(Duration::from_secs(90 * 60)));
    let keys = refresher.keys.clone();
    let handle = tokio::spawn(refresher.run());
    advance(Duration::from_millis(250)).await;
    assert!(keys.load().is_some());
    script.ok.store(false, std::sync::atomic::Ordering::SeqCst);
    advance(Duration::from_secs(89 * 60)).await;
    assert!(
        keys.load().is_some(),
        "an outage keeps the last good set until max_stale"
    );
    advance(Duration::from_secs(2 * 60)).await;
    assert!(keys.load().is_none(), "past max_stale the keys are gone");
    assert!(keys.status().last_error.is_some(), "/keys says why");
    script.ok.store(true, std::sync::atomic::Ordering::SeqCst);
    advance(Duration::from_secs(61)).await;
    assert!(
        keys.load().is_some(),
        "the next good fetch brings them back"
    );
    handle.abort();
}

/// The `tokengate_jwks_fetches_total` samples of the rendered metrics: (labels, value).
fn fetch_samples(metrics: &Metrics) -> Vec<(String, f64)> {
    let text = String::from_utf8(metrics.render()).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix("tokengate_jwks_fetches_total{"))
        .filter_map(|l| l.split_once("} "))
        .map(|(labels, v)| (labels.to_owned(), v.parse().unwrap_or(f64::NAN)))
        .collect()
}

fn fetches(metrics: &Metrics, result: &str, trigger: &str) -> f64 {
    let labels = format!(r#"issuer="main",result="{result}",trigger="{trigger}""#);
    fetch_samples(metrics)
        .into_iter()
        .find(|(l, _)| *l == labels)
        .map_or(0.0, |(_, v)| v)
}

#[tokio::test(start_paused = true)]
async fn every_fetch_is_counted_once_with_its_result_and_what_triggered_it() {
    let (refresher, script) = task(true, None);
    let (keys, metrics) = (refresher.keys.clone(), refresher.metrics.clone());
    let handle = tokio::spawn(refresher.run());
    advance(Duration::from_millis(250)).await;
    assert_eq!(fetches(&metrics, "ok", "start"), 1.0);

    // A token with an unknown kid, past the floor: one refetch, counted once.
    advance(Duration::from_secs(31)).await;
    assert!(keys
        .refetch_for_unknown_kid(Duration::from_secs(30))
        .is_some());
    advance(Duration::from_millis(500)).await;
    assert_eq!(calls(&script), 2);
    assert_eq!(fetches(&metrics, "ok", "unknown_kid"), 1.0);

    // The interval's refresh fails; the backoff retries are `retry`.
    script.ok.store(false, std::sync::atomic::Ordering::SeqCst);
    advance(Duration::from_secs(67 * 60)).await;
    assert_eq!(fetches(&metrics, "http_status", "refresh"), 1.0);
    advance(Duration::from_secs(4)).await;
    assert!(fetches(&metrics, "http_status", "retry") >= 2.0);

    let total: f64 = fetch_samples(&metrics).iter().map(|(_, v)| v).sum();
    assert_eq!(
        total,
        calls(&script) as f64,
        "sum() of the family is the number of fetches: {:?}",
        fetch_samples(&metrics)
    );
    handle.abort();
}
