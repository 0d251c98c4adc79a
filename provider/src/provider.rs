//! gluepipe's provider block (`provider "gluepipe" { … }`) and the AWS
//! context it configures for every resource and data source.
//!
//! Credentials come from the standard AWS chain (environment, shared
//! profile, SSO, container/instance roles). `endpoint_url` (or the
//! `AWS_ENDPOINT_URL` environment variable) sends every service to one URL,
//! for local emulators.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;

use crate::aws::call_log::CallLog;
use crate::aws::retry::STOP;
use crate::framework::{
    Attribute, AttributePath, ConfigureRequest, Diagnostics, Provider, ProviderData, Schema, Type,
    Value,
};

/// What resources and data sources of this provider receive: the configured
/// AWS SDK and the provider-level settings they need.
#[derive(Debug, Clone)]
pub struct AwsContext {
    /// Region, credentials chain, endpoint override and retry settings.
    pub sdk: aws_config::SdkConfig,
    /// The endpoint every service uses, when overridden (emulators).
    pub endpoint_url: Option<String>,
    /// `default_tags`: merged into every taggable resource's `tags_all`. Empty while they
    /// depend on values known only after apply (the framework then plans `tags_all` unknown).
    pub default_tags: BTreeMap<String, String>,
}

/// The context as resources see it (configured, or why not).
pub type Ctx = ProviderData<AwsContext>;

impl AwsContext {
    pub fn glue(&self) -> aws_sdk_glue::Client {
        let config = aws_sdk_glue::config::Builder::from(&self.sdk)
            .interceptor(CallLog)
            .build();
        aws_sdk_glue::Client::from_conf(config)
    }

    /// S3 with path-style addressing when the endpoint is overridden:
    /// emulators serve `http://host/bucket/key`, not bucket subdomains.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk)
            .force_path_style(self.endpoint_url.is_some())
            .interceptor(CallLog)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        let config = aws_sdk_iam::config::Builder::from(&self.sdk)
            .interceptor(CallLog)
            .build();
        aws_sdk_iam::Client::from_conf(config)
    }

    pub fn sfn(&self) -> aws_sdk_sfn::Client {
        let config = aws_sdk_sfn::config::Builder::from(&self.sdk)
            .interceptor(CallLog)
            .build();
        aws_sdk_sfn::Client::from_conf(config)
    }

    pub fn ecs(&self) -> aws_sdk_ecs::Client {
        let config = aws_sdk_ecs::config::Builder::from(&self.sdk)
            .interceptor(CallLog)
            .build();
        aws_sdk_ecs::Client::from_conf(config)
    }

    pub fn sts(&self) -> aws_sdk_sts::Client {
        let config = aws_sdk_sts::config::Builder::from(&self.sdk)
            .interceptor(CallLog)
            .build();
        aws_sdk_sts::Client::from_conf(config)
    }

    /// The configured region (always set: configure fails without one).
    pub fn region(&self) -> &str {
        self.sdk.region().map_or("", |r| r.as_ref())
    }

    /// `tags_all`: the provider's default tags overlaid with the resource's.
    pub fn tags_all(&self, tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut all = self.default_tags.clone();
        all.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        all
    }
}

/// The provider block.
pub struct GluepipeProvider;

/// Bounds the SDK's retry count (AWS's own default for Terraform is 25).
const MAX_RETRIES_LIMIT: i64 = 100;

#[async_trait]
impl Provider for GluepipeProvider {
    type Data = AwsContext;

    fn schema(&self) -> Schema {
        Schema::new()
            .description(
                "Configures access to AWS. Credentials come from the standard AWS chain \
                 (environment variables, shared config and credentials files, SSO, container \
                 and instance roles).",
            )
            .attribute(Attribute::string("region").optional().description(
                "AWS region, e.g. `eu-west-1`. Defaults to `AWS_REGION` or the profile's region.",
            ))
            .attribute(Attribute::string("profile").optional().description(
                "Named profile from the shared AWS config and credentials files. Defaults to \
                 `AWS_PROFILE` or `default`.",
            ))
            .attribute(Attribute::string("endpoint_url").optional().description(
                "One endpoint URL for every AWS service, e.g. `http://127.0.0.1:5000` for a \
                 local emulator. Defaults to `AWS_ENDPOINT_URL`. S3 then uses path-style \
                 addressing.",
            ))
            .attribute(Attribute::map("default_tags", Type::String).optional().description(
                "Tags added to every taggable resource this provider creates; a resource's own \
                 `tags` win on conflicts. The merged set is the resource's `tags_all`.",
            ))
            .attribute(Attribute::number("max_retries").optional().description(
                "How many times an AWS request is retried after a throttling or transient error \
                 (0 to 100). Defaults to the SDK's standard retry policy (2 retries).",
            ))
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        validate_config(config)
    }

