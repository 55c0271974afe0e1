//! The Security section of `verify`: the trust boundary of migrations 004 and 005, read
//! from the catalog and then tried for real as `anon`.
//!
//! Catalog checks fail on drift, such as 003 pasted again after 005 (its functions come
//! back SECURITY INVOKER with another search_path) or a table created later and left open
//! to the public key. The behaviour checks run as `anon` inside one transaction that is
//! rolled back, so they write nothing even where the catalog says a wall is missing.

use sqlx::{Acquire, PgConnection, Postgres, Row, Transaction};

use super::behaviour::savepoint;
use crate::error::{refusal_of, Result};
use crate::verify::{Report, Section};

/// The roles Supabase's API switches to for the public key and for signed-in users.
const API_ROLES: [&str; 2] = ["anon", "authenticated"];

/// The search_path every function of ours pins.
const PINNED: &str = "search_path=pg_catalog, pg_temp";

/// How a function of ours must be set up.
struct FunctionSpec {
    /// `schema.name(argument types)`, as `verify` names it.
    name: &'static str,
    /// The public key and signed-in users may call it (the REST API).
    api: bool,
    /// It runs with its owner's rights.
    definer: bool,
    /// A procedure that commits: PostgreSQL forbids it SECURITY DEFINER and a SET clause,
    /// so it must run with its caller's rights and pin no search_path (it names
    /// everything with its schema instead).
    commits: bool,
}

/// The functions in `public` that the migrations create; every function in `assistant_db`
/// is ours too, callable by its owner only.
const PUBLIC_FUNCTIONS: [FunctionSpec; 13] = [
    FunctionSpec {
        name: "public.log_interactions(jsonb, jsonb)",
        api: true,
        definer: true,
        commits: false,
    },
    FunctionSpec {
        name: "public.interaction_metrics(text, timestamp with time zone, timestamp with time zone, text, text, text)",
        api: true,
        definer: true,
        commits: false,
    },
    FunctionSpec {
        name: "public.interaction_metrics_tz(text, timestamp with time zone, timestamp with time zone, text, text, text, text)",
        api: true,
        definer: true,
        commits: false,
    },
    FunctionSpec {
        name: "public.upsert_knowledge_documents(jsonb)",
        api: false,
        definer: false,
        commits: false,
    },
    FunctionSpec {
        name: "public.data_quality_report()",
        api: false,
        definer: true,
        commits: false,
    },
    // Migration 008: retention and erasure, for service_role and the owner.
    FunctionSpec {
        name: "public.retention_preview(interval)",
        api: false,
        definer: true,
        commits: false,
    },
    FunctionSpec {
        name: "public.retention_start(interval, text)",
        api: false,
        definer: true,
        commits: false,
    },
    FunctionSpec {
        name: "public.retention_step(bigint, integer)",
        api: false,
        definer: true,
        commits: false,
    },
    FunctionSpec {
        name: "public.erase_customer_data(text, text, bigint, bigint, text)",
        api: false,
        definer: true,
        commits: false,
    },
    FunctionSpec {
        name: "public.retention_log(integer, text, text)",
        api: false,
        definer: true,
        commits: false,
    },
    FunctionSpec {
        name: "public.run_retention(interval, integer, text)",
        api: false,
        definer: false,
        commits: true,
    },
    // Migration 011: the rollups' check and rebuild.
    FunctionSpec {
        name: "public.rollups_check(timestamp with time zone, timestamp with time zone)",
        api: false,
        definer: true,
        commits: false,
    },
    FunctionSpec {
        name: "public.rollups_rebuild(timestamp with time zone, timestamp with time zone)",
        api: false,
        definer: true,
        commits: false,
    },
];

/// Runs the Security section.
pub(super) async fn check(conn: &mut PgConnection, report: &mut Report) -> Result<()> {
    let roles: Vec<String> = sqlx::query_scalar(
        "SELECT rolname::text FROM pg_catalog.pg_roles WHERE rolname = ANY($1) ORDER BY 1",
    )
    .bind(&API_ROLES[..])
    .fetch_all(&mut *conn)
    .await?;
    if roles.len() < API_ROLES.len() {
        report.push(
            Section::Security,
            "roles anon and authenticated",
            false,
            "missing: apply migration 004, which creates them where Supabase has not",
        );
        return Ok(());
    }
    relations(conn, report).await?;
    internal_schema(conn, report).await?;
    functions(conn, report).await?;
    timeouts(conn, report).await?;
    let public_metrics = public_metrics_setting(conn, report).await?;
    as_anon(conn, report, public_metrics).await
}

