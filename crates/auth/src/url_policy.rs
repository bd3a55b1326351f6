//! The HTTPS rule for provider URLs, and the issuer identifier kept byte-exact.

use std::net::IpAddr;

use url::{Host, Url};

use crate::AuthError;

/// Provider URLs must be `https`, except on loopback addresses (`127.0.0.0/8`, `[::1]`),
/// which tests and the demo district use. Host names such as `localhost` are not
/// loopback *addresses* and do not get the exception.
pub fn require_secure_url(url: &Url, what: &str) -> Result<(), AuthError> {
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        _ => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(AuthError::InsecureUrl {
            what: what.to_owned(),
            url: url.to_string(),
        }),
    }
}

/// An issuer identifier. Compared to the byte, so the configured text is kept as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerUrl {
    text: String,
    url: Url,
}

impl IssuerUrl {
    pub fn new(text: impl Into<String>) -> Result<Self, AuthError> {
        let text = text.into();
        let url = Url::parse(&text).map_err(|e| {
            AuthError::InvalidConfig(format!("the issuer `{text}` is not a valid URL ({e})"))
        })?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(AuthError::InvalidConfig(format!(
                "the issuer `{text}` must not have a query or fragment"
            )));
        }
        require_secure_url(&url, "issuer")?;
        Ok(Self { text, url })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// `{issuer}/.well-known/openid-configuration`, per OpenID Connect Discovery §4.
    pub fn discovery_url(&self) -> Result<Url, AuthError> {
        let base = self.text.trim_end_matches('/');
        Url::parse(&format!("{base}/.well-known/openid-configuration"))
            .map_err(|e| AuthError::InvalidConfig(format!("bad discovery URL: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str) -> bool {
        require_secure_url(&Url::parse(url).unwrap(), "test").is_ok()
    }

    #[test]
    fn https_everywhere_except_loopback_addresses() {
        assert!(check("https://launchpad.classlink.com"));
        assert!(check("http://127.0.0.1:8080/x"));
        assert!(check("http://127.4.5.6/"));
        assert!(check("http://[::1]:99/"));
        assert!(!check("http://localhost:8080/"));
        assert!(!check("http://launchpad.classlink.com"));
        assert!(!check("http://10.0.0.1/"));
        assert!(!check("ftp://127.0.0.1/"));
    }

    #[test]
    fn issuer_keeps_its_exact_text() {
        let issuer = IssuerUrl::new("https://launchpad.classlink.com").unwrap();
        assert_eq!(issuer.as_str(), "https://launchpad.classlink.com");
        assert_eq!(
            issuer.discovery_url().unwrap().as_str(),
            "https://launchpad.classlink.com/.well-known/openid-configuration"
        );
        assert!(IssuerUrl::new("https://op.example/?tenant=1").is_err());
        assert!(IssuerUrl::new("http://op.example").is_err());
    }
}
