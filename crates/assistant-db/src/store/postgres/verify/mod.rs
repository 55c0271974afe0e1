//! `verify` over a direct connection: the catalog compared with the spec, then the
//! behaviour and the trust boundary tried for real, inside a transaction rolled back.

mod behaviour;
mod security;

use std::collections::BTreeSet;

use sqlx::{PgConnection, Row};

use crate::error::Result;
use crate::verify::expected::{CHECKS, FOREIGN_KEY, INDEXES, TABLES, UNIQUE};
use crate::verify::{Report, Section};

/// Runs the whole checklist on the connected database.
pub async fn verify(conn: &mut PgConnection) -> Result<Report> {
    let mut report = Report::default();
    let (version, database): (String, String) =
        sqlx::query_as("SELECT current_setting('server_version'), current_database()")
            .fetch_one(&mut *conn)
            .await?;
    report.push(
        Section::Connection,
        "connection",
        true,
        format!("PostgreSQL {version}, database {database}"),
    );
    check_tables(conn, &mut report).await?;
    check_columns(conn, &mut report).await?;
    check_indexes(conn, &mut report).await?;
    check_constraints(conn, &mut report).await?;
    behaviour::check(conn, &mut report).await?;
    security::check(conn, &mut report).await?;
    list_functions(conn, &mut report).await?;
    list_row_security(conn, &mut report).await?;
    Ok(report)
}

const SPEC_TABLES: [&str; 3] = [
    crate::table::INTERACTIONS.name,
    crate::table::ESCALATIONS.name,
    crate::table::KNOWLEDGE_DOCUMENTS.name,
];

async fn check_tables(conn: &mut PgConnection, report: &mut Report) -> Result<()> {
    let present: BTreeSet<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')",
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    for table in TABLES.iter() {
        let ok = present.contains(table.name);
        report.push(
            Section::Tables,
            format!("table {}", table.name),
            ok,
            if ok { "" } else { "missing" },
        );
    }
    for other in present
        .iter()
        .filter(|t| !SPEC_TABLES.contains(&t.as_str()))
    {
        report.beyond_spec.push(format!("table {other}"));
    }
    Ok(())
}

async fn check_columns(conn: &mut PgConnection, report: &mut Report) -> Result<()> {
    let rows = sqlx::query(
        "SELECT c.relname::text AS table_name, a.attname::text AS column_name, \
                format_type(a.atttypid, a.atttypmod) AS column_type, a.attnotnull, \
                pg_get_expr(d.adbin, d.adrelid) AS column_default \
         FROM pg_attribute a \
         JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE n.nspname = 'public' AND c.relname = ANY($1) AND a.attnum > 0 \
           AND NOT a.attisdropped",
    )
    .bind(&SPEC_TABLES[..])
    .fetch_all(&mut *conn)
    .await?;
    struct Found {
        table: String,
        column: String,
        column_type: String,
        not_null: bool,
        default: Option<String>,
    }
    let found: Vec<Found> = rows
        .iter()
        .map(|r| -> Result<Found> {
            Ok(Found {
                table: r.try_get("table_name")?,
                column: r.try_get("column_name")?,
                column_type: r.try_get("column_type")?,
                not_null: r.try_get("attnotnull")?,
                default: r.try_get("column_default")?,
            })
        })
        .collect::<Result<_>>()?;

    for table in TABLES.iter() {
        for spec in &table.columns {
            let expected_type = match spec.max_length {
                Some(n) => format!("{}({n})", spec.data_type),
                None => spec.data_type.to_owned(),
            };
            let object = format!("column {}.{}", table.name, spec.name);
            let Some(col) = found
                .iter()
                .find(|f| f.table == table.name && f.column == spec.name)
            else {
                report.push(Section::Columns, object, false, "missing");
                continue;
            };
            let mut problems = Vec::new();
            if col.column_type != expected_type {
                problems.push(format!(
                    "type is {}, spec says {expected_type}",
                    col.column_type
                ));
            }
            if col.not_null == spec.nullable {
                problems.push(if spec.nullable {
                    "is NOT NULL, spec allows NULL".to_owned()
                } else {
                    "allows NULL, spec says NOT NULL".to_owned()
                });
            }
            if col.default.as_deref() != spec.default {
                problems.push(format!(
                    "default is {}, spec says {}",
                    col.default.as_deref().unwrap_or("none"),
                    spec.default.unwrap_or("none")
                ));
            }
            let detail = if problems.is_empty() {
                describe(&expected_type, spec.nullable, spec.default)
            } else {
                problems.join("; ")
            };
            report.push(Section::Columns, object, problems.is_empty(), detail);
        }
    }
    for col in &found {
        let known = TABLES
            .iter()
            .any(|t| t.name == col.table && t.columns.iter().any(|c| c.name == col.column));
        if !known {
            report.beyond_spec.push(format!(
                "column {}.{} {}",
                col.table, col.column, col.column_type
            ));
        }
    }
    Ok(())
}

