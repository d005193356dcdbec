//! Domain errors to ECS codes: one exhaustive `match`, so a new `DomainError` variant does
//! not compile until someone chooses its Code and HTTP status here.

use stencil_domain::{
    Busy, DomainError, ExportRefusal, MappingProblem, QuotaKind, ShareRefusal, SnapshotId,
};

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
                QuotaKind::ShareAccounts => ErrorCode::QuotaExceedShareImageUser,
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
        DomainError::ShareStatus { .. } => {
            EcsError::new(ErrorCode::OperationDeniedInvalidImageStatus, message)
        }
        DomainError::ShareRefused { reason, .. } => {
            let code = match reason {
                // §5.9 has no marketplace code; ExportImage refuses the same images with
                // `ImageNotSupported` 403 (§5.4), the reference's word for it.
                ShareRefusal::Marketplace => ErrorCode::ImageNotSupported,
                // §5.9 lists `Image.Public` under community images.
                ShareRefusal::Community => ErrorCode::ImagePublic,
                // "Encrypted images cannot be published": the IsPublic value is refused.
                ShareRefusal::Encrypted => ErrorCode::InvalidParameterIsPublic,
                ShareRefusal::ServiceKey => {
                    ErrorCode::InvalidOperationServiceKeyEncryptedImageUnsupported
                }
            };
            EcsError::new(code, message)
        }
        DomainError::ShareWithSelf { .. } => {
            EcsError::new(ErrorCode::InvalidAccountForbbiden, message)
        }
        DomainError::UnknownAccount { .. } => {
            EcsError::new(ErrorCode::InvalidAccountNotFound, message)
        }
        DomainError::ImageInUse(_) => EcsError::new(ErrorCode::ImageUsingByInstance, message),
        DomainError::DiskOnOtherNode { .. } => EcsError::new(ErrorCode::OperationDenied, message),
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
        DomainError::DiskNotFound(_) => EcsError::new(ErrorCode::InvalidDiskIdNotFound, message),
        // 403 in every instance and disk action (400 is CreateImage's and CreateSnapshot's).
        DomainError::IncorrectInstanceStatus { .. } => {
            EcsError::new(ErrorCode::IncorrectInstanceStatus, message).with_status(403)
        }
        DomainError::IncorrectDiskStatus { .. } => {
            EcsError::new(ErrorCode::IncorrectDiskStatus, message)
        }
        DomainError::ImageNotUsable { .. } => {
            EcsError::new(ErrorCode::OperationDeniedImageNotValid, message)
        }
        DomainError::SystemDiskTooSmall { .. } => {
            EcsError::new(ErrorCode::InvalidSystemDiskSizeLessThanImageSize, message)
        }
        DomainError::DataDiskSnapshotNotFound(_) => {
            EcsError::new(ErrorCode::InvalidDataDiskSnapshotIdNotFound, message)
        }
        DomainError::DataDiskTooSmall { .. } => {
            EcsError::new(ErrorCode::InvalidDiskSizeTooSmall, message)
        }
        // RunInstances documents 403 for a device two disks claim.
        DomainError::DeviceInUse(_) => {
            EcsError::new(ErrorCode::InvalidDeviceInUse, message).with_status(403)
        }
        DomainError::TooManyDataDisks(_) => {
            EcsError::new(ErrorCode::InstanceDiskNumberLimitExceed, message)
        }
        DomainError::DataDiskSize { .. } => {
            EcsError::new(ErrorCode::InvalidDataDiskSizeValueNotSupported, message)
        }
        // ReplaceSystemDisk: "The specified image contains the snapshot of the data disk".
        DomainError::ImageHasDataDisks(_) => {
            EcsError::new(ErrorCode::OperationDenied, message).with_status(400)
        }
        DomainError::SnapshotDiskMismatch { .. } => {
            EcsError::new(ErrorCode::InvalidParameterMismatch, message)
        }
        // ReInitDisk documents one code for a deleted source image and another for a deleted
        // source snapshot; the variant carries whichever source it was.
        DomainError::DiskSourceImageDeleted { image, .. } => {
            if SnapshotId::parse(image).is_some() {
                EcsError::new(ErrorCode::InvalidSourceSnapshot, message)
            } else {
                EcsError::new(ErrorCode::InvalidDiskIdOperationNotSupported, message)
            }
        }
        DomainError::SnapshotCreatedDisk { .. } => {
            EcsError::new(ErrorCode::SnapshotCreatedDisk, message)
        }
        DomainError::DiskCreatingSnapshot(_) => {
            EcsError::new(ErrorCode::IncorrectDiskStatusCreatingSnapshot, message)
        }
        DomainError::ResourceNotFound(_) => {
            EcsError::new(ErrorCode::InvalidResourceIdNotFound, message)
        }
        DomainError::DestinationRegionNotFound(_) => {
            EcsError::new(ErrorCode::DestinationRegionNotFound, message)
        }
        DomainError::IncorrectDestinationRegion(_) => {
            EcsError::new(ErrorCode::IncorrectDestinationRegion, message)
        }
        DomainError::CopySameRegionOnly(_) => {
            EcsError::new(ErrorCode::OperationDeniedSameRegionOnly, message)
        }
        DomainError::CopyCommunityImage(_) => {
            EcsError::new(ErrorCode::OperationDeniedCommunityImage, message)
        }
        DomainError::KmsKeyNotFound { .. } => {
            EcsError::new(ErrorCode::InvalidParameterKmsKeyIdNotFound, message)
        }
        DomainError::KmsNotEnabled(_) => {
            EcsError::new(ErrorCode::InvalidParameterKmsNotEnabled, message)
        }
        DomainError::ImageCreatedNotFromCopy(_) => {
            EcsError::new(ErrorCode::ImageCreatedNotFromCopy, message)
        }
        DomainError::CopyEnded(m) => EcsError::new(ErrorCode::IncorrectImageStatus, m.clone()),
        DomainError::Internal(_) => EcsError::internal(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_and_status(err: DomainError) -> (ErrorCode, u16) {
        let e = from_domain(&err);
        assert!(e.message().ends_with('.'), "{}", e.message());
        (e.code(), e.http_status())
    }

    #[test]
    fn instance_and_disk_errors_get_the_documented_codes() {
        use ErrorCode::*;
        let s = String::from;
        let cases = [
            (
                DomainError::DiskNotFound(s("d-1")),
                InvalidDiskIdNotFound,
                404,
            ),
            (
                DomainError::IncorrectInstanceStatus {
                    instance: s("i-1"),
                    status: s("Running"),
                    operation: "ResetDisk",
                    needed: "Stopped",
                },
                IncorrectInstanceStatus,
                403,
            ),
            (
                DomainError::IncorrectDiskStatus {
                    disk: s("d-1"),
                    status: s("Creating"),
                    operation: "ResetDisk",
                    needed: "In_use",
                },
                IncorrectDiskStatus,
                403,
            ),
            (
                DomainError::ImageNotUsable {
                    image: s("m-1"),
                    status: s("Deprecated"),
                },
                OperationDeniedImageNotValid,
                403,
            ),
            (
                DomainError::SystemDiskTooSmall {
                    size_gib: 20,
                    image_gib: 40,
                },
                InvalidSystemDiskSizeLessThanImageSize,
                404,
            ),
            (
                DomainError::DataDiskSize {
                    parameter: s("DataDisk.1.Size"),
                    message: s("smaller than the snapshot"),
                },
                InvalidDataDiskSizeValueNotSupported,
                400,
            ),
            (
                DomainError::ImageHasDataDisks(s("m-1")),
                OperationDenied,
                400,
            ),
            (
                DomainError::SnapshotDiskMismatch {
                    snapshot: s("s-1"),
                    disk: s("d-1"),
                },
                InvalidParameterMismatch,
                403,
            ),
            (
                DomainError::DiskSourceImageDeleted {
                    disk: s("d-1"),
                    image: s("m-1"),
                },
                InvalidDiskIdOperationNotSupported,
                404,
            ),
            (
                DomainError::DiskSourceImageDeleted {
                    disk: s("d-1"),
                    image: s("s-1"),
                },
                InvalidSourceSnapshot,
                403,
            ),
            (
                DomainError::SnapshotCreatedDisk {
                    snapshot: s("s-1"),
                    disks: s("d-1"),
                },
                SnapshotCreatedDisk,
                403,
            ),
            (
                DomainError::DiskCreatingSnapshot(s("d-1")),
                IncorrectDiskStatusCreatingSnapshot,
                403,
            ),
        ];
        for (err, code, status) in cases {
            assert_eq!(code_and_status(err.clone()), (code, status), "{err:?}");
        }
    }

    #[test]
    fn sharing_errors_get_the_documented_codes() {
        use ErrorCode::*;
        let s = String::from;
        let refused = |reason| DomainError::ShareRefused {
            image: s("m-1"),
            reason,
        };
        let cases = [
            (
                DomainError::ShareStatus {
                    image: s("m-1"),
                    status: s("Deprecated"),
                },
                OperationDeniedInvalidImageStatus,
                403,
            ),
            (refused(ShareRefusal::Marketplace), ImageNotSupported, 403),
            (refused(ShareRefusal::Community), ImagePublic, 403),
            (
                DomainError::DiskOnOtherNode {
                    disk: s("d-1"),
                    node: s("node-2"),
                },
                OperationDenied,
                403,
            ),
            (
                refused(ShareRefusal::ServiceKey),
                InvalidOperationServiceKeyEncryptedImageUnsupported,
                403,
            ),
            (
                refused(ShareRefusal::Encrypted),
                InvalidParameterIsPublic,
                403,
            ),
            (
                DomainError::ShareWithSelf {
                    parameter: s("AddAccount.1"),
                    account: s("1"),
                },
                InvalidAccountForbbiden,
                404,
            ),
            (
                DomainError::UnknownAccount {
                    parameter: s("RemoveAccount.2"),
                    account: s("9"),
                },
                InvalidAccountNotFound,
                404,
            ),
            (
                DomainError::QuotaExceeded {
                    kind: QuotaKind::ShareAccounts,
                    limit: 50,
                },
                QuotaExceedShareImageUser,
                403,
            ),
        ];
        for (err, code, status) in cases {
            assert_eq!(code_and_status(err.clone()), (code, status), "{err:?}");
        }
        let e = from_domain(&DomainError::UnknownAccount {
            parameter: s("RemoveAccount.2"),
            account: s("9"),
        });
        assert!(
            e.message().contains("\"RemoveAccount.2\""),
            "{}",
            e.message()
        );
    }
}
