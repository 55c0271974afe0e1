//! `assistant-db interactions`: list interactions a page at a time, or show one in full.
//!
//! Stored text is shown with its control characters escaped ([`escape`]): it comes from
//! customers and other writers, and must not drive the analyst's terminal. `--json`
//! prints the exact values, as JSON.

use std::process::ExitCode;

use anyhow::Context;
use assistant_db::model::{AssistantMode, IntentCategory, Outcome};
use assistant_db::query::{Cursor, InteractionDetail, InteractionFilter, InteractionQuery, Page};
use assistant_db::row::{InteractionRow, Timestamp};
use assistant_db::{Client, Config};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::records::Table;
use crate::terminal::escape;

/// Characters of the query shown in a listing.
const QUERY_WIDTH: usize = 60;
/// Characters of the intent shown in a listing.
const INTENT_WIDTH: usize = 30;

/// Arguments of `interactions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List interactions, newest first, one page at a time.
    List(ListArgs),
    /// Show one interaction: every field, its citations and its escalations.
    Show(ShowArgs),
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// Rows per page (1 to 1000; default 50).
    #[arg(long)]
    limit: Option<u32>,
    /// Continue after this cursor (the `next` of the previous page).
    #[arg(long, value_name = "CURSOR")]
    after: Option<Cursor>,
    /// Print the page as JSON: `{"items": [...], "next": ...}`.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct ShowArgs {
    /// The interaction's id.
    #[arg(value_parser = parse_id)]
    id: Uuid,
    /// Print the interaction and its escalations as JSON.
    #[arg(long)]
    json: bool,
}

/// Filters on interactions, shared by `interactions list` and `export interactions`.
#[derive(Debug, Default, clap::Args)]
pub struct FilterArgs {
    /// Only this assistant mode (customer, banker).
    #[arg(long)]
    mode: Option<AssistantMode>,
    /// Only this outcome (resolved, escalated).
    #[arg(long)]
    outcome: Option<Outcome>,
    /// Only this intent name.
    #[arg(long)]
    intent: Option<String>,
    /// Only this intent category (automatable, sensitive, human_only).
    #[arg(long)]
    category: Option<IntentCategory>,
    /// Only this session id.
    #[arg(long)]
    session: Option<String>,
    /// Only at or after this time (RFC 3339, e.g. 2024-05-01T00:00:00Z).
    #[arg(long, value_parser = parse_rfc3339)]
    from: Option<DateTime<Utc>>,
    /// Only at or before this time (RFC 3339).
    #[arg(long, value_parser = parse_rfc3339)]
    to: Option<DateTime<Utc>>,
}

impl FilterArgs {
    /// The library's filter.
    pub fn filter(&self) -> InteractionFilter {
        InteractionFilter {
            mode: self.mode,
            outcome: self.outcome,
            intent: self.intent.clone(),
            category: self.category,
            session: self.session.clone(),
            from: self.from,
            to: self.to,
        }
    }

    /// True when no filter is given.
    pub fn is_empty(&self) -> bool {
        self.filter() == InteractionFilter::default()
    }
}

/// An interaction id: a UUID, or a message saying so.
fn parse_id(text: &str) -> Result<Uuid, String> {
    Uuid::parse_str(text.trim()).map_err(|_| {
        format!(
            "`{}` is not an interaction id (a UUID such as 0190b6a0-3c2e-7d4f-9a1b-2c3d4e5f6a7b)",
            escape(text)
        )
    })
}

fn parse_rfc3339(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("must be an RFC 3339 timestamp such as 2024-05-01T12:30:00Z ({e})"))
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let client = Client::connect(config)
        .await
        .context("cannot connect to the database")?;
    match args.command {
        Command::List(args) => list(&client, args).await,
        Command::Show(args) => show(&client, args).await,
    }
}

async fn list(client: &Client, args: ListArgs) -> anyhow::Result<ExitCode> {
    let query = InteractionQuery {
        filter: args.filter.filter(),
        limit: args.limit,
        after: args.after,
    };
    let page = client
        .interactions(&query)
        .await
        .context("cannot list interactions")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&page)?);
    } else {
        print!("{}", table(&page));
    }
    Ok(ExitCode::SUCCESS)
}

