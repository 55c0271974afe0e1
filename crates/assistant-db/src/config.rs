//! Configuration from flags, the environment and `.env`, with secrets that never print.
//!
//! Precedence: an explicit override (a command-line flag) > the process environment >
//! `.env` > the embedded default (a private local PostgreSQL).

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// Environment variable naming a direct PostgreSQL connection string.
pub const DATABASE_URL: &str = "DATABASE_URL";
/// Environment variable naming the Supabase project URL (REST transport).
pub const SUPABASE_URL: &str = "SUPABASE_URL";
/// Environment variable naming the REST API's base URL directly, overriding
/// `{SUPABASE_URL}/rest/v1` (a self-hosted PostgREST serves at its root).
pub const SUPABASE_REST_URL: &str = "SUPABASE_REST_URL";
/// Environment variable holding the Supabase API key.
pub const SUPABASE_KEY: &str = "SUPABASE_KEY";
/// Environment variable naming the embedded cluster's home directory.
pub const ASSISTANT_DB_HOME: &str = "ASSISTANT_DB_HOME";
/// Environment variable naming the logger's spool file.
pub const ASSISTANT_DB_SPOOL: &str = "ASSISTANT_DB_SPOOL";

/// A secret string (API key, password) whose `Debug` and `Display` are redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself; call only where it is sent, never where it is shown.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(\"***\")")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A PostgreSQL connection string; shown with its password replaced by `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(url::Url);

impl DatabaseUrl {
    /// Parses a `postgres://` or `postgresql://` URL.
    pub fn parse(raw: &str) -> Result<Self> {
        let url = url::Url::parse(raw.trim())
            .map_err(|e| Error::Config(format!("{DATABASE_URL} is not a valid URL ({e})")))?;
        match url.scheme() {
            "postgres" | "postgresql" => Ok(DatabaseUrl(url)),
            other => Err(Error::Config(format!(
                "{DATABASE_URL} must start with postgres:// or postgresql://, not {other}://"
            ))),
        }
    }

    /// The full URL, password included; for connecting only.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        let mut shown = self.0.clone();
        if shown.password().is_some() {
            // Cannot fail: a URL that has a password has a host to attach it to.
            let _ = shown.set_password(Some("***"));
        }
        let mut text = shown.to_string();
        // Query parameters such as `password=` may carry a secret too.
        if let Some(query) = shown.query() {
            let cleaned: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| {
                    if k.eq_ignore_ascii_case("password") {
                        format!("{k}=***")
                    } else {
                        format!("{k}={v}")
                    }
                })
                .collect();
            if let Some(start) = text.find('?') {
                text.truncate(start);
                text.push('?');
                text.push_str(&cleaned.join("&"));
            }
        }
        text
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Where the data lives, as chosen by the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A PostgreSQL server reached directly.
    Postgres(DatabaseUrl),
    /// Supabase's REST API (PostgREST).
    Rest {
        /// The project URL, e.g. `https://xyz.supabase.co` (the REST URL when only
        /// `SUPABASE_REST_URL` is set).
        url: String,
        /// The REST API's base URL: `SUPABASE_REST_URL`, else `{url}/rest/v1`.
        rest_url: String,
        /// The API key (public or secret).
        key: Secret,
    },
    /// The private local PostgreSQL under this home directory.
    Local(PathBuf),
}

/// The whole configuration of the library and the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `DATABASE_URL`: direct PostgreSQL, Supabase's connection strings included.
    pub database_url: Option<DatabaseUrl>,
    /// `SUPABASE_URL`: the Supabase project URL for the REST transport.
    pub supabase_url: Option<String>,
    /// `SUPABASE_REST_URL`: the REST base URL, for a PostgREST served without Supabase's
    /// `/rest/v1` prefix.
    pub supabase_rest_url: Option<String>,
    /// `SUPABASE_KEY`: the Supabase API key.
    pub supabase_key: Option<Secret>,
    /// `ASSISTANT_DB_HOME`: where the embedded PostgreSQL keeps its cluster.
    pub home: PathBuf,
    /// `ASSISTANT_DB_SPOOL`: the logger's durable spool; see [`spool_path`](Self::spool_path).
    pub spool: Option<PathBuf>,
}

