//! The loopback redirect receiver (RFC 8252 §7.3).
//!
//! Binds `127.0.0.1:0` (or `[::1]:0`) once and keeps that very socket, so no other
//! program can take the port between choosing and listening. It answers only
//! `GET /callback` carrying the pending `state`, exactly once; anything else gets a
//! small page and does not end the attempt. Requests are parsed by hyper with a header
//! timeout and size cap, so garbage, huge or slow clients cost nothing.

use std::convert::Infallible;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, oneshot};
use url::Url;

use crate::callback::AuthorizationResponse;
use crate::{AuthError, CallbackPage, ErrorCode, PendingSignIn, RedirectUri};

const CALLBACK_PATH: &str = "/callback";
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// hyper's minimum; a browser's redirect request is far smaller.
const MAX_REQUEST_HEAD_BYTES: usize = 16 * 1024;
const MAX_CONNECTIONS: usize = 32;
/// How long the browser tab waits for the app's final word before a neutral page.
const PAGE_WAIT: Duration = Duration::from_secs(60);

/// A bound loopback socket waiting for one sign-in's redirect.
#[derive(Debug)]
pub struct LoopbackListener {
    listener: TcpListener,
    redirect_uri: Url,
}

/// The redirect that carried the pending `state`. The browser tab waits until
/// [`LoopbackCallback::respond`] says how the sign-in ended.
#[derive(Debug)]
pub struct LoopbackCallback {
    url: Url,
    reply: oneshot::Sender<CallbackPage>,
}

impl LoopbackCallback {
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Shows the final page in the browser tab.
    pub fn respond(self, page: CallbackPage) {
        // The tab may be gone already; there is nobody else to tell.
        let _ = self.reply.send(page);
    }
}

impl LoopbackListener {
    /// Binds an ephemeral port on `127.0.0.1`, falling back to `[::1]`. Never a wildcard.
    pub async fn bind() -> Result<Self, AuthError> {
        let listener = match TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await {
            Ok(listener) => listener,
            Err(v4) => TcpListener::bind((Ipv6Addr::LOCALHOST, 0))
                .await
                .map_err(|v6| AuthError::ListenerFailed(format!("{v4}; [::1]: {v6}")))?,
        };
        let local = listener
            .local_addr()
            .map_err(|e| AuthError::ListenerFailed(e.to_string()))?;
        let host = match local {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        };
        let redirect_uri = Url::parse(&format!("http://{host}:{}{CALLBACK_PATH}", local.port()))
            .map_err(|e| AuthError::ListenerFailed(e.to_string()))?;
        Ok(Self {
            listener,
            redirect_uri,
        })
    }

    pub fn redirect_uri(&self) -> RedirectUri {
        RedirectUri::Loopback(self.redirect_uri.clone())
    }

    pub fn port(&self) -> u16 {
        self.redirect_uri.port().unwrap_or_default()
    }

    /// Serves until the redirect for `pending` arrives or `timeout` passes. The socket
    /// closes when this returns, so the redirect can be received only once.
    pub async fn receive(
        self,
        pending: &PendingSignIn,
        timeout: Duration,
    ) -> Result<LoopbackCallback, AuthError> {
        let (found_tx, mut found_rx) = mpsc::channel::<LoopbackCallback>(1);
        let shared = Arc::new(Shared {
            state: pending.state.secret().clone().into(),
            redirect_uri: self.redirect_uri.clone(),
            taken: AtomicBool::new(false),
            saw_wrong_state: AtomicBool::new(false),
            found: found_tx,
        });
        let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                Some(callback) = found_rx.recv() => return Ok(callback),
                () = &mut deadline => {
                    return Err(if shared.saw_wrong_state.load(Ordering::SeqCst) {
                        AuthError::StateMismatch
                    } else {
                        AuthError::SignInTimedOut { seconds: timeout.as_secs() }
                    });
                }
                accepted = self.listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
                        continue; // too many open connections: drop this one
                    };
                    let shared = Arc::clone(&shared);
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |request| {
                            let shared = Arc::clone(&shared);
                            async move { Ok::<_, Infallible>(shared.handle(request).await) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .timer(TokioTimer::new())
                            .header_read_timeout(HEADER_READ_TIMEOUT)
                            .max_buf_size(MAX_REQUEST_HEAD_BYTES)
                            .keep_alive(false)
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                        drop(permit);
                    });
                }
            }
        }
    }
}

struct Shared {
    state: Box<str>,
    redirect_uri: Url,
    taken: AtomicBool,
    saw_wrong_state: AtomicBool,
    found: mpsc::Sender<LoopbackCallback>,
}

impl Shared {
    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        if request.method() != Method::GET || request.uri().path() != CALLBACK_PATH {
            return page(StatusCode::NOT_FOUND, &stray_page());
        }
        let mut url = self.redirect_uri.clone();
        url.set_query(request.uri().query());
        if !AuthorizationResponse::from_url(&url).state_matches(&self.state) {
            self.saw_wrong_state.store(true, Ordering::SeqCst);
            return page(
                StatusCode::BAD_REQUEST,
                &CallbackPage::Failed {
                    code: ErrorCode::StateMismatch,
                    message: "This answer does not belong to the sign-in Rollbook is waiting for, so it was ignored.".into(),
                },
            );
        }
        if self.taken.swap(true, Ordering::SeqCst) {
            return page(
                StatusCode::CONFLICT,
                &CallbackPage::Failed {
                    code: ErrorCode::SignInAlreadyUsed,
                    message: "This sign-in was already completed.".into(),
                },
            );
        }
        let (reply, answer) = oneshot::channel();
        if self
            .found
            .send(LoopbackCallback { url, reply })
            .await
            .is_err()
        {
            return page(StatusCode::GONE, &stray_page());
        }
        let final_page = match tokio::time::timeout(PAGE_WAIT, answer).await {
            Ok(Ok(final_page)) => final_page,
            _ => CallbackPage::Failed {
                code: ErrorCode::SignInUnfinished,
                message: "Rollbook received the answer. Go back to Rollbook to see how it went."
                    .into(),
            },
        };
        let status = match final_page {
            CallbackPage::SignedIn { .. } => StatusCode::OK,
            CallbackPage::Failed { .. } => StatusCode::BAD_REQUEST,
        };
        page(status, &final_page)
    }
}

fn stray_page() -> CallbackPage {
    CallbackPage::Failed {
        code: ErrorCode::CallbackNotFound,
        message: "Nothing here. Rollbook is waiting for your provider's sign-in page.".into(),
    }
}

fn page(status: StatusCode, content: &CallbackPage) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(content.html())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in [
        (hyper::header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (hyper::header::CACHE_CONTROL, "no-store"),
        (hyper::header::REFERRER_POLICY, "no-referrer"),
        (
            hyper::header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'",
        ),
        (hyper::header::CONNECTION, "close"),
    ] {
        headers.insert(name, hyper::header::HeaderValue::from_static(value));
    }
    response
}
