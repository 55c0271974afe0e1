//! `assistant-db local …`: the embedded PostgreSQL, like `supabase start` / `stop`.

use std::process::ExitCode;

use assistant_db::local::{ClusterStatus, LocalCluster, DEFAULT_DATABASE};
use assistant_db::Config;

/// Examples at the end of `local start --help`.
const START_EXAMPLES: &str = "Examples:
  assistant-db local start
  ASSISTANT_DB_HOME=/srv/assistant-db assistant-db local start";

/// Examples at the end of `local stop --help`.
const STOP_EXAMPLES: &str = "Examples:
  assistant-db local stop
  ASSISTANT_DB_HOME=/srv/assistant-db assistant-db local stop";

/// Examples at the end of `local status --help`.
const STATUS_EXAMPLES: &str = "Examples:
  assistant-db local status
  assistant-db local status --json";

/// Examples at the end of `local destroy --help`.
const DESTROY_EXAMPLES: &str = "Examples:
  assistant-db local stop
  assistant-db local destroy --yes";

/// Examples at the end of `local --help`.
const EXAMPLES: &str = "Examples:
  assistant-db local start
  assistant-db local status --json
  assistant-db local destroy --yes";

/// Arguments of `local`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Create the cluster if needed, start it and apply migrations.
    #[command(after_help = START_EXAMPLES)]
    Start,
    /// Stop the server (data is kept).
    #[command(after_help = STOP_EXAMPLES)]
    Stop,
    /// Show whether the server runs, where its data is and how to connect.
    #[command(after_help = STATUS_EXAMPLES)]
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop the server and delete the cluster with all its data.
    #[command(after_help = DESTROY_EXAMPLES)]
    Destroy {
        /// Confirm that all local data may be deleted.
        #[arg(long)]
        yes: bool,
    },
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let cluster = LocalCluster::new(&config.home)?;
    match args.action {
        Action::Start => {
            let local_only = Config {
                database_url: None,
                supabase_url: None,
                supabase_key: None,
                ..config.clone()
            };
            let db = assistant_db::connect::connect(
                &local_only,
                assistant_db::connect::Prepare::MigrateLocal,
            )
            .await?;
            db.pool.close().await;
            println!(
                "Local PostgreSQL is running ({}).",
                cluster.home().display()
            );
            println!("  DATABASE_URL={}", cluster.url(DEFAULT_DATABASE));
        }
        Action::Stop => {
            let cluster2 = cluster.clone();
            let was_running = tokio::task::spawn_blocking(move || cluster2.stop()).await??;
            if was_running {
                println!(
                    "Stopped the local PostgreSQL in {}.",
                    cluster.home().display()
                );
            } else {
                println!(
                    "The local PostgreSQL in {} was not running.",
                    cluster.home().display()
                );
            }
        }
        Action::Status { json } => {
            let status = cluster.status()?;
            let (state, pid) = match status {
                ClusterStatus::NotInitialized => ("not created", None),
                ClusterStatus::Stopped => ("stopped", None),
                ClusterStatus::Running { pid } => ("running", Some(pid)),
            };
            if json {
                let value = serde_json::json!({
                    "state": state,
                    "pid": pid,
                    "home": cluster.home(),
                    "data_dir": cluster.data_dir(),
                    "socket_dir": cluster.socket_dir(),
                    "log_file": cluster.log_file(),
                    "server_user": cluster.service_user(),
                    "binaries": cluster.binaries().dir(),
                    "database_url": cluster.url(DEFAULT_DATABASE),
                });
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                match pid {
                    Some(pid) => println!("running (pid {pid})"),
                    None => println!("{state}"),
                }
                println!("  home:         {}", cluster.home().display());
                println!("  data:         {}", cluster.data_dir().display());
                println!(
                    "  socket:       {} (no TCP listener)",
                    cluster.socket_dir().display()
                );
                println!("  log:          {}", cluster.log_file().display());
                println!("  server user:  {}", cluster.service_user());
                println!("  binaries:     {}", cluster.binaries().dir().display());
                println!("  DATABASE_URL={}", cluster.url(DEFAULT_DATABASE));
            }
        }
        Action::Destroy { yes } => {
            if !yes {
                anyhow::bail!(
                    "this deletes every row in the local database under {}; run again with --yes",
                    cluster.home().display()
                );
            }
            let cluster2 = cluster.clone();
            tokio::task::spawn_blocking(move || cluster2.destroy()).await??;
            println!(
                "Deleted the local PostgreSQL cluster in {}.",
                cluster.home().display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
