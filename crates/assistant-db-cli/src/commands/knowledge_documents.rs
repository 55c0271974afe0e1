//! `assistant-db knowledge-documents list`: the registry of knowledge documents, a page at
//! a time, as an aligned table or as JSON.
//!
//! Titles and ids come from other writers: they are shown with their control characters
//! escaped ([`escape`]); `--json` prints the exact values.

use std::process::ExitCode;

use anyhow::Context;
use assistant_db::query::{DocumentPage, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use assistant_db::row::{KnowledgeDocumentRow, Timestamp};
use assistant_db::{Client, Config};
use chrono::SecondsFormat;
use uuid::Uuid;

use super::metrics::emit;
use crate::terminal::escape;

/// Characters of a title shown in the table.
const TITLE_WIDTH: usize = 50;

/// Examples at the end of `knowledge-documents --help`.
const EXAMPLES: &str = "Examples:
  assistant-db knowledge-documents list
  assistant-db knowledge-documents list --limit 200 --json
  assistant-db knowledge-documents list --after 0190b6a0-0000-7000-8000-000000000001";

/// Arguments of `knowledge-documents`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List the registered documents in id order, one page at a time.
    #[command(after_help = EXAMPLES)]
    List(ListArgs),
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Documents per page (1 to 1000).
    #[arg(long, default_value_t = DEFAULT_PAGE_SIZE,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_PAGE_SIZE)))]
    limit: u32,
    /// Continue after this id (the `next:` of the previous page).
    #[arg(long, value_name = "ID")]
    after: Option<Uuid>,
    /// Print the page as JSON: `{"items": [...], "next": id}`.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let Command::List(args) = args.command;
    let client = Client::connect(config)
        .await
        .context("cannot connect to the database")?;
    let page = client
        .knowledge_documents(args.after, args.limit)
        .await
        .context("cannot list knowledge documents")?;
    if args.json {
        emit(&format!("{}\n", serde_json::to_string_pretty(&page)?))?;
    } else {
        emit(&table(&page))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A page as an aligned text table, then the `next:` line when another page follows.
fn table(page: &DocumentPage) -> String {
    if page.items.is_empty() {
        return "no knowledge documents\n".to_owned();
    }
    let header = ["ID", "FILE", "TYPE", "COLLECTION", "INGESTED", "TITLE"].map(str::to_owned);
    let rows: Vec<[String; 6]> = page.items.iter().map(row).collect();
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
    if let Some(next) = page.next {
        out.push_str(&format!("next: {next}\n"));
    }
    out
}

fn row(d: &KnowledgeDocumentRow) -> [String; 6] {
    [
        d.id.to_string(),
        escape(&d.openai_file_id).into_owned(),
        d.content_type.map_or("-".to_owned(), |c| c.to_string()),
        d.topic_collection
            .as_deref()
            .map_or("-".to_owned(), |c| escape(c).into_owned()),
        d.ingested_at.as_ref().map_or("-".to_owned(), |t| match t {
            Timestamp::At(at) => at.to_rfc3339_opts(SecondsFormat::Secs, true),
            other => other.to_string(),
        }),
        shorten(&d.title, TITLE_WIDTH),
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

#[cfg(test)]
mod tests {
    use assistant_db::model::{ContentType, KnowledgeDocument};

    use super::*;

    /// The row a document is stored as.
    fn stored(d: &KnowledgeDocument) -> KnowledgeDocumentRow {
        serde_json::from_value(serde_json::to_value(d).expect("json")).expect("row")
    }

    #[test]
    fn table_aligns_escapes_and_shows_the_next_id() {
        let mut a = KnowledgeDocument::new("file-a", "Fees\nand charges").expect("valid");
        a.content_type = Some(ContentType::Public);
        let b = KnowledgeDocument::new("file-b", &"t".repeat(80)).expect("valid");
        let (a, b) = (stored(&a), stored(&b));
        let next = b.id;
        let text = table(&DocumentPage {
            items: vec![a, b],
            next: Some(next),
        });
        let lines: Vec<_> = text.lines().collect();
        assert!(lines[0].starts_with("ID"), "{text}");
        assert_eq!(lines[0].find("TYPE"), lines[1].find("public"), "{text}");
        assert!(lines[1].ends_with("Fees\\nand charges"), "{text}");
        assert!(
            lines[2].ends_with(&format!("{}…", "t".repeat(50))),
            "{text}"
        );
        assert_eq!(lines[3], format!("next: {next}"));
        assert_eq!(
            table(&DocumentPage {
                items: vec![],
                next: None
            }),
            "no knowledge documents\n"
        );
    }
}
