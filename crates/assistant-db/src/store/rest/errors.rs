//! PostgREST's answers that are not successes, as the crate's [`Error`].
//!
//! A PostgREST error body (`{code, message, details, hint}`) carries PostgreSQL's
//! SQLSTATE, which goes through the same table as the direct transport's errors
//! ([`DbFailure`]); PostgREST's own codes (`PGRST…`) and bare HTTP statuses from a
//! gateway in front of it are read here. PostgREST does not send the table, constraint
//! and column as fields, so they are read from the `"…"`-quoted names of the message.

use reqwest::StatusCode;
use serde_json::Value;

use super::KeyRole;
use crate::error::{is_serialization_failure, is_unavailable, DbFailure, Error};

/// Maps an error response of PostgREST (or of Supabase's gateway in front of it) to the
/// crate's [`Error`], by SQLSTATE or PostgREST code first, then by HTTP status.
///
/// `what` says what was being done ("reading interactions"); `role` which key was used,
/// so that a refusal can say which key the operation needs.
pub fn error_from_response(status: StatusCode, body: &[u8], what: &str, role: KeyRole) -> Error {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let message = field("message")
        .or_else(|| field("msg"))
        .or_else(|| field("error"))
        .unwrap_or_else(|| {
            format!(
                "HTTP {} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )
            .trim_end()
            .to_owned()
        });
    let Some(code) = field("code") else {
        return from_status(status, what, role, message);
    };
    match code.as_str() {
        "PGRST301" | "PGRST302" | "PGRST303" => Error::Auth(format!(
            "{what}: the REST API refused the {} ({message}, {code}); check SUPABASE_KEY",
            role.describe()
        )),
        "PGRST000" | "PGRST001" | "PGRST002" | "PGRST003" => Error::Unavailable(format!(
            "{what}: {message} ({code}, HTTP {})",
            status.as_u16()
        )),
        // The schema cache has no such function or table: the migrations are missing.
        "PGRST202" | "PGRST205" => Error::NotMigrated {
            message: format!("{what}: {message}"),
            code,
        },
        c if c.starts_with("PGRST") => Error::Database {
            message: with_hint(what, &message, field("hint").as_deref()),
            code: Some(code),
        },
        c if is_unavailable(c) => {
            Error::Unavailable(format!("{what}: {message} ({c}, HTTP {})", status.as_u16()))
        }
        // An error a retry may not repeat, on a server in trouble: try again.
        c if status.is_server_error() && !is_deterministic(c) && !is_serialization_failure(c) => {
            Error::Unavailable(format!("{what}: {message} ({c}, HTTP {})", status.as_u16()))
        }
        _ => {
            let names = quoted(&message);
            let name = |i: usize| names.get(i).map(|n| (*n).to_owned());
            // PostgreSQL's messages name the relation and constraint in this order:
            // check and foreign key: "…relation \"t\" violates … constraint \"c\"";
            // unique: "…unique constraint \"c\""; not null: "…column \"c\" of relation \"t\"".
            let (table, constraint, column) = match code.as_str() {
                "23514" if names.len() >= 2 => (name(0), name(1), None),
                "23514" | "23505" => (None, name(0), None),
                "23503" => (name(0), name(1), None),
                "23502" => (name(1), None, name(0)),
                _ => (None, None, None),
            };
            let hint = field("hint");
            let mapped = Error::from(DbFailure {
                code: code.clone(),
                message: message.clone(),
                detail: field("details"),
                table,
                constraint,
                column,
                hint: hint.clone(),
            });
            match mapped {
                // The migrations' functions refuse with their own words, which say what
                // to do; any other refusal is about the key.
                Error::PermissionDenied(message) if message.starts_with("interaction_metrics:") => {
                    Error::PermissionDenied(format!("{what}: {message}"))
                }
                Error::PermissionDenied(message) => {
                    Error::PermissionDenied(refusal(what, role, &message))
                }
                Error::NotMigrated { code, message } => Error::NotMigrated {
                    message: format!("{what}: {message}"),
                    code,
                },
                Error::Database { code, message } => Error::Database {
                    message: with_hint(what, &message, hint.as_deref()),
                    code,
                },
                other => other,
            }
        }
    }
}

/// An answer without a PostgREST error body: the status says what it is.
fn from_status(status: StatusCode, what: &str, role: KeyRole, message: String) -> Error {
    match status {
        StatusCode::UNAUTHORIZED => Error::Auth(format!(
            "{what}: the REST API refused the {} ({message}); check SUPABASE_KEY",
            role.describe()
        )),
        StatusCode::FORBIDDEN => Error::PermissionDenied(refusal(what, role, &message)),
        s if s.is_server_error()
            || s == StatusCode::TOO_MANY_REQUESTS
            || s == StatusCode::REQUEST_TIMEOUT =>
        {
            Error::Unavailable(format!("{what}: the REST API answered {message}"))
        }
        _ => Error::Database {
            code: None,
            message: format!(
                "{what}: the REST API answered HTTP {}: {message}",
                status.as_u16()
            ),
        },
    }
}

/// Says which key an operation needs, after the server refused it.
fn refusal(what: &str, role: KeyRole, message: &str) -> String {
    match role {
        KeyRole::Public => format!(
            "{what} needs the secret (service_role) key; the public (anon) key may only log \
             interactions and read metrics ({message})"
        ),
        KeyRole::Secret => format!(
            "{what} was refused to the secret (service_role) key ({message}); are the \
             migrations, 004 with its grants included, applied?"
        ),
        KeyRole::Other => format!(
            "{what} was refused to this key ({message}); it needs the secret (service_role) key"
        ),
    }
}

/// SQLSTATE classes a retry cannot change: data, integrity, syntax or access, raised; and
/// a statement timeout, which the same call would only run into again (a retry at once
/// would only add load to a server already short of time).
fn is_deterministic(code: &str) -> bool {
    code == "57014"
        || ["22", "23", "42", "P0"]
            .iter()
            .any(|class| code.starts_with(class))
}

/// The server's message, with its hint.
fn with_hint(what: &str, message: &str, hint: Option<&str>) -> String {
    let mut text = format!("{what}: {message}");
    if let Some(hint) = hint.filter(|h| !h.is_empty()) {
        text.push_str(&format!(" (hint: {hint})"));
    }
    text
}

/// The `"…"`-quoted names in a PostgreSQL message, in order.
fn quoted(message: &str) -> Vec<&str> {
    message.split('"').skip(1).step_by(2).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: u16, body: &str) -> Error {
        error_from_response(
            StatusCode::from_u16(status).expect("status"),
            body.as_bytes(),
            "doing it",
            KeyRole::Public,
        )
    }

    #[test]
    fn postgrest_error_bodies_map_to_the_typed_errors() {
        let e = error(
            400,
            r#"{"code":"23514","details":"Failing row contains (…)","hint":null,"message":"new row for relation \"interactions\" violates check constraint \"interactions_assistant_mode_check\""}"#,
        );
        assert!(
            matches!(&e, Error::CheckViolation { table, column, constraint }
                if table == "interactions" && column == "assistant_mode"
                    && constraint == "interactions_assistant_mode_check"),
            "{e:?}"
        );
        let e = error(
            409,
            r#"{"code":"23503","details":"Key (interaction_id)=(x) is not present in table \"interactions\".","hint":null,"message":"insert or update on table \"escalations\" violates foreign key constraint \"escalations_interaction_id_fkey\""}"#,
        );
        assert!(
            matches!(&e, Error::ForeignKey { constraint, detail }
                if constraint == "escalations_interaction_id_fkey" && detail.starts_with("Key (interaction_id)")),
            "{e:?}"
        );
        let e = error(
            409,
            r#"{"code":"23505","details":"Key (openai_file_id)=(f1) already exists.","hint":null,"message":"duplicate key value violates unique constraint \"knowledge_documents_openai_file_id_key\""}"#,
        );
        assert!(
            matches!(&e, Error::Duplicate { constraint, .. } if constraint == "knowledge_documents_openai_file_id_key"),
            "{e:?}"
        );
        let e = error(
            400,
            r#"{"code":"23502","details":null,"hint":null,"message":"null value in column \"user_query\" of relation \"interactions\" violates not-null constraint"}"#,
        );
        assert!(
            matches!(&e, Error::NotNull { table, column } if table == "interactions" && column == "user_query"),
            "{e:?}"
        );
    }

    #[test]
    fn refusals_and_bad_keys_are_typed_and_say_which_key_is_needed() {
        let e = error(
            401,
            r#"{"code":"42501","details":null,"hint":null,"message":"permission denied for table interactions"}"#,
        );
        match &e {
            Error::PermissionDenied(message) => {
                assert!(message.contains("secret (service_role) key"), "{message}");
                assert!(message.contains("doing it"), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        for body in [
            r#"{"code":"PGRST301","details":null,"hint":null,"message":"JWT cryptographic operation failed"}"#,
            r#"{"code":"PGRST303","details":null,"hint":null,"message":"JWT expired"}"#,
            r#"{"message":"Invalid API key","hint":"Double check your Supabase `anon` or `service_role` API key."}"#,
            "",
        ] {
            assert!(matches!(error(401, body), Error::Auth(_)), "{body}");
        }
        assert!(matches!(error(403, "<html>"), Error::PermissionDenied(_)));
    }

    #[test]
    fn what_may_pass_is_retryable_and_what_cannot_is_not() {
        for (status, body) in [
            (503, ""),
            (502, "<html>bad gateway</html>"),
            (429, r#"{"message":"rate limited"}"#),
            (
                503,
                r#"{"code":"PGRST001","details":null,"hint":null,"message":"Database client error"}"#,
            ),
            (
                500,
                r#"{"code":"XX000","details":null,"hint":null,"message":"internal"}"#,
            ),
            (
                409,
                r#"{"code":"40001","details":null,"hint":null,"message":"could not serialize access"}"#,
            ),
        ] {
            assert!(error(status, body).is_retryable(), "{status} {body}");
        }
        for (status, body) in [
            (
                400,
                r#"{"code":"22023","details":null,"hint":"Omit p_bucket.","message":"bad bucket"}"#,
            ),
            (
                500,
                r#"{"code":"42883","details":null,"hint":null,"message":"function x does not exist"}"#,
            ),
            (
                404,
                r#"{"code":"PGRST202","details":null,"hint":null,"message":"Could not find the function"}"#,
            ),
            (404, ""),
        ] {
            let e = error(status, body);
            assert!(!e.is_retryable(), "{status} {body}: {e:?}");
        }
        match error(
            404,
            r#"{"code":"PGRST202","details":null,"hint":null,"message":"Could not find the function public.log_interactions"}"#,
        ) {
            e @ Error::NotMigrated { .. } => {
                let text = e.to_string();
                assert!(
                    text.starts_with(
                        "the database does not have assistant-db's schema (doing it: Could not find"
                    ),
                    "{text}"
                );
                assert!(text.contains("run `assistant-db migrate`"), "{text}");
                assert!(
                    text.contains("paste the output of `assistant-db schema`"),
                    "{text}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refusals_of_the_functions_are_validation_and_permission_errors() {
        let e = error(
            400,
            r#"{"code":"22023","details":"{\"rule\": \"must be between 0 and 1 (got 42)\", \"field\": \"confidence_score\", \"index\": 3, \"table\": \"interactions\"}","hint":null,"message":"interactions[3].confidence_score: must be between 0 and 1 (got 42)"}"#,
        );
        match &e {
            Error::Validation(v) => {
                assert_eq!(v.field, "interactions[3].confidence_score");
                assert_eq!(v.rule, "must be between 0 and 1 (got 42)");
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        assert!(!e.is_retryable());
        // Other 22023s (a bad bucket) stay database errors.
        assert!(matches!(
            error(
                400,
                r#"{"code":"22023","details":null,"hint":"Omit p_bucket.","message":"bad bucket"}"#
            ),
            Error::Database { .. }
        ));
        let e = error(
            401,
            r#"{"code":"42501","details":null,"hint":"The database owner turns them on with SELECT assistant_db.set_public_metrics(true).","message":"interaction_metrics: metrics are off for this key; it may only log"}"#,
        );
        match &e {
            Error::PermissionDenied(message) => {
                assert!(message.contains("metrics are off"), "{message}");
                assert!(message.contains("set_public_metrics(true)"), "{message}");
                assert!(!message.contains("needs the secret"), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        // A statement timeout is not retried at once: it would only run into it again.
        let e = error(
            500,
            r#"{"code":"57014","details":null,"hint":null,"message":"canceling statement due to statement timeout"}"#,
        );
        assert!(
            matches!(&e, Error::Database { code: Some(c), .. } if c == "57014"),
            "{e:?}"
        );
        assert!(!e.is_retryable());
    }
}
