//! Data sources: read-only lookups (`data "…" "…" {}`).

use async_trait::async_trait;

use super::provider::ProviderData;
use crate::protocol::{Diagnostics, Schema, Value};

/// Output of a data source read.
#[derive(Debug, Clone, Default)]
pub struct ReadDataResponse {
    /// The data block's value: config plus computed attributes, fully known.
    pub state: Value,
    pub diagnostics: Diagnostics,
}

/// A data source type. `D` is the provider's context type.
#[async_trait]
pub trait DataSource<D: Send + Sync + 'static>: Send + Sync + 'static {
    /// Full type name, e.g. `gluepipe_catalog_table`.
    fn type_name(&self) -> &'static str;

    fn schema(&self) -> Schema;

    /// Checks the data block; `config` may hold unknown values.
    async fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    /// Reads; `config` is fully known.
    async fn read(&self, ctx: &ProviderData<D>, config: &Value) -> ReadDataResponse;
}
