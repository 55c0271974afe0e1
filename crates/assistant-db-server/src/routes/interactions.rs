//! `/api/interactions`: pages of interactions, one interaction in full, and logging new
//! ones (with their escalations) through the durable spool.

use std::str::FromStr;

use assistant_db::model::{AssistantMode, IntentCategory, Outcome};
use assistant_db::query::{
    Cursor, InteractionDetail, InteractionFilter, InteractionQuery, Page, MAX_PAGE_SIZE,
};
use assistant_db::row::InteractionRow;
use assistant_db::table::INTERACTIONS;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::Accepted;
use crate::body::RequestBody;
use crate::error::{ApiError, ErrorBody};
use crate::ingest;
use crate::params::{check_enum, column_text, Params, PathId};
use crate::schemas;
use crate::state::AppState;

/// The interaction query a query string describes.
pub fn interaction_query(mut params: Params) -> Result<InteractionQuery, ApiError> {
    let mode = params.parse("mode", check_enum::<AssistantMode>);
    let outcome = params.parse("outcome", check_enum::<Outcome>);
    let intent = params.parse("intent", column_text(&INTERACTIONS, "intent_name"));
    let category = params.parse("category", check_enum::<IntentCategory>);
    let session = params.parse("session", column_text(&INTERACTIONS, "session_id"));
    let (from, to) = params.window();
    let limit = params.parse("limit", |s| match s.parse::<u32>() {
        Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        _ => Err(format!(
            "must be a whole number between 1 and {MAX_PAGE_SIZE} (got {s:?})"
        )),
    });
    let after = params.parse("after", |s| Cursor::from_str(s).map_err(|e| e.rule));
    params.finish()?;
    Ok(InteractionQuery {
        filter: InteractionFilter {
            mode,
            outcome,
            intent,
            category,
            session,
            from,
            to,
        },
        limit,
        after,
    })
}

/// One page of interactions, newest first; pass `next` back as `after` for the next page
/// (keyset pagination: pages stay consistent while rows are added).
#[utoipa::path(
    get,
    path = "/api/interactions",
    tag = "read",
    params(schemas::ListParams),
    responses(
        (status = 200, description = "A page of interactions", body = schemas::InteractionPage),
        (status = 401, description = "Reads need the token (the server is reachable from other machines)", body = ErrorBody),
        (status = 422, description = "A parameter is invalid, or not a parameter of this endpoint", body = ErrorBody),
        (status = 503, description = "The database is unavailable; retry later", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<Page<InteractionRow>>, ApiError> {
    let query = interaction_query(params)?;
    let page = state
        .client()
        .interactions(&query)
        .await
        .map_err(ApiError::reading("the interactions"))?;
    Ok(Json(page))
}

/// One interaction with every field, its citations and its escalations.
#[utoipa::path(
    get,
    path = "/api/interactions/{id}",
    tag = "read",
    params(schemas::InteractionId),
    responses(
        (status = 200, description = "The interaction and its escalations", body = schemas::InteractionDetail),
        (status = 401, description = "Reads need the token (the server is reachable from other machines)", body = ErrorBody),
        (status = 404, description = "No interaction has this id", body = ErrorBody),
        (status = 422, description = "The id is not a UUID", body = ErrorBody),
        (status = 503, description = "The database is unavailable; retry later", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn get_one(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> Result<Json<InteractionDetail>, ApiError> {
    state
        .client()
        .interaction(id)
        .await
        .map_err(ApiError::reading("the interaction"))?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no interaction has id {id}")))
}

/// Logs interactions: one object or an array of up to 1000, each optionally carrying
/// `"escalations": [...]` that are written together with it.
///
/// Records are validated first (nothing is written unless all are valid), then spooled
/// durably and written to the database in the background: `202` means "on disk, will be
/// stored", even while the database is down. Give every record an `id` to make retries
/// safe: an id already stored is skipped.
#[utoipa::path(
    post,
    path = "/api/interactions",
    tag = "write",
    request_body(content = schemas::InteractionBody, description = "One interaction or an array of them"),
    responses(
        (status = 202, description = "Spooled; will be written to the database", body = Accepted),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 403, description = "Writes are disabled (no token configured)", body = ErrorBody),
        (status = 408, description = "The body did not arrive in time", body = ErrorBody),
        (status = 413, description = "The body is larger than the limit", body = ErrorBody),
        (status = 422, description = "Fields are invalid; nothing was written", body = ErrorBody),
        (status = 503, description = "The spool is full; part of the batch may be spooled, so resend it whole (ids make that safe)", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn post(
    State(state): State<AppState>,
    RequestBody(body): RequestBody,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let items = ingest::interactions(&body)?;
    let mut accepted = Accepted::default();
    for item in &items {
        accepted.interactions.push(item.interaction.id);
        accepted
            .escalations
            .extend(item.escalations.iter().map(|e| e.id));
    }
    state
        .logger()
        .log_with_escalations(items)
        .await
        .map_err(ApiError::writing("the interactions"))?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FieldError;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::new(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn list_parameters_check_limit_and_cursor() {
        let errors = match interaction_query(params(&[
            ("limit", "0"),
            ("after", "nope"),
            ("mode", "x"),
            ("mode", "y"),
        ])) {
            Err(ApiError::InvalidParameters(errors)) => errors,
            other => panic!("expected parameter errors, got {other:?}"),
        };
        let names: Vec<&str> = errors
            .iter()
            .map(|e: &FieldError| e.field.as_str())
            .collect();
        assert_eq!(names, ["mode", "limit", "after"], "{errors:?}");
        let query =
            interaction_query(params(&[("limit", "10"), ("outcome", "escalated")])).expect("valid");
        assert_eq!(query.limit, Some(10));
        assert_eq!(query.filter.outcome, Some(Outcome::Escalated));
    }
}
