//! The HTTP side: bearer requests with retries, paging, and typed helpers for the
//! endpoints Rollbook uses.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures_util::{StreamExt, stream};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use tokio::sync::Semaphore;
use url::Url;

use crate::envelope::{parse_list, parse_single};
use crate::models::IdOnly;
use crate::paging::{Page, PageSource, collect_all};
use crate::retry::parse_retry_after;
use crate::{
    AcademicSession, Category, Class, GradeResult, LineItem, Org, Resource, RetryPolicy,
    RosterError, User,
};

/// The bearer token for roster calls. Its `Debug` never shows the value.
#[derive(Clone)]
pub struct Bearer(String);

impl Bearer {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }
}

impl fmt::Debug for Bearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bearer(<redacted>)")
    }
}

/// The `Authorization` header a request carries, computed per request.
pub type AuthorizationFuture<'a> =
    Pin<Box<dyn Future<Output = Result<HeaderValue, RosterError>> + Send + 'a>>;

/// How each request proves who is calling: a teacher's bearer here; in the roster
/// gateway also an OAuth 1.0a signature (which covers the method and URL) or an OAuth 2
/// client-credentials token.
pub trait Authorize: fmt::Debug + Send + Sync {
    fn authorization<'a>(&'a self, method: &'a Method, url: &'a Url) -> AuthorizationFuture<'a>;
}

impl Authorize for Bearer {
    fn authorization<'a>(&'a self, _: &'a Method, _: &'a Url) -> AuthorizationFuture<'a> {
        let value = HeaderValue::from_str(&format!("Bearer {}", self.0))
            .map(|mut v| {
                v.set_sensitive(true);
                v
            })
            .map_err(|_| RosterError::Malformed("the access token is not a header value".into()));
        Box::pin(std::future::ready(value))
    }
}

/// A successful answer whose body is still arriving (see [`RosterClient::fetch_streamed`]).
#[derive(Debug)]
pub struct Streamed {
    pub status: u16,
    pub total_count: Option<u64>,
    pub response: reqwest::Response,
}

/// A response as the server sent it (after retries), for callers that pass it on.
#[derive(Debug)]
pub struct Fetched {
    pub status: u16,
    /// `X-Total-Count`, when the server sent one.
    pub total_count: Option<u64>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// `limit` asked for on each page. The spec's default is 100; most servers allow
    /// more, and the pager adapts when a server caps it lower.
    pub page_size: u64,
    /// HTTP requests in flight at once through this client (and its clones), however
    /// many calls are running.
    pub concurrency: usize,
    /// One attempt's deadline, including reading the body.
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    /// Bodies larger than this are refused.
    pub max_body_bytes: usize,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            page_size: 500,
            concurrency: 6,
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            max_body_bytes: 64 << 20,
        }
    }
}

/// `filter`, `sort`/`orderBy` and `fields` for a collection request.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub filter: Option<String>,
    pub sort: Option<String>,
    pub descending: bool,
    pub fields: Vec<String>,
}

impl Query {
    /// `filter=field='value'`, a single quote in the value doubled (`o''brien@…`), as
    /// OneRoster's filter grammar quotes values.
    pub fn filter_eq(field: &str, value: &str) -> Self {
        Self {
            filter: Some(format!("{field}='{}'", value.replace('\'', "''"))),
            ..Self::default()
        }
    }

    pub fn fields(mut self, fields: &[&str]) -> Self {
        self.fields = fields.iter().map(|f| (*f).to_owned()).collect();
        self
    }

    pub fn sort(mut self, field: &str, descending: bool) -> Self {
        self.sort = Some(field.to_owned());
        self.descending = descending;
        self
    }

    fn apply(&self, url: &mut Url) {
        let mut pairs = url.query_pairs_mut();
        if let Some(filter) = &self.filter {
            pairs.append_pair("filter", filter);
        }
        if let Some(sort) = &self.sort {
            pairs.append_pair("sort", sort);
            pairs.append_pair("orderBy", if self.descending { "desc" } else { "asc" });
        }
        if !self.fields.is_empty() {
            pairs.append_pair("fields", &self.fields.join(","));
        }
    }
}

/// A OneRoster client for one base URL (`…/ims/oneroster/v1p1`) and one bearer.
#[derive(Debug, Clone)]
pub struct RosterClient {
    http: reqwest::Client,
    base: Url,
    auth: Arc<dyn Authorize>,
    settings: ClientSettings,
    /// Bounds the requests in flight to `settings.concurrency`.
    in_flight: Arc<Semaphore>,
}

struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl RosterClient {
    /// `http` should trust the OS certificate store and honour the system proxy; it
    /// must not follow redirects (a redirect would carry the bearer elsewhere).
    pub fn new(http: reqwest::Client, base: Url, bearer: Bearer) -> Self {
        Self::with_auth(http, base, Arc::new(bearer))
    }

    /// A client whose requests are authorized by `auth` (see [`Authorize`]).
    pub fn with_auth(http: reqwest::Client, base: Url, auth: Arc<dyn Authorize>) -> Self {
        let mut base = base;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let settings = ClientSettings::default();
        Self {
            http,
            base,
            auth,
            in_flight: Arc::new(Semaphore::new(settings.concurrency.max(1))),
            settings,
        }
    }

    pub fn with_settings(mut self, settings: ClientSettings) -> Self {
        self.in_flight = Arc::new(Semaphore::new(settings.concurrency.max(1)));
        self.settings = settings;
        self
    }

    pub fn settings(&self) -> &ClientSettings {
        &self.settings
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// One request with retries, its body read (up to `max_body_bytes`).
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<Response, RosterError> {
        let limit = self.settings.max_body_bytes;
        let deadline_after = self.settings.request_timeout;
        self.with_retries(&method, &url, || async {
            let response = self.attempt(&method, &url, body.as_deref()).await?;
            let status = response.status();
            let headers = response.headers().clone();
            let deadline = tokio::time::Instant::now() + deadline_after;
            let body = tokio::time::timeout_at(deadline, read_limited(response, limit))
                .await
                .map_err(|_| RosterError::TimedOut)??;
            Ok(Response {
                status,
                headers,
                body,
            })
        })
        .await
    }

    /// Runs `attempt` until it succeeds or the policy says stop. 429s are retried for
    /// any method (the server did not act on it); 5xx, timeouts and connection failures
    /// only for idempotent methods (GET, and PUT and DELETE to a record's own id).
    async fn with_retries<T, F, Fut>(
        &self,
        method: &Method,
        url: &Url,
        mut attempt: F,
    ) -> Result<T, RosterError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, RosterError>>,
    {
        let policy = &self.settings.retry;
        let started = Instant::now();
        let mut waited = Duration::ZERO;
        let mut transient_retries = 0;
        let mut rate_limit_retries = 0;
        loop {
            let result = attempt().await;
            let wait = match &result {
                Ok(_) => None,
                Err(RosterError::RateLimited { retry_after, .. }) => {
                    let wait = retry_after.unwrap_or(policy.default_retry_after);
                    (rate_limit_retries < policy.max_rate_limit_retries
                        && wait <= policy.max_retry_after)
                        .then(|| {
                            rate_limit_retries += 1;
                            wait
                        })
                }
                Err(e) if e.is_transient() && method.is_idempotent() => {
                    (transient_retries < policy.max_transient_retries).then(|| {
                        transient_retries += 1;
                        policy.backoff(transient_retries)
                    })
                }
                Err(_) => None,
            };
            match (result, wait) {
                (Ok(response), _) => {
                    tracing::debug!(
                        method = %method,
                        path = url.path(),
                        retries = transient_retries + rate_limit_retries,
                        elapsed_ms = started.elapsed().as_millis(),
                        "roster call"
                    );
                    return Ok(response);
                }
                (Err(e), Some(wait)) if waited + wait <= policy.max_total_wait => {
                    tracing::debug!(
                        method = %method,
                        path = url.path(),
                        code = %e.code(),
                        wait_ms = wait.as_millis(),
                        "roster call will be retried"
                    );
                    tokio::time::sleep(wait).await;
                    waited += wait;
                }
                (Err(e), _) => {
                    tracing::debug!(method = %method, path = url.path(), code = %e.code(), "roster call failed");
                    return Err(e);
                }
            }
        }
    }

    /// One attempt: a successful answer comes back with its body unread; a failure
    /// status becomes a [`RosterError`] with the server's `imsx_` description.
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
    ) -> Result<reqwest::Response, RosterError> {
        // Held until the answer's head is in; backoff waits and streamed bodies run
        // without it.
        let _permit = self
            .in_flight
            .acquire()
            .await
            .map_err(|_| RosterError::Unreachable("the client was shut down".into()))?;
        let authorization = self.auth.authorization(method, url).await?;
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .header(AUTHORIZATION, authorization)
            .header(ACCEPT, "application/json")
            .timeout(self.settings.request_timeout);
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let deadline = tokio::time::Instant::now() + self.settings.request_timeout;
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let headers = response.headers().clone();
        let body = tokio::time::timeout_at(
            deadline,
            read_limited(response, self.settings.max_body_bytes),
        )
        .await
        .map_err(|_| RosterError::TimedOut)??;
        if status.is_redirection() {
            return Err(RosterError::BadRequest {
                http: status.as_u16(),
                status: None,
            });
        }
        let retry_after = (status == StatusCode::TOO_MANY_REQUESTS)
            .then(|| headers.get(RETRY_AFTER))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        Err(RosterError::from_status(
            status.as_u16(),
            &body,
            retry_after,
        ))
    }

    async fn get_page<T: Resource>(
        &self,
        segments: &[&str],
        query: &Query,
        offset: u64,
        limit: u64,
    ) -> Result<Page<T>, RosterError> {
        let mut url = self.url(segments);
        query.apply(&mut url);
        url.query_pairs_mut()
            .append_pair("limit", &limit.to_string())
            .append_pair("offset", &offset.to_string());
        let response = self.send(Method::GET, url, None).await?;
        let items = parse_list::<T>(&response.body, T::COLLECTION)
            .map_err(|e| RosterError::Malformed(format!("not a OneRoster list: {e}")))?
            .ok_or_else(|| RosterError::Malformed("the answer holds no list of records".into()))?;
        let total = response
            .headers
            .get("x-total-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        Ok(Page { items, total })
    }

    /// Every record of a collection, across all pages.
    pub async fn list<T: Resource>(
        &self,
        segments: &[&str],
        query: &Query,
    ) -> Result<Vec<T>, RosterError> {
        let source = ListSource {
            client: self,
            segments,
            query,
        };
        let started = Instant::now();
        let items =
            collect_all(&source, self.settings.page_size, self.settings.concurrency).await?;
        tracing::debug!(
            collection = T::COLLECTION,
            count = items.len(),
            elapsed_ms = started.elapsed().as_millis(),
            "roster list read"
        );
        Ok(items)
    }

    /// One record (`{"class":{…}}`).
    pub async fn get<T: Resource>(&self, segments: &[&str]) -> Result<T, RosterError> {
        let response = self.send(Method::GET, self.url(segments), None).await?;
        parse_single::<T>(&response.body, T::SINGLE)
            .map_err(|e| RosterError::Malformed(format!("not a OneRoster record: {e}")))?
            .ok_or_else(|| RosterError::Malformed("the answer holds no record".into()))
    }

    /// How many records a collection holds: `X-Total-Count` of a one-record page when
    /// the server sends it, otherwise the ids of every page.
    pub async fn count(&self, segments: &[&str]) -> Result<u64, RosterError> {
        let ids = Query::default().fields(&["sourcedId"]);
        let first: Page<IdOnly> = self.get_page(segments, &ids, 0, 1).await?;
        if let Some(total) = first.total {
            return Ok(total);
        }
        let all: Vec<IdOnly> = self.list(segments, &ids).await?;
        Ok(u64::try_from(all.len()).unwrap_or(u64::MAX))
    }

    /// Creates or replaces a record (`PUT` with `{"<single>":{…}}` to its client-chosen
    /// `sourcedId`). Returns the record as the server answered it (with its new
    /// `dateLastModified`), or `None` when the answer had no body. A PUT to an id is
    /// idempotent, so it is retried like a GET.
    pub async fn put<T: Resource + Serialize>(
        &self,
        segments: &[&str],
        record: &T,
    ) -> Result<Option<T>, RosterError> {
        let mut envelope = serde_json::Map::new();
        envelope.insert(
            T::SINGLE.to_owned(),
            serde_json::to_value(record).map_err(|e| RosterError::Malformed(e.to_string()))?,
        );
        let body =
            serde_json::to_vec(&envelope).map_err(|e| RosterError::Malformed(e.to_string()))?;
        let response = self
            .send(Method::PUT, self.url(segments), Some(body))
            .await?;
        if response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        parse_single::<T>(&response.body, T::SINGLE)
            .map_err(|e| RosterError::Malformed(format!("not a OneRoster record: {e}")))
    }

    /// Deletes a record. A record that is already gone (404) counts as deleted.
    pub async fn delete(&self, segments: &[&str]) -> Result<(), RosterError> {
        match self.send(Method::DELETE, self.url(segments), None).await {
            Ok(_) | Err(RosterError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// One request whose answer the caller passes on as it is: `query` is appended to the
    /// path's URL, GETs are retried like every other read, and a failure status becomes
    /// a [`RosterError`] that keeps the server's `imsx_` description.
    pub async fn fetch(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(String, String)],
        body: Option<Vec<u8>>,
    ) -> Result<Fetched, RosterError> {
        let mut url = self.url(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let response = self.send(method, url, body).await?;
        Ok(Fetched {
            status: response.status.as_u16(),
            total_count: response
                .headers
                .get("x-total-count")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok()),
            body: response.body,
        })
    }

    /// Like [`Self::fetch`] for a GET, but the body of a successful answer is not read:
    /// the caller streams it on (the roster gateway), holding no whole payload in memory.
    /// The request timeout still covers the whole body.
    pub async fn fetch_streamed(
        &self,
        segments: &[&str],
        query: &[(String, String)],
    ) -> Result<Streamed, RosterError> {
        let mut url = self.url(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let response = self
            .with_retries(&Method::GET, &url, || {
                self.attempt(&Method::GET, &url, None)
            })
            .await?;
        Ok(Streamed {
            status: response.status().as_u16(),
            total_count: response
                .headers()
                .get("x-total-count")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok()),
            response,
        })
    }

    /// Runs independent calls, keeping their order. The client's semaphore bounds the
    /// requests in flight; this only bounds how many calls are started at once.
    pub async fn for_each<I, F, Fut, R>(&self, inputs: I, call: F) -> Vec<R>
    where
        I: IntoIterator,
        F: FnMut(I::Item) -> Fut,
        Fut: std::future::Future<Output = R>,
    {
        stream::iter(inputs)
            .map(call)
            .buffered(self.settings.concurrency.max(1) * 4)
            .collect()
            .await
    }

    pub async fn classes_for_teacher(&self, teacher_id: &str) -> Result<Vec<Class>, RosterError> {
        self.list(&["teachers", teacher_id, "classes"], &Query::default())
            .await
    }

    pub async fn classes_for_school(&self, school_id: &str) -> Result<Vec<Class>, RosterError> {
        self.list(&["schools", school_id, "classes"], &Query::default())
            .await
    }

    pub async fn students_for_class(&self, class_id: &str) -> Result<Vec<User>, RosterError> {
        self.list(&["classes", class_id, "students"], &Query::default())
            .await
    }

    pub async fn teachers_for_class(&self, class_id: &str) -> Result<Vec<User>, RosterError> {
        self.list(&["classes", class_id, "teachers"], &Query::default())
            .await
    }

    pub async fn student_count(&self, class_id: &str) -> Result<u64, RosterError> {
        self.count(&["classes", class_id, "students"]).await
    }

    pub async fn class(&self, class_id: &str) -> Result<Class, RosterError> {
        self.get(&["classes", class_id]).await
    }

    pub async fn school(&self, school_id: &str) -> Result<Org, RosterError> {
        self.get(&["schools", school_id]).await
    }

    pub async fn academic_sessions(&self) -> Result<Vec<AcademicSession>, RosterError> {
        self.list(&["academicSessions"], &Query::default()).await
    }

    pub async fn users_with_email(&self, email: &str) -> Result<Vec<User>, RosterError> {
        self.list(&["users"], &Query::filter_eq("email", email))
            .await
    }

    pub async fn line_items_for_class(&self, class_id: &str) -> Result<Vec<LineItem>, RosterError> {
        self.list(&["classes", class_id, "lineItems"], &Query::default())
            .await
    }

    pub async fn results_for_class(&self, class_id: &str) -> Result<Vec<GradeResult>, RosterError> {
        self.list(&["classes", class_id, "results"], &Query::default())
            .await
    }

    pub async fn categories(&self) -> Result<Vec<Category>, RosterError> {
        self.list(&["categories"], &Query::default()).await
    }
}

struct ListSource<'a> {
    client: &'a RosterClient,
    segments: &'a [&'a str],
    query: &'a Query,
}

impl<T: Resource> PageSource<T> for ListSource<'_> {
    fn fetch(
        &self,
        offset: u64,
        limit: u64,
    ) -> impl Future<Output = Result<Page<T>, RosterError>> + Send {
        self.client
            .get_page(self.segments, self.query, offset, limit)
    }
}

fn transport_error(e: reqwest::Error) -> RosterError {
    if e.is_timeout() {
        return RosterError::TimedOut;
    }
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        detail = format!("{detail}: {s}");
        source = s.source();
    }
    RosterError::Unreachable(detail)
}

/// A response body, refused when it grows past `limit` bytes (nothing larger is held).
pub async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, RosterError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > limit {
            return Err(RosterError::Malformed(format!(
                "the answer is larger than {} MB",
                limit >> 20
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_values_double_their_quotes() {
        let q = Query::filter_eq("email", "o'brien@x.example");
        assert_eq!(q.filter.as_deref(), Some("email='o''brien@x.example'"));
        let mut url = Url::parse("https://sis.example/users").unwrap();
        q.apply(&mut url);
        assert_eq!(
            url.query(),
            Some("filter=email%3D%27o%27%27brien%40x.example%27")
        );
    }
}
