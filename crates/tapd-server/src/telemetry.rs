//! What tapd counts, for Prometheus at `GET /metrics` (text format): requests by route
//! template and status with their latency, sign-ins by method and result, passes issued, the
//! sizes of the sign-in commit batches, password checks waiting, and the database pool. The
//! recorder is process-global, installed once; each count is made at the one place its event
//! happens (the request middleware, the sign-in audit record, the issuing operation, the store's
//! batch writer). Only clients in `metrics_from` (loopback by default) may read it; to anyone
//! else the route does not exist.

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::extract::{ConnectInfo, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::answers;
use crate::state::SharedState;

/// Request latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];
/// Sign-in batch sizes (the store commits up to 256 sign-ins at once).
const BATCH_BUCKETS: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// The process's recorder, installed on first use; `None` if another one was installed first.
pub fn recorder() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("tapd_http_request_duration_seconds".into()),
                    &LATENCY_BUCKETS,
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("tapd_sign_in_batch_size".into()),
                        &BATCH_BUCKETS,
                    )
                })
                .ok()?
                .install_recorder()
                .ok()
        })
        .as_ref()
}

/// One answered request, by its route template (`unmatched` for none) and status.
pub fn request(method: &str, route: &str, status: u16, seconds: f64) {
    let labels = [
        ("method", method.to_string()),
        ("route", route.to_string()),
        ("status", status.to_string()),
    ];
    metrics::counter!("tapd_http_requests_total", &labels).increment(1);
    let labels = [("method", method.to_string()), ("route", route.to_string())];
    metrics::histogram!("tapd_http_request_duration_seconds", &labels).record(seconds);
}

/// One decided sign-in attempt: its method (as the sign-in log names it) and whether it
/// succeeded, labelled `tap`, `password` or `passkey`.
pub fn sign_in(method: &str, succeeded: bool) {
    let method = match method {
        "Temporary Access Pass" => "tap",
        "Password" => "password",
        "Passkey" => "passkey",
        _ => "other",
    };
    let result = if succeeded { "success" } else { "failure" };
    metrics::counter!("tapd_sign_ins_total", "method" => method, "result" => result).increment(1);
}

/// A pass locked by wrong codes, or an account's password sign-in paused by wrong passwords
/// (`tap` or `password`): counted once, when the run of failures reaches the limit.
pub fn lockout(method: &'static str) {
    metrics::counter!("tapd_lockouts_total", "method" => method).increment(1);
}

/// One pass issued.
pub fn pass_issued() {
    metrics::counter!("tapd_passes_issued_total").increment(1);
}

/// `GET /metrics`.
pub async fn metrics(
    State(state): State<SharedState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
) -> Response {
    if !state.metrics_from.contains(client.ip()) {
        return answers::not_found().await;
    }
    let Some(recorder) = recorder() else {
        return answers::not_found().await;
    };
    let pool = state.svc.store.pool_use();
    metrics::gauge!("tapd_db_connections", "state" => "idle").set(pool.idle as f64);
    metrics::gauge!("tapd_db_connections", "state" => "in_use").set(pool.in_use as f64);
    metrics::gauge!("tapd_password_checks_waiting").set(state.svc.hash_waiting() as f64);
    recorder.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        recorder.render(),
    )
        .into_response()
}
