//! Text for the terminal and the log: stored values are shown with their control
//! characters escaped, and URLs in log lines with their secrets redacted.
//!
//! A stored value (a customer's query, an intent name another writer chose, a database's
//! error message) printed as it is could clear the screen (ESC `[2J`), move the cursor
//! back over what was printed (CR, backspace), ring the bell, or reorder the line it is
//! on (bidirectional overrides such as U+202E). Every place the command prints stored
//! text passes it through [`escape`] (or [`escape_lines`] for text made of lines); JSON
//! output is left exact, since JSON escapes control characters itself.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;

use tracing_subscriber::fmt::MakeWriter;

/// Whether `c` must not reach a terminal as it is: C0 and C1 controls and DEL, and the
/// characters that reorder or break text (bidirectional marks, overrides and isolates,
/// the line and paragraph separators).
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// `text` on one line with every unsafe character escaped (`\n`, `\r`, `\t`, else
/// `\u{1b}`); borrowed when nothing needed escaping.
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_keeping(text, false)
}

/// [`escape`], but keeping line breaks: for text whose lines are ours, such as a report.
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    escape_keeping(text, true)
}

fn escape_keeping(text: &str, newlines: bool) -> Cow<'_, str> {
    let unsafe_here = |c: char| is_unsafe(c) && !(newlines && c == '\n');
    if !text.chars().any(unsafe_here) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !unsafe_here(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

/// Error and log text: URLs redacted, control characters escaped (line breaks kept).
pub fn for_stderr(text: &str) -> String {
    escape_lines(&assistant_db::config::redact_urls(text)).into_owned()
}

/// The log's writer: stderr, each event's text with the URLs in it redacted (sqlx and
/// reqwest may quote a connection URL in a message).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogWriter;

/// One log event, written to stderr in one piece when dropped.
#[derive(Debug, Default)]
pub struct LogEvent(Vec<u8>);

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LogEvent;

    fn make_writer(&'a self) -> Self::Writer {
        LogEvent::default()
    }
}

impl Write for LogEvent {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogEvent {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.0);
        let redacted = assistant_db::config::redact_urls(&text);
        // A log line that cannot be written has nowhere else to go.
        let _ = std::io::stderr().lock().write_all(redacted.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_escaped() {
        assert_eq!(
            escape("a\u{1b}[2Jb\u{7}c\rd\u{8}e\u{9b}f\u{202e}g\nh\ti"),
            "a\\u{1b}[2Jb\\u{7}c\\rd\\u{8}e\\u{9b}f\\u{202e}g\\nh\\ti"
        );
        assert_eq!(escape_lines("one\ntwo\u{1b}"), "one\ntwo\\u{1b}");
        assert!(matches!(escape("plain – ünïcode ✓"), Cow::Borrowed(_)));
    }

    #[test]
    fn stderr_text_is_redacted_and_escaped() {
        assert_eq!(
            for_stderr("cannot reach postgres://u:secret@h/db\u{1b}[31m"),
            "cannot reach postgres://u:***@h/db\\u{1b}[31m"
        );
    }
}