/// Every table, view and sequence in `public` and `assistant_db`: row-level security on
/// (tables), no privilege for anon or authenticated.
async fn relations(conn: &mut PgConnection, report: &mut Report) -> Result<()> {
    let rows = sqlx::query(
        "SELECT n.nspname::text || '.' || c.relname::text AS name, c.relkind::text AS kind, \
                c.relrowsecurity AS rls, \
                ARRAY(SELECT r FROM unnest($1::text[]) AS r \
                      WHERE CASE WHEN c.relkind = 'S' \
                                 THEN has_sequence_privilege(r, c.oid, 'USAGE, SELECT, UPDATE') \
                                 ELSE has_table_privilege(r, c.oid, \
                                          'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') \
                                      OR has_any_column_privilege(r, c.oid, 'SELECT, INSERT, UPDATE, REFERENCES') \
                            END) AS open_to \
         FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname IN ('public', 'assistant_db') \
           AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') \
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                           WHERE d.classid = 'pg_catalog.pg_class'::regclass \
                             AND d.objid = c.oid AND d.deptype = 'e') \
         ORDER BY n.nspname <> 'public', c.relname",
    )
    .bind(&API_ROLES[..])
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        let name: String = row.try_get("name")?;
        let kind: String = row.try_get("kind")?;
        let rls: bool = row.try_get("rls")?;
        let open_to: Vec<String> = row.try_get("open_to")?;
        let is_table = matches!(kind.as_str(), "r" | "p");
        let mut problems = Vec::new();
        if is_table && !rls {
            problems.push("row-level security is off".to_owned());
        }
        if !open_to.is_empty() {
            problems.push(format!("{} may reach it", open_to.join(" and ")));
        }
        let what = match kind.as_str() {
            "S" => "sequence",
            "v" | "m" => "view",
            _ => "table",
        };
        let detail = if problems.is_empty() {
            if is_table {
                "row-level security on; no privilege for anon or authenticated".to_owned()
            } else {
                "no privilege for anon or authenticated".to_owned()
            }
        } else {
            format!(
                "{}; paste migration 005 again, or revoke by hand",
                problems.join("; ")
            )
        };
        report.push(
            Section::Security,
            format!("{what} {name} closed to the public key"),
            problems.is_empty(),
            detail,
        );
    }
    Ok(())
}

/// Schema `assistant_db` holds the rules and settings: nobody but its owner uses it.
async fn internal_schema(conn: &mut PgConnection, report: &mut Report) -> Result<()> {
    let row: Option<(Vec<String>, bool)> = sqlx::query_as(
        "SELECT ARRAY(SELECT r FROM unnest($1::text[]) AS r \
                      WHERE has_schema_privilege(r, n.oid, 'USAGE')), \
                EXISTS (SELECT 1 FROM aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a \
                        WHERE a.grantee = 0 AND a.privilege_type = 'USAGE') \
         FROM pg_catalog.pg_namespace n WHERE n.nspname = 'assistant_db'",
    )
    .bind(&API_ROLES[..])
    .fetch_optional(&mut *conn)
    .await?;
    let (ok, detail) = match row {
        None => (false, "missing: apply migration 005".to_owned()),
        Some((roles, public)) => {
            let mut who: Vec<String> = roles;
            if public {
                who.insert(0, "PUBLIC".into());
            }
            if who.is_empty() {
                (true, "used by its owner only".to_owned())
            } else {
                (false, format!("{} may use it", who.join(", ")))
            }
        }
    };
    report.push(Section::Security, "schema assistant_db", ok, detail);
    Ok(())
}

/// A function of ours as the catalog holds it.
struct FoundFunction {
    name: String,
    definer: bool,
    config: Vec<String>,
    public_execute: bool,
    callers: Vec<String>,
}

