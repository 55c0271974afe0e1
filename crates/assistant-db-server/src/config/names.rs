//! The names the server answers to, and the check of a request's `Host` against them.
//!
//! A web page can point a name it controls at 127.0.0.1 (DNS rebinding) and then read
//! whatever a loopback server answers to that name, since the browser deems it the
//! page's own origin. Answering only to our own names closes that door: `localhost`,
//! `127.0.0.1`, `[::1]`, the bound address, the address the client actually reached
//! (so a load balancer probing by IP gets through), and the names given with
//! `--public-url`. Each is accepted without a port or with the port it is served on.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use axum::http::uri::Authority;

/// A name the server is reached by from elsewhere: `https://dash.example.com`, with an
/// optional port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    https: bool,
    host: Name,
    port: u16,
}

impl PublicUrl {
    /// True for `https://` names.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// True when the name is `localhost` or a loopback address.
    pub fn is_loopback(&self) -> bool {
        match &self.host {
            Name::Ip(ip) => ip.is_loopback(),
            Name::Domain(name) => name == "localhost",
        }
    }
}

impl FromStr for PublicUrl {
    type Err = String;

    /// Parses `scheme://host[:port]`; the rule broken is the error.
    fn from_str(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text).map_err(|e| format!("is not a URL ({e})"))?;
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => {
                return Err(format!(
                    "must start with http:// or https:// (not {other}://)"
                ))
            }
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not hold a user name or password".into());
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(
                "must be only scheme://host[:port]: the dashboard is served at the root".into(),
            );
        }
        let host = match url.host() {
            Some(url::Host::Domain(name)) => Name::domain(name),
            Some(url::Host::Ipv4(ip)) => Name::Ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Name::Ip(IpAddr::V6(ip)),
            None => return Err("must name a host".into()),
        };
        let port = url
            .port_or_known_default()
            .ok_or_else(|| "must have a port".to_owned())?;
        Ok(PublicUrl { https, host, port })
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

/// A host as compared: an address, or a lower-case domain name without a trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Name {
    Ip(IpAddr),
    Domain(String),
}

impl Name {
    fn domain(name: &str) -> Self {
        Name::Domain(name.trim_end_matches('.').to_ascii_lowercase())
    }

    fn ip(ip: IpAddr) -> Self {
        Name::Ip(ip.to_canonical())
    }

    /// The host part of an authority (`[::1]`, `127.0.0.1`, `Example.COM.`).
    fn parse(host: &str) -> Self {
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        match bare.parse::<IpAddr>() {
            Ok(ip) => Name::ip(ip),
            Err(_) => Name::domain(host),
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Name::Ip(ip) => write!(f, "{ip}"),
            Name::Domain(name) => f.write_str(name),
        }
    }
}

/// Why a request's host is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostRefusal {
    /// No `Host` header (and no host in the request line).
    Missing,
    /// A `Host` that is not `host[:port]`.
    Malformed,
    /// A well-formed name this server does not answer to.
    Foreign(String),
}

/// The names one running server answers to.
#[derive(Debug, Clone)]
pub struct HostNames {
    /// Each name with the port it is served on.
    names: Vec<(Name, u16)>,
}

impl HostNames {
    /// The names of a server listening on `bound` (its real port, after binding) with
    /// the given public URLs.
    pub fn new(bound: SocketAddr, public_urls: &[PublicUrl]) -> Self {
        let port = bound.port();
        let mut names = vec![
            (Name::domain("localhost"), port),
            (Name::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)), port),
            (Name::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)), port),
        ];
        if !bound.ip().is_unspecified() {
            names.push((Name::ip(bound.ip()), port));
        }
        names.extend(public_urls.iter().map(|u| (u.host.clone(), u.port)));
        HostNames { names }
    }

    /// Checks the host a request names (`host` from the `Host` header, `authority` from
    /// an absolute request line) given the address the client connected to.
    pub fn check(
        &self,
        host: Option<&[u8]>,
        authority: Option<&Authority>,
        reached: Option<SocketAddr>,
    ) -> Result<(), HostRefusal> {
        let header = match host {
            None => None,
            Some(bytes) => Some(parse_authority(bytes).ok_or(HostRefusal::Malformed)?),
        };
        let given: Vec<&Authority> = header.iter().chain(authority).collect();
        if given.is_empty() {
            return Err(HostRefusal::Missing);
        }
        for authority in given {
            let name = Name::parse(authority.host());
            let port = authority.port_u16();
            let ours = self
                .names
                .iter()
                .any(|(n, p)| *n == name && port.is_none_or(|q| q == *p))
                || reached.is_some_and(|to| {
                    Name::ip(to.ip()) == name && port.is_none_or(|q| q == to.port())
                });
            if !ours {
                return Err(HostRefusal::Foreign(authority.as_str().to_owned()));
            }
        }
        Ok(())
    }

    /// The names in words, for the refusal message.
    pub fn describe(&self) -> String {
        let mut seen: Vec<String> = Vec::new();
        for (name, port) in &self.names {
            let text = format!("{name}[:{port}]");
            if !seen.contains(&text) {
                seen.push(text);
            }
        }
        seen.join(", ")
    }
}

