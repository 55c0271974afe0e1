//! One PostgreSQL cluster in a directory we own: init, start, stop, status, destroy.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use nix::unistd::{Gid, Uid, User};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::{PgBinaries, PORT, SUPERUSER};
use crate::error::{Error, Result};
use crate::files::{self, PRIVATE_DIR};

/// Mode of the home when the server runs as another user: that user may pass through it
/// to `pg/` (its own, mode 0700) but may not list or change the home, where the spools
/// and the lock live.
const HOME_PASSABLE: u32 = 0o711;

/// The longest path a Unix socket may have on Linux (`sun_path` less its NUL).
const MAX_SOCKET_PATH: usize = 107;

/// How the server trades durability for speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tuning {
    /// Every commit reaches the disk: the embedded default holds real data.
    Durable,
    /// No fsync: for throwaway test and benchmark servers only.
    Throwaway,
}

/// What `status` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterStatus {
    /// No cluster has been created in this home yet.
    NotInitialized,
    /// The cluster exists and no server runs on it.
    Stopped,
    /// A server runs on the cluster.
    Running {
        /// Process id of the postmaster.
        pid: u32,
    },
}

/// What `start` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartOutcome {
    /// The cluster was created (initdb) by this call.
    pub initialized: bool,
    /// A server was already running, so nothing was started.
    pub already_running: bool,
}

/// The OS account the server runs as.
#[derive(Debug, Clone)]
struct ServiceUser {
    name: String,
    /// Set when we are root and must switch to an unprivileged user.
    switch_to: Option<(Uid, Gid)>,
}

impl ServiceUser {
    /// Ourselves, or the `postgres` system user when we are root.
    fn detect() -> Result<Self> {
        let uid = nix::unistd::geteuid();
        if !uid.is_root() {
            let name = User::from_uid(uid)
                .ok()
                .flatten()
                .map(|u| u.name)
                .unwrap_or_else(|| uid.to_string());
            return Ok(ServiceUser {
                name,
                switch_to: None,
            });
        }
        let name = std::env::var("ASSISTANT_DB_PG_USER").unwrap_or_else(|_| "postgres".into());
        let user = User::from_name(&name)
            .map_err(|e| Error::Local(format!("cannot look up user `{name}`: {e}")))?
            .ok_or_else(|| {
                Error::Local(format!(
                    "running as root, but PostgreSQL refuses to run as root and there is no \
                     `{name}` user to run it as; create one (`apt-get install postgresql` \
                     does) or set ASSISTANT_DB_PG_USER to an unprivileged user"
                ))
            })?;
        if user.uid.is_root() {
            return Err(Error::Local(format!(
                "ASSISTANT_DB_PG_USER={name} is root; PostgreSQL needs an unprivileged user"
            )));
        }
        Ok(ServiceUser {
            name,
            switch_to: Some((user.uid, user.gid)),
        })
    }
}

/// A PostgreSQL cluster kept under one home directory.
///
/// Layout: `<home>/lock` serialises commands; `<home>/pg/` belongs to the server's user
/// and holds `data/` (the cluster), `run/` (the socket) and `server.log`. The home is
/// mode 0700, or 0711 when the server runs as another user (root's case); `pg/` and
/// `run/` are 0700 and the lock 0600.
#[derive(Debug, Clone)]
pub struct LocalCluster {
    home: PathBuf,
    binaries: PgBinaries,
    user: ServiceUser,
    tuning: Tuning,
}

impl LocalCluster {
    /// A durable cluster under `home`; nothing is created until [`start`](Self::start).
    pub fn new(home: impl Into<PathBuf>) -> Result<Self> {
        Self::with_tuning(home, Tuning::Durable)
    }

