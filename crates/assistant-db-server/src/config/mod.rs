//! What `serve` is started with, checked before anything listens or connects: who may
//! call (the token and where it is needed), which names the server answers to, TLS, and
//! the limits that keep slow or greedy clients from holding it.
//!
//! [`ServerConfig`] holds the choices as given; [`ServerConfig::check`] turns them into
//! [`Settings`] or a [`ConfigError`] saying which choice is refused and why. A server
//! never starts from a setup that would expose customer data: any address but loopback
//! needs the token, and plain HTTP off loopback needs TLS or a TLS proxy in front.

pub mod names;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use assistant_db::config::Secret;
use tokio_rustls::rustls;

pub use self::names::{HostNames, PublicUrl};

/// The environment variable holding the API token.
pub const TOKEN_VAR: &str = "ASSISTANT_DB_API_TOKEN";
/// The shortest token accepted: shorter ones are too easy to guess.
pub const MIN_TOKEN_CHARS: usize = 16;
/// Largest request body accepted by default, in bytes (4 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 << 20;
/// How long a client may take to send a request's headers (and, on a kept-alive
/// connection, to start the next request) by default.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a whole request body by default.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections served at once by default; more wait in the listen queue.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// How long a browser session lasts by default (12 hours).
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// A certificate chain and its private key, both PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The server's setup as given (flags and environment), not yet checked.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// The API token: needed for writes, and for everything off loopback.
    pub token: Option<Secret>,
    /// Names the server answers to besides `localhost` and its own addresses.
    pub public_urls: Vec<PublicUrl>,
    /// Serve HTTPS with this certificate.
    pub tls: Option<TlsFiles>,
    /// A proxy in front terminates TLS, so plain HTTP here is acceptable off loopback.
    pub behind_tls_proxy: bool,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Time allowed for a request's headers.
    pub header_timeout: Duration,
    /// Time allowed for a whole request body.
    pub body_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// How long a browser session lasts after sign-in.
    pub session_lifetime: Duration,
}

impl ServerConfig {
    /// Defaults for a server on `addr` without a token.
    pub fn new(addr: SocketAddr) -> Self {
        ServerConfig {
            addr,
            token: None,
            public_urls: Vec::new(),
            tls: None,
            behind_tls_proxy: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            session_lifetime: DEFAULT_SESSION_LIFETIME,
        }
    }

    /// Checks every choice and loads the TLS certificate; nothing listens yet.
    pub fn check(self) -> Result<Settings, ConfigError> {
        let token = self
            .token
            .filter(|t| !t.expose().is_empty())
            .map(check_token)
            .transpose()?;
        for (flag, value) in [
            ("--header-timeout", self.header_timeout),
            ("--body-timeout", self.body_timeout),
            ("the session lifetime", self.session_lifetime),
        ] {
            if value.is_zero() {
                return Err(ConfigError::Zero { what: flag });
            }
        }
        if self.max_connections == 0 {
            return Err(ConfigError::Zero {
                what: "--max-connections",
            });
        }
        if self.max_body_bytes == 0 {
            return Err(ConfigError::Zero {
                what: "--max-body-bytes",
            });
        }
        let loopback = is_loopback(self.addr);
        let exposed = exposure(loopback, self.behind_tls_proxy, &self.public_urls);
        if let (Some(why), None) = (exposed, &token) {
            return Err(ConfigError::TokenRequired {
                addr: self.addr,
                why,
            });
        }
        if !loopback && self.tls.is_none() && !self.behind_tls_proxy {
            return Err(ConfigError::PlainHttp { addr: self.addr });
        }
        let tls = self.tls.as_ref().map(load_tls).transpose()?;
        Ok(Settings {
            addr: self.addr,
            reads_need_token: exposed.is_some(),
            token,
            public_urls: self.public_urls,
            tls,
            behind_tls_proxy: self.behind_tls_proxy,
            max_body_bytes: self.max_body_bytes,
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
            max_connections: self.max_connections,
            session_lifetime: self.session_lifetime,
        })
    }
}

/// A checked setup: every rule holds and the certificate is loaded.
#[derive(Clone)]
pub struct Settings {
    addr: SocketAddr,
    token: Option<Secret>,
    reads_need_token: bool,
    public_urls: Vec<PublicUrl>,
    tls: Option<Arc<rustls::ServerConfig>>,
    behind_tls_proxy: bool,
    max_body_bytes: usize,
    header_timeout: Duration,
    body_timeout: Duration,
    max_connections: usize,
    session_lifetime: Duration,
}

