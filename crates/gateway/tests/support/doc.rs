//! Blocks of docs/gateway.md as the tests run them, so what operators copy is what is
//! tested: the haproxy example with only the addresses changed (and TLS left out: the
//! tests have no certificate), shared by every test that puts haproxy in front.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The fenced block after `<!-- doc-test: {name} -->` in docs/gateway.md.
pub fn doc_block(name: &str) -> String {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/gateway.md"
    ))
    .unwrap();
    let marker = format!("<!-- doc-test: {name} -->");
    let after = doc
        .split_once(&marker)
        .unwrap_or_else(|| panic!("docs/gateway.md has no {marker}"))
        .1;
    let fenced = after.trim_start().strip_prefix("```").unwrap();
    let body = fenced.split_once('\n').unwrap().1;
    format!("{}\n", body.split_once("\n```").unwrap().0)
}

/// Replaces `from` (which must be there: the doc and the tests change together).
pub fn substitute(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the doc block lost `{from}`:\n{text}");
    text.replace(from, to)
}

/// The doc's haproxy configuration listening on 127.0.0.1:`front` in plain HTTP, in
/// front of the two gateways `one` and `two`.
pub fn haproxy_config(front: u16, one: SocketAddr, two: SocketAddr) -> String {
    let block = doc_block("haproxy");
    let block = substitute(
        &block,
        "bind :443 ssl crt /etc/haproxy/certs/roster.pem",
        &format!("bind 127.0.0.1:{front}"),
    );
    let block = substitute(&block, "10.0.0.11:8080", &one.to_string());
    substitute(&block, "10.0.0.12:8080", &two.to_string())
}

/// The address the doc's gateways are told to trust (haproxy's), for `--trusted-proxy`:
/// on one machine haproxy reaches the gateways from 127.0.0.1.
pub const HAPROXY_ADDRESS: &str = "127.0.0.1/32";

/// The installed haproxy.
pub fn haproxy() -> PathBuf {
    [
        "/usr/sbin/haproxy",
        "/usr/bin/haproxy",
        "/usr/local/sbin/haproxy",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| Path::new(p).exists())
    .expect("haproxy is not installed: scripts/setup.sh installs it (apt install haproxy)")
}
