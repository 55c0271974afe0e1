//! Configuration from flags, the environment and `.env`, with secrets that never print.
//!
//! Precedence: an explicit override (a command-line flag) > the process environment >
//! `.env` in the working directory > the embedded default (a private local PostgreSQL).
//! Only the working directory's `.env` is read: searching parent directories would let
//! whoever controls a parent (a shared `/tmp`, a checked-out repository) choose the
//! database and key a command uses.
//!
//! Every URL this crate shows goes through [`redact_url`]: the password, and the value of
//! any query parameter named like a secret (`password`, `sslpassword`, `sslkey`,
//! `api_token`, `client_secret`, …), become `***`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::logger::LoggerConfig;
use crate::retention::RetentionPolicy;

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
/// Environment variable giving the days a dead letter is kept before it is deleted.
pub const ASSISTANT_DB_DEAD_LETTER_DAYS: &str = "ASSISTANT_DB_DEAD_LETTER_DAYS";
/// Environment variable giving the retention policy (`400d`): how old interactions get
/// before `serve` deletes them (daily) and `retention run` does by default.
pub const ASSISTANT_DB_RETENTION: &str = "ASSISTANT_DB_RETENTION";

/// The longest [`ASSISTANT_DB_DEAD_LETTER_DAYS`] accepted (a hundred years).
const MAX_DEAD_LETTER_DAYS: u32 = 36_500;

/// The time a dead letter is kept, given in days.
pub fn days(days: u32) -> Duration {
    Duration::from_secs(u64::from(days) * 86_400)
}

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

    /// The URL with its password and secret-like query parameters replaced by `***`
    /// (see [`redact_url`]).
    pub fn redacted(&self) -> String {
        redact_url(self.0.as_str())
    }

    /// The parsed URL, secrets included; for connecting only.
    pub fn url(&self) -> &url::Url {
        &self.0
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
#[derive(Clone, PartialEq, Eq)]
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

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Postgres(url) => f.debug_tuple("Postgres").field(url).finish(),
            Target::Rest { url, rest_url, key } => f
                .debug_struct("Rest")
                .field("url", &redact_url(url))
                .field("rest_url", &redact_url(rest_url))
                .field("key", key)
                .finish(),
            Target::Local(home) => f.debug_tuple("Local").field(home).finish(),
        }
    }
}

/// The whole configuration of the library and the command.
#[derive(Clone, PartialEq, Eq)]
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
    /// `ASSISTANT_DB_DEAD_LETTER_DAYS`: how long the logger keeps a record the database
    /// refused for good, counted from its refusal (default 30 days).
    pub dead_letter_ttl: Duration,
    /// `ASSISTANT_DB_RETENTION`: delete interactions older than this (none by default:
    /// nothing is deleted unless a policy is set).
    pub retention: Option<RetentionPolicy>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &self.database_url)
            .field(
                "supabase_url",
                &self.supabase_url.as_deref().map(redact_url),
            )
            .field(
                "supabase_rest_url",
                &self.supabase_rest_url.as_deref().map(redact_url),
            )
            .field("supabase_key", &self.supabase_key)
            .field("home", &self.home)
            .field("spool", &self.spool)
            .field("dead_letter_ttl", &self.dead_letter_ttl)
            .field("retention", &self.retention)
            .finish()
    }
}

