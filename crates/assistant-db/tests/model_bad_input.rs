//! The bad-input corpus: every malformed record is refused with the exact field and rule.

use assistant_db::model::{
    AssistantMode, Citation, Confidence, ContentType, Escalation, IntentCategory, Interaction,
    KnowledgeDocument, NonNegativeInt, Outcome, ValidationError,
};
use serde_json::{json, Value};

/// Which record a case is parsed as.
#[derive(Debug, Clone, Copy)]
enum Record {
    Interaction,
    Escalation,
    Document,
}

impl Record {
    /// A minimal valid record, as JSON.
    fn base(self) -> Value {
        match self {
            Record::Interaction => json!({
                "assistant_mode": "customer", "user_query": "test query", "outcome": "resolved",
            }),
            Record::Escalation => json!({
                "trigger_type": "low_confidence", "escalation_reason": "score below threshold",
            }),
            Record::Document => json!({"openai_file_id": "file-abc", "title": "Fee schedule"}),
        }
    }

    fn parse_str(self, json: &str) -> Result<(), ValidationError> {
        match self {
            Record::Interaction => Interaction::from_json(json).map(drop),
            Record::Escalation => Escalation::from_json(json).map(drop),
            Record::Document => KnowledgeDocument::from_json(json).map(drop),
        }
    }

    fn parse_value(self, value: Value) -> Result<(), ValidationError> {
        match self {
            Record::Interaction => Interaction::from_json_value(value).map(drop),
            Record::Escalation => Escalation::from_json_value(value).map(drop),
            Record::Document => KnowledgeDocument::from_json_value(value).map(drop),
        }
    }
}

