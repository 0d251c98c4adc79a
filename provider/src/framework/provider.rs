//! The provider itself: its configuration schema, validation, and the
//! configure step that builds the data every resource call receives.

use std::sync::Arc;

use async_trait::async_trait;

use crate::protocol::{AttributePath, Diagnostic, Diagnostics, Schema, Value};

/// `ConfigureProvider`, with the provider block decoded and known except for
/// [`Provider::deferrable`] attributes.
#[derive(Debug, Clone)]
pub struct ConfigureRequest {
    pub terraform_version: String,
    pub config: Value,
}

/// A provider: `provider "gluepipe" { … }`.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// Shared, typed context built by [`Provider::configure`] and handed to
    /// every resource and data source call (e.g. AWS clients).
    type Data: Send + Sync + 'static;

    /// The provider block's schema.
    fn schema(&self) -> Schema;

    /// Checks the provider block before any remote call. `config` may hold
    /// unknown values; only judge known ones.
    async fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    /// Builds the shared context. Called when every attribute is known except
    /// [`Provider::deferrable`] ones: when another depends on values known
    /// after apply, the framework skips this and resources see
    /// [`ProviderData::get`] fail with a clear diagnostic until Terraform
    /// configures the provider again.
    async fn configure(&self, req: ConfigureRequest) -> Result<Self::Data, Diagnostics>;

    /// For a top-level attribute whose unknown value `configure` accepts (e.g.
    /// tags that only planned values use, so reads still work): the computed
    /// resource attributes it makes, which plans then leave unknown, and which
    /// apply refuses to compute until it is known. `None`: it must be known.
    fn deferrable(&self, _attribute: &str) -> Option<&'static [&'static str]> {
        None
    }

    /// Terraform asked the provider to stop (Ctrl-C, or it is going away):
    /// cancel retries and waits in progress.
    async fn stop(&self) {}
}

/// The outcome of the configure step, as resources see it.
#[derive(Debug)]
pub enum ProviderData<D> {
    /// `ConfigureProvider` has not been called.
    NotConfigured,
    /// The provider block had an unknown value at this path.
    Unknown(AttributePath),
    Ready(Arc<D>),
}

impl<D> Clone for ProviderData<D> {
    fn clone(&self) -> Self {
        match self {
            Self::NotConfigured => Self::NotConfigured,
            Self::Unknown(p) => Self::Unknown(p.clone()),
            Self::Ready(d) => Self::Ready(Arc::clone(d)),
        }
    }
}

impl<D> ProviderData<D> {
    /// The context, or an error diagnostic explaining why there is none.
    pub fn get(&self) -> Result<&D, Diagnostic> {
        match self {
            Self::Ready(d) => Ok(d),
            Self::NotConfigured => Err(Diagnostic::error(
                "Provider not configured",
                "This operation needs the provider's configuration, but Terraform has not \
                 configured the provider yet. This is a bug in Terraform or in the provider.",
            )),
            Self::Unknown(path) => Err(Diagnostic::error(
                "Provider configuration is not known yet",
                format!(
                    "The provider block's `{path}` depends on values that are known only after \
                     apply, so the provider cannot reach AWS during this step. Create the \
                     resources it depends on first (e.g. `terraform apply -target=…`), or \
                     configure the provider with values known at plan time."
                ),
            )),
        }
    }

    /// Configured with a fully known provider block.
    pub fn is_known(&self) -> bool {
        matches!(self, Self::Ready(_))
    }
}
