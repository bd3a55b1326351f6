//! Where a session's secrets are kept between runs: the OS keychain.
//!
//! One keychain entry per session, under service [`KEYCHAIN_SERVICE`] and an account
//! that names issuer, client and subject. Windows Credential Manager holds at most
//! 2,560 bytes per entry (1,280 UTF-16 characters), so larger payloads are split into
//! parts written under the slot (`a` or `b`) the head does not use, before the head
//! entry points at them; a failed write never leaves a head pointing at half-written
//! parts. Two fixed slots rather than a fresh name per write: the parts a crash left
//! behind (a refresh token in them) are where the next write and sign-out look, so
//! nothing stays in the keychain after sign-out. A payload is at most
//! [`MAX_PAYLOAD_CHARS`] long (a provider's oversized tokens are refused, not spread
//! over hundreds of entries).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{AccessToken, NonConfidentialSecret, RefreshToken};

/// The keychain service name every Rollbook entry lives under.
pub const KEYCHAIN_SERVICE: &str = "org.rollbook.desktop";

const CHUNK_HEADER: &str = "rollbook-chunks:v1:";
/// The largest session payload kept (tokens, nonce, client secret as JSON), in UTF-16
/// code units (Credential Manager's measure; the same as characters for the ASCII that
/// tokens are): 28 entries of Windows Credential Manager. Real tokens are a few kilobytes; more is a provider
/// misbehaving, and the session is then kept in memory only (`keychain_too_large`).
pub const MAX_PAYLOAD_CHARS: usize = 32 * 1024;
const SLOTS: [&str; 2] = ["a", "b"];
/// How long a keychain call may take before we assume it waits on a prompt that will
/// never be answered (a locked keyring on a headless or lab machine).
const KEYCHAIN_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the system keychain is not available ({0}); the session is kept in memory only and ends when Rollbook closes"
    )]
    Unavailable(String),
    #[error(
        "the system keychain did not answer; it may be locked. Unlock it (or sign in to the computer again) and retry"
    )]
    TimedOut,
    #[error("the system keychain refused the request: {0}")]
    Platform(String),
    #[error(
        "the session is too large for the system keychain (the provider's tokens exceed {MAX_PAYLOAD_CHARS} characters)"
    )]
    TooLarge,
    #[error("the saved session in the keychain is damaged; please sign in again")]
    Corrupt,
}

impl StoreError {
    pub fn code(&self) -> crate::ErrorCode {
        use crate::ErrorCode;
        match self {
            Self::Unavailable(_) => ErrorCode::KeychainUnavailable,
            Self::TimedOut => ErrorCode::KeychainLocked,
            Self::Platform(_) => ErrorCode::KeychainError,
            Self::TooLarge => ErrorCode::KeychainTooLarge,
            Self::Corrupt => ErrorCode::KeychainCorrupt,
        }
    }
}

/// Names one session's entry: issuer, client and subject.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StoreKey {
    pub issuer: String,
    pub client_id: String,
    pub subject: String,
}

impl StoreKey {
    /// The keychain account name. Readable, so an admin can find it in Keychain Access.
    pub fn account(&self) -> String {
        format!("{} {} {}", self.issuer, self.client_id, self.subject)
    }
}

/// The secrets of one session, as the keychain keeps them.
#[derive(Debug, Clone)]
pub struct StoredCredentials {
    pub refresh_token: Option<RefreshToken>,
    /// Kept too, because ClassLink issues no refresh token: without it a restart would
    /// always mean signing in again.
    pub access_token: AccessToken,
    pub access_expires_at: Option<i64>,
    /// The nonce of the original sign-in; a refreshed ID token may repeat only it.
    pub original_nonce: Option<String>,
    /// The client secret of a provider that insists on one (not confidential in a shipped
    /// app, RFC 8252 §8.5, but still kept out of files): refresh and revocation need it
    /// after a restart.
    pub client_secret: Option<NonConfidentialSecret>,
}

#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    v: u8,
    #[serde(borrow)]
    rt: Option<&'a str>,
    at: &'a str,
    exp: Option<i64>,
    nonce: Option<&'a str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cs: Option<&'a str>,
}

