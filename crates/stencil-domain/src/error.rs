//! Errors of the image service's rules, independent of any wire protocol.
//!
//! The services return these; `stencil-ecs` maps each variant to an ECS code and HTTP status in
//! one exhaustive `match`, so adding a variant does not compile until someone chooses its code.

/// A rule of the image service was violated by a request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// The region is not configured.
    #[error("The specified RegionId {0:?} does not exist")]
    UnknownRegion(String),
    /// No such image, or not visible to the caller.
    #[error("The specified ImageId {0:?} does not exist")]
    ImageNotFound(String),
    /// No such instance type.
    #[error("The specified InstanceType {0:?} is not supported")]
    UnknownInstanceType(String),
    /// The image cannot run on the instance type.
    #[error("The image {image} is not supported by instance type {instance_type}: {reason}")]
    ImageNotSupportInstanceType {
        image: String,
        instance_type: String,
        reason: String,
    },
    /// The image is not in a status that allows the operation.
    #[error("The specified image {image} is {status}, not available")]
    ImageNotAvailable { image: String, status: String },
    /// A metadata store failure the caller cannot fix.
    #[error("Internal error: {0}")]
    Internal(String),
}
