//! The OneRoster client against the real demo district over HTTP, with every quirk and
//! fault knob the sandbox has.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rollbook_oneroster::{
    Bearer, ClientSettings, RetryPolicy, RosterClient, RosterError, ScoreStatus,
};
use rollbook_sandbox::{Faults, Knobs, Quirks, Sandbox, SandboxConfig, Size};
use url::Url;

async fn sandbox(size: Size, knobs: Knobs) -> Sandbox {
    // This suite reads the OneRoster API with teachers' own tokens, as a plain
    // OneRoster server allows (the demo's default answers the application only).
    let mut knobs = knobs;
    knobs.access.accept_teacher_tokens = true;
    Sandbox::start(SandboxConfig {
        seed: 11,
        size,
        today: Some("2026-11-27".into()),
        knobs,
        test_controls: true,
        ..SandboxConfig::default()
    })
    .await
    .unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        ..RetryPolicy::default()
    }
}

/// A client signed in as staff member `staff` with the roster scope.
fn signed_in(sandbox: &Sandbox, staff: usize, settings: ClientSettings) -> (RosterClient, String) {
    let id = sandbox.district().staff[staff].id.clone();
    let token = sandbox
        .issue_access_token(&id, &["openid", "oneroster"])
        .unwrap();
    let client = RosterClient::new(
        http(),
        Url::parse(&sandbox.oneroster_url()).unwrap(),
        Bearer::new(token),
    )
    .with_settings(settings);
    (client, id)
}

fn settings(page_size: u64) -> ClientSettings {
    ClientSettings {
        page_size,
        retry: quick_retries(),
        ..ClientSettings::default()
    }
}

