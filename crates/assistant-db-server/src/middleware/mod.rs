//! Middleware every request passes: the `Host` check ([`host`]), the security headers
//! of every response ([`headers`]), and JSON bodies for errors made outside the
//! handlers ([`errors`]).

pub mod errors;
pub mod headers;
pub mod host;
