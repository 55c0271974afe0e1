//! Supabase's API keys: which role a key carries, and the headers that send it.
//!
//! The key travels only in the `apikey` and `Authorization` headers, marked sensitive:
//! never logged, never part of an error and never shown by `Debug`.

use base64::Engine as _;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// Which of Supabase's keys a client holds, read from the key itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    /// The public key (`anon` JWT or `sb_publishable_…`): may log and read metrics only.
    Public,
    /// The secret key (`service_role` JWT or `sb_secret_…`): full access, for backends.
    Secret,
    /// Any other key, e.g. a signed-in user's token or one that is not a JWT.
    Other,
}

impl KeyRole {
    /// Reads the role from a Supabase key: its `sb_` prefix, or the `role` claim of the
    /// JWT (decoded, not verified: only the server can verify it).
    pub fn of(key: &Secret) -> Self {
        let key = key.expose();
        if key.starts_with("sb_publishable_") {
            return KeyRole::Public;
        }
        if key.starts_with("sb_secret_") {
            return KeyRole::Secret;
        }
        let claims = key
            .split('.')
            .nth(1)
            .and_then(|payload| JWT_PAYLOAD.decode(payload).ok())
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
        match claims
            .as_ref()
            .and_then(|c| c.get("role"))
            .and_then(Value::as_str)
        {
            Some("anon") => KeyRole::Public,
            Some("service_role") => KeyRole::Secret,
            _ => KeyRole::Other,
        }
    }

    /// How the key is named in messages.
    pub fn describe(self) -> &'static str {
        match self {
            KeyRole::Public => "public (anon) key",
            KeyRole::Secret => "secret (service_role) key",
            KeyRole::Other => "API key",
        }
    }
}

/// Base64url as JWTs use it, with or without padding.
const JWT_PAYLOAD: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// The `apikey` and `Authorization` headers carrying `key`, marked sensitive.
pub(super) fn auth_headers(key: &Secret) -> Result<HeaderMap> {
    let bad = || {
        Error::Config(
            "SUPABASE_KEY holds characters that cannot be sent in an HTTP header".to_owned(),
        )
    };
    let mut apikey = HeaderValue::from_str(key.expose()).map_err(|_| bad())?;
    apikey.set_sensitive(true);
    let mut bearer =
        HeaderValue::from_str(&format!("Bearer {}", key.expose())).map_err(|_| bad())?;
    bearer.set_sensitive(true);
    let mut headers = HeaderMap::new();
    headers.insert(HeaderName::from_static("apikey"), apikey);
    headers.insert(AUTHORIZATION, bearer);
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_roles_are_read_from_supabase_keys() {
        let jwt = |claims: &str| {
            let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
            Secret::new(format!("{}.{}.sig", b64(r#"{"alg":"HS256"}"#), b64(claims)))
        };
        assert_eq!(KeyRole::of(&jwt(r#"{"role":"anon"}"#)), KeyRole::Public);
        assert_eq!(
            KeyRole::of(&jwt(r#"{"role":"service_role","exp":1}"#)),
            KeyRole::Secret
        );
        assert_eq!(
            KeyRole::of(&jwt(r#"{"role":"authenticated"}"#)),
            KeyRole::Other
        );
        assert_eq!(
            KeyRole::of(&Secret::new("sb_publishable_abc")),
            KeyRole::Public
        );
        assert_eq!(KeyRole::of(&Secret::new("sb_secret_abc")), KeyRole::Secret);
        assert_eq!(KeyRole::of(&Secret::new("not a jwt")), KeyRole::Other);
    }
}