/// Our functions: who may execute them, whose rights they run with, their search_path.
async fn functions(conn: &mut PgConnection, report: &mut Report) -> Result<()> {
    let rows = sqlx::query(
        "SELECT n.nspname::text || '.' || p.proname::text \
                    || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')' AS name, \
                p.prosecdef AS definer, coalesce(p.proconfig, '{}') AS config, \
                EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a \
                        WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE') AS public_execute, \
                ARRAY(SELECT r FROM unnest($1::text[]) AS r \
                      WHERE has_function_privilege(r, p.oid, 'EXECUTE')) AS callers \
         FROM pg_catalog.pg_proc p \
         JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname IN ('public', 'assistant_db') \
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                           WHERE d.classid = 'pg_catalog.pg_proc'::regclass \
                             AND d.objid = p.oid AND d.deptype = 'e') \
         ORDER BY n.nspname <> 'public', p.proname",
    )
    .bind(&API_ROLES[..])
    .fetch_all(&mut *conn)
    .await?;
    let found: Vec<FoundFunction> = rows
        .iter()
        .map(|r| -> Result<FoundFunction> {
            Ok(FoundFunction {
                name: r.try_get("name")?,
                definer: r.try_get("definer")?,
                config: r.try_get("config")?,
                public_execute: r.try_get("public_execute")?,
                callers: r.try_get("callers")?,
            })
        })
        .collect::<Result<_>>()?;

    for spec in &PUBLIC_FUNCTIONS {
        let object = format!("function {}", spec.name);
        match found.iter().find(|f| f.name == spec.name) {
            Some(function) if spec.commits => {
                let (ok, detail) = judge_procedure(function);
                report.push(
                    Section::Security,
                    format!("procedure {}", spec.name),
                    ok,
                    detail,
                );
            }
            Some(function) => {
                let (ok, detail) = judge(function, spec.api, spec.definer);
                report.push(Section::Security, object, ok, detail);
            }
            None => report.push(
                Section::Security,
                object,
                false,
                "missing: apply the migrations",
            ),
        }
    }
    // The internal functions in one line, each one that drifted named in it.
    let internal: Vec<&FoundFunction> = found
        .iter()
        .filter(|f| f.name.starts_with("assistant_db."))
        .collect();
    let drifted: Vec<String> = internal
        .iter()
        .filter_map(|f| match judge(f, false, f.definer) {
            (true, _) => None,
            (false, detail) => Some(format!("{}: {detail}", f.name)),
        })
        .collect();
    let (ok, detail) = if internal.is_empty() {
        (false, "missing: apply migration 005".to_owned())
    } else if drifted.is_empty() {
        (
            true,
            format!(
                "{} functions; PUBLIC, anon and authenticated may not execute them; {PINNED}",
                internal.len()
            ),
        )
    } else {
        (false, drifted.join(" | "))
    };
    report.push(
        Section::Security,
        "functions of schema assistant_db",
        ok,
        detail,
    );
    Ok(())
}

/// Whether a function is set up as it must be; what differs, else how it is.
fn judge(function: &FoundFunction, api: bool, definer: bool) -> (bool, String) {
    let mut problems = Vec::new();
    if function.public_execute {
        problems.push("PUBLIC may execute it".to_owned());
    }
    if api {
        let missing: Vec<&str> = API_ROLES
            .iter()
            .copied()
            .filter(|r| !function.callers.iter().any(|c| c == r))
            .collect();
        if !missing.is_empty() {
            problems.push(format!("{} may not execute it", missing.join(" and ")));
        }
    } else if !function.callers.is_empty() {
        problems.push(format!("{} may execute it", function.callers.join(" and ")));
    }
    if definer && !function.definer {
        problems.push("SECURITY INVOKER, must be SECURITY DEFINER".to_owned());
    }
    let search_path = function
        .config
        .iter()
        .find(|c| c.starts_with("search_path="));
    match search_path {
        Some(setting) if setting == PINNED => {}
        Some(setting) => problems.push(format!(
            "{setting}, must be {PINNED}",
            setting = setting.replace("search_path=\"\"", "search_path=''")
        )),
        None => problems.push(format!("search_path not pinned, must be {PINNED}")),
    }
    if problems.is_empty() {
        let who = if api {
            "anon, authenticated and service_role may execute it"
        } else {
            "PUBLIC, anon and authenticated may not execute it"
        };
        let rights = if function.definer {
            "SECURITY DEFINER"
        } else {
            "SECURITY INVOKER"
        };
        (true, format!("{who}; {rights}; {PINNED}"))
    } else {
        (
            false,
            format!(
                "{}; paste migration 005 again (it restores every function of ours)",
                problems.join("; ")
            ),
        )
    }
}

