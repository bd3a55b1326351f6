//! The configuration's loading and checks, as an operator meets them.

use super::*;

fn good(secret_file: &Path) -> String {
    format!(
        r#"
listen = "127.0.0.1:9000"
[identity]
profile = "classlink"
classlink_api_url = "https://nodeapi.classlink.com"

[[tenants]]
id = "2718"
oneroster_url = "https://district.example/ims/oneroster/v1p1"
auth = {{ kind = "oauth1", client_id = "abc", client_secret = {{ file = "{}" }} }}
"#,
        secret_file.display()
    )
}

fn secret_file() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "very-secret-value\n").unwrap();
    file
}

#[test]
fn a_good_file_loads_and_never_prints_its_secret() {
    let secret = secret_file();
    let config = Config::from_toml(&good(secret.path())).unwrap();
    assert_eq!(config.listen.port(), 9000);
    let UpstreamAuth::OAuth1 { client_secret, .. } = &config.tenants[0].auth else {
        panic!("oauth1 expected");
    };
    assert_eq!(client_secret.expose(), "very-secret-value");
    let shown = config.redacted();
    assert!(!shown.contains("very-secret-value"), "{shown}");
    assert!(shown.contains("[redacted]"));
}

#[test]
fn a_trusted_proxy_range_reaching_past_the_site_is_warned_about() {
    let secret = secret_file();
    let with = |ranges: &str| {
        let text = good(secret.path()).replace(
            "listen =",
            &format!("trusted_proxies = [{ranges}]\nlisten ="),
        );
        Config::from_toml(&text).unwrap().redacted()
    };
    let shown = with("\"10.0.0.2\", \"0.0.0.0/0\"");
    assert!(
        shown.contains("warning: trusted_proxies has 0.0.0.0/0"),
        "{shown}"
    );
    assert!(!shown.contains("10.0.0.2, which"), "{shown}");
    let shown = with("\"10.0.0.0/8\", \"fd00::/8\"");
    assert!(!shown.contains("warning"), "{shown}");
}

#[test]
fn errors_name_the_key() {
    let secret = secret_file();
    let good = good(secret.path());
    let cases = [
        (
            good.replace("https://district", "http://district"),
            "tenants[0].oneroster_url",
        ),
        (
            good.replace("{ file =", "{ env = \"GW_TEST_UNSET_VAR\", file ="),
            "tenants[0].auth.client_secret",
        ),
        (
            good.replace(&secret.path().display().to_string(), "/nonexistent/secret"),
            "tenants[0].auth.client_secret",
        ),
        (
            good.replace("\"abc\"", "\"  \""),
            "tenants[0].auth.client_id",
        ),
        (good.replace("9000", "nine"), "listen"),
        (
            good.replace(
                "listen =",
                "trusted_proxies = [\"10.0.0.0/8\", \"lb.example\"]\nlisten =",
            ),
            "trusted_proxies[1]",
        ),
        (
            good.replace("[[tenants]]", "[limits]\nmax_body_bytes = 0\n[[tenants]]"),
            "limits.max_body_bytes",
        ),
    ];
    for (text, key) in cases {
        let e = Config::from_toml(&text).unwrap_err().to_string();
        assert!(e.contains(key), "{key}: {e}");
    }
    let e = Config::from_toml("[identity]\nprofile = \"classlink\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("tenants"), "{e}");
    assert!(Config::from_toml("listen = ").is_err());
}

#[test]
fn the_shipped_example_is_valid() {
    let secret = secret_file();
    let path = secret.path().display().to_string();
    let example = include_str!("../../gateway.example.toml")
        .replace("/run/secrets/classlink-developer-key", &path)
        .replace(
            "env = \"MAPLE_GROVE_ONEROSTER_SECRET\"",
            &format!("file = \"{path}\""),
        );
    let config = Config::from_toml(&example).unwrap();
    assert_eq!(config.tenants.len(), 1);
    assert!(config.classlink_partner.is_some());
}
