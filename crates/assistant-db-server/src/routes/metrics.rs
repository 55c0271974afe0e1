//! `GET /api/metrics`: the dashboard metrics, computed by PostgreSQL.

use std::str::FromStr;

use assistant_db::metrics::{Bucket, Metrics, MetricsFilter};
use assistant_db::model::{AssistantMode, IntentCategory};
use assistant_db::table::INTERACTIONS;
use axum::extract::State;
use axum::Json;

use crate::error::{ApiError, ErrorBody};
use crate::params::{check_enum, column_text, Params};
use crate::schemas;
use crate::state::AppState;

/// The metrics filter a query string describes.
pub fn metrics_filter(mut params: Params) -> Result<MetricsFilter, ApiError> {
    let mode = params.parse("mode", check_enum::<AssistantMode>);
    let (from, to) = params.window();
    let intent = params.parse("intent", column_text(&INTERACTIONS, "intent_name"));
    let category = params.parse("category", check_enum::<IntentCategory>);
    let bucket = params
        .parse("bucket", |s| Bucket::from_str(s).map_err(|e| e.rule))
        .unwrap_or_default();
    params.finish()?;
    Ok(MetricsFilter {
        mode,
        from,
        to,
        intent,
        category,
        bucket,
    })
}

/// The dashboard metrics, computed by PostgreSQL: the same object as
/// `assistant-db metrics --json`.
#[utoipa::path(
    get,
    path = "/api/metrics",
    tag = "read",
    params(schemas::MetricsParams),
    responses(
        (status = 200, description = "The metrics of the matching interactions", body = schemas::Metrics),
        (status = 401, description = "Reads need the token (the server is reachable from other machines)", body = ErrorBody),
        (status = 422, description = "A parameter is invalid, or not a parameter of this endpoint", body = ErrorBody),
        (status = 503, description = "The database is unavailable; retry later", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn metrics(
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<Metrics>, ApiError> {
    let filter = metrics_filter(params)?;
    let metrics = state
        .client()
        .metrics(&filter)
        .await
        .map_err(ApiError::reading("the metrics"))?;
    Ok(Json(metrics))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::new(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    fn fields(err: ApiError) -> Vec<(String, String)> {
        match err {
            ApiError::InvalidParameters(errors) => {
                errors.into_iter().map(|e| (e.field, e.rule)).collect()
            }
            other => panic!("expected parameter errors, got {other:?}"),
        }
    }

    #[test]
    fn metrics_parameters_are_parsed_and_checked() {
        let filter = metrics_filter(params(&[
            ("mode", "banker"),
            ("from", "2025-05-01T00:00:00 02:00"),
            ("bucket", "week"),
            ("intent", ""),
        ]))
        .expect("valid");
        assert_eq!(filter.mode, Some(AssistantMode::Banker));
        assert_eq!(filter.bucket, Bucket::Week);
        assert_eq!(
            filter.from.map(|t| t.to_rfc3339()),
            Some("2025-04-30T22:00:00+00:00".into())
        );
        assert_eq!(filter.intent, None);

        let errors = fields(
            metrics_filter(params(&[
                ("mode", "robot"),
                ("bucket", "month"),
                ("colour", "red"),
            ]))
            .expect_err("invalid"),
        );
        let names: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(names, ["mode", "bucket", "colour"], "{errors:?}");
        assert!(errors[0]
            .1
            .starts_with("must be one of 'customer', 'banker'"));
    }

    #[test]
    fn windows_must_be_in_order() {
        let errors = fields(
            metrics_filter(params(&[
                ("from", "2025-05-02T00:00:00Z"),
                ("to", "2025-05-01T00:00:00Z"),
            ]))
            .expect_err("reversed"),
        );
        assert_eq!(errors[0].0, "from");
    }
}
