//! Unauthenticated and heavy load: what a client without a valid token can cost the
//! gateway and its sign-in provider, and what happens past `max_in_flight`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rollbook_gateway::config::{IdentityConfig, Limits, Secret, TenantConfig, UpstreamAuth};
use rollbook_gateway::{Config, Creates, Gateway};
use serde_json::json;
use url::Url;

const BASE: &str = "/ims/oneroster/v1p1";

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    address
}

/// A my/info that knows one token ("good") and counts every call.
async fn provider(calls: Arc<AtomicU64>) -> SocketAddr {
    async fn my_info(State(calls): State<Arc<AtomicU64>>, headers: HeaderMap) -> Response {
        calls.fetch_add(1, Ordering::SeqCst);
        if headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer good") {
            axum::Json(json!({"TenantId": 1, "SourcedId": "t1", "Role": "Teacher"})).into_response()
        } else {
            (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"message": "Invalid or expired access token"})),
            )
                .into_response()
        }
    }
    serve(
        Router::new()
            .route("/v2/my/info", get(my_info))
            .with_state(calls),
    )
    .await
}

/// A district whose reads take half a second.
async fn slow_district() -> SocketAddr {
    async fn user() -> Response {
        tokio::time::sleep(Duration::from_millis(500)).await;
        axum::Json(json!({"user": {"sourcedId": "t1", "status": "active", "enabledUser": true, "role": "teacher"}}))
            .into_response()
    }
    async fn classes() -> Response {
        tokio::time::sleep(Duration::from_millis(500)).await;
        ([("x-total-count", "0")], axum::Json(json!({"classes": []}))).into_response()
    }
    serve(
        Router::new()
            .route(&format!("{BASE}/users/t1"), get(user))
            .route(&format!("{BASE}/teachers/t1/classes"), get(classes)),
    )
    .await
}

async fn gateway(limits: Limits) -> (Gateway, Arc<AtomicU64>) {
    gateway_behind(limits, &[]).await
}

/// A gateway that believes `X-Forwarded-For` from `trusted_proxies`.
async fn gateway_behind(limits: Limits, trusted_proxies: &[&str]) -> (Gateway, Arc<AtomicU64>) {
    let calls = Arc::new(AtomicU64::new(0));
    let id = provider(Arc::clone(&calls)).await;
    let district = slow_district().await;
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        metrics_listen: None,
        trusted_proxies: rollbook_gateway::config::TrustedProxies::new(
            trusted_proxies
                .iter()
                .map(|r| rollbook_gateway::config::AddressRange::parse(r).unwrap())
                .collect(),
        ),
        identity: IdentityConfig::ClassLink {
            api_url: Url::parse(&format!("http://{id}/")).unwrap(),
            cache_ttl: Duration::from_secs(300),
        },
        tenants: vec![TenantConfig {
            id: "1".into(),
            name: "One".into(),
            oneroster_url: Url::parse(&format!("http://{district}{BASE}")).unwrap(),
            auth: UpstreamAuth::Bearer(Secret::new("x")),
            creates: Creates::default(),
        }],
        classlink_partner: None,
        limits,
    };
    (Gateway::start(config).await.unwrap(), calls)
}

