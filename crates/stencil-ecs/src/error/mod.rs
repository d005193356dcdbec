//! ECS errors: a [`ErrorCode`] from the table in [`codes`] plus a message for this request.
//!
//! Message grammar: one or two short sentences, capitalised, ending with a full stop. A message
//! about a parameter names it in double quotes the way the real service does
//! (`The input parameter "RegionId" that is mandatory …`); values are quoted with `{:?}` so
//! empty strings and odd bytes stay visible.

pub mod codes;

pub use codes::ErrorCode;

/// An ECS error as it goes on the wire: a code, a message, and the HTTP status (the code's
/// unless overridden).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct EcsError {
    code: ErrorCode,
    message: String,
    status: Option<u16>,
}

impl EcsError {
    /// An error with a specific message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        EcsError {
            code,
            message: message.into(),
            status: None,
        }
    }

    /// `MissingParameter` naming the absent parameter, with the documented wording.
    pub fn missing(name: &str) -> Self {
        Self::new(
            ErrorCode::MissingParameter,
            format!(
                "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
            ),
        )
    }

    /// `InvalidParameter` naming the parameter and saying what is wrong, e.g.
    /// `invalid("PageSize", "must be an integer from 1 to 100, got \"abc\"")`.
    pub fn invalid(name: &str, problem: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorCode::InvalidParameter,
            format!("The specified parameter \"{name}\" is not valid: {problem}."),
        )
    }

    /// `UnsupportedParameter` naming the parameter.
    pub fn unsupported(name: &str) -> Self {
        Self::new(
            ErrorCode::UnsupportedParameter,
            format!("The parameter \"{name}\" is not supported."),
        )
    }

    /// `InternalError` with the documented message. The detail is for the server's log; it is
    /// deliberately kept off the wire.
    pub fn internal() -> Self {
        Self::from(ErrorCode::InternalError)
    }

    /// The same error answered with another HTTP status, for the codes the reference lists
    /// with a different status per action (e.g. `InvalidSnapshotId.NotFound` is 400 in
    /// CopyImage).
    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The message sent in the `Message` field.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status to answer with.
    pub fn http_status(&self) -> u16 {
        self.status.unwrap_or(self.code.http_status())
    }
}

impl From<ErrorCode> for EcsError {
    /// The code with its default message.
    fn from(code: ErrorCode) -> Self {
        EcsError::new(code, code.default_message())
    }
}

/// Domain errors convert through `crate::actions::from_domain` (actions/domain_error.rs), ONE
/// `match` with no wildcard arm, so a new `DomainError` variant does not compile until someone
/// picks its Code and HTTP status. This impl only lets `?` use it.
impl From<stencil_domain::DomainError> for EcsError {
    fn from(err: stencil_domain::DomainError) -> Self {
        crate::actions::from_domain(&err)
    }
}

#[cfg(test)]
mod tests;
