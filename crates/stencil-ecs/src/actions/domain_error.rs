//! Domain errors to ECS codes: one exhaustive `match`, so a new `DomainError` variant does
//! not compile until someone chooses its Code and HTTP status here.

use stencil_domain::{Busy, DomainError, ExportRefusal, MappingProblem, QuotaKind};

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
        DomainError::SnapshotNotFound(_) => {
            EcsError::new(ErrorCode::InvalidSnapshotIdNotFound, message)
        }
        DomainError::SnapshotNotReady(_) => {
            EcsError::new(ErrorCode::InvalidSnapshotIdNotReady, message)
        }
        DomainError::SnapshotCreatedImage { .. } => {
            EcsError::new(ErrorCode::SnapshotCreatedImage, message)
        }
        DomainError::TaskNotFound(_) => EcsError::new(ErrorCode::InvalidTaskIdNotFound, message),
        DomainError::TaskNotCancellable { .. } => {
            EcsError::new(ErrorCode::InvalidTaskIdTaskActionNotSupport, message)
        }
        DomainError::TaskEnded { .. } => {
            EcsError::new(ErrorCode::InvalidTaskIdIncorrectTaskStatus, message)
        }
        DomainError::BucketNotFound(_) => {
            EcsError::new(ErrorCode::InvalidOssBucketNotFound, message)
        }
        DomainError::BucketOtherRegion { .. } => {
            EcsError::new(ErrorCode::InvalidOssBucketNotMatched, message)
        }
        DomainError::ObjectNotFound { .. } => {
            EcsError::new(ErrorCode::InvalidOssObjectNotFound, message)
        }
        DomainError::ObjectEmpty { .. } => EcsError::new(ErrorCode::InvalidOssObjectSize, message),
        DomainError::ImageNameTaken(_) => {
            EcsError::new(ErrorCode::InvalidImageNameDuplicated, message)
        }
        DomainError::QuotaExceeded { kind, .. } => {
            let code = match kind {
                QuotaKind::Images => ErrorCode::QuotaExceedImage,
                QuotaKind::ImagesPerFamily => ErrorCode::ImageQuotaExceedImageFamily,
                QuotaKind::Families => ErrorCode::ImageFamilyQuotaExceed,
                QuotaKind::ConcurrentExports => ErrorCode::ConcurrentQuotaExceedExportImage,
                QuotaKind::TagsPerResource => ErrorCode::OperationDeniedQuotaExceed,
                QuotaKind::Snapshots => ErrorCode::QuotaExceedSnapshot,
            };
            EcsError::new(code, message)
        }
        DomainError::ImageBusy { busy, .. } => {
            let code = match busy {
                Busy::Importing => ErrorCode::ImageIsImporting,
                Busy::Exporting => ErrorCode::ImageIsExporting,
                Busy::Copying => ErrorCode::OperationDeniedImageCopying,
                Busy::Creating => ErrorCode::InvalidStatusImageIsCreating,
            };
            EcsError::new(code, message)
        }
        DomainError::ImageShared(_) => EcsError::new(ErrorCode::ImageUseShared, message),
        DomainError::ImageIsPublic(_) => EcsError::new(ErrorCode::ImageIsPublic, message),
        DomainError::ImageInUse(_) => EcsError::new(ErrorCode::ImageUsingByInstance, message),
        DomainError::StatusTransition { to, from, .. } => {
            let code = if from == "Creating" || from == "Waiting" {
                ErrorCode::InvalidStatusImageIsCreating
            } else if to == "Available" {
                ErrorCode::ImageStatusNotDeprecated
            } else {
                ErrorCode::ImageStatusNotAvailable
            };
            EcsError::new(code, message)
        }
        DomainError::ImdsDowngrade(_) => EcsError::new(
            ErrorCode::InvalidOperationFeaturesImdsSupportNotMatch,
            message,
        ),
        DomainError::BootModeInUse(_) => {
            EcsError::new(ErrorCode::OperationDeinedImageUsingByInstance, message)
        }
        DomainError::ExportRefused { reason, .. } => match reason {
            ExportRefusal::Marketplace | ExportRefusal::Community => {
                EcsError::new(ErrorCode::ImageNotSupported, message)
            }
            ExportRefusal::Encrypted => {
                EcsError::new(ErrorCode::ImageNotSupported, message).with_status(400)
            }
            ExportRefusal::TooManyDisks => {
                EcsError::new(ErrorCode::InvalidImageDiskAmountOrSize, message)
            }
        },
        DomainError::IdempotencyMismatch(_) => {
            EcsError::new(ErrorCode::IdempotentParameterMismatch, message)
        }
        DomainError::InvalidMapping { problem, .. } => {
            if *problem == MappingProblem::SystemDiskCount {
                return EcsError::new(ErrorCode::OperationDenied, message).with_status(400);
            }
            let code = match problem {
                MappingProblem::SystemDiskCount => ErrorCode::OperationDenied,
                MappingProblem::DeviceMalformed => ErrorCode::InvalidDeviceMalformed,
                MappingProblem::DeviceInUse => ErrorCode::InvalidDeviceInUse,
                MappingProblem::Size => ErrorCode::InvalidSizeValueNotSupported,
                MappingProblem::TooManyDataDisks => ErrorCode::InvalidParameterDiskType,
            };
            EcsError::new(code, message)
        }
        DomainError::NotCustomImage(_) => EcsError::new(ErrorCode::OperationDenied, message),
        DomainError::InstanceNotFound(_) => {
            EcsError::new(ErrorCode::InvalidInstanceIdNotFound, message)
        }
        DomainError::ResourceNotFound(_) => {
            EcsError::new(ErrorCode::InvalidResourceIdNotFound, message)
        }
        DomainError::Internal(_) => EcsError::internal(),
    }
}