impl Config {
    /// Reads the process environment, then `.env` (found in this or a parent directory).
    pub fn from_env() -> Result<Self> {
        let dotenv: HashMap<String, String> = match dotenvy::dotenv_iter() {
            Ok(iter) => iter
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| Error::Config(format!(".env cannot be read: {e}")))?,
            Err(e) if e.not_found() => HashMap::new(),
            Err(e) => return Err(Error::Config(format!(".env cannot be read: {e}"))),
        };
        Self::from_lookup(|name| {
            std::env::var(name)
                .ok()
                .or_else(|| dotenv.get(name).cloned())
        })
    }

    /// Builds the configuration from any variable lookup (empty values count as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let database_url = get(DATABASE_URL)
            .map(|raw| DatabaseUrl::parse(&raw))
            .transpose()?;
        let supabase_url = get(SUPABASE_URL).map(|u| u.trim().trim_end_matches('/').to_owned());
        let supabase_rest_url =
            get(SUPABASE_REST_URL).map(|u| u.trim().trim_end_matches('/').to_owned());
        let supabase_key = get(SUPABASE_KEY).map(|k| Secret::new(k.trim()));
        let home = match get(ASSISTANT_DB_HOME) {
            Some(home) => PathBuf::from(home),
            None => default_home(&get)?,
        };
        let spool = get(ASSISTANT_DB_SPOOL).map(PathBuf::from);
        Ok(Config {
            database_url,
            supabase_url,
            supabase_rest_url,
            supabase_key,
            home,
            spool,
        })
    }

    /// Replaces `DATABASE_URL` with a value given on the command line.
    pub fn with_database_url(mut self, raw: Option<&str>) -> Result<Self> {
        if let Some(raw) = raw {
            self.database_url = Some(DatabaseUrl::parse(raw)?);
        }
        Ok(self)
    }

    /// The logger's spool: `ASSISTANT_DB_SPOOL`, else one file per destination under
    /// `<home>/spool/`, so that records spooled for one database never drain into another.
    pub fn spool_path(&self) -> PathBuf {
        if let Some(path) = &self.spool {
            return path.clone();
        }
        let name = match self.target() {
            Ok(Target::Postgres(url)) => format!("pg-{:016x}", fnv1a(url.redacted().as_bytes())),
            Ok(Target::Rest { rest_url, .. }) => {
                format!("rest-{:016x}", fnv1a(rest_url.as_bytes()))
            }
            Ok(Target::Local(_)) | Err(_) => "local".to_owned(),
        };
        self.home.join("spool").join(format!("{name}.db"))
    }

    /// Chooses the transport: `DATABASE_URL`, else Supabase REST, else the local default.
    pub fn target(&self) -> Result<Target> {
        if let Some(url) = &self.database_url {
            return Ok(Target::Postgres(url.clone()));
        }
        let rest_url = self
            .supabase_rest_url
            .clone()
            .or_else(|| self.supabase_url.as_ref().map(|u| format!("{u}/rest/v1")));
        match (rest_url, &self.supabase_key) {
            (Some(rest_url), Some(key)) => Ok(Target::Rest {
                url: self
                    .supabase_url
                    .clone()
                    .unwrap_or_else(|| rest_url.clone()),
                rest_url,
                key: key.clone(),
            }),
            (Some(_), None) => Err(Error::Config(format!(
                "{} is set but {SUPABASE_KEY} is not; set both, or set {DATABASE_URL}",
                if self.supabase_url.is_some() {
                    SUPABASE_URL
                } else {
                    SUPABASE_REST_URL
                }
            ))),
            (None, Some(_)) => Err(Error::Config(format!(
                "{SUPABASE_KEY} is set but {SUPABASE_URL} is not; set both, or set {DATABASE_URL}"
            ))),
            (None, None) => Ok(Target::Local(self.home.clone())),
        }
    }
}

