//! The access rules of one server: which requests need the token, and how a request
//! shows it (a bearer header, or for reads a browser session).

use assistant_db::config::Secret;
use axum::http::{header, HeaderMap, Method};
use subtle::ConstantTimeEq;

use crate::error::Denied;

/// Who a request was let in as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    /// Nobody in particular: a read on a server whose reads are open.
    Anyone,
    /// A caller holding the token (`Authorization: Bearer`).
    Bearer,
    /// A browser signed in with a session cookie.
    Session,
}

/// The access rules of one server.
#[derive(Debug, Clone)]
pub struct Access {
    token: Option<Secret>,
    reads_need_token: bool,
}

impl Access {
    /// Rules with this token (none disables writes) and this need for it on reads.
    pub fn new(token: Option<Secret>, reads_need_token: bool) -> Self {
        Access {
            token,
            reads_need_token,
        }
    }

    /// True when a token is configured (and so writes are enabled).
    pub fn writes_enabled(&self) -> bool {
        self.token.is_some()
    }

    /// True when reads need the token too.
    pub fn reads_need_token(&self) -> bool {
        self.reads_need_token
    }

    /// Whether a request with this method and these headers may proceed; `session` says
    /// whether it carries a valid browser session, which lets it read but never write.
    pub fn check(
        &self,
        method: &Method,
        headers: &HeaderMap,
        session: bool,
    ) -> Result<Principal, Denied> {
        let write = is_write(method);
        if !write && !self.reads_need_token {
            return Ok(Principal::Anyone);
        }
        let Some(expected) = &self.token else {
            return Err(Denied::WritesDisabled);
        };
        match bearer(headers) {
            Some(given) if same(given.as_bytes(), expected.expose().as_bytes()) => {
                Ok(Principal::Bearer)
            }
            Some(_) => Err(Denied::Wrong),
            // A session is for a browser reading pages; writes need the header, so a
            // foreign page can never make a signed-in browser write (no CSRF).
            None if session && !write => Ok(Principal::Session),
            None => Err(Denied::Missing),
        }
    }

    /// True when `candidate` is the configured token.
    pub fn accepts(&self, candidate: &str) -> bool {
        self.token
            .as_ref()
            .is_some_and(|t| same(candidate.as_bytes(), t.expose().as_bytes()))
    }
}

/// True for methods that may change something.
pub fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The token of an `Authorization: Bearer …` header.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// Compares in time that depends only on the lengths, not on where the bytes differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const TOKEN: &str = "0123456789abcdef0123";

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    fn access(token: Option<&str>, reads_need_token: bool) -> Access {
        Access::new(token.map(Secret::new), reads_need_token)
    }

    #[test]
    fn loopback_reads_are_open_and_writes_need_the_token() {
        let open = access(None, false);
        let none = HeaderMap::new();
        assert_eq!(
            open.check(&Method::GET, &none, false),
            Ok(Principal::Anyone)
        );
        assert_eq!(
            open.check(&Method::POST, &none, false),
            Err(Denied::WritesDisabled)
        );
        let guarded = access(Some(TOKEN), false);
        assert_eq!(
            guarded.check(&Method::GET, &none, false),
            Ok(Principal::Anyone)
        );
        assert_eq!(
            guarded.check(&Method::PUT, &none, false),
            Err(Denied::Missing)
        );
        let good = headers(&[(header::AUTHORIZATION, &format!("Bearer {TOKEN}"))]);
        assert_eq!(
            guarded.check(&Method::PUT, &good, false),
            Ok(Principal::Bearer)
        );
        let bad = headers(&[(header::AUTHORIZATION, "Bearer 0123456789abcdef0124")]);
        assert_eq!(
            guarded.check(&Method::POST, &bad, false),
            Err(Denied::Wrong)
        );
    }

    #[test]
    fn other_addresses_need_a_token_for_everything() {
        let access = access(Some(TOKEN), true);
        let none = HeaderMap::new();
        assert_eq!(
            access.check(&Method::GET, &none, false),
            Err(Denied::Missing)
        );
        assert_eq!(
            access.check(&Method::GET, &none, true),
            Ok(Principal::Session)
        );
        assert_eq!(
            access.check(&Method::POST, &none, true),
            Err(Denied::Missing),
            "a session never authorizes a write"
        );
    }

    #[test]
    fn comparison_needs_every_byte() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
    }
}
