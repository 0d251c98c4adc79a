//! One debug log line per AWS request attempt — service, operation, what it targets and the HTTP
//! status — so `TF_LOG=debug` shows what the provider asked AWS and what AWS answered.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

use crate::log_debug;
use crate::protocol::log::{Level, enabled};

/// The interceptor every client of the provider carries.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallLog;

/// The target of the attempt in flight, kept between the two hooks.
#[derive(Debug, Clone)]
struct Target(String);

impl Storable for Target {
    type Storer = StoreReplace<Self>;
}

/// Bodies longer than this are not searched for a target.
const MAX_BODY_SCAN: usize = 64 << 10;

/// Request fields that name what a call is about, in the order they are looked for.
const TARGET_FIELDS: &[&str] = &[
    "JobName",
    "RoleName",
    "PolicyName",
    "stateMachineArn",
    "executionArn",
    "Name",
    "name",
    "DatabaseName",
    "TableName",
    "ResourceArn",
    "resourceArn",
    "taskDefinition",
    "family",
];

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "gluepipe-call-log"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if enabled(Level::Debug) {
            let request = context.request();
            let s3 = cfg.load::<Metadata>().is_some_and(|m| m.service() == "S3");
            // S3 names its target in the URL; its bodies are data (a spec, the binary).
            let body = match request.body().bytes() {
                Some(body) if !s3 && body.len() <= MAX_BODY_SCAN => body,
                _ => &[],
            };
            let target = target(request.uri(), body);
            cfg.interceptor_state().store_put(Target(target));
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !enabled(Level::Debug) {
            return Ok(());
        }
        let (service, operation) = cfg
            .load::<Metadata>()
            .map_or(("AWS", "?"), |m| (m.service(), m.name()));
        let target = cfg.load::<Target>().map_or("", |t| t.0.as_str());
        let outcome = match context.response() {
            Some(r) => format!("HTTP {}", r.status().as_u16()),
            None => "no response".to_owned(),
        };
        let sep = if target.is_empty() { "" } else { " " };
        log_debug!("AWS {service}.{operation}{sep}{target}: {outcome}");
        Ok(())
    }
}

/// What a request is about: the first naming field of a JSON or form body, else the URL path
/// (S3's bucket and key).
fn target(uri: &str, body: &[u8]) -> String {
    if let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice(body) {
        for name in TARGET_FIELDS {
            if let Some(value) = fields.get(*name).and_then(serde_json::Value::as_str) {
                return value.to_owned();
            }
        }
        return String::new();
    }
    if let Ok(text) = std::str::from_utf8(body) {
        if text.contains("Action=") {
            let pairs: Vec<(&str, &str)> = text
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .collect();
            for name in TARGET_FIELDS {
                if let Some((_, value)) = pairs.iter().find(|(k, _)| k == name) {
                    return percent_decoded(value);
                }
            }
            return String::new();
        }
    }
    let path = uri
        .split_once("://")
        .map_or(uri, |(_, rest)| rest.find('/').map_or("", |i| &rest[i..]));
    path.split('?').next().unwrap_or_default().to_owned()
}

fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_what_a_call_is_about() {
        let cases: [(&str, &[u8], &str); 5] = [
            (
                "https://glue/",
                br#"{"Name":"orders","Role":"r"}"#,
                "orders",
            ),
            ("https://glue/", br#"{"JobName":"orders"}"#, "orders"),
            (
                "https://iam/",
                b"Action=GetRole&RoleName=orders-glue&Version=2010-05-08",
                "orders-glue",
            ),
            (
                "http://127.0.0.1:5000/artifact-bucket/gp/orders/spec.json?x-id=PutObject",
                b"",
                "/artifact-bucket/gp/orders/spec.json",
            ),
            ("https://states/", br#"{"maxResults":1}"#, ""),
        ];
        for (uri, body, want) in cases {
            assert_eq!(target(uri, body), want, "{uri}");
        }
        assert_eq!(percent_decoded("a%2Fb+c%"), "a/b c%");
    }
}
