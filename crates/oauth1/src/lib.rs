//! OAuth 1.0a (RFC 5849) request signing and checking with HMAC-SHA256, the scheme
//! OneRoster 1.1 servers require of a vendor's application, with the parameters in the
//! `Authorization` header.
//!
//! The gateway signs with [`sign`]; the demo district checks with [`verify`]. The
//! signature base string (parameter normalisation, percent-encoding, the base URI) is
//! oauth1-request's; only the MAC is computed here.

use std::fmt::{self, Display, Write as _};
use std::num::NonZeroU64;

use aws_lc_rs::{constant_time, hmac};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use oauth1_request::signature_method::{Sign, SignatureMethod};
use oauth1_request::{Builder, Credentials, ParameterList};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use rand::RngCore;
use url::Url;

/// RFC 5849 §3.6: everything but `ALPHA / DIGIT / "-" / "." / "_" / "~"` is encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub const SIGNATURE_METHOD: &str = "HMAC-SHA256";

/// A consumer key and secret. `Debug` never shows the secret.
#[derive(Clone)]
pub struct ConsumerCredentials {
    pub key: String,
    secret: String,
}

impl ConsumerCredentials {
    pub fn new(key: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            secret: secret.into(),
        }
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for ConsumerCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumerCredentials")
            .field("key", &self.key)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// The `Authorization` header value for `method url` (the query is signed too), with a
/// fresh random nonce and `timestamp` (unix seconds).
pub fn sign(method: &str, url: &Url, credentials: &ConsumerCredentials, timestamp: u64) -> String {
    let mut nonce = [0u8; 16];
    rand::rng().fill_bytes(&mut nonce);
    let nonce = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(nonce);
    sign_with_nonce(method, url, credentials, timestamp, &nonce)
}

fn sign_with_nonce(
    method: &str,
    url: &Url,
    credentials: &ConsumerCredentials,
    timestamp: u64,
    nonce: &str,
) -> String {
    let (base, query) = split_url(url);
    let mut builder = Builder::<_, _>::new(
        Credentials::new(credentials.key.as_str(), credentials.secret.as_str()),
        HmacSha256,
    );
    builder
        .nonce(nonce)
        .timestamp(NonZeroU64::new(timestamp.max(1)));
    builder.authorize(method, base, &ParameterList::new(query))
}

/// What a checked request claimed, for the caller's replay and clock checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub consumer_key: String,
    pub nonce: String,
    pub timestamp: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the Authorization header is not OAuth 1.0a")]
    NotOAuth,
    #[error("the OAuth parameter `{0}` is missing or repeated")]
    Parameter(&'static str),
    #[error("the signature method must be HMAC-SHA256")]
    SignatureMethod,
    #[error("unknown consumer key")]
    UnknownConsumer,
    #[error("the signature does not match")]
    BadSignature,
}

/// Checks an `Authorization: OAuth …` header for `method url`. `secret_for` gives the
/// consumer secret of a key. The caller checks the timestamp window and nonce reuse.
pub fn verify(
    method: &str,
    url: &Url,
    header: &str,
    secret_for: impl FnOnce(&str) -> Option<String>,
) -> Result<Verified, VerifyError> {
    let params = parse_header(header)?;
    let one = |name: &'static str| -> Result<&str, VerifyError> {
        let mut found = params.iter().filter(|(k, _)| k == name);
        match (found.next(), found.next()) {
            (Some((_, v)), None) => Ok(v.as_str()),
            _ => Err(VerifyError::Parameter(name)),
        }
    };
    if one("oauth_signature_method")? != SIGNATURE_METHOD {
        return Err(VerifyError::SignatureMethod);
    }
    if params
        .iter()
        .any(|(k, v)| k == "oauth_version" && v != "1.0")
    {
        return Err(VerifyError::Parameter("oauth_version"));
    }
    let key = one("oauth_consumer_key")?;
    let nonce = one("oauth_nonce")?;
    let timestamp: u64 = one("oauth_timestamp")?
        .parse()
        .map_err(|_| VerifyError::Parameter("oauth_timestamp"))?;
    let signature = one("oauth_signature")?;
    let secret = secret_for(key).ok_or(VerifyError::UnknownConsumer)?;
    let expected_header = sign_with_nonce(
        method,
        url,
        &ConsumerCredentials::new(key, secret),
        timestamp,
        nonce,
    );
    let expected = parse_header(&expected_header)?
        .into_iter()
        .find(|(k, _)| k == "oauth_signature")
        .map(|(_, v)| v)
        .ok_or(VerifyError::BadSignature)?;
    constant_time::verify_slices_are_equal(expected.as_bytes(), signature.as_bytes())
        .map_err(|_| VerifyError::BadSignature)?;
    Ok(Verified {
        consumer_key: key.to_owned(),
        nonce: nonce.to_owned(),
        timestamp,
    })
}