    /// Only tags can wait (they make `tags_all`); where to reach AWS (region, profile,
    /// endpoint, retries) cannot.
    fn deferrable(&self, attribute: &str) -> Option<&'static [&'static str]> {
        (attribute == "default_tags").then_some(&["tags_all"])
    }

    async fn stop(&self) {
        STOP.request();
    }

    async fn configure(&self, req: ConfigureRequest) -> Result<AwsContext, Diagnostics> {
        let diags = validate_config(&req.config);
        if diags.has_error() {
            return Err(diags);
        }
        let config = &req.config;
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = config.attr("region").as_str() {
            loader = loader.region(aws_config::Region::new(region.to_owned()));
        }
        if let Some(profile) = config.attr("profile").as_str() {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = config.attr("endpoint_url").as_str() {
            loader = loader.endpoint_url(url);
        }
        if let Some(retries) = config.attr("max_retries").as_i64() {
            let attempts = u32::try_from(retries.clamp(0, MAX_RETRIES_LIMIT) + 1).unwrap_or(1);
            loader = loader.retry_config(RetryConfig::standard().with_max_attempts(attempts));
        }
        let sdk = loader.load().await;
        if sdk.region().is_none() {
            let mut diags = Diagnostics::new();
            diags.attr_error(
                AttributePath::root("region"),
                "No AWS region",
                "Set `region` in the provider block, or the AWS_REGION environment variable, or \
                 a region in the selected profile.",
            );
            return Err(diags);
        }
        Ok(AwsContext {
            endpoint_url: sdk.endpoint_url().map(str::to_owned),
            default_tags: config
                .attr("default_tags")
                .as_string_map()
                .unwrap_or_default(),
            sdk,
        })
    }
}

/// Checks the known parts of a provider block.
fn validate_config(config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if let Some(region) = config.attr("region").as_str() {
        if !is_region(region) {
            diags.attr_error(
                AttributePath::root("region"),
                "Invalid AWS region",
                format!("{region:?} is not an AWS region name; expected e.g. \"us-east-1\"."),
            );
        }
    }
    if let Some(profile) = config.attr("profile").as_str() {
        if profile.trim().is_empty() {
            diags.attr_error(
                AttributePath::root("profile"),
                "Empty profile name",
                "Remove `profile` to use the default profile, or name one.",
            );
        }
    }
    if let Some(url) = config.attr("endpoint_url").as_str() {
        if let Err(why) = check_endpoint_url(url) {
            diags.attr_error(
                AttributePath::root("endpoint_url"),
                "Invalid endpoint URL",
                format!("{url:?} {why}; expected e.g. \"http://127.0.0.1:5000\"."),
            );
        }
    }
    let retries = config.attr("max_retries");
    if let Some(n) = retries.as_number() {
        if !matches!(n.as_i64(), Some(0..=MAX_RETRIES_LIMIT)) {
            diags.attr_error(
                AttributePath::root("max_retries"),
                "Invalid max_retries",
                format!(
                    "max_retries must be a whole number from 0 to {MAX_RETRIES_LIMIT}, not {n}."
                ),
            );
        }
    }
    for (key, value) in config
        .attr("default_tags")
        .as_entries()
        .into_iter()
        .flatten()
    {
        let path = AttributePath::root("default_tags").key(key);
        if let Err(why) = check_tag(key, value.as_str()) {
            diags.attr_error(path, "Invalid default tag", why);
        }
    }
    diags
}

