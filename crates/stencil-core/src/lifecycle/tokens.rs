//! ClientToken idempotency: the same token with the same parameters answers with the first
//! call's result; with other parameters it is refused.

use stencil_domain::DomainError;
use stencil_meta::ClientToken;

use super::Lifecycle;
use crate::{Caller, ServiceError};

/// What a token lookup found.
pub(crate) enum TokenCheck {
    /// No token, or a new one: go ahead, and store this record with the result.
    Proceed(Option<ClientToken>),
    /// The same request was made before: answer with its stored result.
    Replay(String),
}

impl TokenCheck {
    /// The record to store, with the result filled in.
    pub(crate) fn record(self, result: String) -> Option<ClientToken> {
        match self {
            TokenCheck::Proceed(Some(mut t)) => {
                t.result = result;
                Some(t)
            }
            _ => None,
        }
    }
}

impl Lifecycle {
    /// Looks up `token` for `action`. `fingerprint` identifies the request's parameters.
    pub(crate) async fn check_token(
        &self,
        caller: &Caller,
        region: &str,
        action: &str,
        token: Option<&str>,
        fingerprint: String,
    ) -> Result<TokenCheck, ServiceError> {
        let Some(token) = token else {
            return Ok(TokenCheck::Proceed(None));
        };
        let owner = caller.account.as_str();
        match self
            .meta
            .get_client_token(owner, region, action, token)
            .await?
        {
            Some(prior) if prior.fingerprint == fingerprint => Ok(TokenCheck::Replay(prior.result)),
            Some(_) => Err(DomainError::IdempotencyMismatch(token.to_string()).into()),
            None => Ok(TokenCheck::Proceed(Some(ClientToken {
                owner: owner.to_string(),
                region: region.to_string(),
                action: action.to_string(),
                token: token.to_string(),
                fingerprint,
                result: String::new(),
            }))),
        }
    }
}
