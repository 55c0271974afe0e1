//! Parameters that are not text (NUL, invalid UTF-8) are refused with 422 naming the
//! parameter, never reach the database, and a failed read never says "nothing was
//! written".

use reqwest::StatusCode;

use crate::helpers::{field_errors, TestApp};

#[tokio::test]
async fn nul_and_invalid_utf8_in_parameters_are_422_naming_the_parameter() {
    let app = TestApp::spawn().await;
    for (path, field) in [
        ("/api/interactions?intent=%00", "intent"),
        ("/api/interactions?session=%FF", "session"),
        ("/api/interactions?session=abc%00def", "session"),
        ("/api/interactions?intent=%C3%28", "intent"),
        ("/api/metrics?intent=%00", "intent"),
        ("/api/metrics?mode=%FF%FE", "mode"),
        ("/api/interactions/%00", "id"),
        (
            "/api/interactions/01900000-0000-7000-8000-00000000000%00",
            "id",
        ),
        ("/api/interactions/%FF", "id"),
    ] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
        let errors = field_errors(&body);
        assert_eq!(errors[0].1, field, "{path}: {body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(!error.contains("written"), "a read claims a write: {body}");
        assert!(
            !error.contains("database"),
            "{path} reached the database: {body}"
        );
    }
}

#[tokio::test]
async fn read_errors_say_what_was_read() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get("/api/interactions?limit=0&mode=robot").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"], "2 parameters are invalid", "{body}");

    // A database error on a read names the read and only the SQLSTATE.
    sqlx::raw_sql("ALTER TABLE interactions RENAME TO interactions_away")
        .execute(&app.pool)
        .await
        .expect("rename");
    let (status, body) = app.get("/api/interactions?intent=wire_cutoff").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("internal error: cannot read the interactions"),
        "{body}"
    );
    assert!(!error.contains("written"), "{body}");
    assert!(!error.contains("wire_cutoff"), "{body}");

    // The dashboard turns bad parameters into notices, never a database error.
    sqlx::raw_sql("ALTER TABLE interactions_away RENAME TO interactions")
        .execute(&app.pool)
        .await
        .expect("rename back");
    let page = app.fetch("/?mode=%00&from=%FF").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("must not contain a NUL character"), "{html}");
}
