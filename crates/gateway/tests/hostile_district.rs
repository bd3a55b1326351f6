//! A district whose answers are odd on purpose: JSON that one parser takes and another
//! refuses, nested values under allowed fields, a filter glued into its query. What the
//! teacher gets must be what the gateway checked, and nothing outside their class.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rollbook_gateway::config::{IdentityConfig, Limits, Secret, TenantConfig, UpstreamAuth};
use rollbook_gateway::{Config, Gateway};
use serde_json::json;
use url::Url;

const BASE: &str = "/ims/oneroster/v1p1";
const SECRET: &str = "hostile-upstream-secret";
/// In the records of a class the teacher does not teach: must never reach them.
const ELSEWHERE: &str = "GRADE-OF-ANOTHER-CLASS";

/// The raw text the district puts in the teacher's own grade's `comment` (and, for
/// list answers, what a teacher could have written there through the gateway).
type Poison = Arc<Mutex<String>>;

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    address
}

fn json_text(text: String) -> Response {
    (StatusCode::OK, [("content-type", "application/json")], text).into_response()
}

/// One teacher (t1) of one class (c1); a colleague's class c9 beside it. Lists of a
/// class glue the caller's filter on, so a filtered list answers the whole district.
async fn district(poison: Poison) -> SocketAddr {
    async fn handler(
        State(poison): State<Poison>,
        headers: HeaderMap,
        Path(rest): Path<String>,
        Query(query): Query<BTreeMap<String, String>>,
    ) -> Response {
        let authorized = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == format!("Bearer {SECRET}"));
        if !authorized {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        let filtered = query.contains_key("filter");
        // One page holds everything.
        let past_end = query
            .get("offset")
            .is_some_and(|o| o.parse::<u64>().is_ok_and(|o| o > 0));
        let comment = poison.lock().unwrap().clone();
        let mine = format!(
            r#"{{"sourcedId":"r1","status":"active","lineItem":{{"sourcedId":"li1"}},"student":{{"sourcedId":"s1"}},"score":90,"comment":{comment}}}"#
        );
        let theirs = format!(
            r#"{{"sourcedId":"r9","status":"active","lineItem":{{"sourcedId":"li9"}},"student":{{"sourcedId":"s9"}},"score":12,"comment":"{ELSEWHERE}"}}"#
        );
        let text = match rest.as_str() {
            _ if past_end => {
                let envelope = rest.rsplit('/').next().unwrap_or_default();
                let envelope = if envelope == "students" {
                    "users"
                } else {
                    envelope
                };
                format!(r#"{{"{envelope}":[]}}"#)
            }
            "users/t1" => {
                json!({"user": {"sourcedId": "t1", "role": "teacher", "status": "active"}})
                    .to_string()
            }
            "teachers/t1/classes" => json!({"classes": [
                {"sourcedId": "c1", "status": "active", "title": "Mine"}
            ]})
            .to_string(),
            // Related records "included" beside the ones asked for.
            "classes/c1/students" => format!(
                r#"{{"users":[{{"sourcedId":"s1","role":"student"}}],"results":[{theirs}]}}"#
            ),
            "lineItems/li1" => format!(
                r#"{{"lineItem":{{"sourcedId":"li1","class":{{"sourcedId":"c1"}}}},"results":[{theirs}],"users":[{{"sourcedId":"s9","givenName":"{ELSEWHERE}"}}]}}"#
            ),
            "classes/c1/lineItems" => {
                json!({"lineItems": [{"sourcedId": "li1", "class": {"sourcedId": "c1"}}]})
                    .to_string()
            }
            // A list of one written as the record itself.
            "classes/c1/results" if query.get("filter").is_some_and(|f| f.contains("single")) => {
                format!(r#"{{"results":{theirs}}}"#)
            }
            "classes/c1/results" if filtered => format!(r#"{{"results":[{mine},{theirs}]}}"#),
            "lineItems/li-swap" => {
                json!({"lineItem": {"sourcedId": "li-swap", "class": {"sourcedId": "c1"}}})
                    .to_string()
            }
            // Records whose class cannot be told: a line item naming none, a grade whose
            // line item is gone (it is a colleague's).
            "lineItems/li-noclass" => {
                json!({"lineItem": {"sourcedId": "li-noclass", "title": "x"}}).to_string()
            }
            "results/r-orphan" => format!(
                r#"{{"result":{{"sourcedId":"r-orphan","scoreStatus":"fully graded","lineItem":{{"sourcedId":"li-gone"}},"student":{{"sourcedId":"s9"}},"score":12,"comment":"{ELSEWHERE}"}}}}"#
            ),
            // A record outside the schools the gateway may read, refused in words that
            // name its class.
            "results/r-refused" => {
                return (
                    StatusCode::FORBIDDEN,
                    [("content-type", "application/json")],
                    format!(
                        r#"{{"imsx_codeMajor":"failure","imsx_severity":"error","imsx_description":"r-refused is in {ELSEWHERE}"}}"#
                    ),
                )
                    .into_response();
            }
            "classes/c1/results" => format!(r#"{{"results":[{mine}]}}"#),
            // A district-wide list a teacher may read, larger than any socket buffer.
            "academicSessions" => {
                let title = "t".repeat(1000);
                let sessions: Vec<String> = (0..16_000)
                    .map(|i| format!(r#"{{"sourcedId":"as{i}","title":"{title}"}}"#))
                    .collect();
                format!(r#"{{"academicSessions":[{}]}}"#, sessions.join(","))
            }
            _ => return StatusCode::NOT_FOUND.into_response(),
        };
        json_text(text)
    }
    /// Records what it is sent and, like a lenient binder, takes the record's id from
    /// the body in any spelling; `li-swap` is written as another record.
    async fn put(Path(rest): Path<String>, body: String) -> Response {
        WRITES.lock().unwrap().push((rest.clone(), body.clone()));
        let sent: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let Some((envelope, record)) = sent.as_object().and_then(|o| o.iter().next()) else {
            return StatusCode::BAD_REQUEST.into_response();
        };
        let mut record = record.clone();
        let id = record
            .as_object()
            .and_then(|r| r.iter().find(|(k, _)| k.eq_ignore_ascii_case("sourcedid")))
            .map(|(_, v)| v.clone());
        if let Some(id) = id {
            record["sourcedId"] = id;
        }
        if rest == "lineItems/li-swap" {
            record["sourcedId"] = json!("li9");
        }
        json_text(json!({ envelope: record }).to_string())
    }
    serve(
        Router::new()
            .route(&format!("{BASE}/{{*rest}}"), get(handler).put(put))
            .with_state(poison),
    )
    .await
}

/// What the district was sent to write, by path (each test writes its own paths).
static WRITES: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn writes_to(path: &str) -> Vec<String> {
    WRITES
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, _)| p == path)
        .map(|(_, b)| b.clone())
        .collect()
}

async fn identity() -> SocketAddr {
    async fn my_info() -> Response {
        axum::Json(json!({"TenantId": "2718", "SourcedId": "t1", "Role": "Teacher"}))
            .into_response()
    }
    serve(Router::new().route("/v2/my/info", get(my_info))).await
}

async fn gateway(poison: Poison) -> Gateway {
    gateway_with(poison, Limits::default()).await
}

async fn gateway_with(poison: Poison, limits: Limits) -> Gateway {
    gateway_creating(poison, limits, rollbook_gateway::Creates::Checked).await
}

async fn gateway_creating(
    poison: Poison,
    limits: Limits,
    creates: rollbook_gateway::Creates,
) -> Gateway {
    let (upstream, id) = (district(poison).await, identity().await);
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        metrics_listen: None,
        trusted_proxies: Default::default(),
        identity: IdentityConfig::ClassLink {
            api_url: Url::parse(&format!("http://{id}/")).unwrap(),
            cache_ttl: Duration::from_secs(300),
        },
        tenants: vec![TenantConfig {
            id: "2718".into(),
            name: "Hostile".into(),
            oneroster_url: Url::parse(&format!("http://{upstream}{BASE}")).unwrap(),
            auth: UpstreamAuth::Bearer(Secret::new(SECRET)),
            creates,
        }],
        classlink_partner: None,
        limits,
    };
    Gateway::start(config).await.unwrap()
}

async fn get_as_teacher(gw: &Gateway, path: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .get(format!("http://{}{BASE}{path}", gw.address()))
        .bearer_auth("tok-t1")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn put_as_teacher(gw: &Gateway, path: &str, body: serde_json::Value) -> (u16, String) {
    let response = reqwest::Client::new()
        .put(format!("http://{}{BASE}{path}", gw.address()))
        .bearer_auth("tok-t1")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// JSON a tree parser refuses but a skimming one copies: a lone surrogate, a number out
/// of range, nesting past serde_json's depth limit. A district may send them; a teacher
/// can nest a comment through the gateway (its body is valid JSON), and the district
/// answers it back one level deeper inside its envelope.
fn odd_values() -> Vec<(&'static str, String)> {
    vec![
        ("a lone surrogate", r#""\ud800""#.to_owned()),
        ("a number out of range", "1e400".to_owned()),
        (
            "deep nesting",
            format!("{}{}", "[".repeat(126), "]".repeat(126)),
        ),
    ]
}

#[tokio::test]
async fn a_filtered_list_that_does_not_parse_is_not_passed_on_unchecked() {
    let poison: Poison = Arc::new(Mutex::new(r#""fine""#.to_owned()));
    let gw = gateway(Arc::clone(&poison)).await;
    let filtered = "/classes/c1/results?filter=score%3E%2750%27%20OR%20score%3C%2750%27";
    // The check itself works on a well-formed answer.
    let (status, body) = get_as_teacher(&gw, filtered).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("r1") && !body.contains(ELSEWHERE), "{body}");
    for (what, value) in odd_values() {
        *poison.lock().unwrap() = value;
        let (status, body) = get_as_teacher(&gw, filtered).await;
        assert!(
            !body.contains(ELSEWHERE),
            "{what}: another class's grade reached the teacher ({status}): {body}"
        );
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_its_answer_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let poison: Poison = Arc::new(Mutex::new(r#""fine""#.to_owned()));
    let gw = gateway_with(
        poison,
        Limits {
            header_read_timeout_seconds: 1,
            ..Limits::default()
        },
    )
    .await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(gw.address()).await.unwrap();
    let request = format!(
        "GET {BASE}/academicSessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok-t1\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    // The answer (16 MB) waits on a client that reads nothing for a while.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut sink = vec![0u8; 1 << 16];
    let mut read = 0usize;
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(n) => read += n,
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the connection stayed open after {read} bytes"
    );
    assert!(
        read < 16_000_000,
        "the whole answer was kept for a client not reading it"
    );
}

#[tokio::test]
async fn only_the_envelope_the_address_names_reaches_the_teacher() {
    let gw = gateway(Arc::new(Mutex::new(r#""fine""#.to_owned()))).await;
    for (path, asked) in [
        ("/classes/c1/students", r#""users":[{"sourcedId":"s1""#),
        ("/lineItems/li1", r#""lineItem":{"sourcedId":"li1""#),
    ] {
        let (status, body) = get_as_teacher(&gw, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.contains(asked), "{path}: {body}");
        assert!(
            !body.contains(ELSEWHERE),
            "{path}: records the check never read reached the teacher: {body}"
        );
    }
}

#[tokio::test]
async fn a_filtered_list_of_one_written_as_the_record_is_checked_too() {
    let gw = gateway(Arc::new(Mutex::new(r#""fine""#.to_owned()))).await;
    let (status, body) =
        get_as_teacher(&gw, "/classes/c1/results?filter=score%3E%27single%27").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !body.contains(ELSEWHERE),
        "another class's grade reached the teacher: {body}"
    );
}

#[tokio::test]
async fn a_write_goes_upstream_as_it_was_checked() {
    let gw = gateway(Arc::new(Mutex::new(r#""fine""#.to_owned()))).await;
    // Another record's id in a spelling the checks do not read, with fields and an
    // envelope the district should never be sent.
    let (status, body) = put_as_teacher(
        &gw,
        "/lineItems/li1",
        json!({
            "lineItem": {
                "SourcedId": "li9",
                "class": {"sourcedId": "c1", "href": "x", "type": "class"},
                "category": {"sourcedId": "cat1", "type": {"sourcedId": "c9"}},
                "title": "Quiz",
                "extension": {"class": {"sourcedId": "c9"}}
            },
            "results": [{"sourcedId": "r9"}]
        }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let sent = writes_to("lineItems/li1");
    assert_eq!(sent.len(), 1, "{sent:?}");
    let sent: serde_json::Value = serde_json::from_str(&sent[0]).unwrap();
    assert_eq!(
        sent,
        json!({"lineItem": {
            "sourcedId": "li1",
            "class": {"sourcedId": "c1", "type": "class"},
            "category": {"sourcedId": "cat1"},
            "title": "Quiz"
        }}),
        "the district was sent more than the gateway checked"
    );
}

#[tokio::test]
async fn a_district_that_writes_another_record_than_the_addressed_one_is_stopped() {
    let gw = gateway(Arc::new(Mutex::new(r#""fine""#.to_owned()))).await;
    let (status, body) = put_as_teacher(
        &gw,
        "/lineItems/li-swap",
        json!({"lineItem": {"class": {"sourcedId": "c1"}, "title": "Quiz"}}),
    )
    .await;
    assert_eq!(status, 502, "{body}");
}

#[tokio::test]
async fn a_record_whose_class_cannot_be_told_is_never_written() {
    let gw = gateway_creating(
        Arc::new(Mutex::new(r#""fine""#.to_owned())),
        Limits::default(),
        rollbook_gateway::Creates::Trusted,
    )
    .await;
    let cases = [
        (
            "results/r-orphan",
            json!({"result": {"lineItem": {"sourcedId": "li1"}, "student": {"sourcedId": "s1"}, "score": 0}}),
        ),
        (
            "lineItems/li-noclass",
            json!({"lineItem": {"class": {"sourcedId": "c1"}, "title": "Mine now"}}),
        ),
    ];
    for (path, write) in cases {
        let (status, body) = put_as_teacher(&gw, &format!("/{path}"), write).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(
            writes_to(path).is_empty(),
            "{path}: an existing record was written as if new"
        );
    }
}

#[tokio::test]
async fn a_record_the_district_refuses_is_no_such_record_and_its_words_stay_there() {
    let gw = gateway(Arc::new(Mutex::new(r#""fine""#.to_owned()))).await;
    let (status, body) = get_as_teacher(&gw, "/results/r-refused").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("no such record"), "{body}");
    assert!(!body.contains(ELSEWHERE), "{body}");
}
