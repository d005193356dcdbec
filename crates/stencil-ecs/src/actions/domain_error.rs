//! Domain errors to ECS codes: one exhaustive `match`, so a new `DomainError` variant does
//! not compile until someone chooses its Code and HTTP status here.

use stencil_domain::DomainError;

use crate::{EcsError, ErrorCode};

/// The ECS error for a domain error.
pub fn from_domain(err: &DomainError) -> EcsError {
    let message = err.to_string() + ".";
    match err {
        DomainError::UnknownRegion(_) => {
            EcsError::new(ErrorCode::InvalidRegionIdNotFound, message).with_status(404)
        }
        DomainError::ImageNotFound(_) => EcsError::new(ErrorCode::InvalidImageIdNotFound, message),
        DomainError::UnknownInstanceType(_) => {
            EcsError::new(ErrorCode::InvalidInstanceTypeValueNotSupported, message)
        }
        DomainError::ImageNotSupportInstanceType { .. } => {
            EcsError::new(ErrorCode::ImageNotSupportInstanceType, message)
        }
        DomainError::ImageNotAvailable { .. } => {
            EcsError::new(ErrorCode::IncorrectImageStatus, message)
        }
        DomainError::Internal(_) => EcsError::internal(),
    }
}