async fn get_with(gw: &Gateway, token: &str) -> (u16, HeaderMap, String) {
    let r = reqwest::Client::new()
        .get(format!("{}/users/t1", gw.oneroster_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    // reqwest's HeaderMap is http's: the same type as axum's.
    (status, headers, r.text().await.unwrap())
}

#[tokio::test]
async fn a_refused_token_is_asked_about_once_and_new_tokens_are_limited_per_address() {
    let (gw, calls) = gateway(Limits {
        identity_lookups_per_minute_per_address: 8,
        ..Limits::default()
    })
    .await;
    // A teacher signs in before the flood.
    assert_eq!(get_with(&gw, "good").await.0, 200);
    for _ in 0..20 {
        assert_eq!(get_with(&gw, "bad-token").await.0, 401);
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "a refused token is remembered"
    );
    // A stream of made-up tokens from one address: only a burst reaches the provider.
    let mut limited = 0;
    for i in 0..20 {
        let (status, headers, body) = get_with(&gw, &format!("made-up-{i}")).await;
        if status == 429 {
            limited += 1;
            assert!(headers.contains_key("retry-after"));
            assert!(body.contains("imsx_codeMajor"), "{body}");
        }
    }
    assert!(limited >= 15, "{limited} of 20 limited");
    assert!(
        calls.load(Ordering::SeqCst) <= 5,
        "{calls:?} provider calls"
    );
    // The teacher whose token is already known is not held back by the address limit.
    let before = calls.load(Ordering::SeqCst);
    for _ in 0..5 {
        assert_eq!(get_with(&gw, "good").await.0, 200);
    }
    assert_eq!(calls.load(Ordering::SeqCst), before);
}

async fn made_up_token_from(gw: &Gateway, i: usize, forwarded_for: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/users/t1", gw.oneroster_url()))
        .bearer_auth(format!("made-up-{i}"))
        .header("x-forwarded-for", forwarded_for)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The sign-in limit is per client: behind a trusted balancer, per the address it
/// forwards; from anyone else, per TCP peer, whatever `X-Forwarded-For` claims.
#[tokio::test]
async fn forwarded_for_names_the_client_only_when_a_trusted_proxy_sends_it() {
    let limits = Limits {
        identity_lookups_per_minute_per_address: 8,
        ..Limits::default()
    };
    // Trusting nobody (the default), a new forged address per request changes nothing.
    let (gw, calls) = gateway_behind(limits.clone(), &[]).await;
    let mut limited = 0;
    for i in 0..20 {
        if made_up_token_from(&gw, i, &format!("203.0.113.{i}")).await == 429 {
            limited += 1;
        }
    }
    assert!(
        limited >= 15,
        "forged X-Forwarded-For escaped the limit: {limited} of 20 limited"
    );
    assert!(calls.load(Ordering::SeqCst) <= 3, "{calls:?}");
    // A peer outside the trusted range is not believed either.
    let (gw, _) = gateway_behind(limits.clone(), &["10.0.0.0/8"]).await;
    let mut limited = 0;
    for i in 0..20 {
        if made_up_token_from(&gw, i, &format!("203.0.113.{i}")).await == 429 {
            limited += 1;
        }
    }
    assert!(
        limited >= 15,
        "an untrusted peer's header was believed: {limited} of 20 limited"
    );

    // Behind a trusted balancer (this test's 127.0.0.1), each client has its own bucket:
    // twenty clients signing in at once are not limited ...
    let (gw, calls) = gateway_behind(limits, &["127.0.0.1/32"]).await;
    for i in 0..20 {
        assert_eq!(
            made_up_token_from(&gw, i, &format!("203.0.113.{i}")).await,
            401,
            "client {i} was limited for the others' sign-ins"
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 20);
    // ... while one client behind it is, even prepending a forged hop of its own (the
    // balancer appends the address it saw, which is the one believed).
    let mut limited = 0;
    for i in 100..120 {
        let forged = format!("198.51.100.{i}, 203.0.113.200");
        if made_up_token_from(&gw, i, &forged).await == 429 {
            limited += 1;
        }
    }
    assert!(
        limited >= 15,
        "one client behind the balancer: {limited} of 20 limited"
    );
}

#[tokio::test]
async fn made_up_methods_share_one_metrics_series() {
    let (gw, _) = gateway(Limits::default()).await;
    let client = reqwest::Client::new();
    for i in 0..30 {
        let method = reqwest::Method::from_bytes(format!("BREW{i}").as_bytes()).unwrap();
        let _ = client
            .request(method, format!("http://{}/anything{i}", gw.address()))
            .send()
            .await
            .unwrap();
    }
    let metrics = client
        .get(format!("http://{}/metrics", gw.address()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!metrics.contains("BREW"), "{metrics}");
    assert!(metrics.contains("method=\"other\""), "{metrics}");
}

#[tokio::test]
async fn past_max_in_flight_requests_are_shed_with_retry_after_not_queued() {
    let (gw, _) = gateway(Limits {
        max_in_flight: 2,
        ..Limits::default()
    })
    .await;
    let gw = Arc::new(gw);
    let _ = get_with(&gw, "good").await;
    let started = std::time::Instant::now();
    let answers = futures_util::future::join_all((0..8).map(|_| {
        let gw = Arc::clone(&gw);
        async move { get_with(&gw, "good").await }
    }))
    .await;
    let shed: Vec<_> = answers.iter().filter(|a| a.0 == 503).collect();
    assert!(
        shed.len() >= 5,
        "{:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    for (_, headers, body) in &shed {
        assert_eq!(headers.get("retry-after").unwrap(), "1");
        assert!(body.contains("at capacity"), "{body}");
    }
    // Shed at once, across routes (one semaphore), while health stays answered.
    assert!(started.elapsed() < Duration::from_secs(3));
    let health = reqwest::get(format!("http://{}/healthz", gw.address()))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn one_teacher_has_at_most_max_in_flight_per_teacher_requests_at_once() {
    let (gw, _) = gateway(Limits {
        max_in_flight_per_teacher: 2,
        ..Limits::default()
    })
    .await;
    let gw = Arc::new(gw);
    let _ = get_with(&gw, "good").await;
    // Six at once against a district taking half a second: two are served, the rest
    // refused at once rather than holding the district's upstream slots.
    let started = std::time::Instant::now();
    let answers = futures_util::future::join_all((0..6).map(|_| {
        let gw = Arc::clone(&gw);
        async move { get_with(&gw, "good").await }
    }))
    .await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
    let refused: Vec<_> = answers.iter().filter(|a| a.0 == 429).collect();
    assert!(refused.len() >= 3, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );
    for (_, headers, _) in &refused {
        assert!(headers.get("retry-after").is_some());
    }
    assert!(started.elapsed() < Duration::from_secs(3));
    // The slots come back when the requests end.
    assert_eq!(get_with(&gw, "good").await.0, 200);
}

#[tokio::test]
async fn a_body_too_large_is_refused_in_imsx() {
    let (gw, _) = gateway(Limits::default()).await;
    let r = reqwest::Client::new()
        .put(format!("{}/lineItems/x", gw.oneroster_url()))
        .bearer_auth("good")
        .header("content-type", "application/json")
        .body(vec![b' '; 200_000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let body = r.text().await.unwrap();
    assert!(body.contains("imsx_codeMajor"), "{body}");
}

/// Whether the gateway closes `stream` within `within`, reading (and discarding) what it
/// sends: a close, or a 408 it answers before closing.
async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn a_request_head_sent_a_byte_at_a_time_is_cut_off() {
    use tokio::io::AsyncWriteExt;
    let (gw, _) = gateway(Limits {
        header_read_timeout_seconds: 1,
        ..Limits::default()
    })
    .await;
    // Slowloris: a head that never ends, one byte every 200 ms.
    let mut stream = tokio::net::TcpStream::connect(gw.address()).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let trickle = async {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if stream.write_all(b"X").await.is_err() {
                return;
            }
        }
    };
    let cut = tokio::time::timeout(Duration::from_secs(5), trickle)
        .await
        .is_ok();
    assert!(cut, "a head trickled for 5 s was still being read");
    // A connection that never sends anything is closed too.
    let mut idle = tokio::net::TcpStream::connect(gw.address()).await.unwrap();
    assert!(closed_within(&mut idle, Duration::from_secs(5)).await);
    // An ordinary request is unaffected.
    assert_eq!(get_with(&gw, "good").await.0, 200);
}

#[tokio::test]
async fn connections_past_twice_max_in_flight_wait_for_one_to_close() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (gw, _) = gateway(Limits {
        max_in_flight: 2,
        ..Limits::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = tokio::net::TcpStream::connect(gw.address()).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        held.push(s);
    }
    // Let the gateway accept the four.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fifth = tokio::net::TcpStream::connect(gw.address()).await.unwrap();
    fifth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let early =
        tokio::time::timeout(Duration::from_millis(500), fifth.read_to_end(&mut answer)).await;
    assert!(early.is_err(), "a fifth connection was served: {answer:?}");
    drop(held.pop());
    tokio::time::timeout(Duration::from_secs(5), fifth.read_to_end(&mut answer))
        .await
        .expect("the fifth connection is served once one closes")
        .unwrap();
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
        "{answer:?}"
    );
}