impl StoredCredentials {
    fn to_payload(&self) -> String {
        let wire = Wire {
            v: 1,
            rt: self.refresh_token.as_ref().map(RefreshToken::secret),
            at: self.access_token.secret(),
            exp: self.access_expires_at,
            nonce: self.original_nonce.as_deref(),
            cs: self
                .client_secret
                .as_ref()
                .map(NonConfidentialSecret::secret),
        };
        serde_json::to_string(&wire).unwrap_or_default()
    }

    fn from_payload(payload: &str) -> Result<Self, StoreError> {
        let wire: Wire<'_> = serde_json::from_str(payload).map_err(|_| StoreError::Corrupt)?;
        if wire.v != 1 {
            return Err(StoreError::Corrupt);
        }
        Ok(Self {
            refresh_token: wire.rt.map(RefreshToken::new),
            access_token: AccessToken::new(wire.at),
            access_expires_at: wire.exp,
            original_nonce: wire.nonce.map(str::to_owned),
            client_secret: wire.cs.map(NonConfidentialSecret::new),
        })
    }
}

/// Loads, saves and clears a session's secrets. Calls may block (a keychain prompt);
/// async code goes through [`call_store`].
pub trait TokenStore: Send + Sync + std::fmt::Debug {
    fn load(&self, key: &StoreKey) -> Result<Option<StoredCredentials>, StoreError>;
    fn save(&self, key: &StoreKey, credentials: &StoredCredentials) -> Result<(), StoreError>;
    fn clear(&self, key: &StoreKey) -> Result<(), StoreError>;
    /// Writes, reads back and deletes a probe entry: is the keychain usable right now?
    fn probe(&self) -> Result<(), StoreError>;
    /// A short secret of Rollbook's own under `account` (the local store's key).
    fn load_secret(&self, account: &str) -> Result<Option<String>, StoreError>;
    fn save_secret(&self, account: &str, secret: &str) -> Result<(), StoreError>;
    /// Deletes it; an absent entry is not an error.
    fn clear_secret(&self, account: &str) -> Result<(), StoreError>;
}

