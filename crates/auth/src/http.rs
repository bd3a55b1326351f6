//! The HTTP client for every provider call, and its bridge to the oauth2 crate.
//!
//! Redirects are never followed ("following redirects opens the client up to SSRF",
//! as oauth2-rs puts it). TLS trusts the OS certificate store through rustls'
//! platform verifier, and the OS proxy settings apply, so school proxies and TLS
//! inspection work.

use std::time::Duration;

use crate::AuthError;

/// The biggest provider answer we read. Discovery, JWKS and token answers are a few KiB.
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Timeouts and identification for provider calls.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub user_agent: String,
    /// Every call goes through this proxy (the `ProxyUrl` policy) instead of the system's
    /// proxy settings. Added for H7's proxy policy.
    pub proxy: Option<url::Url>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            user_agent: concat!("Rollbook/", env!("CARGO_PKG_VERSION")).to_owned(),
            proxy: None,
        }
    }
}

/// Builds the one client used for discovery, JWKS, token, userinfo and revocation calls.
pub fn build_http_client(settings: &HttpSettings) -> Result<reqwest::Client, AuthError> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.request_timeout)
        .user_agent(settings.user_agent.clone());
    if let Some(proxy) = &settings.proxy {
        // This computer's own addresses (the demo district) never go through it.
        let proxy = reqwest::Proxy::all(proxy.as_str())
            .map_err(|e| AuthError::InvalidConfig(format!("the proxy address is not usable: {e}")))?
            .no_proxy(reqwest::NoProxy::from_string("localhost,127.0.0.1,::1"));
        builder = builder.proxy(proxy);
    }
    builder
        .build()
        .map_err(|e| AuthError::InvalidConfig(format!("could not set up HTTPS: {e}")))
}

/// Maps a transport failure to the engine's error, without the URL (it may carry a code).
pub(crate) fn transport_error(what: &'static str, error: reqwest::Error) -> AuthError {
    if error.is_timeout() {
        return AuthError::ProviderTimeout { what };
    }
    let error = error.without_url();
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    AuthError::ProviderUnreachable { what, detail }
}

/// Why reading a body stopped.
enum BodyError {
    Transport(reqwest::Error),
    TooLarge,
}

/// Collects a response body, refusing anything larger than [`MAX_BODY_BYTES`].
async fn collect_limited(mut response: reqwest::Response) -> Result<Vec<u8>, BodyError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads a response body for the engine's own calls.
pub(crate) async fn read_body(
    what: &'static str,
    response: reqwest::Response,
) -> Result<Vec<u8>, AuthError> {
    collect_limited(response).await.map_err(|e| match e {
        BodyError::Transport(e) => transport_error(what, e),
        BodyError::TooLarge => AuthError::ProviderBadResponse {
            what,
            detail: format!("answer larger than {MAX_BODY_BYTES} bytes"),
        },
    })
}

/// A GET that expects a JSON document, with status and size checks.
pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    what: &'static str,
    url: &url::Url,
) -> Result<T, AuthError> {
    let response = http
        .get(url.clone())
        .header(http::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| transport_error(what, e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(AuthError::ProviderStatus {
            what,
            status: status.as_u16(),
        });
    }
    let body = read_body(what, response).await?;
    serde_json::from_slice(&body).map_err(|e| AuthError::ProviderBadResponse {
        what,
        detail: e.to_string(),
    })
}

/// Why an oauth2-crate request failed at the transport level.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BridgeError {
    #[error("{0}")]
    Transport(String),
    #[error("timed out")]
    Timeout,
    #[error("answer too large")]
    TooLarge,
    /// A 5xx or 429 whose body is not an OAuth error (a proxy's or load balancer's page,
    /// an overloaded server): the provider is unavailable, not talking nonsense.
    #[error("HTTP {0}")]
    Status(u16),
}

/// Whether a failed token answer is an OAuth error object (RFC 6749 §5.2), which the
/// oauth2 crate reads, rather than some other body.
fn is_oauth_error(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .is_some_and(|v| v.get("error").is_some_and(serde_json::Value::is_string))
}

/// Our reqwest client as the oauth2 crate's HTTP client. A named type rather than a
/// closure, so the futures stay `Send` for every lifetime (tasks may move threads).
#[derive(Debug, Clone, Copy)]
pub(crate) struct OAuth2Http<'a>(pub &'a reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for OAuth2Http<'_> {
    type Error = BridgeError;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = Result<oauth2::HttpResponse, BridgeError>> + Send + 'c>,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(send_oauth2_request(self.0, request))
    }
}

/// Sends one oauth2-crate request through our reqwest client.
async fn send_oauth2_request(
    http: &reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, BridgeError> {
    let (parts, body) = request.into_parts();
    let response = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(bridge_error)?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = collect_limited(response).await.map_err(|e| match e {
        BodyError::Transport(e) => bridge_error(e),
        BodyError::TooLarge => BridgeError::TooLarge,
    })?;
    if (status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS)
        && !is_oauth_error(&bytes)
    {
        return Err(BridgeError::Status(status.as_u16()));
    }
    let mut built = oauth2::HttpResponse::new(bytes);
    *built.status_mut() = status;
    *built.headers_mut() = headers;
    Ok(built)
}

fn bridge_error(error: reqwest::Error) -> BridgeError {
    if error.is_timeout() {
        BridgeError::Timeout
    } else {
        BridgeError::Transport(transport_error("token", error).to_string())
    }
}

/// Maps an oauth2-crate request failure to the engine's error.
pub(crate) fn oauth2_error<RE: oauth2::ErrorResponse + 'static>(
    what: &'static str,
    error: oauth2::RequestTokenError<BridgeError, RE>,
) -> AuthError {
    use oauth2::RequestTokenError as E;
    match error {
        E::ServerResponse(response) => {
            let json = serde_json::to_value(&response).unwrap_or_default();
            let code = json
                .get("error")
                .and_then(|v| v.as_str())
                .unwrap_or("unknown_error")
                .to_owned();
            let description = json
                .get("error_description")
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            AuthError::TokenRejected { code, description }
        }
        E::Request(BridgeError::Timeout) => AuthError::ProviderTimeout { what },
        E::Request(BridgeError::TooLarge) => AuthError::ProviderBadResponse {
            what,
            detail: format!("answer larger than {MAX_BODY_BYTES} bytes"),
        },
        E::Request(BridgeError::Transport(detail)) => {
            AuthError::ProviderUnreachable { what, detail }
        }
        E::Request(BridgeError::Status(status)) => AuthError::ProviderStatus { what, status },
        E::Parse(error, body) => AuthError::ProviderBadResponse {
            what,
            detail: format!(
                "{error} (HTTP body of {} bytes, not shown: it may hold tokens)",
                body.len()
            ),
        },
        E::Other(detail) => AuthError::ProviderBadResponse { what, detail },
    }
}