impl std::fmt::Debug for Settings {
    /// The token and the TLS key stay out: only whether they are there.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("addr", &self.addr)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("reads_need_token", &self.reads_need_token)
            .field("public_urls", &self.public_urls)
            .field("tls", &self.tls.is_some())
            .field("behind_tls_proxy", &self.behind_tls_proxy)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("header_timeout", &self.header_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("max_connections", &self.max_connections)
            .field("session_lifetime", &self.session_lifetime)
            .finish()
    }
}

impl Settings {
    /// Where to listen.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API token, when one is configured.
    pub fn token(&self) -> Option<&Secret> {
        self.token.as_ref()
    }

    /// True when a token is configured, and so writes are enabled.
    pub fn writes_enabled(&self) -> bool {
        self.token.is_some()
    }

    /// True when reads need the token too: the server can be reached from other
    /// machines (bound off loopback, behind a proxy, or given a public name).
    pub fn reads_need_token(&self) -> bool {
        self.reads_need_token
    }

    /// The public names given with `--public-url`.
    pub fn public_urls(&self) -> &[PublicUrl] {
        &self.public_urls
    }

    /// The TLS setup, when the server speaks HTTPS itself.
    pub fn tls(&self) -> Option<&Arc<rustls::ServerConfig>> {
        self.tls.as_ref()
    }

    /// True when browsers reach the server over HTTPS (its own TLS or a proxy's), so
    /// cookies are marked `Secure`.
    pub fn browsers_use_https(&self) -> bool {
        self.tls.is_some() || self.behind_tls_proxy
    }

    /// Largest request body, in bytes.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// Time allowed for a request's headers.
    pub fn header_timeout(&self) -> Duration {
        self.header_timeout
    }

    /// Time allowed for a whole request body.
    pub fn body_timeout(&self) -> Duration {
        self.body_timeout
    }

    /// Connections served at once.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// How long a browser session lasts.
    pub fn session_lifetime(&self) -> Duration {
        self.session_lifetime
    }
}

