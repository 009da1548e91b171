//! Bearer tokens (DESIGN §5, §9): a token file holds one token per line, trimmed, blank and `#`
//! lines skipped; an empty file is an error. `/health`, `/ready`, `/v2/health/*` and the
//! dashboard's page and static files (no data in them) are always open; with tokens, every
//! other route (including `/metrics` and unknown paths) needs `Authorization: Bearer <token>`.

use std::path::Path;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// The accepted tokens.
#[derive(Clone)]
pub struct Tokens(Vec<Vec<u8>>);

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} hidden)", self.0.len())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read: {0}")]
    Read(#[from] std::io::Error),
    #[error("holds no token (one per line; blank and # lines are skipped)")]
    Empty,
}

impl Tokens {
    pub fn read(path: &Path) -> Result<Tokens, TokenError> {
        Tokens::parse(&std::fs::read_to_string(path)?)
    }

    pub fn parse(text: &str) -> Result<Tokens, TokenError> {
        let tokens: Vec<Vec<u8>> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| line.as_bytes().to_vec())
            .collect();
        if tokens.is_empty() {
            return Err(TokenError::Empty);
        }
        Ok(Tokens(tokens))
    }

    /// Compares `given` with every token in constant time (per token length), so neither the
    /// matching prefix nor which token matched shows in the timing.
    pub fn accepts(&self, given: &[u8]) -> bool {
        let matched = self
            .0
            .iter()
            .fold(subtle::Choice::from(0), |acc, t| acc | t.ct_eq(given));
        matched.into()
    }
}

/// Paths that never need a token.
pub fn is_open(path: &str) -> bool {
    matches!(path, "/health" | "/ready")
        || path.starts_with("/v2/health/")
        || crate::dashboard::is_page(path)
}

/// The middleware: lets open paths through, then requires a known bearer token.
pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(tokens) = &state.config.tokens else {
        return Ok(next.run(request).await);
    };
    // Admin routes have their own tokens (admin.rs).
    if is_open(request.uri().path()) || crate::admin::is_admin(request.uri().path()) {
        return Ok(next.run(request).await);
    }
    let given = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer);
    match given {
        Some(token) if tokens.accepts(token.as_bytes()) => Ok(next.run(request).await),
        _ => Err(ApiError::Unauthorized),
    }
}

/// The token of `Bearer <token>` (the scheme is case-insensitive, RFC 9110 §11.1).
pub(crate) fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_files_skip_blanks_and_comments() {
        let tokens = Tokens::parse("# ops\n\n  alpha  \nbeta\n").unwrap();
        assert!(tokens.accepts(b"alpha") && tokens.accepts(b"beta"));
        assert!(!tokens.accepts(b"alph") && !tokens.accepts(b"") && !tokens.accepts(b"# ops"));
        assert!(matches!(
            Tokens::parse("# only\n \n"),
            Err(TokenError::Empty)
        ));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
    }

    #[test]
    fn health_and_ready_are_open() {
        assert!(is_open("/health") && is_open("/ready") && is_open("/v2/health/live"));
        assert!(!is_open("/predict") && !is_open("/metrics") && !is_open("/v1/model"));
    }
}
