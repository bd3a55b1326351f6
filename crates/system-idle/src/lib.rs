//! How long the person at this computer has not touched the keyboard or pointer, as the
//! system knows it: input to any program of this login session counts.
//!
//! - Windows: `GetLastInputInfo`, the tick of the session's last input, against
//!   `GetTickCount`. Both are 32-bit millisecond counters that wrap after 49.7 days of
//!   uptime; the difference is taken modulo 2^32, which is right across a wrap as long as
//!   the idle time itself is shorter than that.
//! - Elsewhere: `None` (macOS is read by rollbook-core through objc2's safe binding; Linux
//!   has no session-wide reading that works under both X11 and Wayland).

use std::time::Duration;

/// The session's idle time; `None` when this platform (or this session) cannot tell.
pub fn idle_for() -> Option<Duration> {
    imp::idle_for()
}

/// Milliseconds from the tick `last_input` to the tick `now` of a 32-bit millisecond
/// counter that wraps.
pub fn ticks_between(last_input: u32, now: u32) -> Duration {
    Duration::from_millis(u64::from(now.wrapping_sub(last_input)))
}

#[cfg(windows)]
#[allow(unsafe_code)]
mod imp {
    use super::{Duration, ticks_between};
    use windows_sys::Win32::System::SystemInformation::GetTickCount;
    use windows_sys::Win32::UI::Input::KeyboardAndMouse::{GetLastInputInfo, LASTINPUTINFO};

    pub fn idle_for() -> Option<Duration> {
        let mut info = LASTINPUTINFO {
            cbSize: size_of::<LASTINPUTINFO>() as u32,
            dwTime: 0,
        };
        // SAFETY: `info` is a LASTINPUTINFO with cbSize set, alive for the call, which
        // only writes into it.
        if unsafe { GetLastInputInfo(&mut info) } == 0 {
            return None;
        }
        // SAFETY: no arguments; reads the system's tick counter.
        let now = unsafe { GetTickCount() };
        Some(ticks_between(info.dwTime, now))
    }
}

#[cfg(not(windows))]
mod imp {
    use super::Duration;

    pub fn idle_for() -> Option<Duration> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_time_is_the_tick_difference_even_across_the_counters_wrap() {
        assert_eq!(ticks_between(1_000, 61_000), Duration::from_secs(60));
        assert_eq!(ticks_between(5, 5), Duration::ZERO);
        // Last input 2 s before the counter wrapped, now 3 s after it.
        assert_eq!(
            ticks_between(u32::MAX - 1_999, 3_000),
            Duration::from_millis(5_000)
        );
    }

    #[cfg(windows)]
    #[test]
    fn the_session_reports_an_idle_time() {
        let idle = idle_for().unwrap_or_else(|| panic!("GetLastInputInfo failed"));
        assert!(idle < Duration::from_secs(50 * 24 * 3600), "{idle:?}");
    }

    #[cfg(not(windows))]
    #[test]
    fn other_platforms_cannot_tell() {
        assert_eq!(idle_for(), None);
    }
}
