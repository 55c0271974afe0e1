//! The export's fast path (columns in binary, [`Client::export_interactions`] over
//! PostgreSQL) against the typed path every other reader takes (`to_jsonb` rows decoded
//! into the row type, [`Client::interactions`]): on rows the schema allows but the model
//! refuses — NaN and infinite confidences; NULL, infinite, BC and far-year timestamps;
//! citations of every JSON shape; text with quotes, commas, newlines, control and
//! non-ASCII characters, formulas and empty strings — both give the same rows in the same
//! order, written as the same NDJSON and CSV bytes.

mod common;

use assistant_db::export::{CsvCells, Format, RecordWriter};
use assistant_db::model::AssistantMode;
use assistant_db::query::{InteractionFilter, InteractionQuery, MAX_PAGE_SIZE};
use assistant_db::row::InteractionRow;
use assistant_db::table::INTERACTIONS;
use assistant_db::Client;
use futures_util::TryStreamExt;

/// Rows another writer could store, each odd in some way; ids 1 to [`ROWS`].
const ODD_ROWS: &str = r#"
INSERT INTO public.interactions (id, "timestamp", assistant_mode, session_id, user_query,
    intent_name, intent_category, classification_reason, step_1_intent_completed,
    step_2_routing_decision, step_3_retrieval_performed, step_4_response_generated,
    step_5_confidence_score, step_6_escalation_triggered, outcome, confidence_score,
    escalation_reason, response_text, citations, retrieved_chunks_count,
    processing_time_ms, created_at) VALUES
  ('00000000-0000-7000-8000-000000000001', '2024-05-01T10:00:00.123456Z', 'customer', 's,1',
   'say "hi", then
a new line', 'fees', 'automatable', E'tab\there', true, 'rag', true, true, 'NaN', false,
   'resolved', 'NaN', NULL, 'Ünïcödé — 日本語 🎉, "quoted"', '[{"number": 1, "source": "Fee schedule", "url": "https://x/y?a=1,2"}]',
   3, 120, '2024-05-01T10:00:01Z'),
  ('00000000-0000-7000-8000-000000000002', 'infinity', 'banker', '', '=1+1', NULL, NULL,
   '-2', NULL, '@SUM(A1)', NULL, NULL, 'Infinity', NULL, 'escalated', '-Infinity',
   E'\rcarriage', E'line\r\nbreak', '{"bbb": 1, "a": {"cc": [true, null], "b": "é\n\"q\""}, "z": 1.0}',
   NULL, NULL, 'infinity'),
  ('00000000-0000-7000-8000-000000000003', '-infinity', 'customer', NULL, ' ', NULL,
   'human_only', NULL, false, NULL, false, false, -0.0, true, 'resolved', 42,
   NULL, NULL, '"a string"', -1, -5, '-infinity'),
  ('00000000-0000-7000-8000-000000000004', '200000-01-01T00:00:00Z', 'banker', NULL,
   'year 200000', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1e-300, NULL, 'resolved',
   1.7976931348623157e308, NULL, NULL, '[1, 2.5, 1e-7, -0, 12345678901234567890, 0.1]',
   NULL, NULL, '294276-12-31T23:59:59.999999Z'),
  ('00000000-0000-7000-8000-000000000005', '0044-03-15T00:00:00Z BC', 'banker', NULL,
   'the ides of March', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'resolved',
   0.9, NULL, NULL, 'null', NULL, NULL, '4713-01-01T00:00:00Z BC'),
  ('00000000-0000-7000-8000-000000000006', NULL, 'customer', NULL, 'no timestamp', NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'resolved', NULL, NULL, NULL, NULL,
   NULL, NULL, NULL),
  ('00000000-0000-7000-8000-000000000007', '9999-12-31T23:59:59.999999Z', 'customer', NULL,
   'last instant of year 9999', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0.1, NULL,
   'resolved', 0.30000000000000004, NULL, '', '{}', 0, 0, '0001-01-01T00:00:00Z'),
  ('00000000-0000-7000-8000-000000000008', '10000-01-01T00:00:00Z', 'customer', NULL,
   E'control \x01 and nul-free', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   'resolved', 1, NULL, NULL, '[]', 2147483647, -2147483648, '0001-12-31T23:59:59.999999Z BC'),
  ('00000000-0000-7000-8000-000000000009', '2024-05-01T10:00:00.123456Z', 'banker', NULL,
   'same instant, next id', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   'resolved', 0.5, NULL, NULL, '"\u00e9\ud83c\udf89"', NULL, NULL, now());
"#;

