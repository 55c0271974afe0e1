//! Request metrics keep a bounded label set: unknown methods count as `other`,
//! unmatched paths as `unmatched`, and no request adds a label value.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};

use crate::helpers::TestApp;

/// The label sets of the request counter in a Prometheus text.
fn series(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("assistant_db_http_requests_total{"))
        .filter_map(|l| l.split_once('}').map(|(labels, _)| labels.to_owned()))
        .collect()
}

#[tokio::test]
async fn odd_methods_and_random_paths_add_no_series() {
    let app = TestApp::spawn().await;
    for name in ["MKCOL", "FOO", "PROPFIND"] {
        let method = Method::from_bytes(name.as_bytes()).expect("method");
        let response = app
            .http
            .request(method, app.url("/api/interactions"))
            .send()
            .await
            .expect("request");
        assert!(
            response.status().is_client_error(),
            "{name}: {}",
            response.status()
        );
    }
    let text = app.fetch_text("/metrics").await;
    assert!(
        text.contains(r#"route="/api/interactions",method="other",status="#),
        "{text}"
    );
    for name in ["MKCOL", "FOO", "PROPFIND"] {
        assert!(!text.contains(name), "{name} became a label:\n{text}");
    }

    // A flood of random paths and methods, then the same again: the label sets are
    // the same after both rounds.
    let flood = |round: u32| {
        let app = &app;
        async move {
            for n in 0..40u32 {
                let path = format!("/x{round}-{n}/{:08x}?q={n}", n.wrapping_mul(2_654_435_761));
                let method =
                    Method::from_bytes(format!("M{round}X{n}").as_bytes()).expect("method");
                let response = app
                    .http
                    .request(method, app.url(&path))
                    .send()
                    .await
                    .expect("request");
                // Unknown methods are writes: refused without the token.
                assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
                let response = app.http.get(app.url(&path)).send().await.expect("request");
                assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
                let response = app
                    .http
                    .get(app.url(&format!("/api/interactions/{n}-{round}")))
                    .send()
                    .await
                    .expect("request");
                assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
            }
        }
    };
    flood(1).await;
    let after_one = series(&app.fetch_text("/metrics").await);
    flood(2).await;
    let after_two = series(&app.fetch_text("/metrics").await);
    assert_eq!(after_one, after_two);
    assert!(
        after_two.contains(r#"route="unmatched",method="other",status="401""#),
        "{after_two:?}"
    );
    for labels in &after_two {
        assert!(
            !labels.contains("/x1-") && !labels.contains("M1X"),
            "{labels}"
        );
    }
}
