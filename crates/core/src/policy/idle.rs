//! Idle sign-out (`IdleSignOutMinutes`) by the person's absence, not only the window's:
//! a teacher typing in another program for twenty minutes is at the computer, and a
//! shared computer left alone is not. The system's idle time (the last keyboard or pointer
//! input to the whole session) decides where the platform tells it:
//! - Windows: `GetLastInputInfo`;
//! - macOS: `CGEventSourceSecondsSinceLastEventType` for any input event;
//! - Linux: not read (X11's screensaver extension would tie the app to libXss and say
//!   nothing under Wayland): the window's own activity counts, as documented.

use std::time::Duration;

/// How long the person has not touched the keyboard or pointer, as the system knows it.
pub trait SystemIdle: Send + Sync + std::fmt::Debug {
    /// `None`: this platform (or this session) cannot tell; the window's activity
    /// decides alone.
    fn idle_for(&self) -> Option<Duration>;
}

/// This computer's idle time.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsIdle;

impl SystemIdle for OsIdle {
    #[cfg(windows)]
    fn idle_for(&self) -> Option<Duration> {
        rollbook_system_idle::idle_for()
    }

    /// Seconds since the last input event of any type (`kCGAnyInputEventType`) in this
    /// login session. Compiled by the release workflow's macOS job only.
    #[cfg(target_os = "macos")]
    fn idle_for(&self) -> Option<Duration> {
        use objc2_core_graphics::{CGEventSource, CGEventSourceStateID, CGEventType};
        let seconds = CGEventSource::seconds_since_last_event_type(
            CGEventSourceStateID::CombinedSessionState,
            CGEventType(u32::MAX),
        );
        Duration::try_from_secs_f64(seconds).ok()
    }

    #[cfg(not(any(windows, target_os = "macos")))]
    fn idle_for(&self) -> Option<Duration> {
        None
    }
}

/// What to do when the window has seen no input for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleVerdict {
    /// Nobody has touched the computer for the whole limit: send what waits, sign out.
    SignOut,
    /// Someone used the computer since (another program): ask again after this long.
    CheckAgainIn(Duration),
}

/// However recent the system says the last input was, the session ends once Rollbook's
/// window has seen none for this many limits. The system's counter can be kept low by
/// what is not the teacher (a mouse jiggler, input a program injects, a counter that
/// stops advancing, a student using the computer's other programs), and it must not
/// keep a shared computer's session open for ever.
pub const WINDOW_IDLE_LIMITS: u32 = 4;

/// The one decision: idle is the shorter of the window's and the system's (the system's
/// counts input to every program, the window's is what the window saw for sure), up to
/// [`WINDOW_IDLE_LIMITS`] limits of the window's. `limit` zero never signs out.
pub fn idle_verdict(
    limit: Duration,
    window_idle: Duration,
    system_idle: Option<Duration>,
) -> IdleVerdict {
    if limit.is_zero() {
        return IdleVerdict::CheckAgainIn(Duration::from_secs(3600));
    }
    let cap = limit.saturating_mul(WINDOW_IDLE_LIMITS);
    let idle = system_idle.map_or(window_idle, |system| system.min(window_idle));
    if idle >= limit || window_idle >= cap {
        IdleVerdict::SignOut
    } else {
        let wait = (limit - idle).min(cap - window_idle);
        // At least a second, so a caller never spins.
        IdleVerdict::CheckAgainIn(wait.max(Duration::from_secs(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn the_person_at_another_program_is_not_signed_out_and_an_empty_room_is() {
        let limit = 15 * MIN;
        // The window saw nothing for 15 minutes, but the keyboard was used 2 minutes ago.
        assert_eq!(
            idle_verdict(limit, 15 * MIN, Some(2 * MIN)),
            IdleVerdict::CheckAgainIn(13 * MIN)
        );
        // Nobody touched anything.
        assert_eq!(
            idle_verdict(limit, 15 * MIN, Some(40 * MIN)),
            IdleVerdict::SignOut
        );
        // The system counter says more than the window saw (it missed the window's
        // input): the window's own activity still counts.
        assert_eq!(
            idle_verdict(limit, 3 * MIN, Some(40 * MIN)),
            IdleVerdict::CheckAgainIn(12 * MIN)
        );
        // Where the system cannot tell (Linux), the window's activity decides.
        assert_eq!(idle_verdict(limit, 15 * MIN, None), IdleVerdict::SignOut);
        assert_eq!(
            idle_verdict(limit, 14 * MIN, None),
            IdleVerdict::CheckAgainIn(MIN)
        );
        // No limit, no sign-out; never a zero wait.
        assert!(matches!(
            idle_verdict(Duration::ZERO, 99 * MIN, Some(99 * MIN)),
            IdleVerdict::CheckAgainIn(_)
        ));
        assert_eq!(
            idle_verdict(limit, limit - Duration::from_millis(1), None),
            IdleVerdict::CheckAgainIn(Duration::from_secs(1))
        );
    }

    #[test]
    fn a_system_counter_that_says_someone_is_there_cannot_keep_the_session_for_ever() {
        let limit = 15 * MIN;
        // Input somewhere a minute ago, for an hour now: the window's four limits end it.
        assert_eq!(
            idle_verdict(limit, 60 * MIN, Some(MIN)),
            IdleVerdict::SignOut
        );
        assert_eq!(
            idle_verdict(limit, 60 * MIN, Some(Duration::ZERO)),
            IdleVerdict::SignOut
        );
        // Before that, the next check comes no later than the cap.
        assert_eq!(
            idle_verdict(limit, 55 * MIN, Some(Duration::ZERO)),
            IdleVerdict::CheckAgainIn(5 * MIN)
        );
        // The window's own activity still restarts everything.
        assert_eq!(
            idle_verdict(limit, 2 * MIN, Some(Duration::ZERO)),
            IdleVerdict::CheckAgainIn(15 * MIN)
        );
    }

    #[test]
    fn this_platform_reads_the_system_idle_time_or_says_it_cannot() {
        let idle = OsIdle.idle_for();
        if cfg!(any(windows, target_os = "macos")) {
            assert!(idle.is_some(), "the system's idle time is read");
        } else {
            assert_eq!(idle, None, "Linux: the window's activity only");
        }
    }
}