    /// A cluster under `home` with the given durability.
    pub fn with_tuning(home: impl Into<PathBuf>, tuning: Tuning) -> Result<Self> {
        let home = absolute(home.into())?;
        let cluster = LocalCluster {
            home,
            binaries: PgBinaries::locate()?,
            user: ServiceUser::detect()?,
            tuning,
        };
        let socket = cluster.socket_dir().join(format!(".s.PGSQL.{PORT}"));
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(Error::Local(format!(
                "the socket path {} is longer than the {MAX_SOCKET_PATH} bytes a Unix socket \
                 allows; choose a shorter ASSISTANT_DB_HOME",
                socket.display()
            )));
        }
        Ok(cluster)
    }

    /// The home directory given at construction.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.server_dir().join("data")
    }

    /// The directory holding the server's Unix socket.
    pub fn socket_dir(&self) -> PathBuf {
        self.server_dir().join("run")
    }

    /// The server's log file.
    pub fn log_file(&self) -> PathBuf {
        self.server_dir().join("server.log")
    }

    /// The OS user the server runs as.
    pub fn service_user(&self) -> &str {
        &self.user.name
    }

    /// The binaries this cluster runs.
    pub fn binaries(&self) -> &PgBinaries {
        &self.binaries
    }

    fn server_dir(&self) -> PathBuf {
        self.home.join("pg")
    }

    /// Connection options for `database` over the private socket, with sqlx's statement
    /// logs kept below the default filter (see [`crate::connect::quiet`]).
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        crate::connect::quiet(
            PgConnectOptions::new()
                .socket(self.socket_dir())
                .port(PORT)
                .username(SUPERUSER)
                .database(database),
        )
    }

    /// A libpq-style URL for `database`, usable with `psql` and `DATABASE_URL`.
    pub fn url(&self, database: &str) -> String {
        let host: String =
            url::form_urlencoded::byte_serialize(self.socket_dir().as_os_str().as_encoded_bytes())
                .collect();
        format!("postgresql://{SUPERUSER}@localhost/{database}?host={host}&port={PORT}")
    }

    /// Whether the cluster exists and whether a server runs on it.
    pub fn status(&self) -> Result<ClusterStatus> {
        if !self.data_dir().join("PG_VERSION").is_file() {
            return Ok(ClusterStatus::NotInitialized);
        }
        let out = self.pg_ctl(&["status"])?;
        match out.status.code() {
            Some(0) => {
                let text = String::from_utf8_lossy(&out.stdout);
                let pid = text
                    .split("PID:")
                    .nth(1)
                    .and_then(|rest| {
                        rest.trim_start()
                            .split(|c: char| !c.is_ascii_digit())
                            .next()
                    })
                    .and_then(|digits| digits.parse().ok())
                    .ok_or_else(|| {
                        Error::Local(format!("unexpected `pg_ctl status` output: {text}"))
                    })?;
                Ok(ClusterStatus::Running { pid })
            }
            Some(3) => Ok(ClusterStatus::Stopped),
            _ => Err(failure("pg_ctl status", &out)),
        }
    }

    /// Creates the cluster if needed and starts the server if it is not running.
    ///
    /// Safe to call from several processes at once: a lock file serialises them, so the
    /// cluster is created and started exactly once.
    pub fn start(&self) -> Result<StartOutcome> {
        let _lock = self.lock()?;
        let initialized = match self.status()? {
            ClusterStatus::Running { .. } => {
                return Ok(StartOutcome {
                    initialized: false,
                    already_running: true,
                })
            }
            ClusterStatus::Stopped => false,
            ClusterStatus::NotInitialized => {
                self.init()?;
                true
            }
        };
        let log = self.log_file();
        let log = log.to_string_lossy();
        let out = self.pg_ctl(&["-l", &log, "-w", "-t", "120", "start"])?;
        if !out.status.success() {
            return Err(Error::Local(format!(
                "the server did not start ({}); last lines of {}:\n{}",
                summary(&out),
                self.log_file().display(),
                tail(&self.log_file(), 15)
            )));
        }
        Ok(StartOutcome {
            initialized,
            already_running: false,
        })
    }

    /// Stops the server (fast shutdown: sessions are ended, data is safe); true if it ran.
    pub fn stop(&self) -> Result<bool> {
        let _lock = self.lock()?;
        self.stop_locked("fast")
    }

    /// Stops the server at once (crash-like, recovered on next start); for throwaway servers.
    pub fn stop_immediately(&self) -> Result<bool> {
        let _lock = self.lock()?;
        self.stop_locked("immediate")
    }

    fn stop_locked(&self, mode: &str) -> Result<bool> {
        match self.status()? {
            ClusterStatus::Running { .. } => {
                let out = self.pg_ctl(&["-m", mode, "-w", "-t", "120", "stop"])?;
                if out.status.success() {
                    Ok(true)
                } else {
                    Err(failure("pg_ctl stop", &out))
                }
            }
            _ => Ok(false),
        }
    }

    /// Stops the server and deletes the cluster with all its data.
    pub fn destroy(&self) -> Result<()> {
        let _lock = self.lock()?;
        self.stop_locked("fast")?;
        match fs::remove_dir_all(self.server_dir()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(
                format!("cannot remove {}", self.server_dir().display()),
                e,
            )),
        }
    }

    /// Creates `database` if it does not exist yet.
    pub async fn ensure_database(&self, database: &str) -> Result<()> {
        let mut conn = self.connect_options("postgres").connect().await?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(database)
                .fetch_one(&mut conn)
                .await?;
        if !exists {
            let sql = format!("CREATE DATABASE {}", quote_ident(database));
            match sqlx::raw_sql(&sql).execute(&mut conn).await {
                Ok(_) => {}
                // Another process created it between our check and our CREATE: PostgreSQL
                // says so with 42P04, or with 23505 when both CREATEs ran at once.
                Err(sqlx::Error::Database(e))
                    if matches!(e.code().as_deref(), Some("42P04") | Some("23505")) => {}
                Err(e) => return Err(e.into()),
            }
        }
        conn.close().await?;
        Ok(())
    }

    /// Runs `initdb` and writes the private-socket settings.
    fn init(&self) -> Result<()> {
        self.prepare_dirs()?;
        let data = self.data_dir();
        let mut args = vec![
            "-D".to_owned(),
            data.to_string_lossy().into_owned(),
            "-U".to_owned(),
            SUPERUSER.to_owned(),
            "--auth=trust".to_owned(),
            "--encoding=UTF8".to_owned(),
            "--locale=C".to_owned(),
        ];
        if self.tuning == Tuning::Throwaway {
            args.push("--no-sync".to_owned());
        }
        let out = self.run(self.binaries.tool("initdb"), &args)?;
        if !out.status.success() {
            // Leave nothing half-made behind for the next attempt.
            let _ = fs::remove_dir_all(&data);
            return Err(failure("initdb", &out));
        }
        let mut settings = format!(
            "\n# assistant-db: a private server on a Unix socket, no TCP listener.\n\
             listen_addresses = ''\n\
             unix_socket_directories = '{}'\n\
             unix_socket_permissions = 0700\n\
             port = {PORT}\n",
            self.socket_dir().to_string_lossy().replace('\'', "''")
        );
        if self.tuning == Tuning::Throwaway {
            settings.push_str(
                "# Throwaway server: speed over durability.\n\
                 fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n\
                 max_connections = 200\n",
            );
        }
        let conf = data.join("postgresql.conf");
        OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut f| f.write_all(settings.as_bytes()))
            .map_err(|e| Error::io(format!("cannot write {}", conf.display()), e))
    }

    /// Creates `<home>/pg/{run}` (mode 0700), owned by the server's user.
    fn prepare_dirs(&self) -> Result<()> {
        let server_dir = self.server_dir();
        let socket_dir = self.socket_dir();
        files::ensure_dir(
            &server_dir,
            PRIVATE_DIR,
            true,
            "the embedded PostgreSQL's directory",
        )?;
        files::ensure_dir(
            &socket_dir,
            PRIVATE_DIR,
            true,
            "the server's socket directory",
        )?;
        if let Some((uid, gid)) = self.user.switch_to {
            // Inner directory first: until `pg/` is handed over, only root can change
            // what is inside it. `lchown` changes a link itself, never what it points at.
            for dir in [&socket_dir, &server_dir] {
                std::os::unix::fs::lchown(dir, Some(uid.as_raw()), Some(gid.as_raw())).map_err(
                    |e| {
                        Error::Local(format!(
                            "cannot hand {} to user {}: {e}",
                            dir.display(),
                            self.user.name
                        ))
                    },
                )?;
            }
        }
        if self.user.switch_to.is_some() {
            // PostgreSQL must be able to walk to its directory from `/`.
            let probe = self.run(
                "/bin/sh",
                &["-c", "cd \"$0\"", &server_dir.to_string_lossy()],
            )?;
            if !probe.status.success() {
                return Err(Error::Local(format!(
                    "the server runs as `{}`, who cannot enter {}: every parent directory must \
                     be searchable by that user; set ASSISTANT_DB_HOME to a directory outside \
                     /root (the default for root is /var/lib/assistant-db)",
                    self.user.name,
                    server_dir.display()
                )));
            }
        }
        Ok(())
    }

    /// Takes the home directory's lock; released when the returned file is dropped.
    ///
    /// Also makes the home private (see [`LocalCluster`]) and, as root, refuses a
    /// symbolic link at the home, `pg/` or the lock.
    fn lock(&self) -> Result<File> {
        let mode = if self.user.switch_to.is_some() {
            HOME_PASSABLE
        } else {
            PRIVATE_DIR
        };
        files::ensure_dir(&self.home, mode, true, "ASSISTANT_DB_HOME")?;
        files::refuse_symlink(&self.server_dir(), "the embedded PostgreSQL's directory")?;
        let path = self.home.join("lock");
        let file = files::private_file(&path, "the home's lock file")?;
        file.lock()
            .map_err(|e| Error::io(format!("cannot lock {}", path.display()), e))?;
        Ok(file)
    }

    /// Runs `pg_ctl -D <data> <args…>` as the server's user.
    fn pg_ctl(&self, args: &[&str]) -> Result<Output> {
        let data = self.data_dir();
        let mut full = vec!["-D", data.to_str().unwrap_or_default()];
        if data.to_str().is_none() {
            return Err(Error::Local(format!(
                "the data directory {} is not valid UTF-8",
                data.display()
            )));
        }
        full.extend_from_slice(args);
        self.run(self.binaries.tool("pg_ctl"), &full)
    }

    /// Runs a program as the server's user, from a directory that user can enter.
    fn run<S: AsRef<std::ffi::OsStr>>(
        &self,
        program: impl AsRef<std::ffi::OsStr>,
        args: &[S],
    ) -> Result<Output> {
        let program = program.as_ref();
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir("/")
            .stdin(Stdio::null())
            .env("LC_ALL", "C")
            .env_remove("PGDATA")
            .env_remove("PGHOST")
            .env_remove("PGPORT");
        if let Some((uid, gid)) = self.user.switch_to {
            command.uid(uid.as_raw()).gid(gid.as_raw());
        }
        command
            .output()
            .map_err(|e| Error::io(format!("cannot run {}", Path::new(program).display()), e))
    }
}

/// Double-quotes an SQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn absolute(path: PathBuf) -> Result<PathBuf> {
    std::path::absolute(&path)
        .map_err(|e| Error::io(format!("cannot resolve {}", path.display()), e))
}

fn summary(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = text.trim();
    match out.status.code() {
        Some(code) => format!("exit status {code}: {text}"),
        None => format!("killed by a signal: {text}"),
    }
}

fn failure(what: &str, out: &Output) -> Error {
    Error::Local(format!("{what} failed, {}", summary(out)))
}

/// The last `lines` lines of a file, for error messages.
fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
