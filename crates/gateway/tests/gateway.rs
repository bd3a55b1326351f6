//! The roster gateway against real HTTP servers: two demo districts (two tenants) as
//! upstreams, a ClassLink-style launchpad in front of their `/v2/my/info`, and the
//! gateway itself, in-process and as its shipped binary (behind haproxy).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rollbook_gateway::config::{IdentityConfig, Limits, Secret, TenantConfig, UpstreamAuth};
use rollbook_gateway::{Config, Gateway};
use rollbook_sandbox::{Knobs, RosterAccess, Sandbox, SandboxConfig, Size, demo_credentials};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

#[path = "support/doc.rs"]
mod doc;

const BASE: &str = "/ims/oneroster/v1p1";
const TENANT_A: u64 = 2718;
const TENANT_B: u64 = 3141;
const TENANT_UNKNOWN: u64 = 999;

async fn district(tenant_id: u64, size: Size) -> Sandbox {
    Sandbox::start(SandboxConfig {
        seed: 7,
        size,
        today: Some("2026-11-27".into()),
        tenant_id,
        test_controls: true,
        ..SandboxConfig::default()
    })
    .await
    .unwrap()
}

/// A ClassLink-style launchpad: one `/v2/my/info` for every district, answering for
/// whichever district issued the token (as ClassLink's single API does).
async fn launchpad(districts: Vec<String>) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    async fn my_info(State(districts): State<Arc<Vec<String>>>, headers: HeaderMap) -> Response {
        let client = reqwest::Client::new();
        let mut last = StatusCode::UNAUTHORIZED;
        for d in districts.iter() {
            let mut request = client.get(format!("{d}/v2/my/info"));
            if let Some(auth) = headers.get("authorization") {
                request = request.header("authorization", auth.to_str().unwrap());
            }
            let Ok(response) = request.send().await else {
                last = StatusCode::BAD_GATEWAY;
                continue;
            };
            let status = response.status();
            if status.is_success() {
                let body = response.bytes().await.unwrap();
                return (StatusCode::OK, [("content-type", "application/json")], body)
                    .into_response();
            }
            if status != StatusCode::UNAUTHORIZED {
                last = StatusCode::from_u16(status.as_u16()).unwrap();
            }
        }
        (
            last,
            axum::Json(json!({"message": "Invalid or expired access token", "status": 0})),
        )
            .into_response()
    }
    let app = Router::new()
        .route("/v2/my/info", get(my_info))
        .with_state(Arc::new(districts));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (address, task)
}

fn oauth1_tenant(d: &Sandbox) -> TenantConfig {
    TenantConfig {
        id: d.tenant_id().to_string(),
        name: "A".into(),
        oneroster_url: Url::parse(&d.oneroster_url()).unwrap(),
        auth: UpstreamAuth::OAuth1 {
            client_id: demo_credentials::ONEROSTER_CLIENT_ID.into(),
            client_secret: Secret::new(demo_credentials::ONEROSTER_CLIENT_SECRET),
        },
        creates: rollbook_gateway::Creates::default(),
    }
}

fn oauth2_tenant(d: &Sandbox) -> TenantConfig {
    TenantConfig {
        id: d.tenant_id().to_string(),
        name: "B".into(),
        oneroster_url: Url::parse(&d.oneroster_url()).unwrap(),
        auth: UpstreamAuth::OAuth2 {
            token_url: Url::parse(&format!("{}/oauth2/v2/token", d.issuer())).unwrap(),
            client_id: demo_credentials::ONEROSTER_CLIENT_ID.into(),
            client_secret: Secret::new(demo_credentials::ONEROSTER_CLIENT_SECRET),
            scopes: vec!["https://purl.imsglobal.org/spec/or/v1p1/scope/roster.readonly".into()],
        },
        creates: rollbook_gateway::Creates::default(),
    }
}

fn bearer_tenant(d: &Sandbox) -> TenantConfig {
    TenantConfig {
        id: d.tenant_id().to_string(),
        name: "A (proxy)".into(),
        oneroster_url: Url::parse(&d.oneroster_url()).unwrap(),
        auth: UpstreamAuth::Bearer(Secret::new(demo_credentials::PROXY_BEARER)),
        creates: rollbook_gateway::Creates::default(),
    }
}

fn config(identity_api: &str, tenants: Vec<TenantConfig>) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        metrics_listen: None,
        trusted_proxies: Default::default(),
        identity: IdentityConfig::ClassLink {
            api_url: Url::parse(identity_api).unwrap(),
            cache_ttl: Duration::from_secs(300),
        },
        tenants,
        classlink_partner: None,
        limits: Limits::default(),
    }
}

struct World {
    a: Sandbox,
    b: Sandbox,
    unknown: Sandbox,
    gateway: Gateway,
    _launchpad: tokio::task::JoinHandle<()>,
}

