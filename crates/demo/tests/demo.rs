//! The demo district with its gateway, as the window, the CLI's tests and the
//! `rollbook-sandbox` binary start it: real servers on loopback ports.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use rollbook_demo::DemoDistrict;
use rollbook_sandbox::{SandboxConfig, Size};
use serde_json::Value;

fn config() -> SandboxConfig {
    SandboxConfig {
        size: Size::Pair,
        test_controls: true,
        ..SandboxConfig::default()
    }
}

fn any_port() -> Option<SocketAddr> {
    Some("127.0.0.1:0".parse().unwrap())
}

async fn published_gateway(demo: &DemoDistrict) -> Value {
    let document: Value = reqwest::get(format!("{}/.well-known/rollbook-demo", demo.issuer()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    document["roster_gateway_url"].clone()
}

/// A teacher's classes read through the gateway (the district itself refuses their
/// token); the HTTP status, or `None` when nothing listens.
async fn read_classes_through(gateway_url: &str, demo: &DemoDistrict) -> Option<u16> {
    let teacher = &demo.district().staff[0].id;
    let token = demo
        .issue_access_token(teacher, &["openid", "profile", "oneroster"])
        .unwrap();
    let answer = reqwest::Client::new()
        .get(format!("{gateway_url}/teachers/{teacher}/classes"))
        .bearer_auth(token)
        .send()
        .await;
    answer.ok().map(|a| a.status().as_u16())
}

#[tokio::test]
async fn the_gateway_fronts_the_district_and_is_published_from_the_start() {
    let mut demo = DemoDistrict::start(config(), any_port()).await.unwrap();
    let gateway_url = demo.gateway_url().unwrap();
    assert!(
        gateway_url.ends_with("/ims/oneroster/v1p1"),
        "{gateway_url}"
    );
    assert_eq!(published_gateway(&demo).await, gateway_url.as_str());
    assert_eq!(read_classes_through(&gateway_url, &demo).await, Some(200));

    // Offline and back, at the same address.
    demo.set_roster_online(false).await.unwrap();
    assert_eq!(read_classes_through(&gateway_url, &demo).await, None);
    demo.set_roster_online(false).await.unwrap();
    demo.set_roster_online(true).await.unwrap();
    assert_eq!(demo.gateway_url().unwrap(), gateway_url);
    assert_eq!(read_classes_through(&gateway_url, &demo).await, Some(200));
    demo.stop().await;
}

#[tokio::test]
async fn without_a_gateway_none_is_published_or_started() {
    let mut demo = DemoDistrict::start(config(), None).await.unwrap();
    assert_eq!(demo.gateway_url(), None);
    assert_eq!(published_gateway(&demo).await, Value::Null);
    demo.set_roster_online(true).await.unwrap();
    assert_eq!(demo.gateway_url(), None);
    demo.stop().await;
}

#[tokio::test]
async fn a_taken_port_fails_with_the_part_that_could_not_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap();

    let gateway = DemoDistrict::start(config(), Some(address))
        .await
        .unwrap_err();
    assert_eq!(gateway.code(), "gateway_failed");
    assert!(
        gateway.to_string().contains(&address.to_string()),
        "{gateway}"
    );

    let district = DemoDistrict::start(
        SandboxConfig {
            port: address.port(),
            ..config()
        },
        any_port(),
    )
    .await
    .unwrap_err();
    assert_eq!(district.code(), "sandbox_failed");
}
