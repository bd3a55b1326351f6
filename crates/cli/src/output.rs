//! What the command prints: errors as one stable line, logs to stderr, exit codes.

use rollbook_core::{CoreError, ErrorClass};

pub fn init_logging() {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_env("ROLLBOOK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_filter(filter);
    // The per-user log file at the `LogLevel` policy's level (H7); none when the folder
    // cannot be had (the command still works).
    let file = rollbook_core::AppPaths::from_os().ok().and_then(|paths| {
        let level = rollbook_core::policy::in_force(&paths).log_level();
        let log = rollbook_core::LogFile::open(&rollbook_core::log_dir(&paths)).ok()?;
        Some(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || log.clone())
                .with_filter(tracing_subscriber::filter::LevelFilter::from_level(level)),
        )
    });
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init();
}

#[allow(clippy::print_stderr)]
pub fn print_error(code: rollbook_core::ErrorCode, message: &str) {
    let message = terminal_safe(&message.replace('\n', " "));
    eprintln!("error: {code}: {message}");
}

/// The command-line way out of an error whose message (shared with the window) names no
/// flags.
pub fn flag_hint(code: rollbook_core::ErrorCode) -> Option<&'static str> {
    use rollbook_core::ErrorCode;
    match code {
        ErrorCode::RosterNotConfigured => Some(
            "hint: sign in again with --oneroster-url URL (the district's OneRoster or roster gateway address)",
        ),
        ErrorCode::RosterTeacherNotFound => Some(
            "hint: --teacher-id-claim CLAIM names the ID-token claim that holds your roster sourcedId",
        ),
        ErrorCode::UnsentGrades => Some(
            "hint: `rollbook sync` sends them; `rollbook logout --discard-unsent` signs out and deletes them",
        ),
        ErrorCode::UnsentUnknown => Some(
            "hint: unlock the keychain and try again; `rollbook logout --discard-unsent` signs out and deletes whatever waits",
        ),
        _ => None,
    }
}

#[allow(clippy::print_stderr)]
pub fn note(message: &str) {
    eprintln!("{}", terminal_safe(message));
}

/// Text from a server (names, `imsx_description`s) made safe to print in a terminal:
/// control characters (escape sequences could recolour, retitle or rewrite the screen)
/// and bidirectional overrides (which could show text in another order than it is)
/// become `�`. Newlines survive, so a message can still span lines.
pub fn terminal_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
            if (c.is_control() && c != '\n') || bidi {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// Writes to stdout. A closed pipe (`rollbook roster … | head`) ends output quietly
/// instead of panicking.
pub fn print_line(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").is_err() {
        std::process::exit(0);
    }
}

/// One line of JSON, fields in their declared order.
pub fn print_json<T: serde::Serialize + ?Sized>(value: &T) {
    match serde_json::to_string(value) {
        Ok(text) => print_line(&text),
        Err(e) => note(&format!("error: output_failed: {e}")),
    }
}

pub fn exit_code(error: &CoreError) -> u8 {
    match error.class() {
        ErrorClass::Config => 2,
        ErrorClass::SignInRequired => 3,
        ErrorClass::Rejected => 4,
        ErrorClass::Unavailable => 5,
        ErrorClass::RosterFailed => 6,
        ErrorClass::Other => 1,
    }
}

/// Formats unix seconds as an RFC 3339 UTC time, for people.
pub fn format_time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn server_text_cannot_drive_the_terminal() {
        let hostile = "Not your class\u{1b}]0;pwned\u{7}\u{1b}[2J\r\u{202E}gnp.exe\u{9b}31m";
        let safe = super::terminal_safe(hostile);
        assert!(!safe.chars().any(|c| c.is_control()), "{safe:?}");
        assert!(!safe.contains('\u{202E}'));
        assert!(safe.starts_with("Not your class"));
        assert_eq!(
            super::terminal_safe("Ó Súilleabháin, Zoë\nline two"),
            "Ó Súilleabháin, Zoë\nline two"
        );
    }

    #[test]
    fn formats_times() {
        assert_eq!(super::format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::format_time(1_800_000_000), "2027-01-15T08:00:00Z");
    }
}
