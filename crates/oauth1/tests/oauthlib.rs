//! The gateway's OAuth 1.0a signatures checked by an implementation that is not ours:
//! Python's oauthlib (Debian's `python3-oauthlib`, installed by scripts/setup.sh)
//! recomputes each signature base string and HMAC-SHA256 from the request alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use rollbook_oauth1::{ConsumerCredentials, sign};
use url::Url;

const CHECKER: &str = r#"
import sys
from urllib.parse import urlparse
from oauthlib.oauth1.rfc5849 import signature, utils
for line in sys.stdin:
    case = dict(zip(["method", "url", "header", "secret"], line.rstrip("\n").split("\t")))
    params = signature.collect_parameters(
        uri_query=urlparse(case["url"]).query,
        headers={"Authorization": case["header"]},
        exclude_oauth_signature=True,
    )
    base = signature.signature_base_string(
        case["method"],
        signature.base_string_uri(case["url"]),
        signature.normalize_parameters(params),
    )
    sent = utils.unescape(dict(utils.parse_authorization_header(case["header"]))["oauth_signature"])
    want = signature.sign_hmac_sha256(base, case["secret"], "")
    ok = signature.safe_string_equals(want, sent)
    print("\t".join(["ok" if ok else "bad", base, want, sent]))
"#;

/// Debian's interpreter, where `python3-oauthlib` lives (a pyenv shim may shadow it).
const PYTHON: &str = "/usr/bin/python3";

#[test]
fn oauthlib_accepts_every_signature() {
    let secret = "s3cret&with=odd chars/é";
    let credentials = ConsumerCredentials::new("demo key+1", secret);
    let base = "https://sis.example:8443/ims/oneroster/v1p1";
    let cases = [
        (
            "GET",
            format!("{base}/classes/c1/students?limit=2&filter=role%3D%27student%27"),
        ),
        // Spaces (as %20 and as +), quotes, commas.
        (
            "GET",
            format!("{base}/users?filter=givenName%3D%27Ann%20Marie%27&fields=sourcedId,givenName"),
        ),
        (
            "GET",
            format!("{base}/users?filter=familyName%3D%27O%27%27Brien%27+and+x%3D%22y%22"),
        ),
        // Non-ASCII, and characters whose encoded order differs from their raw order.
        (
            "GET",
            format!("{base}/users?filter=givenName%3D%27Zo%C3%AB%27&sort=z&sort=%7B&sort=%C3%A9"),
        ),
        (
            "GET",
            format!("{base}/classes?a=z&a=%7B&a=~&a=%21&%7Bk=1&zk=2"),
        ),
        // Repeated keys with values in every order, and an empty value.
        (
            "GET",
            format!("{base}/classes?offset=10&limit=5&offset=2&limit=&offset=1"),
        ),
        // A path with an escaped character, and a write.
        ("PUT", format!("{base}/results/li1.s%2031")),
        (
            "PUT",
            format!("{base}/lineItems/0b5e8f1c-2d3a-4c7e-9f10-1a2b3c4d5e6f"),
        ),
        ("DELETE", format!("{base}/results/r1?x=%E2%9C%93")),
    ];
    let mut input = String::new();
    for (method, url) in &cases {
        let url = Url::parse(url).unwrap();
        let header = sign(method, &url, &credentials, 1_764_000_000);
        // One case a line, tab-separated: none of the fields holds a tab or a newline.
        input.push_str(&[*method, url.as_str(), &header, secret].join("\t"));
        input.push('\n');
    }
    let mut child = Command::new(PYTHON)
        .args(["-c", CHECKER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run /usr/bin/python3 (scripts/setup.sh installs python3-oauthlib)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "oauthlib checker failed (is python3-oauthlib installed? scripts/setup.sh): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let answers: Vec<Vec<&str>> = stdout.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(answers.len(), cases.len());
    for ((method, url), answer) in cases.iter().zip(&answers) {
        assert_eq!(
            answer[0],
            "ok",
            "oauthlib rejects our signature of {method} {url}; its base string, signature and ours: {:?}",
            &answer[1..]
        );
    }
}
