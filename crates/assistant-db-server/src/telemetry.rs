//! Request counters and latency histograms per route, and their Prometheus text form.
//!
//! Every label takes its value from a fixed set, so no request can add a series: routes
//! by their template (`/api/interactions/{id}`, or `unmatched`), methods by name when
//! HTTP defines them and `other` otherwise, statuses by code when this server answers
//! with them and by class (`4xx`) otherwise.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use assistant_db::logger::LoggerStats;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// One latency histogram.
#[derive(Debug, Clone, Default)]
struct Histogram {
    /// Observations at or below each bound of [`BUCKETS`] (not cumulative).
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(i) = BUCKETS.iter().position(|&bound| seconds <= bound) {
            self.counts[i] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// Statuses labelled by their code; any other is labelled by its class.
const STATUSES: [u16; 24] = [
    200, 202, 204, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 408, 409, 413, 415, 421,
    422, 429, 431, 500, 503,
];

#[derive(Debug, Default)]
struct Registry {
    /// Requests by (route, method, status).
    requests: BTreeMap<(String, &'static str, String), u64>,
    /// Latencies by (route, method).
    latency: BTreeMap<(String, &'static str), Histogram>,
}

/// The label of a method: its name when HTTP defines it, `other` for anything else.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN
        .iter()
        .find(|known| *known == method)
        .map_or("other", Method::as_str)
}

/// The label of a status: its code when this server answers with it, else its class.
fn status_label(status: u16) -> String {
    if STATUSES.contains(&status) {
        status.to_string()
    } else if (100..600).contains(&status) {
        format!("{}xx", status / 100)
    } else {
        "other".to_owned()
    }
}

/// The server's request telemetry.
#[derive(Debug, Default)]
pub struct Telemetry {
    registry: Mutex<Registry>,
}

impl Telemetry {
    /// Counts one request and its latency.
    fn observe(&self, route: &str, method: &Method, status: u16, seconds: f64) {
        let method = method_label(method);
        // A poisoned lock only means another request panicked mid-update: keep counting.
        let mut registry = self
            .registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *registry
            .requests
            .entry((route.to_owned(), method, status_label(status)))
            .or_default() += 1;
        registry
            .latency
            .entry((route.to_owned(), method))
            .or_default()
            .observe(seconds);
    }

    /// The Prometheus text exposition of the requests and of the logger's counters.
    pub fn render(&self, logger: Option<&LoggerStats>) -> String {
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        out.push_str(
            "# HELP assistant_db_http_requests_total HTTP requests answered, by route template, method and status.\n\
             # TYPE assistant_db_http_requests_total counter\n",
        );
        for ((route, method, status), n) in &registry.requests {
            let _ = writeln!(
                out,
                "assistant_db_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                label(route),
                label(method)
            );
        }
        out.push_str(
            "# HELP assistant_db_http_request_duration_seconds Time to answer an HTTP request, by route template and method.\n\
             # TYPE assistant_db_http_request_duration_seconds histogram\n",
        );
        for ((route, method), h) in &registry.latency {
            let labels = format!("route=\"{}\",method=\"{}\"", label(route), label(method));
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "assistant_db_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "assistant_db_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n\
                 assistant_db_http_request_duration_seconds_sum{{{labels}}} {}\n\
                 assistant_db_http_request_duration_seconds_count{{{labels}}} {}",
                h.count, h.sum, h.count
            );
        }
        if let Some(stats) = logger {
            logger_metrics(&mut out, stats);
        }
        out
    }
}

/// The logger's counters and gauges.
fn logger_metrics(out: &mut String, stats: &LoggerStats) {
    let counters = [
        (
            "logged",
            "Entries accepted into the spool since the server started.",
            stats.logged,
        ),
        (
            "stored",
            "Entries the database acknowledged since the server started.",
            stats.stored,
        ),
        (
            "retried",
            "Database writes retried after a retryable failure.",
            stats.retried,
        ),
        (
            "dead",
            "Entries moved to the dead-letter table since the server started.",
            stats.dead,
        ),
        (
            "unspooled",
            "Entries handed to log_nowait that could not be written to the spool.",
            stats.unspooled,
        ),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(
            out,
            "# HELP assistant_db_logger_{name}_total {help}\n\
             # TYPE assistant_db_logger_{name}_total counter\n\
             assistant_db_logger_{name}_total {value}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP assistant_db_logger_depth Entries waiting in the spool for the database.\n\
         # TYPE assistant_db_logger_depth gauge\n\
         assistant_db_logger_depth {}\n\
         # HELP assistant_db_logger_oldest_age_seconds Age of the oldest waiting entry (0 when none).\n\
         # TYPE assistant_db_logger_oldest_age_seconds gauge\n\
         assistant_db_logger_oldest_age_seconds {}\n\
         # HELP assistant_db_logger_retrying 1 while the last database write failed and is being retried.\n\
         # TYPE assistant_db_logger_retrying gauge\n\
         assistant_db_logger_retrying {}",
        stats.depth,
        stats.oldest_age_ms.unwrap_or(0) as f64 / 1000.0,
        u8::from(stats.last_error.is_some()),
    );
    out.push_str(
        "# HELP assistant_db_redactions_total Values redacted from logged records since the server started, by kind.\n\
         # TYPE assistant_db_redactions_total counter\n",
    );
    for (kind, n) in stats.redactions.iter() {
        let _ = writeln!(out, "assistant_db_redactions_total{{kind=\"{kind}\"}} {n}");
    }
}

/// A label value, escaped as the exposition format wants.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The middleware that times every request.
pub async fn record(
    State(telemetry): State<Arc<Telemetry>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    // Route templates come from the router's own table, so they are a fixed set.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().clone();
    let response = next.run(request).await;
    telemetry.observe(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let t = Telemetry::default();
        t.observe("/api/metrics", &Method::GET, 200, 0.003);
        t.observe("/api/metrics", &Method::GET, 200, 0.2);
        t.observe("/api/metrics", &Method::GET, 422, 20.0);
        let mut redactions = assistant_db::redact::Counts::default();
        redactions.record(assistant_db::redact::Kind::Card);
        let text = t.render(Some(&LoggerStats {
            depth: 3,
            oldest_age_ms: Some(1500),
            redactions,
            ..LoggerStats::default()
        }));
        for line in [
            r#"assistant_db_http_requests_total{route="/api/metrics",method="GET",status="200"} 2"#,
            r#"assistant_db_http_requests_total{route="/api/metrics",method="GET",status="422"} 1"#,
            r#"assistant_db_http_request_duration_seconds_bucket{route="/api/metrics",method="GET",le="0.001"} 0"#,
            r#"assistant_db_http_request_duration_seconds_bucket{route="/api/metrics",method="GET",le="0.005"} 1"#,
            r#"assistant_db_http_request_duration_seconds_bucket{route="/api/metrics",method="GET",le="10"} 2"#,
            r#"assistant_db_http_request_duration_seconds_bucket{route="/api/metrics",method="GET",le="+Inf"} 3"#,
            r#"assistant_db_http_request_duration_seconds_count{route="/api/metrics",method="GET"} 3"#,
            "assistant_db_logger_depth 3",
            "assistant_db_logger_oldest_age_seconds 1.5",
            r#"assistant_db_redactions_total{kind="card"} 1"#,
            r#"assistant_db_redactions_total{kind="email"} 0"#,
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
    }

    #[test]
    fn labels_come_from_fixed_sets() {
        let t = Telemetry::default();
        for name in ["MKCOL", "FOO", "PROPFIND"] {
            let method = Method::from_bytes(name.as_bytes()).expect("method");
            t.observe("unmatched", &method, 405, 0.001);
        }
        t.observe("unmatched", &Method::GET, 599, 0.001);
        t.observe("unmatched", &Method::GET, 418, 0.001);
        let text = t.render(None);
        assert!(text.contains(
            r#"assistant_db_http_requests_total{route="unmatched",method="other",status="405"} 3"#
        ));
        assert!(text.contains(r#"method="GET",status="5xx"} 1"#), "{text}");
        assert!(text.contains(r#"method="GET",status="4xx"} 1"#), "{text}");
        for name in ["MKCOL", "FOO", "418", "599"] {
            assert!(!text.contains(name), "{name} in\n{text}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