/// FNV-1a: a stable hash (unlike std's, which is seeded per process) for file names.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `~/.local/share/assistant-db` (or under `$XDG_DATA_HOME`); `/var/lib/assistant-db` for
/// root, because PostgreSQL then runs as the `postgres` user, who cannot enter `/root`.
fn default_home(get: &impl Fn(&str) -> Option<String>) -> Result<PathBuf> {
    if nix::unistd::geteuid().is_root() {
        return Ok(PathBuf::from("/var/lib/assistant-db"));
    }
    if let Some(data) = get("XDG_DATA_HOME") {
        return Ok(PathBuf::from(data).join("assistant-db"));
    }
    match get("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".local/share/assistant-db")),
        None => Err(Error::Config(format!(
            "neither {ASSISTANT_DB_HOME} nor HOME is set: cannot place the local database"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn nothing_configured_means_the_local_default() {
        let config = config(&[("ASSISTANT_DB_HOME", "/tmp/x")]).expect("config");
        assert_eq!(
            config.target().expect("target"),
            Target::Local("/tmp/x".into())
        );
    }

    #[test]
    fn database_url_wins_over_supabase() {
        let config = config(&[
            (
                "DATABASE_URL",
                "postgres://u:pw@db.example:5432/postgres?sslmode=require",
            ),
            ("SUPABASE_URL", "https://x.supabase.co"),
            ("SUPABASE_KEY", "k"),
            ("HOME", "/home/u"),
        ])
        .expect("config");
        assert!(matches!(config.target(), Ok(Target::Postgres(_))));
    }

    #[test]
    fn flag_overrides_environment() {
        let config = config(&[("DATABASE_URL", "postgres://a@h/db"), ("HOME", "/h")])
            .and_then(|c| c.with_database_url(Some("postgres://b@h/other")))
            .expect("config");
        assert_eq!(
            config.database_url.map(|u| u.expose().to_owned()),
            Some("postgres://b@h/other".to_owned())
        );
    }

    #[test]
    fn supabase_settings_choose_rest_under_rest_v1_or_the_override() {
        let project = config(&[
            ("SUPABASE_URL", "https://x.supabase.co/"),
            ("SUPABASE_KEY", "k"),
            ("HOME", "/h"),
        ])
        .expect("config");
        match project.target().expect("target") {
            Target::Rest { url, rest_url, .. } => {
                assert_eq!(url, "https://x.supabase.co");
                assert_eq!(rest_url, "https://x.supabase.co/rest/v1");
            }
            other => panic!("expected REST, got {other:?}"),
        }
        let plain = config(&[
            ("SUPABASE_REST_URL", "http://127.0.0.1:3000/"),
            ("SUPABASE_KEY", "k"),
            ("HOME", "/h"),
        ])
        .expect("config");
        assert!(matches!(
            plain.target(),
            Ok(Target::Rest { rest_url, .. }) if rest_url == "http://127.0.0.1:3000"
        ));
    }

    #[test]
    fn half_a_supabase_configuration_is_an_error() {
        let config =
            config(&[("SUPABASE_URL", "https://x.supabase.co"), ("HOME", "/h")]).expect("config");
        let err = config.target().expect_err("must fail");
        assert!(err.to_string().contains("SUPABASE_KEY"), "{err}");
    }

    #[test]
    fn each_destination_has_its_own_spool() {
        let spool = |vars: &[(&str, &str)]| config(vars).expect("config").spool_path();
        let a = spool(&[("HOME", "/h"), ("DATABASE_URL", "postgres://u:one@db1/x")]);
        let a_again = spool(&[("HOME", "/h"), ("DATABASE_URL", "postgres://u:two@db1/x")]);
        let b = spool(&[("HOME", "/h"), ("DATABASE_URL", "postgres://u@db2/x")]);
        let local = spool(&[("ASSISTANT_DB_HOME", "/data")]);
        assert_eq!(a, a_again, "the password does not name the destination");
        assert_ne!(a, b);
        assert_eq!(local, PathBuf::from("/data/spool/local.db"));
        let explicit = spool(&[("HOME", "/h"), ("ASSISTANT_DB_SPOOL", "/s.db")]);
        assert_eq!(explicit, PathBuf::from("/s.db"));
    }

    #[test]
    fn secrets_never_print() {
        let config = config(&[
            (
                "DATABASE_URL",
                "postgresql://user:hunter2@db.x.supabase.co:5432/postgres?password=hunter3",
            ),
            ("SUPABASE_URL", "https://x.supabase.co"),
            ("SUPABASE_KEY", "eyJsecretkey"),
            ("HOME", "/h"),
        ])
        .expect("config");
        let shown = format!("{config:?} {:?}", config.target());
        for secret in ["hunter2", "hunter3", "eyJsecretkey"] {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
        }
        assert!(shown.contains("user:***@db.x.supabase.co"), "{shown}");
    }

    #[test]
    fn bad_urls_are_refused_with_the_variable_named() {
        let err = config(&[("DATABASE_URL", "mysql://x@y/z"), ("HOME", "/h")]).expect_err("bad");
        assert!(err.to_string().contains("DATABASE_URL"), "{err}");
    }
}