/// A page as an aligned text table, then the `next:` cursor line when there is one.
fn table(page: &Page<InteractionRow>) -> String {
    if page.items.is_empty() {
        return "no interactions match\n".to_owned();
    }
    let header = [
        "ID",
        "TIMESTAMP",
        "MODE",
        "OUTCOME",
        "INTENT",
        "CONF",
        "QUERY",
    ]
    .map(str::to_owned);
    let rows: Vec<[String; 7]> = page.items.iter().map(row).collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for cells in &rows {
        for (width, cell) in widths.iter_mut().zip(cells) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for cells in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    if let Some(next) = &page.next {
        out.push_str(&format!("next: {next}\n"));
    }
    out
}

fn row(i: &InteractionRow) -> [String; 7] {
    [
        i.id.to_string(),
        i.timestamp.as_ref().map_or("-".to_owned(), |t| match t {
            Timestamp::At(at) => at.to_rfc3339_opts(SecondsFormat::Secs, true),
            other => other.to_string(),
        }),
        i.assistant_mode.to_string(),
        i.outcome.to_string(),
        i.intent_name
            .as_ref()
            .map_or("-".to_owned(), |n| shorten(n, INTENT_WIDTH)),
        i.confidence_score.map_or("-".to_owned(), |c| {
            if c.get().is_finite() {
                format!("{:.2}", c.get())
            } else {
                c.to_string()
            }
        }),
        shorten(&i.user_query, QUERY_WIDTH),
    ]
}

/// The first `max` characters on one line, escaped, with `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    let one_line = escape(text);
    if one_line.chars().count() <= max {
        one_line.into_owned()
    } else {
        let mut cut: String = one_line.chars().take(max).collect();
        cut.push('…');
        cut
    }
}

async fn show(client: &Client, args: ShowArgs) -> anyhow::Result<ExitCode> {
    let Some(detail) = client
        .interaction(args.id)
        .await
        .context("cannot read the interaction")?
    else {
        eprintln!("error: no interaction with id {}", args.id);
        return Ok(ExitCode::FAILURE);
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&detail)?);
    } else {
        print!("{}", describe(&detail)?);
    }
    Ok(ExitCode::SUCCESS)
}

/// Every field of the interaction, its citations and its escalations, as text.
fn describe(detail: &InteractionDetail) -> anyhow::Result<String> {
    let interaction = serde_json::to_value(&detail.interaction)?;
    let mut out = format!("interaction {}\n", detail.interaction.id);
    for column in Table::Interactions.columns() {
        if column.name == "id" || column.name == "citations" {
            continue;
        }
        let value = interaction.get(column.name).unwrap_or(&Value::Null);
        out.push_str(&format!("  {:<28} {}\n", column.name, shown(value)));
    }
    match (
        &detail.interaction.citations,
        detail.interaction.citation_list(),
    ) {
        (None, _) => out.push_str("citations: none\n"),
        (Some(raw), None) => out.push_str(&format!(
            "citations (not a list of citations): {}\n",
            escape(&raw.to_string())
        )),
        (Some(_), Some(citations)) => {
            out.push_str(&format!("citations ({}):\n", citations.len()));
            for c in citations {
                let url = c
                    .url
                    .as_ref()
                    .map(|u| format!(" <{}>", escape(u.as_str())))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "  [{}] {}{url}\n",
                    c.number,
                    escape(c.source.as_str())
                ));
            }
        }
    }
    out.push_str(&format!("escalations ({}):\n", detail.escalations.len()));
    for e in &detail.escalations {
        let at = e
            .created_at
            .as_ref()
            .map_or("-".to_owned(), ToString::to_string);
        out.push_str(&format!(
            "  {}  {}  {}  {}\n",
            e.id,
            escape(&at),
            escape(&e.trigger_type),
            escape(&e.escalation_reason)
        ));
    }
    Ok(out)
}

/// A field's value as text: strings escaped, `-` for null.
fn shown(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(s) => escape(s).into_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuids_or_a_message_in_words() {
        let id = Uuid::now_v7();
        assert_eq!(parse_id(&id.to_string()), Ok(id));
        let err = parse_id("not-a-uuid").expect_err("not an id");
        assert!(
            err.starts_with("`not-a-uuid` is not an interaction id (a UUID such as "),
            "{err}"
        );
    }

    #[test]
    fn shorten_cuts_at_characters_and_escapes_controls() {
        assert_eq!(shorten("a\nb", 10), "a\\nb");
        assert_eq!(shorten("\u{1b}[2J", 10), "\\u{1b}[2J");
        assert_eq!(shorten("ééééé", 3), "ééé…");
        assert_eq!(shorten("abc", 3), "abc");
    }

    use assistant_db::model::Interaction;

    #[test]
    fn table_aligns_and_shows_the_cursor() {
        let mut a = Interaction::new(AssistantMode::Banker, "What is APR?", Outcome::Resolved)
            .expect("valid");
        a.intent_name = Some("apr".try_into().expect("intent"));
        let b = Interaction::new(AssistantMode::Customer, &"x".repeat(80), Outcome::Escalated)
            .expect("valid");
        let (a, b) = (InteractionRow::from(a), InteractionRow::from(b));
        let page = Page {
            next: Some(Cursor::of(&b)),
            items: vec![a, b],
        };
        let text = table(&page);
        let lines: Vec<_> = text.lines().collect();
        assert!(lines[0].starts_with("ID"), "{text}");
        assert_eq!(lines[0].find("MODE"), lines[1].find("banker"), "{text}");
        assert!(
            lines[2].ends_with(&format!("{}…", "x".repeat(60))),
            "{text}"
        );
        assert!(lines[3].starts_with("next: "), "{text}");
        assert_eq!(
            table(&Page {
                items: vec![],
                next: None
            }),
            "no interactions match\n"
        );
    }
}