/// `scheme://host[:port]/path` (RFC 5849 §3.4.1.2) and the decoded query pairs.
fn split_url(url: &Url) -> (String, Vec<(String, String)>) {
    let mut base = url.clone();
    base.set_query(None);
    base.set_fragment(None);
    let query = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    (base.to_string(), query)
}

/// The `key="value"` pairs of an `OAuth …` header, percent-decoded (`realm` dropped).
fn parse_header(header: &str) -> Result<Vec<(String, String)>, VerifyError> {
    let rest = header
        .trim()
        .strip_prefix("OAuth ")
        .ok_or(VerifyError::NotOAuth)?;
    let mut pairs = Vec::new();
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (key, value) = part.split_once('=').ok_or(VerifyError::NotOAuth)?;
        let value = value
            .trim()
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or(VerifyError::NotOAuth)?;
        let value = percent_decode_str(value)
            .decode_utf8()
            .map_err(|_| VerifyError::NotOAuth)?;
        if key.trim() != "realm" {
            pairs.push((key.trim().to_owned(), value.into_owned()));
        }
    }
    Ok(pairs)
}

/// HMAC-SHA256 as an oauth1-request signature method.
#[derive(Debug, Clone, Copy)]
struct HmacSha256;

struct HmacSha256Sign {
    context: hmac::Context,
    /// Each parameter's encoded name and value, held until all are known: RFC 5849
    /// §3.4.1.3.2 sorts the *encoded* forms, which oauth1-request does not (it sorts
    /// before encoding, so `z` and `{`, or non-ASCII text, come out in another order).
    parameters: Vec<(String, String)>,
}

/// The signature, base64 then percent-encoded as the header carries it.
struct Signature(String);

impl Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl SignatureMethod for HmacSha256 {
    type Sign = HmacSha256Sign;

    fn sign_with(self, client_secret: &str, token_secret: Option<&str>) -> HmacSha256Sign {
        // RFC 5849 §3.4.2: the key is `encode(consumer secret) & encode(token secret)`.
        let key = format!(
            "{}&{}",
            utf8_percent_encode(client_secret, UNRESERVED),
            utf8_percent_encode(token_secret.unwrap_or_default(), UNRESERVED)
        );
        HmacSha256Sign {
            context: hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes())),
            parameters: Vec::new(),
        }
    }
}

impl HmacSha256Sign {
    fn write(&mut self, text: impl Display) {
        let mut buffer = String::new();
        // Writing to a String cannot fail.
        let _ = write!(buffer, "{text}");
        self.context.update(buffer.as_bytes());
    }
}

/// The pieces arrive already percent-encoded by oauth1-request; this sorts the
/// parameters by their encoded forms, joins everything into the base string (RFC 5849
/// §3.4.1.1) and MACs it. (Sorting the base string's doubly encoded forms gives the
/// same order as sorting the encoded ones: `%` sorts below every unreserved character
/// both ways.)
impl Sign for HmacSha256Sign {
    type Signature = Signature;

