//! Progress bars on stderr, drawn only when stderr is a terminal, so scripts and tests that
//! capture the output see only the result lines on stdout.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where bars draw: stderr when it is a terminal, nowhere otherwise.
fn target() -> ProgressDrawTarget {
    if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

/// A 0–100 % bar for a server task, labelled `prefix`; the message shows the task status.
pub fn task_bar(prefix: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(100), target()).with_style(
        ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {pos:>3}% {msg} ({elapsed})")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_prefix(prefix.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A byte bar for an upload or a download of `total` bytes (`None` when unknown).
pub fn bytes_bar(prefix: &str, total: Option<u64>) -> ProgressBar {
    let template = if total.is_some() {
        "{prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}"
    } else {
        "{spinner} {prefix} {bytes} {binary_bytes_per_sec}"
    };
    let bar = ProgressBar::with_draw_target(total, target()).with_style(
        ProgressStyle::with_template(template)
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_prefix(prefix.to_string());
    bar
}

/// Parses a progress as the API writes it (`"37%"`, also a bare `37` or `"37.5%"`) into a
/// whole percentage, clamped to 100. Empty or malformed values are `None`.
pub fn parse_percent(s: &str) -> Option<u64> {
    let number = s.trim().trim_end_matches('%').trim();
    if let Ok(n) = number.parse::<u64>() {
        return Some(n.min(100));
    }
    number
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && *f >= 0.0)
        .map(|f| (f.floor() as u64).min(100))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_parse_as_the_api_writes_them() {
        assert_eq!(parse_percent("37%"), Some(37));
        assert_eq!(parse_percent("100%"), Some(100));
        assert_eq!(parse_percent("0%"), Some(0));
        assert_eq!(parse_percent(" 5 % "), Some(5));
        assert_eq!(parse_percent("42"), Some(42));
        assert_eq!(parse_percent("37.9%"), Some(37));
        assert_eq!(parse_percent("250%"), Some(100));
    }

    #[test]
    fn malformed_percentages_are_none() {
        for bad in ["", "%", "abc", "-3%", "NaN%", "1e999%"] {
            assert_eq!(parse_percent(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bars_are_hidden_when_stderr_is_not_a_terminal() {
        // Under `cargo test` stderr is captured, not a terminal.
        if !std::io::stderr().is_terminal() {
            assert!(task_bar("x").is_hidden());
            assert!(bytes_bar("x", Some(1)).is_hidden());
        }
    }
}