/// Why a setup is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The token is shorter than [`MIN_TOKEN_CHARS`].
    #[error(
        "{TOKEN_VAR} is too short ({chars} characters); use at least {MIN_TOKEN_CHARS}, \
         e.g. the output of `openssl rand -hex 32`"
    )]
    TokenTooShort {
        /// Its length in characters.
        chars: usize,
    },
    /// The token contains whitespace, which a header cannot carry intact.
    #[error("{TOKEN_VAR} must not contain whitespace")]
    TokenWhitespace,
    /// The server can be reached from other machines but has no token.
    #[error(
        "refusing to listen on {addr} without {TOKEN_VAR}: {why}, so the API and the \
         dashboard need a bearer token. Set {TOKEN_VAR} (e.g. to the output of \
         `openssl rand -hex 32`), or listen on 127.0.0.1 only"
    )]
    TokenRequired {
        /// The address asked for.
        addr: SocketAddr,
        /// What makes the server reachable from elsewhere.
        why: &'static str,
    },
    /// Plain HTTP on an address other machines can reach.
    #[error(
        "refusing to serve plain HTTP on {addr}: off loopback the token and the browser \
         sessions would cross the network in clear text. Give --tls-cert and --tls-key \
         to serve HTTPS, or --behind-tls-proxy when a proxy in front terminates TLS"
    )]
    PlainHttp {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// A limit set to zero.
    #[error("{what} must be more than zero")]
    Zero {
        /// The flag or setting.
        what: &'static str,
    },
    /// The certificate or key file cannot be used.
    #[error("TLS {what} {}: {reason}", path.display())]
    Tls {
        /// `certificate` or `key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The certificate and the key do not make a TLS setup.
    #[error("the TLS certificate and key cannot be used together: {0}")]
    TlsPair(String),
}

/// The TLS setup of `files`, or which file is wrong and why.
fn load_tls(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, ConfigError> {
    tls::load(&files.cert, &files.key).map_err(|problem| match problem {
        tls::Problem::Cert(reason) => ConfigError::Tls {
            what: "certificate",
            path: files.cert.clone(),
            reason,
        },
        tls::Problem::Key(reason) => ConfigError::Tls {
            what: "key",
            path: files.key.clone(),
            reason,
        },
        tls::Problem::Pair(reason) => ConfigError::TlsPair(reason),
    })
}

/// Checks the token's length and characters.
fn check_token(token: Secret) -> Result<Secret, ConfigError> {
    let chars = token.expose().chars().count();
    if chars < MIN_TOKEN_CHARS {
        return Err(ConfigError::TokenTooShort { chars });
    }
    if token.expose().chars().any(char::is_whitespace) {
        return Err(ConfigError::TokenWhitespace);
    }
    Ok(token)
}

/// Loopback, IPv4-mapped IPv6 loopback included.
pub fn is_loopback(addr: SocketAddr) -> bool {
    addr.ip().to_canonical().is_loopback()
}

/// What makes the server reachable from other machines, if anything.
fn exposure(
    loopback: bool,
    behind_tls_proxy: bool,
    public_urls: &[PublicUrl],
) -> Option<&'static str> {
    if !loopback {
        Some("any address but loopback (127.0.0.1, ::1) can be reached from other machines")
    } else if behind_tls_proxy {
        Some("--behind-tls-proxy says a proxy forwards requests from other machines")
    } else if public_urls.iter().any(|url| !url.is_loopback()) {
        Some("--public-url gives a name other machines use")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123";

    fn config(addr: &str) -> ServerConfig {
        ServerConfig::new(addr.parse().expect("address"))
    }

    fn with_token(addr: &str, token: &str) -> ServerConfig {
        ServerConfig {
            token: Some(Secret::new(token)),
            ..config(addr)
        }
    }

    #[test]
    fn loopback_needs_no_token_and_other_addresses_do() {
        let open = config("127.0.0.1:0").check().expect("loopback");
        assert!(!open.reads_need_token() && !open.writes_enabled());
        let guarded = with_token("[::1]:0", TOKEN).check().expect("loopback");
        assert!(!guarded.reads_need_token() && guarded.writes_enabled());
        assert!(config("[::ffff:127.0.0.1]:1").check().is_ok());

        let err = ServerConfig {
            behind_tls_proxy: true,
            ..config("0.0.0.0:8080")
        }
        .check()
        .expect_err("refused");
        assert!(err.to_string().contains(TOKEN_VAR), "{err}");
        let remote = ServerConfig {
            behind_tls_proxy: true,
            ..with_token("10.1.2.3:8080", TOKEN)
        }
        .check()
        .expect("ok");
        assert!(remote.reads_need_token() && remote.browsers_use_https());
    }

    #[test]
    fn plain_http_off_loopback_is_refused() {
        let err = with_token("0.0.0.0:8080", TOKEN)
            .check()
            .expect_err("plain");
        assert!(matches!(err, ConfigError::PlainHttp { .. }), "{err}");
        let message = err.to_string();
        for flag in ["--tls-cert", "--behind-tls-proxy"] {
            assert!(message.contains(flag), "{message}");
        }
    }

    #[test]
    fn a_proxy_or_a_public_name_makes_reads_need_the_token() {
        let err = ServerConfig {
            behind_tls_proxy: true,
            ..config("127.0.0.1:8080")
        }
        .check()
        .expect_err("proxy without token");
        assert!(err.to_string().contains("--behind-tls-proxy"), "{err}");
        let public = ServerConfig {
            public_urls: vec!["https://dash.example.com".parse().expect("url")],
            ..config("127.0.0.1:8080")
        };
        assert!(public.check().is_err());
        let local = ServerConfig {
            public_urls: vec!["http://localhost:9000".parse().expect("url")],
            ..config("127.0.0.1:8080")
        };
        assert!(!local.check().expect("loopback name").reads_need_token());
    }

    #[test]
    fn debug_output_holds_no_token() {
        let settings = with_token("127.0.0.1:0", TOKEN).check().expect("valid");
        let shown = format!("{settings:?}");
        assert!(!shown.contains(TOKEN) && shown.contains("***"), "{shown}");
        let config = format!("{:?}", with_token("127.0.0.1:0", TOKEN));
        assert!(!config.contains(TOKEN), "{config}");
    }

    #[test]
    fn short_tokens_and_zero_limits_are_refused() {
        let err = with_token("127.0.0.1:0", "short")
            .check()
            .expect_err("short");
        assert!(err.to_string().contains("too short"), "{err}");
        assert!(with_token("127.0.0.1:0", "")
            .check()
            .is_ok_and(|s| !s.writes_enabled()));
        let err = with_token("127.0.0.1:0", "0123456789 abcdef0123")
            .check()
            .expect_err("space");
        assert!(matches!(err, ConfigError::TokenWhitespace));
        let err = ServerConfig {
            max_connections: 0,
            ..config("127.0.0.1:0")
        }
        .check()
        .expect_err("zero");
        assert!(err.to_string().contains("--max-connections"), "{err}");
    }
}