/// Whether a procedure that commits is set up as it must be: nobody but its owner may
/// call it, and it runs with its caller's rights (PostgreSQL refuses COMMIT in a
/// SECURITY DEFINER procedure or one with a SET clause, such as a pinned search_path).
fn judge_procedure(function: &FoundFunction) -> (bool, String) {
    let mut problems = Vec::new();
    if function.public_execute {
        problems.push("PUBLIC may execute it".to_owned());
    }
    if !function.callers.is_empty() {
        problems.push(format!("{} may execute it", function.callers.join(" and ")));
    }
    if function.definer {
        problems.push("SECURITY DEFINER, which forbids its COMMITs".to_owned());
    }
    if !function.config.is_empty() {
        problems.push(format!(
            "{} set on it, which forbids its COMMITs",
            function.config.join(", ")
        ));
    }
    if problems.is_empty() {
        (
            true,
            "PUBLIC, anon and authenticated may not execute it; SECURITY INVOKER, no SET \
             clause (it commits between batches and names everything with its schema)"
                .to_owned(),
        )
    } else {
        (
            false,
            format!(
                "{}; paste migration 008 again (it restores the procedure)",
                problems.join("; ")
            ),
        )
    }
}

/// The bound on one API call: each API role's statement_timeout, which PostgREST applies
/// on every request.
async fn timeouts(conn: &mut PgConnection, report: &mut Report) -> Result<()> {
    for role in API_ROLES {
        let setting: Option<String> = sqlx::query_scalar(
            "SELECT c.setting \
             FROM pg_catalog.pg_db_role_setting s \
             JOIN pg_catalog.pg_roles r ON r.oid = s.setrole \
             CROSS JOIN LATERAL unnest(s.setconfig) AS c(setting) \
             WHERE r.rolname = $1 AND c.setting LIKE 'statement\\_timeout=%' \
               AND s.setdatabase IN (0, (SELECT oid FROM pg_catalog.pg_database \
                                         WHERE datname = current_database())) \
             ORDER BY s.setdatabase DESC LIMIT 1",
        )
        .bind(role)
        .fetch_optional(&mut *conn)
        .await?;
        let (ok, detail) = match setting.as_deref().and_then(|s| s.split_once('=')) {
            Some((_, value)) if value != "0" => (
                true,
                format!("{value} (a role setting, applied by the REST API to each request)"),
            ),
            _ => (
                false,
                format!(
                    "none: one call of the {role} role may run for as long as it likes; \
                     ALTER ROLE {role} SET statement_timeout = '3s'"
                ),
            ),
        };
        report.push(
            Section::Security,
            format!("statement_timeout of {role}"),
            ok,
            detail,
        );
    }
    Ok(())
}

/// Whether the public key may read metrics: listed, a failure only when unreadable.
async fn public_metrics_setting(conn: &mut PgConnection, report: &mut Report) -> Result<bool> {
    let (enabled, ok, detail) =
        match crate::store::PgStore::public_metrics_enabled(&mut *conn).await {
            Ok(true) => (
                true,
                true,
                "on: whole-hour windows, groups of fewer than 10 rows suppressed".to_owned(),
            ),
            Ok(false) => (false, true, "off: the public key may only log".to_owned()),
            Err(e) => (false, false, format!("{e}; apply migration 005")),
        };
    report.push(Section::Security, "public metrics setting", ok, detail);
    Ok(enabled)
}

