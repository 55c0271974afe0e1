//! HTML building blocks: escaping, the page frame and number formats.
//!
//! Every value that comes from the database or the request goes through [`esc`]; the
//! page is served with a Content-Security-Policy that allows no inline script or style,
//! so even a missed escape could not run code.

use std::fmt::Write as _;

use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};

/// The page's Content-Security-Policy: our own stylesheet and script, inline SVG, no
/// third party.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
                   img-src 'self' data:; form-action 'self'; base-uri 'none'; \
                   frame-ancestors 'none'";

/// The favicon: a small bar chart, inline so it costs no request.
const ICON: &str = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' \
    viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%231d4ed8'/%3E\
    %3Crect x='3' y='8' width='2.5' height='5' fill='white'/%3E%3Crect x='6.75' y='5' \
    width='2.5' height='8' fill='white'/%3E%3Crect x='10.5' y='3' width='2.5' \
    height='10' fill='%23fdba74'/%3E%3C/svg%3E";

/// Escapes text for HTML content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page around `body`, with the security headers pages need.
pub fn page(title: &str, body: &str) -> Response {
    page_refreshing(title, body, None)
}

/// A whole page that the browser reloads every `refresh` seconds when given (a
/// `<meta http-equiv="refresh">`, which needs no script).
pub fn page_refreshing(title: &str, body: &str, refresh: Option<u32>) -> Response {
    let refresh = refresh
        .map(|s| format!("<meta http-equiv=\"refresh\" content=\"{s}\">\n"))
        .unwrap_or_default();
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{refresh}<title>{title}</title>
<link rel="icon" href="{ICON}">
<link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/dashboard.js" defer></script>
</head>
<body>
{body}
</body>
</html>
"#,
        title = esc(title),
    );
    let mut response = Html(html).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    response
}

/// A whole number with thousands separators: `12,345`.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A share as a percentage with one decimal (`23.4%`), or `–` when unknown.
pub fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "–".into(), |s| format!("{:.1}%", s * 100.0))
}

/// A confidence score with two decimals, or `–` when unknown.
pub fn score(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |v| format!("{v:.2}"))
}

/// A duration in whole milliseconds with separators (`1,234 ms`), or `–` when unknown.
pub fn millis(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |v| format!("{} ms", count(v.round() as i64)))
}

/// `part / whole`, or `None` when `whole` is zero.
pub fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole != 0).then(|| part as f64 / whole as f64)
}

/// The first `max` characters of `text` on one line, with `…` when cut (not escaped).
pub fn shorten(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        flat
    } else {
        let mut cut: String = flat.chars().take(max).collect();
        cut.push('…');
        cut
    }
}

/// A query string from name/value pairs (values percent-encoded), without the `?`.
pub fn query_string(pairs: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        let value: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        let _ = write!(out, "{name}={value}");
    }
    out
}

/// `path`, with `?query` when the query is not empty.
pub fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(-4321), "-4,321");
        assert_eq!(percent(Some(0.2345)), "23.4%");
        assert_eq!(percent(None), "–");
        assert_eq!(score(Some(0.816)), "0.82");
        assert_eq!(millis(Some(1234.6)), "1,235 ms");
    }

    #[test]
    fn shorten_cuts_on_characters() {
        assert_eq!(shorten("a\nb", 5), "a b");
        assert_eq!(shorten("éééé", 2), "éé…");
    }

    #[test]
    fn query_strings_are_encoded() {
        assert_eq!(
            query_string(&[
                ("mode", "banker".into()),
                ("to", "2025-05-01T00:00:00+02:00".into())
            ]),
            "mode=banker&to=2025-05-01T00%3A00%3A00%2B02%3A00"
        );
        assert_eq!(with_query("/", ""), "/");
    }
}
