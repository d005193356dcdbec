//! The code table walk and the `EcsError` constructors.

use super::*;
use std::collections::HashSet;

#[test]
fn missing_names_the_parameter_with_the_documented_wording() {
    let err = EcsError::missing("RegionId");
    assert_eq!(err.code(), ErrorCode::MissingParameter);
    assert_eq!(err.http_status(), 400);
    assert_eq!(
        err.message(),
        "The input parameter \"RegionId\" that is mandatory for processing this request is not supplied."
    );
}

#[test]
fn invalid_names_the_parameter_and_the_problem() {
    let err = EcsError::invalid("PageSize", "must be an integer from 1 to 100, got \"abc\"");
    assert_eq!(err.code().code(), "InvalidParameter");
    assert_eq!(
        err.message(),
        "The specified parameter \"PageSize\" is not valid: must be an integer from 1 to 100, got \"abc\"."
    );
    assert_eq!(
        err.to_string(),
        format!("InvalidParameter: {}", err.message())
    );
}

#[test]
fn domain_errors_convert_with_question_mark() {
    fn lookup() -> Result<(), EcsError> {
        Err(stencil_domain::DomainError::ImageNotFound("m-1".into()))?
    }
    assert_eq!(
        lookup().unwrap_err().code(),
        ErrorCode::InvalidImageIdNotFound
    );
}

#[test]
fn with_status_overrides_only_the_status() {
    let err = EcsError::from(ErrorCode::InvalidSnapshotIdNotFound);
    assert_eq!(err.http_status(), 404);
    let err = err.with_status(400);
    assert_eq!(err.http_status(), 400);
    assert_eq!(err.code(), ErrorCode::InvalidSnapshotIdNotFound);
    assert_eq!(err.message(), "The specified SnapshotId does not exist.");
}

fn well_formed(code: &str) -> bool {
    !code.is_empty()
        && code.split('.').all(|word| {
            let mut chars = word.chars();
            chars.next().is_some_and(|c| c.is_ascii_uppercase())
                && chars.all(|c| c.is_ascii_alphanumeric())
        })
}

#[test]
fn code_table_is_unique_well_formed_and_has_error_statuses() {
    let mut seen = HashSet::new();
    for &code in ErrorCode::ALL {
        assert!(seen.insert(code.code()), "duplicate code {}", code.code());
        assert!(well_formed(code.code()), "malformed code {:?}", code.code());
        assert!((400..=599).contains(&code.http_status()), "{code} status");
        let message = code.default_message();
        assert!(message.ends_with('.'), "{code} message {message:?}");
        assert!(
            message.starts_with(|c: char| c.is_ascii_uppercase()),
            "{code} message"
        );
        assert_eq!(ErrorCode::from_code(code.code()), Some(code));
    }
    assert!(ErrorCode::ALL.len() > 250);
}

#[test]
fn documented_typos_are_kept_exactly() {
    for code in [
        "InvalidParamter",
        "InvalidParamter.Conflict",
        "InvalidAccount.Forbbiden",
        "Forbbiden",
        "OperationDeined.ImageUsingByInstance",
        "NoSetRoletoECSServiceAcount",
        "DRYRUN.SUCCESS",
    ] {
        assert!(ErrorCode::from_code(code).is_some(), "{code} missing");
    }
    assert!(
        ErrorCode::InvalidImageNameDuplicated
            .default_message()
            .contains("bean used")
    );
}

#[test]
fn gateway_codes_have_the_documented_statuses() {
    use ErrorCode::*;
    let expected = [
        (MissingParameter, 400),
        (InvalidAccessKeyIdNotFound, 404),
        (SignatureDoesNotMatch, 400),
        (InvalidTimeStampExpired, 400),
        (SignatureNonceUsed, 400),
        (InvalidImageIdNotFound, 404),
        (ImageUsingByInstance, 403),
        (InternalError, 500),
        (ServiceUnavailable, 503),
    ];
    for (code, status) in expected {
        assert_eq!(code.http_status(), status, "{code}");
    }
}
