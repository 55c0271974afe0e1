//! `assistant-db migrate`: apply pending migrations, or show where each stands.

use std::process::ExitCode;

use assistant_db::connect::{connect, Prepare};
use assistant_db::migrate::{self, MigrationState};
use assistant_db::Config;

use crate::terminal::escape;

/// Arguments of `migrate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// List applied and pending migrations instead of applying them.
    #[arg(long)]
    status: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let db = connect(config, Prepare::AsIs).await?;
    let mut conn = db.pool.acquire().await?;
    if args.status {
        let states = migrate::status(&mut conn).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&states)?);
        } else {
            println!("Migrations on {}:", db.location);
            print!("{}", table(&states));
        }
        let broken = states.iter().any(|s| s.problem.is_some());
        return Ok(if broken {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        });
    }
    let applied = migrate::run(&mut conn).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&applied)?);
    } else if applied.is_empty() {
        println!("{}: up to date, nothing to apply", db.location);
    } else {
        println!("Applied to {}:", db.location);
        for state in &applied {
            println!("  {:03} {}", state.version, state.description);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The migrations as a table whose columns line up whatever the descriptions' lengths.
fn table(states: &[MigrationState]) -> String {
    let rows: Vec<[String; 2]> = states
        .iter()
        .map(|state| {
            let when = match (&state.applied_on, &state.problem) {
                (_, Some(problem)) => format!("PROBLEM: {problem}"),
                (Some(on), None) => format!("applied {}", on.format("%Y-%m-%d %H:%M:%S UTC")),
                (None, None) => "pending".to_owned(),
            };
            [
                format!("{:03} {}", state.version, escape(&state.description)),
                when,
            ]
        })
        .collect();
    let header = ["MIGRATION", "STATE"].map(str::to_owned);
    let width = rows
        .iter()
        .chain(std::iter::once(&header))
        .map(|row| row[0].chars().count())
        .max()
        .unwrap_or(0);
    std::iter::once(&header)
        .chain(&rows)
        .map(|[migration, state]| format!("  {migration:<width$}  {state}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_columns_line_up() {
        let state = |version, description: &str, applied: bool| MigrationState {
            version,
            description: description.into(),
            applied_on: applied.then(chrono::Utc::now),
            problem: None,
        };
        let text = table(&[
            state(1, "initial schema", true),
            state(4, "roles and row level security", true),
            state(9, "paging", false),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        let column = |line: &str, word: &str| line.find(word).expect(word);
        let state_column = column(lines[0], "STATE");
        assert_eq!(column(lines[1], "applied"), state_column, "{text}");
        assert_eq!(column(lines[2], "applied"), state_column, "{text}");
        assert_eq!(column(lines[3], "pending"), state_column, "{text}");
        assert!(
            lines[2].starts_with("  004 roles and row level security  applied"),
            "{text}"
        );
    }
}