/// A `Host` value as `host[:port]`: no user information, a numeric port if any.
fn parse_authority(bytes: &[u8]) -> Option<Authority> {
    let authority = Authority::try_from(bytes).ok()?;
    let text = authority.as_str();
    if text.contains('@') || authority.host().is_empty() {
        return None;
    }
    let port = text.strip_prefix(authority.host())?;
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|p| {
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok()
        });
    port_ok.then_some(authority)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(bound: &str, urls: &[&str]) -> HostNames {
        let urls: Vec<PublicUrl> = urls.iter().map(|u| u.parse().expect("url")).collect();
        HostNames::new(bound.parse().expect("address"), &urls)
    }

    fn check(names: &HostNames, host: &str) -> Result<(), HostRefusal> {
        names.check(Some(host.as_bytes()), None, None)
    }

    #[test]
    fn loopback_names_with_or_without_the_port() {
        let n = names("127.0.0.1:8080", &[]);
        for host in [
            "localhost",
            "localhost:8080",
            "LOCALHOST.:8080",
            "127.0.0.1",
            "127.0.0.1:8080",
            "[::1]",
            "[::1]:8080",
            "[0:0:0:0:0:0:0:1]:8080",
        ] {
            assert_eq!(check(&n, host), Ok(()), "{host}");
        }
        for host in [
            "localhost:9090",
            "evil.example:8080",
            "evil.example",
            "127.0.0.2",
        ] {
            assert!(
                matches!(check(&n, host), Err(HostRefusal::Foreign(_))),
                "{host}"
            );
        }
        for host in [
            "",
            "a b",
            "user@localhost:8080",
            "localhost:port",
            "localhost:",
            "localhost:99999",
        ] {
            assert_eq!(check(&n, host), Err(HostRefusal::Malformed), "{host:?}");
        }
        assert_eq!(n.check(None, None, None), Err(HostRefusal::Missing));
    }

    #[test]
    fn the_bound_and_reached_addresses_and_public_names() {
        let n = names(
            "0.0.0.0:8080",
            &["https://Dash.Example.com", "http://10.0.0.5:9000"],
        );
        assert_eq!(check(&n, "dash.example.com"), Ok(()));
        assert_eq!(check(&n, "dash.example.com:443"), Ok(()));
        assert!(check(&n, "dash.example.com:8080").is_err());
        assert_eq!(check(&n, "10.0.0.5:9000"), Ok(()));
        assert!(check(&n, "0.0.0.0:8080").is_err());
        let reached: SocketAddr = "192.168.1.7:8080".parse().expect("address");
        assert_eq!(
            n.check(Some(b"192.168.1.7:8080"), None, Some(reached)),
            Ok(())
        );
        assert!(n
            .check(Some(b"192.168.1.8:8080"), None, Some(reached))
            .is_err());
        let bound = names("192.168.1.7:8080", &[]);
        assert_eq!(check(&bound, "192.168.1.7"), Ok(()));
    }

    #[test]
    fn an_absolute_request_line_is_checked_too() {
        let n = names("127.0.0.1:8080", &[]);
        let foreign = Authority::from_static("evil.example");
        assert!(n
            .check(Some(b"localhost:8080"), Some(&foreign), None)
            .is_err());
        let ours = Authority::from_static("localhost:8080");
        assert_eq!(n.check(None, Some(&ours), None), Ok(()));
    }

    #[test]
    fn public_urls_are_only_scheme_host_and_port() {
        for bad in [
            "ftp://x.example",
            "https://x.example/dash",
            "https://u:p@x.example",
            "x.example",
            "https://x.example/?a=1",
        ] {
            assert!(bad.parse::<PublicUrl>().is_err(), "{bad}");
        }
        let url: PublicUrl = "https://x.example".parse().expect("url");
        assert_eq!(url.to_string(), "https://x.example:443");
        assert!(url.is_https() && !url.is_loopback());
        assert!("http://[::1]:1"
            .parse::<PublicUrl>()
            .is_ok_and(|u| u.is_loopback()));
    }
}
