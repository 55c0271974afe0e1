//! `assistant-db log`: write one record given as JSON, from the argument or stdin.
//!
//! The record is the spec's dict, parsed by the model (every bad value is reported with
//! its field and rule, and nothing is written). Writes are idempotent by id; knowledge documents are
//! upserted by `openai_file_id`. `log interaction --escalation JSON` writes an escalated
//! interaction and its escalation atomically.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{bail, Context};
use assistant_db::model::{Escalation, Interaction, KnowledgeDocument, ValidationError};
use assistant_db::{Client, Config};
use serde_json::json;
use uuid::Uuid;

/// Arguments of `log`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The kind of record.
    #[arg(value_enum)]
    kind: Kind,
    /// The record as JSON; `-` or nothing reads it from stdin.
    #[arg(value_name = "JSON|-")]
    record: Option<String>,
    /// With `log interaction`: an escalation of it, as JSON, written atomically with it
    /// (its `interaction_id` may be left out).
    #[arg(long, value_name = "JSON")]
    escalation: Option<String>,
    /// Print `{"id": …}` as JSON.
    #[arg(long)]
    json: bool,
}

/// The kinds of record `log` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Kind {
    /// A row of `interactions`.
    Interaction,
    /// A row of `escalations` (its interaction must exist).
    Escalation,
    /// A row of `knowledge_documents`, upserted by `openai_file_id`.
    KnowledgeDocument,
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    if args.escalation.is_some() && args.kind != Kind::Interaction {
        bail!("--escalation goes with `log interaction` only");
    }
    let text = record_text(args.record.as_deref())?;
    let escalation = args
        .escalation
        .as_deref()
        .map(|e| parse(Escalation::from_json_all(e), "escalation"))
        .transpose()?;
    let ids = match args.kind {
        Kind::Interaction => {
            let interaction = parse(Interaction::from_json_all(&text), "interaction")?;
            let client = connect(config).await?;
            match escalation {
                Some(escalation) => log_escalated(&client, &interaction, &escalation).await?,
                None => log_interaction(&client, &interaction).await?,
            }
        }
        Kind::Escalation => {
            let escalation = parse(Escalation::from_json_all(&text), "escalation")?;
            let client = connect(config).await?;
            log_escalation(&client, &escalation).await?
        }
        Kind::KnowledgeDocument => {
            let document = parse(
                KnowledgeDocument::from_json_all(&text),
                "knowledge document",
            )?;
            let client = connect(config).await?;
            let id = client
                .upsert_knowledge_document(&document)
                .await
                .context("cannot write the knowledge document")?;
            Ids {
                id,
                escalation_id: None,
            }
        }
    };
    ids.print(args.json);
    Ok(ExitCode::SUCCESS)
}

/// The ids written.
struct Ids {
    id: Uuid,
    escalation_id: Option<Uuid>,
}

impl Ids {
    fn print(&self, json: bool) {
        match (json, self.escalation_id) {
            (true, None) => println!("{}", json!({ "id": self.id })),
            (true, Some(e)) => println!("{}", json!({ "id": self.id, "escalation_id": e })),
            (false, None) => println!("{}", self.id),
            (false, Some(e)) => println!("{}\n{e}", self.id),
        }
    }
}

/// The JSON text from the argument, or from stdin for `-` or no argument.
fn record_text(arg: Option<&str>) -> anyhow::Result<String> {
    match arg {
        Some(text) if text != "-" => Ok(text.to_owned()),
        _ => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read the record from stdin")?;
            Ok(text)
        }
    }
}

/// A parsed record, or an error naming what it was and every rule it broke.
fn parse<T>(parsed: Result<T, Vec<ValidationError>>, what: &str) -> anyhow::Result<T> {
    parsed.map_err(|errors| anyhow::anyhow!("the {what} was not written: {}", described(&errors)))
}

/// The rules broken, in words: one on the line, several one per line below it.
fn described(errors: &[ValidationError]) -> String {
    let line = |e: &ValidationError| {
        if e.field == "." {
            e.rule.clone()
        } else {
            format!("`{}` {}", e.field, e.rule)
        }
    };
    match errors {
        [one] => line(one),
        many => {
            let mut text = format!("{} fields break a rule:", many.len());
            for e in many {
                text.push_str("\n  ");
                text.push_str(&line(e));
            }
            text
        }
    }
}

async fn connect(config: &Config) -> anyhow::Result<Client> {
    Client::connect(config)
        .await
        .context("cannot connect to the database")
}

async fn log_interaction(client: &Client, interaction: &Interaction) -> anyhow::Result<Ids> {
    let written = client
        .insert_interactions(std::slice::from_ref(interaction))
        .await
        .context("cannot write the interaction")?;
    if written.interactions == 0 {
        eprintln!(
            "note: interaction {} already exists; nothing was written",
            interaction.id
        );
    }
    Ok(Ids {
        id: interaction.id,
        escalation_id: None,
    })
}

async fn log_escalated(
    client: &Client,
    interaction: &Interaction,
    escalation: &Escalation,
) -> anyhow::Result<Ids> {
    let (id, escalation_id) = client
        .log_escalated_interaction(interaction, escalation)
        .await
        .context("cannot write the interaction and its escalation")?;
    Ok(Ids {
        id,
        escalation_id: Some(escalation_id),
    })
}

async fn log_escalation(client: &Client, escalation: &Escalation) -> anyhow::Result<Ids> {
    let written = client
        .insert_escalations(std::slice::from_ref(escalation))
        .await
        .context("cannot write the escalation")?;
    if written.escalations == 0 {
        eprintln!(
            "note: escalation {} already exists; nothing was written",
            escalation.id
        );
    }
    Ok(Ids {
        id: escalation.id,
        escalation_id: None,
    })
}
