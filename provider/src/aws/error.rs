//! One error type for every AWS call of the pipeline resource: a missing object is
//! [`AwsError::NotFound`] (callers decide whether that is fine), anything else keeps the
//! service's error code so retry predicates can classify it.

use std::error::Error as StdError;
use std::fmt;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// A failed AWS call, described as "<verb>ing <Thing> (<id>)".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsError {
    /// The object does not exist (e.g. `EntityNotFoundException`, `NoSuchEntity`).
    NotFound { context: String },
    /// The service or the transport said no.
    Failed {
        context: String,
        code: Option<String>,
        message: String,
    },
}

impl AwsError {
    /// Classifies an SDK error: any code in `not_found_codes` is [`AwsError::NotFound`].
    pub fn from_sdk<E>(context: impl Into<String>, not_found_codes: &[&str], err: E) -> AwsError
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        let context = context.into();
        let code = err.code().map(str::to_owned);
        if code
            .as_deref()
            .is_some_and(|c| not_found_codes.contains(&c))
        {
            return AwsError::NotFound { context };
        }
        // Without a service answer (no connection, timeout), the causes say what happened.
        let message = match err.message() {
            Some(m) if !m.is_empty() => m.to_owned(),
            _ => gluepipe_spec::aws_error::causes(&err),
        };
        AwsError::Failed {
            context,
            code,
            message,
        }
    }

    /// An error gluepipe detects itself (no service code).
    pub fn local(context: impl Into<String>, message: impl Into<String>) -> AwsError {
        AwsError::Failed {
            context: context.into(),
            code: None,
            message: message.into(),
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, AwsError::NotFound { .. })
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Failed { code, .. } => code.as_deref(),
            AwsError::NotFound { .. } => None,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            AwsError::Failed { message, .. } => message,
            AwsError::NotFound { .. } => "not found",
        }
    }

    pub fn context(&self) -> &str {
        match self {
            AwsError::NotFound { context } | AwsError::Failed { context, .. } => context,
        }
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AwsError::NotFound { context } => write!(f, "{context}: not found"),
            AwsError::Failed {
                context,
                code: Some(code),
                message,
            } => write!(f, "{context}: {code}: {message}"),
            AwsError::Failed {
                context,
                code: None,
                message,
            } => write!(f, "{context}: {message}"),
        }
    }
}

impl StdError for AwsError {}

/// `Ok(None)` for NotFound, so `find_*` results read naturally where absence is expected.
pub trait OptionalExt<T> {
    fn optional(self) -> Result<Option<T>, AwsError>;
}

impl<T> OptionalExt<T> for Result<T, AwsError> {
    fn optional(self) -> Result<Option<T>, AwsError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_says_what_failed() {
        let nf = AwsError::NotFound {
            context: "reading Glue Job (orders)".into(),
        };
        assert_eq!(nf.to_string(), "reading Glue Job (orders): not found");
        let failed = AwsError::Failed {
            context: "creating IAM Role (orders-glue)".into(),
            code: Some("MalformedPolicyDocument".into()),
            message: "bad".into(),
        };
        assert_eq!(
            failed.to_string(),
            "creating IAM Role (orders-glue): MalformedPolicyDocument: bad"
        );
        assert_eq!(
            AwsError::local("uploading x", "changed").to_string(),
            "uploading x: changed"
        );
    }

    #[test]
    fn optional_maps_not_found_to_none() {
        let nf: Result<u8, AwsError> = Err(AwsError::NotFound {
            context: "x".into(),
        });
        assert_eq!(nf.optional(), Ok(None));
        assert_eq!(Ok::<u8, AwsError>(1).optional(), Ok(Some(1)));
        let other: Result<u8, AwsError> = Err(AwsError::local("x", "y"));
        assert!(other.optional().is_err());
    }
}