/// Runs a blocking store call off the async runtime, with a timeout for prompts that
/// never come. Every async caller of a [`TokenStore`] goes through this.
pub async fn call_store<T, F>(store: &Arc<dyn TokenStore>, call: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce(&dyn TokenStore) -> Result<T, StoreError> + Send + 'static,
{
    let store = Arc::clone(store);
    let task = tokio::task::spawn_blocking(move || call(store.as_ref()));
    match tokio::time::timeout(KEYCHAIN_TIMEOUT, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(StoreError::Platform(format!(
            "keychain call failed: {join}"
        ))),
        Err(_) => Err(StoreError::TimedOut),
    }
}

/// The OS keychain: macOS Keychain, Windows Credential Manager, or the Secret Service
/// (GNOME Keyring, KWallet) on Linux.
#[derive(Debug, Clone)]
pub struct KeychainStore {
    service: String,
    chunk_chars: usize,
    /// Test-only: how many more writes succeed before one fails (a crash mid-save).
    #[cfg(test)]
    writes_left: Option<Arc<std::sync::atomic::AtomicUsize>>,
}

impl Default for KeychainStore {
    fn default() -> Self {
        Self::new()
    }
}

impl KeychainStore {
    pub fn new() -> Self {
        // Windows: 2,560 bytes of UTF-16 per credential, so 1,280 code units; leave
        // room. Parts are measured in UTF-16 code units (split_utf16).
        let chunk_chars = if cfg!(windows) { 1_200 } else { 16 * 1024 };
        Self {
            service: KEYCHAIN_SERVICE.to_owned(),
            chunk_chars,
            #[cfg(test)]
            writes_left: None,
        }
    }

    /// A store under another service name, so tests never touch a real session.
    pub fn with_service(mut self, service: impl Into<String>) -> Self {
        self.service = service.into();
        self
    }

    /// Splits payloads larger than this many characters (tests force chunking with it).
    pub fn with_chunk_chars(mut self, chunk_chars: usize) -> Self {
        self.chunk_chars = chunk_chars.max(64);
        self
    }

    fn entry(&self, account: &str) -> Result<keyring::Entry, StoreError> {
        keyring::Entry::new(&self.service, account).map_err(map_keyring)
    }

    fn read(&self, account: &str) -> Result<Option<String>, StoreError> {
        once_more_if_gone(|| match self.entry(account)?.get_password() {
            Ok(value) => Ok(Some(value)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_keyring(e)),
        })
    }

    fn write(&self, account: &str, value: &str) -> Result<(), StoreError> {
        #[cfg(test)]
        if let Some(left) = &self.writes_left {
            use std::sync::atomic::Ordering;
            if left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_err()
            {
                return Err(StoreError::Platform("test: the write failed".to_owned()));
            }
        }
        once_more_if_gone(|| {
            self.entry(account)?
                .set_password(value)
                .map_err(map_keyring)
        })
    }

    fn delete(&self, account: &str) -> Result<(), StoreError> {
        self.delete_existing(account).map(|_| ())
    }

    /// Deletes an entry; true when there was one.
    fn delete_existing(&self, account: &str) -> Result<bool, StoreError> {
        once_more_if_gone(|| match self.entry(account)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(map_keyring(e)),
        })
    }

    /// The most parts a payload of [`MAX_PAYLOAD_CHARS`] takes (a part may end one
    /// unit short, where a surrogate pair would not fit).
    fn max_parts(&self) -> usize {
        MAX_PAYLOAD_CHARS.div_ceil(self.chunk_chars - 1)
    }

    /// Deletes the parts a head names, last first: what a failure leaves is then parts
    /// 0..k, which [`Self::sweep`] finds.
    fn delete_parts(&self, account: &str, head: &str) -> Result<(), StoreError> {
        if let Some(chunked) = ChunkHead::parse(head) {
            for index in (0..chunked.count.min(self.max_parts())).rev() {
                self.delete(&chunked.part_account(account, index))?;
            }
        }
        Ok(())
    }

    /// Deletes a slot's parts from `from` on, up to the first that is not there (a
    /// slot's parts are numbered from 0 without gaps: written first to last, deleted
    /// last to first). Removes what a crash mid-save left.
    fn sweep(&self, account: &str, slot: &str, from: usize) -> Result<(), StoreError> {
        let head = ChunkHead {
            generation: slot,
            count: 0,
            digest: "",
        };
        for index in from..self.max_parts() {
            if !self.delete_existing(&head.part_account(account, index))? {
                break;
            }
        }
        Ok(())
    }

    /// The payload a head entry holds or points at.
    fn assemble(&self, account: &str, head: &str) -> Result<String, StoreError> {
        let Some(chunked) = ChunkHead::parse(head) else {
            return Ok(head.to_owned());
        };
        if chunked.count > self.max_parts() {
            return Err(StoreError::Corrupt);
        }
        let mut payload = String::new();
        for index in 0..chunked.count {
            let part = self
                .read(&chunked.part_account(account, index))?
                .ok_or(StoreError::Corrupt)?;
            payload.push_str(&part);
        }
        if sha256_hex(&payload) != chunked.digest {
            return Err(StoreError::Corrupt);
        }
        Ok(payload)
    }
}

/// The head entry of a chunked payload: `rollbook-chunks:v1:{generation}:{count}:{sha256}`.
struct ChunkHead<'a> {
    generation: &'a str,
    count: usize,
    digest: &'a str,
}

impl<'a> ChunkHead<'a> {
    fn parse(head: &'a str) -> Option<Self> {
        let mut fields = head.strip_prefix(CHUNK_HEADER)?.split(':');
        let generation = fields.next()?;
        let count = fields.next()?.parse().ok()?;
        let digest = fields.next()?;
        Some(Self {
            generation,
            count,
            digest,
        })
    }

