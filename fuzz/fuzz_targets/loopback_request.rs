//! The loopback listener (RFC 8252 §7.3) fed raw bytes on a real socket: HTTP parsing,
//! the path and state checks, the one-answer rule and the pages it returns.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use rollbook_auth::{CallbackPage, LoopbackListener, PendingSignIn};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    runtime().block_on(async {
        let listener = LoopbackListener::bind().await.expect("a loopback port");
        let port = listener.port();
        let pending = PendingSignIn::for_fuzzing(listener.redirect_uri());
        let waiting = tokio::spawn(async move {
            let answer = listener.receive(&pending, Duration::from_secs(5)).await;
            if let Ok(callback) = answer {
                let url = callback.url().clone();
                callback.respond(CallbackPage::SignedIn {
                    name: "Fuzz".into(),
                });
                Some(url)
            } else {
                None
            }
        });
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let _ = stream.write_all(data).await;
        let _ = stream.shutdown().await;
        let mut reply = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut reply)).await;
        // A callback that matched has been answered by now; anything else is still
        // waiting, and is stopped (closing its listener).
        tokio::task::yield_now().await;
        if !waiting.is_finished() {
            waiting.abort();
        }
        if let Ok(Some(url)) = waiting.await {
            // Only the attempt's own state completes it.
            let state = url
                .query_pairs()
                .find(|(k, _)| k == "state")
                .map(|(_, v)| v.into_owned());
            assert_eq!(state.as_deref(), Some("fuzz-state"), "{url}");
        }
        let text = String::from_utf8_lossy(&reply);
        assert!(!text.to_ascii_lowercase().contains("<script"), "{text}");
    });
});