/// What `anon` can do, tried inside a transaction that is rolled back.
async fn as_anon(conn: &mut PgConnection, report: &mut Report, public_metrics: bool) -> Result<()> {
    let mut tx = conn.begin().await?;
    if let Err(e) = sqlx::query("SET LOCAL ROLE anon").execute(&mut *tx).await {
        tx.rollback().await?;
        report.push(
            Section::Security,
            "acting as anon",
            false,
            format!("cannot SET ROLE anon to try the public key's rights ({e}); GRANT anon TO the user verify connects as"),
        );
        return Ok(());
    }
    let migrations_table: bool =
        sqlx::query_scalar("SELECT to_regclass('public._sqlx_migrations') IS NOT NULL")
            .fetch_one(&mut *tx)
            .await?;

    let mut results: Vec<(String, (bool, String))> = Vec::new();
    let mut tables = vec!["interactions", "escalations", "knowledge_documents"];
    if migrations_table {
        tables.push("_sqlx_migrations");
    }
    for table in tables {
        let r = probe(&mut tx, &format!("SELECT 1 FROM public.{table} LIMIT 1")).await;
        results.push((
            format!("anon cannot read {table}"),
            refused(r, "42501", "a SELECT"),
        ));
    }
    let r = probe(&mut tx, "SELECT public.data_quality_report()").await;
    results.push((
        "anon cannot call data_quality_report".into(),
        refused(r, "42501", "a call"),
    ));

    let r = probe(
        &mut tx,
        "SELECT public.log_interactions('[\
           {\"assistant_mode\": \"customer\", \"user_query\": \"assistant-db verify\", \"outcome\": \"resolved\"}, \
           {\"assistant_mode\": \"customer\", \"user_query\": \"assistant-db verify\", \"outcome\": \"resolved\", \"confidence_score\": 42}]')",
    )
    .await;
    results.push((
        "log_interactions refuses a bad row to anon, naming row, field and rule".into(),
        named_refusal(r, "interactions[1].confidence_score"),
    ));

    if public_metrics {
        let r = probe(
            &mut tx,
            "SELECT public.interaction_metrics(p_from => '2024-05-01T12:30:00Z')",
        )
        .await;
        results.push((
            "interaction_metrics refuses anon a window that is not whole hours".into(),
            named_refusal(r, "from"),
        ));
    } else {
        let r = probe(&mut tx, "SELECT public.interaction_metrics()").await;
        results.push((
            "interaction_metrics refuses anon while public metrics are off".into(),
            refused(r, "42501", "metrics"),
        ));
    }
    tx.rollback().await?;
    for (object, (ok, detail)) in results {
        report.push(Section::Security, object, ok, detail);
    }
    Ok(())
}

/// Runs one statement in a savepoint that is always rolled back.
async fn probe(
    tx: &mut Transaction<'_, Postgres>,
    sql: &str,
) -> std::result::Result<(), sqlx::Error> {
    let sql = sql.to_owned();
    savepoint(
        tx,
        |c| Box::pin(async move { sqlx::query(&sql).execute(c).await.map(|_| ()) }),
        false,
    )
    .await
}

/// A statement that must fail with `sqlstate`.
fn refused(
    result: std::result::Result<(), sqlx::Error>,
    sqlstate: &str,
    what: &str,
) -> (bool, String) {
    match result {
        Ok(()) => (false, format!("allowed {what} as anon")),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(sqlstate) => {
            (true, format!("refused ({sqlstate}): {}", e.message()))
        }
        Err(e) => (false, format!("expected SQLSTATE {sqlstate}, got: {e}")),
    }
}

/// A call that must be refused with the validation error naming `field`.
fn named_refusal(result: std::result::Result<(), sqlx::Error>, field: &str) -> (bool, String) {
    match result {
        Ok(()) => (false, "accepted".to_owned()),
        Err(sqlx::Error::Database(e)) => {
            let detail = e
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .and_then(|pg| pg.detail())
                .and_then(refusal_of);
            match detail {
                Some(v) if v.field == field => (true, format!("refused: {}: {}", v.field, v.rule)),
                Some(v) => (
                    false,
                    format!(
                        "refused, but named {} instead of {field}: {}",
                        v.field, v.rule
                    ),
                ),
                None => (
                    false,
                    format!(
                        "refused without naming the field ({}: {}); is migration 005 applied?",
                        e.code().unwrap_or_default(),
                        e.message()
                    ),
                ),
            }
        }
        Err(e) => (false, e.to_string()),
    }
}