/// Districts A (OAuth 1.0a) and B (OAuth 2 client credentials) behind the gateway,
/// and a third district whose tenant never granted access.
async fn world() -> World {
    let a = district(TENANT_A, Size::Pair).await;
    let b = district(TENANT_B, Size::Pair).await;
    let unknown = district(TENANT_UNKNOWN, Size::Tiny).await;
    let (pad, task) = launchpad(vec![
        a.issuer().to_owned(),
        b.issuer().to_owned(),
        unknown.issuer().to_owned(),
    ])
    .await;
    let gateway = Gateway::start(config(
        &format!("http://{pad}/"),
        vec![oauth1_tenant(&a), oauth2_tenant(&b)],
    ))
    .await
    .unwrap();
    World {
        a,
        b,
        unknown,
        gateway,
        _launchpad: task,
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

async fn call(
    gateway: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let mut request = client().request(method.parse().unwrap(), format!("{gateway}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

/// A request sent byte for byte, so dot segments and odd escapes reach the server as
/// written (HTTP clients normalise them away).
async fn raw_get(address: SocketAddr, path: &str, token: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn writes(d: &Sandbox) -> u64 {
    let stats = d.stats();
    stats.get("roster_write").copied().unwrap_or(0)
        + stats.get("roster_delete").copied().unwrap_or(0)
}

fn roster_calls(d: &Sandbox) -> u64 {
    d.stats().get("roster").copied().unwrap_or(0) + writes(d)
}

/// Who is who in district A (the `Pair` preset: two schools of four teachers and a
/// principal each).
struct Cast {
    owner: String,
    colleague: String,
    other_school: String,
    principal: String,
    student: String,
    class: String,
    school: String,
    line_item: String,
    result: String,
    enrolled_student: String,
    stranger_student: String,
}

fn cast(a: &Sandbox) -> Cast {
    let d = a.district();
    let owner = 0;
    let class = d.classes_of_staff[owner][0];
    let item = d
        .line_items(class)
        .into_iter()
        .next()
        .expect("the class has line items");
    let enrolled = d.classes[class].students[0] as usize;
    let stranger = (0..d.students.len())
        .find(|st| {
            !d.classes[class]
                .students
                .contains(&u32::try_from(*st).unwrap())
        })
        .unwrap();
    assert_eq!(d.staff[1].school, d.staff[0].school);
    assert_ne!(d.staff[5].school, d.staff[0].school);
    assert_eq!(d.staff[4].role.as_str(), "administrator");
    Cast {
        owner: d.staff[owner].id.clone(),
        colleague: d.staff[1].id.clone(),
        other_school: d.staff[5].id.clone(),
        principal: d.staff[4].id.clone(),
        student: d.students[enrolled].id.clone(),
        class: d.classes[class].id.clone(),
        school: d.schools[d.classes[class].school].id.clone(),
        result: rollbook_sandbox::District::result_id(&item.id, &d.students[enrolled].id),
        line_item: item.id,
        enrolled_student: d.students[enrolled].id.clone(),
        stranger_student: d.students[stranger].id.clone(),
    }
}

fn token(d: &Sandbox, login: &str) -> String {
    d.issue_access_token(login, &["openid", "profile", "oneroster"])
        .unwrap_or_else(|| d.issue_student_access_token(login).expect("a known login"))
}

/// Every resource and verb, as (method, path, body): reads of the owner's class and
/// its records, writes to them, and lists no teacher may read.
fn requests(c: &Cast) -> Vec<(&'static str, String, Option<Value>)> {
    let result_body = |student: &str| json!({"result": {"sourcedId": c.result, "lineItem": {"sourcedId": c.line_item}, "student": {"sourcedId": student}, "scoreStatus": "fully graded", "score": 9.0}});
    let line_item_body = json!({"lineItem": {"sourcedId": c.line_item, "title": "Quiz", "class": {"sourcedId": c.class}}});
    vec![
        ("GET", format!("{BASE}/teachers/{}/classes", c.owner), None),
        ("GET", format!("{BASE}/classes/{}", c.class), None),
        ("GET", format!("{BASE}/classes/{}/students", c.class), None),
        ("GET", format!("{BASE}/classes/{}/teachers", c.class), None),
        ("GET", format!("{BASE}/classes/{}/lineItems", c.class), None),
        ("GET", format!("{BASE}/classes/{}/results", c.class), None),
        ("GET", format!("{BASE}/lineItems/{}", c.line_item), None),
        ("GET", format!("{BASE}/results/{}", c.result), None),
        ("GET", format!("{BASE}/schools/{}", c.school), None),
        ("GET", format!("{BASE}/users/{}", c.owner), None),
        (
            "PUT",
            format!("{BASE}/lineItems/{}", c.line_item),
            Some(line_item_body),
        ),
        (
            "PUT",
            format!("{BASE}/results/{}", c.result),
            Some(result_body(&c.enrolled_student)),
        ),
        // The result before its line item: the owner's deletes both go through.
        ("DELETE", format!("{BASE}/results/{}", c.result), None),
        ("DELETE", format!("{BASE}/lineItems/{}", c.line_item), None),
    ]
}

/// Lists that are district-wide (or about people outside one's classes): refused for
/// everyone, the owner included.
fn never(c: &Cast) -> Vec<(&'static str, String)> {
    vec![
        ("GET", format!("{BASE}/users")),
        ("GET", format!("{BASE}/users?filter=email%3D%27x%40y%27")),
        ("GET", format!("{BASE}/classes")),
        ("GET", format!("{BASE}/enrollments")),
        ("GET", format!("{BASE}/students")),
        ("GET", format!("{BASE}/teachers")),
        ("GET", format!("{BASE}/schools")),
        ("GET", format!("{BASE}/orgs")),
        ("GET", format!("{BASE}/courses")),
        ("GET", format!("{BASE}/schools/{}/classes", c.school)),
        ("GET", format!("{BASE}/users/{}", c.enrolled_student)),
        ("GET", format!("{BASE}/users/{}", c.principal)),
        (
            "GET",
            format!("{BASE}/students/{}/classes", c.enrolled_student),
        ),
        ("GET", BASE.to_owned()),
        ("PUT", format!("{BASE}/classes/{}", c.class)),
        ("POST", format!("{BASE}/lineItems")),
        ("DELETE", format!("{BASE}/classes/{}/students", c.class)),
        ("PUT", format!("{BASE}/categories/cat-1")),
    ]
}

#[tokio::test]
async fn the_authorization_matrix() {
    let w = world().await;
    let gw = format!("http://{}", w.gateway.address());
    let c = cast(&w.a);

    // The owner: every read and write of their own class goes through.
    let owner = token(&w.a, &c.owner);
    for (method, path, body) in requests(&c) {
        let before = writes(&w.a);
        let answer = call(&gw, method, &path, Some(&owner), body).await;
        match method {
            "GET" => assert_eq!(answer.status, 200, "owner {method} {path}: {}", answer.body),
            "PUT" => {
                assert_eq!(answer.status, 200, "owner {method} {path}: {}", answer.body);
                assert_eq!(writes(&w.a), before + 1, "the write reached the district");
            }
            _ => {
                assert_eq!(answer.status, 204, "owner {method} {path}: {}", answer.body);
                assert_eq!(writes(&w.a), before + 1, "the delete reached the district");
            }
        }
    }

    // Everyone else: the same requests are 403, and nothing is written upstream.
    let others = [
        ("a colleague at the same school", token(&w.a, &c.colleague)),
        ("a teacher at another school", token(&w.a, &c.other_school)),
        ("the principal", token(&w.a, &c.principal)),
        ("a student in the class", token(&w.a, &c.student)),
        (
            "a teacher of another tenant",
            token(&w.b, &w.b.district().staff[1].id),
        ),
    ];
    for (who, t) in &others {
        for (method, path, body) in requests(&c) {
            let before = writes(&w.a);
            let answer = call(&gw, method, &path, Some(t), body).await;
            // A school's own record is open to everyone who teaches a class there.
            // (Tenant B's teacher teaches at B's school of the same id: B serves it.)
            let expected = if matches!(
                *who,
                "a colleague at the same school" | "a teacher of another tenant"
            ) && path.contains("/schools/")
            {
                200
            } else {
                403
            };
            let a_calls = roster_calls(&w.a);
            assert_eq!(
                answer.status, expected,
                "{who}: {method} {path}: {}",
                answer.body
            );
            if expected == 403 {
                assert!(
                    answer.body.contains("imsx_codeMajor"),
                    "{who}: imsx envelope"
                );
            }
            assert_eq!(
                writes(&w.a),
                before,
                "{who}: {method} {path} wrote upstream"
            );
            assert_eq!(writes(&w.b), 0, "{who}: {method} {path} wrote to tenant B");
            if *who == "a teacher of another tenant" {
                assert_eq!(
                    roster_calls(&w.a),
                    a_calls,
                    "tenant A was asked for tenant B's teacher"
                );
            }
        }
    }

    // District-wide lists: refused for everyone, the owner too.
    for (who, t) in std::iter::once(("the owner", owner.clone())).chain(others.iter().cloned()) {
        for (method, path) in never(&c) {
            let before = writes(&w.a);
            let body = (method != "GET").then(|| json!({}));
            let answer = call(&gw, method, &path, Some(&t), body).await;
            assert_eq!(
                answer.status, 403,
                "{who}: {method} {path}: {}",
                answer.body
            );
            assert!(answer.body.contains("imsx_codeMajor"));
            assert_eq!(
                writes(&w.a),
                before,
                "{who}: {method} {path} wrote upstream"
            );
        }
    }

    // A teacher of tenant B whose sourcedId is the owner's (ids are unique only within a
    // tenant) is served from B's district only.
    let twin = token(&w.b, &w.b.district().staff[0].id);
    assert_eq!(w.b.district().staff[0].id, c.owner);
    let a_calls = roster_calls(&w.a);
    let answer = call(
        &gw,
        "GET",
        &format!("{BASE}/teachers/{}/classes", c.owner),
        Some(&twin),
        None,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        roster_calls(&w.a),
        a_calls,
        "tenant A's server was never asked for tenant B's teacher"
    );

    // A district that never granted access: a clear 403, and no roster server is asked.
    let stranger = token(&w.unknown, &w.unknown.district().staff[0].id);
    let (a0, b0) = (roster_calls(&w.a), roster_calls(&w.b));
    for (method, path, body) in requests(&c) {
        let answer = call(&gw, method, &path, Some(&stranger), body).await;
        assert_eq!(answer.status, 403, "unknown tenant: {path}");
        assert!(
            answer
                .body
                .contains("has not granted Rollbook roster access"),
            "{}",
            answer.body
        );
    }
    assert_eq!((roster_calls(&w.a), roster_calls(&w.b)), (a0, b0));
    assert_eq!(roster_calls(&w.unknown), 0);
}

#[tokio::test]
async fn writes_must_stay_inside_the_teachers_classes() {
    let w = world().await;
    let gw = format!("http://{}", w.gateway.address());
    let c = cast(&w.a);
    let owner = token(&w.a, &c.owner);
    let d = w.a.district();
    let foreign_class = d.classes_of_staff[1][0];
    let foreign_item = d.line_items(foreign_class).into_iter().next().unwrap().id;
    let new_item = "7f4c1f9e-0000-4000-8000-000000000001";
    let cases = [
        // A result for a student who is not in the class.
        (
            format!("{BASE}/results/{}", c.result),
            json!({"result": {"lineItem": {"sourcedId": c.line_item}, "student": {"sourcedId": c.stranger_student}, "scoreStatus": "fully graded"}}),
        ),
        // A result that points at a colleague's line item.
        (
            format!("{BASE}/results/{foreign_item}.{}", c.enrolled_student),
            json!({"result": {"lineItem": {"sourcedId": foreign_item}, "student": {"sourcedId": c.enrolled_student}, "scoreStatus": "fully graded"}}),
        ),
        // Moving my existing result onto a colleague's line item.
        (
            format!("{BASE}/results/{}", c.result),
            json!({"result": {"lineItem": {"sourcedId": foreign_item}, "student": {"sourcedId": c.enrolled_student}, "scoreStatus": "fully graded"}}),
        ),
        // A new line item in a colleague's class.
        (
            format!("{BASE}/lineItems/{new_item}"),
            json!({"lineItem": {"title": "Mine now", "class": {"sourcedId": d.classes[foreign_class].id}}}),
        ),
        // Moving a colleague's line item into my class.
        (
            format!("{BASE}/lineItems/{foreign_item}"),
            json!({"lineItem": {"title": "Stolen", "class": {"sourcedId": c.class}}}),
        ),
    ];
    for (path, body) in cases {
        let before = writes(&w.a);
        let answer = call(&gw, "PUT", &path, Some(&owner), Some(body.clone())).await;
        // A colleague's record under an id the gateway would not create at answers as a
        // create there would (409), so no answer tells which ids exist elsewhere.
        let expected = if path.ends_with(&foreign_item) {
            409
        } else {
            403
        };
        assert_eq!(
            answer.status, expected,
            "PUT {path} {body}: {}",
            answer.body
        );
        assert_eq!(writes(&w.a), before, "PUT {path} reached the district");
    }
    // Bodies that name no references, or another id, are refused before anything else.
    for body in [
        json!({"result": {"scoreStatus": "fully graded"}}),
        json!({"lineItem": {"title": "x"}}),
        json!({"result": {"sourcedId": "other", "lineItem": {"sourcedId": c.line_item}, "student": {"sourcedId": c.enrolled_student}}}),
        json!("not an object"),
    ] {
        let path = if body.get("lineItem").is_some() {
            format!("{BASE}/lineItems/{}", c.line_item)
        } else {
            format!("{BASE}/results/{}", c.result)
        };
        let answer = call(&gw, "PUT", &path, Some(&owner), Some(body)).await;
        assert_eq!(answer.status, 400, "{path}: {}", answer.body);
    }
    // Too large a body never reaches a handler.
    let huge = json!({"lineItem": {"title": "x".repeat(200_000), "class": {"sourcedId": c.class}}});
    let answer = call(
        &gw,
        "PUT",
        &format!("{BASE}/lineItems/{}", c.line_item),
        Some(&owner),
        Some(huge),
    )
    .await;
    assert_eq!(answer.status, 413);
    assert_eq!(writes(&w.a), 0);
}

/// The demo district answers 404 for an ungraded cell (`{lineItem}.{student}`) but
/// treats a PUT there as an update of that cell, keeping the cell's own references. A
/// PUT to a colleague's blank cell with a body naming the teacher's own line item and
/// student used to land in the colleague's class (issue 19, found by tests/differential.rs).
#[tokio::test]
async fn a_blank_cell_of_a_colleagues_class_cannot_be_written_through_a_body_naming_mine() {
    let w = world().await;
    let gw = format!("http://{}", w.gateway.address());
    let c = cast(&w.a);
    let owner = token(&w.a, &c.owner);
    let d = w.a.district();
    let foreign_class = d.classes_of_staff[1][0];
    // An ungraded cell of the colleague's: the district itself answers 404 for it.
    let mut blank = None;
    let cells = d
        .line_items(foreign_class)
        .into_iter()
        .rev()
        .flat_map(|item| {
            d.classes[foreign_class]
                .students
                .iter()
                .map(move |st| (item.id.clone(), *st))
        });
    for (item, st) in cells {
        let cell = format!("{item}.{}", d.students[st as usize].id);
        let status = client()
            .get(format!("{}/results/{cell}", w.a.oneroster_url()))
            .bearer_auth(demo_credentials::PROXY_BEARER)
            .send()
            .await
            .unwrap()
            .status();
        assert_ne!(status, 401, "the proxy bearer opens the demo district");
        if status == 404 {
            blank = Some(format!("{BASE}/results/{cell}"));
            break;
        }
    }
    let blank = blank.expect("the colleague's class has an ungraded cell");
    let mine = json!({"result": {"lineItem": {"sourcedId": c.line_item}, "student": {"sourcedId": c.enrolled_student}, "scoreStatus": "fully graded", "score": 1.0}});
    let before = writes(&w.a);
    let answer = call(&gw, "PUT", &blank, Some(&owner), Some(mine.clone())).await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert!(answer.body.contains("\"unsupported\""), "{}", answer.body);
    assert_eq!(writes(&w.a), before, "the PUT reached the district");
    // The teacher's own cell, under its own id, is still created.
    let own_cell = format!("{BASE}/results/{}.{}", c.line_item, c.enrolled_student);
    let answer = call(&gw, "PUT", &own_cell, Some(&owner), Some(mine)).await;
    assert!(
        [200, 201].contains(&answer.status),
        "{} {}",
        answer.status,
        answer.body
    );
}

/// A lenient server may bind `Class` (or the first of two `class` keys) where the
/// gateway checked `class`: such bodies are refused, and what goes upstream is the
/// body re-serialised from what was checked.
#[tokio::test]
async fn bodies_with_repeated_or_case_variant_reference_keys_are_refused() {
    let w = world().await;
    let gw = format!("http://{}", w.gateway.address());
    let c = cast(&w.a);
    let owner = token(&w.a, &c.owner);
    let d = w.a.district();
    let foreign = &d.classes[d.classes_of_staff[1][0]].id;
    let item = "7f4c1f9e-0000-4000-8000-0000000000aa";
    for raw in [
        format!(
            r#"{{"lineItem": {{"title": "x", "class": {{"sourcedId": "{}"}}, "Class": {{"sourcedId": "{foreign}"}}}}}}"#,
            c.class
        ),
        format!(
            r#"{{"lineItem": {{"title": "x", "class": {{"sourcedId": "{foreign}"}}, "class": {{"sourcedId": "{}"}}}}}}"#,
            c.class
        ),
        format!(
            r#"{{"lineItem": {{"title": "x", "class": {{"sourcedId": "{foreign}", "sourcedId": "{}"}}}}}}"#,
            c.class
        ),
    ] {
        let response = client()
            .put(format!("{gw}{BASE}/lineItems/{item}"))
            .bearer_auth(&owner)
            .header("content-type", "application/json")
            .body(raw.clone())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_eq!(status, 400, "{raw}: {body}");
        assert!(body.contains("twice"), "{body}");
    }
    assert_eq!(writes(&w.a), 0);
}

#[tokio::test]
async fn new_records_with_client_chosen_ids_are_created_in_the_teachers_own_class() {
    let w = world().await;
    let gw = format!("http://{}", w.gateway.address());
    let c = cast(&w.a);
    let owner = token(&w.a, &c.owner);
    let colleague = token(&w.a, &c.colleague);
    let item = "0b9d7c1e-1111-4000-8000-00000000000a";
    let result = "0b9d7c1e-2222-4000-8000-00000000000b";
    let item_path = format!("{BASE}/lineItems/{item}");
    let result_path = format!("{BASE}/results/{result}");
    let expect = async |method: &str, path: &str, who: &str, body: Option<Value>, status: u16| {
        let answer = call(&gw, method, path, Some(who), body).await;
        assert_eq!(answer.status, status, "{method} {path}: {}", answer.body);
        answer.body
    };
    let item_body = json!({"lineItem": {"sourcedId": item, "title": "Lab report", "class": {"sourcedId": c.class}, "resultValueMin": 0.0, "resultValueMax": 20.0, "assignDate": "2026-11-01", "dueDate": "2026-11-08"}});
    let result_body = |student: &str| json!({"result": {"sourcedId": result, "lineItem": {"sourcedId": item}, "student": {"sourcedId": student}, "scoreStatus": "fully graded", "score": 18.0}});
    expect("PUT", &item_path, &owner, Some(item_body), 201).await;
    // A colleague may not add results to it, nor read it.
    expect(
        "PUT",
        &result_path,
        &colleague,
        Some(result_body(&c.enrolled_student)),
        403,
    )
    .await;
    expect("GET", &item_path, &colleague, None, 403).await;
    // The owner may, for a student of the class only.
    expect(
        "PUT",
        &result_path,
        &owner,
        Some(result_body(&c.stranger_student)),
        403,
    )
    .await;
    expect(
        "PUT",
        &result_path,
        &owner,
        Some(result_body(&c.enrolled_student)),
        201,
    )
    .await;
    let body = expect("GET", &result_path, &owner, None, 200).await;
    assert!(body.contains("\"score\":18.0"), "{body}");
    // Writing it again is an update.
    expect(
        "PUT",
        &result_path,
        &owner,
        Some(result_body(&c.enrolled_student)),
        200,
    )
    .await;
}

#[tokio::test]
async fn path_tricks_do_not_cross_the_boundary() {
    let w = world().await;
    let c = cast(&w.a);
    let colleague = token(&w.a, &c.colleague);
    let class = &c.class;
    let tricks = [
        format!("{BASE}/classes/{class}/../../users"),
        format!("{BASE}/classes/..%2F..%2Fusers/students"),
        format!("{BASE}/classes/%2e%2e/students"),
        format!("{BASE}/classes/{class}%2Fstudents"),
        format!("{BASE}//classes/{class}/students"),
        format!("{BASE}/classes//{class}/students"),
        format!("{BASE}/./classes/{class}/students"),
        format!("{BASE}/classes/{class}/students/"),
        format!("{BASE}/classes/{class}%00/students"),
        format!("{BASE}/teachers/{}%2F..%2F{}/classes", c.colleague, c.owner),
        format!(
            "{BASE}/teachers/{}/classes/../../classes/{class}/students",
            c.colleague
        ),
        format!("{BASE}/lineItems/..%2Fclasses%2F{class}"),
        format!("{BASE}/results/..%2F..%2Fusers"),
        format!("{BASE}/CLASSES/{class}/students"),
        format!("/ims/oneroster/v1p1%2Fclasses/{class}/students"),
        format!("/ims/oneroster//v1p1/classes/{class}/students"),
    ];
    let before = roster_calls(&w.a);
    for path in &tricks {
        let (status, text) = raw_get(w.gateway.address(), path, &colleague).await;
        assert!(
            status == 403 || status == 404 || status == 400,
            "{path}: {status} {text}"
        );
        assert!(
            !text.contains(&c.enrolled_student),
            "{path} leaked the roster"
        );
    }
    // The colleague's own scope was read at most once; no trick reached a roster.
    assert!(
        roster_calls(&w.a) <= before + 1,
        "tricks reached the district"
    );
}

#[tokio::test]
async fn tokens_missing_garbage_expired_revoked_or_unverifiable() {
    let w = world().await;
    let gw = format!("http://{}", w.gateway.address());
    let c = cast(&w.a);
    let path = format!("{BASE}/classes/{}/students", c.class);
    for bad in [
        None,
        Some(""),
        Some("!!!"),
        Some("not-a-token-anyone-issued"),
    ] {
        let answer = call(&gw, "GET", &path, bad, None).await;
        assert_eq!(answer.status, 401, "{bad:?}");
        let challenge = answer.headers["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.starts_with("Bearer error=\"invalid_token\""),
            "{challenge}"
        );
        assert!(answer.body.contains("imsx_codeMajor"));
    }
    let answer = call(&gw, "GET", &path, Some("a.b.c.d"), None).await;
    assert_eq!(answer.status, 401);

    // Expired: a JWT-shaped token whose exp has passed never reaches the provider.
    let before = w.gateway.identity_calls();
    let expired = format!(
        "eyJhbGciOiJFUzI1NiJ9.{}.c2ln",
        base64_url(&format!("{{\"exp\": {}}}", unix_now() - 10))
    );
    assert_eq!(
        call(&gw, "GET", &path, Some(&expired), None).await.status,
        401
    );
    assert_eq!(w.gateway.identity_calls(), before);

    // Expired at the provider (an opaque token past its life).
    w.a.update_knobs(|k| k.tokens.access_token_seconds = 1);
    let short = token(&w.a, &c.owner);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(
        call(&gw, "GET", &path, Some(&short), None).await.status,
        401
    );
    w.a.update_knobs(|k| k.tokens.access_token_seconds = 3_600);

    // Revoked: honoured once the identity cache TTL has passed (documented).
    let (pad, _task) = launchpad(vec![w.a.issuer().to_owned()]).await;
    let mut short_ttl = config(&format!("http://{pad}/"), vec![oauth1_tenant(&w.a)]);
    short_ttl.identity = IdentityConfig::ClassLink {
        api_url: Url::parse(&format!("http://{pad}/")).unwrap(),
        cache_ttl: Duration::from_secs(1),
    };
    let gateway = Gateway::start(short_ttl).await.unwrap();
    let gw2 = format!("http://{}", gateway.address());
    let owner = token(&w.a, &c.owner);
    assert_eq!(
        call(&gw2, "GET", &path, Some(&owner), None).await.status,
        200
    );
    w.a.revoke_all_access_tokens();
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(
        call(&gw2, "GET", &path, Some(&owner), None).await.status,
        401
    );

    // The provider down: a clear 503, never an open door.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    let gateway = Gateway::start(config(&dead, vec![oauth1_tenant(&w.a)]))
        .await
        .unwrap();
    let answer = call(
        &format!("http://{}", gateway.address()),
        "GET",
        &path,
        Some(&token(&w.a, &c.owner)),
        None,
    )
    .await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert!(answer.headers.contains_key("retry-after"));
    assert!(
        answer.body.contains("cannot check who you are"),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn one_identity_lookup_per_token_however_many_requests() {
    let w = world().await;
    let gw = format!("http://{}", w.gateway.address());
    let c = cast(&w.a);
    let owner = token(&w.a, &c.owner);
    let before = w.gateway.identity_calls();
    // Twelve at once: two apps' worth, under max_in_flight_per_teacher.
    let calls = (0..12).map(|i| {
        let gw = gw.clone();
        let owner = owner.clone();
        let path = if i % 2 == 0 {
            format!("{BASE}/classes/{}/students", c.class)
        } else {
            format!("{BASE}/classes/{}/lineItems", c.class)
        };
        async move { call(&gw, "GET", &path, Some(&owner), None).await.status }
    });
    let statuses = futures_util::future::join_all(calls).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(w.gateway.identity_calls(), before + 1);
}

#[tokio::test]
async fn upstream_faults_come_back_with_their_meaning() {
    let w = world().await;
    let gw = format!("http://{}", w.gateway.address());
    let c = cast(&w.a);
    let owner = token(&w.a, &c.owner);
    let path = format!("{BASE}/classes/{}/students", c.class);
    // Warm the identity and scope caches while the district is healthy.
    assert_eq!(
        call(&gw, "GET", &path, Some(&owner), None).await.status,
        200
    );

    w.a.update_knobs(|k| {
        k.faults.rate_limit_rate = 1.0;
        k.faults.retry_after_seconds = 30;
    });
    let answer = call(&gw, "GET", &path, Some(&owner), None).await;
    assert_eq!(answer.status, 429, "{}", answer.body);
    assert_eq!(answer.headers["retry-after"], "30");

    w.a.update_knobs(|k| {
        k.faults.rate_limit_rate = 0.0;
        k.faults.server_error_rate = 1.0;
    });
    let answer = call(&gw, "GET", &path, Some(&owner), None).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert!(
        answer.body.contains("demo fault"),
        "the district's words come through: {}",
        answer.body
    );

    // Half the requests fail: the gateway's retries hide it.
    w.a.update_knobs(|k| k.faults.server_error_rate = 0.5);
    assert_eq!(
        call(&gw, "GET", &path, Some(&owner), None).await.status,
        200
    );

    // Slow: past the upstream timeout is a 504.
    let (pad, _task) = launchpad(vec![w.a.issuer().to_owned()]).await;
    let mut impatient = config(&format!("http://{pad}/"), vec![oauth1_tenant(&w.a)]);
    impatient.limits.upstream_timeout_seconds = 1;
    impatient.limits.request_timeout_seconds = 4;
    let gateway = Gateway::start(impatient).await.unwrap();
    let gw2 = format!("http://{}", gateway.address());
    w.a.update_knobs(|k| k.faults.server_error_rate = 0.0);
    assert_eq!(
        call(&gw2, "GET", &path, Some(&owner), None).await.status,
        200
    );
    w.a.update_knobs(|k| {
        k.faults.slow_rate = 1.0;
        k.faults.slow_ms = 2_500;
    });
    let answer = call(&gw2, "GET", &path, Some(&owner), None).await;
    assert!(answer.status == 504, "{} {}", answer.status, answer.body);
    w.a.update_knobs(|k| k.faults.slow_rate = 0.0);

    // Down: 502 with a plain message.
    let World {
        a, gateway: main, ..
    } = w;
    a.shutdown().await;
    let answer = call(
        &format!("http://{}", main.address()),
        "GET",
        &path,
        Some(&owner),
        None,
    )
    .await;
    assert_eq!(answer.status, 502, "{}", answer.body);
    assert!(answer.body.contains("cannot be reached"), "{}", answer.body);
}

#[tokio::test]
async fn the_proxy_bearer_and_partner_discovery_work_too() {
    let a = district(TENANT_A, Size::Tiny).await;
    let c = a.district();
    let teacher = c.staff[0].id.clone();
    let class = c.classes[c.classes_of_staff[0][0]].id.clone();
    let owner = token(&a, &teacher);
    let path = format!("{BASE}/classes/{class}/students");

    let proxy = Gateway::start(config(&format!("{}/", a.issuer()), vec![bearer_tenant(&a)]))
        .await
        .unwrap();
    let answer = call(
        &format!("http://{}", proxy.address()),
        "GET",
        &path,
        Some(&owner),
        None,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    let demo = Gateway::start(
        Config::for_demo_district(a.issuer(), "127.0.0.1:0".parse().unwrap()).unwrap(),
    )
    .await
    .unwrap();
    let base = format!("http://{}", demo.address());
    assert_eq!(call(&base, "GET", "/readyz", None, None).await.status, 200);
    let answer = call(&base, "GET", &path, Some(&owner), None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(a.stats().get("partner_server").copied().unwrap_or(0) >= 1);
    assert_eq!(
        rollbook_gateway::DEMO_DEVELOPER_API_KEY,
        demo_credentials::DEVELOPER_API_KEY
    );

    // A wrong developer key: not ready, and teachers get a 503 rather than a 403.
    let mut wrong = Config::for_demo_district(a.issuer(), "127.0.0.1:0".parse().unwrap()).unwrap();
    if let Some(p) = wrong.classlink_partner.as_mut() {
        p.developer_api_key = Secret::new("wrong");
    }
    let not_ready = Gateway::start(wrong).await.unwrap();
    let base = format!("http://{}", not_ready.address());
    assert_eq!(call(&base, "GET", "/readyz", None, None).await.status, 503);
    assert_eq!(
        call(&base, "GET", &path, Some(&owner), None).await.status,
        503
    );
    assert_eq!(call(&base, "GET", "/healthz", None, None).await.status, 200);
}

#[tokio::test]
async fn teacher_tokens_do_not_open_the_district_itself() {
    let a = district(TENANT_A, Size::Tiny).await;
    let d = a.district();
    let class = d.classes[d.classes_of_staff[0][0]].id.clone();
    let owner = token(&a, &d.staff[0].id);
    let url = format!("{}{BASE}/classes/{class}/students", a.issuer());
    let answer = client().get(&url).bearer_auth(&owner).send().await.unwrap();
    assert_eq!(answer.status(), 401);
    assert!(answer.text().await.unwrap().contains("roster gateway"));
    a.set_knobs(Knobs {
        access: RosterAccess {
            accept_teacher_tokens: true,
            ..RosterAccess::default()
        },
        ..Knobs::default()
    });
    let answer = client().get(&url).bearer_auth(&owner).send().await.unwrap();
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn oauth1_is_checked_properly_by_the_demo_district() {
    let a = district(TENANT_A, Size::Tiny).await;
    let d = a.district();
    let class = d.classes[d.classes_of_staff[0][0]].id.clone();
    let url = Url::parse(&format!(
        "{}{BASE}/classes/{class}/students?limit=5",
        a.issuer()
    ))
    .unwrap();
    let good = rollbook_oauth1::ConsumerCredentials::new(
        demo_credentials::ONEROSTER_CLIENT_ID,
        demo_credentials::ONEROSTER_CLIENT_SECRET,
    );
    let now = unix_now();
    let send = |url: Url, header: String| async move {
        client()
            .get(url)
            .header("authorization", header)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    let header = rollbook_oauth1::sign("GET", &url, &good, now);
    assert_eq!(send(url.clone(), header.clone()).await, 200);
    assert_eq!(send(url.clone(), header).await, 401, "a replayed nonce");
    let wrong =
        rollbook_oauth1::ConsumerCredentials::new(demo_credentials::ONEROSTER_CLIENT_ID, "wrong");
    assert_eq!(
        send(url.clone(), rollbook_oauth1::sign("GET", &url, &wrong, now)).await,
        401,
        "wrong secret"
    );
    assert_eq!(
        send(
            url.clone(),
            rollbook_oauth1::sign("GET", &url, &good, now - 3_600)
        )
        .await,
        401,
        "stale timestamp"
    );
    let header = rollbook_oauth1::sign("GET", &url, &good, now);
    let mut tampered = url.clone();
    tampered.set_query(Some("limit=500"));
    assert_eq!(send(tampered, header).await, 401, "a tampered query");
    let unknown = rollbook_oauth1::ConsumerCredentials::new(
        "someone-else",
        demo_credentials::ONEROSTER_CLIENT_SECRET,
    );
    assert_eq!(
        send(
            url.clone(),
            rollbook_oauth1::sign("GET", &url, &unknown, now)
        )
        .await,
        401,
        "unknown key"
    );
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The shipped binary: `listening on http://ADDR` first, JSON lines after.
struct GatewayProcess {
    child: tokio::process::Child,
    address: SocketAddr,
    log: Arc<tokio::sync::Mutex<Vec<String>>>,
}

async fn spawn_gateway(args: &[&str]) -> GatewayProcess {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_rollbook-gateway"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the gateway printed its address")
        .unwrap()
        .unwrap();
    let address = first
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line: {first}"))
        .parse()
        .unwrap();
    let log = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let sink = Arc::clone(&log);
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            sink.lock().await.push(line);
        }
    });
    GatewayProcess {
        child,
        address,
        log,
    }
}

#[tokio::test]
async fn two_instances_behind_haproxy_serve_one_teacher_and_leak_nothing() {
    let haproxy = doc::haproxy();
    let a = district(TENANT_A, Size::Pair).await;
    let trusted = ["--trusted-proxy", doc::HAPROXY_ADDRESS];
    let one = spawn_gateway(&[&["--demo-district", a.issuer()][..], &trusted].concat()).await;
    let two = spawn_gateway(&[&["--demo-district", a.issuer()][..], &trusted].concat()).await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::write(&cfg, doc::haproxy_config(port, one.address, two.address)).unwrap();
    let mut lb = tokio::process::Command::new(haproxy)
        .args(["-f", cfg.to_str().unwrap(), "-db"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let front = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..50 {
        if client()
            .get(format!("{front}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "haproxy did not come up");

    let c = cast(&a);
    let owner = token(&a, &c.owner);
    let mut seen = Vec::new();
    for i in 0..12 {
        let path = match i % 3 {
            0 => format!("{BASE}/teachers/{}/classes", c.owner),
            1 => format!("{BASE}/classes/{}/students", c.class),
            _ => format!("{BASE}/classes/{}/results", c.class),
        };
        let answer = call(&front, "GET", &path, Some(&owner), None).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        seen.push(answer.body);
    }
    let denied = call(&front, "GET", &format!("{BASE}/users"), Some(&owner), None).await;
    assert_eq!(denied.status, 403);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Both instances served the teacher, with no sticky sessions.
    let served = |log: &Vec<String>| {
        log.iter()
            .filter(|l| {
                l.contains("\"target\":\"audit\"")
                    && l.contains(&c.owner)
                    && l.contains("\"outcome\":200")
            })
            .count()
    };
    let (log_one, log_two) = (one.log.lock().await.clone(), two.log.lock().await.clone());
    assert!(
        served(&log_one) > 0 && served(&log_two) > 0,
        "one: {log_one:?}\ntwo: {log_two:?}"
    );

    // Logs are JSON lines and carry no token, secret or student name.
    let students = &a.district().students;
    for line in log_one.iter().chain(log_two.iter()) {
        let _: Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        for secret in [
            owner.as_str(),
            demo_credentials::ONEROSTER_CLIENT_SECRET,
            demo_credentials::DEVELOPER_API_KEY,
            demo_credentials::PROXY_BEARER,
        ] {
            assert!(!line.contains(secret), "a secret in the log: {line}");
        }
        for s in students {
            assert!(
                !line.contains(&format!("\"{}", s.family)) && !line.contains(&s.email),
                "a student in the log: {line}"
            );
        }
    }
    // Answers never carry a credential.
    for body in seen.iter().chain(std::iter::once(&denied.body)) {
        for secret in [
            owner.as_str(),
            demo_credentials::ONEROSTER_CLIENT_SECRET,
            demo_credentials::DEVELOPER_API_KEY,
        ] {
            assert!(!body.contains(secret));
        }
    }
    let metrics = client()
        .get(format!("http://{}/metrics", one.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("rollbook_gateway_requests_total"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rollbook_gateway_identity_calls_total"),
        "{metrics}"
    );
    let _ = lb.kill().await;
    drop((one.child, two.child));
}

#[tokio::test]
async fn the_binary_checks_its_configuration_and_never_prints_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "a-district-secret-value").unwrap();
    let file = dir.path().join("gateway.toml");
    std::fs::write(
        &file,
        format!(
            "[identity]\nprofile = \"classlink\"\n\n[[tenants]]\nid = \"1\"\noneroster_url = \"https://sis.example/ims/oneroster/v1p1\"\nauth = {{ kind = \"oauth1\", client_id = \"k\", client_secret = {{ file = \"{}\" }} }}\n",
            secret.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rollbook-gateway"))
        .args(["--config", file.to_str().unwrap(), "--check-config"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("[redacted]") && !printed.contains("a-district-secret-value"),
        "{printed}"
    );

    std::fs::write(&file, "[identity]\nprofile = \"classlink\"\nclasslink_api_url = \"http://example.org\"\n[[tenants]]\nid=\"1\"\noneroster_url=\"https://x.example\"\nauth={kind=\"bearer\", token={env=\"ROLLBOOK_TEST_UNSET\"}}\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rollbook-gateway"))
        .args(["--config", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("identity.classlink_api_url") && err.contains("https"),
        "{err}"
    );
}

fn which(program: &str) -> Result<std::path::PathBuf, ()> {
    let path = std::env::var_os("PATH").ok_or(())?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d: std::path::PathBuf| d.join(program))
        .find(|p| p.is_file())
        .ok_or(())
}

#[tokio::test]
async fn another_openid_provider_through_userinfo_and_a_claim() {
    let a = district(TENANT_A, Size::Pair).await;
    a.update_knobs(|k| k.tokens.sourced_id_claim = Some("oneroster_id".into()));
    let mut oidc = config(&format!("{}/", a.issuer()), vec![oauth1_tenant(&a)]);
    oidc.identity = IdentityConfig::Oidc {
        userinfo_url: Url::parse(&format!("{}/oauth2/v2/userinfo", a.issuer())).unwrap(),
        teacher_id_claim: "oneroster_id".into(),
        role_claim: None,
        tenant: TENANT_A.to_string(),
        cache_ttl: Duration::from_secs(60),
    };
    let gateway = Gateway::start(oidc).await.unwrap();
    let gw = format!("http://{}", gateway.address());
    let c = cast(&a);
    let owner = token(&a, &c.owner);
    let colleague = token(&a, &c.colleague);
    let path = format!("{BASE}/classes/{}/students", c.class);
    assert_eq!(
        call(&gw, "GET", &path, Some(&owner), None).await.status,
        200
    );
    assert_eq!(
        call(&gw, "GET", &path, Some(&colleague), None).await.status,
        403
    );
    // Without a role claim every caller looks like a teacher to the provider; the
    // district's own user record decides, on the reference lists as everywhere. (The
    // demo provider gives students no userinfo, so its principal stands in: a user
    // record that does not say teacher.)
    let principal = token(&a, &c.principal);
    for list in ["/categories", "/terms", "/academicSessions"] {
        let answer = call(&gw, "GET", &format!("{BASE}{list}"), Some(&principal), None).await;
        assert_eq!(answer.status, 403, "{list}: {}", answer.body);
        let answer = call(&gw, "GET", &format!("{BASE}{list}"), Some(&owner), None).await;
        assert_eq!(answer.status, 200, "{list}: {}", answer.body);
    }
    // A provider that does not put the claim in userinfo: no OneRoster id, so 401.
    a.update_knobs(|k| k.tokens.sourced_id_claim = None);
    let fresh = token(&a, &c.owner);
    let answer = call(&gw, "GET", &path, Some(&fresh), None).await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert!(answer.body.contains("no OneRoster id"), "{}", answer.body);
}

#[tokio::test]
async fn each_teacher_has_a_rate_limit_of_their_own() {
    let a = district(TENANT_A, Size::Pair).await;
    let mut limited = config(&format!("{}/", a.issuer()), vec![oauth1_tenant(&a)]);
    limited.limits.requests_per_minute_per_teacher = 10; // a burst of 2, then one per 6 s
    let gateway = Gateway::start(limited).await.unwrap();
    let gw = format!("http://{}", gateway.address());
    let c = cast(&a);
    let owner = token(&a, &c.owner);
    let path = format!("{BASE}/teachers/{}/classes", c.owner);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(call(&gw, "GET", &path, Some(&owner), None).await);
    }
    assert_eq!(statuses[0].status, 200);
    let limited: Vec<&Answer> = statuses.iter().filter(|a| a.status == 429).collect();
    assert!(!limited.is_empty(), "no 429 after a burst");
    let wait: u64 = limited[0].headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=6).contains(&wait), "Retry-After {wait}");
    // A colleague is not slowed down by someone else's burst.
    let colleague = token(&a, &c.colleague);
    let own = format!("{BASE}/teachers/{}/classes", c.colleague);
    assert_eq!(
        call(&gw, "GET", &own, Some(&colleague), None).await.status,
        200
    );
}

#[tokio::test]
async fn the_binary_finishes_requests_in_flight_on_sigterm() {
    let a = district(TENANT_A, Size::Tiny).await;
    let d = a.district();
    let class = d.classes[d.classes_of_staff[0][0]].id.clone();
    let owner = token(&a, &d.staff[0].id);
    let mut gateway = spawn_gateway(&["--demo-district", a.issuer()]).await;
    let base = format!("http://{}", gateway.address);
    let path = format!("{BASE}/classes/{class}/students");
    assert_eq!(
        call(&base, "GET", &path, Some(&owner), None).await.status,
        200
    );
    a.update_knobs(|k| {
        k.faults.slow_rate = 1.0;
        k.faults.slow_ms = 1_500;
    });
    let slow = tokio::spawn({
        let (base, path, owner) = (base.clone(), path.clone(), owner.clone());
        async move { call(&base, "GET", &path, Some(&owner), None).await.status }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = gateway.child.id().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(
        slow.await.unwrap(),
        200,
        "the request in flight was answered"
    );
    let status = tokio::time::timeout(Duration::from_secs(10), gateway.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    let log = gateway.log.lock().await.join("\n");
    assert!(log.contains("shutting down"), "{log}");
}

#[tokio::test]
async fn a_teacher_whose_roster_record_ended_reads_nothing() {
    let a = district(TENANT_A, Size::Pair).await;
    let c = cast(&a);
    let owner = token(&a, &c.owner);
    let classes = format!("{BASE}/teachers/{}/classes", c.owner);
    let students = format!("{BASE}/classes/{}/students", c.class);
    a.deactivate_user(&c.owner);
    // A fresh gateway (no cached scope): the ClassLink token still works, the roster says
    // the teacher is gone.
    let gateway = Gateway::start(config(&format!("{}/", a.issuer()), vec![oauth1_tenant(&a)]))
        .await
        .unwrap();
    let gw = format!("http://{}", gateway.address());
    let answer = call(&gw, "GET", &classes, Some(&owner), None).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(answer.body.contains("not active"), "{}", answer.body);
    assert_eq!(
        call(&gw, "GET", &students, Some(&owner), None).await.status,
        403
    );
    // An active colleague is unaffected.
    let colleague = token(&a, &c.colleague);
    let own = format!("{BASE}/teachers/{}/classes", c.colleague);
    assert_eq!(
        call(&gw, "GET", &own, Some(&colleague), None).await.status,
        200
    );
}

/// A teacher deactivated in the roster loses access within `scope_ttl` of it, not up to
/// twice that: a scope built late on an "active" answer cached early used to outlive it.
#[tokio::test]
async fn a_deactivated_teacher_is_out_within_one_scope_ttl() {
    let a = district(TENANT_A, Size::Pair).await;
    let c = cast(&a);
    let owner = token(&a, &c.owner);
    let mut cfg = config(&format!("{}/", a.issuer()), vec![oauth1_tenant(&a)]);
    cfg.limits.scope_ttl_seconds = 2;
    let gateway = Gateway::start(cfg).await.unwrap();
    let gw = format!("http://{}", gateway.address());
    let students = format!("{BASE}/classes/{}/students", c.class);
    // A filtered class list reads (and caches) the teacher's record but keeps no scope.
    let filtered = format!(
        "{BASE}/teachers/{}/classes?filter=status%3D%27active%27",
        c.owner
    );
    assert_eq!(
        call(&gw, "GET", &filtered, Some(&owner), None).await.status,
        200
    );
    a.deactivate_user(&c.owner);
    let deactivated = std::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // Late in the first window, the scope is built.
    let _ = call(&gw, "GET", &students, Some(&owner), None).await;
    tokio::time::sleep(Duration::from_millis(2_100).saturating_sub(deactivated.elapsed())).await;
    let answer = call(&gw, "GET", &students, Some(&owner), None).await;
    assert_eq!(
        answer.status,
        403,
        "{:?} after deactivation: {}",
        deactivated.elapsed(),
        answer.body.chars().take(200).collect::<String>()
    );
}

/// SIGHUP (a service manager's "reload") used to end the gateway at once with exit 129.
/// Now it reloads the configuration and secrets from the same file: a rotated secret is
/// used from the next request; a broken file is logged with its key and the running
/// configuration kept; the process is never ended by it.
#[tokio::test]
async fn sighup_reloads_the_configuration_and_keeps_the_old_one_when_the_new_is_broken() {
    let a = district(TENANT_A, Size::Tiny).await;
    let d = a.district();
    let owner = token(&a, &d.staff[0].id);
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("proxy-bearer");
    let file = dir.path().join("gateway.toml");
    let good = format!(
        "[identity]\nprofile = \"classlink\"\nclasslink_api_url = \"{}/\"\n\n[[tenants]]\nid = \"{TENANT_A}\"\noneroster_url = \"{}\"\nauth = {{ kind = \"bearer\", token = {{ file = \"{}\" }} }}\n",
        a.issuer(),
        a.oneroster_url(),
        secret.display()
    );
    std::fs::write(&file, &good).unwrap();
    std::fs::write(&secret, demo_credentials::PROXY_BEARER).unwrap();
    let mut gateway = spawn_gateway(&["--config", file.to_str().unwrap()]).await;
    let base = format!("http://{}", gateway.address);
    let path = format!("{BASE}/teachers/{}/classes", d.staff[0].id);
    let pid = gateway.child.id().unwrap().to_string();
    let status = |_: ()| {
        let (base, path, owner) = (base.clone(), path.clone(), owner.clone());
        async move { call(&base, "GET", &path, Some(&owner), None).await.status }
    };
    let hang_up = || {
        let sent = std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
    };
    // Waits until the gateway's log has `needle` `count` times.
    let logged = |needle: &'static str, count: usize| {
        let log = Arc::clone(&gateway.log);
        async move {
            for _ in 0..100 {
                if log
                    .lock()
                    .await
                    .iter()
                    .filter(|l| l.contains(needle))
                    .count()
                    >= count
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("no {count} × {needle} in {:?}", log.lock().await);
        }
    };
    assert_eq!(status(()).await, 200);

    // The district's secret rotated to one it does not take: the reload uses it.
    std::fs::write(&secret, "not-the-district-bearer").unwrap();
    hang_up();
    logged("configuration and secrets reloaded", 1).await;
    assert_eq!(status(()).await, 502, "the new secret was not used");

    // A broken file: logged with its key, the running configuration (and process) kept.
    std::fs::write(
        &file,
        good.replace("[[tenants]]", "[limits]\nmax_in_flite = 10\n\n[[tenants]]"),
    )
    .unwrap();
    hang_up();
    logged("was not reloaded", 1).await;
    assert!(
        gateway.child.try_wait().unwrap().is_none(),
        "SIGHUP ended the gateway"
    );
    assert_eq!(
        status(()).await,
        502,
        "a broken file changed what is served"
    );
    let warned = gateway
        .log
        .lock()
        .await
        .iter()
        .find(|l| l.contains("was not reloaded"))
        .cloned()
        .unwrap();
    assert!(
        warned.contains("\"level\":\"WARN\"")
            && warned.contains("\"key\":\"limits")
            && warned.contains("max_in_flite"),
        "{warned}"
    );

    // Both fixed: served again, by the same process.
    std::fs::write(&file, &good).unwrap();
    std::fs::write(&secret, demo_credentials::PROXY_BEARER).unwrap();
    hang_up();
    logged("configuration and secrets reloaded", 2).await;
    assert_eq!(status(()).await, 200);
    assert!(gateway.child.try_wait().unwrap().is_none());
}

/// A district behind TLS with a certificate the gateway does not trust: `/readyz` names
/// the certificate problem for that tenant (it used to stay 200, with nothing logged).
#[tokio::test]
async fn readyz_names_an_untrusted_district_certificate_per_tenant() {
    let Ok(openssl) = which("openssl") else {
        panic!("openssl is needed for this test (scripts/setup.sh)");
    };
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new(&openssl)
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=district.invalid",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(made.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = tokio::process::Command::new(&openssl)
        .args([
            "s_server",
            "-quiet",
            "-www",
            "-accept",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let a = district(TENANT_A, Size::Tiny).await;
    let tls_tenant = TenantConfig {
        id: "4242".into(),
        name: "Behind TLS".into(),
        oneroster_url: Url::parse(&format!("https://127.0.0.1:{port}{BASE}")).unwrap(),
        auth: UpstreamAuth::Bearer(Secret::new("x")),
        creates: rollbook_gateway::Creates::default(),
    };
    let gateway = Gateway::start(config(
        &format!("{}/", a.issuer()),
        vec![oauth1_tenant(&a), tls_tenant],
    ))
    .await
    .unwrap();
    let base = format!("http://{}", gateway.address());
    let one = call(&base, "GET", "/readyz?tenant=4242", None, None).await;
    assert_eq!(one.status, 503, "{}", one.body);
    assert!(one.body.contains("certificate"), "{}", one.body);
    // The instance stays ready: the other district is fine.
    let all = call(&base, "GET", "/readyz", None, None).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let states: Value = serde_json::from_str(&all.body).unwrap();
    assert_eq!(states["tenants"][TENANT_A.to_string()], "ok");
    assert!(
        states["tenants"]["4242"]
            .as_str()
            .unwrap()
            .contains("certificate")
    );
}

/// What the gateway says while starting (here: the first tenant discovery failing) is
/// logged after the address line, not lost.
#[tokio::test]
async fn the_first_discovery_warning_reaches_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("developer-key");
    std::fs::write(&key, "k").unwrap();
    let file = dir.path().join("gateway.toml");
    std::fs::write(
        &file,
        format!(
            "[identity]\nprofile = \"classlink\"\nclasslink_api_url = \"http://127.0.0.1:9/\"\n\n\
             [classlink_partner]\napi_url = \"http://127.0.0.1:9/\"\n\
             developer_api_key = {{ file = \"{}\" }}\n",
            key.display()
        ),
    )
    .unwrap();
    let gateway = spawn_gateway(&["--config", file.to_str().unwrap()]).await;
    let mut log = String::new();
    for _ in 0..50 {
        log = gateway.log.lock().await.join("\n");
        if log.contains("first tenant discovery failed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(log.contains("first tenant discovery failed"), "{log}");
}

/// A class with nothing in it yet gives the gateway no record to learn the district's
/// reads by id from; it asks the district-wide list filtered on the new id instead. The
/// demo district did not serve that list, so the first assignment of an empty class was
/// refused (409, "cannot yet check").
#[tokio::test]
async fn the_first_line_item_of_an_empty_class_is_created_in_the_demo_district() {
    let w = world().await;
    let gw = format!("http://{}", w.gateway.address());
    let c = cast(&w.a);
    let owner = token(&w.a, &c.owner);
    let district = client();
    for item in w.a.district().line_items(
        w.a.district()
            .classes
            .iter()
            .position(|k| k.id == c.class)
            .unwrap(),
    ) {
        let gone = district
            .delete(format!("{}/lineItems/{}", w.a.oneroster_url(), item.id))
            .bearer_auth(demo_credentials::PROXY_BEARER)
            .send()
            .await
            .unwrap();
        assert!(gone.status().is_success(), "{}", gone.status());
    }
    let listed = call(
        &gw,
        "GET",
        &format!("{BASE}/classes/{}/lineItems", c.class),
        Some(&owner),
        None,
    )
    .await;
    assert!(listed.body.contains("\"lineItems\":[]"), "{}", listed.body);
    let item = "0b9d7c1e-3333-4000-8000-00000000000c";
    let body = json!({"lineItem": {"sourcedId": item, "title": "First", "class": {"sourcedId": c.class}, "resultValueMin": 0.0, "resultValueMax": 10.0, "assignDate": "2026-11-01", "dueDate": "2026-11-08"}});
    let answer = call(
        &gw,
        "PUT",
        &format!("{BASE}/lineItems/{item}"),
        Some(&owner),
        Some(body),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
}