fn describe(column_type: &str, nullable: bool, default: Option<&str>) -> String {
    let mut text = column_type.to_owned();
    if !nullable {
        text.push_str(" NOT NULL");
    }
    if let Some(default) = default {
        text.push_str(" DEFAULT ");
        text.push_str(default);
    }
    text
}

async fn check_indexes(conn: &mut PgConnection, report: &mut Report) -> Result<()> {
    let rows = sqlx::query(
        "SELECT i.relname::text AS index_name, t.relname::text AS table_name, ix.indisunique, \
                am.amname::text AS method, \
                ARRAY(SELECT a.attname::text FROM unnest(ix.indkey) WITH ORDINALITY k(num, ord) \
                      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.num \
                      ORDER BY k.ord) AS columns, \
                (ix.indpred IS NOT NULL OR ix.indexprs IS NOT NULL) AS partial_or_expression, \
                EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = ix.indexrelid) \
                    AS backs_constraint, \
                pg_get_indexdef(ix.indexrelid) AS definition \
         FROM pg_index ix \
         JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_class t ON t.oid = ix.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         JOIN pg_am am ON am.oid = i.relam \
         WHERE n.nspname = 'public' AND t.relname = ANY($1)",
    )
    .bind(&SPEC_TABLES[..])
    .fetch_all(&mut *conn)
    .await?;
    let mut seen = BTreeSet::new();
    for spec in INDEXES {
        let object = format!("index {}", spec.name);
        let Some(row) = rows
            .iter()
            .find(|r| r.try_get::<String, _>("index_name").ok().as_deref() == Some(spec.name))
        else {
            report.push(
                Section::Indexes,
                object,
                false,
                format!("missing (spec: ON {}({}))", spec.table, spec.column),
            );
            continue;
        };
        seen.insert(spec.name.to_owned());
        let table: String = row.try_get("table_name")?;
        let unique: bool = row.try_get("indisunique")?;
        let method: String = row.try_get("method")?;
        let columns: Vec<String> = row.try_get("columns")?;
        let partial: bool = row.try_get("partial_or_expression")?;
        let definition: String = row.try_get("definition")?;
        let ok = table == spec.table
            && !unique
            && method == "btree"
            && columns == [spec.column]
            && !partial;
        let detail = if ok {
            format!("ON {}({})", spec.table, spec.column)
        } else {
            format!(
                "spec: btree ON {}({}); found: {definition}",
                spec.table, spec.column
            )
        };
        report.push(Section::Indexes, object, ok, detail);
    }
    for row in &rows {
        let name: String = row.try_get("index_name")?;
        let backs_constraint: bool = row.try_get("backs_constraint")?;
        if !seen.contains(&name) && !backs_constraint {
            let definition: String = row.try_get("definition")?;
            report
                .beyond_spec
                .push(format!("index {name}: {definition}"));
        }
    }
    Ok(())
}

/// A constraint as the catalog holds it.
struct Constraint {
    name: String,
    kind: String,
    table: String,
    columns: Vec<String>,
    foreign_table: Option<String>,
    foreign_columns: Vec<String>,
    on_delete: String,
    definition: String,
}

async fn load_constraints(conn: &mut PgConnection) -> Result<Vec<Constraint>> {
    let rows = sqlx::query(
        "SELECT con.conname::text AS name, con.contype::text AS kind, t.relname::text AS table_name, \
                ARRAY(SELECT a.attname::text FROM unnest(con.conkey) k(num) \
                      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num) \
                    AS columns, \
                ft.relname::text AS foreign_table, \
                ARRAY(SELECT a.attname::text FROM unnest(con.confkey) k(num) \
                      JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num) \
                    AS foreign_columns, \
                con.confdeltype::text AS on_delete, \
                pg_get_constraintdef(con.oid) AS definition \
         FROM pg_constraint con \
         JOIN pg_class t ON t.oid = con.conrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         LEFT JOIN pg_class ft ON ft.oid = con.confrelid \
         WHERE n.nspname = 'public' AND t.relname = ANY($1)",
    )
    .bind(&SPEC_TABLES[..])
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Constraint {
                name: r.try_get("name")?,
                kind: r.try_get("kind")?,
                table: r.try_get("table_name")?,
                columns: r.try_get("columns")?,
                foreign_table: r.try_get("foreign_table")?,
                foreign_columns: r.try_get("foreign_columns")?,
                on_delete: r.try_get("on_delete")?,
                definition: r.try_get("definition")?,
            })
        })
        .collect()
}

