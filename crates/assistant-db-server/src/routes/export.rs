//! `GET /api/interactions/export`: every interaction a filter matches, as CSV or NDJSON,
//! streamed as the database pages them out, for the dashboard's download links.
//!
//! CSV is for spreadsheets: a text cell a spreadsheet would run as a formula is written
//! with a `'` in front (the library's writer, as `assistant-db export` does); NDJSON is
//! the exact stored values. A failure before the first row answers with its status;
//! one later cuts the response short (the client sees an incomplete transfer), since the
//! status has already been sent.

use assistant_db::export::{Buffer, CsvCells, Format, RecordWriter};
use assistant_db::row::InteractionRow;
use assistant_db::table::INTERACTIONS;
use assistant_db::Result as DbResult;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};

use super::interactions::interaction_filter;
use crate::error::{ApiError, ErrorBody};
use crate::params::Params;
use crate::state::AppState;

/// Rows written into one chunk of the response.
const ROWS_PER_CHUNK: usize = 500;

/// Every interaction matching the filters (those of `GET /api/interactions`, without
/// `limit` and `after`), newest first, as `format=csv` (the default) or `format=ndjson`,
/// sent as a download.
#[utoipa::path(
    get,
    path = "/api/interactions/export",
    tag = "read",
    params(
        ("format" = Option<String>, Query, description = "`csv` (the default; cells a spreadsheet would run get a `'` in front) or `ndjson` (exact)"),
    ),
    responses(
        (status = 200, description = "The matching interactions, streamed", content_type = "text/csv"),
        (status = 422, description = "A parameter is invalid", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn export(
    State(state): State<AppState>,
    mut params: Params,
) -> Result<Response, ApiError> {
    let filter = interaction_filter(&mut params);
    let format = params
        .parse("format", |s| match s {
            "csv" => Ok(Format::Csv),
            "ndjson" => Ok(Format::Ndjson),
            other => Err(format!("must be one of 'csv', 'ndjson' (got {other:?})")),
        })
        .unwrap_or(Format::Csv);
    params.finish()?;

    let mut rows = state.client().export_interactions_owned(filter);
    // The first row is read before answering, so that a database that cannot answer
    // gets its own status rather than an empty file.
    let first = rows
        .try_next()
        .await
        .map_err(ApiError::reading("the interactions"))?;
    let buffer = Buffer::default();
    let writer = RecordWriter::new(format, &INTERACTIONS, buffer.clone(), CsvCells::Neutralised)
        .map_err(|e| ApiError::Internal(format!("cannot write the export: {e}")))?;
    let rows: BoxStream<'static, DbResult<InteractionRow>> =
        stream::iter(first.map(Ok)).chain(rows).boxed();

    let file = format!(
        "interactions-{}.{}",
        Utc::now().format("%Y%m%dT%H%M%SZ"),
        format.extension()
    );
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file}\""))
        .map_err(|e| ApiError::Internal(format!("cannot name the export: {e}")))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.media_type()),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Body::from_stream(chunks(rows, writer, buffer)),
    )
        .into_response())
}

/// What is left to send: the rows still to read and the writer of the bytes not sent
/// yet; `None` once everything was sent.
type Pending = Option<(
    BoxStream<'static, DbResult<InteractionRow>>,
    RecordWriter<Buffer>,
)>;

/// The file in chunks of [`ROWS_PER_CHUNK`] rows (the first one with the CSV header),
/// each taken from `buffer`, which `writer` writes into.
fn chunks(
    rows: BoxStream<'static, DbResult<InteractionRow>>,
    writer: RecordWriter<Buffer>,
    buffer: Buffer,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> {
    let pending: Pending = Some((rows, writer));
    stream::try_unfold(pending, move |pending| {
        let buffer = buffer.clone();
        async move {
            let Some((mut rows, mut writer)) = pending else {
                return Ok(None);
            };
            let mut written = 0;
            while written < ROWS_PER_CHUNK {
                match rows.try_next().await {
                    Ok(Some(row)) => {
                        writer.write(&row)?;
                        written += 1;
                    }
                    Ok(None) => {
                        writer.finish()?;
                        return Ok(Some((buffer.take(), None)));
                    }
                    Err(e) => {
                        tracing::warn!(error = %crate::error::summary(&e), "an export was cut short");
                        return Err(std::io::Error::other("the database stopped answering"));
                    }
                }
            }
            writer.flush()?;
            Ok(Some((buffer.take(), Some((rows, writer)))))
        }
    })
}
