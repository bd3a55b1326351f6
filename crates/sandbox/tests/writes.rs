//! The demo district keeps what was written to its gradebook across a restart from the
//! same folder, read back through its OneRoster API with the demo application's
//! credentials (as the roster gateway reads it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use rollbook_sandbox::{Knobs, Sandbox, SandboxConfig, Size, demo_credentials};
use serde_json::{Value, json};

async fn start(writes_file: Option<&Path>) -> Sandbox {
    Sandbox::start(SandboxConfig {
        seed: 11,
        size: Size::Tiny,
        today: Some("2026-11-27".into()),
        knobs: Knobs::default(),
        writes_file: writes_file.map(Path::to_path_buf),
        ..SandboxConfig::default()
    })
    .await
    .unwrap()
}

async fn call(method: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(demo_credentials::PROXY_BEARER);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The class's results, by id: (line item id, student id, score).
async fn results(sandbox: &Sandbox, class: &str) -> Results {
    let (status, body) = call(
        reqwest::Method::GET,
        format!(
            "{}/classes/{class}/results?limit=1000",
            sandbox.oneroster_url()
        ),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mut found: Vec<_> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["sourcedId"].as_str().unwrap().to_owned(),
                r["lineItem"]["sourcedId"].as_str().unwrap().to_owned(),
                r["student"]["sourcedId"].as_str().unwrap().to_owned(),
                r["score"].clone(),
            )
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

type Results = Vec<(String, String, String, Value)>;

/// Writes an update, a delete and a new result; answers the class, what it holds, and
/// the deleted result's id.
async fn write_some(sandbox: &Sandbox) -> (String, Results, String) {
    let class = sandbox.district().classes[0].id.clone();
    let before = results(sandbox, &class).await;
    assert!(before.len() >= 2, "the class has graded results");
    let (updated, deleted) = (&before[0], &before[1]);
    let (status, body) = call(
        reqwest::Method::PUT,
        format!("{}/results/{}", sandbox.oneroster_url(), updated.0),
        Some(json!({ "result": { "score": 88.5, "scoreStatus": "fully graded" } })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = call(
        reqwest::Method::DELETE,
        format!("{}/results/{}", sandbox.oneroster_url(), deleted.0),
        None,
    )
    .await;
    assert_eq!(status, 204);
    // The deleted cell graded again under a new, client-chosen id.
    let (status, body) = call(
        reqwest::Method::PUT,
        format!("{}/results/client-made-1", sandbox.oneroster_url()),
        Some(json!({ "result": {
            "lineItem": { "sourcedId": deleted.1 },
            "student": { "sourcedId": deleted.2 },
            "score": 7,
            "scoreStatus": "fully graded",
        } })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let after = results(sandbox, &class).await;
    assert!(after.iter().any(|r| r.0 == updated.0 && r.3 == json!(88.5)));
    assert!(!after.iter().any(|r| r.0 == deleted.0));
    assert!(
        after
            .iter()
            .any(|r| r.0 == "client-made-1" && r.3 == json!(7))
    );
    (class, after, deleted.0.clone())
}

#[tokio::test]
async fn a_restart_from_the_same_folder_serves_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("district-writes.json");
    let sandbox = start(Some(&file)).await;
    let (class, written, deleted) = write_some(&sandbox).await;
    sandbox.shutdown().await;

    let restarted = start(Some(&file)).await;
    assert_eq!(results(&restarted, &class).await, written);
    // The deleted record's id stays spent, as in a district that remembers.
    let (status, body) = call(
        reqwest::Method::PUT,
        format!("{}/results/{deleted}", restarted.oneroster_url()),
        Some(json!({ "result": { "score": 1 } })),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[tokio::test]
async fn without_a_folder_a_restart_serves_the_generated_data() {
    let sandbox = start(None).await;
    let class = sandbox.district().classes[0].id.clone();
    let generated = results(&sandbox, &class).await;
    let (_, written, _) = write_some(&sandbox).await;
    assert_ne!(written, generated);
    sandbox.shutdown().await;
    let restarted = start(None).await;
    assert_eq!(results(&restarted, &class).await, generated);
}

/// The district-wide `/lineItems` and `/results`, filtered on `sourcedId` (how the roster
/// gateway learns whether an id is taken anywhere before a first create), and paged.
#[tokio::test]
async fn district_wide_grade_lists_answer_a_sourced_id_filter() {
    let sandbox = start(None).await;
    let base = sandbox.oneroster_url();
    let get = |path: String| call(reqwest::Method::GET, format!("{base}{path}"), None);
    let (_, classes) = get("/classes?limit=1".into()).await;
    let class = classes["classes"][0]["sourcedId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, items) = get(format!("/classes/{class}/lineItems?limit=1")).await;
    let item = items["lineItems"][0]["sourcedId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, grades) = get(format!("/classes/{class}/results?limit=1")).await;
    let grade = grades["results"][0]["sourcedId"]
        .as_str()
        .unwrap()
        .to_owned();
    for (collection, id) in [("lineItems", &item), ("results", &grade)] {
        let (status, body) = get(format!("/{collection}?filter=sourcedId%3D%27{id}%27")).await;
        assert_eq!(status, 200, "{body}");
        let listed: Vec<&str> = body[collection]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["sourcedId"].as_str())
            .collect();
        assert_eq!(listed, [id.as_str()], "{collection}");
        let (status, body) =
            get(format!("/{collection}?filter=sourcedId%3D%27no-such-id%27")).await;
        assert_eq!(
            (status, body[collection].as_array().map(Vec::len)),
            (200, Some(0))
        );
        let (status, body) = get(format!("/{collection}?limit=2")).await;
        assert_eq!(
            (status, body[collection].as_array().map(Vec::len)),
            (200, Some(2))
        );
    }
    // A line item created by a PUT is listed too.
    let (_, categories) = get("/categories".into()).await;
    let category = categories["categories"][0]["sourcedId"].clone();
    let new = "7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    let (status, body) = call(
        reqwest::Method::PUT,
        format!("{base}/lineItems/{new}"),
        Some(json!({"lineItem": {"sourcedId": new, "title": "New", "class": {"sourcedId": class, "type": "class"},
            "category": {"sourcedId": category, "type": "category"}, "resultValueMin": 0, "resultValueMax": 10,
            "assignDate": "2026-11-01", "dueDate": "2026-11-20", "status": "active"}})),
    )
    .await;
    assert!(status == 201 || status == 200, "{status} {body}");
    let (_, body) = get(format!("/lineItems?filter=sourcedId%3D%27{new}%27")).await;
    assert_eq!(
        body["lineItems"].as_array().map(Vec::len),
        Some(1),
        "{body}"
    );
}

/// The surface the route table offers: every resource answers a read under its
/// envelope; anything else is checked for credentials first, then refused with the
/// OneRoster envelope (404 for a read, 405 for a write); other verbs are not routed.
#[tokio::test]
async fn the_route_table_serves_each_resource_and_refuses_the_rest() {
    let sandbox = start(None).await;
    let base = sandbox.oneroster_url();
    let district = sandbox.district();
    let class = district.classes[0].id.clone();
    let teacher = district.staff[district.classes[0].teacher].id.clone();
    let school = district.schools[0].id.clone();
    let reads = [
        ("academicSessions", "academicSessions"),
        ("terms", "academicSessions"),
        ("orgs", "orgs"),
        ("schools", "orgs"),
        (&format!("schools/{school}") as &str, "org"),
        (&format!("schools/{school}/classes"), "classes"),
        ("categories", "categories"),
        ("classes", "classes"),
        (&format!("classes/{class}"), "class"),
        (&format!("classes/{class}/students"), "users"),
        (&format!("classes/{class}/teachers"), "users"),
        (&format!("classes/{class}/lineItems"), "lineItems"),
        (&format!("classes/{class}/results"), "results"),
        (&format!("teachers/{teacher}/classes"), "classes"),
        (&format!("users/{teacher}"), "user"),
        ("users", "users"),
        ("enrollments", "enrollments"),
        ("lineItems", "lineItems"),
        ("results", "results"),
    ];
    for (path, envelope) in reads {
        let (status, body) = call(reqwest::Method::GET, format!("{base}/{path}"), None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        assert!(body.get(envelope).is_some(), "GET {path}: {body}");
    }
    let minor = |body: &Value| {
        body["imsx_codeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"].clone()
    };
    let anonymous = reqwest::get(format!("{base}/nothing/here")).await.unwrap();
    assert_eq!(anonymous.status(), 401, "credentials are checked first");
    let (status, body) = call(reqwest::Method::GET, format!("{base}/nothing/here"), None).await;
    assert_eq!((status, minor(&body)), (404, json!("unknownobject")));
    let (status, body) = call(
        reqwest::Method::GET,
        format!("{base}/classes?limit=x"),
        None,
    )
    .await;
    assert_eq!((status, minor(&body)), (400, json!("invalid_filter_field")));
    for (method, path) in [
        (reqwest::Method::PUT, format!("classes/{class}")),
        (reqwest::Method::DELETE, format!("users/{teacher}")),
        (reqwest::Method::PUT, "nothing/here".to_owned()),
    ] {
        let (status, body) = call(method.clone(), format!("{base}/{path}"), Some(json!({}))).await;
        assert_eq!(
            (status, minor(&body)),
            (405, json!("unsupported")),
            "{method} {path}"
        );
    }
    let (status, _) = call(reqwest::Method::POST, format!("{base}/classes"), None).await;
    assert_eq!(status, 405, "POST is no verb of this server");
}