    fn get_signature_method_name(&self) -> &'static str {
        SIGNATURE_METHOD
    }

    fn request_method(&mut self, method: &str) {
        self.write(method);
        self.write("&");
    }

    fn uri<T: Display>(&mut self, uri: T) {
        self.write(uri);
        self.write("&");
    }

    fn parameter<V: Display>(&mut self, key: &str, value: V) {
        // oauth1-request encodes values but hands names over as given; in the base
        // string both are encoded twice (once as a parameter, once as part of it).
        let once = utf8_percent_encode(key, UNRESERVED).to_string();
        let twice = utf8_percent_encode(&once, UNRESERVED).to_string();
        self.parameters.push((twice, value.to_string()));
    }

    fn delimiter(&mut self) {}

    fn end(mut self) -> Signature {
        let mut parameters = std::mem::take(&mut self.parameters);
        parameters.sort();
        for (i, (key, value)) in parameters.iter().enumerate() {
            if i > 0 {
                self.write("%26");
            }
            self.write(key);
            self.write("%3D");
            self.write(value);
        }
        let tag = self.context.sign();
        Signature(utf8_percent_encode(&STANDARD.encode(tag.as_ref()), UNRESERVED).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn creds() -> ConsumerCredentials {
        ConsumerCredentials::new("demo-key", "s3cret&with=odd chars")
    }

    #[test]
    fn matches_a_base_string_computed_by_hand() {
        // RFC 5849 §3.4.1 worked by hand for a OneRoster list call, then MACed.
        let u = url(
            "https://sis.example/ims/oneroster/v1p1/classes/c1/students?limit=2&filter=role%3D%27student%27",
        );
        let header = sign_with_nonce("GET", &u, &creds(), 1_700_000_000, "abc");
        let base = "GET&https%3A%2F%2Fsis.example%2Fims%2Foneroster%2Fv1p1%2Fclasses%2Fc1%2Fstudents&\
filter%3Drole%253D%2527student%2527%26limit%3D2%26oauth_consumer_key%3Ddemo-key%26oauth_nonce%3Dabc%26\
oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1700000000";
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"s3cret%26with%3Dodd%20chars&");
        let expected = STANDARD.encode(hmac::sign(&key, base.as_bytes()).as_ref());
        let sent = parse_header(&header)
            .unwrap()
            .into_iter()
            .find(|(k, _)| k == "oauth_signature")
            .unwrap()
            .1;
        assert_eq!(sent, expected);
        assert!(header.contains("oauth_signature_method=\"HMAC-SHA256\""));
    }

    #[test]
    fn a_signed_request_verifies_and_tampering_does_not() {
        let u = url("https://sis.example/ims/oneroster/v1p1/classes?limit=100&offset=0");
        let header = sign("GET", &u, &creds(), 1_700_000_000);
        let secret = |k: &str| (k == "demo-key").then(|| creds().secret().to_owned());
        let ok = verify("GET", &u, &header, secret).unwrap();
        assert_eq!(ok.consumer_key, "demo-key");
        assert_eq!(ok.timestamp, 1_700_000_000);

        let tampered = url("https://sis.example/ims/oneroster/v1p1/classes?limit=100&offset=100");
        assert_eq!(
            verify("GET", &tampered, &header, secret),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify("PUT", &u, &header, secret),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify("GET", &u, &header, |_| Some("wrong".into())),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify("GET", &u, &header, |_| None),
            Err(VerifyError::UnknownConsumer)
        );
        assert_eq!(
            verify("GET", &u, "Bearer abc", secret),
            Err(VerifyError::NotOAuth)
        );
        let sha1 = header.replace("HMAC-SHA256", "HMAC-SHA1");
        assert_eq!(
            verify("GET", &u, &sha1, secret),
            Err(VerifyError::SignatureMethod)
        );
    }

    #[test]
    fn every_signature_has_its_own_nonce_and_debug_hides_the_secret() {
        let u = url("https://sis.example/x");
        let a = parse_header(&sign("GET", &u, &creds(), 1)).unwrap();
        let b = parse_header(&sign("GET", &u, &creds(), 1)).unwrap();
        let nonce = |p: &Vec<(String, String)>| p.iter().find(|(k, _)| k == "oauth_nonce").cloned();
        assert_ne!(nonce(&a), nonce(&b));
        let shown = format!("{:?}", creds());
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
