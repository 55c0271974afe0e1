//! Browser sessions: after sign-in a browser holds a signed, expiring cookie, never the
//! token itself.
//!
//! The cookie is `EXPIRY.ID.MAC`: the expiry in Unix seconds, a random 128-bit id, and
//! an HMAC-SHA256 over both. The MAC key is derived from the token and from a random
//! salt drawn when the server starts, so rotating the token or restarting the server
//! ends every session, and a cookie says nothing about the token. Signing out adds the
//! id to a list of ended sessions, kept until the cookie would have expired anyway.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use assistant_db::config::Secret;
use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The cookie's name.
pub const COOKIE: &str = "assistant_db_session";

/// What the MAC key is derived for; a new format gets a new label.
const KEY_LABEL: &[u8] = b"assistant-db session cookie v1";

type HmacSha256 = Hmac<Sha256>;

/// The random part of a session.
type SessionId = [u8; 16];

/// Issues and checks the sessions of one running server.
pub struct Sessions {
    key: [u8; 32],
    lifetime_secs: u64,
    secure: bool,
    /// Ended sessions, with the expiry after which they need no remembering.
    ended: Mutex<HashMap<SessionId, u64>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("key", &"***")
            .field("lifetime_secs", &self.lifetime_secs)
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

/// Why a session could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("the system's random number generator failed: {0}")]
pub struct NoRandomness(getrandom::Error);

impl Sessions {
    /// Sessions keyed from `token`, lasting `lifetime`, with `Secure` cookies when
    /// browsers reach the server over HTTPS.
    pub fn new(token: &Secret, lifetime: Duration, secure: bool) -> Result<Self, NoRandomness> {
        let mut salt = [0u8; 32];
        getrandom::getrandom(&mut salt).map_err(NoRandomness)?;
        let mut derive = mac(token.expose().as_bytes());
        derive.update(KEY_LABEL);
        derive.update(&salt);
        Ok(Sessions {
            key: derive.finalize().into_bytes().into(),
            lifetime_secs: lifetime.as_secs().max(1),
            secure,
            ended: Mutex::new(HashMap::new()),
        })
    }

    /// A new session's cookie value.
    pub fn issue(&self) -> Result<String, NoRandomness> {
        let mut id: SessionId = [0; 16];
        getrandom::getrandom(&mut id).map_err(NoRandomness)?;
        let expiry = now().saturating_add(self.lifetime_secs);
        let payload = format!("{expiry}.{}", URL_SAFE_NO_PAD.encode(id));
        let tag = URL_SAFE_NO_PAD.encode(self.sign(&payload).finalize().into_bytes());
        Ok(format!("{payload}.{tag}"))
    }

    /// True when `value` is a cookie this server issued, unexpired and not signed out.
    pub fn is_valid(&self, value: &str) -> bool {
        self.check(value, now()).is_some()
    }

    /// Ends the session of `value`, if it is a valid one.
    pub fn end(&self, value: &str) {
        let now = now();
        if let Some((id, expiry)) = self.check(value, now) {
            let mut ended = self.ended.lock().unwrap_or_else(|e| e.into_inner());
            ended.retain(|_, until| *until > now);
            ended.insert(id, expiry);
        }
    }

    /// The session's id and expiry, when `value` is valid at `now`.
    fn check(&self, value: &str, now: u64) -> Option<(SessionId, u64)> {
        let (payload, tag) = value.rsplit_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        // Constant-time comparison: the MAC check reveals nothing about where it failed.
        self.sign(payload).verify_slice(&tag).ok()?;
        let (expiry, id) = payload.split_once('.')?;
        let expiry: u64 = expiry.parse().ok()?;
        let id: SessionId = URL_SAFE_NO_PAD.decode(id).ok()?.try_into().ok()?;
        if expiry <= now {
            return None;
        }
        let ended = self.ended.lock().unwrap_or_else(|e| e.into_inner());
        (!ended.contains_key(&id)).then_some((id, expiry))
    }

    fn sign(&self, payload: &str) -> HmacSha256 {
        let mut mac = mac(&self.key);
        mac.update(payload.as_bytes());
        mac
    }

    /// The `Set-Cookie` value that starts a session with cookie value `value`.
    pub fn set_cookie(&self, value: &str) -> String {
        self.cookie(value, self.lifetime_secs)
    }

    /// The `Set-Cookie` value that removes the session cookie from the browser.
    pub fn clear_cookie(&self) -> String {
        self.cookie("", 0)
    }

    fn cookie(&self, value: &str, max_age: u64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
    }
}

/// An HMAC-SHA256 keyed with `key` (any length is a valid HMAC key).
fn mac(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

/// The session cookie's value in a request, if it carries one.
pub fn from_headers(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
}

/// Seconds since the Unix epoch (0 if the clock is before it).
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(token: &str) -> Sessions {
        Sessions::new(&Secret::new(token), Duration::from_secs(60), true).expect("random")
    }

    #[test]
    fn a_cookie_is_signed_expiring_and_never_the_token() {
        let token = "0123456789abcdef0123";
        let s = sessions(token);
        let value = s.issue().expect("random");
        assert!(!value.contains(token));
        assert!(s.is_valid(&value));
        let (payload, _) = value.rsplit_once('.').expect("mac");
        let expiry: u64 = payload
            .split('.')
            .next()
            .and_then(|e| e.parse().ok())
            .expect("expiry");
        assert!(s.check(&value, expiry - 1).is_some());
        assert!(s.check(&value, expiry).is_none(), "expired");

        // Any change to the payload breaks the MAC.
        let later = value.replacen(&expiry.to_string(), &(expiry + 3600).to_string(), 1);
        assert!(!s.is_valid(&later));
        assert!(!s.is_valid("1.2.3") && !s.is_valid("") && !s.is_valid("..."));
        // Another token, or the same token after a restart, knows nothing of it.
        assert!(!sessions("another-token-0123456789").is_valid(&value));
        assert!(!sessions(token).is_valid(&value));
    }

    #[test]
    fn an_ended_session_stays_ended() {
        let s = sessions("0123456789abcdef0123");
        let (a, b) = (s.issue().expect("random"), s.issue().expect("random"));
        s.end(&a);
        assert!(!s.is_valid(&a));
        assert!(s.is_valid(&b));
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_when_asked() {
        let s = sessions("0123456789abcdef0123");
        let set = s.set_cookie("v");
        assert!(set.starts_with("assistant_db_session=v; "), "{set}");
        for flag in [
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Max-Age=60",
            "Path=/",
        ] {
            assert!(set.split("; ").any(|part| part == flag), "{flag} in {set}");
        }
        let plain = Sessions::new(
            &Secret::new("0123456789abcdef0123"),
            Duration::from_secs(1),
            false,
        )
        .expect("random");
        assert!(!plain.set_cookie("v").contains("Secure"));
        assert!(plain.clear_cookie().contains("Max-Age=0"));
    }
}
