//! `GET /metrics`: Prometheus text with requests by route template, sign-ins by method and
//! result, passes issued and the pool; only for the clients `metrics_from` names.

use serde_json::json;
use tapd_server::http::client_addr::AddressBlocks;

use crate::helpers::*;

async fn scrape(app: &TestApp) -> (u16, String) {
    let r = reqwest::get(format!("{}/metrics", app.base))
        .await
        .expect("GET /metrics");
    (r.status().as_u16(), r.text().await.expect("body"))
}

/// The value of the sample whose name and labels start with `prefix` (0 when absent).
fn sample(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn metrics_count_requests_sign_ins_and_passes_by_template_not_by_value() {
    let app = TestApp::spawn().await;
    let (status, before) = scrape(&app).await;
    assert_eq!(status, 200, "{before}");
    let user = app.create_user("metered").await;
    let pass = app.issue(&user.upn, json!({})).await;
    app.sign_in_with(&user.upn, &pass).await.expect("sign in");
    let wrong = app.anon.sign_in_tap(&user.upn, "not-the-code").await;
    assert!(wrong.is_err());
    let (status, after) = scrape(&app).await;
    assert_eq!(status, 200);
    // The recorder is shared by every server of this test process: compare increases.
    let grew = |prefix: &str| sample(&after, prefix) - sample(&before, prefix);
    assert!(grew("tapd_passes_issued_total") >= 1.0, "{after}");
    assert!(
        grew("tapd_sign_ins_total{method=\"tap\",result=\"success\"}") >= 1.0,
        "{after}"
    );
    assert!(
        grew("tapd_sign_ins_total{method=\"tap\",result=\"failure\"}") >= 1.0,
        "{after}"
    );
    let issued = "tapd_http_requests_total{method=\"POST\",route=\"/v1.0/users/{user}/authentication/temporaryAccessPassMethods\",status=\"201\"}";
    assert!(grew(issued) >= 1.0, "{after}");
    assert!(after.contains("tapd_http_request_duration_seconds_bucket"));
    assert!(after.contains("tapd_db_connections{state=\"idle\"}"));
    // Route templates, never the values in a path.
    assert!(!after.contains(&user.id), "a user id in the metrics");
    assert!(!after.contains(&user.upn), "a UPN in the metrics");
}

#[tokio::test]
async fn a_pass_locked_by_wrong_codes_counts_one_lockout() {
    let app = TestApp::spawn().await;
    let user = app.create_user("locked").await;
    app.issue(&user.upn, json!({})).await;
    let (_, before) = scrape(&app).await;
    for _ in 0..tapd_core::MAX_FAILED_ATTEMPTS + 2 {
        assert!(app.anon.sign_in_tap(&user.upn, "wrong-code").await.is_err());
    }
    let (_, after) = scrape(&app).await;
    let lockouts = "tapd_lockouts_total{method=\"tap\"}";
    // Other tests of this process may lock passes too: at least this one, counted once.
    let grew = sample(&after, lockouts) - sample(&before, lockouts);
    assert!(grew >= 1.0, "{after}");
    let passes = app.admin.list_taps(&user.upn).await.expect("list");
    assert_eq!(
        passes.value[0].method_usability_reason,
        tapd_core::UsabilityReason::Locked
    );
}

#[tokio::test]
async fn metrics_are_only_for_the_clients_metrics_from_names() {
    let app = TestApp::spawn_with(|c| {
        c.metrics_from = AddressBlocks::parse(&["10.0.0.0/8"]).expect("cidr");
    })
    .await;
    let (status, body) = scrape(&app).await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.contains("tapd_"), "{body}");
}
