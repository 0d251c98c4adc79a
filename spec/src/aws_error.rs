//! AWS errors as people read them: `<operation>: <code>: <message>`, or for a request that got
//! no answer the chain of causes (`dispatch failure: io error: … Connection refused`) — never
//! the SDK's `Debug` dump. One function for the provider's diagnostics and the ETL's errors.
//! Behind the `aws` feature, so the spec stays light for everyone else.

use std::error::Error;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// `<operation>: <what AWS said>`, e.g. `CreateJob orders: AccessDeniedException: not allowed`.
pub fn render<E>(operation: &str, err: &E) -> String
where
    E: ProvideErrorMetadata + Error,
{
    format!("{operation}: {}", describe(err))
}

/// `<code>: <message>` when the service answered, else the error's causes joined by `: `.
pub fn describe<E>(err: &E) -> String
where
    E: ProvideErrorMetadata + Error,
{
    match (err.code(), err.message().filter(|m| !m.trim().is_empty())) {
        (Some(code), Some(message)) => format!("{code}: {}", message.trim()),
        (Some(code), None) => code.to_owned(),
        (None, Some(message)) => message.trim().to_owned(),
        (None, None) => causes(err),
    }
}

/// The `Display` of `err` and of each of its sources, a cause that only repeats the one
/// before it left out.
pub fn causes(err: &(dyn Error + '_)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&dyn Error> = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        let repeats = parts.last().is_some_and(|last| last.contains(&text));
        if !text.is_empty() && !repeats {
            parts.push(text);
        }
        next = e.source();
    }
    if parts.is_empty() {
        "unknown error".to_owned()
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    /// An SDK-like error: metadata from the service, or a transport failure with causes.
    #[derive(Debug)]
    struct SdkLike {
        meta: ErrorMetadata,
        display: &'static str,
        source: Option<Box<dyn Error + 'static>>,
    }

    impl fmt::Display for SdkLike {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.display)
        }
    }

    impl Error for SdkLike {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.source.as_deref()
        }
    }

    impl ProvideErrorMetadata for SdkLike {
        fn meta(&self) -> &ErrorMetadata {
            &self.meta
        }
    }

    #[derive(Debug)]
    struct Io(&'static str, Option<Box<dyn Error + 'static>>);

    impl fmt::Display for Io {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Io {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref()
        }
    }

    #[test]
    fn service_answers_read_as_code_and_message() {
        let err = SdkLike {
            meta: ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("User is not authorized to perform: glue:CreateJob")
                .build(),
            display: "service error",
            source: None,
        };
        assert_eq!(
            render("creating Glue Job (orders)", &err),
            "creating Glue Job (orders): AccessDeniedException: User is not authorized to perform: glue:CreateJob"
        );
    }

    #[test]
    fn transport_failures_read_as_their_causes_without_debug() {
        let err = SdkLike {
            meta: ErrorMetadata::default(),
            display: "dispatch failure",
            source: Some(Box::new(Io(
                "io error",
                Some(Box::new(Io("Connection refused (os error 111)", None))),
            ))),
        };
        let text = describe(&err);
        assert_eq!(
            text,
            "dispatch failure: io error: Connection refused (os error 111)"
        );
        assert!(!text.contains("DispatchFailure") && !text.contains('{'));
    }

    #[test]
    fn repeated_causes_are_said_once() {
        let err = Io(
            "timeout: deadline passed",
            Some(Box::new(Io("deadline passed", None))),
        );
        assert_eq!(causes(&err), "timeout: deadline passed");
    }
}