impl Config {
    /// Reads the process environment, then `.env` in the working directory (never a
    /// parent directory's).
    pub fn from_env() -> Result<Self> {
        let dotenv: HashMap<String, String> = match dotenvy::from_path_iter(".env") {
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
        let dead_letter_ttl = match get(ASSISTANT_DB_DEAD_LETTER_DAYS) {
            None => days(crate::logger::DEFAULT_DEAD_LETTER_DAYS),
            Some(raw) => match raw.trim().parse::<u32>() {
                Ok(n) if (1..=MAX_DEAD_LETTER_DAYS).contains(&n) => days(n),
                _ => {
                    return Err(Error::Config(format!(
                        "{ASSISTANT_DB_DEAD_LETTER_DAYS} must be a whole number of days from 1 \
                         to {MAX_DEAD_LETTER_DAYS} (got {raw:?})"
                    )))
                }
            },
        };
        let retention = get(ASSISTANT_DB_RETENTION)
            .map(|raw| {
                raw.parse::<RetentionPolicy>()
                    .map_err(|e| Error::Config(format!("{ASSISTANT_DB_RETENTION} {}", e.rule)))
            })
            .transpose()?;
        Ok(Config {
            database_url,
            supabase_url,
            supabase_rest_url,
            supabase_key,
            home,
            spool,
            dead_letter_ttl,
            retention,
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

    /// The logger's settings for this configuration: its spool and how long it keeps
    /// dead letters; the rest are [`LoggerConfig::new`]'s defaults.
    pub fn logger_config(&self) -> LoggerConfig {
        LoggerConfig {
            dead_letter_ttl: self.dead_letter_ttl,
            ..LoggerConfig::new(self.spool_path())
        }
    }

    /// Refuses, when running as root, a symbolic link at the home or at its `pg/` and
    /// `spool/` directories: root must not create, chmod or chown whatever a link planted
    /// there points at. A no-op for other users, whose links can only reach their own files.
    pub fn check_paths(&self) -> Result<()> {
        crate::files::refuse_symlink(&self.home, "ASSISTANT_DB_HOME")?;
        crate::files::refuse_symlink(&self.home.join("pg"), "the embedded PostgreSQL's directory")?;
        crate::files::refuse_symlink(&self.home.join("spool"), "the spool directory")
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

/// `url` with its password, and the value of every query or fragment parameter named
/// like a secret (see [`is_secret_name`]), replaced by `***`.
///
/// Works on the text, so a URL that does not parse is redacted too, and everything that
/// is not a secret is shown exactly as given.
pub fn redact_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let rest = match url.find("://") {
        Some(at) => {
            let (scheme, after) = url.split_at(at + 3);
            out.push_str(scheme);
            let end = after.find(['/', '?', '#']).unwrap_or(after.len());
            let (authority, rest) = after.split_at(end);
            match authority.rfind('@') {
                Some(at) => {
                    let (userinfo, host) = authority.split_at(at);
                    match userinfo.split_once(':') {
                        Some((user, _password)) => {
                            out.push_str(user);
                            out.push_str(":***");
                        }
                        None => out.push_str(userinfo),
                    }
                    out.push_str(host);
                }
                None => out.push_str(authority),
            }
            rest
        }
        None => url,
    };
    let (before_fragment, fragment) = match rest.split_once('#') {
        Some((head, fragment)) => (head, Some(fragment)),
        None => (rest, None),
    };
    match before_fragment.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            redact_pairs(query, &mut out);
        }
        None => out.push_str(before_fragment),
    }
    if let Some(fragment) = fragment {
        out.push('#');
        redact_pairs(fragment, &mut out);
    }
    out
}

/// `&`-separated `name=value` pairs, the values of secret-named ones replaced by `***`.
fn redact_pairs(pairs: &str, out: &mut String) {
    for (i, pair) in pairs.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        let name = url::form_urlencoded::parse(pair.as_bytes())
            .next()
            .map(|(name, _)| name);
        match pair.split_once('=') {
            Some((raw_name, value))
                if !value.is_empty() && name.is_some_and(|n| is_secret_name(&n)) =>
            {
                out.push_str(raw_name);
                out.push_str("=***");
            }
            _ => out.push_str(pair),
        }
    }
}

/// Whether a parameter of that name holds a secret: it contains `pass`, `pwd`, `key`,
/// `token`, `secret`, `auth`, `credential` or `signature` (in any case), or is `sig`.
pub fn is_secret_name(name: &str) -> bool {
    const SECRET_PARTS: [&str; 8] = [
        "pass",
        "pwd",
        "key",
        "token",
        "secret",
        "auth",
        "credential",
        "signature",
    ];
    let lower = name.to_ascii_lowercase();
    lower == "sig" || SECRET_PARTS.iter().any(|part| lower.contains(part))
}

/// `text` with every URL in it (`scheme://…`, up to the next space or quote) passed
/// through [`redact_url`]; for messages from other crates (sqlx, reqwest) that may quote
/// a URL, before they are shown or logged.
pub fn redact_urls(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let ends_url = |c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let scheme_start = rest[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |i| i + 1);
        let end = rest[at + 3..]
            .find(ends_url)
            .map_or(rest.len(), |i| at + 3 + i);
        out.push_str(&rest[..scheme_start]);
        out.push_str(&redact_url(&rest[scheme_start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
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
    fn secret_parameters_never_print() {
        let url = "postgresql://u:pw1@db.example:5432/postgres?sslmode=require\
                   &sslpassword=pw2&sslkey=%2Fhome%2Fkey3.pem&api_token=tok4&Password=pw5\
                   &client_secret=s6&application_name=app#access_token=t7";
        let config = config(&[
            ("DATABASE_URL", url),
            ("SUPABASE_URL", "https://x.supabase.co/?apikey=k8"),
            ("SUPABASE_REST_URL", "https://y.example/rest?token=t9"),
            ("HOME", "/h"),
        ])
        .expect("config");
        let shown = format!(
            "{config:?} {:?} {}",
            config.target(),
            config.database_url.as_ref().expect("url")
        );
        for secret in ["pw1", "pw2", "key3", "tok4", "pw5", "s6", "t7", "k8", "t9"] {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
        }
        assert!(
            shown.contains(
                "postgresql://u:***@db.example:5432/postgres?sslmode=require&sslpassword=***\
                 &sslkey=***&api_token=***&Password=***&client_secret=***&application_name=app\
                 #access_token=***"
            ),
            "{shown}"
        );
    }

    #[test]
    fn urls_inside_messages_are_redacted_and_the_rest_is_kept() {
        let text = "error sending request for url (https://h.example/x?api_key=k1&a=b): \
                    connect to postgres://u:p2@h/db?password=p3 failed, see \"s3://b/o?sig=z4\"";
        let shown = redact_urls(text);
        assert_eq!(
            shown,
            "error sending request for url (https://h.example/x?api_key=***&a=b): \
             connect to postgres://u:***@h/db?password=*** failed, see \"s3://b/o?sig=***\""
        );
        assert!(matches!(redact_urls("no url here"), Cow::Borrowed(_)));
        // Not a URL that parses, still redacted.
        assert_eq!(
            redact_url("postgres://u:p@[bad/x?token=t"),
            "postgres://u:***@[bad/x?token=***"
        );
    }

    #[test]
    fn dead_letter_days_are_read_and_checked() {
        let ttl = |days: Option<&str>| {
            let mut vars = vec![("HOME", "/h")];
            if let Some(days) = days {
                vars.push(("ASSISTANT_DB_DEAD_LETTER_DAYS", days));
            }
            config(&vars).map(|c| c.dead_letter_ttl)
        };
        assert_eq!(
            ttl(None).expect("default"),
            Duration::from_secs(30 * 86_400)
        );
        assert_eq!(
            ttl(Some("7")).expect("7 days"),
            Duration::from_secs(7 * 86_400)
        );
        for bad in ["0", "-1", "1.5", "forever", "36501"] {
            let err = ttl(Some(bad)).expect_err(bad).to_string();
            assert!(
                err.contains("ASSISTANT_DB_DEAD_LETTER_DAYS") && err.contains("whole number"),
                "{err}"
            );
        }
    }

    #[test]
    fn the_retention_policy_is_read_and_checked() {
        let policy = |raw: &str| config(&[("HOME", "/h"), ("ASSISTANT_DB_RETENTION", raw)]);
        assert_eq!(config(&[("HOME", "/h")]).expect("none").retention, None);
        assert_eq!(
            policy("400d")
                .expect("400d")
                .retention
                .map(|p| p.interval()),
            Some("400 days".to_owned())
        );
        let err = policy("400").expect_err("no unit").to_string();
        assert!(
            err.contains("ASSISTANT_DB_RETENTION") && err.contains("e.g. 400d"),
            "{err}"
        );
    }

    #[test]
    fn bad_urls_are_refused_with_the_variable_named() {
        let err = config(&[("DATABASE_URL", "mysql://x@y/z"), ("HOME", "/h")]).expect_err("bad");
        assert!(err.to_string().contains("DATABASE_URL"), "{err}");
    }
}