async fn check_constraints(conn: &mut PgConnection, report: &mut Report) -> Result<()> {
    let constraints = load_constraints(conn).await?;
    let mut accounted = BTreeSet::new();
    let on = |table: &str, kind: &str, column: &str| {
        constraints
            .iter()
            .filter(|c| c.table == table && c.kind == kind && c.columns == [column])
            .collect::<Vec<_>>()
    };

    for table in SPEC_TABLES {
        let object = format!("primary key {table}(id)");
        let found = on(table, "p", "id");
        accounted.extend(found.iter().map(|c| c.name.clone()));
        report.push(
            Section::Constraints,
            object,
            !found.is_empty(),
            if found.is_empty() { "missing" } else { "" },
        );
    }

    for spec in CHECKS.iter() {
        let object = format!("check {}.{}", spec.table, spec.column);
        let found = on(spec.table, "c", spec.column);
        accounted.extend(found.iter().map(|c| c.name.clone()));
        let expected: BTreeSet<&str> = spec.allowed.iter().copied().collect();
        let matching = found.iter().find(|c| {
            quoted_literals(&c.definition)
                .iter()
                .map(String::as_str)
                .collect::<BTreeSet<_>>()
                == expected
        });
        let (ok, detail) = match (matching, found.first()) {
            (Some(_), _) => (
                true,
                format!("{} IN ({})", spec.column, spec.allowed.join(", ")),
            ),
            (None, Some(c)) => (
                false,
                format!(
                    "spec allows ({}); found {}: {}",
                    spec.allowed.join(", "),
                    c.name,
                    c.definition
                ),
            ),
            (None, None) => (
                false,
                format!(
                    "missing (spec: {} IN ({}))",
                    spec.column,
                    spec.allowed.join(", ")
                ),
            ),
        };
        report.push(Section::Constraints, object, ok, detail);
    }

    let (table, column, ref_table, ref_column) = FOREIGN_KEY;
    let object =
        format!("foreign key {table}.{column} → {ref_table}.{ref_column} ON DELETE CASCADE");
    let found = on(table, "f", column);
    accounted.extend(found.iter().map(|c| c.name.clone()));
    let (ok, detail) = match found.first() {
        None => (false, "missing".to_owned()),
        Some(fk) => {
            let target_ok = fk.foreign_table.as_deref() == Some(ref_table)
                && fk.foreign_columns == [ref_column];
            let cascade = fk.on_delete == "c";
            let detail = if target_ok && cascade {
                String::new()
            } else if !target_ok {
                format!("references the wrong target: {}", fk.definition)
            } else {
                format!(
                    "ON DELETE {} instead of CASCADE ({})",
                    delete_action(&fk.on_delete),
                    fk.name
                )
            };
            (target_ok && cascade, detail)
        }
    };
    report.push(Section::Constraints, object, ok, detail);

    let (table, column) = UNIQUE;
    let object = format!("unique {table}.{column}");
    let found = on(table, "u", column);
    accounted.extend(found.iter().map(|c| c.name.clone()));
    report.push(
        Section::Constraints,
        object,
        !found.is_empty(),
        if found.is_empty() { "missing" } else { "" },
    );

    for c in constraints.iter().filter(|c| !accounted.contains(&c.name)) {
        report.beyond_spec.push(format!(
            "constraint {} on {}: {}",
            c.name, c.table, c.definition
        ));
    }
    Ok(())
}

fn delete_action(code: &str) -> &'static str {
    match code {
        "a" => "NO ACTION",
        "r" => "RESTRICT",
        "c" => "CASCADE",
        "n" => "SET NULL",
        "d" => "SET DEFAULT",
        _ => "unknown",
    }
}

/// The `'…'` literals in a constraint definition, e.g. the allowed values of a CHECK.
fn quoted_literals(definition: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = definition.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut literal = String::new();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    literal.push('\'');
                } else {
                    break;
                }
            } else {
                literal.push(c);
            }
        }
        out.push(literal);
    }
    out
}

async fn list_functions(conn: &mut PgConnection, report: &mut Report) -> Result<()> {
    let functions: Vec<String> = sqlx::query_scalar(
        "SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname = 'public' \
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') \
         ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    report
        .beyond_spec
        .extend(functions.into_iter().map(|f| format!("function {f}")));
    Ok(())
}

/// Row-level security and its policies on the spec's tables (migration 004): beyond the
/// spec, so listed.
async fn list_row_security(conn: &mut PgConnection, report: &mut Report) -> Result<()> {
    let rows: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relname = ANY($1) ORDER BY 1",
    )
    .bind(&SPEC_TABLES[..])
    .fetch_all(&mut *conn)
    .await?;
    for (table, _, forced) in rows.into_iter().filter(|(_, enabled, _)| *enabled) {
        report.beyond_spec.push(format!(
            "row-level security on {table}{}",
            if forced { " (forced)" } else { "" }
        ));
    }
    let policies: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT tablename::text, policyname::text, cmd::text FROM pg_catalog.pg_policies \
         WHERE schemaname = 'public' AND tablename = ANY($1) ORDER BY 1, 2",
    )
    .bind(&SPEC_TABLES[..])
    .fetch_all(&mut *conn)
    .await?;
    report.beyond_spec.extend(
        policies
            .into_iter()
            .map(|(table, name, cmd)| format!("policy {name} on {table} ({cmd})")),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_read_from_check_definitions() {
        let def = "CHECK (((assistant_mode)::text = ANY ((ARRAY['customer'::character varying, \
                   'banker'::character varying])::text[])))";
        assert_eq!(quoted_literals(def), ["customer", "banker"]);
        assert_eq!(quoted_literals("CHECK (x = 'it''s')"), ["it's"]);
    }
}