/// `xx-name-N` (e.g. `us-east-1`, `us-gov-west-1`, `eu-central-2`).
fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn check_endpoint_url(url: &str) -> Result<(), &'static str> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or("does not start with http:// or https://")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err("has no host");
    }
    if url.chars().any(char::is_whitespace) {
        return Err("contains whitespace");
    }
    Ok(())
}

/// AWS tag rules: key 1–128 characters and not `aws:`-prefixed, value at
/// most 256 characters.
fn check_tag(key: &str, value: Option<&str>) -> Result<(), String> {
    if key.is_empty() || key.chars().count() > 128 {
        return Err(format!("Tag key {key:?} must have 1 to 128 characters."));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(format!(
            "Tag key {key:?} uses the reserved prefix \"aws:\"."
        ));
    }
    if value.is_some_and(|v| v.chars().count() > 256) {
        return Err(format!(
            "The value of tag {key:?} is longer than 256 characters."
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(attrs: Vec<(&str, Value)>) -> Value {
        let mut v = Value::null_object(&GluepipeProvider.schema().value_type());
        for (k, val) in attrs {
            v.set_attr(k, val);
        }
        v
    }

    /// Case name, provider block attributes, the path of the expected error.
    type Case = (
        &'static str,
        Vec<(&'static str, Value)>,
        Option<AttributePath>,
    );

    #[test]
    fn validation_names_the_attribute() {
        let cases: Vec<Case> = vec![
            ("empty block", vec![], None),
            (
                "good",
                vec![
                    ("region", Value::from("eu-west-1")),
                    ("endpoint_url", Value::from("http://127.0.0.1:5000")),
                    ("max_retries", Value::from(3)),
                    ("default_tags", Value::map([("team", "data")])),
                ],
                None,
            ),
            (
                "unknowns are not judged",
                vec![
                    ("region", Value::Unknown),
                    ("endpoint_url", Value::Unknown),
                    ("default_tags", Value::Unknown),
                ],
                None,
            ),
            (
                "bad region",
                vec![("region", Value::from("Mars"))],
                Some(AttributePath::root("region")),
            ),
            (
                "region without number",
                vec![("region", Value::from("us-east"))],
                Some(AttributePath::root("region")),
            ),
            (
                "empty profile",
                vec![("profile", Value::from(" "))],
                Some(AttributePath::root("profile")),
            ),
            (
                "url without scheme",
                vec![("endpoint_url", Value::from("localhost:5000"))],
                Some(AttributePath::root("endpoint_url")),
            ),
            (
                "url without host",
                vec![("endpoint_url", Value::from("http://"))],
                Some(AttributePath::root("endpoint_url")),
            ),
            (
                "negative retries",
                vec![("max_retries", Value::from(-1))],
                Some(AttributePath::root("max_retries")),
            ),
            (
                "fractional retries",
                vec![("max_retries", Value::Number("1.5".parse().expect("number")))],
                Some(AttributePath::root("max_retries")),
            ),
            (
                "reserved tag",
                vec![("default_tags", Value::map([("aws:x", "1")]))],
                Some(AttributePath::root("default_tags").key("aws:x")),
            ),
            (
                "empty tag key",
                vec![("default_tags", Value::map([("", "1")]))],
                Some(AttributePath::root("default_tags").key("")),
            ),
        ];
        for (name, attrs, expected) in cases {
            let diags = validate_config(&config(attrs));
            let paths: Vec<_> = diags.iter().map(|d| d.attribute.clone()).collect();
            match expected {
                None => assert!(diags.is_empty(), "{name}: {diags}"),
                Some(path) => assert_eq!(paths, vec![Some(path)], "{name}: {diags}"),
            }
        }
    }

    #[test]
    fn tags_all_overlays_resource_tags() {
        let ctx = AwsContext {
            sdk: aws_config::SdkConfig::builder().build(),
            endpoint_url: None,
            default_tags: BTreeMap::from([
                ("team".into(), "data".into()),
                ("env".into(), "dev".into()),
            ]),
        };
        let all = ctx.tags_all(&BTreeMap::from([("env".into(), "prod".into())]));
        assert_eq!(all.get("team").map(String::as_str), Some("data"));
        assert_eq!(all.get("env").map(String::as_str), Some("prod"));
        assert_eq!(ctx.tags_all(&BTreeMap::new()), ctx.default_tags);
    }
}