    fn part_account(&self, account: &str, index: usize) -> String {
        format!("{account} #{}.{index}", self.generation)
    }
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl TokenStore for KeychainStore {
    fn load(&self, key: &StoreKey) -> Result<Option<StoredCredentials>, StoreError> {
        let account = key.account();
        let Some(head) = self.read(&account)? else {
            return Ok(None);
        };
        let payload = match self.assemble(&account, &head) {
            Ok(payload) => payload,
            // A save in between reuses the slot being read: read again once when the
            // head moved (the digest tells a mixed read).
            Err(StoreError::Corrupt) => match self.read(&account)? {
                Some(now) if now != head => self.assemble(&account, &now)?,
                _ => return Err(StoreError::Corrupt),
            },
            Err(e) => return Err(e),
        };
        StoredCredentials::from_payload(&payload).map(Some)
    }

    fn save(&self, key: &StoreKey, credentials: &StoredCredentials) -> Result<(), StoreError> {
        let account = key.account();
        let payload = credentials.to_payload();
        let length = payload.encode_utf16().count();
        // Refused before anything is written: the saved session stays as it was.
        if length > MAX_PAYLOAD_CHARS {
            return Err(StoreError::TooLarge);
        }
        let previous = self.read(&account)?;
        let mut used_slot = None;
        if length <= self.chunk_chars {
            self.write(&account, &payload)?;
        } else {
            // The slot the head in place does not use (an older release's random
            // generation counts as neither).
            let in_use = previous.as_deref().and_then(ChunkHead::parse);
            let generation = if in_use.is_some_and(|head| head.generation == SLOTS[0]) {
                SLOTS[1]
            } else {
                SLOTS[0]
            };
            used_slot = Some(generation);
            let parts = split_utf16(&payload, self.chunk_chars);
            let head_text = format!(
                "{CHUNK_HEADER}{generation}:{}:{}",
                parts.len(),
                sha256_hex(&payload)
            );
            let head = ChunkHead::parse(&head_text).ok_or(StoreError::Corrupt)?;
            for (index, part) in parts.iter().enumerate() {
                self.write(&head.part_account(&account, index), part)?;
            }
            // A crashed save into this slot may have left more parts than this one has.
            self.sweep(&account, generation, parts.len())?;
            self.write(&account, &head_text)?;
        }
        // Only now that the new head is in place may the old parts go, with any a
        // crashed save left in a slot the head does not use.
        if let Some(previous) = previous {
            self.delete_parts(&account, &previous)?;
        }
        for slot in SLOTS {
            if used_slot != Some(slot) {
                self.sweep(&account, slot, 0)?;
            }
        }
        Ok(())
    }

    fn clear(&self, key: &StoreKey) -> Result<(), StoreError> {
        let account = key.account();
        if let Some(head) = self.read(&account)? {
            self.delete_parts(&account, &head)?;
        }
        // Parts a crashed save left, which no head names.
        for slot in SLOTS {
            self.sweep(&account, slot, 0)?;
        }
        self.delete(&account)
    }

    fn load_secret(&self, account: &str) -> Result<Option<String>, StoreError> {
        self.read(account)
    }

    fn save_secret(&self, account: &str, secret: &str) -> Result<(), StoreError> {
        self.write(account, secret)
    }

    fn clear_secret(&self, account: &str) -> Result<(), StoreError> {
        self.delete(account)
    }

    fn probe(&self) -> Result<(), StoreError> {
        let account = format!("probe {}", rand::random::<u32>());
        self.write(&account, "probe")?;
        let read = self.read(&account);
        self.delete(&account)?;
        match read? {
            Some(value) if value == "probe" => Ok(()),
            _ => Err(StoreError::Platform(
                "a probe entry could not be read back".to_owned(),
            )),
        }
    }
}

/// Makes a keychain call, and once more after a moment when the keychain service went
/// away in the middle of it. gnome-keyring-daemon can abort when another client dies
/// mid-request (upstream's "NULL client pointer" assertion); the session bus or systemd
/// starts it again, and the next call reaches the new one. Every call here is idempotent
/// (a read, a write of the same value, a delete of what may be gone already).
fn once_more_if_gone<T>(call: impl Fn() -> Result<T, StoreError>) -> Result<T, StoreError> {
    match call() {
        Err(StoreError::Platform(detail)) if service_went_away(&detail) => {
            std::thread::sleep(std::time::Duration::from_millis(250));
            call()
        }
        other => other,
    }
}

/// The Secret Service's "the daemon disconnected without replying" (D-Bus `NoReply`).
fn service_went_away(detail: &str) -> bool {
    detail.contains("disconnected from message bus") || detail.contains("NoReply")
}

fn map_keyring(error: keyring::Error) -> StoreError {
    match error {
        keyring::Error::NoStorageAccess(e) => StoreError::Unavailable(e.to_string()),
        keyring::Error::TooLong(..) => StoreError::TooLarge,
        keyring::Error::BadEncoding(_) => StoreError::Corrupt,
        other => StoreError::Platform(other.to_string()),
    }
}

/// `text` in parts of at most `max_units` UTF-16 code units each (Credential Manager
/// measures a credential's blob in UTF-16 bytes), never splitting a character.
fn split_utf16(text: &str, max_units: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut part = String::new();
    let mut units = 0;
    for c in text.chars() {
        if units + c.len_utf16() > max_units {
            parts.push(std::mem::take(&mut part));
            units = 0;
        }
        units += c.len_utf16();
        part.push(c);
    }
    if !part.is_empty() {
        parts.push(part);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_measured_in_utf16_units_and_never_split_a_character() {
        // 1,200 characters outside the Basic Multilingual Plane are 2,400 UTF-16 units
        // (4,800 bytes: past Credential Manager's 2,560 for one part of 1,200 chars).
        let text = format!("{}{}", "a".repeat(5), "😀".repeat(1_200));
        let parts = split_utf16(&text, 1_200);
        assert!(
            parts.iter().all(|p| p.encode_utf16().count() <= 1_200),
            "{:?}",
            parts
                .iter()
                .map(|p| p.encode_utf16().count())
                .collect::<Vec<_>>()
        );
        assert_eq!(parts.concat(), text);
        assert_eq!(parts.len(), 3);
        // Plain text fills each part.
        let plain = "x".repeat(2_500);
        let parts = split_utf16(&plain, 1_200);
        assert_eq!(
            parts.iter().map(String::len).collect::<Vec<_>>(),
            [1_200, 1_200, 100]
        );
        assert!(split_utf16("", 10).is_empty());
    }

    #[test]
    fn a_call_the_keychain_service_dropped_is_made_once_more_and_no_other() {
        use std::cell::Cell;
        let gone = "Platform secure storage failure: DBus error: Message recipient disconnected from message bus without replying";
        let calls = Cell::new(0);
        let answer = once_more_if_gone(|| {
            calls.set(calls.get() + 1);
            if calls.get() == 1 {
                Err(StoreError::Platform(gone.to_owned()))
            } else {
                Ok(7)
            }
        });
        assert_eq!((answer.ok(), calls.get()), (Some(7), 2));
        // Dropped twice: the second failure is the answer.
        calls.set(0);
        let answer: Result<(), _> = once_more_if_gone(|| {
            calls.set(calls.get() + 1);
            Err(StoreError::Platform(gone.to_owned()))
        });
        assert!(answer.is_err() && calls.get() == 2);
        // Anything else is not repeated (a locked keychain must not wait twice).
        calls.set(0);
        let answer: Result<(), _> = once_more_if_gone(|| {
            calls.set(calls.get() + 1);
            Err(StoreError::TimedOut)
        });
        assert!(answer.is_err() && calls.get() == 1);
        calls.set(0);
        let answer: Result<(), _> = once_more_if_gone(|| {
            calls.set(calls.get() + 1);
            Err(StoreError::Platform("access denied".into()))
        });
        assert!(answer.is_err() && calls.get() == 1);
    }

    #[test]
    fn payload_round_trips_and_debug_hides_secrets() {
        let credentials = StoredCredentials {
            refresh_token: Some(RefreshToken::new("rt-secret")),
            access_token: AccessToken::new("at-secret"),
            access_expires_at: Some(42),
            original_nonce: Some("n".into()),
            client_secret: Some(NonConfidentialSecret::new("cs-secret")),
        };
        let back = StoredCredentials::from_payload(&credentials.to_payload()).unwrap();
        assert_eq!(back.refresh_token.unwrap().secret(), "rt-secret");
        assert_eq!(back.client_secret.unwrap().secret(), "cs-secret");
        // Entries written before the client secret was kept read as "none".
        let old = r#"{"v":1,"rt":"r","at":"a","exp":null,"nonce":null}"#;
        assert!(
            StoredCredentials::from_payload(old)
                .unwrap()
                .client_secret
                .is_none()
        );
        assert_eq!(back.access_expires_at, Some(42));
        let shown = format!("{credentials:?}");
        for value in ["rt-secret", "at-secret", "cs-secret"] {
            assert!(!shown.contains(value), "{shown}");
        }
        assert!(matches!(
            StoredCredentials::from_payload("{"),
            Err(StoreError::Corrupt)
        ));
    }

    /// A store under a service of this test's own (the real Secret Service, inside
    /// scripts/in-test-session.sh), parts of `chunk` characters.
    fn test_store(name: &str, chunk: usize) -> (KeychainStore, StoreKey) {
        let base =
            std::env::var("ROLLBOOK_KEYCHAIN_SERVICE").expect("run in scripts/in-test-session.sh");
        let store = KeychainStore::new()
            .with_service(format!("{base}.{name}.{}", std::process::id()))
            .with_chunk_chars(chunk);
        let key = StoreKey {
            issuer: "https://parts.example".into(),
            client_id: "c".into(),
            subject: "s".into(),
        };
        (store, key)
    }

    /// Every entry under the store's service, as the keychain lists them.
    fn entries(store: &KeychainStore) -> usize {
        let out = std::process::Command::new("secret-tool")
            .args(["search", "--all", "service", &store.service])
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        text.lines()
            .filter(|l| l.starts_with("attribute.username"))
            .count()
    }

    fn session(refresh: &str) -> StoredCredentials {
        StoredCredentials {
            refresh_token: Some(RefreshToken::new(refresh)),
            access_token: AccessToken::new("at"),
            access_expires_at: None,
            original_nonce: None,
            client_secret: None,
        }
    }

    #[test]
    fn parts_a_crashed_save_left_are_gone_after_the_next_save_and_after_sign_out() {
        let (mut store, key) = test_store("crash", 64);
        store.save(&key, &session(&"1".repeat(500))).unwrap();
        // A save that stops after 3 of its parts (the process killed, the keychain
        // refusing): the session in place is still read whole.
        store.writes_left = Some(Arc::new(std::sync::atomic::AtomicUsize::new(3)));
        assert!(store.save(&key, &session(&"2".repeat(900))).is_err());
        store.writes_left = None;
        let kept = store.load(&key).unwrap().unwrap();
        assert_eq!(kept.refresh_token.unwrap().secret(), "1".repeat(500));
        // The next save (fewer parts than either) leaves only its own.
        store.save(&key, &session(&"3".repeat(200))).unwrap();
        let expected = 1 + session(&"3".repeat(200)).to_payload().len().div_ceil(64);
        assert_eq!(entries(&store), expected, "parts of earlier saves left");
        assert_eq!(
            store
                .load(&key)
                .unwrap()
                .unwrap()
                .refresh_token
                .unwrap()
                .secret(),
            "3".repeat(200)
        );
        // A crash again, then sign-out: nothing of any save is left (a refresh token
        // in an orphaned part would outlive the sign-out).
        store.writes_left = Some(Arc::new(std::sync::atomic::AtomicUsize::new(2)));
        assert!(store.save(&key, &session(&"4".repeat(900))).is_err());
        store.writes_left = None;
        store.clear(&key).unwrap();
        assert_eq!(entries(&store), 0, "entries left after sign-out");
    }

    #[test]
    fn an_oversized_session_is_refused_before_anything_is_written() {
        let (store, key) = test_store("oversized", 4096);
        store.save(&key, &session("kept")).unwrap();
        // A hostile or broken provider's megabyte token: 256 entries of 4,096
        // characters, or 870 of Windows' 1,200, were it split.
        let huge = session(&"x".repeat(1024 * 1024));
        let refused = store.save(&key, &huge).unwrap_err();
        assert!(matches!(refused, StoreError::TooLarge), "{refused:?}");
        assert_eq!(refused.code().as_str(), "keychain_too_large");
        assert_eq!(entries(&store), 1, "nothing but the session in place");
        let kept = store.load(&key).unwrap().unwrap();
        assert_eq!(kept.refresh_token.unwrap().secret(), "kept");
        // The largest allowed still fits, and a head naming more parts than that reads
        // as damaged instead of being followed.
        let largest = "y".repeat(MAX_PAYLOAD_CHARS - session("").to_payload().len());
        store.save(&key, &session(&largest)).unwrap();
        assert_eq!(entries(&store), 1 + MAX_PAYLOAD_CHARS.div_ceil(4096));
        store
            .write(&key.account(), &format!("{CHUNK_HEADER}a:1000000:00"))
            .unwrap();
        assert!(matches!(store.load(&key), Err(StoreError::Corrupt)));
        store.clear(&key).unwrap();
        assert_eq!(entries(&store), 0);
    }

    #[test]
    fn chunk_head_parses() {
        let head = ChunkHead::parse("rollbook-chunks:v1:abcd:3:ff").unwrap();
        assert_eq!(
            (head.generation, head.count, head.digest),
            ("abcd", 3, "ff")
        );
        assert_eq!(head.part_account("acct", 2), "acct #abcd.2");
        assert!(ChunkHead::parse("{\"v\":1}").is_none());
    }
}
