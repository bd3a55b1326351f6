//! The roster gateway's boundary, end to end: arbitrary methods, paths, queries and
//! bodies from a signed-in teacher, through the real gateway to a real demo district.
//! Whatever the request, a successful answer never carries a student outside the
//! teacher's classes, and the gateway itself never fails with a 500.
//!
//! Inputs are `<method byte><path and query>\n<body>`. The placeholders `{class}`,
//! `{other_class}`, `{student}`, `{stranger}`, `{line_item}`, `{result}` and `{teacher}`
//! become real ids, so the fuzzer reaches the checks behind the route table.
#![no_main]

use std::collections::HashSet;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rollbook_gateway::{Config, Gateway};
use rollbook_sandbox::{District, Sandbox, SandboxConfig, Size};

const BASE: &str = "/ims/oneroster/v1p1";

struct World {
    runtime: tokio::runtime::Runtime,
    _district: Sandbox,
    gateway: Gateway,
    http: reqwest::Client,
    token: String,
    placeholders: Vec<(&'static str, String)>,
    strangers: HashSet<String>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let (district, gateway) = runtime.block_on(async {
            let district = Sandbox::start(SandboxConfig {
                seed: 7,
                size: Size::Pair,
                today: Some("2026-11-27".into()),
                ..SandboxConfig::default()
            })
            .await
            .expect("the demo district");
            let mut config = Config::for_demo_district(
                district.issuer(),
                "127.0.0.1:0".parse().expect("an address"),
            )
            .expect("a config");
            config.limits.requests_per_minute_per_teacher = u32::MAX / 2;
            let gateway = Gateway::start(config).await.expect("the gateway");
            (district, gateway)
        });
        let d = district.district();
        let teacher = d.staff[0].id.clone();
        let mine: Vec<usize> = d.classes_of_staff[0].clone();
        let enrolled: HashSet<u32> = mine
            .iter()
            .flat_map(|c| d.classes[*c].students.iter().copied())
            .collect();
        let strangers: HashSet<String> = d
            .students
            .iter()
            .enumerate()
            .filter(|(i, _)| !enrolled.contains(&u32::try_from(*i).expect("fits")))
            .map(|(_, s)| s.id.clone())
            .collect();
        let class = mine[0];
        let other_class = (0..d.classes.len())
            .find(|c| !mine.contains(c))
            .expect("a class of someone else");
        let item = d.line_items(class).into_iter().next().expect("a line item");
        let student = d.students[d.classes[class].students[0] as usize].id.clone();
        let stranger = strangers.iter().next().expect("a stranger").clone();
        let placeholders = vec![
            ("{class}", d.classes[class].id.clone()),
            ("{other_class}", d.classes[other_class].id.clone()),
            ("{student}", student.clone()),
            ("{stranger}", stranger),
            ("{result}", District::result_id(&item.id, &student)),
            ("{line_item}", item.id),
            ("{teacher}", teacher.clone()),
        ];
        let token = district
            .issue_access_token(&teacher, &["openid", "profile", "oneroster"])
            .expect("a token");
        World {
            runtime,
            _district: district,
            gateway,
            http: reqwest::Client::new(),
            token,
            placeholders,
            strangers,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&verb, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let w = world();
    let mut text = text.to_owned();
    for (name, id) in &w.placeholders {
        text = text.replace(name, id);
    }
    let (target, body) = text.split_once('\n').unwrap_or((&text, ""));
    let method = match verb % 5 {
        0 | 1 => reqwest::Method::GET,
        2 => reqwest::Method::PUT,
        3 => reqwest::Method::DELETE,
        _ => reqwest::Method::POST,
    };
    let Ok(url) = url::Url::parse(&format!("http://{}{BASE}{target}", w.gateway.address())) else {
        return;
    };
    let request = w
        .http
        .request(method, url)
        .bearer_auth(&w.token)
        .header("content-type", "application/json")
        .body(body.to_owned());
    let Ok((status, answer)) = w.runtime.block_on(async {
        let response = request.send().await?;
        let status = response.status();
        Ok::<_, reqwest::Error>((status, response.text().await?))
    }) else {
        return;
    };
    assert_ne!(status.as_u16(), 500, "{target}: {answer}");
    if status.is_success() {
        for stranger in &w.strangers {
            assert!(
                !answer.contains(stranger.as_str()),
                "{target} answered with student {stranger}, who is in none of the teacher's classes"
            );
        }
    }
});
