//! When to try a request again, and how long to wait first.

use std::time::{Duration, SystemTime};

use rand::Rng;

/// Retry limits. GETs are retried on 5xx, timeouts and connection failures with
/// exponential backoff and full jitter; any request is retried on 429 after the
/// server's `Retry-After`. Both are bounded by count and by total waiting time.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after a 5xx, a timeout or a connection failure (GET only).
    pub max_transient_retries: u32,
    /// Retries after a 429.
    pub max_rate_limit_retries: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Used when a 429 carries no usable `Retry-After`.
    pub default_retry_after: Duration,
    /// A single `Retry-After` longer than this is not waited out: the call fails.
    pub max_retry_after: Duration,
    /// All waiting for one request together stays under this.
    pub max_total_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_transient_retries: 3,
            max_rate_limit_retries: 5,
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            default_retry_after: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(30),
            max_total_wait: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_transient_retries: 0,
            max_rate_limit_retries: 0,
            ..Self::default()
        }
    }

    /// The wait before transient retry number `attempt` (1-based): full jitter over an
    /// exponentially growing window.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let window = self
            .base_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max_backoff);
        let millis = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

/// Parses `Retry-After`: delay seconds or an HTTP date (RFC 9110 §10.2.3).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_as_seconds_or_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(90))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn backoff_stays_inside_its_window() {
        let policy = RetryPolicy::default();
        for attempt in 1..20 {
            let window = policy
                .base_backoff
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(policy.max_backoff);
            assert!(policy.backoff(attempt) <= window);
        }
    }
}