fn ids<T: rollbook_oneroster::Resource>(items: &[T]) -> Vec<String> {
    let mut ids: Vec<String> = items.iter().map(|i| i.sourced_id().to_owned()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn the_teacher_view_pages_to_exactly_the_right_records() {
    for no_total_count in [false, true] {
        for max_page_size in [1000, 5] {
            let knobs = Knobs {
                quirks: Quirks {
                    no_total_count,
                    ..Quirks::default()
                },
                faults: Faults {
                    max_page_size,
                    ..Faults::default()
                },
                ..Knobs::default()
            };
            let sandbox = sandbox(Size::School, knobs).await;
            let district = sandbox.district();
            let (client, teacher) = signed_in(&sandbox, 2, settings(7));
            let classes = client.classes_for_teacher(&teacher).await.unwrap();
            let mut expected: Vec<String> = district.classes_of_staff[2]
                .iter()
                .map(|c| district.classes[*c].id.clone())
                .collect();
            expected.sort();
            assert_eq!(
                ids(&classes),
                expected,
                "no_total_count={no_total_count} cap={max_page_size}"
            );
            let first = &district.classes[district.classes_of_staff[2][0]];
            let students = client.students_for_class(&first.id).await.unwrap();
            let mut expected: Vec<String> = first
                .students
                .iter()
                .map(|s| district.students[*s as usize].id.clone())
                .collect();
            expected.sort();
            assert_eq!(ids(&students), expected);
            assert_eq!(
                client.student_count(&first.id).await.unwrap(),
                first.students.len() as u64
            );
        }
    }
}

#[tokio::test]
async fn quirky_payloads_parse_the_same() {
    let knobs = Knobs {
        quirks: Quirks {
            string_booleans: true,
            roles_array: true,
            path_named_envelopes: true,
            empty_class_codes: true,
            ..Quirks::default()
        },
        ..Knobs::default()
    };
    let sandbox = sandbox(Size::School, knobs).await;
    let (client, teacher) = signed_in(&sandbox, 0, settings(100));
    let classes = client.classes_for_teacher(&teacher).await.unwrap();
    assert!(
        classes
            .iter()
            .any(|c| c.class_code.is_none() && c.periods.is_empty()),
        "some classes have blank codes"
    );
    assert!(classes.iter().all(|c| !c.title.is_empty()));
    let students = client
        .students_for_class(&classes[0].sourced_id)
        .await
        .unwrap();
    assert!(!students.is_empty());
    assert!(
        students
            .iter()
            .all(|s| s.enabled_user && s.primary_role() == Some("student"))
    );
    let teachers = client
        .teachers_for_class(&classes[0].sourced_id)
        .await
        .unwrap();
    assert_eq!(teachers[0].sourced_id, teacher);
    assert!(teachers[0].has_role("teacher"));
    let schools = client
        .school(classes[0].school.as_ref().unwrap().sourced_id.as_str())
        .await
        .unwrap();
    assert!(schools.name.ends_with("High School"));
}

#[tokio::test]
async fn foreign_hrefs_are_never_followed() {
    // A second server stands in for the foreign host and counts every request.
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let app = axum::Router::new().fallback(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { "{}" }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let foreign = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let knobs = Knobs {
        quirks: Quirks {
            foreign_href_base: Some(foreign),
            ..Quirks::default()
        },
        ..Knobs::default()
    };
    let sandbox = sandbox(Size::Tiny, knobs).await;
    let (client, teacher) = signed_in(&sandbox, 0, settings(10));
    for class in client.classes_for_teacher(&teacher).await.unwrap() {
        client.students_for_class(&class.sourced_id).await.unwrap();
        client
            .line_items_for_class(&class.sourced_id)
            .await
            .unwrap();
        client.results_for_class(&class.sourced_id).await.unwrap();
    }
    client.academic_sessions().await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn rate_limits_are_waited_out_with_retry_after() {
    let knobs = Knobs {
        faults: Faults {
            rate_limit_rate: 0.5,
            retry_after_seconds: 1,
            ..Faults::default()
        },
        ..Knobs::default()
    };
    let sandbox = sandbox(Size::Tiny, knobs).await;
    let (client, teacher) = signed_in(&sandbox, 0, settings(100));
    let classes = client.classes_for_teacher(&teacher).await.unwrap(); // request 1: fine
    let started = Instant::now();
    let students = client
        .students_for_class(&classes[0].sourced_id)
        .await
        .unwrap(); // request 2: 429
    assert!(!students.is_empty());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not respected"
    );
    assert_eq!(sandbox.stats()["rate_limited"], 1);
}

#[tokio::test]
async fn persistent_rate_limiting_fails_with_the_servers_words() {
    let knobs = Knobs {
        faults: Faults {
            rate_limit_rate: 1.0,
            retry_after_seconds: 0,
            ..Faults::default()
        },
        ..Knobs::default()
    };
    let sandbox = sandbox(Size::Tiny, knobs).await;
    let mut s = settings(100);
    s.retry.max_rate_limit_retries = 2;
    let (client, teacher) = signed_in(&sandbox, 0, s);
    let error = client.classes_for_teacher(&teacher).await.unwrap_err();
    assert_eq!(error.code(), "roster_rate_limited");
    assert!(error.to_string().contains("Too many requests"), "{error}");
    assert_eq!(
        sandbox.stats()["rate_limited"],
        3,
        "one try and two retries"
    );

    // A Retry-After beyond the limit is not waited out at all.
    sandbox.update_knobs(|k| k.faults.retry_after_seconds = 3600);
    let started = Instant::now();
    assert!(
        matches!(client.academic_sessions().await, Err(RosterError::RateLimited { retry_after: Some(d), .. }) if d == Duration::from_secs(3600))
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let knobs = Knobs {
        faults: Faults {
            server_error_rate: 0.5,
            ..Faults::default()
        },
        ..Knobs::default()
    };
    let sandbox = sandbox(Size::Tiny, knobs).await;
    let (client, teacher) = signed_in(&sandbox, 0, settings(100));
    for _ in 0..4 {
        client.classes_for_teacher(&teacher).await.unwrap();
    }
    assert!(sandbox.stats()["server_error"] >= 2);

    sandbox.update_knobs(|k| k.faults.server_error_rate = 1.0);
    let error = client.classes_for_teacher(&teacher).await.unwrap_err();
    assert_eq!(error.code(), "roster_server_error");
    assert!(
        error.to_string().contains("temporarily unavailable"),
        "{error}"
    );
    assert!(matches!(error, RosterError::ServerError { http: 503, .. }));
}

#[tokio::test]
async fn slow_answers_time_out_and_are_retried() {
    let knobs = Knobs {
        faults: Faults {
            slow_rate: 0.5,
            slow_ms: 3_000,
            ..Faults::default()
        },
        ..Knobs::default()
    };
    let sandbox = sandbox(Size::Tiny, knobs).await;
    let mut s = settings(100);
    s.request_timeout = Duration::from_millis(300);
    let (client, teacher) = signed_in(&sandbox, 0, s);
    // Every other request is slow; the timed-out ones are retried and succeed.
    for _ in 0..3 {
        client.classes_for_teacher(&teacher).await.unwrap();
    }
    sandbox.update_knobs(|k| k.faults.slow_rate = 1.0);
    let error = client.academic_sessions().await.unwrap_err();
    assert_eq!(error.code(), "roster_timeout");
}

#[tokio::test]
async fn added_latency_slows_but_does_not_break() {
    let knobs = Knobs {
        faults: Faults {
            latency_ms: 50,
            ..Faults::default()
        },
        ..Knobs::default()
    };
    let sandbox = sandbox(Size::Tiny, knobs).await;
    let (client, teacher) = signed_in(&sandbox, 0, settings(100));
    let started = Instant::now();
    assert_eq!(client.classes_for_teacher(&teacher).await.unwrap().len(), 5);
    assert!(started.elapsed() >= Duration::from_millis(50));
}

#[tokio::test]
async fn other_teachers_classes_are_forbidden_and_unknown_ones_not_found() {
    let sandbox = sandbox(Size::School, Knobs::default()).await;
    let district = sandbox.district();
    let (client, _) = signed_in(&sandbox, 0, settings(100));
    let someone_elses = &district.classes[district.classes_of_staff[1][0]].id;
    let error = client.students_for_class(someone_elses).await.unwrap_err();
    assert_eq!(error.code(), "roster_forbidden");
    assert!(
        error.to_string().contains("only see your own classes"),
        "{error}"
    );
    let other_teacher = &district.staff[1].id;
    assert_eq!(
        client
            .classes_for_teacher(other_teacher)
            .await
            .unwrap_err()
            .code(),
        "roster_forbidden"
    );
    let error = client.class("cls-99999").await.unwrap_err();
    assert_eq!(error.code(), "roster_not_found");
    assert_eq!(
        error.imsx().unwrap().code_minor.as_deref(),
        Some("unknownobject")
    );
    // A principal sees the whole school.
    let principal = district
        .staff
        .iter()
        .position(|p| p.id.starts_with("adm-"))
        .unwrap();
    let (admin, _) = signed_in(&sandbox, principal, settings(100));
    let school = &district.schools[0].id;
    assert_eq!(
        admin.classes_for_school(school).await.unwrap().len(),
        district.classes_of_school[0].len()
    );
    assert_eq!(
        admin.students_for_class(someone_elses).await.unwrap().len(),
        district.classes[district.classes_of_staff[1][0]]
            .students
            .len()
    );
}

#[tokio::test]
async fn tokens_without_the_roster_scope_or_invalid_ones_are_refused() {
    let sandbox = sandbox(Size::Tiny, Knobs::default()).await;
    let teacher = sandbox.district().staff[0].id.clone();
    let base = Url::parse(&sandbox.oneroster_url()).unwrap();
    let no_scope = sandbox
        .issue_access_token(&teacher, &["openid", "profile"])
        .unwrap();
    let error = RosterClient::new(http(), base.clone(), Bearer::new(no_scope))
        .classes_for_teacher(&teacher)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "roster_forbidden");
    assert!(
        error
            .to_string()
            .contains("not granted access to roster data"),
        "{error}"
    );
    let error = RosterClient::new(http(), base, Bearer::new("nope"))
        .classes_for_teacher(&teacher)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "roster_unauthorized");
}

#[tokio::test]
async fn gradebook_reads_have_every_score_status_and_writes_stick() {
    let sandbox = sandbox(Size::School, Knobs::default()).await;
    let (client, teacher) = signed_in(&sandbox, 4, settings(100));
    let mut statuses = std::collections::HashSet::new();
    let classes = client.classes_for_teacher(&teacher).await.unwrap();
    for class in &classes {
        let items = client
            .line_items_for_class(&class.sourced_id)
            .await
            .unwrap();
        let results = client.results_for_class(&class.sourced_id).await.unwrap();
        assert!(!items.is_empty());
        let students = client.students_for_class(&class.sourced_id).await.unwrap();
        // At most one result per student and item, each for this class's items and students.
        assert!(!results.is_empty() && results.len() <= items.len() * students.len());
        for r in &results {
            assert!(items.iter().any(|i| i.sourced_id == r.line_item.sourced_id));
            assert!(
                students
                    .iter()
                    .any(|s| s.sourced_id == r.student.sourced_id)
            );
        }
        statuses.extend(results.into_iter().map(|r| r.score_status));
    }
    for status in ScoreStatus::ALL {
        assert!(statuses.contains(&status), "{status:?} never appears");
    }
    assert_eq!(client.categories().await.unwrap().len(), 5);

    let class = &classes[0].sourced_id;
    let mut result = client.results_for_class(class).await.unwrap().remove(0);
    result.score = Some(7.5);
    result.score_status = ScoreStatus::FullyGraded;
    result.comment = Some("Regraded".into());
    client
        .put(&["results", &result.sourced_id.clone()], &result)
        .await
        .unwrap();
    let again = client.results_for_class(class).await.unwrap();
    let written = again
        .iter()
        .find(|r| r.sourced_id == result.sourced_id)
        .unwrap();
    assert_eq!(
        (written.score, written.comment.as_deref()),
        (Some(7.5), Some("Regraded"))
    );

    // Someone else's result cannot be written.
    let (other, _) = signed_in(&sandbox, 5, settings(100));
    assert_eq!(
        other
            .put(&["results", &result.sourced_id.clone()], &result)
            .await
            .unwrap_err()
            .code(),
        "roster_forbidden"
    );
}

#[tokio::test]
async fn users_can_be_found_by_email_and_sorted() {
    let sandbox = sandbox(Size::School, Knobs::default()).await;
    let (client, teacher) = signed_in(&sandbox, 0, settings(100));
    let me = &sandbox.district().staff[0];
    let found = client.users_with_email(&me.email).await.unwrap();
    assert_eq!(ids(&found), vec![teacher]);
    let sorted: Vec<rollbook_oneroster::User> = client
        .list(
            &["users"],
            &rollbook_oneroster::Query::default().sort("familyName", true),
        )
        .await
        .unwrap();
    let names: Vec<&str> = sorted.iter().map(|u| u.family_name.as_str()).collect();
    let mut expected = names.clone();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(names, expected);
    let error = client
        .list::<rollbook_oneroster::User>(
            &["users"],
            &rollbook_oneroster::Query {
                filter: Some("email=oops".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "roster_bad_request");
    assert!(error.to_string().contains("single quotes"), "{error}");
}
