//! The `tfplugin6.Provider` gRPC service: each RPC converts the request,
//! calls the [`ProviderServer`], and converts the response. No provider
//! logic lives here.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert::{diagnostics, dynamic};
use super::pb::tfplugin6 as pb;
use super::provider_server::*;
use crate::log_debug;

/// Serves a [`ProviderServer`] as `tfplugin6.Provider`.
pub struct GrpcProvider<S> {
    inner: Arc<S>,
}

impl<S> GrpcProvider<S> {
    pub fn new(inner: Arc<S>) -> Self {
        Self { inner }
    }
}

/// What the provider tells Terraform about optional protocol features.
fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        // Resources see destroy plans too (Terraform ≥ 1.3 honours it).
        plan_destroy: true,
        get_provider_schema_optional: false,
        move_resource_state: false,
    }
}

type RpcResult<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl<S: ProviderServer> pb::provider_server::Provider for GrpcProvider<S> {
    async fn get_metadata(
        &self,
        _: Request<pb::get_metadata::Request>,
    ) -> RpcResult<pb::get_metadata::Response> {
        log_debug!("GetMetadata");
        let schema = self.inner.get_provider_schema().await;
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            diagnostics: diagnostics(schema.diagnostics),
            data_sources: schema
                .data_sources
                .into_keys()
                .map(|type_name| pb::get_metadata::DataSourceMetadata { type_name })
                .collect(),
            resources: schema
                .resources
                .into_keys()
                .map(|type_name| pb::get_metadata::ResourceMetadata { type_name })
                .collect(),
        }))
    }

    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> RpcResult<pb::get_provider_schema::Response> {
        log_debug!("GetProviderSchema");
        let schema = self.inner.get_provider_schema().await;
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some(schema.provider.into()),
            resource_schemas: schema
                .resources
                .into_iter()
                .map(|(k, s)| (k, s.into()))
                .collect(),
            data_source_schemas: schema
                .data_sources
                .into_iter()
                .map(|(k, s)| (k, s.into()))
                .collect(),
            diagnostics: diagnostics(schema.diagnostics),
            provider_meta: Some(schema.provider_meta.into()),
            server_capabilities: Some(capabilities()),
        }))
    }

    async fn validate_provider_config(
        &self,
        req: Request<pb::validate_provider_config::Request>,
    ) -> RpcResult<pb::validate_provider_config::Response> {
        log_debug!("ValidateProviderConfig");
        let diags = self
            .inner
            .validate_provider_config(dynamic(req.into_inner().config))
            .await;
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: diagnostics(diags),
        }))
    }

    async fn validate_resource_config(
        &self,
        req: Request<pb::validate_resource_config::Request>,
    ) -> RpcResult<pb::validate_resource_config::Response> {
        let req = req.into_inner();
        log_debug!("ValidateResourceConfig {}", req.type_name);
        let diags = self
            .inner
            .validate_resource_config(&req.type_name, dynamic(req.config))
            .await;
        Ok(Response::new(pb::validate_resource_config::Response {
            diagnostics: diagnostics(diags),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<pb::validate_data_resource_config::Request>,
    ) -> RpcResult<pb::validate_data_resource_config::Response> {
        let req = req.into_inner();
        log_debug!("ValidateDataResourceConfig {}", req.type_name);
        let diags = self
            .inner
            .validate_data_resource_config(&req.type_name, dynamic(req.config))
            .await;
        Ok(Response::new(pb::validate_data_resource_config::Response {
            diagnostics: diagnostics(diags),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> RpcResult<pb::upgrade_resource_state::Response> {
        let req = req.into_inner();
        log_debug!("UpgradeResourceState {} v{}", req.type_name, req.version);
        let raw = req.raw_state.unwrap_or_default();
        let resp = self
            .inner
            .upgrade_resource_state(UpgradeResourceStateRequest {
                type_name: req.type_name,
                version: req.version,
                raw_json: raw.json,
                raw_flatmap: raw.flatmap.into_iter().collect(),
            })
            .await;
        Ok(Response::new(pb::upgrade_resource_state::Response {
            upgraded_state: resp.upgraded_state.map(Into::into),
            diagnostics: diagnostics(resp.diagnostics),
        }))
    }

    async fn configure_provider(
        &self,
        req: Request<pb::configure_provider::Request>,
    ) -> RpcResult<pb::configure_provider::Response> {
        let req = req.into_inner();
        log_debug!("ConfigureProvider (Terraform {})", req.terraform_version);
        let diags = self
            .inner
            .configure_provider(ConfigureProviderRequest {
                terraform_version: req.terraform_version,
                config: dynamic(req.config),
            })
            .await;
        Ok(Response::new(pb::configure_provider::Response {
            diagnostics: diagnostics(diags),
        }))
    }

    async fn read_resource(
        &self,
        req: Request<pb::read_resource::Request>,
    ) -> RpcResult<pb::read_resource::Response> {
        let req = req.into_inner();
        log_debug!("ReadResource {}", req.type_name);
        let resp = self
            .inner
            .read_resource(ReadResourceRequest {
                type_name: req.type_name,
                current_state: dynamic(req.current_state),
                private: req.private,
            })
            .await;
        Ok(Response::new(pb::read_resource::Response {
            new_state: resp.new_state.map(Into::into),
            diagnostics: diagnostics(resp.diagnostics),
            private: resp.private,
        }))
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> RpcResult<pb::plan_resource_change::Response> {
        let req = req.into_inner();
        log_debug!("PlanResourceChange {}", req.type_name);
        let resp = self
            .inner
            .plan_resource_change(PlanResourceChangeRequest {
                type_name: req.type_name,
                prior_state: dynamic(req.prior_state),
                proposed_new_state: dynamic(req.proposed_new_state),
                config: dynamic(req.config),
                prior_private: req.prior_private,
            })
            .await;
        Ok(Response::new(pb::plan_resource_change::Response {
            planned_state: resp.planned_state.map(Into::into),
            requires_replace: resp.requires_replace.into_iter().map(Into::into).collect(),
            planned_private: resp.planned_private,
            diagnostics: diagnostics(resp.diagnostics),
            legacy_type_system: false,
        }))
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> RpcResult<pb::apply_resource_change::Response> {
        let req = req.into_inner();
        log_debug!("ApplyResourceChange {}", req.type_name);
        let resp = self
            .inner
            .apply_resource_change(ApplyResourceChangeRequest {
                type_name: req.type_name,
                prior_state: dynamic(req.prior_state),
                planned_state: dynamic(req.planned_state),
                config: dynamic(req.config),
                planned_private: req.planned_private,
            })
            .await;
        Ok(Response::new(pb::apply_resource_change::Response {
            new_state: resp.new_state.map(Into::into),
            private: resp.private,
            diagnostics: diagnostics(resp.diagnostics),
            legacy_type_system: false,
        }))
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> RpcResult<pb::import_resource_state::Response> {
        let req = req.into_inner();
        log_debug!("ImportResourceState {}", req.type_name);
        let resp = self
            .inner
            .import_resource_state(ImportResourceStateRequest {
                type_name: req.type_name,
                id: req.id,
            })
            .await;
        Ok(Response::new(pb::import_resource_state::Response {
            imported_resources: resp
                .imported
                .into_iter()
                .map(|r| pb::import_resource_state::ImportedResource {
                    type_name: r.type_name,
                    state: Some(r.state.into()),
                    private: r.private,
                })
                .collect(),
            diagnostics: diagnostics(resp.diagnostics),
        }))
    }

    async fn read_data_source(
        &self,
        req: Request<pb::read_data_source::Request>,
    ) -> RpcResult<pb::read_data_source::Response> {
        let req = req.into_inner();
        log_debug!("ReadDataSource {}", req.type_name);
        let resp = self
            .inner
            .read_data_source(ReadDataSourceRequest {
                type_name: req.type_name,
                config: dynamic(req.config),
            })
            .await;
        Ok(Response::new(pb::read_data_source::Response {
            state: resp.state.map(Into::into),
            diagnostics: diagnostics(resp.diagnostics),
        }))
    }

    async fn get_functions(
        &self,
        _: Request<pb::get_functions::Request>,
    ) -> RpcResult<pb::get_functions::Response> {
        log_debug!("GetFunctions");
        // gluepipe defines no functions; an empty success keeps OpenTofu ≥ 1.7 quiet.
        Ok(Response::new(pb::get_functions::Response {
            diagnostics: Vec::new(),
        }))
    }

    async fn stop_provider(
        &self,
        _: Request<pb::stop_provider::Request>,
    ) -> RpcResult<pb::stop_provider::Response> {
        log_debug!("StopProvider");
        let error = self.inner.stop_provider().await.err().unwrap_or_default();
        Ok(Response::new(pb::stop_provider::Response { error }))
    }
}