/// How many rows [`ODD_ROWS`] holds.
const ROWS: usize = 9;

/// Every row the typed path gives for `filter`, page after page.
async fn typed(client: &Client, filter: &InteractionFilter) -> Vec<InteractionRow> {
    let mut query = InteractionQuery {
        filter: filter.clone(),
        limit: Some(MAX_PAGE_SIZE),
        after: None,
    };
    let mut rows = Vec::new();
    loop {
        let page = client.interactions(&query).await.expect("a typed page");
        rows.extend(page.items);
        match page.next {
            Some(next) => query.after = Some(next),
            None => return rows,
        }
    }
}

/// Every row the fast path gives for `filter`.
async fn fast(client: &Client, filter: &InteractionFilter) -> Vec<InteractionRow> {
    client
        .export_interactions(filter.clone())
        .try_collect()
        .await
        .expect("the fast export")
}

/// `rows` written as `format` (with `cells` for CSV), and the writer's notes.
fn written(rows: &[InteractionRow], format: Format, cells: CsvCells) -> (String, String) {
    let mut writer = RecordWriter::new(format, &INTERACTIONS, Vec::new(), cells).expect("writer");
    for row in rows {
        writer.write(row).expect("write");
    }
    let (bytes, notes) = writer.into_inner().expect("flush");
    (
        String::from_utf8(bytes).expect("UTF-8"),
        format!("{notes:?}"),
    )
}

#[tokio::test]
async fn the_fast_export_writes_the_bytes_the_typed_path_writes() {
    let pool = common::migrated_db().await;
    common::exec(&pool, ODD_ROWS).await;
    let client = Client::from_pool(pool);

    let everything = InteractionFilter::default();
    let banker = InteractionFilter {
        mode: Some(AssistantMode::Banker),
        ..InteractionFilter::default()
    };
    for (filter, expected) in [(&everything, ROWS), (&banker, 4)] {
        let typed = typed(&client, filter).await;
        let fast = fast(&client, filter).await;
        assert_eq!(typed.len(), expected, "{filter:?}");
        let ids = |rows: &[InteractionRow]| rows.iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(&fast), ids(&typed), "the same rows in the same order");
        for (format, cells) in [
            (Format::Ndjson, CsvCells::Raw),
            (Format::Csv, CsvCells::Neutralised),
            (Format::Csv, CsvCells::Raw),
        ] {
            let (typed_text, typed_notes) = written(&typed, format, cells);
            let (fast_text, fast_notes) = written(&fast, format, cells);
            for (typed_line, fast_line) in typed_text.lines().zip(fast_text.lines()) {
                assert_eq!(fast_line, typed_line, "{format:?} {cells:?}");
            }
            assert_eq!(fast_text, typed_text, "{format:?} {cells:?}");
            assert_eq!(fast_notes, typed_notes, "{format:?} {cells:?}");
        }
    }

    // The rows are the odd values themselves, not something both paths lose alike.
    let (ndjson, _) = written(
        &fast(&client, &everything).await,
        Format::Ndjson,
        CsvCells::Raw,
    );
    for needle in [
        r#""timestamp":"infinity""#,
        r#""timestamp":"-infinity""#,
        r#""timestamp":"200000-01-01T00:00:00+00:00""#,
        r#""timestamp":"0044-03-15T00:00:00+00:00 BC""#,
        r#""timestamp":"9999-12-31T23:59:59.999999Z""#,
        r#""timestamp":"10000-01-01T00:00:00+00:00""#,
        r#""timestamp":"2024-05-01T10:00:00.123456Z""#,
        r#""created_at":"0001-01-01T00:00:00Z""#,
        r#""created_at":"0001-12-31T23:59:59.999999+00:00 BC""#,
        r#""timestamp":null"#,
        r#""confidence_score":"NaN""#,
        r#""confidence_score":"-Infinity""#,
        r#""confidence_score":1.7976931348623157e+308"#,
        r#""step_5_confidence_score":1e-300"#,
        r#""citations":"a string""#,
        r#""citations":{"a":{"b":"é\n\"q\"","cc":[true,null]},"bbb":1,"z":1.0}"#,
        r#""citations":[1,2.5,1e-7,0,12345678901234567890,0.1]"#,
        r#""user_query":"say \"hi\", then\na new line""#,
        r#""user_query":"control \u0001 and nul-free""#,
        r#""created_at":"294276-12-31T23:59:59.999999+00:00""#,
        "Ünïcödé — 日本語 🎉",
    ] {
        assert!(ndjson.contains(needle), "{needle} not in\n{ndjson}");
    }
}
