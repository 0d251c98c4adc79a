//! How gluepipe connects to AWS: the standard credential chain, `AWS_ENDPOINT_URL` or an explicit
//! `--endpoint-url` (for a local emulator), region `us-east-1` when none is configured, bounded
//! retries and timeouts. S3 and Glue clients are built from one lazily loaded configuration, so a
//! run that touches only local files never reads AWS settings.

use std::time::Duration;

use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use tokio::sync::OnceCell;

/// The region used when neither the environment nor a profile names one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Connection settings that override the standard AWS chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsOptions {
    /// Overrides `AWS_ENDPOINT_URL`; both switch S3 to path-style addressing.
    pub endpoint_url: Option<String>,
    /// Overrides the region from the environment or profile.
    pub region: Option<String>,
    /// Attempts per request, the first included (the SDK's standard retry mode with backoff).
    pub max_attempts: u32,
}

impl Default for AwsOptions {
    fn default() -> Self {
        AwsOptions {
            endpoint_url: None,
            region: None,
            max_attempts: 5,
        }
    }
}

impl AwsOptions {
    pub fn with_endpoint(endpoint_url: Option<String>) -> Self {
        AwsOptions {
            endpoint_url,
            ..AwsOptions::default()
        }
    }
}

/// Lazily built AWS clients sharing one configuration. Cheap to share by reference.
#[derive(Debug)]
pub struct AwsClients {
    options: AwsOptions,
    config: OnceCell<SdkConfig>,
}

impl AwsClients {
    pub fn new(options: AwsOptions) -> Self {
        AwsClients {
            options,
            config: OnceCell::new(),
        }
    }

    /// Uses an already loaded configuration (tests, or a caller that built its own).
    pub fn from_sdk_config(config: SdkConfig, options: AwsOptions) -> Self {
        AwsClients {
            options,
            config: OnceCell::new_with(Some(config)),
        }
    }

    pub fn options(&self) -> &AwsOptions {
        &self.options
    }

    /// The shared SDK configuration, loaded on first use.
    pub async fn sdk_config(&self) -> &SdkConfig {
        self.config
            .get_or_init(|| load_sdk_config(&self.options))
            .await
    }

    /// An S3 client; path-style addressing whenever an endpoint override is in effect, because
    /// emulators and most S3-compatible stores do not resolve `bucket.host` names.
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let config = self.sdk_config().await;
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style(config))
            .build();
        aws_sdk_s3::Client::from_conf(s3_config)
    }

    pub async fn glue(&self) -> aws_sdk_glue::Client {
        aws_sdk_glue::Client::new(self.sdk_config().await)
    }
}

async fn load_sdk_config(options: &AwsOptions) -> SdkConfig {
    let region = RegionProviderChain::first_try(options.region.clone().map(Region::new))
        .or_default_provider()
        .or_else(Region::new(DEFAULT_REGION));
    let retry = RetryConfig::standard()
        .with_max_attempts(options.max_attempts.max(1))
        .with_initial_backoff(Duration::from_millis(200));
    // Connect fast-fail; a generous read timeout because a part upload or a ranged GET of
    // 16 MiB may legitimately take a while on a slow link.
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(120))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .retry_config(retry)
        .timeout_config(timeouts);
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// Path-style S3 addressing when any endpoint override is in effect.
fn path_style(config: &SdkConfig) -> bool {
    config.endpoint_url().is_some() || env_set("AWS_ENDPOINT_URL_S3")
}

fn env_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn explicit_options_win_and_retries_are_bounded() {
        let options = AwsOptions {
            endpoint_url: Some("http://127.0.0.1:9".into()),
            region: Some("eu-west-1".into()),
            max_attempts: 3,
        };
        let aws = AwsClients::new(options.clone());
        let config = aws.sdk_config().await;
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:9"));
        assert_eq!(config.retry_config().map(|r| r.max_attempts()), Some(3));
        let timeouts = config.timeout_config().expect("timeouts are set");
        assert_eq!(timeouts.connect_timeout(), Some(Duration::from_secs(10)));
        // An endpoint override switches S3 to path-style addressing.
        assert!(path_style(config));
        assert_eq!(aws.options(), &options);
    }

    #[tokio::test]
    async fn zero_attempts_still_means_one() {
        let aws = AwsClients::new(AwsOptions {
            max_attempts: 0,
            region: Some("us-east-1".into()),
            ..AwsOptions::default()
        });
        assert_eq!(
            aws.sdk_config()
                .await
                .retry_config()
                .map(|r| r.max_attempts()),
            Some(1)
        );
    }
}