/// How a case changes the valid base record.
enum Change {
    /// Set a key to a value.
    Set(&'static str, Value),
    /// Leave a required key out.
    Remove(&'static str),
    /// Append raw JSON text inside the object, for what a `Value` cannot hold.
    Append(&'static str),
    /// Replace the whole input with raw text.
    Raw(&'static str),
}

struct Case {
    record: Record,
    change: Change,
    field: &'static str,
    rule: &'static str,
}

fn case(record: Record, change: Change, field: &'static str, rule: &'static str) -> Case {
    Case {
        record,
        change,
        field,
        rule,
    }
}

fn long(n: usize) -> Value {
    Value::String("é".repeat(n))
}

#[rustfmt::skip]
fn corpus() -> Vec<Case> {
    use Change::{Append, Raw, Remove, Set};
    use Record::{Document as K, Escalation as E, Interaction as I};
    let cite = |c: Value| Set("citations", json!([c]));
    vec![
        // Enum columns: unknown values, including over-long ones for VARCHAR(10) / (20).
        case(I, Set("assistant_mode", json!("robot")), "assistant_mode", "must be one of 'customer', 'banker' (got \"robot\")"),
        case(I, Set("assistant_mode", json!("customer_mode")), "assistant_mode", "must be one of"),
        case(I, Set("assistant_mode", json!("Customer")), "assistant_mode", "must be one of"),
        case(I, Set("assistant_mode", json!(1)), "assistant_mode", "invalid type: integer `1`, expected a string"),
        case(I, Set("intent_category", json!("automatable_by_bot_x")), "intent_category", "must be one of"),
        case(I, Set("outcome", json!("resolved_after_escalation")), "outcome", "must be one of"),
        case(I, Set("outcome", json!(null)), "outcome", "invalid type: null"),
        case(K, Set("content_type", json!("synthetic_generated_x")), "content_type", "must be one of"),
        // Missing required columns.
        case(I, Remove("user_query"), "user_query", "is required"),
        case(I, Remove("assistant_mode"), "assistant_mode", "is required"),
        case(I, Remove("outcome"), "outcome", "is required"),
        case(E, Remove("trigger_type"), "trigger_type", "is required"),
        case(E, Remove("escalation_reason"), "escalation_reason", "is required"),
        case(K, Remove("openai_file_id"), "openai_file_id", "is required"),
        case(K, Remove("title"), "title", "is required"),
        // Required text that says nothing, or has the wrong type.
        case(I, Set("user_query", json!("")), "user_query", "must not be empty"),
        case(I, Set("user_query", json!(" \t\n ")), "user_query", "must not be empty"),
        case(I, Set("user_query", json!(null)), "user_query", "invalid type: null"),
        case(I, Set("user_query", json!(42)), "user_query", "invalid type: integer"),
        case(E, Set("trigger_type", json!("")), "trigger_type", "must not be empty"),
        case(K, Set("title", json!("   ")), "title", "must not be empty"),
        // One character over each VARCHAR limit (counted in characters, not bytes).
        case(I, Set("session_id", long(256)), "session_id", "must be at most 255 characters (got 256)"),
        case(K, Set("openai_file_id", long(256)), "openai_file_id", "must be at most 255 characters (got 256)"),
        case(I, Set("intent_name", long(101)), "intent_name", "must be at most 100 characters (got 101)"),
        case(K, Set("topic_collection", long(101)), "topic_collection", "must be at most 100 characters (got 101)"),
        case(I, Set("step_2_routing_decision", long(51)), "step_2_routing_decision", "must be at most 50 characters (got 51)"),
        case(E, Set("trigger_type", long(51)), "trigger_type", "must be at most 50 characters (got 51)"),
        // NUL characters, which PostgreSQL text and jsonb refuse.
        case(I, Set("user_query", json!("a\u{0}b")), "user_query", "must not contain NUL characters"),
        case(I, Set("session_id", json!("\u{0}")), "session_id", "must not contain NUL characters"),
        case(I, Set("classification_reason", json!("x\u{0}")), "classification_reason", "must not contain NUL"),
        case(I, Set("response_text", json!("\u{0}")), "response_text", "must not contain NUL"),
        case(E, Set("escalation_reason", json!("why\u{0}")), "escalation_reason", "must not contain NUL"),
        case(K, Set("title", json!("t\u{0}")), "title", "must not contain NUL"),
        case(K, Set("source_url", json!("https://x\u{0}")), "source_url", "must not contain NUL"),
        case(K, Set("metadata", json!({"tags": ["ok", "b\u{0}d"]})), "metadata", "NUL characters (found at JSON pointer `/tags/1`)"),
        case(K, Set("metadata", json!({"k\u{0}": 1})), "metadata", "must not contain NUL"),
        // Scores and counts.
        case(I, Set("confidence_score", json!(1.5)), "confidence_score", "must be between 0 and 1 (got 1.5)"),
        case(I, Set("step_5_confidence_score", json!(-0.1)), "step_5_confidence_score", "must be between 0 and 1 (got -0.1)"),
        case(I, Set("confidence_score", json!("0.5")), "confidence_score", "invalid type: string"),
        case(I, Append(r#""confidence_score": 1e400"#), "confidence_score", "number out of range"),
        case(I, Append(r#""step_5_confidence_score": NaN"#), "step_5_confidence_score", "expected a JSON value"),
        case(I, Set("processing_time_ms", json!(-1)), "processing_time_ms", "must be at least 0 (got -1)"),
        case(I, Set("retrieved_chunks_count", json!(2_147_483_648_i64)), "retrieved_chunks_count", "must be at most 2147483647 (got 2147483648)"),
        case(I, Set("processing_time_ms", json!(1.5)), "processing_time_ms", "invalid type: floating point"),
        case(I, Set("processing_time_ms", json!(u64::MAX)), "processing_time_ms", "invalid value"),
        case(I, Append(r#""processing_time_ms": 1e400"#), "processing_time_ms", "number out of range"),
        // Citations.
        case(I, Set("citations", json!("see sources")), "citations", "expected a sequence"),
        case(I, Set("citations", json!({"number": 1, "source": "a"})), "citations", "expected a sequence"),
        case(I, cite(json!({"number": 1})), "citations[0].source", "is required"),
        case(I, cite(json!({"source": "a"})), "citations[0].number", "is required"),
        case(I, cite(json!({"number": 0, "source": "a"})), "citations[0].number", "must be at least 1 (got 0)"),
        case(I, cite(json!({"number": -1, "source": "a"})), "citations[0].number", "invalid value: integer `-1`"),
        case(I, cite(json!({"number": "1", "source": "a"})), "citations[0].number", "invalid type: string"),
        case(I, cite(json!({"number": 1, "source": ""})), "citations[0].source", "must not be empty"),
        case(I, cite(json!({"number": 1, "source": "a", "page": 3})), "citations[0].page", "is not a known field"),
        case(I, cite(json!("[1] Fee schedule")), "citations[0]", "invalid type: string \"[1] Fee schedule\", expected a JSON object"),
        case(I, cite(json!([1, "Fee schedule", null])), "citations[0]", "invalid type: sequence, expected a JSON object"),
        case(I, Set("citations", json!([{"number": 1, "source": "a"}, {"number": 2, "source": "b", "url": "\u{0}"}])), "citations[1].url", "must not contain NUL"),
        // Timestamps and UUIDs.
        case(I, Set("timestamp", json!("yesterday")), "timestamp", "must be an RFC 3339 timestamp"),
        case(I, Set("created_at", json!("2024-13-01T00:00:00Z")), "created_at", "must be an RFC 3339 timestamp"),
        case(K, Set("ingested_at", json!("2024-05-01T12:30:00")), "ingested_at", "must be an RFC 3339 timestamp"),
        case(E, Set("created_at", json!(1_714_566_600)), "created_at", "expected an RFC 3339 timestamp"),
        case(I, Set("id", json!("not-a-uuid")), "id", "UUID"),
        case(E, Set("interaction_id", json!(123)), "interaction_id", "invalid type: integer"),
        // Flags.
        case(I, Set("step_1_intent_completed", json!("yes")), "step_1_intent_completed", "invalid type: string"),
        case(I, Set("step_6_escalation_triggered", json!(1)), "step_6_escalation_triggered", "invalid type: integer"),
        // Unknown columns.
        case(I, Set("foo", json!(1)), "foo", "is not a column of interactions"),
        case(E, Set("severity", json!("high")), "severity", "is not a column of escalations"),
        case(K, Set("file_id", json!("f")), "file_id", "is not a column of knowledge_documents"),
        // Not a record at all.
        case(I, Raw("[]"), ".", "invalid type: sequence, expected a JSON object"),
        case(I, Raw(r#"["0190b6a0-0000-7000-8000-000000000001", "2024-05-01T12:30:00Z", "customer"]"#), ".", "expected a JSON object"),
        case(E, Raw("\"escalate\""), ".", "invalid type: string \"escalate\", expected a JSON object"),
        case(K, Raw(""), ".", "not JSON: expected a JSON value, found the end of the text"),
        case(I, Raw(r#"{"assistant_mode":"customer","#), ".", "not JSON: expected a JSON value, found the end of the text"),
        case(K, Raw(r#"{"openai_file_id": "f", "title": "#), "title", "found the end of the text"),
        case(I, Raw(r#"{"assistant_mode":"customer","user_query":"a","user_query":"b","outcome":"resolved"}"#), "user_query", "is given more than once"),
        case(E, Raw(r#"{"trigger_type":"t","escalation_reason":"r"} x"#), ".", "trailing characters"),
    ]
}

/// The JSON text of a case, and its value when a `Value` can hold it.
fn input(case: &Case) -> (String, Option<Value>) {
    let mut value = case.record.base();
    let object = value.as_object_mut().expect("base records are objects");
    match &case.change {
        Change::Set(key, v) => {
            object.insert((*key).to_owned(), v.clone());
        }
        Change::Remove(key) => {
            object.remove(*key);
        }
        Change::Append(text) => {
            let base = value.to_string();
            let open = base.strip_suffix('}').expect("objects end with a brace");
            return (format!("{open}, {text}}}"), None);
        }
        Change::Raw(text) => return ((*text).to_owned(), None),
    }
    (value.to_string(), Some(value))
}

#[test]
fn every_bad_input_is_refused_with_field_and_rule() {
    let cases = corpus();
    assert!(cases.len() >= 30);
    let mut failures = Vec::new();
    for (n, case) in cases.iter().enumerate() {
        let (text, value) = input(case);
        let mut results = vec![("from_json", case.record.parse_str(&text))];
        if let Some(value) = value {
            results.push(("from_json_value", case.record.parse_value(value)));
        }
        for (how, result) in results {
            match result {
                Err(e) if e.field == case.field && e.rule.contains(case.rule) => {}
                other => failures.push(format!(
                    "case {n} ({:?} via {how}) {}: expected `{}` ~ {:?}, got {:?}",
                    case.record,
                    text.chars().take(120).collect::<String>(),
                    case.field,
                    case.rule,
                    other
                )),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn serde_json_location_suffix_is_stripped_from_data_errors() {
    let err = Interaction::from_json(
        r#"{"assistant_mode":"customer","user_query":"q","outcome":"resolved","confidence_score":2}"#,
    )
    .expect_err("out of range");
    assert_eq!(err.rule, "must be between 0 and 1 (got 2)");
    assert_eq!(
        err.to_string(),
        "invalid `confidence_score`: must be between 0 and 1 (got 2)"
    );
}

#[test]
fn constructors_refuse_what_json_cannot_express() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let rule = Confidence::new(bad).expect_err("not finite").to_string();
        assert!(rule.starts_with("must be a finite number"), "{rule}");
    }
    assert!(Confidence::new(1.000_000_1).is_err());
    assert!(NonNegativeInt::new(i64::MAX).is_err());
    assert!(NonNegativeInt::new(i64::MIN).is_err());

    let err = Interaction::new(AssistantMode::Customer, "", Outcome::Resolved).expect_err("empty");
    assert_eq!(
        (err.field.as_str(), err.rule.as_str()),
        ("user_query", "must not be empty or whitespace-only")
    );
    let err = Interaction::new(AssistantMode::Customer, "\0", Outcome::Resolved).expect_err("nul");
    assert_eq!(err.field, "user_query");
    let err = Escalation::new(uuid::Uuid::now_v7(), &"t".repeat(51), "r").expect_err("long");
    assert_eq!(err.field, "trigger_type");
    let err = KnowledgeDocument::new(&"f".repeat(256), "t").expect_err("long");
    assert_eq!(err.rule, "must be at most 255 characters (got 256)");
    let err = Citation::new(0, "s", None).expect_err("zero");
    assert_eq!(
        (err.field.as_str(), err.rule.as_str()),
        ("number", "must be at least 1 (got 0)")
    );
    let err = "robot".parse::<AssistantMode>().expect_err("unknown");
    assert_eq!(err.field, "assistant_mode");
    assert!(err.rule.contains("'customer', 'banker'"));
}

#[test]
fn spec_example_parses() {
    let i = Interaction::from_json(
        r#"{"assistant_mode":"customer","user_query":"test query","outcome":"resolved","step_1_intent_completed":true}"#,
    )
    .expect("the spec's example is valid");
    assert_eq!(i.assistant_mode, AssistantMode::Customer);
    assert_eq!(i.user_query.as_str(), "test query");
    assert_eq!(i.outcome, Outcome::Resolved);
    assert!(i.step_1_intent_completed);
    assert!(!i.step_6_escalation_triggered);
    assert_eq!(i.created_at, None);
}

#[test]
fn values_at_each_limit_are_accepted() {
    let mut value = Record::Interaction.base();
    let object = value.as_object_mut().expect("object");
    object.insert("session_id".into(), long(255));
    object.insert("intent_name".into(), long(100));
    object.insert("step_2_routing_decision".into(), long(50));
    object.insert("confidence_score".into(), json!(0));
    object.insert("step_5_confidence_score".into(), json!(1.0));
    object.insert("processing_time_ms".into(), json!(i32::MAX));
    object.insert("retrieved_chunks_count".into(), json!(0));
    object.insert("step_3_retrieval_performed".into(), Value::Null);
    let i = Interaction::from_json_value(value).expect("at the limits");
    assert_eq!(i.session_id.expect("set").as_str().chars().count(), 255);
    assert!(!i.step_3_retrieval_performed);

    let e = Escalation::from_json_value(
        json!({"trigger_type": "t".repeat(50), "escalation_reason": "r"}),
    );
    assert!(e.is_ok());
    let d = KnowledgeDocument::from_json_value(json!({
        "openai_file_id": "é".repeat(255), "title": "t", "topic_collection": "x".repeat(100),
    }));
    assert!(d.is_ok());
}

#[test]
fn every_field_survives_a_round_trip() {
    let interaction = Interaction::from_json_value(json!({
        "id": "0190b6a0-0000-7000-8000-000000000001",
        "timestamp": "2024-05-01T12:30:00.123456Z",
        "assistant_mode": "banker",
        "session_id": "conv_123",
        "user_query": "Why was my card declined?",
        "intent_name": "card_declined",
        "intent_category": "sensitive",
        "classification_reason": "Mentions a specific card",
        "step_1_intent_completed": true,
        "step_2_routing_decision": "retrieve",
        "step_3_retrieval_performed": true,
        "step_4_response_generated": true,
        "step_5_confidence_score": 0.42,
        "step_6_escalation_triggered": true,
        "outcome": "escalated",
        "confidence_score": 0.42,
        "escalation_reason": "Low confidence",
        "response_text": "A banker will follow up [1].",
        "citations": [{"number": 1, "source": "Card guide", "url": "https://example.com/cards"},
                      {"number": 2, "source": "FAQ", "url": null}],
        "retrieved_chunks_count": 5,
        "processing_time_ms": 1234,
        "created_at": "2024-05-01T12:30:01+02:00",
    }))
    .expect("valid");
    assert_eq!(interaction.intent_category, Some(IntentCategory::Sensitive));
    let text = serde_json::to_string(&interaction).expect("serializes");
    assert_eq!(
        Interaction::from_json(&text).expect("parses back"),
        interaction
    );
    let value = serde_json::to_value(&interaction).expect("serializes");
    assert_eq!(
        Interaction::from_json_value(value).expect("parses back"),
        interaction
    );

    let escalation =
        Escalation::new(interaction.id, "low_confidence", "Score 0.42 < 0.6").expect("valid");
    let text = serde_json::to_string(&escalation).expect("serializes");
    assert_eq!(
        Escalation::from_json(&text).expect("parses back"),
        escalation
    );

    let mut document = KnowledgeDocument::new("file-abc", "Card guide").expect("valid");
    document.content_type = Some(ContentType::Public);
    document.metadata = Some(
        serde_json::from_value(json!({"pages": 12, "lang": ["en", "fr"], "nested": {"a": null}}))
            .expect("valid metadata"),
    );
    document.ingested_at = Some(interaction.timestamp);
    let text = serde_json::to_string(&document).expect("serializes");
    assert_eq!(
        KnowledgeDocument::from_json(&text).expect("parses back"),
        document
    );
}

#[test]
fn serialized_keys_are_the_column_names() {
    let i = Interaction::new(AssistantMode::Customer, "q", Outcome::Resolved).expect("valid");
    let value = serde_json::to_value(&i).expect("serializes");
    let keys: Vec<&str> = value
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "id",
        "timestamp",
        "assistant_mode",
        "session_id",
        "user_query",
        "intent_name",
        "intent_category",
        "classification_reason",
        "step_1_intent_completed",
        "step_2_routing_decision",
        "step_3_retrieval_performed",
        "step_4_response_generated",
        "step_5_confidence_score",
        "step_6_escalation_triggered",
        "outcome",
        "confidence_score",
        "escalation_reason",
        "response_text",
        "citations",
        "retrieved_chunks_count",
        "processing_time_ms",
        "created_at",
    ];
    let mut keys_sorted = keys.clone();
    keys_sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(keys_sorted, expected);
}
